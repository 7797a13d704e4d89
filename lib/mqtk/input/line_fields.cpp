#include "mqtk/input/line_fields.hpp"

#include <fmt/format.h>

#include "mqtk/process/error.hpp"
#include "mqtk/output/json_text.hpp"
#include "mqtk/rules/payload_value.hpp"

namespace mqtk {

namespace {

constexpr bool is_space(char c) noexcept
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

} // namespace

bool is_json_number(std::string_view text) noexcept
{
  std::size_t i = 0;
  if (!scan_json_number(text, i) || i != text.size()) {
    return false;
  }
  // Only an exponent or a very long number can leave the double range;
  // JSON readers such as nlohmann reject what overflows, so it stays a string.
  if (text.size() > 300 || text.find_first_of("eE") != std::string_view::npos) {
    double value = 0.0;
    return detail::to_double(text, value);
  }
  return true;
}

LineFields LineFields::parse(std::string_view spec, std::string_view option_name)
{
  // Names are separated as the values of a line are: a comma (with
  // optional whitespace around it) or a run of spaces and tabs.
  std::vector<std::string_view> names;
  std::size_t i = 0;
  auto skip_blanks = [&] {
    while (i < spec.size() && is_space(spec[i])) {
      ++i;
    }
  };
  skip_blanks();
  while (true) {
    const std::size_t start = i;
    while (i < spec.size() && spec[i] != ',' && !is_space(spec[i])) {
      ++i;
    }
    names.push_back(spec.substr(start, i - start));
    skip_blanks();
    if (i >= spec.size()) {
      break;
    }
    if (spec[i] == ',') {
      ++i;
      skip_blanks();
      if (i >= spec.size()) {
        names.emplace_back(); // a trailing comma: an empty last name
        break;
      }
    }
  }
  LineFields fields;
  for (const std::string_view name : names) {
    const std::size_t number = fields.m_names.size() + 1;
    if (name.empty()) {
      throw UsageError(fmt::format("{}: field name {} is empty (expected names separated by ',' or spaces, "
                                   "such as ax,ay,az)",
                                   option_name, number));
    }
    if (!is_valid_utf8(name)) {
      throw UsageError(fmt::format("{}: field name {} is not valid UTF-8", option_name, number));
    }
    for (char c : name) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        throw UsageError(fmt::format("{}: field name {} contains a control character", option_name, number));
      }
    }
    for (const std::string& seen : fields.m_names) {
      if (seen == name) {
        throw UsageError(fmt::format("{}: duplicate field name '{}'", option_name, name));
      }
    }
    std::string prefix(fields.m_names.empty() ? "{" : ",");
    append_json_string(prefix, name);
    prefix.push_back(':');
    fields.m_names.emplace_back(name);
    fields.m_prefixes.push_back(std::move(prefix));
  }
  for (const auto& name : fields.m_names) {
    fields.m_spec += (fields.m_spec.empty() ? "" : ",") + name;
  }
  return fields;
}

LineFields::Result LineFields::to_json(std::string_view line, std::string& out, std::size_t& got_fields) const
{
  out.clear();
  got_fields = 0;
  std::size_t end = line.size();
  while (end > 0 && is_space(line[end - 1])) {
    --end;
  }
  std::size_t i = 0;
  while (i < end && is_space(line[i])) {
    ++i;
  }
  if (i == end) {
    return Result::empty;
  }
  const std::size_t wanted = m_names.size();
  std::size_t count = 0;
  bool utf8_ok = true;
  for (;;) {
    // i is at the start of a field (possibly empty when a comma follows).
    const std::size_t start = i;
    while (i < end && line[i] != ',' && !is_space(line[i])) {
      ++i;
    }
    const std::string_view field = line.substr(start, i - start);
    if (count < wanted && utf8_ok) {
      out.append(m_prefixes[count]);
      if (is_json_number(field)) {
        out.append(field);
      } else if (is_valid_utf8(field)) {
        append_json_string(out, field);
      } else {
        utf8_ok = false;
      }
    }
    ++count;
    while (i < end && is_space(line[i])) {
      ++i;
    }
    if (i == end) {
      break;
    }
    if (line[i] == ',') {
      ++i;
      while (i < end && is_space(line[i])) {
        ++i;
      }
    }
  }
  got_fields = count;
  if (count != wanted) {
    out.clear();
    return Result::wrong_count;
  }
  if (!utf8_ok) {
    out.clear();
    return Result::invalid_utf8;
  }
  out.push_back('}');
  return Result::ok;
}

std::string LineFields::problem(Result result, std::size_t got_fields) const
{
  switch (result) {
  case Result::ok: return {};
  case Result::empty: return "empty line";
  case Result::wrong_count:
    return fmt::format("expected {} field{} ({}), got {}", m_names.size(), m_names.size() == 1 ? "" : "s", m_spec,
                       got_fields);
  case Result::invalid_utf8: return "not valid UTF-8";
  }
  return {};
}

} // namespace mqtk
