// libFuzzer target: the input is a payload. The single-pass JSON validator
// and scanning path lookups are checked against nlohmann::json (which builds a
// full DOM) for every member and element of the first two levels.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mqtk/process/error.hpp"
#include "mqtk/rules/payload_value.hpp"

namespace {

using Kind = mqtk::FieldValue::Kind;

void check(bool condition)
{
  if (!condition) {
    std::abort();
  }
}

// Nesting depth of text already known to be valid JSON.
std::size_t json_depth(std::string_view s)
{
  std::size_t depth = 0;
  std::size_t deepest = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"') {
      for (++i; s[i] != '"'; ++i) {
        if (s[i] == '\\') {
          ++i;
        }
      }
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

void compare(mqtk::PayloadValue& payload, const mqtk::JsonPath& path, const nlohmann::json& expected)
{
  const mqtk::FieldValue got = payload.lookup(path);
  check(payload.exists(path));
  const std::optional<std::string> text = payload.lookup_text(path);
  check(text.has_value());
  switch (expected.type()) {
  case nlohmann::json::value_t::null: check(got.kind == Kind::null); break;
  case nlohmann::json::value_t::boolean:
    check(got.kind == Kind::boolean && got.boolean == expected.get<bool>());
    break;
  case nlohmann::json::value_t::string:
    check(got.kind == Kind::string && got.text == expected.get_ref<const std::string&>());
    check(*text == expected.get_ref<const std::string&>());
    break;
  case nlohmann::json::value_t::object:
  case nlohmann::json::value_t::array:
    check(got.kind == Kind::compound);
    check(nlohmann::json::parse(got.text) == expected);
    break;
  default: {
    const double d = expected.get<double>();
    if (std::isfinite(d)) {
      check(got.kind == Kind::number && got.number == d);
    } else {
      check(got.kind == Kind::undefined);
    }
  }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  mqtk::PayloadValue value(mqtk::MessageView{"t", payload, 0, false, 0});
  const std::optional<double> number = value.as_number();
  check(!number || std::isfinite(*number));
  const bool ours = value.is_json();
  if (payload.find('\0') != std::string_view::npos) {
    // A raw NUL is never valid JSON, but nlohmann::json stops reading at one.
    check(!ours);
    return 0;
  }
  const bool theirs = nlohmann::json::accept(payload);
  if (ours != theirs) {
    if (theirs) {
      // Allowed: our depth limit.
      check(json_depth(payload) > mqtk::PayloadValue::max_json_depth);
    } else {
      // Allowed: nlohmann::json refuses numbers beyond a double's range; we
      // accept the document and make just that value undefined.
      try {
        const nlohmann::json parsed = nlohmann::json::parse(payload);
        check(parsed.is_discarded()); // never true: parse() must have thrown
      } catch (const nlohmann::json::out_of_range&) {
      } catch (const nlohmann::json::parse_error&) {
        check(false);
      }
    }
    return 0;
  }

  const mqtk::JsonPath root;
  const mqtk::FieldValue whole = value.lookup(root);
  check(whole.kind != Kind::undefined || ours);
  if (!ours) {
    check(!value.exists(mqtk::parse_path(".a")));
    check(number || (whole.kind == Kind::string && whole.text == payload));
    return 0;
  }

  const nlohmann::json doc = nlohmann::json::parse(payload);
  if (number) {
    // A whole-payload number and the JSON root number must agree.
    check(doc.is_number() && doc.get<double>() == *number);
  } else {
    compare(value, root, doc);
  }
  if (!doc.is_structured()) {
    return 0;
  }
  mqtk::JsonPath path;
  path.steps.resize(1);
  std::int64_t index = 0;
  for (const auto& [key, child] : doc.items()) {
    path.steps.resize(1);
    path.steps[0] = {};
    if (doc.is_object()) {
      path.steps[0].key = key;
    } else {
      path.steps[0].is_index = true;
      path.steps[0].index = index;
    }
    compare(value, path, child);
    if (doc.is_array()) {
      mqtk::JsonPath from_end = path;
      from_end.steps[0].index = index - static_cast<std::int64_t>(doc.size());
      compare(value, from_end, child);
    }
    ++index;
    if (child.is_structured()) {
      std::int64_t inner = 0;
      for (const auto& [inner_key, grandchild] : child.items()) {
        mqtk::PathStep step;
        if (child.is_object()) {
          step.key = inner_key;
        } else {
          step.is_index = true;
          step.index = inner++;
        }
        path.steps.resize(1);
        path.steps.push_back(step);
        compare(value, path, grandchild);
      }
    }
  }
  // A key that is not there is undefined, not an error.
  path.steps.assign(1, mqtk::PathStep{});
  path.steps[0].key = std::string("\x01missing");
  if (!doc.is_object() || !doc.contains(path.steps[0].key)) {
    check(value.lookup(path).kind == Kind::undefined);
  }
  return 0;
}
