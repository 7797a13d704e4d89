#include "mqtk/output/char_class.hpp"
#include "mqtk/output/json_text.hpp"
#include "mqtk/rules/payload_value.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <new>
#include <system_error>

#include "mqtk/process/error.hpp"

namespace mqtk {

namespace {

constexpr std::size_t npos = std::string_view::npos;

bool is_json_space(char c) noexcept
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}



// Four hex digits at s[i..i+4), or -1.
long read_hex4(std::string_view s, std::size_t i) noexcept
{
  if (i + 4 > s.size()) {
    return -1;
  }
  long v = 0;
  for (std::size_t k = 0; k < 4; ++k) {
    const int h = hex_digit_value(s[i + k]);
    if (h < 0) {
      return -1;
    }
    v = v * 16 + h;
  }
  return v;
}

std::size_t encode_utf8(unsigned long cp, char* out) noexcept
{
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

// Decodes the \u escape at s[i] ('\\'), combining a surrogate pair; returns
// the code point and sets consumed, or -1 for a malformed or lone surrogate.
long decode_unicode_escape(std::string_view s, std::size_t i, std::size_t& consumed) noexcept
{
  const long hi = read_hex4(s, i + 2);
  if (hi < 0) {
    return -1;
  }
  if (hi >= 0xDC00 && hi <= 0xDFFF) {
    return -1;
  }
  if (hi < 0xD800 || hi > 0xDBFF) {
    consumed = 6;
    return hi;
  }
  if (i + 12 > s.size() || s[i + 6] != '\\' || s[i + 7] != 'u') {
    return -1;
  }
  const long lo = read_hex4(s, i + 8);
  if (lo < 0xDC00 || lo > 0xDFFF) {
    return -1;
  }
  consumed = 12;
  return 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
}

// Decodes the escape starting at raw[i] ('\\') of an already validated JSON
// string into out; returns how many input bytes it used.
std::size_t decode_json_escape(std::string_view raw, std::size_t i, char* out,
                               std::size_t& out_len) noexcept
{
  const char e = raw[i + 1];
  out_len = 1;
  switch (e) {
  case 'b': out[0] = '\b'; return 2;
  case 'f': out[0] = '\f'; return 2;
  case 'n': out[0] = '\n'; return 2;
  case 'r': out[0] = '\r'; return 2;
  case 't': out[0] = '\t'; return 2;
  case 'u': {
    std::size_t consumed = 6;
    const long cp = decode_unicode_escape(raw, i, consumed);
    out_len = encode_utf8(static_cast<unsigned long>(cp < 0 ? 0xFFFD : cp), out);
    return consumed;
  }
  default: out[0] = e; return 2;
  }
}

void decode_json_string(std::string_view raw, std::string& out)
{
  out.clear();
  out.reserve(raw.size());
  std::size_t i = 0;
  while (i < raw.size()) {
    const std::size_t bs = raw.find('\\', i);
    if (bs == npos) {
      out.append(raw.substr(i));
      break;
    }
    out.append(raw.substr(i, bs - i));
    std::array<char, 4> buf{};
    std::size_t len = 0;
    i = bs + decode_json_escape(raw, bs, buf.data(), len);
    out.append(buf.data(), len);
  }
}

// Compares the raw (still escaped) text of a JSON key with a decoded key
// without allocating.
bool json_key_equals(std::string_view raw, std::string_view key) noexcept
{
  if (raw.find('\\') == npos) {
    return raw == key;
  }
  std::size_t i = 0;
  std::size_t k = 0;
  while (i < raw.size()) {
    if (raw[i] != '\\') {
      if (k >= key.size() || key[k] != raw[i]) {
        return false;
      }
      ++i;
      ++k;
      continue;
    }
    std::array<char, 4> buf{};
    std::size_t len = 0;
    i += decode_json_escape(raw, i, buf.data(), len);
    if (k + len > key.size() || std::memcmp(key.data() + k, buf.data(), len) != 0) {
      return false;
    }
    k += len;
  }
  return k == key.size();
}

std::size_t skip_ws(std::string_view s, std::size_t i) noexcept
{
  while (i < s.size() && is_json_space(s[i])) {
    ++i;
  }
  return i;
}

// --- Strict validation (single pass, no recursion) -------------------------

// One UTF-8 sequence at s[i] (a byte >= 0x80); returns its length or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept
{
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) {
    return cont(1) ? 2 : 0;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) {
      return 0;
    }
    // Overlong forms (E0 80..9F) and UTF-16 surrogates (ED A0..BF) are invalid.
    if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F)) {
      return 0;
    }
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) {
      return 0;
    }
    if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) > 0x8F)) {
      return 0;
    }
    return 4;
  }
  return 0;
}

