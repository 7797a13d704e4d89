#include "mqtk/rules/message_rules.hpp"
#include "mqtk/process/option_values.hpp"

#include "mqtk/process/error.hpp"
#include "mqtk/mqtt/topic.hpp"

#include <cmath>

#include <limits>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace mqtk {

void add_rule_options(CLI::App& app, RuleOptions& o)
{
  auto* g = app.add_option_group("Filters and alerts", "Conditions on the payload (see EXPRESSIONS in the manual)");
  g->add_option("--where", o.where, "Only messages matching EXPR, e.g. 'abs(.ax) > 1.5'")
    ->type_name("EXPR");
  g->add_option("--alert-topic", o.alert_topic, "Publish an alert to this topic when --alert-when holds")
    ->type_name("TOPIC");
  g->add_option("--alert-when", o.alert_when, "Condition that raises an alert, e.g. '.temp > 30'")
    ->type_name("EXPR");
  g->add_option("--alert-message", o.alert_message,
                "Alert payload template: {topic} {payload} {tst} {.path} (default: a JSON object)")
    ->type_name("TEMPLATE");
  g->add_flag("--edge", o.edge, "Alert only when the condition turns from false to true");
  g->add_option("--rearm", o.rearm, "After an alert, wait for this condition before the next one (hysteresis)")
    ->type_name("EXPR");
  g->add_flag("--shared-alert-state", o.shared_state,
              "--edge, --rearm and --cooldown keep one state for every topic (default: one per topic)");
  g->add_option("--cooldown", o.cooldown, "Seconds without alerts after an alert (per topic)")
    ->check(number_in(0, std::numeric_limits<double>::max(), "seconds, 0 or more"))
    ->type_name("SECONDS");
  g->add_option("--rate", o.rate, "At most N data messages per second (excess dropped)")
    ->check(number_in(0.000001, 1e9, "messages per second from 0.000001 to 1000000000"))
    ->type_name("N");
}

MessageRules MessageRules::compile(const RuleOptions& o, bool alerts_run_commands)
{
  MessageRules rules;
  if (o.where) {
    rules.m_where = FilterExpression::parse(*o.where, "--where");
  }
  if (!o.alert_when) {
    if (o.alert_topic) {
      throw UsageError("--alert-topic needs --alert-when (the condition that raises an alert)");
    }
    if (o.edge || o.rearm || o.cooldown > 0 || o.alert_message || o.shared_state) {
      throw UsageError(alerts_run_commands
                         ? "--edge, --rearm, --cooldown, --alert-message and --shared-alert-state need --alert-when"
                         : "--edge, --rearm, --cooldown, --alert-message and --shared-alert-state need --alert-when "
                           "and --alert-topic");
    }
  } else {
    if (!o.alert_topic && !alerts_run_commands) {
      throw UsageError("--alert-when needs --alert-topic (where to publish the alerts)");
    }
    if (!o.alert_topic && o.alert_message) {
      throw UsageError("--alert-message needs --alert-topic: an alert that only runs a command (--exec-on alert) "
                       "gives it the message that raised the alert");
    }
    if (o.alert_topic) {
      validate_publish_topic(*o.alert_topic, "--alert-topic");
    }
    std::optional<FilterExpression> rearm;
    if (o.rearm) {
      rearm = FilterExpression::parse(*o.rearm, "--rearm");
    }
    rules.m_alert.emplace(FilterExpression::parse(*o.alert_when, "--alert-when"), std::move(rearm), o.edge,
                          std::chrono::duration<double>(o.cooldown), o.shared_state);
    rules.m_template = o.alert_message ? AlertTemplate::parse(*o.alert_message, "--alert-message")
                                       : AlertTemplate::json_object(*o.alert_when);
    rules.m_alert_topic = o.alert_topic.value_or("");
  }
  if (o.rate > 0) {
    rules.m_rate.emplace(o.rate);
  }
  return rules;
}

const char* MessageRules::property_reader() const noexcept
{
  if (m_where && m_where->uses_properties()) {
    return "--where";
  }
  if (m_alert && m_alert->when().uses_properties()) {
    return "--alert-when";
  }
  if (m_alert && m_alert->rearm() && m_alert->rearm()->uses_properties()) {
    return "--rearm";
  }
  return nullptr;
}

void MessageRules::report(std::string_view tool) const
{
  if (rate_dropped() > 0) {
    fmt::print(stderr, "{}: --rate dropped {} message{}\n", tool, rate_dropped(), rate_dropped() == 1 ? "" : "s");
  }
  if (alerts_suppressed() > 0) {
    // Per topic, say over how many (a forgotten topic that comes back
    // counts again).
    const std::uint64_t topics = m_alert->suppressed_topics();
    fmt::print(stderr, "{}: --cooldown held back {} alert{}{}\n", tool, alerts_suppressed(),
               alerts_suppressed() == 1 ? "" : "s",
               topics > 1 ? fmt::format(" on {} topics", topics) : std::string());
  }
  if (m_alert && m_alert->forgotten() > 0) {
    fmt::print(stderr, "{}: alert state forgotten for {} topic{} (more than {} seen; they started armed again)\n",
               tool, m_alert->forgotten(), m_alert->forgotten() == 1 ? "" : "s", AlertRule::max_topics);
  }
}

MessageRules::Decision MessageRules::evaluate(const MessageView& message, std::chrono::steady_clock::time_point now,
                                              std::chrono::system_clock::time_point wall,
                                              std::string& alert_payload)
{
  Decision d;
  if (!active()) {
    return d;
  }
  m_value.reset(message);
  if (m_where) {
    d.pass = m_where->matches(m_value);
  }
  // Alerts look at every message, not only those --where lets through:
  // raw data and alerts are independent streams.
  if (m_alert && m_alert->should_alert(m_value, now)) {
    alert_payload.clear();
    m_template->render(m_value, wall, alert_payload);
    d.alert = true;
  }
  if (d.pass && m_rate) {
    d.pass = m_rate->allow(now);
  }
  return d;
}

} // namespace mqtk
