#include "mqtk/output/json_text.hpp"

#include "mqtk/output/char_class.hpp"

#include <cstdint>
#include <vector>

namespace mqtk {

namespace {

// Length of the UTF-8 sequence starting at text[i], or 0 if invalid.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) noexcept
{
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) {
    return 1;
  }
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > text.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < n; ++k) {
    unsigned char cc = byte(i + k);
    if ((cc & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr std::uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_length[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

bool is_hex(char c) noexcept
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_space(char c) noexcept
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// A strict JSON scanner that copies significant characters to `out`.
class Minifier
{
public:
  Minifier(std::string_view text, std::string& out)
    : m_text(text),
      m_out(out)
  {
  }

  bool run()
  {
    skip_space();
    if (!value()) {
      return false;
    }
    skip_space();
    return m_pos == m_text.size();
  }

private:
  // Iterative over nesting so that deeply nested input cannot exhaust the
  // stack: `m_stack` remembers, per open container, whether it is an object.
  bool value()
  {
    while (true) {
      if (!scalar_or_open()) {
        return false;
      }
      // After a value: close containers or continue with the next element.
      while (true) {
        if (m_stack.empty()) {
          return true;
        }
        skip_space();
        if (at_end()) {
          return false;
        }
        char c = m_text[m_pos];
        bool in_object = m_stack.back();
        if (c == ',') {
          m_out.push_back(',');
          ++m_pos;
          skip_space();
          if (in_object && !member_key()) {
            return false;
          }
          break; // parse the next value
        }
        if (c == (in_object ? '}' : ']')) {
          m_out.push_back(c);
          ++m_pos;
          m_stack.pop_back();
          continue;
        }
        return false;
      }
    }
  }

  // Parses a scalar, or opens a container (consuming its first key or
  // closing it at once when empty). Leaves m_pos after what it consumed.
  bool scalar_or_open()
  {
    while (true) {
      skip_space();
      if (at_end()) {
        return false;
      }
      char c = m_text[m_pos];
      if (c == '{' || c == '[') {
        if (m_stack.size() >= max_json_depth) {
          return false;
        }
        bool is_object = c == '{';
        m_out.push_back(c);
        ++m_pos;
        skip_space();
        if (at_end()) {
          return false;
        }
        char close = is_object ? '}' : ']';
        if (m_text[m_pos] == close) {
          m_out.push_back(close);
          ++m_pos;
          return true;
        }
        m_stack.push_back(is_object);
        if (is_object && !member_key()) {
          return false;
        }
        continue; // the container's first value
      }
      if (c == '"') {
        return string();
      }
      if (c == '-' || is_digit(c)) {
        return number();
      }
      return literal("true") || literal("false") || literal("null");
    }
  }

  bool member_key()
  {
    if (at_end() || m_text[m_pos] != '"' || !string()) {
      return false;
    }
    skip_space();
    if (at_end() || m_text[m_pos] != ':') {
      return false;
    }
    m_out.push_back(':');
    ++m_pos;
    return true;
  }

  bool string()
  {
    std::size_t start = m_pos++;
    while (m_pos < m_text.size()) {
      char c = m_text[m_pos];
      if (c == '"') {
        ++m_pos;
        m_out.append(m_text.substr(start, m_pos - start));
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return false;
      }
      if (c == '\\') {
        if (m_pos + 1 >= m_text.size()) {
          return false;
        }
        char e = m_text[m_pos + 1];
        if (e == 'u') {
          if (m_pos + 6 > m_text.size()) {
            return false;
          }
          for (std::size_t k = 2; k < 6; ++k) {
            if (!is_hex(m_text[m_pos + k])) {
              return false;
            }
          }
          m_pos += 6;
          continue;
        }
        if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't') {
          return false;
        }
        m_pos += 2;
        continue;
      }
      std::size_t n = utf8_sequence_length(m_text, m_pos);
      if (n == 0) {
        return false;
      }
      m_pos += n;
    }
    return false;
  }

  bool number()
  {
    std::size_t start = m_pos;
    if (!scan_json_number(m_text, m_pos)) {
      return false;
    }
    m_out.append(m_text.substr(start, m_pos - start));
    return true;
  }

  bool literal(std::string_view word)
  {
    if (m_text.substr(m_pos, word.size()) != word) {
      return false;
    }
    m_pos += word.size();
    m_out.append(word);
    return true;
  }

  void skip_space() noexcept
  {
    while (m_pos < m_text.size() && is_space(m_text[m_pos])) {
      ++m_pos;
    }
  }

  bool at_end() const noexcept { return m_pos >= m_text.size(); }

  std::string_view m_text;
  std::string& m_out;
  std::size_t m_pos = 0;
  std::vector<bool> m_stack;
};

} // namespace

bool scan_digits(std::string_view text, std::size_t& i) noexcept
{
  const std::size_t start = i;
  while (i < text.size() && is_digit(text[i])) {
    ++i;
  }
  return i > start;
}

bool scan_exponent(std::string_view text, std::size_t& i) noexcept
{
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      ++i;
    }
    return scan_digits(text, i);
  }
  return true;
}

bool scan_json_number(std::string_view text, std::size_t& i) noexcept
{
  if (i < text.size() && text[i] == '-') {
    ++i;
  }
  if (i < text.size() && text[i] == '0') {
    ++i;
  } else if (!scan_digits(text, i)) {
    return false;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!scan_digits(text, i)) {
      return false;
    }
  }
  return scan_exponent(text, i);
}

bool is_valid_utf8(std::string_view text) noexcept
{
  std::size_t i = 0;
  while (i < text.size()) {
    // Fast path over ASCII.
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = utf8_sequence_length(text, i);
    if (n == 0) {
      return false;
    }
    i += n;
  }
  return true;
}

