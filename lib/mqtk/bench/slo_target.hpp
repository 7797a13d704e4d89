#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mqtk {

struct BenchResult;

// One --slo target: "p99<=5ms", "e2e.p99.9<2ms", "ack.max<=1s",
// "connect.p50<=20ms", "loss==0", "rate>=9000".
// Latency metrics: pNN or pNN.N (percentile), max, mean, min; prefixed by
// the histogram: e2e. (publish -> subscriber), ack. (publish ->
// acknowledgement), connect.; without a prefix the first non-empty of
// e2e, ack, connect. Units: ns, us, ms, s (a unit is required). Other
// metrics: loss (messages lost, every QoS), errors (the error count),
// rate (messages received per second, sent when nothing was received).
// Comparisons: <=, <, >=, >, ==.
struct SloTarget
{
  std::string text;      // as given, for messages
  std::string histogram; // "e2e", "ack", "connect", or "" (first non-empty); unused for other metrics
  std::string metric;    // "p99.9", "max", "mean", "min", "loss", "errors", "rate"
  double percentile = 0; // for pNN
  std::string comparison;
  double limit = 0;      // ns for latency metrics, else the plain number
};

// Parses a comma-separated list of targets. Throws UsageError naming the
// part that is wrong ("--slo: 'p99<=5' needs a unit: ns, us, ms or s").
std::vector<SloTarget> parse_slo(std::string_view text);

struct SloVerdict
{
  std::string text; // "p99<=5ms: held (e2e p99 3.21 ms)" or "... missed (...)"
  bool held = false;
};

// Checks each target against a result. A latency target over an empty
// histogram is missed ("no samples").
std::vector<SloVerdict> check_slo(const std::vector<SloTarget>& targets, const BenchResult& result);

} // namespace mqtk
