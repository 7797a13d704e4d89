#include <doctest/doctest.h>

#include <string>

#include "mqtk/process/error.hpp"
#include "mqtk/input/line_fields.hpp"

using mqtk::LineFields;
using Result = LineFields::Result;

namespace {

std::string convert(const LineFields& fields, std::string_view line)
{
  std::string out = "stale";
  std::size_t got = 99;
  const Result r = fields.to_json(line, out, got);
  if (r == Result::ok) {
    CHECK(got == fields.names().size());
    return out;
  }
  CHECK(out.empty());
  switch (r) {
  case Result::empty: return "<empty>";
  case Result::wrong_count: return "<got " + std::to_string(got) + ">";
  case Result::invalid_utf8: return "<utf8>";
  case Result::ok: break;
  }
  return {};
}

std::string spec_error(std::string_view spec)
{
  try {
    LineFields::parse(spec);
  } catch (const mqtk::UsageError& e) {
    return e.what();
  }
  return {};
}

} // namespace

TEST_CASE("line fields: separators")
{
  const auto f = LineFields::parse("ax,ay,az");
  CHECK(f.names() == std::vector<std::string>{"ax", "ay", "az"});
  CHECK(convert(f, "1,2,3") == R"({"ax":1,"ay":2,"az":3})");
  CHECK(convert(f, "1 2 3") == R"({"ax":1,"ay":2,"az":3})");
  CHECK(convert(f, "1\t2\t3") == R"({"ax":1,"ay":2,"az":3})");
  CHECK(convert(f, "  1 \t  2\t\t3   ") == R"({"ax":1,"ay":2,"az":3})");
  CHECK(convert(f, "1, 2 ,3") == R"({"ax":1,"ay":2,"az":3})");
  CHECK(convert(f, "1,2,3\r") == R"({"ax":1,"ay":2,"az":3})");
  CHECK(convert(f, "1 2 3 \r") == R"({"ax":1,"ay":2,"az":3})");
  // Consecutive commas enclose an empty field; a trailing comma ends one.
  CHECK(convert(f, "1,,3") == R"({"ax":1,"ay":"","az":3})");
  CHECK(convert(f, ",2,3") == R"({"ax":"","ay":2,"az":3})");
  CHECK(convert(f, "1,2,") == R"({"ax":1,"ay":2,"az":""})");
  CHECK(convert(f, "1 , , 3") == R"({"ax":1,"ay":"","az":3})");
}

TEST_CASE("line fields: empty lines and wrong counts")
{
  const auto f = LineFields::parse("ax,ay,az");
  CHECK(convert(f, "") == "<empty>");
  CHECK(convert(f, "\r") == "<empty>");
  CHECK(convert(f, " \t ") == "<empty>");
  CHECK(convert(f, "1,2") == "<got 2>");
  CHECK(convert(f, "1 2") == "<got 2>");
  CHECK(convert(f, "1") == "<got 1>");
  CHECK(convert(f, "1,2,3,4") == "<got 4>");
  CHECK(convert(f, "1 2 3 4 5 6") == "<got 6>");
  CHECK(convert(f, "1,2,3,") == "<got 4>");
  CHECK(convert(f, ",") == "<got 2>");
  CHECK(f.problem(Result::wrong_count, 2) == "expected 3 fields (ax,ay,az), got 2");
  CHECK(LineFields::parse("x").problem(Result::wrong_count, 2) == "expected 1 field (x), got 2");
  CHECK(f.problem(Result::invalid_utf8, 3) == "not valid UTF-8");
}

