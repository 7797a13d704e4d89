#include <doctest/doctest.h>

#include "mqtk/process/option_values.hpp"

using mqtk::nearest_name;

namespace {

std::string check(const CLI::Validator& v, std::string value)
{
  return v(value);
}

} // namespace

TEST_CASE("option values: plain-word checks")
{
  const auto qos = mqtk::integer_in(0, 2, "0, 1 or 2");
  CHECK(check(qos, "1").empty());
  CHECK(check(qos, "3") == "expected 0, 1 or 2, not '3'");
  CHECK(check(qos, "one") == "expected 0, 1 or 2, not 'one'");
  CHECK(check(qos, "1.0") == "expected 0, 1 or 2, not '1.0'");
  CHECK(check(qos, "") == "expected 0, 1 or 2, not ''");
  CHECK(check(qos, "99999999999999999999") == "expected 0, 1 or 2, not '99999999999999999999'");
  // What is checked is what is stored: decimal, not CLI11's octal.
  std::string port = "010";
  CHECK(mqtk::integer_in(1, 65535, "a port")(port).empty());
  CHECK(port == "10");
  const auto seconds = mqtk::number_in(0, 100, "seconds above 0", true);
  CHECK(check(seconds, "0.5").empty());
  CHECK(check(seconds, "0") == "expected seconds above 0, not '0'");
  CHECK(check(seconds, "nan") == "expected seconds above 0, not 'nan'");
  CHECK(check(seconds, "1e999") == "expected seconds above 0, not '1e999'");
  CHECK(check(seconds, std::string(60, '9')) == "expected seconds above 0, not '" + std::string(40, '9') + "...'");
  const auto format = mqtk::one_of({"live", "text", "json"});
  CHECK(check(format, "json").empty());
  CHECK(check(format, "jsn") == "expected live, text or json, not 'jsn' (did you mean json?)");
  CHECK(check(format, "xml") == "expected live, text or json, not 'xml'");
  // Nothing in --help.
  CHECK(qos.get_description().empty());
}

TEST_CASE("option values: the nearest option name")
{
  const std::vector<std::string> names{"-q", "--qos", "--retained-only", "--timeout", "--topic", "-t"};
  CHECK(nearest_name("--qso", names) == "--qos");
  CHECK(nearest_name("--qos", names) == "--qos");
  CHECK(nearest_name("--timout", names) == "--timeout");
  CHECK(nearest_name("--retain-only", names) == "--retained-only");
  CHECK(nearest_name("--retained", names) == "--retained-only"); // a unique prefix
  CHECK(nearest_name("--t", names) == "-t");
  CHECK(nearest_name("--bogus", names).empty());
  CHECK(nearest_name("-Q", names) == "-q"); // one letter: only its other case
  CHECK(nearest_name("-z", names).empty());
  CHECK(nearest_name("--tim", names) == "--timeout"); // a unique prefix
  CHECK(nearest_name("--to", names) == "--topic");
}

TEST_CASE("option values: an option name is not a value")
{
  CLI::App app;
  std::string where;
  double timeout = 0;
  app.add_option("--where", where);
  app.add_option("-W,--timeout", timeout);
  mqtk::refuse_option_names_as_values(app);
  CHECK_THROWS_WITH_AS(app.parse("--where -W", false),
                       "--where: expected a value, not the option '-W' (give --where's value right after it)",
                       CLI::ValidationError);
  app.clear();
  CHECK_NOTHROW(app.parse("--where '-abs(.x) > 1'", false)); // a negation is an expression
  CHECK(where == "-abs(.x) > 1");
}
