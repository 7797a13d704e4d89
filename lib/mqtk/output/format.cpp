#include "mqtk/output/format.hpp"

#include <algorithm>
#include <cmath>

#include "mqtk/process/error.hpp"
#include "mqtk/output/json_text.hpp"
#include "mqtk/output/timestamp.hpp"

#include <cstdio>
#include <ctime>

#include <fmt/format.h>

namespace mqtk {

namespace {

using Token = OutputFormat::Token;

constexpr std::string_view conversions = "%ACDEFIjJlmPpqRrStUxX";

bool is_digit(char c) noexcept
{
  return c >= '0' && c <= '9';
}

std::string_view clip(std::string_view text, int precision) noexcept
{
  if (precision >= 0 && static_cast<std::size_t>(precision) < text.size()) {
    return text.substr(0, static_cast<std::size_t>(precision));
  }
  return text;
}

// printf("%-W.Ps") / ("%W.Ps"): the '0' flag does not apply to strings.
// A value as `jq -r` prints it; nothing when undefined.
void append_jq_text(std::string& out, const FieldValue& v)
{
  switch (v.kind) {
  case FieldValue::Kind::undefined: break;
  case FieldValue::Kind::null: out += "null"; break;
  case FieldValue::Kind::boolean: out += v.boolean ? "true" : "false"; break;
  case FieldValue::Kind::number:
    // Integers below 1e17 in full (as jq 1.7 prints them), others in the
    // shortest form that reads back the same.
    if (v.number == std::floor(v.number) && std::abs(v.number) < 1e17) {
      fmt::format_to(std::back_inserter(out), "{:.0f}", v.number);
    } else {
      fmt::format_to(std::back_inserter(out), "{}", v.number);
    }
    break;
  case FieldValue::Kind::string: out.append(v.text); break;
  case FieldValue::Kind::compound: {
    // On one line, as jq prints it.
    const std::size_t mark = out.size();
    if (!append_minified_json(out, v.text)) {
      out.resize(mark);
      out.append(v.text);
    }
    break;
  }
  }
}

void append_string_field(std::string& out, const Token& t, std::string_view text)
{
  text = clip(text, t.precision);
  std::size_t fill = t.width > 0 && text.size() < static_cast<std::size_t>(t.width)
                       ? static_cast<std::size_t>(t.width) - text.size()
                       : 0;
  if (!t.left) {
    out.append(fill, ' ');
  }
  out.append(text);
  if (t.left) {
    out.append(fill, ' ');
  }
}

// The payload and its hex form: pad with the pad character on the left, or
// spaces on the right with '-'; longer than the width: cut to the width.
void append_bytes_field(std::string& out, const Token& t, std::string_view bytes, bool cut)
{
  if (t.width <= 0) {
    out.append(bytes);
    return;
  }
  auto width = static_cast<std::size_t>(t.width);
  if (bytes.size() >= width) {
    out.append(cut ? bytes.substr(0, width) : bytes);
    return;
  }
  if (t.left) {
    out.append(bytes);
    out.append(width - bytes.size(), ' ');
  } else {
    out.append(width - bytes.size(), t.pad);
    out.append(bytes);
  }
}

// printf("%d") with '-', '0' and a width.
void append_int_field(std::string& out, const Token& t, long long value)
{
  char digits[32];
  auto end = fmt::format_to(digits, "{}", value);
  std::string_view text(digits, static_cast<std::size_t>(end - digits));
  std::size_t fill = t.width > 0 && text.size() < static_cast<std::size_t>(t.width)
                       ? static_cast<std::size_t>(t.width) - text.size()
                       : 0;
  if (t.left) {
    out.append(text);
    out.append(fill, ' ');
  } else if (t.pad == '0') {
    if (!text.empty() && text.front() == '-') {
      out.push_back('-');
      text.remove_prefix(1);
    }
    out.append(fill, '0');
    out.append(text);
  } else {
    out.append(fill, ' ');
    out.append(text);
  }
}

void append_hex(std::string& out, std::string_view bytes, bool upper)
{
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xF]);
  }
}

std::tm local_tm(std::chrono::system_clock::time_point time)
{
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  ::localtime_r(&seconds, &tm);
  return tm;
}

long long subsecond_nanoseconds(std::chrono::system_clock::time_point time)
{
  auto since_epoch = time.time_since_epoch();
  auto whole = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  if (whole > since_epoch) {
    whole -= std::chrono::seconds(1);
  }
  return std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - whole).count();
}

void append_strftime(std::string& out, const char* format, const std::tm& tm)
{
  char buffer[256];
  std::size_t n = std::strftime(buffer, sizeof buffer, format, &tm);
  out.append(buffer, n);
}


