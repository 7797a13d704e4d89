// libFuzzer target: the words of -D/--property arguments, separated by NUL
// bytes. Parsing may only fail with UsageError naming -D; what it accepts
// keeps mosquitto's rules: names known, text properties UTF-8, a topic
// alias from 1.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "mqtk/mqtt/properties.hpp"
#include "mqtk/output/json_text.hpp"
#include "mqtk/process/error.hpp"

using mqtk_fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> words;
  for (const std::string_view word : mqtk_fuzz::split(input, '\0', 64)) {
    words.emplace_back(word);
  }
  try {
    const mqtk::PropertySet set = mqtk::parse_property_arguments(words);
    for (const auto packet : {mqtk::PropertyPacket::connect, mqtk::PropertyPacket::publish,
                              mqtk::PropertyPacket::subscribe, mqtk::PropertyPacket::unsubscribe,
                              mqtk::PropertyPacket::disconnect, mqtk::PropertyPacket::will}) {
      for (const mqtk::Property& p : set.of(packet)) {
        const std::string name = mqtk::property_name(p.identifier);
        check(!name.empty() && name.rfind("property ", 0) != 0);
        if (p.type == mqtk::PropertyType::utf8 || p.type == mqtk::PropertyType::pair) {
          check(mqtk::is_valid_utf8(p.text) && mqtk::is_valid_utf8(p.value));
        }
      }
    }
    if (const auto alias = set.topic_alias()) {
      check(*alias >= 1);
    }
    check(!set.empty());
  } catch (const mqtk::UsageError& e) {
    check(mqtk_fuzz::starts_with(e.what(), "-D"));
  }
  return 0;
}
