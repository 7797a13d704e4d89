#include "mqtk/output/char_class.hpp"
#include "mqtk/rules/filter_expression.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <utility>

#include "mqtk/process/error.hpp"

namespace mqtk {

namespace {

using Kind = FieldValue::Kind;

enum class Tok : std::uint8_t {
  end, number, string, path, name,
  lparen, rparen, comma, plus, minus, star, slash,
  less, less_equal, greater, greater_equal, equal, not_equal,
  and_, or_, not_,
};

struct Token
{
  Tok kind = Tok::end;
  std::size_t pos = 0; // 0-based offset of the first byte
  std::size_t end = 0; // offset past the last byte
  double number = 0.0;
  std::string text; // decoded string literal
  JsonPath path;
};

bool is_space(char c) noexcept
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}


std::string quoted_char(char c)
{
  const auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u >= 0x7F) {
    constexpr std::string_view hex = "0123456789abcdef";
    return std::string("byte 0x") + hex[u >> 4] + hex[u & 0xF];
  }
  return std::string("'") + c + "'";
}

enum class Truth : std::uint8_t { no, yes, unknown };

// jq's truthiness: only false and null are false; undefined stays unknown so
// that Kleene logic can still settle `undefined or true`.
Truth truth(const FieldValue& v) noexcept
{
  switch (v.kind) {
  case Kind::undefined: return Truth::unknown;
  case Kind::null: return Truth::no;
  case Kind::boolean: return v.boolean ? Truth::yes : Truth::no;
  default: return Truth::yes;
  }
}

FieldValue from_truth(Truth t) noexcept
{
  FieldValue v;
  if (t != Truth::unknown) {
    v.kind = Kind::boolean;
    v.boolean = t == Truth::yes;
  }
  return v;
}

FieldValue from_bool(bool b) noexcept
{
  FieldValue v;
  v.kind = Kind::boolean;
  v.boolean = b;
  return v;
}

FieldValue from_number(double d) noexcept
{
  FieldValue v;
  // inf and NaN only come from overflow or invalid arithmetic: undefined.
  if (std::isfinite(d)) {
    v.kind = Kind::number;
    v.number = d;
  }
  return v;
}

// The MQTT 5 properties an expression names, as in -j's "properties".
enum class MessageProperty : std::uint32_t {
  content_type, response_topic, correlation_data, message_expiry_interval, payload_format_indicator,
};

std::optional<std::uint32_t> property_index(std::string_view word) noexcept
{
  static constexpr std::pair<std::string_view, MessageProperty> names[] = {
    {"content_type", MessageProperty::content_type},
    {"response_topic", MessageProperty::response_topic},
    {"correlation_data", MessageProperty::correlation_data},
    {"message_expiry_interval", MessageProperty::message_expiry_interval},
    {"payload_format_indicator", MessageProperty::payload_format_indicator},
  };
  for (const auto& [name, property] : names) {
    if (word == name) {
      return static_cast<std::uint32_t>(property);
    }
  }
  return std::nullopt;
}

FieldValue from_text(std::string_view text) noexcept
{
  FieldValue v;
  v.kind = FieldValue::Kind::string;
  v.text = text;
  return v;
}

// A property of the message, undefined when it has none.
FieldValue property_value(const MessageProperties* p, MessageProperty which) noexcept
{
  if (p == nullptr) {
    return {};
  }
  auto text = [](const std::optional<std::string_view>& t) { return t ? from_text(*t) : FieldValue{}; };
  switch (which) {
  case MessageProperty::content_type: return text(p->content_type);
  case MessageProperty::response_topic: return text(p->response_topic);
  case MessageProperty::correlation_data: return text(p->correlation_data);
  case MessageProperty::message_expiry_interval:
    return p->message_expiry ? from_number(*p->message_expiry) : FieldValue{};
  case MessageProperty::payload_format_indicator:
    return p->payload_format ? from_number(*p->payload_format) : FieldValue{};
  }
  return {};
}

