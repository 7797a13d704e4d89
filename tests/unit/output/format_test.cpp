#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>

#include "mqtk/process/error.hpp"
#include "mqtk/output/format.hpp"

using mqtk::MessageView;
using mqtk::OutputFormat;

namespace {

// 2026-11-25T11:46:07.137227422Z, the spec's example instant.
std::chrono::system_clock::time_point when()
{
  return std::chrono::system_clock::time_point(
    std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::seconds(1795607167)
                                                                     + std::chrono::nanoseconds(137227422)));
}

void utc()
{
  ::setenv("TZ", "UTC", 1);
  ::tzset();
}

MessageView msg(std::string_view payload, std::string_view topic = "a/b", int qos = 0, bool retain = false,
                int mid = 0)
{
  return MessageView{topic, payload, qos, retain, mid};
}

std::string render(const OutputFormat& f, const MessageView& m)
{
  std::string out;
  f.render(m, when(), out);
  return out;
}

std::string fmt_render(std::string_view format, const MessageView& m, bool pretty = false, bool eol = true)
{
  utc();
  auto f = OutputFormat::compile(format, pretty, eol);
  f.set_warnings(false);
  return render(f, m);
}

std::string format_error(std::string_view format)
{
  try {
    OutputFormat::compile(format, false);
  } catch (const mqtk::UsageError& e) {
    CHECK(e.code() == 1);
    return e.what();
  }
  return {};
}

const std::string tst = "2026-11-25T11:46:07.137227Z+0000";

} // namespace

TEST_CASE("plain output (mosquitto's default)")
{
  CHECK(render(OutputFormat::plain(false, true), msg("hello")) == "hello\n");
  CHECK(render(OutputFormat::plain(false, false), msg("hello")) == "hello");
  CHECK(render(OutputFormat::plain(false, true), msg("")) == ""); // nothing at all
  CHECK(render(OutputFormat::plain(true, true), msg("hello")) == "a/b hello\n");
  CHECK(render(OutputFormat::plain(true, true), msg("")) == "a/b (null)\n");
  CHECK(render(OutputFormat::plain(true, false), msg("x")) == "a/b x");
  CHECK(render(OutputFormat::plain(true, false), msg("")) == ""); // -v -N: nothing, as mosquitto
  CHECK(render(OutputFormat::plain(false, true), msg(std::string_view("a\0\xff", 3))) == std::string("a\0\xff\n", 4));
}

TEST_CASE("-F: every conversion without modifiers (spec example 1)")
{
  CHECK(fmt_render("%t|%p|%l|%q|%r|%m|%%|%x|%X", msg("hello")) == "a/b|hello|5|0|0|0|%|68656c6c6f|68656C6C6F\n");
  CHECK(fmt_render("%t|%p|%l|%q|%r|%m|%%|%x|%X", msg("hello", "a/b", 1, true, 1), false, false)
        == "a/b|hello|5|1|1|1|%|68656c6c6f|68656C6C6F");
  CHECK(fmt_render("", msg("x")) == "\n");
  CHECK(fmt_render("plain text", msg("x")) == "plain text\n");
  CHECK(fmt_render("%p", msg(std::string_view("\0\xff", 2))) == std::string("\0\xff\n", 3));
  CHECK(fmt_render("%x", msg(std::string_view("\0\xff", 2))) == "00ff\n");
  CHECK(fmt_render("%m %q", msg("x", "t", 2, false, 65535)) == "65535 2\n");
}

TEST_CASE("-F: widths, flags and precision (spec example 2)")
{
  CHECK(fmt_render("[%10t][%-10t][%.2t][%8.3t][%010p][%-10p][%3p][%5l][%-5l][%05l][%-05l][%5q][%5m][%05m][%010t]",
                   msg("hello"))
        == "[       a/b][a/b       ][a/][     a/b][00000hello][hello     ][hel][    5][5    ][00005][5    ][0][    0]"
           "[00000][       a/b]\n");
  CHECK(fmt_render("[%5%][%-5%][%05%]", msg("x")) == "[%][%][%]\n");
  CHECK(fmt_render("[%.t][%.0t][%2.1t][%-4.2t]", msg("x")) == "[][][ a][a/  ]\n");
  CHECK(fmt_render("[%.3p][%5.1p]", msg("hello")) == "[hello][hello]\n"); // precision ignored for %p
  CHECK(fmt_render("[%5r][%05q]", msg("x", "t", 1, true)) == "[1][1]\n");
  CHECK(fmt_render("[%2l][%1l][%0l]", msg("hello")) == "[ 5][5][5]\n");
  CHECK(fmt_render("[%3l]", msg(std::string(1234, 'x'))) == "[1234]\n");
}