// Bytes that need no attention inside a JSON string: printable ASCII other
// than the quote and backslash.
constexpr std::array<bool, 256> plain_string_bytes = [] {
  std::array<bool, 256> table{};
  for (std::size_t c = 0x20; c < 0x80; ++c) {
    table[c] = c != '"' && c != '\\';
  }
  return table;
}();

// Validates the string at s[i] ('"'); on success i is past the closing quote.
bool scan_string(std::string_view s, std::size_t& i) noexcept
{
  ++i;
  while (i < s.size()) {
    while (i < s.size() && plain_string_bytes[static_cast<unsigned char>(s[i])]) {
      ++i;
    }
    if (i >= s.size()) {
      return false;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      ++i;
      return true;
    }
    if (c == '\\') {
      if (i + 1 >= s.size()) {
        return false;
      }
      const char e = s[i + 1];
      if (e == 'u') {
        std::size_t consumed = 0;
        if (decode_unicode_escape(s, i, consumed) < 0) {
          return false;
        }
        i += consumed;
      } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                 e == 'r' || e == 't') {
        i += 2;
      } else {
        return false;
      }
    } else if (c < 0x20) {
      return false;
    } else if (c < 0x80) {
      ++i;
    } else {
      const std::size_t len = utf8_sequence(s, i);
      if (len == 0) {
        return false;
      }
      i += len;
    }
  }
  return false;
}


bool scan_literal(std::string_view s, std::size_t& i, std::string_view word) noexcept
{
  if (s.substr(i, word.size()) != word) {
    return false;
  }
  i += word.size();
  return true;
}

// Reads `"key" :` at s[i] and leaves i on the member's value.
bool scan_member_key(std::string_view s, std::size_t& i) noexcept
{
  if (i >= s.size() || s[i] != '"' || !scan_string(s, i)) {
    return false;
  }
  i = skip_ws(s, i);
  if (i >= s.size() || s[i] != ':') {
    return false;
  }
  i = skip_ws(s, i + 1);
  return true;
}

static_assert(PayloadValue::max_json_depth == max_json_depth, "what -j prints as JSON, --where reads as JSON");

// The containers open at each depth are kept in fixed arrays rather than on
// the call stack, so hostile nesting cannot overflow anything. Every container
// (in document order) gets its end offset recorded in spans, which lets
// lookups jump over nested objects and arrays instead of rescanning them.
bool validate_json(std::string_view s, std::size_t& root,
                   std::vector<PayloadValue::ContainerSpan>& spans) noexcept
{
  constexpr std::size_t max_depth = PayloadValue::max_json_depth;
  spans.clear();
  if (s.size() >= UINT32_MAX) {
    return false;
  }
  std::array<std::uint64_t, (max_depth + 63) / 64> is_object{};
  std::array<std::uint32_t, max_depth> open{};
  std::size_t depth = 0;
  const auto push = [&](bool object) {
    if (depth == max_depth) {
      return false;
    }
    const std::uint64_t bit = std::uint64_t{1} << (depth % 64);
    if (object) {
      is_object[depth / 64] |= bit;
    } else {
      is_object[depth / 64] &= ~bit;
    }
    open[depth] = static_cast<std::uint32_t>(spans.size());
    spans.push_back({0, 0});
    ++depth;
    return true;
  };
  // i is on the closing bracket.
  const auto pop = [&](std::size_t i) {
    --depth;
    spans[open[depth]] = {static_cast<std::uint32_t>(i + 1),
                          static_cast<std::uint32_t>(spans.size())};
  };
  const auto top_is_object = [&] {
    const std::size_t d = depth - 1;
    return (is_object[d / 64] >> (d % 64)) & 1U;
  };

  try {
    std::size_t i = skip_ws(s, 0);
    root = i;
    for (;;) {
      // A value starts at i.
      if (i >= s.size()) {
        return false;
      }
      const char c = s[i];
      bool closed_container = false;
      if (c == '{') {
        if (!push(true)) {
          return false;
        }
        i = skip_ws(s, i + 1);
        if (i < s.size() && s[i] == '}') {
          pop(i);
          ++i;
          closed_container = true;
        } else {
          if (!scan_member_key(s, i)) {
            return false;
          }
          continue;
        }
      } else if (c == '[') {
        if (!push(false)) {
          return false;
        }
        i = skip_ws(s, i + 1);
        if (i < s.size() && s[i] == ']') {
          pop(i);
          ++i;
          closed_container = true;
        } else {
          continue;
        }
      }
      if (!closed_container) {
        bool ok = false;
        if (c == '"') {
          ok = scan_string(s, i);
        } else if (c == '-' || is_digit(c)) {
          ok = scan_json_number(s, i);
        } else if (c == 't') {
          ok = scan_literal(s, i, "true");
        } else if (c == 'f') {
          ok = scan_literal(s, i, "false");
        } else if (c == 'n') {
          ok = scan_literal(s, i, "null");
        }
        if (!ok) {
          return false;
        }
      }
      // After a complete value: close containers until one wants another value.
      for (;;) {
        i = skip_ws(s, i);
        if (depth == 0) {
          return i == s.size();
        }
        if (i >= s.size()) {
          return false;
        }
        if (top_is_object()) {
          if (s[i] == ',') {
            i = skip_ws(s, i + 1);
            if (!scan_member_key(s, i)) {
              return false;
            }
            break;
          }
          if (s[i] != '}') {
            return false;
          }
        } else {
          if (s[i] == ',') {
            i = skip_ws(s, i + 1);
            break;
          }
          if (s[i] != ']') {
            return false;
          }
        }
        pop(i);
        ++i;
      }
    }
  } catch (const std::bad_alloc&) {
    return false;
  }
}

