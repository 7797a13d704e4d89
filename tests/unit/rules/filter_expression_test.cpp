#include <doctest/doctest.h>

#include <string>

#include "mqtk/process/error.hpp"
#include "mqtk/rules/filter_expression.hpp"

using mqtk::FieldValue;
using mqtk::FilterExpression;
using mqtk::MessageView;
using mqtk::PayloadValue;
using Kind = FieldValue::Kind;

namespace {

bool match(std::string_view expression, std::string_view payload, std::string_view topic = "a/b",
           int qos = 1, bool retain = false)
{
  return FilterExpression::parse(expression).matches(MessageView{topic, payload, qos, retain, 0});
}

std::string error_of(std::string_view expression, std::string_view option = "--where")
{
  try {
    FilterExpression::parse(expression, option);
  } catch (const mqtk::UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

const char* const doc = R"({"accel": {"x": 1.5, "y": -2}, "values": [10, 20, 30],
  "odd key": "v", "name": "bob", "on": true, "off": false, "nothing": null,
  "zero": 0, "neg": -4, "obj": {"k": 1}, "big": 12345678901234567890123})";

} // namespace

TEST_CASE("filter expression: literals and values")
{
  CHECK(match("true", ""));
  CHECK_FALSE(match("false", ""));
  CHECK_FALSE(match("null", ""));
  CHECK(match("1", ""));
  CHECK(match("0", "")); // jq truthiness: only false and null are false
  CHECK(match("'x'", ""));
  CHECK(match("\"x\" == 'x'", ""));
  CHECK(match("'it\\'s' == \"it's\"", ""));
  CHECK(match("\"a\\nb\\t\\\\\\/\\u00e9\" == 'a\nb\t\\\\/\xC3\xA9'", ""));
  CHECK(match("'\\ud83d\\ude00' == '\xF0\x9F\x98\x80'", ""));
  CHECK(match("1.5e3 == 1500", ""));
  CHECK(match(".5 == 0.5", ""));
  CHECK(match("3.14159265358979323846264338327950288419716939937510 > 3.14159", ""));
  CHECK(match("123456789012345678901234567890 > 1e29", ""));
  CHECK(match("1e-400 == 0", ""));
  CHECK(match("topic == 'a/b'", ""));
  CHECK(match("qos == 1", ""));
  CHECK(match("qos == 2", "", "t", 2));
  CHECK(match("retain", "", "t", 0, true));
  CHECK_FALSE(match("retain", "", "t", 0, false));
  CHECK(match("retain == false", "", "t", 0, false));
}

TEST_CASE("filter expression: payload as a whole")
{
  CHECK(match("payload > 3", "3.5"));
  CHECK(match(". == 3.5", "3.5\r\n"));
  CHECK(match(". == 3.5", " 3.5 \n"));
  CHECK(match(". == 7", "+7"));
  CHECK(match(". == 7", "007"));
  CHECK(match("payload == 'on'", "on"));
  CHECK_FALSE(match("payload == 'on'", "on\n")); // strings are not trimmed
  CHECK(match(". == 'hi'", "\"hi\""));
  CHECK(match(". == true", "true"));
  CHECK(match(". == null", " null "));
  CHECK_FALSE(match(". > 3", "abc"));
  CHECK_FALSE(match(". < 3", "abc"));
  CHECK(match(". > 'abb'", "abc"));
  CHECK_FALSE(match(". == 3", "{\"a\":3}"));
  CHECK(match("payload", "anything"));
}

TEST_CASE("filter expression: JSON paths")
{
  CHECK(match(".accel.x > 1", doc));
  CHECK(match(".accel.x == 1.5", doc));
  CHECK(match(".accel.y == -2", doc));
  CHECK(match(".values[2] == 30", doc));
  CHECK(match(".values[-1] == 30", doc));
  CHECK(match(".[\"odd key\"] == 'v'", doc));
  CHECK(match(".['odd key'] == \"v\"", doc));
  CHECK(match(".name == 'bob'", doc));
  CHECK(match(".on", doc));
  CHECK_FALSE(match(".off", doc));
  CHECK_FALSE(match(".nothing", doc));
  CHECK(match(".nothing == null", doc));
  CHECK(match(".zero", doc)); // present and a number
  CHECK(match(".obj", doc));
  CHECK(match(".obj.k == 1", doc));
  CHECK(match(".big > 1e22", doc));
  CHECK(match(R"(.a.b[0].c == "deep")", R"({"a": {"b": [{"c": "deep"}]}})"));
  CHECK(match(".[0] == 1", "[1, 2]"));
  CHECK(match(".and == 1", R"({"and": 1})")); // keywords are fine as keys
}

