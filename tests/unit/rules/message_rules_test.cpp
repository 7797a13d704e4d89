#include "mqtk/process/error.hpp"
#include "mqtk/rules/message_rules.hpp"

#include <doctest/doctest.h>

using namespace mqtk;
using namespace std::chrono_literals;

namespace {

struct Clock
{
  std::chrono::steady_clock::time_point now{};
  std::chrono::system_clock::time_point wall{};
};

MessageRules::Decision run(MessageRules& rules, std::string_view payload, std::string& alert, Clock& c,
                           std::string_view topic = "s/1")
{
  c.now += 10ms;
  return rules.evaluate(MessageView{topic, payload, 0, false, 0}, c.now, c.wall, alert);
}

} // namespace

TEST_CASE("message_rules: no rules pass everything")
{
  auto rules = MessageRules::compile({});
  CHECK_FALSE(rules.active());
  std::string alert;
  Clock c;
  CHECK(run(rules, "anything", alert, c).pass);
}

TEST_CASE("message_rules: --where filters, alerts see every message")
{
  RuleOptions o;
  o.where = ".x > 1";
  o.alert_topic = "alerts";
  o.alert_when = ".x > 5";
  o.alert_message = "x={.x} on {topic}";
  auto rules = MessageRules::compile(o);
  std::string alert;
  Clock c;
  auto d = run(rules, R"({"x": 0.5})", alert, c);
  CHECK_FALSE(d.pass);
  CHECK_FALSE(d.alert);
  d = run(rules, R"({"x": 7.25})", alert, c);
  CHECK(d.pass);
  CHECK(d.alert);
  CHECK(alert == "x=7.25 on s/1");
  d = run(rules, "not json", alert, c);
  CHECK_FALSE(d.pass);
  CHECK_FALSE(d.alert);
}

TEST_CASE("message_rules: --edge with --rearm gives hysteresis")
{
  RuleOptions o;
  o.alert_topic = "a";
  o.alert_when = ". > 2";
  o.rearm = ". < 1.5";
  auto rules = MessageRules::compile(o);
  std::string alert;
  Clock c;
  std::vector<int> fired;
  for (auto v : {"3", "3", "1.8", "2.5", "1.0", "2.1", "2.2"}) {
    fired.push_back(run(rules, v, alert, c).alert ? 1 : 0);
  }
  CHECK(fired == std::vector<int>{1, 0, 0, 0, 0, 1, 0});
}

TEST_CASE("message_rules: --rate drops excess data messages")
{
  RuleOptions o;
  o.rate = 10; // one per 100 ms
  auto rules = MessageRules::compile(o);
  std::string alert;
  Clock c;
  int passed = 0;
  for (int i = 0; i < 100; ++i) { // 1 s at 10 ms spacing
    passed += run(rules, "1", alert, c).pass ? 1 : 0;
  }
  CHECK(passed == 10);
  CHECK(rules.rate_dropped() == 90);
}

TEST_CASE("message_rules: bad combinations are usage errors")
{
  auto fails_with = [](RuleOptions o, const char* text) {
    CHECK_THROWS_WITH_AS(MessageRules::compile(o), doctest::Contains(text), UsageError);
  };
  RuleOptions o;
  o.alert_topic = "a";
  fails_with(o, "--alert-topic needs --alert-when");
  o = {};
  o.alert_when = ".x > 1";
  fails_with(o, "--alert-when needs --alert-topic");
  o = {};
  o.edge = true;
  fails_with(o, "need --alert-when");
  o = {};
  o.alert_topic = std::string("a/+");
  o.alert_when = ".x > 1";
  fails_with(o, "wildcard");
  o = {};
  o.where = ".x >";
  fails_with(o, "column 5");
}

TEST_CASE("message_rules: alerts that only run a command need no --alert-topic")
{
  RuleOptions o;
  o.alert_when = ". == 1";
  o.edge = true;
  auto rules = MessageRules::compile(o, true);
  CHECK(rules.has_alerts());
  CHECK(rules.alert_topic().empty());
  std::string alert;
  Clock c;
  CHECK(run(rules, "1", alert, c).alert);
  CHECK_FALSE(run(rules, "1", alert, c).alert); // --edge: once per opening
  CHECK_FALSE(run(rules, "0", alert, c).alert);
  CHECK(run(rules, "1", alert, c).alert);
  o = {};
  o.edge = true;
  CHECK_THROWS_WITH_AS(MessageRules::compile(o, true),
                       "--edge, --rearm, --cooldown, --alert-message and --shared-alert-state need --alert-when",
                       UsageError);
}