// The first user property called name (names may repeat), or undefined.
FieldValue user_property_value(const MessageProperties* p, std::string_view name) noexcept
{
  if (p != nullptr) {
    for (const auto& [key, value] : p->user) {
      if (key == name) {
        return from_text(value);
      }
    }
  }
  return {};
}

bool is_null_or_boolean(const FieldValue& v) noexcept
{
  return v.kind == Kind::null || v.kind == Kind::boolean;
}

} // namespace

// --- Parser -------------------------------------------------------------------

class FilterExpression::Parser
{
public:
  Parser(std::string_view text, std::string_view option_name, FilterExpression& out)
    : m_src(text),
      m_option(option_name),
      m_out(out)
  {
  }

  void run()
  {
    next();
    if (m_tok.kind == Tok::end) {
      throw UsageError(std::string(m_option) + ": empty expression");
    }
    parse_or();
    if (m_tok.kind != Tok::end) {
      fail("unexpected " + describe(m_tok), m_tok.pos);
    }
  }

private:
  class DepthGuard
  {
  public:
    DepthGuard(Parser& parser, std::size_t pos)
      : m_parser(parser)
    {
      if (++m_parser.m_depth > max_nesting) {
        m_parser.fail("expression nested too deeply (limit " + std::to_string(max_nesting) + ")",
                      pos);
      }
    }
    ~DepthGuard() { --m_parser.m_depth; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

  private:
    Parser& m_parser;
  };

  [[noreturn]] void fail(const std::string& what, std::size_t pos) const
  {
    throw UsageError(detail::syntax_message(m_option, {what, pos}, m_src));
  }

  std::string describe(const Token& t) const
  {
    constexpr std::size_t limit = 32;
    std::string_view s = m_src.substr(t.pos, t.end - t.pos);
    std::string out = "'";
    for (const char c : s.substr(0, limit)) {
      const auto u = static_cast<unsigned char>(c);
      out.push_back(u < 0x20 || u == 0x7F ? ' ' : c);
    }
    if (s.size() > limit) {
      out += "...";
    }
    return out + "'";
  }

  void lex_number(std::size_t start)
  {
    std::size_t i = start;
    while (i < m_src.size() && is_digit(m_src[i])) {
      ++i;
    }
    if (i < m_src.size() && m_src[i] == '.') {
      ++i;
      while (i < m_src.size() && is_digit(m_src[i])) {
        ++i;
      }
    }
    if (i < m_src.size() && (m_src[i] == 'e' || m_src[i] == 'E')) {
      std::size_t j = i + 1;
      if (j < m_src.size() && (m_src[j] == '+' || m_src[j] == '-')) {
        ++j;
      }
      if (j < m_src.size() && is_digit(m_src[j])) {
        i = j;
        while (i < m_src.size() && is_digit(m_src[i])) {
          ++i;
        }
      }
    }
    if (i < m_src.size() && (is_ident_char(m_src[i]) || m_src[i] == '.')) {
      fail("invalid number", start);
    }
    if (!detail::to_double(m_src.substr(start, i - start), m_tok.number)) {
      fail("number out of range", start);
    }
    m_tok.kind = Tok::number;
    m_pos = i;
  }

