#pragma once

// What the libFuzzer targets share: a check that crashes the run (so
// libFuzzer keeps the input), and the split of one input into parts.
#include <cstddef>
#include <cstdlib>
#include <string_view>
#include <vector>

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

} // namespace mqtk_fuzz
