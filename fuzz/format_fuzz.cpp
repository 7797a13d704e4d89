// libFuzzer target: a -F format and a message to render with it. The input
// is a flags byte (bit 0 --pretty, bit 1 end of line, bit 2 the message has
// MQTT 5 properties, bit 3 retain, bits 4-5 QoS), then NUL-separated: the
// format, the payload, the topic, and the properties' content type,
// response topic, correlation data, a user property's name and value.
// Compiling may only fail with UsageError naming -F; rendering never
// fails; -j, %j and %J print valid JSON (numbers of any size,
// mqtk_fuzz::is_json) for a message whose texts are UTF-8 (as MQTT
// guarantees for what a broker delivers).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "mqtk/mqtt/message.hpp"
#include "mqtk/output/format.hpp"
#include "mqtk/output/json_text.hpp"
#include "mqtk/process/error.hpp"

using mqtk_fuzz::check;

namespace {

bool each_line_is_json(std::string_view text)
{
  for (const std::string_view line : mqtk_fuzz::split(text, '\n', text.size() + 1)) {
    if (!line.empty() && !mqtk_fuzz::is_json(line)) {
      return false;
    }
  }
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  if (size == 0) {
    return 0;
  }
  const unsigned flags = data[0];
  const bool pretty = (flags & 1) != 0;
  const bool eol = (flags & 2) != 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto parts = mqtk_fuzz::split(input, '\0', 8);
  auto part = [&](std::size_t i) { return i < parts.size() ? parts[i] : std::string_view{}; };

  mqtk::MessageProperties properties;
  bool texts_are_utf8 = mqtk::is_valid_utf8(part(2));
  if ((flags & 4) != 0) {
    properties.payload_format = static_cast<std::uint8_t>(flags >> 7);
    properties.message_expiry = static_cast<std::uint32_t>(size);
    properties.topic_alias = static_cast<std::uint16_t>(flags);
    properties.content_type = part(3);
    properties.response_topic = part(4);
    properties.correlation_data = part(5);
    properties.user.emplace_back(part(6), part(7));
    properties.user.emplace_back(part(7), part(6));
    properties.subscription_ids = {1, 268435455u};
    for (std::size_t i = 3; i < 8; ++i) {
      texts_are_utf8 = texts_are_utf8 && (i == 5 || mqtk::is_valid_utf8(part(i)));
    }
  }
  mqtk::MessageView message{part(2), part(1), static_cast<int>((flags >> 4) & 3), (flags & 8) != 0, 42};
  if ((flags & 4) != 0) {
    message.properties = &properties;
  }
  const auto time = std::chrono::system_clock::time_point(std::chrono::microseconds(1764071175733847));

  std::string out;
  try {
    mqtk::OutputFormat format = mqtk::OutputFormat::compile(part(0), pretty, eol);
    format.set_warnings(false);
    format.render(message, time, out);
    format.render(message, time, out);
  } catch (const mqtk::UsageError& e) {
    check(mqtk_fuzz::starts_with(e.what(), "-F"));
  }

  out.clear();
  mqtk::OutputFormat::json_lines(pretty).render(message, time, out);
  check(!out.empty() && out.back() == '\n');
  if (texts_are_utf8) {
    check(pretty ? mqtk_fuzz::is_json(out) : each_line_is_json(out));
    for (const bool payload_as_json : {false, true}) {
      out.clear();
      if (mqtk::append_mosquitto_json(out, message, time, payload_as_json, pretty)) {
        check(mqtk_fuzz::is_json(out));
      } else {
        check(payload_as_json && out.empty());
      }
    }
  }
  out.clear();
  mqtk::OutputFormat::plain((flags & 1) != 0, eol).render(message, time, out);
  return 0;
}
