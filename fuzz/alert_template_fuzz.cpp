// libFuzzer target: an --alert-message template, then (after a NUL) a
// payload to render it with. Compiling may only fail with UsageError
// naming --alert-message and a column; rendering never fails, and the
// default alert object (AlertTemplate::json_object) is valid JSON for a
// UTF-8 topic and alert text (numbers of any size: a payload 7E777 is
// copied as written, mqtk_fuzz::is_json).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "mqtk/output/json_text.hpp"
#include "mqtk/process/error.hpp"
#include "mqtk/rules/alert_rule.hpp"

using mqtk_fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parts = mqtk_fuzz::split(input, '\0', 2);
  const std::string_view text = parts[0];
  const std::string_view payload = parts.size() > 1 ? parts[1] : std::string_view{};
  const mqtk::MessageView message{"lab/3/accel", payload, 1, false, 7};
  mqtk::PayloadValue value(message);
  const auto tst = std::chrono::system_clock::time_point(std::chrono::microseconds(1764071175733847));
  std::string out;
  try {
    const mqtk::AlertTemplate alert = mqtk::AlertTemplate::parse(text);
    alert.render(value, tst, out);
    std::string again;
    alert.render(value, tst, again);
    check(again == out);
  } catch (const mqtk::UsageError& e) {
    const std::string_view message_text = e.what();
    check(mqtk_fuzz::starts_with(message_text, "--alert-message"));
    check(message_text.find("column") != std::string_view::npos);
  }
  if (mqtk::is_valid_utf8(text)) {
    out.clear();
    mqtk::AlertTemplate::json_object(text).render(value, tst, out);
    check(mqtk_fuzz::is_json(out));
  }
  return 0;
}