  void next()
  {
    while (m_pos < m_src.size() && is_space(m_src[m_pos])) {
      ++m_pos;
    }
    m_tok.pos = m_pos;
    m_tok.kind = Tok::end;
    if (m_pos >= m_src.size()) {
      m_tok.end = m_pos;
      return;
    }
    const char c = m_src[m_pos];
    const char c2 = m_pos + 1 < m_src.size() ? m_src[m_pos + 1] : '\0';
    const auto single = [&](Tok kind) {
      m_tok.kind = kind;
      ++m_pos;
    };
    const auto pair = [&](Tok kind) {
      m_tok.kind = kind;
      m_pos += 2;
    };
    switch (c) {
    case '(': single(Tok::lparen); break;
    case ')': single(Tok::rparen); break;
    case ',': single(Tok::comma); break;
    case '+': single(Tok::plus); break;
    case '-': single(Tok::minus); break;
    case '*': single(Tok::star); break;
    case '/': single(Tok::slash); break;
    case '<': c2 == '=' ? pair(Tok::less_equal) : single(Tok::less); break;
    case '>': c2 == '=' ? pair(Tok::greater_equal) : single(Tok::greater); break;
    case '!': c2 == '=' ? pair(Tok::not_equal) : single(Tok::not_); break;
    case '=':
      if (c2 != '=') {
        fail("unexpected '=' (did you mean '=='?)", m_pos);
      }
      pair(Tok::equal);
      break;
    case '&':
      if (c2 != '&') {
        fail("unexpected '&' (did you mean '&&' or 'and'?)", m_pos);
      }
      pair(Tok::and_);
      break;
    case '|':
      if (c2 != '|') {
        fail("unexpected '|' (did you mean '||' or 'or'?)", m_pos);
      }
      pair(Tok::or_);
      break;
    case '"':
    case '\'':
      if (auto error = detail::parse_string_literal(m_src, m_pos, m_tok.text)) {
        fail(error->what, error->pos);
      }
      m_tok.kind = Tok::string;
      break;
    case '.':
      if (is_digit(c2)) {
        lex_number(m_pos);
      } else {
        if (auto error = detail::parse_path_at(m_src, m_pos, m_tok.path)) {
          fail(error->what, error->pos);
        }
        m_tok.kind = Tok::path;
      }
      break;
    default:
      if (is_digit(c)) {
        lex_number(m_pos);
      } else if (is_ident_start(c)) {
        while (m_pos < m_src.size() && is_ident_char(m_src[m_pos])) {
          ++m_pos;
        }
        const std::string_view word = m_src.substr(m_tok.pos, m_pos - m_tok.pos);
        m_tok.kind = word == "and" ? Tok::and_
                     : word == "or" ? Tok::or_
                     : word == "not" ? Tok::not_
                                     : Tok::name;
      } else {
        fail("unexpected character " + quoted_char(c), m_pos);
      }
    }
    m_tok.end = m_pos;
  }

  std::string_view name() const { return m_src.substr(m_tok.pos, m_tok.end - m_tok.pos); }

  void expect(Tok kind, const char* what)
  {
    if (m_tok.kind != kind) {
      fail(std::string("expected ") + what, m_tok.pos);
    }
    next();
  }

  void emit(Op op, std::uint32_t arg, int stack_delta)
  {
    m_out.m_code.push_back({op, arg});
    m_stack = static_cast<std::size_t>(static_cast<long>(m_stack) + stack_delta);
    if (m_stack > m_out.m_max_stack) {
      m_out.m_max_stack = m_stack;
    }
  }

  std::uint32_t add_constant(Constant constant)
  {
    m_out.m_constants.push_back(std::move(constant));
    return static_cast<std::uint32_t>(m_out.m_constants.size() - 1);
  }

  static bool same_steps(const JsonPath& a, const JsonPath& b)
  {
    if (a.steps.size() != b.steps.size()) {
      return false;
    }
    for (std::size_t k = 0; k < a.steps.size(); ++k) {
      const PathStep& x = a.steps[k];
      const PathStep& y = b.steps[k];
      if (x.is_index != y.is_index || x.index != y.index || x.key != y.key) {
        return false;
      }
    }
    return true;
  }

  std::uint32_t add_path(JsonPath path)
  {
    // A repeated path gets the same index, so evaluate() looks it up once.
    // Only the first few are searched: they are the ones evaluate() caches.
    const std::size_t searched = std::min(m_out.m_paths.size(), path_cache_size);
    for (std::size_t k = 0; k < searched; ++k) {
      if (same_steps(m_out.m_paths[k], path)) {
        return static_cast<std::uint32_t>(k);
      }
    }
    m_out.m_paths.push_back(std::move(path));
    return static_cast<std::uint32_t>(m_out.m_paths.size() - 1);
  }

  std::uint32_t here() const { return static_cast<std::uint32_t>(m_out.m_code.size()); }

