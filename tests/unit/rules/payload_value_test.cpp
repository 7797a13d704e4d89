#include <doctest/doctest.h>

#include <string>

#include "mqtk/process/error.hpp"
#include "mqtk/rules/payload_value.hpp"

using mqtk::FieldValue;
using mqtk::JsonPath;
using mqtk::MessageView;
using mqtk::parse_path;
using mqtk::PayloadValue;
using Kind = FieldValue::Kind;

namespace {

MessageView msg(std::string_view payload)
{
  return MessageView{"t", payload, 0, false, 0};
}

FieldValue lookup(std::string_view payload, std::string_view path)
{
  PayloadValue p(msg(payload));
  return p.lookup(parse_path(path));
}

std::string path_error(std::string_view text)
{
  try {
    parse_path(text, "--path");
  } catch (const mqtk::UsageError& e) {
    return e.what();
  }
  return {};
}

std::string nested(std::size_t depth, std::string_view leaf = "1")
{
  return std::string(depth, '[') + std::string(leaf) + std::string(depth, ']');
}

} // namespace

TEST_CASE("payload value: whole payload as a number")
{
  const auto number = [](std::string_view s) { return PayloadValue(msg(s)).as_number(); };
  CHECK(number("42") == 42.0);
  CHECK(number("-3.5e2") == -350.0);
  CHECK(number("+7") == 7.0);
  CHECK(number(".5") == 0.5);
  CHECK(number("5.") == 5.0);
  CHECK(number("007") == 7.0);
  CHECK(number("3.5\r\n") == 3.5);
  CHECK(number(" \t 12 \n") == 12.0);
  CHECK(number("1e-400") == 0.0);
  CHECK(number("3.14159265358979323846264338327950288419716939937510582097494459") ==
        doctest::Approx(3.141592653589793));
  CHECK(number("123456789012345678901234567890") == doctest::Approx(1.2345678901234568e29));
  CHECK_FALSE(number("1e400"));
  CHECK_FALSE(number(""));
  CHECK_FALSE(number("abc"));
  CHECK_FALSE(number("0x10"));
  CHECK_FALSE(number("inf"));
  CHECK_FALSE(number("nan"));
  CHECK_FALSE(number("1 2"));
  CHECK_FALSE(number("-"));
  CHECK_FALSE(number("."));
  CHECK_FALSE(number("1e"));
  CHECK_FALSE(number("\"3\""));
}

TEST_CASE("payload value: JSON validation")
{
  const auto json = [](std::string_view s) { return PayloadValue(msg(s)).is_json(); };
  CHECK(json("{}"));
  CHECK(json(" [ ] "));
  CHECK(json("{\"a\": [1, 2.5, -3e2, true, false, null, \"x\"], \"b\": {}}\r\n"));
  CHECK(json("\"caf\xC3\xA9 \\u00e9 \\ud83d\\ude00\""));
  CHECK(json("0"));
  CHECK(json("-0.0e+1"));
  CHECK_FALSE(json(""));
  CHECK_FALSE(json("   "));
  CHECK_FALSE(json("{"));
  CHECK_FALSE(json("{\"a\":1,}"));
  CHECK_FALSE(json("[1,]"));
  CHECK_FALSE(json("[1 2]"));
  CHECK_FALSE(json("{\"a\" 1}"));
  CHECK_FALSE(json("{a:1}"));
  CHECK_FALSE(json("01"));
  CHECK_FALSE(json("1."));
  CHECK_FALSE(json(".5"));
  CHECK_FALSE(json("+1"));
  CHECK_FALSE(json("tru"));
  CHECK_FALSE(json("nulll"));
  CHECK_FALSE(json("{} {}"));
  CHECK_FALSE(json("'a'"));
  CHECK_FALSE(json("\"a\nb\""));         // raw control character
  CHECK_FALSE(json("\"\\x\""));          // bad escape
  CHECK_FALSE(json("\"\\ud800\""));      // lone surrogate
  CHECK_FALSE(json("\"\\udc00\""));      // lone low surrogate
  CHECK_FALSE(json("\"\xff\""));         // not UTF-8
  CHECK_FALSE(json("\"\xC0\xAF\""));     // overlong
  CHECK_FALSE(json("\"\xED\xA0\x80\"")); // encoded surrogate
  CHECK_FALSE(json(std::string_view("\0", 1)));
  CHECK_FALSE(json(std::string_view("{\"a\":1}\0", 8)));
}

