#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <string>
#include <string_view>
#include <vector>

#include "mqtk/rules/filter_expression.hpp"
#include "mqtk/rules/payload_value.hpp"

namespace mqtk {

// When mqtk-sub raises an alert: `--alert-when EXPR [--edge] [--rearm EXPR]
// [--cooldown SECONDS]`. The rule is armed at start and fires on a message
// when it is armed, `when` holds (undefined counts as false) and the
// cooldown has passed:
//   level (default): it never disarms, so every such message alerts.
//   --edge:  an alert disarms it; a message on which `when` does not hold
//            re-arms it. So it alerts when `when` turns from false to true,
//            and the first message counts as such a turn.
//   --rearm: an alert disarms it; a message on which `rearm` holds re-arms
//            it (hysteresis, e.g. when '.x > 2', rearm '.x < 1.5'). The
//            re-arming message may itself alert. --edge adds nothing to
//            --rearm and is ignored with it.
// The cooldown counts from the last alert. A message that would have
// alerted but for the cooldown is counted as suppressed and leaves the rule
// armed, so an edge or re-armed episode that still holds when the cooldown
// ends alerts then (on the first message after it), instead of being lost.
//
// The state (armed, last alert) is kept per topic, so `-t 'lab/+/accel'
// --edge` alerts once per board: for at most max_topics topics, the least
// recently seen forgotten beyond that (it starts armed when it comes back).
// `shared` keeps one state for every topic instead.
class AlertRule
{
public:
  static constexpr std::size_t max_topics = 10000;

  // Throws UsageError when cooldown is negative or not finite.
  AlertRule(FilterExpression when, std::optional<FilterExpression> rearm, bool edge,
            std::chrono::duration<double> cooldown, bool shared = false);
  // Not copyable: the topic index views the list's strings. Moving keeps
  // them (list nodes stay where they are).
  AlertRule(const AlertRule&) = delete;
  AlertRule& operator=(const AlertRule&) = delete;
  AlertRule(AlertRule&&) = default;
  AlertRule& operator=(AlertRule&&) = default;

  // Whether the message in value, received at now, raises an alert; updates
  // the state of its topic. Reuses value's payload scan for both
  // expressions. Throws only std::bad_alloc.
  bool should_alert(PayloadValue& value, std::chrono::steady_clock::time_point now);

  // Topics whose state is kept now.
  std::size_t topics() const noexcept { return m_topics.size(); }
  // Topics that had an alert held back by the cooldown (1 when shared).
  std::uint64_t suppressed_topics() const noexcept { return m_suppressed_topics; }
  // Topic states forgotten because more than max_topics were seen.
  std::uint64_t forgotten() const noexcept { return m_forgotten; }

  // Alerts raised so far.
  std::uint64_t alerts() const noexcept { return m_alerts; }

  // Messages that would have alerted but fell inside the cooldown.
  std::uint64_t suppressed() const noexcept { return m_suppressed; }

  // The alert condition (its text() goes into the default alert object).
  const FilterExpression& when() const noexcept { return m_when; }
  const std::optional<FilterExpression>& rearm() const noexcept { return m_rearm; }

private:
  FilterExpression m_when;
  std::optional<FilterExpression> m_rearm;
  bool m_edge;
  std::chrono::duration<double> m_cooldown;
  bool m_shared;

  struct State
  {
    bool armed = true;
    bool alerted = false; // last_alert is set
    bool held_back = false; // the cooldown held back one of its alerts
    std::chrono::steady_clock::time_point last_alert{};
  };
  struct Hash
  {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Entry = std::pair<std::string, State>;
  State& state_of(std::string_view topic);

  State m_state; // the shared one
  // Most recently seen first; the map points into the list.
  std::list<Entry> m_recent;
  std::unordered_map<std::string_view, std::list<Entry>::iterator, Hash, std::equal_to<>> m_topics;
  std::uint64_t m_alerts = 0;
  std::uint64_t m_suppressed_topics = 0;
  std::uint64_t m_forgotten = 0;
  std::uint64_t m_suppressed = 0;
};

// How an alert is printed: `--alert-message TEMPLATE`, or by default one
// JSON object per alert. Compiled once; render() never throws except
// std::bad_alloc.
class AlertTemplate
{
public:
  // Compiles a template with the placeholders {topic}, {payload} (raw
  // bytes), {tst} (receive time, ISO-8601 UTC with microseconds,
  // 2026-11-25T11:46:15.733847Z) and {.path} (the value at a jq-style path,
  // like `jq -r`: strings unquoted, other values as JSON text, the root of a
  // non-JSON payload as the payload itself; a missing path renders as
  // nothing); `{{` and `}}` stand for literal braces. Throws UsageError
  // naming option_name and the 1-based column of an unknown placeholder,
  // a bad path or an unmatched brace.
  static AlertTemplate parse(std::string_view text, std::string_view option_name = "--alert-message");

  // The default alert: a one-line JSON object with keys in this order:
  // "alert" (alert_text, e.g. the --alert-when expression, as a string),
  // "topic", "tst" (as {tst}), then "payload" (its JSON value when the
  // payload is JSON, else its text when valid UTF-8) or "payload_base64".
  static AlertTemplate json_object(std::string_view alert_text);

  // Appends the alert for value's message, received at tst, to out, without
  // a trailing newline.
  void render(PayloadValue& value, std::chrono::system_clock::time_point tst, std::string& out) const;

private:
  struct Part
  {
    enum class Kind : std::uint8_t { literal, topic, payload, tst, path };
    Kind kind = Kind::literal;
    std::string literal; // the text, when kind is literal
    JsonPath path;       // when kind is path
  };

  bool m_json = false;
  std::string m_alert_text; // "alert" member of the JSON object
  std::vector<Part> m_parts;
};


} // namespace mqtk
