#include "mqtk/bench/bench_result.hpp"

#include "mqtk/output/color.hpp"
#include "mqtk/output/timestamp.hpp"
#include "mqtk/process/error.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include <fmt/format.h>

namespace mqtk {

using nlohmann::json;

DeliveryCounts& DeliveryCounts::operator+=(const DeliveryCounts& other) noexcept
{
  sent += other.sent;
  acknowledged += other.acknowledged;
  expected += other.expected;
  received += other.received;
  unique += other.unique;
  duplicates += other.duplicates;
  reordered += other.reordered;
  too_late += other.too_late;
  lost += other.lost;
  return *this;
}

ConnectionCounts& ConnectionCounts::operator+=(const ConnectionCounts& other)
{
  attempted += other.attempted;
  connected += other.connected;
  refused += other.refused;
  failed += other.failed;
  held += other.held;
  dropped += other.dropped;
  for (const auto& [code, n] : other.connack_codes) {
    connack_codes[code] += n;
  }
  return *this;
}

std::string latency_text(double ns)
{
  if (!(ns >= 0)) {
    ns = 0;
  }
  if (std::round(ns) < 1000) {
    return fmt::format("{:.0f} ns", ns);
  }
  struct Unit
  {
    double scale;
    const char* name;
  };
  static constexpr Unit units[] = {{1e3, "us"}, {1e6, "ms"}, {1e9, "s"}};
  for (const Unit& unit : units) {
    const double v = ns / unit.scale;
    // Decimals chosen on the value as it will be rounded: 9.996 is "10.0".
    const int decimals = v < 9.995 ? 2 : v < 99.95 ? 1 : 0;
    if (v < 999.5 || unit.scale == 1e9) {
      return fmt::format("{:.{}f} {}", v, decimals, unit.name);
    }
  }
  return {}; // not reached: seconds take any size
}

namespace {

DeliveryCounts totals_of(const BenchResult& r) noexcept
{
  DeliveryCounts total;
  for (const auto& q : r.qos) {
    total += q;
  }
  return total;
}

std::uint64_t error_count(const BenchResult& r) noexcept
{
  std::uint64_t n = 0;
  for (const auto& [kind, count] : r.errors) {
    n += count;
  }
  return n;
}

// Microseconds to 3 decimals: ns / 1000 as the double nearest to it.
double micros(double ns)
{
  return std::round(ns) / 1000.0;
}

double micros(std::uint64_t ns)
{
  return static_cast<double>(ns) / 1000.0;
}

std::string iso8601(std::uint64_t unix_ns)
{
  std::string out;
  const std::chrono::nanoseconds since_epoch(static_cast<std::chrono::nanoseconds::rep>(unix_ns));
  append_iso8601_utc(out, std::chrono::system_clock::time_point(
                            std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch)));
  return out;
}

json delivery_json(const DeliveryCounts& d)
{
  return json{{"sent", d.sent},
              {"acknowledged", d.acknowledged},
              {"expected", d.expected},
              {"received", d.received},
              {"unique", d.unique},
              {"duplicates", d.duplicates},
              {"reordered", d.reordered},
              {"too_late", d.too_late},
              {"lost", d.lost}};
}

json latency_json(const LatencyHistogram& h)
{
  return json{{"count", h.count()},
              {"min_us", micros(h.min())},
              {"mean_us", micros(h.mean())},
              {"p50_us", micros(h.percentile(50))},
              {"p90_us", micros(h.percentile(90))},
              {"p99_us", micros(h.percentile(99))},
              {"p99_9_us", micros(h.percentile(99.9))},
              {"max_us", micros(h.max())},
              {"histogram", h.to_json()}};
}

json sample_json(const SecondSample& s)
{
  return json{{"second", s.second},
              {"sent", s.sent},
              {"acknowledged", s.acknowledged},
              {"received", s.received},
              {"connected", s.connected},
              {"errors", s.errors},
              {"p50_us", micros(s.p50_ns)},
              {"p99_us", micros(s.p99_ns)},
              {"max_us", micros(s.max_ns)},
              {"p50_ns", s.p50_ns},
              {"p99_ns", s.p99_ns},
              {"max_ns", s.max_ns}};
}

// Reads the JSON form with errors that name the field by its path:
// "a.json: \"qos\"[1].lost must be a non-negative integer".
class Reader
{
public:
  explicit Reader(std::string_view source)
    : m_source(source)
  {
  }

