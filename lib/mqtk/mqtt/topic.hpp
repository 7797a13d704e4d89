#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mqtk {

// What is wrong with `text` as an MQTT UTF-8 string, as mosquitto checks
// one (`what` names it: "topic is not valid UTF-8: byte 0xFF at position
// 3 is ..."), or nothing: ill-formed UTF-8 (a stray or cut short sequence,
// an overlong form, a surrogate, beyond U+10FFFF), U+0000, and also the
// control characters U+0001..U+001F and U+007F..U+009F and the
// noncharacters, which MQTT 1.5.4 only advises against but mosquitto's
// broker and clients refuse. Positions count bytes from 1.
std::optional<std::string> utf8_string_problem(std::string_view text, std::string_view what);

// What is wrong with a topic name to publish to ("invalid publish topic
// 'a/+': wildcard '+' at position 3 ..."), or nothing: empty, longer than
// 65535 bytes, a utf8_string_problem(), a wildcard. Empty levels are valid.
std::optional<std::string> publish_topic_problem(std::string_view topic);

// Throws UsageError ("OPTION: " and publish_topic_problem()) when `topic`
// has a problem.
void validate_publish_topic(std::string_view topic, std::string_view option = "-t");

// Checks a subscription filter: not empty, '#' only as the whole last level,
// '+' only as a whole level, no utf8_string_problem(), at most 65535 bytes; a shared
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