// --- Navigation inside text already known to be valid JSON -----------------

// Keys and values are mostly short, where a plain loop beats memchr.
std::size_t skip_string(std::string_view s, std::size_t i) noexcept
{
  const char* p = s.data() + i + 1;
  for (;;) {
    const char c = *p;
    if (c == '"') {
      return static_cast<std::size_t>(p - s.data()) + 1;
    }
    p += c == '\\' ? 2 : 1;
  }
}

// Skips the value at s[i]; next_span is the ordinal of the next container in
// document order at or after i, and is advanced past a skipped container.
std::size_t skip_value(std::string_view s, std::size_t i,
                       const std::vector<PayloadValue::ContainerSpan>& spans,
                       std::uint32_t& next_span) noexcept
{
  const char c = s[i];
  if (c == '"') {
    return skip_string(s, i);
  }
  if (c == '{' || c == '[') {
    const PayloadValue::ContainerSpan span = spans[next_span];
    next_span = span.next;
    return span.end;
  }
  while (i < s.size() && !is_json_space(s[i]) && s[i] != ',' && s[i] != ']' && s[i] != '}') {
    ++i;
  }
  return i;
}

} // namespace

namespace detail {

bool to_double(std::string_view text, double& out) noexcept
{
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') {
    digits.remove_prefix(1);
  }
  const char* const end = digits.data() + digits.size();
  const auto [ptr, ec] = std::from_chars(digits.data(), end, out, std::chars_format::general);
  if (ec == std::errc{} && ptr == end) {
    return std::isfinite(out);
  }
  if (ec != std::errc::result_out_of_range) {
    return false;
  }
  // Decide between underflow and overflow from the decimal magnitude.
  long magnitude = 0;
  bool seen_point = false;
  bool seen_nonzero = false;
  std::size_t i = 0;
  const bool negative = !digits.empty() && digits[0] == '-';
  if (negative) {
    ++i;
  }
  for (; i < digits.size() && (is_digit(digits[i]) || digits[i] == '.'); ++i) {
    if (digits[i] == '.') {
      seen_point = true;
    } else if (!seen_nonzero && digits[i] != '0') {
      seen_nonzero = true;
      if (seen_point) {
        --magnitude;
      }
    } else if (seen_nonzero && !seen_point) {
      ++magnitude;
    } else if (!seen_nonzero && seen_point) {
      --magnitude;
    }
  }
  if (i < digits.size() && (digits[i] == 'e' || digits[i] == 'E')) {
    ++i;
    const bool exp_negative = i < digits.size() && digits[i] == '-';
    if (i < digits.size() && (digits[i] == '+' || digits[i] == '-')) {
      ++i;
    }
    long exponent = 0;
    for (; i < digits.size() && is_digit(digits[i]); ++i) {
      if (exponent < 100000000) {
        exponent = exponent * 10 + (digits[i] - '0');
      }
    }
    magnitude += exp_negative ? -exponent : exponent;
  }
  if (magnitude < 0) {
    out = negative ? -0.0 : 0.0;
    return true;
  }
  return false;
}

} // namespace detail

