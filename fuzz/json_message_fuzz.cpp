// libFuzzer target: a flags byte (bits 0-1 -q, bit 2 -r, bit 3 no -t), then
// --json-lines input lines. Each line is a message, blank, or refused with a
// problem to warn about; a message agrees with what nlohmann::json reads in
// the line (topic, payload, qos, retain), and is never accepted from a line
// nlohmann::json finds malformed.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "mqtk/input/json_message.hpp"
#include "mqtk/mqtt/topic.hpp"
#include "mqtk/output/json_text.hpp"

using mqtk_fuzz::check;

namespace {

void compare(std::string_view line, const mqtk::JsonMessageReader::Message& m, int default_qos, bool default_retain)
{
  // Duplicate members at the top: which one counts is not nlohmann's to say.
  std::set<std::string> keys;
  bool duplicates = false;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line, [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      if (depth == 1 && event == nlohmann::json::parse_event_t::key) {
        duplicates = !keys.insert(parsed.get<std::string>()).second || duplicates;
      }
      return true;
    });
  } catch (const nlohmann::json::out_of_range&) {
    return; // a number beyond a double's range, which mqtk keeps as written
  } catch (const nlohmann::json::parse_error&) {
    check(false);
  }
  check(j.is_object());
  if (duplicates) {
    return;
  }
  if (j.contains("topic")) {
    check(j["topic"].is_string() && j["topic"].get_ref<const std::string&>() == m.topic);
  }
  if (j.contains("payload_base64")) {
    check(!j.contains("payload"));
    std::string expected;
    check(mqtk::append_base64_decoded(expected, j["payload_base64"].get_ref<const std::string&>()));
    check(expected == m.payload);
  } else if (j["payload"].is_string()) {
    check(j["payload"].get_ref<const std::string&>() == m.payload);
  } else if (j["payload"].is_null()) {
    check(m.payload.empty());
  } else {
    // Any other value as written: the same text, so the same JSON value.
    check(nlohmann::json::parse(m.payload) == j["payload"]);
  }
  check(m.qos == (j.contains("qos") ? j["qos"].get<int>() : default_qos));
  if (j.contains("retain")) {
    check(m.retain == (j["retain"].is_boolean() ? j["retain"].get<bool>() : j["retain"].get<int>() == 1));
  } else {
    check(m.retain == default_retain);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  if (size == 0) {
    return 0;
  }
  const int default_qos = data[0] & 3;
  if (default_qos == 3) {
    return 0;
  }
  const bool default_retain = (data[0] & 4) != 0;
  const std::string default_topic = (data[0] & 8) != 0 ? "" : "default/topic";
  mqtk::JsonMessageReader reader(default_topic, default_qos, default_retain);
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (const std::string_view line : mqtk_fuzz::split(input, '\n', 32)) {
    mqtk::JsonMessageReader::Message m;
    switch (reader.parse(line, m)) {
    case mqtk::JsonMessageReader::Result::ok:
      check(!mqtk::publish_topic_problem(m.topic));
      check(m.qos >= 0 && m.qos <= 2);
      if (line.find('\0') == std::string_view::npos) {
        compare(line, m, default_qos, default_retain);
      }
      break;
    case mqtk::JsonMessageReader::Result::empty:
      check(line.find_first_not_of(" \t\r") == std::string_view::npos);
      break;
    case mqtk::JsonMessageReader::Result::bad: check(!reader.problem().empty()); break;
    }
  }
  return 0;
}