[[noreturn]] void bad_format(std::string_view what, std::size_t position, std::string_view format)
{
  throw UsageError(fmt::format("-F: {} at position {} in '{}'", what, position + 1, format));
}

} // namespace

OutputFormat OutputFormat::plain(bool verbose, bool eol, bool color_topic)
{
  OutputFormat f;
  f.m_mode = Mode::plain;
  f.m_verbose = verbose;
  f.m_color_topic = color_topic;
  f.m_eol = eol;
  return f;
}

OutputFormat OutputFormat::json_lines(bool pretty)
{
  OutputFormat f;
  f.m_mode = Mode::json_lines;
  f.m_pretty = pretty;
  return f;
}

bool OutputFormat::uses_properties() const noexcept
{
  return std::any_of(m_expressions.begin(), m_expressions.end(),
                     [](const FilterExpression& e) { return e.uses_properties(); });
}

OutputFormat OutputFormat::compile(std::string_view format, bool pretty, bool eol)
{
  OutputFormat f;
  f.m_mode = Mode::custom;
  f.m_pretty = pretty;
  f.m_eol = eol;
  auto literal = [&f]() -> std::string& {
    if (f.m_tokens.empty() || f.m_tokens.back().kind != Token::Kind::literal) {
      f.m_tokens.emplace_back();
    }
    return f.m_tokens.back().text;
  };
  std::size_t i = 0;
  while (i < format.size()) {
    char c = format[i];
    std::size_t start = i;
    if (c == '%' && i + 1 < format.size() && format[i + 1] == '{') {
      // %{EXPR}: up to the first '}' outside a quoted string.
      std::size_t j = i + 2;
      char quote = 0;
      for (; j < format.size(); ++j) {
        if (quote != 0) {
          if (format[j] == '\\') {
            ++j;
          } else if (format[j] == quote) {
            quote = 0;
          }
        } else if (format[j] == '"' || format[j] == '\'') {
          quote = format[j];
        } else if (format[j] == '}') {
          break;
        }
      }
      if (j >= format.size()) {
        bad_format("%{ without its closing }", start, format);
      }
      Token t;
      t.kind = Token::Kind::expression;
      t.expression = f.m_expressions.size();
      f.m_expressions.push_back(FilterExpression::parse(format.substr(i + 2, j - i - 2), "-F %{...}"));
      f.m_tokens.push_back(std::move(t));
      i = j + 1;
    } else if (c == '%') {
      Token t;
      t.kind = Token::Kind::conversion;
      ++i;
      if (i < format.size() && format[i] == '-') {
        t.left = true;
        ++i;
      }
      if (i < format.size() && format[i] == '0') {
        t.pad = '0';
        ++i;
      }
      while (i < format.size() && is_digit(format[i])) {
        t.width = std::min(t.width * 10 + (format[i] - '0'), 100000);
        ++i;
      }
      if (i < format.size() && format[i] == '.') {
        ++i;
        t.precision = 0;
        while (i < format.size() && is_digit(format[i])) {
          t.precision = std::min(t.precision * 10 + (format[i] - '0'), 100000);
          ++i;
        }
      }
      if (i >= format.size()) {
        bad_format("incomplete % sequence", start, format);
      }
      if (conversions.find(format[i]) == std::string_view::npos) {
        bad_format(fmt::format("unknown conversion '%{}' (known: %{})", format[i],
                               fmt::join(conversions.begin(), conversions.end(), " %")),
                   i, format);
      }
      t.conversion = format[i++];
      if (t.conversion == '%') {
        literal().push_back('%');
      } else {
        f.m_tokens.push_back(std::move(t));
      }
    } else if (c == '@') {
      if (i + 1 >= format.size()) {
        bad_format("incomplete @ sequence", start, format);
      }
      char spec = format[i + 1];
      i += 2;
      if (spec == '@') {
        literal().push_back('@');
      } else if (spec == 'N') {
        Token t;
        t.kind = Token::Kind::nanoseconds;
        f.m_tokens.push_back(std::move(t));
      } else {
        Token t;
        t.kind = Token::Kind::strftime;
        t.text = std::string("%") + spec;
        f.m_tokens.push_back(std::move(t));
      }
    } else if (c == '\\') {
      if (i + 1 >= format.size()) {
        bad_format("incomplete \\ escape", start, format);
      }
      char e = format[i + 1];
      i += 2;
      switch (e) {
      case '\\': literal().push_back('\\'); break;
      case '0': literal().push_back('\0'); break;
      case 'a': literal().push_back('\a'); break;
      case 'e': literal().push_back('\x1b'); break;
      case 'n': literal().push_back('\n'); break;
      case 'r': literal().push_back('\r'); break;
      case 't': literal().push_back('\t'); break;
      case 'v': literal().push_back('\v'); break;
      default:
        bad_format(fmt::format("unknown escape '\\{}' (known: \\\\ \\0 \\a \\e \\n \\r \\t \\v)", e), start,
                   format);
      }
    } else {
      literal().push_back(c);
      ++i;
    }
  }
  return f;
}

