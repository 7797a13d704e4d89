#pragma once

#include "mqtk/mqtt/message.hpp"
#include "mqtk/rules/filter_expression.hpp"
#include "mqtk/rules/payload_value.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace mqtk {

// How mqtk-sub prints a message: mosquitto's default output, a compiled -F
// format, or JSON Lines (-j). Compiled once; render() appends to a buffer
// and never throws except std::bad_alloc.
class OutputFormat
{
public:
  // mosquitto's default: the payload (with -v, "topic payload"; an empty
  // payload prints nothing, or "topic (null)" with -v), then '\n' if `eol`.
  // `color_topic`: -v's topic in colour (--color, on a terminal).
  static OutputFormat plain(bool verbose, bool eol, bool color_topic = false);

  // One JSON object per line: tst (ISO-8601 UTC, microseconds), topic, qos,
  // retain (boolean), then payload (its JSON value when the payload is JSON,
  // else its text when UTF-8) or payload_base64. `pretty` indents instead.
  static OutputFormat json_lines(bool pretty);

  // Compiles a -F format: mosquitto's % conversions with flags, width and
  // precision, @ strftime sequences, \ escapes, and mqtk's %{EXPR}: the
  // value of an expression of the expression language (rules/
  // filter_expression), as `jq -r` prints it (strings without quotes,
  // numbers, true/false/null, objects and arrays as JSON, nothing when
  // undefined); '\n' follows unless !eol. Throws UsageError naming the bad
  // sequence and its position.
  static OutputFormat compile(std::string_view format, bool pretty, bool eol = true);

  // Whether a %{EXPR} reads an MQTT 5 property.
  bool uses_properties() const noexcept;

  // Appends the rendering of `message`, received at `time`, to `out`.
  void render(const MessageView& message, std::chrono::system_clock::time_point time, std::string& out) const;

  // Prints a warning on stderr when %J meets a payload that is not JSON.
  // (Set by default; tests turn it off.)
  void set_warnings(bool on) noexcept { m_warnings = on; }

  struct Token
  {
    enum class Kind { literal, conversion, strftime, nanoseconds, expression };
    Kind kind = Kind::literal;
    std::string text; // literal bytes, or the strftime format ("%c")
    char conversion = 0;
    bool left = false;
    char pad = ' ';
    int width = 0;
    int precision = -1;
    std::size_t expression = 0; // index into m_expressions (kind expression)
  };

private:
  enum class Mode { plain, json_lines, custom };
  Mode m_mode = Mode::plain;
  bool m_verbose = false;
  bool m_color_topic = false;
  bool m_eol = true;
  bool m_pretty = false;
  bool m_warnings = true;
  std::vector<Token> m_tokens;
  std::vector<FilterExpression> m_expressions; // the %{EXPR} of -F
  // The payload the expressions read, once per message (render is called
  // from one thread at a time).
  mutable PayloadValue m_payload{MessageView{}};
};

// Appends mosquitto's %j / %J object for `message` (see README for where
// mqtk deliberately differs). `payload_as_json`: %J. Returns false when %J
// was asked for and the payload is not JSON (nothing appended then).
bool append_mosquitto_json(std::string& out, const MessageView& message, std::chrono::system_clock::time_point time,
                           bool payload_as_json, bool pretty);

// Re-indents compact JSON the way mosquitto's --pretty does (cJSON style):
// objects one member per line indented with tabs, arrays on one line.
void append_pretty_json(std::string& out, std::string_view compact);

} // namespace mqtk