std::string valid_utf8(std::string_view text, std::size_t max_bytes)
{
  static constexpr std::string_view replacement = "\xEF\xBF\xBD"; // U+FFFD
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence_length(text, i);
    const std::string_view next = n == 0 ? replacement : text.substr(i, n);
    if (next.size() > max_bytes - out.size()) {
      break;
    }
    out.append(next);
    i += n == 0 ? 1 : n;
  }
  return out;
}

void append_json_string(std::string& out, std::string_view text)
{
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      continue;
    }
    out.append(text.substr(run, i - run));
    run = i + 1;
    switch (c) {
    case '"': out.append("\\\""); break;
    case '\\': out.append("\\\\"); break;
    case '\n': out.append("\\n"); break;
    case '\r': out.append("\\r"); break;
    case '\t': out.append("\\t"); break;
    case '\b': out.append("\\b"); break;
    case '\f': out.append("\\f"); break;
    default:
      out.append("\\u00");
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
    }
  }
  out.append(text.substr(run));
  out.push_back('"');
}

void append_base64(std::string& out, std::string_view bytes)
{
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t i = 0;
  auto at = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    std::uint32_t v = at(i) << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.append("==");
  } else if (rest == 2) {
    std::uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
}

bool append_base64_decoded(std::string& out, std::string_view text)
{
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') {
      return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
      return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
      return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  if (text.size() % 4 != 0) {
    return false;
  }
  const std::size_t mark = out.size();
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    // Padding only at the very end: "xx==" or "xxx=".
    const int pad = last ? (text[i + 3] == '=' ? (text[i + 2] == '=' ? 2 : 1) : 0) : 0;
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      int d = k >= 4 - static_cast<std::size_t>(pad) ? 0 : value(text[i + k]);
      if (d < 0) {
        out.resize(mark);
        return false;
      }
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    out.push_back(static_cast<char>((v >> 16) & 0xff));
    if (pad < 2) {
      out.push_back(static_cast<char>((v >> 8) & 0xff));
    }
    if (pad < 1) {
      out.push_back(static_cast<char>(v & 0xff));
    }
  }
  return true;
}

void append_payload_member(std::string& out, std::string_view payload)
{
  out.append("\"payload\":");
  if (append_minified_json(out, payload)) {
    return;
  }
  if (is_valid_utf8(payload)) {
    append_json_string(out, payload);
    return;
  }
  out.resize(out.size() - std::string_view("\"payload\":").size());
  out.append("\"payload_base64\":\"");
  append_base64(out, payload);
  out.push_back('"');
}

void append_exact_payload_member(std::string& out, std::string_view payload, bool json_allowed)
{
  // A JSON string payload ("\"on\"", quotes included) is written as a
  // string holding its quotes: as a JSON value it would read back as `on`.
  if (json_allowed && !payload.empty() && payload.front() != '"') {
    const std::size_t mark = out.size();
    out.append("\"payload\":");
    const std::size_t value = out.size();
    if (append_minified_json(out, payload) && std::string_view(out).substr(value) == payload) {
      return;
    }
    out.resize(mark);
  }
  if (is_valid_utf8(payload)) {
    out.append("\"payload\":");
    append_json_string(out, payload);
    return;
  }
  out.append("\"payload_base64\":\"");
  append_base64(out, payload);
  out.push_back('"');
}

bool append_minified_json(std::string& out, std::string_view text)
{
  std::size_t mark = out.size();
  Minifier m(text, out);
  if (m.run()) {
    return true;
  }
  out.resize(mark);
  return false;
}

void append_user_properties_json(std::string& out,
                                 const std::vector<std::pair<std::string_view, std::string_view>>& user)
{
  out.push_back('[');
  for (std::size_t i = 0; i < user.size(); ++i) {
    out.append(i == 0 ? "[" : ",[");
    append_json_string(out, user[i].first);
    out.push_back(',');
    append_json_string(out, user[i].second);
    out.push_back(']');
  }
  out.push_back(']');
}

void append_properties_member(std::string& out, const MessageProperties& p)
{
  out.append("\"properties\":{");
  bool first = true;
  auto key = [&](std::string_view name) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    out.push_back('"');
    out.append(name);
    out.append("\":");
  };
  if (p.payload_format) {
    key("payload_format_indicator");
    out.append(std::to_string(*p.payload_format));
  }
  if (p.message_expiry) {
    key("message_expiry_interval");
    out.append(std::to_string(*p.message_expiry));
  }
  if (p.content_type) {
    key("content_type");
    append_json_string(out, *p.content_type);
  }
  if (p.response_topic) {
    key("response_topic");
    append_json_string(out, *p.response_topic);
  }
  if (p.correlation_data) {
    if (is_valid_utf8(*p.correlation_data)) {
      key("correlation_data");
      append_json_string(out, *p.correlation_data);
    } else {
      key("correlation_data_base64");
      out.push_back('"');
      append_base64(out, *p.correlation_data);
      out.push_back('"');
    }
  }
  if (!p.user.empty()) {
    key("user_properties");
    append_user_properties_json(out, p.user);
  }
  if (!p.subscription_ids.empty()) {
    key("subscription_identifiers");
    out.push_back('[');
    for (std::size_t i = 0; i < p.subscription_ids.size(); ++i) {
      if (i > 0) {
        out.push_back(',');
      }
      out.append(std::to_string(p.subscription_ids[i]));
    }
    out.push_back(']');
  }
  if (p.topic_alias) {
    key("topic_alias");
    out.append(std::to_string(*p.topic_alias));
  }
  out.push_back('}');
}

} // namespace mqtk
