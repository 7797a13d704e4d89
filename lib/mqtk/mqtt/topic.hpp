#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mqtk {

// Checks a topic name a message is published to: not empty, no '+' or '#',
// no NUL, at most 65535 bytes. Throws UsageError naming `option` and the
// topic.
// What is wrong with a topic name to publish to ("invalid publish topic
// 'a/+': wildcard '+' at position 3 ..."), or nothing.
std::optional<std::string> publish_topic_problem(std::string_view topic);

void validate_publish_topic(std::string_view topic, std::string_view option = "-t");

// Checks a subscription filter: not empty, '#' only as the whole last level,
// '+' only as a whole level, no NUL, at most 65535 bytes; a shared
// subscription `$share/GROUP/FILTER` needs a group name without '/', '+'
// or '#' and a valid FILTER. Throws UsageError.
void validate_topic_filter(std::string_view filter, std::string_view option = "-t");

// Whether filter is a shared subscription (`$share/GROUP/FILTER`).
bool is_shared_subscription(std::string_view filter) noexcept;

// True when `topic` matches `filter` under MQTT rules, including the rule
// that '#' and '+' at the first level do not match topics starting with '$'.
// Both arguments are assumed valid.
bool topic_matches(std::string_view filter, std::string_view topic) noexcept;

} // namespace mqtk