  [[noreturn]] void fail(const std::string& path, std::string_view why) const
  {
    throw Error(exit_code::failure, fmt::format("{}: {} {}", m_source, path, why));
  }

  [[noreturn]] void fail(std::string_view why) const
  {
    throw Error(exit_code::failure, fmt::format("{}: {}", m_source, why));
  }

  static std::string child(const std::string& parent, std::string_view key)
  {
    return parent.empty() ? fmt::format("\"{}\"", key) : fmt::format("{}.{}", parent, key);
  }

  // A key of a map-like object (error kinds have spaces).
  static std::string keyed(const std::string& parent, std::string_view key)
  {
    return fmt::format("{}[\"{}\"]", parent, key);
  }

  static std::string item(const std::string& parent, std::size_t index)
  {
    return fmt::format("{}[{}]", parent, index);
  }

  const json& member(const json& object, const std::string& parent, std::string_view key) const
  {
    const auto it = object.find(std::string(key));
    if (it == object.end()) {
      fail(child(parent, key), "is missing");
    }
    return *it;
  }

  const json& object(const json& object, const std::string& parent, std::string_view key) const
  {
    const json& v = member(object, parent, key);
    if (!v.is_object()) {
      fail(child(parent, key), "must be an object");
    }
    return v;
  }

  const json& array(const json& object, const std::string& parent, std::string_view key) const
  {
    const json& v = member(object, parent, key);
    if (!v.is_array()) {
      fail(child(parent, key), "must be an array");
    }
    return v;
  }

  static bool is_natural(const json& v)
  {
    return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
  }

  std::uint64_t natural(const json& v, const std::string& path) const
  {
    if (!is_natural(v)) {
      fail(path, "must be a non-negative integer");
    }
    return v.get<std::uint64_t>();
  }

  std::uint64_t natural(const json& object, const std::string& parent, std::string_view key) const
  {
    return natural(member(object, parent, key), child(parent, key));
  }

  double number(const json& object, const std::string& parent, std::string_view key) const
  {
    const json& v = member(object, parent, key);
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0) {
      fail(child(parent, key), "must be a non-negative number");
    }
    return v.get<double>();
  }

  std::string text(const json& v, const std::string& path) const
  {
    if (!v.is_string()) {
      fail(path, "must be a string");
    }
    return v.get<std::string>();
  }

  LatencyHistogram histogram(const json& latency, const std::string& parent, std::string_view key) const
  {
    const json& l = object(latency, parent, key);
    const std::string path = child(child(parent, key), "histogram");
    try {
      return LatencyHistogram::from_json(member(l, child(parent, key), "histogram"));
    } catch (const Error& e) {
      std::string_view why = e.what();
      constexpr std::string_view prefix = "histogram: ";
      if (why.starts_with(prefix)) {
        why.remove_prefix(prefix.size());
      }
      fail(fmt::format("{}: {}", path, why));
    }
  }

private:
  std::string_view m_source;
};

DeliveryCounts read_delivery(const Reader& in, const json& j, const std::string& path)
{
  if (!j.is_object()) {
    in.fail(path, "must be an object");
  }
  DeliveryCounts d;
  d.sent = in.natural(j, path, "sent");
  d.acknowledged = in.natural(j, path, "acknowledged");
  d.expected = in.natural(j, path, "expected");
  d.received = in.natural(j, path, "received");
  d.unique = in.natural(j, path, "unique");
  d.duplicates = in.natural(j, path, "duplicates");
  d.reordered = in.natural(j, path, "reordered");
  d.too_late = in.natural(j, path, "too_late");
  d.lost = in.natural(j, path, "lost");
  return d;
}