TEST_CASE("filter expression: comparison operators")
{
  CHECK(match("1 < 2", ""));
  CHECK_FALSE(match("2 < 2", ""));
  CHECK(match("2 <= 2", ""));
  CHECK_FALSE(match("3 <= 2", ""));
  CHECK(match("3 > 2", ""));
  CHECK_FALSE(match("2 > 2", ""));
  CHECK(match("2 >= 2", ""));
  CHECK_FALSE(match("1 >= 2", ""));
  CHECK(match("2 == 2.0", ""));
  CHECK_FALSE(match("2 == 3", ""));
  CHECK(match("2 != 3", ""));
  CHECK_FALSE(match("2 != 2", ""));
  // Strings compare byte-wise.
  CHECK(match("'abc' < 'abd'", ""));
  CHECK(match("'ab' < 'abc'", ""));
  CHECK(match("'b' > 'a'", ""));
  CHECK(match("'a' <= 'a'", ""));
  CHECK(match("'a' >= 'a'", ""));
  CHECK(match("'a' != 'b'", ""));
  CHECK(match("'\xC3\xA9' > 'z'", ""));
  // Mixed types: strings vs numbers never match, not even !=.
  CHECK_FALSE(match("'1' == 1", ""));
  CHECK_FALSE(match("'1' != 1", ""));
  CHECK_FALSE(match("'a' < 1", ""));
  CHECK_FALSE(match(".name > 1", doc));
  // null and booleans compare for (in)equality with any defined value.
  CHECK(match(".accel != null", doc));
  CHECK(match(".name != null", doc));
  CHECK_FALSE(match(".name == null", doc));
  CHECK(match("true == true", ""));
  CHECK(match("true != false", ""));
  CHECK(match("1 != true", ""));
  CHECK_FALSE(match("true < false", ""));
  CHECK_FALSE(match("null < 1", ""));
  // Objects and arrays do not compare.
  CHECK_FALSE(match(".obj == .obj", doc));
  CHECK_FALSE(match(".obj != .obj", doc));
}

TEST_CASE("filter expression: arithmetic")
{
  CHECK(match("1 + 2 == 3", ""));
  CHECK(match("5 - 7 == -2", ""));
  CHECK(match("2 * 3 == 6", ""));
  CHECK(match("7 / 2 == 3.5", ""));
  CHECK(match("-3 == 0 - 3", ""));
  CHECK(match("--3 == 3", ""));
  CHECK(match("-(1 + 2) == -3", ""));
  CHECK(match("-.accel.y == 2", doc));
  CHECK(match(".accel.x * 2 + .values[0] == 13", doc));
  CHECK_FALSE(match("1 / 0 == 1", ""));
  CHECK_FALSE(match("1 / 0 != 1", ""));
  CHECK_FALSE(match("0 / 0 != 1", ""));
  CHECK_FALSE(match("1e308 * 10 > 0", "")); // overflow is undefined
  CHECK_FALSE(match("'a' + 'b' == 'ab'", ""));
  CHECK_FALSE(match("-'a' == 1", ""));
  CHECK_FALSE(match("true + 1 == 2", ""));
}

TEST_CASE("filter expression: precedence")
{
  CHECK(match("1 + 2 * 3 == 7", ""));
  CHECK(match("(1 + 2) * 3 == 9", ""));
  CHECK(match("10 - 4 - 3 == 3", ""));   // left associative
  CHECK(match("16 / 4 / 2 == 2", ""));   // left associative
  CHECK(match("-2 * 3 == -6", ""));
  CHECK(match("2 * -3 == -6", ""));
  CHECK(error_of("1 < 2 == true").find("cannot be chained") != std::string::npos);
}

TEST_CASE("filter expression: logic")
{
  CHECK(match("true and true", ""));
  CHECK_FALSE(match("true and false", ""));
  CHECK(match("false or true", ""));
  CHECK_FALSE(match("false or false", ""));
  CHECK(match("true && true", ""));
  CHECK(match("false || true", ""));
  CHECK(match("not false", ""));
  CHECK(match("!false", ""));
  CHECK_FALSE(match("!true", ""));
  CHECK(match("not not true", ""));
  // or < and < not < comparison
  CHECK(match("true or true and false", ""));
  CHECK_FALSE(match("(true or true) and false", ""));
  CHECK(match("not 1 > 2", ""));
  CHECK(match("not false and true", ""));
  CHECK_FALSE(match("not (false or true)", ""));
  CHECK(match("1 < 2 and 3 < 4 or 5 < 0", ""));
  CHECK(match("topic == 'a/b' && .accel.x > 1 || false", doc));
}