namespace {

using detail::to_double;

// Plain-number grammar: [+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?
bool is_plain_number(std::string_view s) noexcept
{
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    ++i;
  }
  const bool int_digits = scan_digits(s, i);
  bool frac_digits = false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    frac_digits = scan_digits(s, i);
  }
  if (!int_digits && !frac_digits) {
    return false;
  }
  return scan_exponent(s, i) && i == s.size();
}

std::string_view trim(std::string_view s) noexcept
{
  const auto space = [](char c) { return is_json_space(c) || c == '\f' || c == '\v'; };
  while (!s.empty() && space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

std::string printable(std::string_view text)
{
  constexpr std::size_t limit = 512;
  std::string out;
  out.reserve(std::min(text.size(), limit) + 3);
  for (const char c : text.substr(0, limit)) {
    const auto u = static_cast<unsigned char>(c);
    // Keep the message on one line; a space keeps the columns aligned.
    out.push_back(u < 0x20 || u == 0x7F ? ' ' : c);
  }
  if (text.size() > limit) {
    out += "...";
  }
  return out;
}

} // namespace

// --- PayloadValue -------------------------------------------------------------

PayloadValue::PayloadValue(const MessageView& message) noexcept
  : m_message(message)
{
}

void PayloadValue::reset(const MessageView& message) noexcept
{
  m_message = message;
  m_number_state = State::unknown;
  m_json_state = State::unknown;
  m_number = 0.0;
  m_root = 0;
  m_decoded_used = 0;
}

std::optional<double> PayloadValue::as_number() noexcept
{
  if (m_number_state == State::unknown) {
    const std::string_view t = trim(m_message.payload);
    m_number_state = is_plain_number(t) && to_double(t, m_number) ? State::yes : State::no;
  }
  if (m_number_state == State::yes) {
    return m_number;
  }
  return std::nullopt;
}

bool PayloadValue::is_json() noexcept
{
  if (m_json_state == State::unknown) {
    m_json_state = validate_json(m_message.payload, m_root, m_spans) ? State::yes : State::no;
  }
  return m_json_state == State::yes;
}

std::size_t PayloadValue::locate(const JsonPath& path, std::uint32_t& span) noexcept
{
  if (!is_json()) {
    return npos;
  }
  const std::string_view s = m_message.payload;
  std::size_t i = m_root;
  span = 0; // the root, if it is a container, is the first one
  for (const PathStep& step : path.steps) {
    if (step.is_index) {
      if (s[i] != '[') {
        return npos;
      }
      std::int64_t wanted = step.index;
      if (wanted < 0) {
        std::int64_t count = 0;
        std::uint32_t next = span + 1;
        std::size_t j = skip_ws(s, i + 1);
        while (s[j] != ']') {
          ++count;
          j = skip_ws(s, skip_value(s, j, m_spans, next));
          if (s[j] == ',') {
            j = skip_ws(s, j + 1);
          }
        }
        wanted += count;
        if (wanted < 0) {
          return npos;
        }
      }
      std::uint32_t next = span + 1;
      std::size_t j = skip_ws(s, i + 1);
      for (std::int64_t k = 0;; ++k) {
        if (s[j] == ']') {
          return npos;
        }
        if (k == wanted) {
          break;
        }
        j = skip_ws(s, skip_value(s, j, m_spans, next));
        if (s[j] == ',') {
          j = skip_ws(s, j + 1);
        }
      }
      i = j;
      span = next;
    } else {
      if (s[i] != '{') {
        return npos;
      }
      // jq and nlohmann::json keep the last of duplicate keys; so do we.
      std::size_t found = npos;
      std::uint32_t found_span = 0;
      std::uint32_t next = span + 1;
      std::size_t j = skip_ws(s, i + 1);
      while (s[j] != '}') {
        const std::size_t key_end = skip_string(s, j);
        const bool match = json_key_equals(s.substr(j + 1, key_end - j - 2), step.key);
        j = skip_ws(s, skip_ws(s, key_end) + 1);
        if (match) {
          found = j;
          found_span = next;
        }
        j = skip_ws(s, skip_value(s, j, m_spans, next));
        if (s[j] == ',') {
          j = skip_ws(s, j + 1);
        }
      }
      if (found == npos) {
        return npos;
      }
      i = found;
      span = found_span;
    }
  }
  return i;
}

FieldValue PayloadValue::value_at(std::size_t pos, std::uint32_t span) noexcept
{
  const std::string_view s = m_message.payload;
  FieldValue v;
  switch (s[pos]) {
  case '"': {
    const std::size_t end = skip_string(s, pos);
    const std::string_view raw = s.substr(pos + 1, end - pos - 2);
    if (raw.find('\\') == npos) {
      v.kind = FieldValue::Kind::string;
      v.text = raw;
      return v;
    }
    try {
      // Decoded strings are kept per message and their buffers reused, so
      // steady-state evaluation does not allocate.
      if (m_decoded_used == m_decoded.size()) {
        m_decoded.push_back(std::make_unique<std::string>());
      }
      std::string& out = *m_decoded[m_decoded_used++];
      decode_json_string(raw, out);
      v.kind = FieldValue::Kind::string;
      v.text = out;
    } catch (const std::bad_alloc&) {
      v.kind = FieldValue::Kind::undefined;
    }
    return v;
  }
  case '{':
  case '[':
    v.kind = FieldValue::Kind::compound;
    v.text = s.substr(pos, m_spans[span].end - pos);
    return v;
  case 't':
    v.kind = FieldValue::Kind::boolean;
    v.boolean = true;
    return v;
  case 'f':
    v.kind = FieldValue::Kind::boolean;
    return v;
  case 'n':
    v.kind = FieldValue::Kind::null;
    return v;
  default:
    if (to_double(s.substr(pos, skip_value(s, pos, m_spans, span) - pos), v.number)) {
      v.kind = FieldValue::Kind::number;
    }
    return v;
  }
}

FieldValue PayloadValue::lookup(const JsonPath& path) noexcept
{
  FieldValue v;
  if (path.steps.empty()) {
    if (const auto n = as_number()) {
      v.kind = FieldValue::Kind::number;
      v.number = *n;
      return v;
    }
    if (is_json()) {
      return value_at(m_root, 0);
    }
    v.kind = FieldValue::Kind::string;
    v.text = m_message.payload;
    return v;
  }
  std::uint32_t span = 0;
  const std::size_t pos = locate(path, span);
  return pos == npos ? v : value_at(pos, span);
}

bool PayloadValue::exists(const JsonPath& path) noexcept
{
  std::uint32_t span = 0;
  return path.steps.empty() || locate(path, span) != npos;
}

std::optional<std::string> PayloadValue::lookup_text(const JsonPath& path)
{
  const std::string_view s = m_message.payload;
  std::size_t pos = npos;
  std::uint32_t span = 0;
  if (path.steps.empty()) {
    if (as_number()) {
      return std::string(trim(s));
    }
    if (!is_json()) {
      return std::string(s);
    }
    pos = m_root;
  } else {
    pos = locate(path, span);
    if (pos == npos) {
      return std::nullopt;
    }
  }
  const std::size_t end = skip_value(s, pos, m_spans, span);
  if (s[pos] == '"') {
    std::string out;
    decode_json_string(s.substr(pos + 1, end - pos - 2), out);
    return out;
  }
  return std::string(s.substr(pos, end - pos));
}

// --- Paths and string literals ---------------------------------------------

namespace detail {

std::optional<SyntaxError> parse_string_literal(std::string_view text, std::size_t& pos,
                                                std::string& out)
{
  const std::size_t start = pos;
  const char quote = text[pos++];
  out.clear();
  for (;;) {
    if (pos >= text.size()) {
      return SyntaxError{"unterminated string starting", start};
    }
    const char c = text[pos];
    if (c == quote) {
      ++pos;
      return std::nullopt;
    }
    if (c != '\\') {
      out.push_back(c);
      ++pos;
      continue;
    }
    if (pos + 1 >= text.size()) {
      return SyntaxError{"unterminated string starting", start};
    }
    const char e = text[pos + 1];
    switch (e) {
    case '\\':
    case '"':
    case '\'':
    case '/': out.push_back(e); break;
    case 'b': out.push_back('\b'); break;
    case 'f': out.push_back('\f'); break;
    case 'n': out.push_back('\n'); break;
    case 'r': out.push_back('\r'); break;
    case 't': out.push_back('\t'); break;
    case 'u': {
      std::size_t consumed = 0;
      const long cp = decode_unicode_escape(text, pos, consumed);
      if (cp < 0) {
        return SyntaxError{"invalid \\u escape (want 4 hex digits, surrogates paired)", pos};
      }
      std::array<char, 4> buf{};
      out.append(buf.data(), encode_utf8(static_cast<unsigned long>(cp), buf.data()));
      pos += consumed;
      continue;
    }
    default: {
      std::string what = "invalid escape '\\";
      what += static_cast<unsigned char>(e) < 0x20 ? ' ' : e;
      what += "' in string";
      return SyntaxError{what, pos};
    }
    }
    pos += 2;
  }
}

std::optional<SyntaxError> parse_path_at(std::string_view text, std::size_t& pos, JsonPath& out)
{
  const std::size_t start = pos;
  out.steps.clear();
  const auto read_key = [&] {
    const std::size_t b = pos;
    while (pos < text.size() && is_ident_char(text[pos])) {
      ++pos;
    }
    PathStep step;
    step.key = std::string(text.substr(b, pos - b));
    out.steps.push_back(std::move(step));
  };
  ++pos; // the leading '.'
  if (pos < text.size() && is_ident_start(text[pos])) {
    read_key();
  } else if (pos < text.size() && text[pos] == '.') {
    return SyntaxError{"expected a key or '[' after '.'", pos};
  }
  for (;;) {
    if (pos < text.size() && text[pos] == '.') {
      if (pos + 1 < text.size() && is_ident_start(text[pos + 1])) {
        ++pos;
        read_key();
        continue;
      }
      if (pos + 1 < text.size() && text[pos + 1] == '[') {
        ++pos;
        continue;
      }
      return SyntaxError{"expected a key or '[' after '.'", pos + 1};
    }
    if (pos >= text.size() || text[pos] != '[') {
      break;
    }
    pos = skip_ws(text, pos + 1);
    PathStep step;
    if (pos < text.size() && (text[pos] == '"' || text[pos] == '\'')) {
      if (auto error = parse_string_literal(text, pos, step.key)) {
        return error;
      }
    } else if (pos < text.size() && (is_digit(text[pos]) || text[pos] == '-')) {
      const std::size_t b = pos;
      const bool negative = text[pos] == '-';
      if (negative) {
        ++pos;
      }
      const std::size_t digits_begin = pos;
      std::int64_t value = 0;
      while (pos < text.size() && is_digit(text[pos])) {
        if (value > 100000000000000000) {
          return SyntaxError{"array index too large", b};
        }
        value = value * 10 + (text[pos] - '0');
        ++pos;
      }
      if (pos == digits_begin) {
        return SyntaxError{"expected an array index or a quoted key", pos};
      }
      if (pos < text.size() && (text[pos] == '.' || is_ident_char(text[pos]))) {
        return SyntaxError{"expected an integer array index", b};
      }
      step.is_index = true;
      step.index = negative ? -value : value;
    } else {
      return SyntaxError{"expected an array index or a quoted key", pos};
    }
    pos = skip_ws(text, pos);
    if (pos >= text.size() || text[pos] != ']') {
      return SyntaxError{"expected ']'", pos};
    }
    ++pos;
    out.steps.push_back(std::move(step));
  }
  out.text = std::string(text.substr(start, pos - start));
  return std::nullopt;
}

std::string syntax_message(std::string_view option_name, const SyntaxError& error,
                           std::string_view text)
{
  std::string message(option_name);
  message += ": ";
  message += error.what;
  message += " at column ";
  message += std::to_string(error.pos + 1);
  message += ": ";
  message += printable(text);
  return message;
}

} // namespace detail

JsonPath parse_path(std::string_view text, std::string_view option_name)
{
  const std::string_view t = trim(text);
  const std::size_t offset = static_cast<std::size_t>(t.data() - text.data());
  JsonPath path;
  if (t == "payload") {
    path.text = "payload";
    return path;
  }
  if (t.empty() || t.front() != '.') {
    throw UsageError(detail::syntax_message(
      option_name, {"expected a path such as .a.b[2]", offset}, text));
  }
  std::size_t pos = 0;
  if (auto error = detail::parse_path_at(t, pos, path)) {
    error->pos += offset;
    throw UsageError(detail::syntax_message(option_name, *error, text));
  }
  if (pos != t.size()) {
    std::string what = "unexpected '";
    what += printable(t.substr(pos, 1));
    what += "' in path";
    throw UsageError(detail::syntax_message(option_name, {what, offset + pos}, text));
  }
  return path;
}

} // namespace mqtk
