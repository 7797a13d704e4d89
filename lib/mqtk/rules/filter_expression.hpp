#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mqtk/mqtt/message.hpp"
#include "mqtk/rules/payload_value.hpp"

namespace mqtk {

// A compiled filter expression (`--where`, `--alert-when`, `--rearm`), e.g.
// `topic == "a/b" and .accel.x > 1.5 * abs(.accel.y)`. Parsed once into
// postfix code; evaluation never throws, and anything undefined (missing
// field, type mismatch, division by zero, payload not JSON) makes it false.
class FilterExpression
{
public:
  // Deepest nesting of parentheses, `not` and unary minus accepted.
  static constexpr std::size_t max_nesting = 256;

  // Compiles text; throws UsageError naming option_name, the 1-based column
  // and what was expected (`--where: expected a value at column 5: .x >`).
  static FilterExpression parse(std::string_view text, std::string_view option_name = "--where");

  // Whether message passes; parses the payload only if the expression needs it.
  bool matches(const MessageView& message) const noexcept;

  // Same, reusing payload's cached number/JSON scan, so several expressions
  // (where, alert-when, rearm) read one message's payload only once.
  bool matches(PayloadValue& payload) const noexcept;

  // The value the expression yields (matches() is "this is true"); the
  // result's views live as long as payload and this expression.
  FieldValue evaluate(PayloadValue& payload) const noexcept;

  // Whether it reads an MQTT 5 property (content_type, user_property("x"), ...).
  bool uses_properties() const noexcept;

  // Throws UsageError "OPTION: the expression reads an MQTT 5 property, WHY"
  // when it reads one: for the tools whose messages carry none.
  void refuse_properties(std::string_view option_name, std::string_view why) const;

  // The source text as given to parse().
  const std::string& text() const noexcept { return m_text; }

private:
  class Parser;

  // Paths with an index below this are looked up once per evaluation.
  static constexpr std::size_t path_cache_size = 8;

  enum class Op : std::uint8_t {
    push_constant, push_path, push_topic, push_qos, push_retain, exists,
    push_property, push_user_property, defined,
    negate, add, subtract, multiply, divide,
    equal, not_equal, less, less_equal, greater, greater_equal,
    logical_not, and_jump, and_combine, or_jump, or_combine,
    abs, sqrt, min, max,
  };

  struct Instruction
  {
    Op op;
    std::uint32_t arg; // constant, path or property index, jump target, argument count
  };

  struct Constant
  {
    FieldValue::Kind kind;
    bool boolean;
    double number;
    std::string text;
  };

  std::string m_text;
  std::vector<Instruction> m_code;
  std::vector<Constant> m_constants;
  std::vector<JsonPath> m_paths;
  std::size_t m_max_stack = 0;
};

} // namespace mqtk