TEST_CASE("-F: %x/%X with a width pad the whole hex (mqtk differs from mosquitto's bug, see README)")
{
  CHECK(fmt_render("[%12x]", msg("hello")) == "[  68656c6c6f]\n");
  CHECK(fmt_render("[%012X]", msg("hello")) == "[0068656C6C6F]\n");
  CHECK(fmt_render("[%-12x]", msg("hello")) == "[68656c6c6f  ]\n");
  CHECK(fmt_render("[%3x]", msg("hello")) == "[68656c6c6f]\n"); // never cut
}

TEST_CASE("-F: MQTT 5 properties print as absent (spec example 8)")
{
  CHECK(fmt_render("[%5A] [%5C] [%5D] [%05E] [%-5F] [%5P] [%5R] [%5S]", msg("x"))
        == "[     ] [     ] [] [00000] [     ] [] [] [     ]\n");
  CHECK(fmt_render("[%A%C%D%E%F%P%R%S]", msg("x")) == "[]\n");
}

TEST_CASE("-F: times")
{
  CHECK(fmt_render("%I", msg("x")) == "2026-11-25T11:46:07+0000\n");
  CHECK(fmt_render("[%.4I][%-26I]", msg("x")) == "[2026][2026-11-25T11:46:07+0000  ]\n");
  CHECK(fmt_render("%U", msg("x")) == "1795607167.137227422\n");
  CHECK(fmt_render("@s|@N|@@|@z|@Z|@Y-@m-@d @H:@M:@S|@j|@e|@k|@p|@P", msg("x"))
        == "1795607167|137227422|@|+0000|UTC|2026-11-25 11:46:07|329|25|11|AM|am\n");
  CHECK(fmt_render("@c", msg("x")) == "Wed Nov 25 11:46:07 2026\n");
  // glibc copies unknown conversions: @Q -> %Q.
  CHECK(fmt_render("@Q|@%", msg("x")) == "%Q|%\n");
  ::setenv("TZ", "America/New_York", 1);
  ::tzset();
  auto f = OutputFormat::compile("@H @z %I", false);
  CHECK(render(f, msg("x")) == "06 -0500 2026-11-25T06:46:07-0500\n");
  utc();
}

TEST_CASE("-F: backslash escapes (spec example 3)")
{
  CHECK(fmt_render("\\\\|\\0|\\a|\\e|\\n|\\r|\\t|\\v|x", msg("x"))
        == std::string("\\|\0|\a|\x1b|\n|\r|\t|\v|x\n", 18));
}

TEST_CASE("-F: bad sequences are usage errors naming the sequence and its position")
{
  auto e = format_error("ab%c");
  CHECK(e.find("-F") == 0);
  CHECK(e.find("'%c'") != std::string::npos);
  CHECK(e.find("position 4") != std::string::npos);
  CHECK(format_error("%0-5t").find("'%-'") != std::string::npos);
  CHECK(format_error("%5.2z").find("'%z'") != std::string::npos);
  for (const char* incomplete : {"%", "%-", "%10", "%.5", "x%0", "%-05."}) {
    CAPTURE(incomplete);
    CHECK(format_error(incomplete).find("incomplete %") != std::string::npos);
  }
  CHECK(format_error("abc%").find("position 4") != std::string::npos);
  CHECK(format_error("x@").find("incomplete @") != std::string::npos);
  CHECK(format_error("x@").find("position 2") != std::string::npos);
  CHECK(format_error("x\\").find("incomplete \\") != std::string::npos);
  e = format_error("ab\\q");
  CHECK(e.find("'\\q'") != std::string::npos);
  CHECK(e.find("position 3") != std::string::npos);
  CHECK(format_error("\\x").find("'\\x'") != std::string::npos);
  CHECK(format_error("%t@@\\n%%@Q") == "");
}