TEST_CASE("filter expression: undefined propagates and never matches")
{
  CHECK_FALSE(match(".missing > 1", doc));
  CHECK_FALSE(match(".missing < 1", doc));
  CHECK_FALSE(match(".missing == null", doc));
  CHECK_FALSE(match(".missing != 1", doc));
  CHECK_FALSE(match("not .missing", doc));
  CHECK_FALSE(match("not (.missing > 1)", doc));
  CHECK_FALSE(match(".missing", doc));
  CHECK_FALSE(match(".missing + 1 > 0", doc));
  CHECK_FALSE(match("abs(.missing) >= 0", doc));
  CHECK_FALSE(match("max(.missing, 1) >= 0", doc));
  // Kleene logic: a settled side wins over an unknown one.
  CHECK(match(".missing > 1 or .accel.x > 1", doc));
  CHECK(match(".accel.x > 1 or .missing > 1", doc));
  CHECK_FALSE(match(".missing > 1 and .accel.x > 1", doc));
  CHECK_FALSE(match(".missing > 1 or false", doc));
  CHECK_FALSE(match("not (.missing > 1 or false)", doc));
  CHECK(match("not (.missing > 1 and false)", doc));
  CHECK_FALSE(match("not (.missing > 1 and true)", doc));
  // Not JSON: any path is undefined.
  CHECK_FALSE(match(".x > 1", "hello"));
  CHECK_FALSE(match("not (.x > 1)", "hello"));
  CHECK_FALSE(match(".x == 1", "{\"x\": 1"));
}

TEST_CASE("filter expression: functions")
{
  CHECK(match("abs(-3) == 3", ""));
  CHECK(match("abs(.accel.y) == 2", doc));
  CHECK(match("sqrt(16) == 4", ""));
  CHECK_FALSE(match("sqrt(-1) >= 0", ""));
  CHECK_FALSE(match("sqrt('x') >= 0", ""));
  CHECK(match("sqrt(.accel.x * .accel.x + .accel.y * .accel.y) == 2.5", doc));
  CHECK(match("min(3, 1) == 1", ""));
  CHECK(match("max(3, 1) == 3", ""));
  CHECK(match("min(5, 2, 8, -1, 4) == -1", ""));
  CHECK(match("max(5, 2, 8, -1, 4) == 8", ""));
  CHECK(match("max(.values[0], .values[1], .values[2]) == 30", doc));
  CHECK_FALSE(match("min(1, 'a') == 1", ""));
  CHECK(match("exists(.accel.x)", doc));
  CHECK(match("exists(.nothing)", doc));
  CHECK_FALSE(match("exists(.accel.z)", doc));
  CHECK(match("not exists(.accel.z)", doc));
  CHECK(match("exists(.)", "whatever"));
  CHECK(match("exists(payload)", "whatever"));
  CHECK_FALSE(match("exists(.x)", "not json"));
  CHECK(match("exists(.['odd key'])", doc));
  CHECK(match("abs ( -1 ) == 1", ""));
}