SecondSample read_sample(const Reader& in, const json& j, const std::string& path)
{
  if (!j.is_object()) {
    in.fail(path, "must be an object");
  }
  SecondSample s;
  s.second = in.natural(j, path, "second");
  s.sent = in.natural(j, path, "sent");
  s.acknowledged = in.natural(j, path, "acknowledged");
  s.received = in.natural(j, path, "received");
  s.connected = in.natural(j, path, "connected");
  s.errors = in.natural(j, path, "errors");
  // The _ns fields, not the rounded _us ones, so the round trip is exact.
  s.p50_ns = in.natural(j, path, "p50_ns");
  s.p99_ns = in.natural(j, path, "p99_ns");
  s.max_ns = in.natural(j, path, "max_ns");
  return s;
}

std::string plural(std::uint64_t n, std::string_view one, std::string_view many)
{
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::optional<std::uint64_t> count_parameter(const json& parameters, const char* key)
{
  if (!parameters.is_object()) {
    return std::nullopt;
  }
  const auto it = parameters.find(key);
  if (it == parameters.end() || !Reader::is_natural(*it)) {
    return std::nullopt;
  }
  return it->get<std::uint64_t>();
}

std::string rate_text(double per_second)
{
  return per_second == std::floor(per_second) ? fmt::format("{:.0f}", per_second) : fmt::format("{:g}", per_second);
}

// The first line's description of the clients and messages, from the
// parameters of one run, or of every run of a merge.
std::vector<std::string> shape_parts(const BenchResult& r)
{
  std::vector<json> runs;
  std::vector<std::string> parts;
  if (r.command == "merge" && r.parameters.is_object() && r.parameters.contains("runs")
      && r.parameters["runs"].is_array()) {
    for (const auto& p : r.parameters["runs"]) {
      runs.push_back(p);
    }
  } else {
    runs.push_back(r.parameters);
  }
  if (r.command == "merge") {
    parts.push_back(plural(r.runs, "run", "runs"));
  }
  // Counts add over the runs; a setting is told when every run that has it agrees.
  auto summed = [&](const char* key) -> std::optional<std::uint64_t> {
    std::optional<std::uint64_t> sum;
    for (const auto& p : runs) {
      if (const auto n = count_parameter(p, key)) {
        sum = sum.value_or(0) + *n;
      }
    }
    return sum;
  };
  auto common = [&](const char* key) -> std::optional<json> {
    std::optional<json> value;
    for (const auto& p : runs) {
      if (!p.is_object() || !p.contains(key)) {
        continue;
      }
      if (value && *value != p[key]) {
        return std::nullopt;
      }
      value = p[key];
    }
    return value;
  };
  const auto publishers = summed("publishers");
  const auto subscribers = summed("subscribers");
  if (publishers) {
    parts.push_back(plural(*publishers, "publisher", "publishers"));
  }
  if (subscribers) {
    std::string part = plural(*subscribers, "subscriber", "subscribers");
    if (const auto shared = common("shared")) {
      if (shared->is_boolean() && shared->get<bool>()) {
        part += " (shared)";
      } else if (shared->is_string() && !shared->get_ref<const std::string&>().empty()) {
        part += fmt::format(" (shared, group {})", shared->get_ref<const std::string&>());
      }
    }
    parts.push_back(std::move(part));
  }
  if (!publishers && !subscribers) {
    if (const auto clients = summed("clients")) {
      parts.push_back(plural(*clients, "client", "clients"));
    }
  }
  if (const auto qos = common("qos")) {
    parts.push_back(fmt::format("QoS {}", qos->is_string() ? qos->get<std::string>() : qos->dump()));
  }
  if (const auto bytes = common("payload_bytes"); bytes && Reader::is_natural(*bytes)) {
    parts.push_back(fmt::format("{}-byte payloads", bytes->get<std::uint64_t>()));
  }
  std::string duration = fmt::format("{:.1f} s", r.seconds);
  if (r.warmup_seconds > 0) {
    duration += fmt::format(" (+{:.1f} s warm-up)", r.warmup_seconds);
  }
  parts.push_back(std::move(duration));
  return parts;
}

std::string joined(const std::vector<std::string>& parts, std::string_view separator)
{
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) {
      out += separator;
    }
    out += part;
  }
  return out;
}