TEST_CASE("payload value: nesting limit")
{
  const std::string ok = nested(PayloadValue::max_json_depth);
  const std::string too_deep = nested(PayloadValue::max_json_depth + 1);
  CHECK(PayloadValue(msg(ok)).is_json());
  CHECK_FALSE(PayloadValue(msg(too_deep)).is_json());

  const std::string very_deep = nested(10000);
  PayloadValue p(msg(very_deep));
  CHECK_FALSE(p.is_json());
  CHECK(p.lookup(parse_path(".[0]")).kind == Kind::undefined);
  CHECK(p.lookup(parse_path(".")).kind == Kind::string);

  std::string objects;
  for (int i = 0; i < 10000; ++i) {
    objects += "{\"a\":";
  }
  objects += "1" + std::string(10000, '}');
  CHECK_FALSE(PayloadValue(msg(objects)).is_json());
}

TEST_CASE("payload value: path lookup")
{
  const std::string doc = R"({"accel": {"x": 1.5, "y": -2}, "values": [10, 20, 30],
    "odd key": "v", "name": "a\"b\u00e9", "nested": {"list": [{"c": true}, {"c": null}]},
    "s": "plain", "e\u0041": 5, "dup": 1, "dup": 2})";
  PayloadValue p(msg(doc));

  FieldValue v = p.lookup(parse_path(".accel.x"));
  CHECK(v.kind == Kind::number);
  CHECK(v.number == 1.5);
  CHECK(p.lookup(parse_path(".accel.y")).number == -2.0);
  CHECK(p.lookup(parse_path(".values[2]")).number == 30.0);
  CHECK(p.lookup(parse_path(".values[-1]")).number == 30.0);
  CHECK(p.lookup(parse_path(".values[-3]")).number == 10.0);
  CHECK(p.lookup(parse_path(".values[3]")).kind == Kind::undefined);
  CHECK(p.lookup(parse_path(".values[-4]")).kind == Kind::undefined);
  CHECK(p.lookup(parse_path(".[\"odd key\"]")).text == "v");
  CHECK(p.lookup(parse_path(".['odd key']")).text == "v");
  CHECK(p.lookup(parse_path(".name")).text == "a\"b\xC3\xA9");
  CHECK(p.lookup(parse_path(".s")).text == "plain");
  CHECK(p.lookup(parse_path(".eA")).number == 5.0); // key written with an escape
  CHECK(p.lookup(parse_path(".dup")).number == 2.0); // last duplicate wins, as in jq
  CHECK(p.lookup(parse_path(".nested.list[0].c")).kind == Kind::boolean);
  CHECK(p.lookup(parse_path(".nested.list[0].c")).boolean);
  CHECK(p.lookup(parse_path(".nested.list[1].c")).kind == Kind::null);
  CHECK(p.lookup(parse_path(".nested.list[1].d")).kind == Kind::undefined);
  CHECK(p.lookup(parse_path(".accel")).kind == Kind::compound);
  CHECK(p.lookup(parse_path(".accel")).text == R"({"x": 1.5, "y": -2})");
  CHECK(p.lookup(parse_path(".missing")).kind == Kind::undefined);
  CHECK(p.lookup(parse_path(".accel.x.y")).kind == Kind::undefined);
  CHECK(p.lookup(parse_path(".values.x")).kind == Kind::undefined);
  CHECK(p.lookup(parse_path(".accel[0]")).kind == Kind::undefined);
  CHECK(p.lookup(parse_path(".")).kind == Kind::compound);

  CHECK(p.exists(parse_path(".nested.list[1].c")));
  CHECK(p.exists(parse_path(".")));
  CHECK_FALSE(p.exists(parse_path(".nested.list[1].d")));
}

TEST_CASE("payload value: root value")
{
  CHECK(lookup("3.5\r\n", ".").number == 3.5);
  CHECK(lookup("3.5\r\n", "payload").kind == Kind::number);
  CHECK(lookup("\"hi\"", ".").text == "hi");
  CHECK(lookup("on", ".").text == "on");
  CHECK(lookup("on", ".").kind == Kind::string);
  CHECK(lookup("true", ".").kind == Kind::boolean);
  CHECK(lookup("null", ".").kind == Kind::null);
  CHECK(lookup("1e400", ".").kind == Kind::undefined); // JSON, but out of range
  CHECK(lookup("{\"a\":1} trailing", ".a").kind == Kind::undefined);
  CHECK(lookup("not json", ".a").kind == Kind::undefined);
  const std::string binary("\x00\xff\xfe{\"a\":1}", 10);
  CHECK(lookup(binary, ".a").kind == Kind::undefined);
  CHECK(lookup(binary, ".").text == binary);
}