TEST_CASE("%j: mosquitto's object")
{
  CHECK(fmt_render("%j", msg("hello")) == R"({"tst":")" + tst
                                              + R"(","topic":"a/b","qos":0,"retain":0,"payloadlen":5,"payload":"hello"})"
                                                "\n");
  // mid only when qos > 0; retain is a number.
  CHECK(fmt_render("%j", msg("keep", "ret/x", 1, true, 7))
        == R"({"tst":")" + tst
             + R"(","topic":"ret/x","qos":1,"retain":1,"payloadlen":4,"mid":7,"payload":"keep"})"
               "\n");
  // An empty payload is null.
  CHECK(fmt_render("%j|%J|%p|%l|%x", msg(""))
        == R"({"tst":")" + tst + R"(","topic":"a/b","qos":0,"retain":0,"payloadlen":0,"payload":null}|{"tst":")" + tst
             + R"(","topic":"a/b","qos":0,"retain":0,"payloadlen":0,"payload":null}||0|)"
               "\n");
  // Escaping of payload and topic.
  CHECK(fmt_render("%j", msg("a\nb\"c\\d\x01\x7f\xc3\xa9\te", "q\"t"))
        == R"({"tst":")" + tst
             + R"(","topic":"q\"t","qos":0,"retain":0,"payloadlen":13,"payload":"a\nb\"c\\d\u0001)"
               "\x7f\xc3\xa9"
               R"(\te"})"
               "\n");
}

TEST_CASE("%j: payloads that are not UTF-8 become payload_base64 (mqtk differs: stays valid JSON)")
{
  CHECK(fmt_render("%j", msg("\xff\xfe"))
        == R"({"tst":")" + tst + R"(","topic":"a/b","qos":0,"retain":0,"payloadlen":2,"payload_base64":"//4="})"
                                 "\n");
  // mqtk does not cut at a NUL either (mosquitto does).
  CHECK(fmt_render("%j", msg(std::string_view("a\0b", 3)))
        == R"({"tst":")" + tst + R"(","topic":"a/b","qos":0,"retain":0,"payloadlen":3,"payload":"a\u0000b"})"
                                 "\n");
}

TEST_CASE("%J: the payload as JSON, numbers kept as written (mqtk differs: no %.15g)")
{
  CHECK(fmt_render("%J", msg(R"({"a": [1, 2.50, "x"], "b":null})", "a/b", 2, false, 1))
        == R"({"tst":")" + tst
             + R"(","topic":"a/b","qos":2,"retain":0,"payloadlen":31,"mid":1,"payload":{"a":[1,2.50,"x"],"b":null}})"
               "\n");
  CHECK(fmt_render("%J", msg(" 1e400 "))
        == R"({"tst":")" + tst + R"(","topic":"a/b","qos":0,"retain":0,"payloadlen":7,"payload":1e400})"
                                 "\n");
  // Not JSON: the object is left out, the rest of the format is printed.
  CHECK(fmt_render("<%J>%t", msg("not json")) == "<>a/b\n");
  CHECK(fmt_render("<%J>", msg(std::string_view("{}\0", 3)))
        == "<>\n");
}

TEST_CASE("--pretty: cJSON's layout for %j and %J (spec example 7)")
{
  CHECK(fmt_render("%J", msg(R"({"a": [1, 2, "x"], "b":null})", "a/b", 2, false, 1), true)
        == "{\n\t\"tst\":\t\"" + tst
             + "\",\n\t\"topic\":\t\"a/b\",\n\t\"qos\":\t2,\n\t\"retain\":\t0,\n\t\"payloadlen\":\t28,\n\t\"mid\":\t1,"
               "\n\t\"payload\":\t{\n\t\t\"a\":\t[1, 2, \"x\"],\n\t\t\"b\":\tnull\n\t}\n}\n");
  CHECK(fmt_render("%J", msg(R"([{"x":1},[2,{}]])"), true)
        == "{\n\t\"tst\":\t\"" + tst
             + "\",\n\t\"topic\":\t\"a/b\",\n\t\"qos\":\t0,\n\t\"retain\":\t0,\n\t\"payloadlen\":\t16,"
               "\n\t\"payload\":\t[{\n\t\t\t\"x\":\t1\n\t\t}, [2, {\n\t\t\t}]]\n}\n");
  // Strings holding structural characters are copied untouched.
  CHECK(fmt_render("%J", msg(R"({"k,{":"v:}[\"]"})"), true).find("\"k,{\":\t\"v:}[\\\"]\"") != std::string::npos);
  // --pretty affects %j/%J only.
  CHECK(fmt_render("%t:%p", msg("{\"a\":1}"), true) == "a/b:{\"a\":1}\n");
}