TEST_CASE("filter expression: parse errors name the column and what was expected")
{
  CHECK(error_of(".x >") == "--where: expected a value at column 5: .x >");
  CHECK(error_of(".x > 1)") == "--where: unexpected ')' at column 7: .x > 1)");
  CHECK(error_of("") == "--where: empty expression");
  CHECK(error_of("   ") == "--where: empty expression");
  CHECK(error_of("foo(.x)") ==
        "--where: unknown function 'foo' (known: abs, sqrt, min, max, exists, user_property) at column 1: foo(.x)");
  CHECK(error_of("x > 1") ==
        "--where: unknown name 'x' (did you mean '.x' or a quoted string?) at column 1: x > 1");
  CHECK(error_of("abs(1, 2)") ==
        "--where: abs() takes exactly 1 argument but got 2 at column 1: abs(1, 2)");
  CHECK(error_of(". > sqrt()") ==
        "--where: sqrt() takes exactly 1 argument but got 0 at column 5: . > sqrt()");
  CHECK(error_of("min(1)") == "--where: min() takes at least 2 arguments but got 1 at column 1: min(1)");
  CHECK(error_of("max(1,)") == "--where: expected a value at column 7: max(1,)");
  CHECK(error_of("max(1 2)") == "--where: expected ',' or ')' at column 7: max(1 2)");
  CHECK(error_of("abs 1") == "--where: expected '(' after 'abs' at column 5: abs 1");
  CHECK(error_of("exists(1)") == "--where: exists() takes a path such as .x or a property such as content_type at column 8: exists(1)");
  CHECK(error_of("exists(.a, .b)") ==
        "--where: expected ')' after the path at column 10: exists(.a, .b)");
  CHECK(error_of(".name == 'bob") ==
        "--where: unterminated string starting at column 10: .name == 'bob");
  CHECK(error_of("'a\\q'") == "--where: invalid escape '\\q' in string at column 3: 'a\\q'");
  CHECK(error_of("'\\u12'").find("invalid \\u escape") != std::string::npos);
  CHECK(error_of("(.x > 1") == "--where: expected ')' at column 8: (.x > 1");
  CHECK(error_of("()") == "--where: expected a value at column 2: ()");
  CHECK(error_of(".x = 1") == "--where: unexpected '=' (did you mean '=='?) at column 4: .x = 1");
  CHECK(error_of(".x & 1").find("did you mean '&&'") != std::string::npos);
  CHECK(error_of(".x | 1").find("did you mean '||'") != std::string::npos);
  CHECK(error_of(".x > 1 # c") == "--where: unexpected character '#' at column 8: .x > 1 # c");
  CHECK(error_of("1 < 2 < 3") ==
        "--where: comparisons cannot be chained (combine them with 'and') at column 7: 1 < 2 < 3");
  CHECK(error_of(".a.") == "--where: expected a key or '[' after '.' at column 4: .a.");
  CHECK(error_of(".a[") == "--where: expected an array index or a quoted key at column 4: .a[");
  CHECK(error_of(".x > 1e999") == "--where: number out of range at column 6: .x > 1e999");
  CHECK(error_of("1abc") == "--where: invalid number at column 1: 1abc");
  CHECK(error_of("1.2.3") == "--where: invalid number at column 1: 1.2.3");
  CHECK(error_of(".x .y") == "--where: unexpected '.y' at column 4: .x .y");
  CHECK(error_of("true false") == "--where: unexpected 'false' at column 6: true false");
  CHECK(error_of(".x > not 1") == "--where: expected a value at column 6: .x > not 1");
  CHECK(error_of("and") == "--where: expected a value at column 1: and");
  CHECK(error_of(".x >", "--alert-when") == "--alert-when: expected a value at column 5: .x >");
  // Control characters in the echoed expression do not break the line.
  CHECK(error_of(".x >\n") == "--where: expected a value at column 6: .x > ");
  CHECK(error_of(std::string_view("\x01", 1)) ==
        "--where: unexpected character byte 0x01 at column 1:  ");
}

TEST_CASE("filter expression: nesting is limited, long flat chains are not")
{
  const std::size_t limit = FilterExpression::max_nesting;
  const auto parens = [](std::size_t n) {
    return std::string(n, '(') + "1" + std::string(n, ')') + " == 1";
  };
  CHECK(match(parens(limit), ""));
  CHECK(error_of(parens(limit + 1))
          .rfind("--where: expression nested too deeply (limit 256) at column 257: (((", 0) == 0);
  CHECK(error_of(std::string(300, '(')).find("at column 257") != std::string::npos);
  CHECK(error_of("abs(" + std::string(300, '(')).find("nested too deeply") != std::string::npos);
  CHECK(error_of(parens(100000)).find("nested too deeply") != std::string::npos);
  CHECK(error_of(std::string(100000, '-') + "1").find("nested too deeply") != std::string::npos);
  CHECK(error_of(std::string(100000, '!') + "true").find("nested too deeply") != std::string::npos);
  CHECK(match(std::string(200, '-') + "1 == 1", ""));

  std::string sum = "0";
  for (int i = 0; i < 100000; ++i) {
    sum += " + 1";
  }
  CHECK(match(sum + " == 100000", ""));
  std::string ors = "false";
  for (int i = 0; i < 10000; ++i) {
    ors += " or false";
  }
  CHECK(match(ors + " or true", ""));

  // Deep right-nesting needs more than the fixed evaluation stack.
  std::string right = "1";
  for (std::size_t i = 0; i < limit - 2; ++i) {
    right = "1 + (" + right + ")";
  }
  CHECK(match(right + " == " + std::to_string(limit - 1), ""));
  std::string args = "min(5";
  for (int i = 0; i < 1000; ++i) {
    args += ", " + std::to_string(1000 - i);
  }
  CHECK(match(args + ") == 1", ""));
}

