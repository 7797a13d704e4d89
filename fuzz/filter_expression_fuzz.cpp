// libFuzzer target: parses the input (up to a NUL byte) as a filter
// expression and evaluates it against the rest of the input as a payload and
// against a few fixed payloads. Parsing may only fail with UsageError;
// evaluation must never fail and must be deterministic.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mqtk/process/error.hpp"
#include "mqtk/rules/filter_expression.hpp"

namespace {

constexpr std::string_view fixed_payloads[] = {
  R"({"a": 1, "b": {"c": [1, 2.5, "x", null, true]}, "s": "t\u00e9xt", "odd key": -3})",
  "3.5\r\n",
  "hello",
  "[[[[1]]]]",
  "",
};

void check(bool condition)
{
  if (!condition) {
    std::abort();
  }
}

void evaluate(const mqtk::FilterExpression& expression, std::string_view payload)
{
  const mqtk::MessageView message{"sensors/x", payload, 1, true, 7};
  mqtk::PayloadValue cached(message);
  const bool first = expression.matches(cached);
  const bool second = expression.matches(cached);
  const bool fresh = expression.matches(message);
  check(first == second && first == fresh);
  const mqtk::FieldValue value = expression.evaluate(cached);
  check(value.kind != mqtk::FieldValue::Kind::number || value.number == value.number);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view text = input.substr(0, nul);
  const std::string_view payload =
    nul == std::string_view::npos ? std::string_view{} : input.substr(nul + 1);

  try {
    const mqtk::JsonPath path = mqtk::parse_path(text);
    mqtk::PayloadValue value(mqtk::MessageView{"t", payload, 0, false, 0});
    (void)value.lookup(path);
    (void)value.exists(path);
    (void)value.lookup_text(path);
  } catch (const mqtk::UsageError& e) {
    check(std::string_view(e.what()).find("column") != std::string_view::npos);
  }

  try {
    const mqtk::FilterExpression expression = mqtk::FilterExpression::parse(text);
    check(expression.text() == text);
    evaluate(expression, payload);
    for (const std::string_view fixed : fixed_payloads) {
      evaluate(expression, fixed);
    }
  } catch (const mqtk::UsageError& e) {
    const std::string_view message = e.what();
    check(message.rfind("--where: ", 0) == 0);
    check(message.find('\n') == std::string_view::npos);
    check(message.find(" at column ") != std::string_view::npos ||
          message == "--where: empty expression");
  }
  return 0;
}
