#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mqtk/mqtt/message.hpp"

namespace mqtk {

// A value seen by filter expressions: what a path, a literal or an operator
// yields. Strings and compounds are views that live as long as the
// PayloadValue (and message) or FilterExpression that produced them.
struct FieldValue
{
  // undefined stands for missing data or an error (type mismatch, division by
  // zero, payload not JSON); compound is a JSON object or array.
  enum class Kind : std::uint8_t { undefined, null, boolean, number, string, compound };

  Kind kind = Kind::undefined;
  bool boolean = false;  // the value when kind is boolean
  double number = 0.0;   // the value when kind is number (always finite)
  std::string_view text; // decoded string, or the raw JSON text of a compound
};

// One step of a jq-style path: `.key`, `.["key"]` or `[index]` (negative
// indexes count from the end, as in jq).
struct PathStep
{
  std::string key;        // decoded object key (when !is_index)
  std::int64_t index = 0; // array index (when is_index)
  bool is_index = false;  // array step rather than object step
};

// A parsed jq-style path such as `.a.b[2]` or `.["odd key"]`; no steps means
// the whole payload (`.` or `payload`).
struct JsonPath
{
  std::vector<PathStep> steps; // from the root down
  std::string text;            // as written, for messages
};

// Parses a standalone path (`.`, `payload`, `.a.b[2]`, `.["k"][0]`); throws
// UsageError naming option_name and the 1-based column on malformed input.
JsonPath parse_path(std::string_view text, std::string_view option_name = "--path");

// Lazy view over one message's payload: the whole payload as a number, and
// JSON validation (at most once, iterative, depth-limited) plus path lookups
// that scan the text without building a DOM. Reuse one object across
// messages with reset() to keep its buffers.
class PayloadValue
{
public:
  // JSON nested deeper than this is treated as "not JSON" (the output's
  // limit, json_text.hpp).
  static constexpr std::size_t max_json_depth = 1000;

  // Views message; the message's bytes must outlive this object's use.
  explicit PayloadValue(const MessageView& message) noexcept;

  // Switches to another message, forgetting everything cached for the last.
  void reset(const MessageView& message) noexcept;

  // The message being viewed (topic, qos, retain are read from here).
  const MessageView& message() const noexcept { return m_message; }

  // The payload, trimmed of surrounding whitespace, when it is a plain number
  // (`42`, `-3.5e2`, `+7`, `.5`, `3.5\r\n`); nullopt otherwise.
  std::optional<double> as_number() noexcept;

  // Whether the payload is valid JSON (strict RFC 8259, UTF-8, depth at most
  // max_json_depth). Validated on first call only.
  bool is_json() noexcept;

  // The value at path: for the root, the plain number, else the JSON root
  // value, else the raw payload as a string; for deeper paths, the JSON
  // value or undefined. Never throws.
  FieldValue lookup(const JsonPath& path) noexcept;

  // Whether path names something: the root always exists; deeper paths need
  // a JSON payload holding them (a JSON null counts as existing).
  bool exists(const JsonPath& path) noexcept;

  // Text of the value at path for templates, like `jq -r`: strings decoded
  // without quotes, numbers/booleans/null/objects/arrays as their JSON text
  // in the payload; the root of a non-JSON payload is the payload itself.
  // nullopt when the path is missing.
  std::optional<std::string> lookup_text(const JsonPath& path);

  // Where one JSON object or array ends (offset past its closing bracket)
  // and the ordinal of the first container after it; an implementation
  // detail of the scan, public only so the scanner can name it.
  struct ContainerSpan
  {
    std::uint32_t end;
    std::uint32_t next;
  };

private:
  enum class State : std::uint8_t { unknown, yes, no };

  // Offset of the value at path inside m_message.payload, or npos; span is
  // set to the ordinal of that value if it is a container.
  std::size_t locate(const JsonPath& path, std::uint32_t& span) noexcept;
  FieldValue value_at(std::size_t pos, std::uint32_t span) noexcept;

  MessageView m_message;
  State m_number_state = State::unknown;
  State m_json_state = State::unknown;
  double m_number = 0.0;
  std::size_t m_root = 0; // offset of the JSON root value
  std::vector<ContainerSpan> m_spans; // every container, in document order
  // JSON strings that held escapes, decoded; boxed so that views stay valid
  // while the vector grows, and reused from one message to the next.
  std::vector<std::unique_ptr<std::string>> m_decoded;
  std::size_t m_decoded_used = 0;
};

namespace detail {

// Where and why parsing a path or string literal failed.
struct SyntaxError
{
  std::string what;    // e.g. "expected ']'"
  std::size_t pos = 0; // 0-based offset into the text being parsed
};

// Parses a path that starts at text[pos] (a '.'), stopping at the first byte
// that cannot continue it; advances pos. Shared with the expression lexer.
std::optional<SyntaxError> parse_path_at(std::string_view text, std::size_t& pos, JsonPath& out);

// Parses a '...' or "..." literal with backslash escapes starting at
// text[pos]; advances pos past the closing quote.
std::optional<SyntaxError> parse_string_literal(std::string_view text, std::size_t& pos,
                                                std::string& out);

// Converts number text ([+-] digits, fraction, exponent) to a finite
// double; magnitudes below the double range give 0, above it false.
bool to_double(std::string_view text, double& out) noexcept;

// Formats `option: what at column N: text` as used by every parse error.
std::string syntax_message(std::string_view option_name, const SyntaxError& error,
                           std::string_view text);

} // namespace detail

} // namespace mqtk
