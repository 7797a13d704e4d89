#include "mqtk/bench/slo_target.hpp"

#include "mqtk/bench/bench_result.hpp"
#include "mqtk/process/error.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include <fmt/format.h>

namespace mqtk {

namespace {

constexpr std::string_view metric_list = "pNN, pNN.N, min, mean, max, loss, errors or rate";
constexpr std::string_view comparison_list = "<=, <, >=, > or ==";

std::string_view trimmed(std::string_view s)
{
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

// "p99", "p99.9", "p5", "p100", "p99.99": the percentile, or none.
std::optional<double> percentile_of(std::string_view metric)
{
  if (metric.size() < 2 || metric[0] != 'p') {
    return std::nullopt;
  }
  const std::string_view number = metric.substr(1);
  const auto dot = number.find('.');
  const std::string_view whole = number.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? std::string_view() : number.substr(dot + 1);
  auto digits = [](std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
  };
  const bool has_fraction = dot != std::string_view::npos;
  if (!digits(whole) || whole.size() > 3 || (has_fraction && (!digits(fraction) || fraction.size() > 3))) {
    return std::nullopt;
  }
  double p = 0;
  std::from_chars(number.data(), number.data() + number.size(), p);
  if (p > 100) {
    return std::nullopt;
  }
  return p;
}

bool is_histogram(std::string_view name)
{
  return name == "e2e" || name == "ack" || name == "connect";
}

SloTarget parse_target(std::string_view text)
{
  SloTarget t;
  t.text = std::string(text);
  auto fail = [&](const std::string& why) { return UsageError(fmt::format("--slo: {}", why)); };

  const auto op_at = text.find_first_of("<>=");
  if (op_at == std::string_view::npos) {
    throw fail(fmt::format("no comparison in '{}' (expected {})", text, comparison_list));
  }
  std::string_view op = text.substr(op_at, 1);
  if (op_at + 1 < text.size() && text[op_at + 1] == '=') {
    op = text.substr(op_at, 2);
  }
  if (op != "<=" && op != "<" && op != ">=" && op != ">" && op != "==") {
    throw fail(fmt::format("unknown comparison '{}' in '{}' (expected {})", op, text, comparison_list));
  }
  t.comparison = std::string(op);
  const std::string_view left = trimmed(text.substr(0, op_at));
  const std::string_view right = trimmed(text.substr(op_at + op.size()));
  if (left.empty()) {
    throw fail(fmt::format("no metric before {} in '{}'", op, text));
  }

  // A prefix names the histogram; "p99.9" alone has a dot too.
  std::string_view metric = left;
  if (const auto dot = left.find('.'); dot != std::string_view::npos && !percentile_of(left.substr(0, dot))) {
    const std::string_view prefix = left.substr(0, dot);
    if (!is_histogram(prefix)) {
      throw fail(fmt::format("unknown histogram '{}' in '{}' (expected e2e, ack or connect)", prefix, text));
    }
    t.histogram = std::string(prefix);
    metric = left.substr(dot + 1);
  }
  bool latency = true;
  if (const auto p = percentile_of(metric)) {
    t.percentile = *p;
  } else if (metric == "loss" || metric == "errors" || metric == "rate") {
    latency = false;
    if (!t.histogram.empty()) {
      throw fail(fmt::format("'{}' takes no histogram prefix in '{}'", metric, text));
    }
  } else if (metric != "min" && metric != "mean" && metric != "max") {
    throw fail(fmt::format("unknown metric '{}' in '{}' (expected {})", metric, text, metric_list));
  }
  t.metric = std::string(metric);

  // The limit: a non-negative number, then the unit (latency) or nothing.
  std::size_t number_end = 0;
  while (number_end < right.size() && (is_digit(right[number_end]) || right[number_end] == '.')) {
    ++number_end;
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(right.data(), right.data() + number_end, value);
  if (number_end == 0 || ec != std::errc() || end != right.data() + number_end) {
    throw fail(fmt::format("'{}' needs a non-negative number after {}", text, op));
  }
  const std::string_view unit = trimmed(right.substr(number_end));
  if (latency) {
    double scale = 0;
    if (unit == "ns") {
      scale = 1;
    } else if (unit == "us") {
      scale = 1e3;
    } else if (unit == "ms") {
      scale = 1e6;
    } else if (unit == "s") {
      scale = 1e9;
    } else if (unit.empty()) {
      throw fail(fmt::format("'{}' needs a unit: ns, us, ms or s", text));
    } else {
      throw fail(fmt::format("unknown unit '{}' in '{}' (expected ns, us, ms or s)", unit, text));
    }
    t.limit = value * scale;
  } else {
    if (!unit.empty() && !(metric == "rate" && unit == "/s")) {
      throw fail(fmt::format("'{}' takes a plain number, not '{}', in '{}'", metric, unit, text));
    }
    t.limit = value;
  }
  return t;
}

bool compare(double value, std::string_view comparison, double limit)
{
  if (comparison == "<=") {
    return value <= limit;
  }
  if (comparison == "<") {
    return value < limit;
  }
  if (comparison == ">=") {
    return value >= limit;
  }
  if (comparison == ">") {
    return value > limit;
  }
  return value == limit;
}

const char* histogram_name(std::string_view histogram)
{
  if (histogram == "e2e") {
    return "end-to-end";
  }
  if (histogram == "ack") {
    return "publish-to-ack";
  }
  return "connect";
}

} // namespace

std::vector<SloTarget> parse_slo(std::string_view text)
{
  if (trimmed(text).empty()) {
    throw UsageError("--slo: no target given (e.g. 'p99<=5ms')");
  }
  std::vector<SloTarget> targets;
  std::size_t start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    const std::string_view part = trimmed(text.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (part.empty()) {
      throw UsageError(fmt::format("--slo: empty target in '{}'", text));
    }
    targets.push_back(parse_target(part));
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  return targets;
}

std::vector<SloVerdict> check_slo(const std::vector<SloTarget>& targets, const BenchResult& result)
{
  std::vector<SloVerdict> verdicts;
  for (const SloTarget& t : targets) {
    SloVerdict v;
    std::string detail;
    if (t.metric == "loss" || t.metric == "errors") {
      std::uint64_t n = 0;
      if (t.metric == "loss") {
        for (const auto& q : result.qos) {
          n += q.lost;
        }
        detail = fmt::format("{} lost", n);
      } else {
        for (const auto& [kind, count] : result.errors) {
          n += count;
        }
        detail = fmt::format("{} {}", n, n == 1 ? "error" : "errors");
      }
      v.held = compare(static_cast<double>(n), t.comparison, t.limit);
    } else if (t.metric == "rate") {
      std::uint64_t received = 0;
      std::uint64_t sent = 0;
      for (const auto& q : result.qos) {
        received += q.received;
        sent += q.sent;
      }
      if (result.seconds <= 0) {
        detail = "no measured time";
      } else {
        const bool by_received = received > 0;
        const double rate = static_cast<double>(by_received ? received : sent) / result.seconds;
        detail = fmt::format("{:.1f}/s {}", rate, by_received ? "received" : "sent");
        v.held = compare(rate, t.comparison, t.limit);
      }
    } else {
      std::string histogram = t.histogram;
      if (histogram.empty()) {
        histogram = result.end_to_end.count() > 0 ? "e2e" : result.publish_to_ack.count() > 0 ? "ack" : "connect";
      }
      const LatencyHistogram& h = histogram == "e2e"   ? result.end_to_end
                                  : histogram == "ack" ? result.publish_to_ack
                                                       : result.connect;
      if (h.count() == 0) {
        detail = "no samples";
      } else {
        const double value = t.metric == "max"    ? static_cast<double>(h.max())
                             : t.metric == "min"  ? static_cast<double>(h.min())
                             : t.metric == "mean" ? h.mean()
                                                  : static_cast<double>(h.percentile(t.percentile));
        detail = fmt::format("{} {} {}", histogram_name(histogram), t.metric, latency_text(value));
        v.held = compare(value, t.comparison, t.limit);
      }
    }
    v.text = fmt::format("{}: {} ({})", t.text, v.held ? "held" : "missed", detail);
    verdicts.push_back(std::move(v));
  }
  return verdicts;
}

} // namespace mqtk