TEST_CASE("filter expression: hostile payloads")
{
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  CHECK_FALSE(match(".[0] == 1", deep));
  CHECK_FALSE(match("exists(.[0])", deep));
  CHECK(match("payload != 'x'", deep)); // treated as a plain string
  const std::string deep_objects = [] {
    std::string s;
    for (int i = 0; i < 10000; ++i) {
      s += "{\"a\":";
    }
    return s + "1" + std::string(10000, '}');
  }();
  CHECK_FALSE(match(".a.a > 0", deep_objects));

  std::string big = "{\"pad\": \"" + std::string(1 << 20, 'z') + "\", \"x\": 42}";
  CHECK(match(".x == 42", big));
  CHECK(match("exists(.pad)", big));

  const std::string binary("\x00\x01\xff\xfe\x80{\"x\":1}", 12);
  CHECK_FALSE(match(".x == 1", binary));
  CHECK(match("payload == '\\u0000'", std::string_view("\0", 1)));
}

TEST_CASE("filter expression: several expressions share one payload scan")
{
  const auto where = FilterExpression::parse(".accel.x > 1");
  const auto alert = FilterExpression::parse(".values[1] == 20", "--alert-when");
  const auto rearm = FilterExpression::parse("not (.values[1] == 20)", "--rearm");
  PayloadValue payload(MessageView{"a/b", doc, 0, false, 0});
  CHECK(where.matches(payload));
  CHECK(alert.matches(payload));
  CHECK_FALSE(rearm.matches(payload));
  CHECK(where.text() == ".accel.x > 1");

  const FieldValue v = FilterExpression::parse(".accel.x * 2").evaluate(payload);
  CHECK(v.kind == Kind::number);
  CHECK(v.number == 3.0);
  CHECK(FilterExpression::parse(".nope").evaluate(payload).kind == Kind::undefined);

  payload.reset(MessageView{"a/b", "{\"accel\": {\"x\": 0}}", 0, false, 0});
  CHECK_FALSE(where.matches(payload));

  // A copy of an expression evaluates independently of the original.
  FilterExpression copy = FilterExpression::parse("'abc' == .s");
  const FilterExpression copied = copy;
  copy = FilterExpression::parse("false");
  CHECK(copied.matches(MessageView{"t", "{\"s\": \"abc\"}", 0, false, 0}));
}

TEST_CASE("filter expression: MQTT 5 properties")
{
  mqtk::MessageProperties p;
  p.content_type = "application/json";
  p.response_topic = "reply/1";
  p.correlation_data = "req-7";
  p.message_expiry = 30;
  p.payload_format = 1;
  p.user = {{"unit", "celsius"}, {"room", "lab"}, {"unit", "kelvin"}};
  const MessageView with{"a/b", "{\"t\": 21}", 1, false, 0, &p};
  const MessageView without{"a/b", "{\"t\": 21}", 1, false, 0};
  auto on = [](std::string_view e, const MessageView& m) { return FilterExpression::parse(e).matches(m); };

  CHECK(on(R"(content_type == "application/json")", with));
  CHECK(on(R"(response_topic == "reply/1" and correlation_data == "req-7")", with));
  CHECK(on("message_expiry_interval > 10 and payload_format_indicator == 1", with));
  CHECK(on(R"(user_property("unit") == "celsius")", with)); // the first of a repeated name
  CHECK(on(R"(user_property("room") == "lab" and .t > 20)", with));
  CHECK_FALSE(on(R"(user_property("floor") == "lab")", with));
  CHECK(on(R"(exists(content_type) and exists(user_property("room")))", with));
  CHECK_FALSE(on(R"(exists(user_property("floor")))", with));

  // A message without properties: every property is undefined.
  CHECK_FALSE(on(R"(content_type == "application/json")", without));
  CHECK_FALSE(on("message_expiry_interval >= 0", without));
  CHECK_FALSE(on("exists(content_type)", without));
  CHECK(on("not exists(response_topic)", without));
  CHECK_FALSE(on(R"(exists(user_property("unit")))", without));

  CHECK(error_of("user_property(unit)") ==
        "--where: user_property() takes a quoted name such as \"unit\" at column 15: user_property(unit)");
  CHECK(error_of("exists(3)") ==
        "--where: exists() takes a path such as .x or a property such as content_type at column 8: exists(3)");
}

TEST_CASE("filter expression: refuse_properties names the option and why")
{
  FilterExpression::parse(".x > 1").refuse_properties("--where", "and these carry none");
  try {
    FilterExpression::parse("exists(user_property(\"a\"))").refuse_properties("--warn-when", "and these carry none");
    FAIL("not refused");
  } catch (const mqtk::UsageError& e) {
    CHECK(std::string(e.what()) == "--warn-when: the expression reads an MQTT 5 property, and these carry none");
  }
}
