#pragma once

#include "mqtk/rules/payload_value.hpp"

#include <string>
#include <string_view>

namespace mqtk {

// One line of `mqtk-pub --json-lines` input: a JSON object in mqtk-sub -j's
// schema, `{"topic":"a/b","payload":...}` with `payload` or
// `payload_base64`, and optionally `qos` (0, 1, 2) and `retain` (boolean);
// other members (tst, mid, ...) are ignored. A JSON string payload is
// published as the string's bytes, any other JSON value as its text exactly
// as written. Reuse one reader across lines: parse() keeps its buffers.
class JsonMessageReader
{
public:
  // What a line did not say: -t (may be empty: then every line needs a
  // topic), -q and -r.
  JsonMessageReader(std::string default_topic, int default_qos, bool default_retain);

  struct Message
  {
    std::string_view topic;   // valid until the next parse()
    std::string_view payload; // valid until the next parse()
    int qos = 0;
    bool retain = false;
  };

  // ok: `out` holds the message; empty: a line of only whitespace (to skip
  // silently); bad: `problem()` says what is wrong ("\"qos\" must be 0, 1
  // or 2, not 3"). Never throws except std::bad_alloc.
  enum class Result { ok, empty, bad };
  Result parse(std::string_view line, Message& out);

  // Why the last parse() returned bad.
  const std::string& problem() const noexcept { return m_problem; }

private:
  Result bad(std::string text);

  std::string m_default_topic;
  int m_default_qos;
  bool m_default_retain;
  JsonPath m_topic_path;
  JsonPath m_payload_path;
  JsonPath m_base64_path;
  JsonPath m_qos_path;
  JsonPath m_retain_path;
  PayloadValue m_line{MessageView{}};
  std::string m_payload; // the payload, when it is not a view of the line
  std::string m_problem;
};

} // namespace mqtk