TEST_CASE("line fields: numbers kept as written, everything else quoted")
{
  const auto f = LineFields::parse("v");
  CHECK(convert(f, "1.50") == R"({"v":1.50})");
  CHECK(convert(f, "-0.5") == R"({"v":-0.5})");
  CHECK(convert(f, "1e3") == R"({"v":1e3})");
  CHECK(convert(f, "-1.25E-07") == R"({"v":-1.25E-07})");
  CHECK(convert(f, "0") == R"({"v":0})");
  CHECK(convert(f, "-0") == R"({"v":-0})");
  CHECK(convert(f, "1e-400") == R"({"v":1e-400})");
  CHECK(convert(f, "123456789012345678901234567890") == R"({"v":123456789012345678901234567890})");
  // Not JSON numbers.
  CHECK(convert(f, "nan") == R"({"v":"nan"})");
  CHECK(convert(f, "inf") == R"({"v":"inf"})");
  CHECK(convert(f, ".5") == R"({"v":".5"})");
  CHECK(convert(f, "5.") == R"({"v":"5."})");
  CHECK(convert(f, "+1") == R"({"v":"+1"})");
  CHECK(convert(f, "007") == R"({"v":"007"})");
  CHECK(convert(f, "1e") == R"({"v":"1e"})");
  CHECK(convert(f, "1e400") == R"({"v":"1e400"})");
  CHECK(convert(f, "0x10") == R"({"v":"0x10"})");
  CHECK(convert(f, "-") == R"({"v":"-"})");
  CHECK(convert(f, "true") == R"({"v":"true"})");
  CHECK(convert(f, "null") == R"({"v":"null"})");
  // Escaping.
  CHECK(convert(f, R"(say"hi"\now)") == R"({"v":"say\"hi\"\\now"})");
  CHECK(convert(f, "a\x01z") == R"({"v":"a\u0001z"})");
  CHECK(convert(f, "caf\xC3\xA9") == "{\"v\":\"caf\xC3\xA9\"}");
  CHECK(convert(f, "bad\xFF") == "<utf8>");
  CHECK(mqtk::is_json_number("1.5e+3"));
  CHECK_FALSE(mqtk::is_json_number(""));
  CHECK_FALSE(mqtk::is_json_number("1.e3"));
}

TEST_CASE("line fields: output buffer is reused")
{
  const auto f = LineFields::parse("a,b");
  std::string out;
  std::size_t got = 0;
  REQUIRE(f.to_json("1 2", out, got) == Result::ok);
  REQUIRE(f.to_json("x y", out, got) == Result::ok);
  CHECK(out == R"({"a":"x","b":"y"})");
  CHECK(f.to_json("x", out, got) == Result::wrong_count);
  CHECK(out.empty());
  CHECK(got == 1);
}

TEST_CASE("line fields: key names are escaped")
{
  const auto f = LineFields::parse("we\"ird,caf\xC3\xA9");
  CHECK(convert(f, "1 2") == "{\"we\\\"ird\":1,\"caf\xC3\xA9\":2}");
}

TEST_CASE("line fields: bad --fields specs")
{
  const std::string hint = " is empty (expected names separated by ',' or spaces, such as ax,ay,az)";
  CHECK(spec_error("ax,ay,ax") == "--fields: duplicate field name 'ax'");
  CHECK(spec_error("") == "--fields: field name 1" + hint);
  CHECK(spec_error("ax,,az") == "--fields: field name 2" + hint);
  CHECK(spec_error("ax,") == "--fields: field name 2" + hint);
  CHECK(spec_error(",ax") == "--fields: field name 1" + hint);
  CHECK(spec_error("a\x01x") == "--fields: field name 1 contains a control character");
  CHECK(spec_error("a\xFF") == "--fields: field name 1 is not valid UTF-8");
  CHECK(spec_error("ax,ay,az").empty());
  CHECK(spec_error("x").empty());
}

TEST_CASE("line fields: names separated by spaces, commas or both")
{
  for (const char* spec : {"ax,ay,az", "ax ay az", "ax, ay, az", " ax\tay  az ", "ax ,ay , az\r"}) {
    CAPTURE(spec);
    const auto f = LineFields::parse(spec);
    CHECK(f.names() == std::vector<std::string>{"ax", "ay", "az"});
    CHECK(convert(f, "1,2,3") == R"({"ax":1,"ay":2,"az":3})");
  }
}