void OutputFormat::render(const MessageView& m, std::chrono::system_clock::time_point time, std::string& out) const
{
  switch (m_mode) {
  case Mode::plain:
    if (m_verbose) {
      if (!m_eol && m.payload.empty()) {
        // mosquitto: with -v -N an empty payload prints nothing at all.
        return;
      }
      if (m_color_topic) {
        out.append("\x1b[36m"); // cyan, as output/color's Paint::topic
        out.append(m.topic);
        out.append("\x1b[0m");
      } else {
        out.append(m.topic);
      }
      out.push_back(' ');
      out.append(m.payload.empty() ? std::string_view("(null)") : m.payload);
      if (m_eol) {
        out.push_back('\n');
      }
    } else if (!m.payload.empty()) {
      // mosquitto prints nothing at all for an empty payload.
      out.append(m.payload);
      if (m_eol) {
        out.push_back('\n');
      }
    }
    return;
  case Mode::json_lines: {
    std::size_t mark = out.size();
    out.append("{\"tst\":\"");
    append_iso8601_utc(out, time);
    out.append("\",\"topic\":");
    append_json_string(out, m.topic);
    out.append(",\"qos\":");
    out.push_back(static_cast<char>('0' + m.qos));
    out.append(m.retain ? ",\"retain\":true," : ",\"retain\":false,");
    append_payload_member(out, m.payload);
    if (m.properties != nullptr && !m.properties->empty()) {
      out.push_back(',');
      append_properties_member(out, *m.properties);
    }
    out.push_back('}');
    if (m_pretty) {
      std::string compact = out.substr(mark);
      out.resize(mark);
      append_pretty_json(out, compact);
    }
    out.push_back('\n');
    return;
  }
  case Mode::custom:
    break;
  }

  bool have_tm = false;
  bool have_payload = false;
  std::tm tm{};
  for (const Token& t : m_tokens) {
    switch (t.kind) {
    case Token::Kind::literal: out.append(t.text); break;
    case Token::Kind::expression:
      if (!have_payload) {
        m_payload.reset(m);
        have_payload = true;
      }
      append_jq_text(out, m_expressions[t.expression].evaluate(m_payload));
      break;
    case Token::Kind::nanoseconds: fmt::format_to(std::back_inserter(out), "{:09}", subsecond_nanoseconds(time)); break;
    case Token::Kind::strftime:
      if (!have_tm) {
        tm = local_tm(time);
        have_tm = true;
      }
      append_strftime(out, t.text.c_str(), tm);
      break;
    case Token::Kind::conversion:
      switch (t.conversion) {
      case 't': append_string_field(out, t, m.topic); break;
      case 'p': append_bytes_field(out, t, m.payload, true); break;
      case 'x':
      case 'X': {
        std::string hex;
        append_hex(hex, m.payload, t.conversion == 'X');
        append_bytes_field(out, t, hex, false);
        break;
      }
      case 'l': append_int_field(out, t, static_cast<long long>(m.payload.size())); break;
      case 'm': append_int_field(out, t, m.mid); break;
      case 'q': out.push_back(static_cast<char>('0' + m.qos)); break;
      case 'r': out.push_back(m.retain ? '1' : '0'); break;
      case 'I': {
        std::string stamp;
        append_strftime(stamp, "%FT%T%z", local_tm(time));
        append_string_field(out, t, stamp);
        break;
      }
      case 'U': {
        auto seconds = std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
        fmt::format_to(std::back_inserter(out), "{}.{:09}", seconds, subsecond_nanoseconds(time));
        break;
      }
      case 'j':
      case 'J':
        if (!append_mosquitto_json(out, m, time, t.conversion == 'J', m_pretty) && m_warnings) {
          std::fprintf(stderr, "mqtk-sub: payload on topic '%.*s' is not valid JSON; %%J printed nothing\n",
                       static_cast<int>(m.topic.size()), m.topic.data());
        }
        break;
      // MQTT 5 properties, as mosquitto_sub prints them: numbers and the
      // content type padded to the width even when absent; the response
      // topic a string field, correlation data and user properties raw.
      case 'A':
      case 'E':
      case 'F':
      case 'S': {
        const MessageProperties* p = m.properties;
        std::optional<long long> number;
        if (p != nullptr) {
          if (t.conversion == 'A' && p->topic_alias) {
            number = *p->topic_alias;
          } else if (t.conversion == 'E' && p->message_expiry) {
            number = *p->message_expiry;
          } else if (t.conversion == 'F' && p->payload_format) {
            number = *p->payload_format;
          } else if (t.conversion == 'S' && !p->subscription_ids.empty()) {
            number = p->subscription_ids.front();
          }
        }
        if (number) {
          append_int_field(out, t, *number);
        } else if (t.width > 0) {
          out.append(static_cast<std::size_t>(t.width), t.pad);
        }
        break;
      }
      case 'C':
        if (m.properties != nullptr && m.properties->content_type) {
          append_string_field(out, t, *m.properties->content_type);
        } else if (t.width > 0) {
          out.append(static_cast<std::size_t>(t.width), ' ');
        }
        break;
      case 'R':
        if (m.properties != nullptr && m.properties->response_topic) {
          append_string_field(out, t, *m.properties->response_topic);
        }
        break;
      case 'D':
        if (m.properties != nullptr && m.properties->correlation_data) {
          out.append(*m.properties->correlation_data);
        }
        break;
      case 'P':
        if (m.properties != nullptr) {
          bool first = true;
          for (const auto& [name, value] : m.properties->user) {
            if (!first) {
              out.push_back(' ');
            }
            first = false;
            out.append(name);
            out.push_back(':');
            out.append(value);
          }
        }
        break;
      default: break;
      }
      break;
    }
  }
  if (m_eol) {
    out.push_back('\n');
  }
}

