#pragma once

// What the libFuzzer targets share: a check that crashes the run (so
// libFuzzer keeps the input), the split of one input into parts, and a
// JSON check.
#include <cstddef>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mqtk_fuzz {

inline void check(bool condition)
{
  if (!condition) {
    std::abort();
  }
}

// `input` split at each `separator`, into at most `most` parts (the last
// one keeps the rest, separators included).
inline std::vector<std::string_view> split(std::string_view input, char separator, std::size_t most)
{
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < most) {
    const std::size_t at = input.find(separator);
    if (at == std::string_view::npos) {
      break;
    }
    parts.push_back(input.substr(0, at));
    input.remove_prefix(at + 1);
  }
  parts.push_back(input);
  return parts;
}

inline bool starts_with(std::string_view text, std::string_view prefix)
{
  return text.substr(0, prefix.size()) == prefix;
}

// Whether `text` is JSON (RFC 8259), numbers of any size included:
// nlohmann::json refuses a number beyond a double's range (7E777) that the
// grammar allows and mqtk copies from payloads as written. Each run of
// digits outside strings is cut to two digits (the grammar sees a run of
// digits and whether it starts with 0: what was valid stays valid, what was
// not stays not) before nlohmann::json reads it.
inline bool is_json(std::string_view text)
{
  std::string tamed;
  tamed.reserve(text.size());
  bool in_string = false;
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      tamed.push_back(c);
      if (c == '\\' && i + 1 < text.size()) {
        tamed.push_back(text[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    run = c >= '0' && c <= '9' ? run + 1 : 0;
    in_string = c == '"';
    if (run <= 2) {
      tamed.push_back(c);
    }
  }
  return nlohmann::json::accept(tamed);
}

} // namespace mqtk_fuzz