std::string us_text(std::uint64_t ns)
{
  return fmt::format("{}.{:03}", ns / 1000, ns % 1000);
}

} // namespace

json to_json(const BenchResult& r)
{
  const DeliveryCounts total = totals_of(r);
  const double per_second = r.seconds > 0 ? 1.0 / r.seconds : 0.0;
  json connack = json::object();
  for (const auto& [code, n] : r.connections.connack_codes) {
    connack[std::to_string(code)] = n;
  }
  json qos = json::array();
  for (const auto& q : r.qos) {
    qos.push_back(delivery_json(q));
  }
  json series = json::array();
  for (const auto& s : r.series) {
    series.push_back(sample_json(s));
  }
  const double capacity = r.seconds * r.cpu_cores;
  json j;
  j["format"] = BenchResult::format_version;
  j["tool"] = "mqtk-bench";
  j["command"] = r.command;
  j["parameters"] = r.parameters;
  j["started"] = iso8601(r.started_unix_ns);
  j["ended"] = iso8601(r.ended_unix_ns);
  j["started_unix_ns"] = r.started_unix_ns;
  j["ended_unix_ns"] = r.ended_unix_ns;
  j["seconds"] = r.seconds;
  j["warmup_seconds"] = r.warmup_seconds;
  j["runs"] = r.runs;
  j["rate"] = json{{"target", r.target_rate > 0 ? json(r.target_rate) : json(nullptr)},
                   {"sent", static_cast<double>(total.sent) * per_second},
                   {"received", static_cast<double>(total.received) * per_second},
                   {"acknowledged", static_cast<double>(total.acknowledged) * per_second},
                   {"behind_schedule", r.behind_schedule},
                   {"max_lag_us", micros(r.max_lag_ns)},
                   {"max_lag_ns", r.max_lag_ns}};
  j["qos"] = std::move(qos);
  j["totals"] = delivery_json(total);
  j["connections"] = json{{"attempted", r.connections.attempted}, {"connected", r.connections.connected},
                          {"refused", r.connections.refused},     {"failed", r.connections.failed},
                          {"held", r.connections.held},           {"dropped", r.connections.dropped},
                          {"connack", std::move(connack)}};
  j["latency"] = json{{"publish_to_ack", latency_json(r.publish_to_ack)},
                      {"end_to_end", latency_json(r.end_to_end)},
                      {"connect", latency_json(r.connect)}};
  j["client"] = json{{"cpu_seconds", r.cpu_seconds},
                     {"cpu_cores", r.cpu_cores},
                     {"cpu_busy", capacity > 0 ? r.cpu_seconds / capacity : 0.0},
                     {"max_send_queue", r.max_send_queue}};
  j["errors"] = r.errors;
  j["error_count"] = error_count(r);
  j["broker_counters"] = r.broker_counters;
  j["series"] = std::move(series);
  j["warnings"] = r.warnings;
  return j;
}

