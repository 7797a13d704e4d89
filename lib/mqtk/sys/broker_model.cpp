#include "mqtk/sys/broker_model.hpp"

#include "mqtk/output/json_text.hpp"

#include <algorithm>
#include <charconv>

namespace mqtk {

namespace {

using Kind = SysMetric::Kind;
constexpr std::string_view prefix = "$SYS/broker/";

// "52", "0.00", "123 seconds": the leading number.
std::optional<double> leading_number(std::string_view text)
{
  while (!text.empty() && text.front() == ' ') {
    text.remove_prefix(1);
  }
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end == text.data()) {
    return std::nullopt;
  }
  std::string_view rest(end, static_cast<std::size_t>(text.data() + text.size() - end));
  if (!rest.empty() && rest.front() != ' ' && rest.front() != '\n' && rest.front() != '\r') {
    return std::nullopt; // "12abc" is not a number
  }
  return v;
}

} // namespace

const std::vector<SysMetric>& sys_metrics()
{
  static const std::vector<SysMetric> metrics = {
    {"clients/connected", "clients", "connected", Kind::gauge, "clients_connected", "Clients connected now", ""},
    {"clients/disconnected", "clients", "disconnected", Kind::gauge, "clients_disconnected",
     "Clients with a persistent session, disconnected", ""},
    {"clients/total", "clients", "total", Kind::gauge, "clients_total_sessions",
     "Clients connected or with a persistent session", ""},
    {"clients/maximum", "clients", "maximum", Kind::gauge, "clients_maximum",
     "Most clients connected at once since the broker started", ""},
    {"clients/expired", "clients", "expired", Kind::counter, "clients_expired",
     "Persistent sessions expired since the broker started", "clients_expired_per_s"},
    {"subscriptions/count", "subscriptions", "count", Kind::gauge, "subscriptions", "Subscriptions active", ""},
    {"shared_subscriptions/count", "subscriptions", "shared", Kind::gauge, "shared_subscriptions",
     "Shared subscriptions active", ""},
    {"retained messages/count", "retained", "messages", Kind::gauge, "retained_messages", "Retained messages held",
     ""},
    {"store/messages/count", "store", "messages", Kind::gauge, "stored_messages",
     "Messages held in the message store", ""},
    {"store/messages/bytes", "store", "bytes", Kind::gauge, "stored_messages_bytes",
     "Payload bytes held in the message store", ""},
    {"messages/received", "messages", "received", Kind::counter, "messages_received",
     "MQTT packets of any kind received", "messages_received_per_s"},
    {"messages/sent", "messages", "sent", Kind::counter, "messages_sent", "MQTT packets of any kind sent",
     "messages_sent_per_s"},
    {"publish/messages/received", "publish", "received", Kind::counter, "publish_messages_received",
     "PUBLISH messages received", "publish_received_per_s"},
    {"publish/messages/sent", "publish", "sent", Kind::counter, "publish_messages_sent", "PUBLISH messages sent",
     "publish_sent_per_s"},
    {"publish/messages/dropped", "publish", "dropped", Kind::counter, "publish_messages_dropped",
     "PUBLISH messages dropped (queues full, clients offline)", "publish_dropped_per_s"},
    {"publish/bytes/received", "publish", "bytes_received", Kind::counter, "publish_received_bytes",
     "PUBLISH payload bytes received", "publish_bytes_received_per_s"},
    {"publish/bytes/sent", "publish", "bytes_sent", Kind::counter, "publish_sent_bytes",
     "PUBLISH payload bytes sent", "publish_bytes_sent_per_s"},
    {"bytes/received", "bytes", "received", Kind::counter, "received_bytes", "Bytes received on every connection",
     "bytes_received_per_s"},
    {"bytes/sent", "bytes", "sent", Kind::counter, "sent_bytes", "Bytes sent on every connection",
     "bytes_sent_per_s"},
    {"heap/current", "heap", "current_bytes", Kind::gauge, "heap_current_bytes", "Heap memory in use", ""},
    {"heap/maximum", "heap", "maximum_bytes", Kind::gauge, "heap_maximum_bytes",
     "Most heap memory in use since the broker started", ""},
  };
  return metrics;
}

std::optional<std::size_t> find_sys_metric(std::string_view topic) noexcept
{
  const auto& metrics = sys_metrics();
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    if (metrics[i].topic == topic) {
      return i;
    }
  }
  return std::nullopt;
}

std::optional<BrokerModel::Clock::time_point> BrokerModel::stale_at() const noexcept
{
  if (!m_uptime_at) {
    return std::nullopt;
  }
  // Until two uptimes have given the interval, a long one is assumed
  // (mosquitto's sys_interval may be anything; 30 s gives 75 s).
  const double limit = m_interval ? std::max(3.0, 2.5 * *m_interval) : 75.0;
  return *m_uptime_at + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limit));
}

