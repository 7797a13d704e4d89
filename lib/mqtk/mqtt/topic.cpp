#include "mqtk/mqtt/topic.hpp"

#include "mqtk/process/error.hpp"

#include <fmt/format.h>

#include <optional>
#include <string>

namespace mqtk {

namespace {

constexpr std::size_t max_topic_length = 65535;

// The code point of the well-formed UTF-8 sequence at text[at] and its
// length, or why there is none.
struct Decoded {
  char32_t code_point = 0;
  std::size_t length = 0;
  const char* problem = nullptr;
};

Decoded decode_utf8(std::string_view text, std::size_t at)
{
  const auto lead = static_cast<unsigned char>(text[at]);
  if (lead < 0x80) {
    return {lead, 1, nullptr};
  }
  std::size_t length = 0;
  char32_t code_point = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code_point = lead & 0x1fU;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3;
    code_point = lead & 0x0fU;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code_point = lead & 0x07U;
  } else if (lead == 0xc0 || lead == 0xc1) {
    return {0, 0, "an overlong encoding"};
  } else if (lead < 0xc0) {
    return {0, 0, "a continuation byte that continues nothing"};
  } else {
    return {0, 0, "a byte that is never in UTF-8"};
  }
  for (std::size_t k = 1; k < length; ++k) {
    if (at + k >= text.size() || (static_cast<unsigned char>(text[at + k]) & 0xc0) != 0x80) {
      return {0, 0, "a character cut short"};
    }
    code_point = (code_point << 6) | (static_cast<unsigned char>(text[at + k]) & 0x3fU);
  }
  if ((length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000)) {
    return {0, 0, "an overlong encoding"};
  }
  if (code_point > 0x10ffff) {
    return {0, 0, "a code point beyond U+10FFFF"};
  }
  if (code_point >= 0xd800 && code_point <= 0xdfff) {
    return {0, 0, "a UTF-16 surrogate"};
  }
  return {code_point, length, nullptr};
}

// What is wrong with a topic name or filter in every case, or nothing.
std::optional<std::string> common_problem(std::string_view text, std::string_view what)
{
  if (text.empty()) {
    return fmt::format("empty {} is not allowed", what);
  }
  if (text.size() > max_topic_length) {
    return fmt::format("{} is {} bytes long; MQTT allows at most {}", what, text.size(), max_topic_length);
  }
  return utf8_string_problem(text, what);
}

void check_common(std::string_view text, std::string_view option, std::string_view what)
{
  if (auto problem = common_problem(text, what)) {
    throw UsageError(fmt::format("{}: {}", option, *problem));
  }
}

} // namespace

std::optional<std::string> utf8_string_problem(std::string_view text, std::string_view what)
{
  for (std::size_t i = 0; i < text.size();) {
    const Decoded d = decode_utf8(text, i);
    if (d.problem != nullptr) {
      return fmt::format("{} is not valid UTF-8: byte 0x{:02X} at position {} is {}", what,
                         static_cast<unsigned char>(text[i]), i + 1, d.problem);
    }
    const char32_t c = d.code_point;
    if (c == 0) {
      return fmt::format("{} contains a NUL character at position {}", what, i + 1);
    }
    // MQTT 1.5.4 only says these SHOULD NOT be sent, but mosquitto's
    // clients refuse them and its broker closes the connection of a client
    // that sends one: refused here, as mosquitto_pub and mosquitto_sub do.
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      return fmt::format("{} holds the control character U+{:04X} at position {}, which brokers refuse", what,
                         static_cast<unsigned>(c), i + 1);
    }
    if ((c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffeU) == 0xfffeU) {
      return fmt::format("{} holds the noncharacter U+{:04X} at position {}, which brokers refuse", what,
                         static_cast<unsigned>(c), i + 1);
    }
    i += d.length;
  }
  return std::nullopt;
}

std::optional<std::string> publish_topic_problem(std::string_view topic)
{
  if (auto problem = common_problem(topic, "topic")) {
    return problem;
  }
  auto wildcard = topic.find_first_of("+#");
  if (wildcard != std::string_view::npos) {
    return fmt::format("invalid publish topic '{}': wildcard '{}' at position {} (wildcards are only for subscriptions)",
                       topic, topic[wildcard], wildcard + 1);
  }
  return std::nullopt;
}

void validate_publish_topic(std::string_view topic, std::string_view option)
{
  if (auto problem = publish_topic_problem(topic)) {
    throw UsageError(fmt::format("{}: {}", option, *problem));
  }
}

bool is_shared_subscription(std::string_view filter) noexcept
{
  return filter.starts_with("$share/");
}

void validate_topic_filter(std::string_view filter, std::string_view option)
{
  check_common(filter, option, "topic filter");
  if (is_shared_subscription(filter)) {
    const std::string_view rest = filter.substr(7);
    const std::size_t slash = rest.find('/');
    const std::string_view group = rest.substr(0, slash);
    if (group.empty()) {
      throw UsageError(fmt::format("{}: invalid shared subscription '{}': the group name is empty "
                                   "(write $share/GROUP/FILTER)", option, filter));
    }
    if (group.find_first_of("+#") != std::string_view::npos) {
      throw UsageError(fmt::format("{}: invalid shared subscription '{}': the group name '{}' may not contain "
                                   "'+' or '#'", option, filter, group));
    }
    if (slash == std::string_view::npos || slash + 1 == rest.size()) {
      throw UsageError(fmt::format("{}: invalid shared subscription '{}': no topic filter after the group name "
                                   "(write $share/GROUP/FILTER)", option, filter));
    }
    // The filter after the group follows the usual rules (positions are
    // counted in the whole text).
  }
  for (std::size_t i = 0; i < filter.size(); ++i) {
    char c = filter[i];
    bool starts_level = i == 0 || filter[i - 1] == '/';
    bool ends_level = i + 1 == filter.size() || filter[i + 1] == '/';
    if (c == '+' && !(starts_level && ends_level)) {
      throw UsageError(fmt::format(
        "{}: invalid topic filter '{}': '+' at position {} must fill a whole level", option, filter, i + 1));
    }
    if (c == '#' && !(starts_level && i + 1 == filter.size())) {
      throw UsageError(fmt::format(
        "{}: invalid topic filter '{}': '#' at position {} must be the whole last level", option, filter, i + 1));
    }
  }
}

bool topic_matches(std::string_view filter, std::string_view topic) noexcept
{
  if (!topic.empty() && topic.front() == '$' && !filter.empty()
      && (filter.front() == '+' || filter.front() == '#')) {
    return false;
  }
  std::size_t f = 0;
  std::size_t t = 0;
  while (true) {
    auto f_end = filter.find('/', f);
    auto f_level = filter.substr(f, f_end == std::string_view::npos ? std::string_view::npos : f_end - f);
    if (f_level == "#") {
      return true;
    }
    if (t > topic.size()) {
      // Topic has run out of levels; "a/#" also matches "a".
      return false;
    }
    auto t_end = topic.find('/', t);
    auto t_level = topic.substr(t, t_end == std::string_view::npos ? std::string_view::npos : t_end - t);
    if (f_level != "+" && f_level != t_level) {
      return false;
    }
    bool f_last = f_end == std::string_view::npos;
    bool t_last = t_end == std::string_view::npos;
    if (f_last || t_last) {
      if (f_last && t_last) {
        return true;
      }
      // "a/#" matches "a": the remaining filter is exactly "/#".
      return t_last && !f_last && filter.substr(f_end + 1) == "#";
    }
    f = f_end + 1;
    t = t_end + 1;
  }
}

} // namespace mqtk