BenchResult result_from_json(const json& j, std::string_view source)
{
  const Reader in(source);
  if (!j.is_object()) {
    in.fail("not an mqtk-bench result (expected a JSON object)");
  }
  if (const auto tool = j.find("tool"); tool == j.end() || *tool != "mqtk-bench") {
    in.fail("not an mqtk-bench result (no \"tool\": \"mqtk-bench\")");
  }
  const json& format = in.member(j, "", "format");
  if (!Reader::is_natural(format) || format.get<std::uint64_t>() == 0) {
    in.fail("\"format\"", "must be a positive integer");
  }
  if (format.get<std::uint64_t>() != BenchResult::format_version) {
    in.fail(fmt::format("written by format version {}; this mqtk-bench reads version {}", format.get<std::uint64_t>(),
                        BenchResult::format_version));
  }

  BenchResult r;
  r.command = in.text(in.member(j, "", "command"), "\"command\"");
  r.parameters = in.object(j, "", "parameters");
  r.started_unix_ns = in.natural(j, "", "started_unix_ns");
  r.ended_unix_ns = in.natural(j, "", "ended_unix_ns");
  r.seconds = in.number(j, "", "seconds");
  r.warmup_seconds = in.number(j, "", "warmup_seconds");
  r.runs = in.natural(j, "", "runs");
  if (r.runs == 0) {
    in.fail("\"runs\"", "must be a positive integer");
  }

  const json& rate = in.object(j, "", "rate");
  if (const json& target = in.member(rate, "\"rate\"", "target"); !target.is_null()) {
    if (!target.is_number() || !std::isfinite(target.get<double>()) || target.get<double>() < 0) {
      in.fail("\"rate\".target", "must be a non-negative number or null");
    }
    r.target_rate = target.get<double>();
  }
  r.behind_schedule = in.natural(rate, "\"rate\"", "behind_schedule");
  r.max_lag_ns = in.natural(rate, "\"rate\"", "max_lag_ns");

  const json& qos = in.member(j, "", "qos");
  if (!qos.is_array() || qos.size() != r.qos.size()) {
    in.fail("\"qos\"", "must be an array of 3 objects (QoS 0, 1 and 2)");
  }
  for (std::size_t i = 0; i < r.qos.size(); ++i) {
    r.qos[i] = read_delivery(in, qos[i], Reader::item("\"qos\"", i));
  }

  const json& connections = in.object(j, "", "connections");
  const std::string cpath = "\"connections\"";
  r.connections.attempted = in.natural(connections, cpath, "attempted");
  r.connections.connected = in.natural(connections, cpath, "connected");
  r.connections.refused = in.natural(connections, cpath, "refused");
  r.connections.failed = in.natural(connections, cpath, "failed");
  r.connections.held = in.natural(connections, cpath, "held");
  r.connections.dropped = in.natural(connections, cpath, "dropped");
  for (const auto& [key, n] : in.object(connections, cpath, "connack").items()) {
    const std::string path = Reader::keyed("\"connections\".connack", key);
    const bool digits = !key.empty() && key.size() <= 3 && key.find_first_not_of("0123456789") == std::string::npos
                        && (key.size() == 1 || key[0] != '0');
    if (!digits || std::stoi(key) > 255) {
      in.fail(path, "is not a CONNACK code (0 to 255)");
    }
    r.connections.connack_codes[std::stoi(key)] = in.natural(n, path);
  }

  const json& latency = in.object(j, "", "latency");
  r.publish_to_ack = in.histogram(latency, "\"latency\"", "publish_to_ack");
  r.end_to_end = in.histogram(latency, "\"latency\"", "end_to_end");
  r.connect = in.histogram(latency, "\"latency\"", "connect");

  const json& client = in.object(j, "", "client");
  r.cpu_seconds = in.number(client, "\"client\"", "cpu_seconds");
  r.cpu_cores = in.number(client, "\"client\"", "cpu_cores");
  r.max_send_queue = in.natural(client, "\"client\"", "max_send_queue");

  for (const auto& [kind, n] : in.object(j, "", "errors").items()) {
    r.errors[kind] = in.natural(n, Reader::keyed("\"errors\"", kind));
  }
  for (const auto& [name, n] : in.object(j, "", "broker_counters").items()) {
    if (!n.is_number_integer()
        || (n.is_number_unsigned() && n.get<std::uint64_t>() > std::numeric_limits<std::int64_t>::max())) {
      in.fail(Reader::keyed("\"broker_counters\"", name), "must be an integer");
    }
    r.broker_counters[name] = n.get<std::int64_t>();
  }
  const json& series = in.array(j, "", "series");
  for (std::size_t i = 0; i < series.size(); ++i) {
    r.series.push_back(read_sample(in, series[i], Reader::item("\"series\"", i)));
  }
  const json& warnings = in.array(j, "", "warnings");
  for (std::size_t i = 0; i < warnings.size(); ++i) {
    r.warnings.push_back(in.text(warnings[i], Reader::item("\"warnings\"", i)));
  }
  return r;
}