  // or: and ('or' and)*, with Kleene short-circuit jumps.
  void parse_or()
  {
    parse_and();
    while (m_tok.kind == Tok::or_) {
      next();
      const std::uint32_t jump = here();
      emit(Op::or_jump, 0, 0);
      parse_and();
      emit(Op::or_combine, 0, -1);
      m_out.m_code[jump].arg = here();
    }
  }

  void parse_and()
  {
    parse_not();
    while (m_tok.kind == Tok::and_) {
      next();
      const std::uint32_t jump = here();
      emit(Op::and_jump, 0, 0);
      parse_not();
      emit(Op::and_combine, 0, -1);
      m_out.m_code[jump].arg = here();
    }
  }

  void parse_not()
  {
    if (m_tok.kind == Tok::not_) {
      DepthGuard guard(*this, m_tok.pos);
      next();
      parse_not();
      emit(Op::logical_not, 0, 0);
      return;
    }
    parse_comparison();
  }

  static std::optional<Op> comparison_op(Tok kind)
  {
    switch (kind) {
    case Tok::less: return Op::less;
    case Tok::less_equal: return Op::less_equal;
    case Tok::greater: return Op::greater;
    case Tok::greater_equal: return Op::greater_equal;
    case Tok::equal: return Op::equal;
    case Tok::not_equal: return Op::not_equal;
    default: return std::nullopt;
    }
  }

  void parse_comparison()
  {
    parse_additive();
    if (const auto op = comparison_op(m_tok.kind)) {
      next();
      parse_additive();
      emit(*op, 0, -1);
      if (comparison_op(m_tok.kind)) {
        fail("comparisons cannot be chained (combine them with 'and')", m_tok.pos);
      }
    }
  }

  void parse_additive()
  {
    parse_multiplicative();
    while (m_tok.kind == Tok::plus || m_tok.kind == Tok::minus) {
      const Op op = m_tok.kind == Tok::plus ? Op::add : Op::subtract;
      next();
      parse_multiplicative();
      emit(op, 0, -1);
    }
  }

  void parse_multiplicative()
  {
    parse_unary();
    while (m_tok.kind == Tok::star || m_tok.kind == Tok::slash) {
      const Op op = m_tok.kind == Tok::star ? Op::multiply : Op::divide;
      next();
      parse_unary();
      emit(op, 0, -1);
    }
  }

  void parse_unary()
  {
    if (m_tok.kind == Tok::minus) {
      DepthGuard guard(*this, m_tok.pos);
      next();
      const std::uint32_t before = here();
      parse_unary();
      // Fold `-literal` so negative constants cost nothing at run time.
      if (here() == before + 1 && m_out.m_code[before].op == Op::push_constant &&
          m_out.m_constants[m_out.m_code[before].arg].kind == Kind::number) {
        double& n = m_out.m_constants[m_out.m_code[before].arg].number;
        n = -n;
      } else {
        emit(Op::negate, 0, 0);
      }
      return;
    }
    parse_primary();
  }

  void push_constant(Kind kind, bool boolean, double number, std::string text)
  {
    emit(Op::push_constant, add_constant({kind, boolean, number, std::move(text)}), 1);
  }

  void parse_primary()
  {
    switch (m_tok.kind) {
    case Tok::number:
      push_constant(Kind::number, false, m_tok.number, {});
      next();
      return;
    case Tok::string:
      push_constant(Kind::string, false, 0.0, std::move(m_tok.text));
      next();
      return;
    case Tok::path:
      emit(Op::push_path, add_path(std::move(m_tok.path)), 1);
      next();
      return;
    case Tok::lparen: {
      DepthGuard guard(*this, m_tok.pos);
      next();
      parse_or();
      expect(Tok::rparen, "')'");
      return;
    }
    case Tok::name: parse_name(); return;
    default: fail("expected a value", m_tok.pos);
    }
  }

