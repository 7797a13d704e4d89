// libFuzzer target: a --fields name list, then (after a NUL) input lines.
// Parsing the names may only fail with UsageError naming --fields; each line
// becomes a JSON object with one member per name, or is refused with a
// problem to warn about. is_json_number agrees with nlohmann::json.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "mqtk/input/line_fields.hpp"
#include "mqtk/process/error.hpp"

using mqtk_fuzz::check;

namespace {

void check_number(std::string_view text)
{
  const bool ours = mqtk::is_json_number(text);
  if (text.empty() || text.find_first_not_of("0123456789+-.eE") != std::string_view::npos) {
    check(!ours);
    return;
  }
  bool theirs = false;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    theirs = j.is_number() && std::isfinite(j.get<double>());
  } catch (const nlohmann::json::exception&) {
  }
  check(ours == theirs);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parts = mqtk_fuzz::split(input, '\0', 2);
  check_number(parts[0]);
  try {
    const mqtk::LineFields fields = mqtk::LineFields::parse(parts[0]);
    check(!fields.names().empty());
    if (parts.size() < 2) {
      return 0;
    }
    std::string out;
    for (const std::string_view line : mqtk_fuzz::split(parts[1], '\n', 64)) {
      std::size_t got = 0;
      const mqtk::LineFields::Result result = fields.to_json(line, out, got);
      if (result == mqtk::LineFields::Result::ok) {
        check(got == fields.names().size());
        const nlohmann::json j = nlohmann::json::parse(out);
        check(j.is_object() && j.size() == fields.names().size());
        for (const std::string& name : fields.names()) {
          check(j.contains(name) && (j[name].is_number() || j[name].is_string()));
        }
      } else {
        check(out.empty());
        if (result != mqtk::LineFields::Result::empty) {
          check(!fields.problem(result, got).empty());
        }
      }
    }
  } catch (const mqtk::UsageError& e) {
    check(mqtk_fuzz::starts_with(e.what(), "--fields: "));
  }
  return 0;
}