BenchResult result_from_text(std::string_view text, std::string_view source)
{
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(exit_code::failure, fmt::format("{}: not JSON (byte {}): an mqtk-bench result file is what -j prints "
                                                "or -o writes",
                                                source, e.byte));
  } catch (const json::out_of_range&) {
    throw Error(exit_code::failure,
                fmt::format("{}: holds a number too large for a double: not an mqtk-bench result file", source));
  }
  return result_from_json(j, source);
}

BenchResult merge(const std::vector<BenchResult>& results)
{
  if (results.empty()) {
    throw UsageError("merge: no results to merge");
  }
  BenchResult m;
  m.command = "merge";
  m.runs = 0;
  m.cpu_cores = 0;
  json runs = json::array();
  std::map<std::uint64_t, SecondSample> seconds;
  std::set<std::string> warned;
  std::map<std::string, std::map<std::string, std::int64_t>> counters_by_broker;
  bool all_timed = true;
  double longest = 0;
  for (const BenchResult& r : results) {
    if (r.command == "merge" && r.parameters.is_object() && r.parameters.contains("runs")
        && r.parameters["runs"].is_array()) {
      for (const auto& p : r.parameters["runs"]) {
        runs.push_back(p);
      }
    } else {
      runs.push_back(r.parameters);
    }
    if (r.started_unix_ns != 0) {
      m.started_unix_ns = m.started_unix_ns == 0 ? r.started_unix_ns : std::min(m.started_unix_ns, r.started_unix_ns);
    }
    m.ended_unix_ns = std::max(m.ended_unix_ns, r.ended_unix_ns);
    all_timed = all_timed && r.started_unix_ns != 0 && r.ended_unix_ns != 0;
    longest = std::max(longest, r.seconds);
    m.warmup_seconds = std::max(m.warmup_seconds, r.warmup_seconds);
    m.runs += r.runs;
    m.target_rate += r.target_rate;
    m.behind_schedule += r.behind_schedule;
    m.max_lag_ns = std::max(m.max_lag_ns, r.max_lag_ns);
    m.max_send_queue = std::max(m.max_send_queue, r.max_send_queue);
    m.cpu_seconds += r.cpu_seconds;
    m.cpu_cores += r.cpu_cores;
    for (std::size_t q = 0; q < m.qos.size(); ++q) {
      m.qos[q] += r.qos[q];
    }
    m.connections += r.connections;
    m.publish_to_ack.add(r.publish_to_ack);
    m.end_to_end.add(r.end_to_end);
    m.connect.add(r.connect);
    for (const auto& [kind, n] : r.errors) {
      m.errors[kind] += n;
    }
    // Runs against one broker saw the same counters over overlapping
    // times: the largest change stands for them (adding would count the
    // broker's messages once per run); different brokers add up.
    const std::string broker = r.parameters.is_object() && r.parameters.contains("host") && r.parameters.contains("port")
                                 ? fmt::format("{}:{}", r.parameters["host"].dump(), r.parameters["port"].dump())
                                 : fmt::format("run {}", &r - results.data());
    for (const auto& [name, n] : r.broker_counters) {
      auto& kept = counters_by_broker[broker];
      const auto [it, added] = kept.emplace(name, n);
      it->second = added ? n : std::max(it->second, n);
    }
    for (const auto& w : r.warnings) {
      if (warned.insert(w).second) {
        m.warnings.push_back(w);
      }
    }
    for (const auto& s : r.series) {
      SecondSample& t = seconds[s.second];
      t.second = s.second;
      t.sent += s.sent;
      t.acknowledged += s.acknowledged;
      t.received += s.received;
      t.connected += s.connected;
      t.errors += s.errors;
      // The samples behind a second's percentiles are gone; the union's
      // nearest-rank percentile lies between the parts' ones, so the larger
      // is a bound that never flatters (percentiles are never averaged).
      t.p50_ns = std::max(t.p50_ns, s.p50_ns);
      t.p99_ns = std::max(t.p99_ns, s.p99_ns);
      t.max_ns = std::max(t.max_ns, s.max_ns);
    }
  }
  for (const auto& [broker, counters] : counters_by_broker) {
    for (const auto& [name, n] : counters) {
      m.broker_counters[name] += n;
    }
  }
  m.parameters = json{{"runs", std::move(runs)}};
  // Runs started together on several machines overlap: the measured part
  // is the span of them all, and never shorter than the longest run (the
  // machines' clocks may disagree a little).
  if (all_timed && m.ended_unix_ns > m.started_unix_ns) {
    m.seconds = std::max(longest, static_cast<double>(m.ended_unix_ns - m.started_unix_ns) / 1e9);
  } else {
    m.seconds = longest;
  }
  for (auto& [second, sample] : seconds) {
    m.series.push_back(sample);
  }
  return m;
}

