#include <doctest/doctest.h>

#include <string>

#include "mqtk/input/json_message.hpp"

using mqtk::JsonMessageReader;
using Result = JsonMessageReader::Result;

namespace {

// "topic|payload|qos|retain", or "<empty>", or "<bad: problem>".
std::string read(JsonMessageReader& reader, std::string_view line)
{
  JsonMessageReader::Message m;
  switch (reader.parse(line, m)) {
  case Result::ok:
    return std::string(m.topic) + "|" + std::string(m.payload) + "|" + std::to_string(m.qos) + "|"
           + (m.retain ? "r" : "-");
  case Result::empty: return "<empty>";
  case Result::bad: return "<bad: " + reader.problem() + ">";
  }
  return {};
}

} // namespace

TEST_CASE("json lines: the -j schema")
{
  JsonMessageReader r("", 0, false);
  CHECK(read(r, R"({"topic":"a/b","payload":"hello"})") == "a/b|hello|0|-");
  // mqtk-sub -j's own lines, tst and all.
  CHECK(read(r, R"({"tst":"2026-12-01T00:00:00.000000Z","topic":"lab/1","qos":1,"retain":true,"payload":{"ax":1.50}})")
        == R"(lab/1|{"ax":1.50}|1|r)");
  // JSON payloads as written, numbers included; strings as their bytes.
  CHECK(read(r, R"({"topic":"t","payload":1.50e3})") == "t|1.50e3|0|-");
  CHECK(read(r, R"({"topic":"t","payload":[1, 2]})") == "t|[1, 2]|0|-");
  CHECK(read(r, R"({"topic":"t","payload":true})") == "t|true|0|-");
  CHECK(read(r, R"({"topic":"t","payload":null})") == "t||0|-"); // mosquitto's %j for an empty payload
  CHECK(read(r, R"({"topic":"t","payload":"a\"b\u00e9\n"})") == "t|a\"b\xc3\xa9\n|0|-");
  CHECK(read(r, R"({"topic":"t","payload":""})") == "t||0|-");
  CHECK(read(r, R"({"topic":"t","payload_base64":"/wB4"})") == std::string("t|\xff\0x|0|-", 9));
  CHECK(read(r, R"({"topic":"t\u00e9","payload":"x","qos":2,"retain":false})") == "t\xc3\xa9|x|2|-");
  // mosquitto_sub -F %j writes retain as 0 or 1.
  CHECK(read(r, R"({"topic":"t","payload":"x","retain":1})") == "t|x|0|r");
  CHECK(read(r, " {\"topic\":\"t\",\"payload\":\"x\"}\r") == "t|x|0|-");
  CHECK(read(r, "") == "<empty>");
  CHECK(read(r, " \t\r") == "<empty>");
}

TEST_CASE("json lines: -t, -q and -r are defaults")
{
  JsonMessageReader r("dflt/topic", 1, true);
  CHECK(read(r, R"({"payload":"x"})") == "dflt/topic|x|1|r");
  CHECK(read(r, R"({"topic":"own","payload":"x","qos":0,"retain":false})") == "own|x|0|-");
}

TEST_CASE("json lines: every kind of bad line")
{
  JsonMessageReader r("", 0, false);
  CHECK(read(r, "hello") == "<bad: not valid JSON>");
  CHECK(read(r, R"({"topic":"t","payload":"x")") == "<bad: not valid JSON>");
  CHECK(read(r, R"(["t","x"])") == "<bad: not a JSON object>");
  CHECK(read(r, "42") == "<bad: not a JSON object>");
  CHECK(read(r, R"({"payload":"x"})") == "<bad: no \"topic\" (and no -t for lines without one)>");
  CHECK(read(r, R"({"topic":7,"payload":"x"})") == "<bad: \"topic\" must be a string>");
  CHECK(read(r, R"({"topic":"","payload":"x"})") == "<bad: \"topic\": empty topic is not allowed>");
  CHECK(read(r, R"({"topic":"a/+","payload":"x"})").find("wildcard '+' at position 3") != std::string::npos);
  CHECK(read(r, R"({"topic":"a/#","payload":"x"})").find("wildcard '#'") != std::string::npos);
  CHECK(read(r, R"({"topic":"a\u0000b","payload":"x"})") == "<bad: \"topic\": topic contains a NUL character at position 2>");
  CHECK(read(r, R"({"topic":"a\u0007","payload":"x"})")
        == "<bad: \"topic\": topic holds the control character U+0007 at position 2, which brokers refuse>");
  CHECK(read(r, R"({"topic":"a\u0085","payload":"x"})")
        == "<bad: \"topic\": topic holds the control character U+0085 at position 2, which brokers refuse>");
  // The topic's UTF-8 as in -t (mqtt/topic): a noncharacter; an escaped
  // lone surrogate and raw bytes that are not UTF-8 are not read as JSON.
  CHECK(read(r, R"({"topic":"a/\ud800","payload":"x"})") == "<bad: not valid JSON>");
  CHECK(read(r, R"({"topic":"a\uffff","payload":"x"})")
        == "<bad: \"topic\": topic holds the noncharacter U+FFFF at position 2, which brokers refuse>");
  CHECK(read(r, "{\"topic\":\"a\xff\",\"payload\":\"x\"}") == "<bad: not valid JSON>");
  CHECK(read(r, R"({"topic":"t"})") == "<bad: no \"payload\" or \"payload_base64\">");
  CHECK(read(r, R"({"topic":"t","payload":"x","payload_base64":"eA=="})")
        == "<bad: both \"payload\" and \"payload_base64\"; give one>");
  CHECK(read(r, R"({"topic":"t","payload_base64":"eA="})") == "<bad: \"payload_base64\" is not base64>");
  CHECK(read(r, R"({"topic":"t","payload_base64":5})") == "<bad: \"payload_base64\" is not base64>");
  CHECK(read(r, R"({"topic":"t","payload":"x","qos":3})") == "<bad: \"qos\" must be 0, 1 or 2, not 3>");
  CHECK(read(r, R"({"topic":"t","payload":"x","qos":1.5})") == "<bad: \"qos\" must be 0, 1 or 2, not 1.5>");
  CHECK(read(r, R"({"topic":"t","payload":"x","qos":"1"})") == "<bad: \"qos\" must be 0, 1 or 2, not \"1\">");
  CHECK(read(r, R"({"topic":"t","payload":"x","qos":1e400})") == "<bad: \"qos\" must be 0, 1 or 2, not 1e400>");
  CHECK(read(r, R"({"topic":"t","payload":"x","retain":"yes"})")
        == "<bad: \"retain\" must be true or false, not \"yes\">");
  CHECK(read(r, R"({"topic":"t","payload":"x","retain":1e400})")
        == "<bad: \"retain\" must be true or false, not 1e400>");
  // A number beyond a double's range is still published as written.
  CHECK(read(r, R"({"topic":"t","payload":1e400})") == "t|1e400|0|-");
  // A good line after bad ones still reads.
  CHECK(read(r, R"({"topic":"t","payload":"x"})") == "t|x|0|-");
}