bool append_mosquitto_json(std::string& out, const MessageView& m, std::chrono::system_clock::time_point time,
                           bool payload_as_json, bool pretty)
{
  std::string json;
  json.reserve(96 + m.topic.size() + m.payload.size());
  // mosquitto writes local time, then a literal 'Z', then the UTC offset.
  json.append("{\"tst\":\"");
  std::tm tm = local_tm(time);
  append_strftime(json, "%Y-%m-%dT%H:%M:%S", tm);
  fmt::format_to(std::back_inserter(json), ".{:06}Z", subsecond_nanoseconds(time) / 1000);
  append_strftime(json, "%z", tm);
  json.append("\",\"topic\":");
  append_json_string(json, m.topic);
  fmt::format_to(std::back_inserter(json), ",\"qos\":{},\"retain\":{},\"payloadlen\":{}", m.qos, m.retain ? 1 : 0,
                 m.payload.size());
  if (m.qos > 0) {
    fmt::format_to(std::back_inserter(json), ",\"mid\":{}", m.mid);
  }
  if (m.payload.empty()) {
    json.append(",\"payload\":null");
  } else if (payload_as_json) {
    json.append(",\"payload\":");
    if (!append_minified_json(json, m.payload)) {
      return false;
    }
  } else if (is_valid_utf8(m.payload)) {
    json.append(",\"payload\":");
    append_json_string(json, m.payload);
  } else {
    // mosquitto writes the raw bytes, which is not JSON; mqtk stays valid.
    json.append(",\"payload_base64\":\"");
    append_base64(json, m.payload);
    json.push_back('"');
  }
  json.push_back('}');
  if (pretty) {
    append_pretty_json(out, json);
  } else {
    out.append(json);
  }
  return true;
}

void append_pretty_json(std::string& out, std::string_view compact)
{
  // Each entry: true for an object. Depth counts every open container, as
  // cJSON's printer does.
  std::vector<bool> stack;
  auto tabs = [&out](std::size_t n) { out.append(n, '\t'); };
  for (std::size_t i = 0; i < compact.size(); ++i) {
    char c = compact[i];
    switch (c) {
    case '"': {
      std::size_t j = i + 1;
      while (j < compact.size() && compact[j] != '"') {
        j += compact[j] == '\\' ? 2 : 1;
      }
      out.append(compact.substr(i, j - i + 1));
      i = j;
      break;
    }
    case '{':
      stack.push_back(true);
      out.push_back('{');
      out.push_back('\n');
      if (i + 1 < compact.size() && compact[i + 1] == '}') {
        tabs(stack.size() - 1);
      } else {
        tabs(stack.size());
      }
      break;
    case '[':
      stack.push_back(false);
      out.push_back('[');
      break;
    case '}':
      if (i > 0 && compact[i - 1] != '{') {
        out.push_back('\n');
        tabs(stack.size() - 1);
      }
      out.push_back('}');
      stack.pop_back();
      break;
    case ']':
      out.push_back(']');
      stack.pop_back();
      break;
    case ':':
      out.append(":\t");
      break;
    case ',':
      if (!stack.empty() && stack.back()) {
        out.append(",\n");
        tabs(stack.size());
      } else {
        out.append(", ");
      }
      break;
    default: out.push_back(c);
    }
  }
}

} // namespace mqtk