std::vector<std::string> delivery_errors(const BenchResult& result)
{
  std::vector<std::string> problems;
  for (std::size_t q = 1; q < result.qos.size(); ++q) {
    const DeliveryCounts& d = result.qos[q];
    if (d.lost > 0) {
      problems.push_back(fmt::format("QoS {}: {} lost", q, plural(d.lost, "message", "messages")));
    }
    if (q == 2 && d.duplicates > 0) {
      problems.push_back(
        fmt::format("QoS 2: {} (QoS 2 delivers exactly once)", plural(d.duplicates, "duplicate", "duplicates")));
    }
  }
  return problems;
}

std::string summary_text(const BenchResult& r, bool color)
{
  const DeliveryCounts total = totals_of(r);
  const double per_second = r.seconds > 0 ? 1.0 / r.seconds : 0.0;
  std::string out = painted(fmt::format("{}: {}", r.command, joined(shape_parts(r), ", ")), Paint::heading, color) + "\n";
  auto line = [&](std::string_view label, const std::string& text) {
    out += fmt::format("  {:<13}{}\n", label, text);
  };

  if (total.sent > 0 || r.target_rate > 0) {
    std::vector<std::string> how;
    if (r.seconds > 0) {
      how.push_back(fmt::format("{:.1f}/s", static_cast<double>(total.sent) * per_second));
    }
    if (r.target_rate > 0) {
      how.push_back(fmt::format("target {}/s", rate_text(r.target_rate)));
    }
    std::string text = joined(how, ", ");
    if (r.behind_schedule > 0) {
      text += fmt::format("{}{} behind schedule by up to {}", text.empty() ? "" : "; ", r.behind_schedule,
                          latency_text(static_cast<double>(r.max_lag_ns)));
    }
    line("sent", fmt::format("{}{}", total.sent, text.empty() ? "" : " (" + text + ")"));
  }
  const std::uint64_t confirmed_sent = r.qos[1].sent + r.qos[2].sent;
  if (total.acknowledged > 0 || confirmed_sent > 0) {
    std::string text = fmt::format("{}", total.acknowledged);
    if (r.seconds > 0) {
      text += fmt::format(" ({:.1f}/s)", static_cast<double>(total.acknowledged) * per_second);
    }
    if (confirmed_sent > total.acknowledged) {
      text += fmt::format("   not acknowledged {}", confirmed_sent - total.acknowledged);
    }
    line("acknowledged", text);
  }
  if (total.received > 0 || total.expected > 0 || total.lost > 0 || r.command == "sub" || r.command == "pubsub") {
    std::string text = fmt::format("{}", total.received);
    if (r.seconds > 0) {
      text += fmt::format(" ({:.1f}/s)", static_cast<double>(total.received) * per_second);
    }
    text += fmt::format("   {}   duplicates {}   reordered {}",
                        painted(fmt::format("lost {}", total.lost), total.lost == 0 ? Paint::good : Paint::bad, color),
                        total.duplicates, total.reordered);
    if (total.too_late > 0) {
      text += fmt::format("   too late {}", total.too_late);
    }
    line("received", text);
  }
  const auto busy_levels = std::count_if(r.qos.begin(), r.qos.end(),
                                         [](const DeliveryCounts& d) { return d.sent > 0 || d.received > 0; });
  if (busy_levels > 1) {
    for (std::size_t q = 0; q < r.qos.size(); ++q) {
      const DeliveryCounts& d = r.qos[q];
      if (d.sent == 0 && d.received == 0) {
        continue;
      }
      std::string text = fmt::format("sent {}", d.sent);
      if (q > 0) {
        text += fmt::format(", acknowledged {}", d.acknowledged);
      }
      text += fmt::format(", received {}, lost {}, duplicates {}, reordered {}", d.received, d.lost, d.duplicates,
                          d.reordered);
      out += fmt::format("    QoS {}: {}\n", q, text);
    }
  }

  const std::pair<const char*, const LatencyHistogram*> latencies[] = {
    {"publish -> ack", &r.publish_to_ack}, {"publish -> subscriber", &r.end_to_end}, {"connect", &r.connect}};
  for (const auto& [label, histogram] : latencies) {
    // Not the binding itself in the lambda: clang before 16 cannot capture one.
    const LatencyHistogram* h = histogram;
    if (h->count() == 0) {
      continue;
    }
    auto at = [&](double p) { return latency_text(static_cast<double>(h->percentile(p))); };
    out += fmt::format("  {:<23}p50 {}   p90 {}   p99 {}   p99.9 {}   max {}   ({})\n", label, at(50), at(90), at(99),
                       at(99.9), latency_text(static_cast<double>(h->max())), h->count());
  }

  const ConnectionCounts& c = r.connections;
  if (c.attempted > 0) {
    std::vector<std::string> parts{fmt::format("{} attempted", c.attempted), fmt::format("{} connected", c.connected)};
    if (c.refused > 0) {
      std::vector<std::string> codes;
      for (const auto& [code, n] : c.connack_codes) {
        if (code != 0 && n > 0) {
          codes.push_back(fmt::format("{}: {}", code, n));
        }
      }
      const std::string which = codes.empty() ? "" : " (CONNACK " + joined(codes, ", ") + ")";
      parts.push_back(fmt::format("{} refused{}", c.refused, which));
    }
    if (c.failed > 0) {
      parts.push_back(fmt::format("{} failed", c.failed));
    }
    if (c.dropped > 0) {
      parts.push_back(fmt::format("{} dropped", c.dropped));
    }
    parts.push_back(fmt::format("{} held", c.held));
    out += fmt::format("  connections {}\n", joined(parts, ", "));
  }
  if (const std::uint64_t errors = error_count(r); errors > 0) {
    std::vector<std::string> kinds;
    for (const auto& [kind, n] : r.errors) {
      if (n > 0) {
        kinds.push_back(fmt::format("{} {}", kind, n));
      }
    }
    out += fmt::format("  errors {} ({})\n", errors, joined(kinds, ", "));
  }
  if (!r.broker_counters.empty()) {
    std::vector<std::string> counters;
    for (const auto& [name, delta] : r.broker_counters) {
      counters.push_back(fmt::format("{} {:+}", name, delta));
    }
    out += fmt::format("  broker $SYS: {}\n", joined(counters, ", "));
  }
  if (r.seconds > 0 && r.cpu_cores > 0) {
    out += fmt::format("  client CPU {:.0f} % of {:g} {}\n", 100 * r.cpu_seconds / (r.seconds * r.cpu_cores),
                       r.cpu_cores, r.cpu_cores == 1 ? "core" : "cores");
  }
  for (const auto& w : r.warnings) {
    out += fmt::format("  warning: {}\n", w);
  }
  return out;
}

std::string csv_text(const BenchResult& result)
{
  std::string out = "second,sent,acknowledged,received,connected,errors,p50_us,p99_us,max_us\n";
  for (const auto& s : result.series) {
    out += fmt::format("{},{},{},{},{},{},{},{},{}\n", s.second, s.sent, s.acknowledged, s.received, s.connected,
                       s.errors, us_text(s.p50_ns), us_text(s.p99_ns), us_text(s.max_ns));
  }
  return out;
}

} // namespace mqtk
