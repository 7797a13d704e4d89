#include "mqtk/mqtt/topic.hpp"

#include "mqtk/process/error.hpp"

#include <fmt/format.h>

#include <optional>
#include <string>

namespace mqtk {

namespace {

constexpr std::size_t max_topic_length = 65535;

// What is wrong with a topic name or filter in every case, or nothing.
std::optional<std::string> common_problem(std::string_view text, std::string_view what)
{
  if (text.empty()) {
    return fmt::format("empty {} is not allowed", what);
  }
  if (text.size() > max_topic_length) {
    return fmt::format("{} is {} bytes long; MQTT allows at most {}", what, text.size(), max_topic_length);
  }
  if (text.find('\0') != std::string_view::npos) {
    return fmt::format("{} contains a NUL character", what);
  }
  return std::nullopt;
}

void check_common(std::string_view text, std::string_view option, std::string_view what)
{
  if (auto problem = common_problem(text, what)) {
    throw UsageError(fmt::format("{}: {}", option, *problem));
  }
}

} // namespace

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