bool BrokerModel::stale(Clock::time_point now) const noexcept
{
  const auto at = stale_at();
  return at && now > *at;
}

std::optional<double> BrokerModel::seconds_since_update(Clock::time_point now) const noexcept
{
  if (!m_uptime_at) {
    return std::nullopt;
  }
  return std::chrono::duration<double>(now - *m_uptime_at).count();
}

void BrokerModel::restart_seen()
{
  ++m_restarts;
  m_last_round.reset();
  std::fill(m_rates.begin(), m_rates.end(), std::nullopt);
}

void BrokerModel::update(std::string_view topic, std::string_view payload, Clock::time_point now)
{
  if (topic.substr(0, 5) != "$SYS/") {
    return;
  }
  m_any = true;
  if (topic.substr(0, prefix.size()) == prefix) {
    const std::string_view key = topic.substr(prefix.size());
    if (key == "version") {
      // Kept as text (JSON and Prometheus labels take UTF-8 only).
      m_version = valid_utf8(payload);
      return;
    }
    if (key == "uptime") {
      if (auto u = leading_number(payload)) {
        if (m_uptime && *u < *m_uptime) {
          restart_seen();
          m_interval.reset();
        } else if (m_uptime && *u > *m_uptime) {
          m_interval = *u - *m_uptime;
        }
        m_previous_uptime = m_uptime;
        m_uptime = *u;
        m_uptime_at = now;
        return;
      }
    }
    if (const auto i = find_sys_metric(key)) {
      if (auto v = leading_number(payload)) {
        m_values[*i] = Value{true, *v};
        return;
      }
      // not a number: kept below as it is
    }
    // load/<what>/<dir>/<window>, e.g. load/messages/received/1min or load/sockets/5min.
    if (key.substr(0, 5) == "load/") {
      const std::string_view rest = key.substr(5);
      const auto last = rest.rfind('/');
      const auto v = leading_number(payload);
      if (last != std::string_view::npos && v) {
        // A metric name: anything but [A-Za-z0-9_] becomes '_'.
        std::string name(rest.substr(0, last));
        for (char& c : name) {
          const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
          c = keep ? c : '_';
        }
        const std::string_view window = rest.substr(last + 1);
        auto it = std::find_if(m_loads.begin(), m_loads.end(), [&](const Load& l) { return l.name == name; });
        if (it == m_loads.end() && m_loads.size() < max_other) {
          m_loads.push_back(Load{name, {}, {}, {}});
          it = m_loads.end() - 1;
        }
        if (it != m_loads.end()) {
          if (window == "1min") {
            it->m1 = *v;
            return;
          }
          if (window == "5min") {
            it->m5 = *v;
            return;
          }
          if (window == "15min") {
            it->m15 = *v;
            return;
          }
        }
      }
    }
    // connection/<bridge name>/state: 1 connected, 0 not.
    if (key.substr(0, 11) == "connection/" && key.size() > 17 && key.substr(key.size() - 6) == "/state") {
      const std::string name(key.substr(11, key.size() - 17));
      if (auto v = leading_number(payload); v && (m_bridges.count(name) != 0 || m_bridges.size() < max_other)) {
        m_bridges[name] = *v != 0 ? 1 : 0;
        return;
      }
    }
  }
  auto it = m_other.find(std::string(topic));
  if (it == m_other.end()) {
    if (m_other.size() >= max_other) {
      ++m_other_dropped;
      return;
    }
    it = m_other.emplace(std::string(topic), std::string()).first;
  }
  it->second = valid_utf8(payload, max_other_bytes);
}

void BrokerModel::end_round(Clock::time_point)
{
  if (!m_uptime) {
    return;
  }
  const auto& metrics = sys_metrics();
  RoundValues now_values{*m_uptime, m_values};
  if (m_last_round && now_values.uptime <= m_last_round->uptime) {
    // The same round ended twice (no new uptime): keep the rates.
    m_last_round->counters = m_values;
    return;
  }
  ++m_rounds;
  if (m_last_round) {
    const double seconds = now_values.uptime - m_last_round->uptime;
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      if (metrics[i].kind != Kind::counter) {
        continue;
      }
      const Value& before = m_last_round->counters[i];
      const Value& after = now_values.counters[i];
      if (!before.present || !after.present) {
        continue;
      }
      if (after.value < before.value) {
        restart_seen();
        m_last_round = std::move(now_values);
        return;
      }
      m_rates[i] = (after.value - before.value) / seconds;
    }
  }
  m_last_round = std::move(now_values);
}

} // namespace mqtk
