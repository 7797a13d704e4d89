#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mqtk {

// One value mqtk-sys-monitor knows under $SYS/broker/: where it is in the
// JSON snapshot, its Prometheus name, and whether it only grows (a counter:
// it gets a rate, and going down means the broker restarted).
struct SysMetric
{
  enum class Kind : std::uint8_t { counter, gauge };
  std::string_view topic;  // after "$SYS/broker/": "clients/connected"
  std::string_view group;  // JSON object: "clients"
  std::string_view name;   // JSON member: "connected"
  Kind kind;
  std::string_view prometheus; // without the prefix or _total: "clients_connected"
  std::string_view help;
  // Counters: the member of "rates", e.g. "messages_received_per_s".
  std::string_view rate;
};

// Every $SYS/broker/ value the model knows (mosquitto 2.0's tree), in the
// order snapshots show them.
const std::vector<SysMetric>& sys_metrics();

// The index in sys_metrics() of the value under $SYS/broker/`topic`.
std::optional<std::size_t> find_sys_metric(std::string_view topic) noexcept;

// A broker's health as its $SYS tree tells it, fed one message at a time.
// mosquitto publishes $SYS retained every sys_interval seconds, and only the
// values that changed; "uptime" changes every time, so it is the heartbeat:
// the model learns the interval from successive uptimes and says when
// updates stopped (stale), which is not the same as unchanged. Counters get
// rates per second over each round; a counter that goes down or an uptime
// that goes back means a restart: rates start again and are never negative.
// Unknown $SYS topics are kept as text (at most max_other of them). Topics
// are UTF-8 (as MQTT guarantees); payloads kept as text (the version, the
// unknown topics') are made UTF-8, each stray byte U+FFFD, so that JSON
// and Prometheus take them. Not thread-safe.
class BrokerModel
{
public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t max_other = 256;
  static constexpr std::size_t max_other_bytes = 256; // of each payload kept

  // Takes one $SYS message received at `now`.
  void update(std::string_view topic, std::string_view payload, Clock::time_point now);

  // The current round is complete (the burst after an uptime ended, or the
  // retained burst after subscribing did): rates are computed from it.
  void end_round(Clock::time_point now);

  struct Value
  {
    bool present = false;
    double value = 0;
  };
  struct Load
  {
    std::string name; // "messages_received"
    std::optional<double> m1, m5, m15;
  };

  // What the snapshot shows.
  bool any() const noexcept { return m_any; }
  const std::optional<std::string>& version() const noexcept { return m_version; }
  std::optional<double> uptime_seconds() const noexcept { return m_uptime; }
  // The learnt interval between updates (from two successive uptimes).
  std::optional<double> interval_seconds() const noexcept { return m_interval; }
  // No uptime for 2.5 intervals (3 s at least; 75 s while the interval is
  // not known) after the last one.
  bool stale(Clock::time_point now) const noexcept;
  // When stale() turns true unless an uptime arrives first.
  std::optional<Clock::time_point> stale_at() const noexcept;
  // Seconds since the last uptime arrived, if one has.
  std::optional<double> seconds_since_update(Clock::time_point now) const noexcept;
  std::uint64_t restarts() const noexcept { return m_restarts; }
  std::uint64_t rounds() const noexcept { return m_rounds; }

  const Value& value(std::size_t metric) const noexcept { return m_values[metric]; }
  // Rate per second of counter `metric` over the last round, if known.
  std::optional<double> rate(std::size_t metric) const noexcept { return m_rates[metric]; }
  const std::vector<Load>& loads() const noexcept { return m_loads; }
  // Bridge name -> state (1 connected, 0 not).
  const std::map<std::string, int>& bridges() const noexcept { return m_bridges; }
  // Unknown $SYS topics -> payload text (cut at max_other_bytes, between
  // characters).
  const std::map<std::string, std::string>& other() const noexcept { return m_other; }
  std::uint64_t other_dropped() const noexcept { return m_other_dropped; }

private:
  struct RoundValues
  {
    double uptime = 0;
    std::vector<Value> counters; // indexed like m_values
  };

  void restart_seen();

  bool m_any = false;
  std::optional<std::string> m_version;
  std::optional<double> m_uptime;
  std::optional<double> m_interval;
  std::optional<Clock::time_point> m_uptime_at;
  std::optional<double> m_previous_uptime; // the uptime before m_uptime
  std::uint64_t m_restarts = 0;
  std::uint64_t m_rounds = 0;
  std::vector<Value> m_values = std::vector<Value>(sys_metrics().size());
  std::vector<std::optional<double>> m_rates = std::vector<std::optional<double>>(sys_metrics().size());
  std::optional<RoundValues> m_last_round;
  std::vector<Load> m_loads;
  std::map<std::string, int> m_bridges;
  std::map<std::string, std::string> m_other;
  std::uint64_t m_other_dropped = 0;
};

} // namespace mqtk