TEST_CASE("append_pretty_json directly")
{
  auto pretty = [](std::string_view compact) {
    std::string out;
    mqtk::append_pretty_json(out, compact);
    return out;
  };
  CHECK(pretty("{}") == "{\n}");
  CHECK(pretty("[]") == "[]");
  CHECK(pretty("{\"a\":{}}") == "{\n\t\"a\":\t{\n\t}\n}");
  CHECK(pretty("{\"a\":[]}") == "{\n\t\"a\":\t[]\n}");
  CHECK(pretty("[1,[2,3],{\"b\":\"x\\\"y\"}]") == "[1, [2, 3], {\n\t\t\"b\":\t\"x\\\"y\"\n\t}]");
}

TEST_CASE("JSON Lines (-j)")
{
  auto j = OutputFormat::json_lines(false);
  const std::string head = R"({"tst":"2026-11-25T11:46:07.137227Z","topic":"a/b","qos":0,"retain":false,)";
  CHECK(render(j, msg(R"( {"x": 1.50, "y": [1, 2]} )")) == head + R"("payload":{"x":1.50,"y":[1,2]}})" "\n");
  CHECK(render(j, msg("plain text")) == head + R"("payload":"plain text"})" "\n");
  CHECK(render(j, msg("two\nlines")) == head + R"("payload":"two\nlines"})" "\n");
  CHECK(render(j, msg("")) == head + R"("payload":""})" "\n");
  CHECK(render(j, msg("\xff\xfe")) == head + R"("payload_base64":"//4="})" "\n");
  CHECK(render(j, msg(std::string_view("a\0b", 3))) == head + R"("payload":"a\u0000b"})" "\n");
  CHECK(render(j, msg("42")) == head + R"("payload":42})" "\n");
  CHECK(render(j, msg("\"s\"")) == head + R"("payload":"s"})" "\n");
  CHECK(render(j, msg("[1,")) == head + R"("payload":"[1,"})" "\n");
  CHECK(render(j, msg("x", "a/b", 1, true, 3))
        == R"({"tst":"2026-11-25T11:46:07.137227Z","topic":"a/b","qos":1,"retain":true,"payload":"x"})" "\n");
  CHECK(render(j, msg("x", "t\"\n")).find(R"("topic":"t\"\n")") != std::string::npos);
  auto pj = OutputFormat::json_lines(true);
  CHECK(render(pj, msg("{\"a\":1}"))
        == "{\n\t\"tst\":\t\"2026-11-25T11:46:07.137227Z\",\n\t\"topic\":\t\"a/b\",\n\t\"qos\":\t0,"
           "\n\t\"retain\":\tfalse,\n\t\"payload\":\t{\n\t\t\"a\":\t1\n\t}\n}\n");
  CHECK(render(pj, msg("\xff")).find("\"payload_base64\":\t\"/w==\"") != std::string::npos);
}

TEST_CASE("-F: %{EXPR} prints an expression's value as jq -r would")
{
  const auto json = msg(R"({"ax":-3,"ay":1.50,"name":"b\u00f6b","ok":true,"n":null,"o":{ "a" : [1, 2] },"big":1e16})");
  CHECK(fmt_render("%t,%{.ax},%{sqrt(.ax*.ax)},%{.ay},%{.name},%{.ok},%{.n},%{.o},%{.big}", json)
        == "a/b,-3,3,1.5,b\xC3\xB6"
           "b,true,null,{\"a\":[1,2]},10000000000000000\n");
  CHECK(fmt_render("%{.missing}|%{.ax > 1}|%{.ax / 0}|%{topic}|%{.o.a[1]}", json) == "|false||a/b|2\n");
  CHECK(fmt_render("%{sqrt(2)}", json) == "1.4142135623730951\n");
  // Text and binary payloads: fields are undefined, the root is the payload.
  CHECK(fmt_render("[%{.ax}][%{.}]", msg("plain text")) == "[][plain text]\n");
  CHECK(fmt_render("[%{.ax}][%{. * 2}]", msg("21")) == "[][42]\n");
  CHECK(fmt_render("[%{.ax}]", msg("\xFF\x00\x01")) == "[]\n");
  // A '}' inside a quoted string belongs to the expression.
  CHECK(fmt_render(R"(%{.["a}b"]})", msg(R"({"a}b":7})")) == "7\n");
  // mosquitto's sequences keep their meaning; %% then { is literal.
  CHECK(fmt_render("%%{x} %t", json) == "%{x} a/b\n");
  CHECK(format_error("%{.ax") == "-F: %{ without its closing } at position 1 in '%{.ax'");
  CHECK(format_error("%{.ax >}").rfind("-F %{...}: ", 0) == 0);
}
