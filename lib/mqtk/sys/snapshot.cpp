#include "mqtk/sys/snapshot.hpp"

#include <cmath>

#include <fmt/format.h>

namespace mqtk {

namespace {

using Kind = SysMetric::Kind;

// Integers as integers ("clients":3, not 3.0).
nlohmann::ordered_json number(double v)
{
  if (std::floor(v) == v && std::fabs(v) < 9.0e15) {
    return static_cast<std::int64_t>(v);
  }
  return v;
}

double rounded(double v, int digits)
{
  const double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}

// A label value as the exposition format wants it: \\, \" and \n escaped.
std::string label_value(std::string_view text)
{
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string sample(double v)
{
  if (std::floor(v) == v && std::fabs(v) < 9.0e15) {
    return fmt::format("{}", static_cast<std::int64_t>(v));
  }
  return fmt::format("{}", v);
}

} // namespace

nlohmann::ordered_json snapshot_json(const BrokerModel& m, bool connected, BrokerModel::Clock::time_point now)
{
  nlohmann::ordered_json j;
  auto& broker = j["broker"];
  broker = nlohmann::ordered_json::object();
  if (m.version()) {
    broker["version"] = *m.version();
  }
  if (m.uptime_seconds()) {
    broker["uptime_seconds"] = number(*m.uptime_seconds());
  }
  const bool stale = m.stale(now);
  broker["up"] = connected && m.any() && !stale;
  broker["stale"] = stale;
  if (m.interval_seconds()) {
    broker["interval_seconds"] = number(*m.interval_seconds());
  }
  if (auto since = m.seconds_since_update(now)) {
    broker["seconds_since_update"] = rounded(*since, 3);
  }
  broker["restarts"] = m.restarts();
  const auto& metrics = sys_metrics();
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    if (m.value(i).present) {
      j[std::string(metrics[i].group)][std::string(metrics[i].name)] = number(m.value(i).value);
    }
  }
  auto& rates = j["rates"];
  rates = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    if (metrics[i].kind == Kind::counter) {
      auto r = m.rate(i);
      rates[std::string(metrics[i].rate)] = r ? nlohmann::ordered_json(rounded(*r, 3)) : nlohmann::ordered_json();
    }
  }
  if (!m.loads().empty()) {
    auto& load = j["load"];
    for (const auto& l : m.loads()) {
      auto& o = load[l.name];
      o = nlohmann::ordered_json::object();
      if (l.m1) {
        o["1min"] = *l.m1;
      }
      if (l.m5) {
        o["5min"] = *l.m5;
      }
      if (l.m15) {
        o["15min"] = *l.m15;
      }
    }
  }
  if (!m.bridges().empty()) {
    auto& bridges = j["bridges"];
    for (const auto& [name, state] : m.bridges()) {
      bridges[name] = {{"connected", state == 1}};
    }
  }
  if (!m.other().empty()) {
    auto& other = j["other"];
    for (const auto& [topic, text] : m.other()) {
      other[topic] = text;
    }
  }
  if (m.other_dropped() > 0) {
    j["other_dropped"] = m.other_dropped();
  }
  return j;
}

std::string prometheus_text(const BrokerModel& m, bool connected, BrokerModel::Clock::time_point now,
                            std::chrono::system_clock::time_point wall_now)
{
  std::string out;
  auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP mqtt_broker_{} {}\n# TYPE mqtt_broker_{} {}\n", name, help, name,
                   type);
  };
  const bool stale = m.stale(now);
  family("up", "gauge", "1 when the broker is connected and its $SYS updates arrive, else 0");
  fmt::format_to(std::back_inserter(out), "mqtt_broker_up {}\n", connected && m.any() && !stale ? 1 : 0);
  if (m.version()) {
    family("info", "gauge", "The broker's version, as a label");
    fmt::format_to(std::back_inserter(out), "mqtt_broker_info{{version=\"{}\"}} 1\n", label_value(*m.version()));
  }
  if (m.uptime_seconds()) {
    family("uptime_seconds", "gauge", "Seconds since the broker started");
    fmt::format_to(std::back_inserter(out), "mqtt_broker_uptime_seconds {}\n", sample(*m.uptime_seconds()));
  }
  if (auto since = m.seconds_since_update(now)) {
    family("last_update_timestamp_seconds", "gauge", "Unix time of the last $SYS update received");
    const double wall = std::chrono::duration<double>(wall_now.time_since_epoch()).count() - *since;
    fmt::format_to(std::back_inserter(out), "mqtt_broker_last_update_timestamp_seconds {:.3f}\n", wall);
  }
  if (m.interval_seconds()) {
    family("update_interval_seconds", "gauge", "Seconds between the broker's $SYS updates, as learnt");
    fmt::format_to(std::back_inserter(out), "mqtt_broker_update_interval_seconds {}\n", sample(*m.interval_seconds()));
  }
  family("restarts_seen_total", "counter", "Broker restarts seen while monitoring");
  fmt::format_to(std::back_inserter(out), "mqtt_broker_restarts_seen_total {}\n", m.restarts());
  const auto& metrics = sys_metrics();
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    if (!m.value(i).present) {
      continue;
    }
    const bool counter = metrics[i].kind == Kind::counter;
    const std::string name = fmt::format("{}{}", metrics[i].prometheus, counter ? "_total" : "");
    family(name, counter ? "counter" : "gauge", metrics[i].help);
    fmt::format_to(std::back_inserter(out), "mqtt_broker_{} {}\n", name, sample(m.value(i).value));
  }
  if (!m.loads().empty()) {
    for (const auto& l : m.loads()) {
      const std::string name = fmt::format("load_{}_per_minute", l.name);
      family(name, "gauge", "The broker's own moving average per minute, by window");
      for (const auto& [window, v] : {std::pair{"1m", l.m1}, std::pair{"5m", l.m5}, std::pair{"15m", l.m15}}) {
        if (v) {
          fmt::format_to(std::back_inserter(out), "mqtt_broker_{}{{window=\"{}\"}} {}\n", name, window, sample(*v));
        }
      }
    }
  }
  if (!m.bridges().empty()) {
    family("bridge_connected", "gauge", "1 when the bridge is connected");
    for (const auto& [name, state] : m.bridges()) {
      fmt::format_to(std::back_inserter(out), "mqtt_broker_bridge_connected{{bridge=\"{}\"}} {}\n", label_value(name),
                     state);
    }
  }
  return out;
}

} // namespace mqtk
