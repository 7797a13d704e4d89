#pragma once

#include "mqtk/rules/alert_rule.hpp"
#include "mqtk/rules/filter_expression.hpp"
#include "mqtk/mqtt/message.hpp"
#include "mqtk/rules/payload_value.hpp"
#include "mqtk/rules/rate_limiter.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace mqtk {

// The threshold-filter and alert flags shared by mqtk-pub and mqtk-sub,
// as typed.
struct RuleOptions
{
  // Optional so that an empty expression ('') is refused, not ignored.
  std::optional<std::string> where;
  std::optional<std::string> alert_topic;
  std::optional<std::string> alert_when;
  std::optional<std::string> alert_message;
  bool edge = false;
  std::optional<std::string> rearm;
  double cooldown = 0.0; // seconds
  double rate = 0.0;     // data messages per second, 0: unlimited
  bool shared_state = false; // --shared-alert-state: one alert state for every topic
};

// Declares --where, --alert-topic, --alert-when, --alert-message, --edge,
// --rearm, --cooldown and --rate in a "Filters and alerts" group.
void add_rule_options(CLI::App& app, RuleOptions& options);

// The compiled rules, evaluated once per message. The payload is parsed at
// most once per message and only as far as the expressions need.
class MessageRules
{
public:
  // Compiles and checks the options: malformed expressions, an alert topic
  // without a condition (or the reverse), --edge/--rearm/--cooldown/
  // --alert-message without --alert-when, a bad alert topic. Throws
  // UsageError before anything connects.
  // With `alerts_run_commands` (mqtk-sub --exec-on alert) an alert needs no
  // --alert-topic: it may only run the command.
  static MessageRules compile(const RuleOptions& options, bool alerts_run_commands = false);

  // What to do with one message.
  struct Decision
  {
    bool pass = true;   // matches --where and is within --rate
    bool alert = false; // an alert was rendered into the caller's buffer
  };

  // Evaluates the message received/read at the given times. When an alert
  // fires, its payload is written to `alert_payload` (cleared first).
  // Never throws except std::bad_alloc.
  Decision evaluate(const MessageView& message, std::chrono::steady_clock::time_point now,
                    std::chrono::system_clock::time_point wall, std::string& alert_payload);

  // The flag (--where, --alert-when or --rearm) whose expression reads an
  // MQTT 5 property, or nullptr.
  const char* property_reader() const noexcept;

  // True when any rule was given (else evaluate() always passes).
  bool active() const noexcept { return m_where || m_alert || m_rate; }
  bool has_alerts() const noexcept { return static_cast<bool>(m_alert); }
  // Where alerts are published; "" when they only run a command.
  const std::string& alert_topic() const noexcept { return m_alert_topic; }

  // Writes one stderr line per kind of message held back (--rate drops,
  // --cooldown suppressions), prefixed with `tool`; nothing if none.
  void report(std::string_view tool) const;

  // Messages dropped by --rate so far.
  std::uint64_t rate_dropped() const noexcept { return m_rate ? m_rate->dropped() : 0; }
  // Alerts held back by --cooldown so far.
  std::uint64_t alerts_suppressed() const noexcept { return m_alert ? m_alert->suppressed() : 0; }

private:
  std::optional<FilterExpression> m_where;
  std::optional<AlertRule> m_alert;
  std::optional<AlertTemplate> m_template;
  std::optional<RateLimiter> m_rate;
  std::string m_alert_topic;
  PayloadValue m_value{MessageView{}};
};

} // namespace mqtk