TEST_CASE("payload value: lookup_text renders values for templates")
{
  PayloadValue p(msg(R"( {"a": {"b": [1, 2.50, "x\ty"]}, "t": true, "n": null, "u": "\u00e9"} )"));
  CHECK(p.lookup_text(parse_path(".a.b[1]")) == "2.50");
  CHECK(p.lookup_text(parse_path(".a.b[2]")) == "x\ty");
  CHECK(p.lookup_text(parse_path(".a.b")) == "[1, 2.50, \"x\\ty\"]");
  CHECK(p.lookup_text(parse_path(".t")) == "true");
  CHECK(p.lookup_text(parse_path(".n")) == "null");
  CHECK(p.lookup_text(parse_path(".u")) == "\xC3\xA9");
  CHECK_FALSE(p.lookup_text(parse_path(".zz")));
  CHECK(p.lookup_text(parse_path(".")).value().front() == '{');

  PayloadValue number(msg(" 21.5\r\n"));
  CHECK(number.lookup_text(parse_path(".")) == "21.5");
  PayloadValue text(msg("hello"));
  CHECK(text.lookup_text(parse_path(".")) == "hello");
  CHECK_FALSE(text.lookup_text(parse_path(".a")));
}

TEST_CASE("payload value: reset reuses the object for another message")
{
  PayloadValue p(msg(R"({"s": "a\nb"})"));
  CHECK(p.lookup(parse_path(".s")).text == "a\nb");
  p.reset(msg("12"));
  CHECK(p.as_number() == 12.0);
  CHECK_FALSE(p.exists(parse_path(".s")));
  p.reset(msg(R"({"s": "c\u0064"})"));
  const FieldValue first = p.lookup(parse_path(".s"));
  const FieldValue second = p.lookup(parse_path(".s"));
  CHECK(first.text == "cd");
  CHECK(second.text == "cd");
}

TEST_CASE("payload value: large payload")
{
  std::string big = "{\"filler\": \"" + std::string(1 << 20, 'x') + "\", \"list\": [";
  for (int i = 0; i < 10000; ++i) {
    big += std::to_string(i) + ",";
  }
  big += "-1], \"x\": 7}";
  PayloadValue p(msg(big));
  CHECK(p.is_json());
  CHECK(p.lookup(parse_path(".x")).number == 7.0);
  CHECK(p.lookup(parse_path(".list[9999]")).number == 9999.0);
  CHECK(p.lookup(parse_path(".list[-1]")).number == -1.0);
  CHECK(p.lookup(parse_path(".filler")).text.size() == (1U << 20));
}

TEST_CASE("payload value: parse_path")
{
  JsonPath p = parse_path(".a.b[2]");
  REQUIRE(p.steps.size() == 3);
  CHECK(p.steps[0].key == "a");
  CHECK(p.steps[1].key == "b");
  CHECK(p.steps[2].is_index);
  CHECK(p.steps[2].index == 2);
  CHECK(p.text == ".a.b[2]");

  CHECK(parse_path(".").steps.empty());
  CHECK(parse_path("payload").steps.empty());
  CHECK(parse_path(" .x ").steps.size() == 1);
  CHECK(parse_path(".[\"odd key\"]").steps.at(0).key == "odd key");
  CHECK(parse_path(".[ 'k\\'q' ]").steps.at(0).key == "k'q");
  CHECK(parse_path(".a.[\"b\"]").steps.size() == 2);
  CHECK(parse_path(".[0][1]").steps.size() == 2);
  CHECK(parse_path(".[-1]").steps.at(0).index == -1);
  CHECK(parse_path("._x9").steps.at(0).key == "_x9");

  CHECK(path_error("") == "--path: expected a path such as .a.b[2] at column 1: ");
  CHECK(path_error("a.b") == "--path: expected a path such as .a.b[2] at column 1: a.b");
  CHECK(path_error(".a.") == "--path: expected a key or '[' after '.' at column 4: .a.");
  CHECK(path_error("..") == "--path: expected a key or '[' after '.' at column 2: ..");
  CHECK(path_error(".a[") == "--path: expected an array index or a quoted key at column 4: .a[");
  CHECK(path_error(".a[1") == "--path: expected ']' at column 5: .a[1");
  CHECK(path_error(".a[1.5]") == "--path: expected an integer array index at column 4: .a[1.5]");
  CHECK(path_error(".a[\"x]") == "--path: unterminated string starting at column 4: .a[\"x]");
  CHECK(path_error(".a b") == "--path: unexpected ' ' in path at column 3: .a b");
  CHECK(path_error(".a-b") == "--path: unexpected '-' in path at column 3: .a-b");
  CHECK(path_error(".[99999999999999999999]").find("array index too large") != std::string::npos);
}