  void parse_name()
  {
    const std::string_view word = name();
    const std::size_t pos = m_tok.pos;
    if (word == "true" || word == "false") {
      push_constant(Kind::boolean, word == "true", 0.0, {});
    } else if (word == "null") {
      push_constant(Kind::null, false, 0.0, {});
    } else if (word == "payload") {
      JsonPath root;
      root.text = "payload";
      emit(Op::push_path, add_path(std::move(root)), 1);
    } else if (word == "topic") {
      emit(Op::push_topic, 0, 1);
    } else if (word == "qos") {
      emit(Op::push_qos, 0, 1);
    } else if (word == "retain") {
      emit(Op::push_retain, 0, 1);
    } else if (auto property = property_index(word)) {
      emit(Op::push_property, *property, 1);
    } else if (word == "abs" || word == "sqrt" || word == "min" || word == "max" ||
               word == "exists" || word == "user_property") {
      parse_call(word, pos);
      return;
    } else {
      std::size_t after = m_tok.end;
      while (after < m_src.size() && is_space(m_src[after])) {
        ++after;
      }
      if (after < m_src.size() && m_src[after] == '(') {
        fail("unknown function '" + std::string(word) +
               "' (known: abs, sqrt, min, max, exists, user_property)",
             pos);
      }
      fail("unknown name '" + std::string(word) +
             "' (did you mean '." + std::string(word) + "' or a quoted string?)",
           pos);
    }
    next();
  }

  void parse_call(std::string_view function, std::size_t pos)
  {
    const std::string fn(function);
    next();
    DepthGuard guard(*this, m_tok.pos);
    expect(Tok::lparen, ("'(' after '" + fn + "'").c_str());
    if (fn == "user_property") {
      if (m_tok.kind != Tok::string) {
        fail("user_property() takes a quoted name such as \"unit\"", m_tok.pos);
      }
      emit(Op::push_user_property,
           add_constant({Kind::string, false, 0.0, std::move(m_tok.text)}), 1);
      next();
      expect(Tok::rparen, "')' after the name");
      return;
    }
    if (fn == "exists") {
      // A property or user property: whether the message has it.
      if ((m_tok.kind == Tok::name && (property_index(name()) || name() == "user_property"))) {
        parse_name();
        emit(Op::defined, 0, 0);
        expect(Tok::rparen, "')' after the property");
        return;
      }
      JsonPath path;
      if (m_tok.kind == Tok::path) {
        path = std::move(m_tok.path);
      } else if (m_tok.kind == Tok::name && name() == "payload") {
        path.text = "payload";
      } else {
        fail("exists() takes a path such as .x or a property such as content_type", m_tok.pos);
      }
      next();
      expect(Tok::rparen, "')' after the path");
      emit(Op::exists, add_path(std::move(path)), 1);
      return;
    }
    std::uint32_t count = 0;
    if (m_tok.kind != Tok::rparen) {
      for (;;) {
        parse_or();
        ++count;
        if (m_tok.kind == Tok::comma) {
          next();
          continue;
        }
        expect(Tok::rparen, "',' or ')'");
        break;
      }
    } else {
      next();
    }
    const bool variadic = fn == "min" || fn == "max";
    if (variadic ? count < 2 : count != 1) {
      fail(fn + "() takes " + (variadic ? "at least 2 arguments" : "exactly 1 argument") +
             " but got " + std::to_string(count),
           pos);
    }
    if (variadic) {
      emit(fn == "min" ? Op::min : Op::max, count, 1 - static_cast<int>(count));
    } else {
      emit(fn == "abs" ? Op::abs : Op::sqrt, 0, 0);
    }
  }

  std::string_view m_src;
  std::string_view m_option;
  FilterExpression& m_out;
  Token m_tok;
  std::size_t m_pos = 0;
  std::size_t m_depth = 0;
  std::size_t m_stack = 0;
};

FilterExpression FilterExpression::parse(std::string_view text, std::string_view option_name)
{
  FilterExpression expression;
  expression.m_text = std::string(text);
  Parser(text, option_name, expression).run();
  return expression;
}

// --- Evaluation ---------------------------------------------------------------

namespace {

FieldValue compare(const FieldValue& a, const FieldValue& b, int op) noexcept
{
  // op: 0 ==, 1 !=, 2 <, 3 <=, 4 >, 5 >=
  if (a.kind == Kind::undefined || b.kind == Kind::undefined) {
    return {};
  }
  int order = 0;
  if (a.kind == Kind::number && b.kind == Kind::number) {
    order = a.number < b.number ? -1 : (a.number > b.number ? 1 : 0);
  } else if (a.kind == Kind::string && b.kind == Kind::string) {
    const int c = a.text.compare(b.text);
    order = c < 0 ? -1 : (c > 0 ? 1 : 0);
  } else if (op <= 1 && (is_null_or_boolean(a) || is_null_or_boolean(b))) {
    // null and booleans compare for equality with anything defined, so
    // `.x != null` means "present and not null".
    const bool same = a.kind == b.kind && (a.kind != Kind::boolean || a.boolean == b.boolean);
    return from_bool(op == 0 ? same : !same);
  } else {
    return {};
  }
  switch (op) {
  case 0: return from_bool(order == 0);
  case 1: return from_bool(order != 0);
  case 2: return from_bool(order < 0);
  case 3: return from_bool(order <= 0);
  case 4: return from_bool(order > 0);
  default: return from_bool(order >= 0);
  }
}

} // namespace

FieldValue FilterExpression::evaluate(PayloadValue& payload) const noexcept
{
  // Slots are written before they are read (stack discipline, cache bits),
  // so they are left uninitialized: this runs once per message.
  union Slots
  {
    Slots() noexcept {}
    FieldValue cache[path_cache_size];
    FieldValue stack[16];
  };
  Slots cache_slots;
  Slots stack_slots;
  FieldValue* const path_cache = cache_slots.cache;
  std::uint32_t cached_paths = 0;
  // Almost every expression fits the fixed stack; huge min()/max() argument
  // lists or deep right-nesting fall back to the heap.
  std::vector<FieldValue> heap;
  FieldValue* stack = stack_slots.stack;
  if (m_max_stack > std::size(stack_slots.stack)) {
    try {
      heap.resize(m_max_stack);
    } catch (...) {
      return {};
    }
    stack = heap.data();
  }
  std::size_t sp = 0;
  const std::size_t size = m_code.size();
  for (std::size_t pc = 0; pc < size; ++pc) {
    const Instruction in = m_code[pc];
    switch (in.op) {
    case Op::push_constant: {
      const Constant& c = m_constants[in.arg];
      FieldValue& v = stack[sp++];
      v.kind = c.kind;
      v.boolean = c.boolean;
      v.number = c.number;
      v.text = c.text;
      break;
    }
    case Op::push_path:
      if (in.arg < path_cache_size) {
        const std::uint32_t bit = 1U << in.arg;
        if ((cached_paths & bit) == 0) {
          path_cache[in.arg] = payload.lookup(m_paths[in.arg]);
          cached_paths |= bit;
        }
        stack[sp++] = path_cache[in.arg];
      } else {
        stack[sp++] = payload.lookup(m_paths[in.arg]);
      }
      break;
    case Op::push_topic: {
      FieldValue& v = stack[sp++];
      v = FieldValue{};
      v.kind = Kind::string;
      v.text = payload.message().topic;
      break;
    }
    case Op::push_qos: stack[sp++] = from_number(payload.message().qos); break;
    case Op::push_retain: stack[sp++] = from_bool(payload.message().retain); break;
    case Op::exists: stack[sp++] = from_bool(payload.exists(m_paths[in.arg])); break;
    case Op::push_property:
      stack[sp++] = property_value(payload.message().properties, static_cast<MessageProperty>(in.arg));
      break;
    case Op::push_user_property:
      stack[sp++] = user_property_value(payload.message().properties, m_constants[in.arg].text);
      break;
    case Op::defined: {
      FieldValue& v = stack[sp - 1];
      v = from_bool(v.kind != Kind::undefined);
      break;
    }
    case Op::negate: {
      FieldValue& v = stack[sp - 1];
      v = v.kind == Kind::number ? from_number(-v.number) : FieldValue{};
      break;
    }
    case Op::add:
    case Op::subtract:
    case Op::multiply:
    case Op::divide: {
      const FieldValue& b = stack[--sp];
      FieldValue& a = stack[sp - 1];
      if (a.kind != Kind::number || b.kind != Kind::number) {
        a = FieldValue{};
      } else if (in.op == Op::add) {
        a = from_number(a.number + b.number);
      } else if (in.op == Op::subtract) {
        a = from_number(a.number - b.number);
      } else if (in.op == Op::multiply) {
        a = from_number(a.number * b.number);
      } else {
        a = b.number == 0.0 ? FieldValue{} : from_number(a.number / b.number);
      }
      break;
    }
    case Op::equal:
    case Op::not_equal:
    case Op::less:
    case Op::less_equal:
    case Op::greater:
    case Op::greater_equal: {
      const FieldValue& b = stack[--sp];
      FieldValue& a = stack[sp - 1];
      a = compare(a, b, static_cast<int>(in.op) - static_cast<int>(Op::equal));
      break;
    }
    case Op::logical_not: {
      FieldValue& v = stack[sp - 1];
      const Truth t = truth(v);
      v = from_truth(t == Truth::unknown ? t : (t == Truth::yes ? Truth::no : Truth::yes));
      break;
    }
    case Op::and_jump:
    case Op::or_jump: {
      // A settled left side decides alone; the right side (which may parse
      // the payload) is skipped.
      FieldValue& v = stack[sp - 1];
      const Truth decisive = in.op == Op::and_jump ? Truth::no : Truth::yes;
      if (truth(v) == decisive) {
        v = from_truth(decisive);
        pc = in.arg - 1;
      }
      break;
    }
    case Op::and_combine:
    case Op::or_combine: {
      const Truth b = truth(stack[--sp]);
      FieldValue& a = stack[sp - 1];
      const Truth decisive = in.op == Op::and_combine ? Truth::no : Truth::yes;
      const Truth other = decisive == Truth::no ? Truth::yes : Truth::no;
      const Truth ta = truth(a);
      if (b == decisive) {
        a = from_truth(decisive);
      } else if (ta == Truth::unknown || b == Truth::unknown) {
        a = FieldValue{};
      } else {
        a = from_truth(other);
      }
      break;
    }
    case Op::abs:
    case Op::sqrt: {
      FieldValue& v = stack[sp - 1];
      if (v.kind != Kind::number || (in.op == Op::sqrt && v.number < 0)) {
        v = FieldValue{};
      } else {
        v = from_number(in.op == Op::abs ? std::fabs(v.number) : std::sqrt(v.number));
      }
      break;
    }
    case Op::min:
    case Op::max: {
      sp -= in.arg;
      FieldValue result = stack[sp];
      for (std::size_t k = 0; k < in.arg && result.kind == Kind::number; ++k) {
        const FieldValue& v = stack[sp + k];
        if (v.kind != Kind::number) {
          result = FieldValue{};
        } else if (in.op == Op::min ? v.number < result.number : v.number > result.number) {
          result.number = v.number;
        }
      }
      stack[sp++] = result.kind == Kind::number ? result : FieldValue{};
      break;
    }
    }
  }
  return sp == 1 ? stack[0] : FieldValue{};
}

bool FilterExpression::matches(PayloadValue& payload) const noexcept
{
  return truth(evaluate(payload)) == Truth::yes;
}

bool FilterExpression::uses_properties() const noexcept
{
  return std::any_of(m_code.begin(), m_code.end(), [](const Instruction& in) {
    return in.op == Op::push_property || in.op == Op::push_user_property;
  });
}

void FilterExpression::refuse_properties(std::string_view option_name, std::string_view why) const
{
  if (uses_properties()) {
    throw UsageError(std::string(option_name) + ": the expression reads an MQTT 5 property, " + std::string(why));
  }
}

bool FilterExpression::matches(const MessageView& message) const noexcept
{
  // One scanner per thread keeps its buffers from message to message.
  thread_local PayloadValue payload{MessageView{}};
  payload.reset(message);
  return matches(payload);
}

} // namespace mqtk
