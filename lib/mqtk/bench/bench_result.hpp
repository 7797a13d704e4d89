#pragma once

#include "mqtk/bench/latency_histogram.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mqtk {

// What one QoS level's messages did over a run (counts of the measured
// part, after --warmup).
struct DeliveryCounts
{
  std::uint64_t sent = 0;         // PUBLISHes handed to the connection
  std::uint64_t acknowledged = 0; // PUBACK (QoS 1) or PUBCOMP (QoS 2) received
  std::uint64_t expected = 0;     // arrivals the subscribers should have had (0: not known, as in `sub` alone)
  std::uint64_t received = 0;     // arrivals at the subscribers
  std::uint64_t unique = 0;       // distinct (publisher, sequence) arrivals per subscriber
  std::uint64_t duplicates = 0;   // arrivals of a message already received
  std::uint64_t reordered = 0;    // first arrivals after a later message of the same publisher
  std::uint64_t too_late = 0;     // arrivals too far behind to be told duplicate or not
  std::uint64_t lost = 0;         // expected (or seen as gaps) and never received

  DeliveryCounts& operator+=(const DeliveryCounts& other) noexcept;
  friend bool operator==(const DeliveryCounts&, const DeliveryCounts&) = default;
};

// One second of a run (--csv), counted from the start of the measured part.
struct SecondSample
{
  std::uint64_t second = 0; // 0 for [0 s, 1 s)
  std::uint64_t sent = 0;
  std::uint64_t acknowledged = 0;
  std::uint64_t received = 0;
  std::uint64_t connected = 0; // connections that completed in that second
  std::uint64_t errors = 0;
  // Publish -> subscriber latency of the messages received in that second
  // (publish -> acknowledgement when nothing was received), ns; 0 if none.
  std::uint64_t p50_ns = 0;
  std::uint64_t p99_ns = 0;
  std::uint64_t max_ns = 0;

  friend bool operator==(const SecondSample&, const SecondSample&) = default;
};

struct ConnectionCounts
{
  std::uint64_t attempted = 0;
  std::uint64_t connected = 0; // CONNACK 0 received
  std::uint64_t refused = 0;   // a CONNACK with another code
  std::uint64_t failed = 0;    // no CONNACK: socket errors, timeouts
  std::uint64_t held = 0;      // still connected at the end of the run
  std::uint64_t dropped = 0;   // connected, then lost before the end
  std::map<int, std::uint64_t> connack_codes; // code -> how many (0 included)

  ConnectionCounts& operator+=(const ConnectionCounts& other);
  friend bool operator==(const ConnectionCounts&, const ConnectionCounts&) = default;
};

// The outcome of one mqtk-bench run, or of several merged: what `-j`
// prints, `-o` writes and `merge` reads (the schema is
// man/mqtk-bench-result.schema.json, described in mqtk-bench(1)).
struct BenchResult
{
  static constexpr int format_version = 1;

  std::string command;           // pub, sub, conn, pubsub, or merge
  nlohmann::json parameters = nlohmann::json::object(); // the run's options, as run
  std::uint64_t started_unix_ns = 0; // start of the measured part (CLOCK_REALTIME)
  std::uint64_t ended_unix_ns = 0;
  double seconds = 0;            // length of the measured part
  double warmup_seconds = 0;
  std::uint64_t runs = 1;        // how many runs this result adds up
  double target_rate = 0;        // messages/s over every publisher (--rate x -c); 0: as fast as possible
  std::uint64_t behind_schedule = 0; // messages sent more than 1 ms after they were due
  std::uint64_t max_lag_ns = 0;      // the furthest behind any message was sent
  std::uint64_t max_send_queue = 0;  // most messages waiting in one client's queue
  double cpu_seconds = 0;        // the client's user + system CPU over the measured part
  double cpu_cores = 1;          // cores the client's loop can use (1 per run)
  std::array<DeliveryCounts, 3> qos{}; // by the QoS the messages were published with
  ConnectionCounts connections;
  LatencyHistogram publish_to_ack; // due time -> PUBACK/PUBCOMP
  LatencyHistogram end_to_end;     // due time -> arrival at a subscriber
  LatencyHistogram connect;        // connect() -> CONNACK
  std::map<std::string, std::uint64_t> errors; // by kind ("connack 5", "socket", "publish refused", ...)
  // The change of the broker's $SYS counters over the run, by topic below
  // $SYS/broker/ ("messages/received"); empty when the broker published none.
  std::map<std::string, std::int64_t> broker_counters;
  std::vector<SecondSample> series;
  std::vector<std::string> warnings;

  friend bool operator==(const BenchResult&, const BenchResult&) = default;
};

// The JSON form: every field above, plus derived figures for readers
// (rates, percentiles in microseconds, the error count). Histograms in
// LatencyHistogram::to_json form.
nlohmann::json to_json(const BenchResult& result);

// Reads a result back; `source` (a file name) starts each error message.
// Throws Error (exit 1) naming the field that is missing or wrong, and a
// result written by another format version.
BenchResult result_from_json(const nlohmann::json& j, std::string_view source);

// Reads a result file's text: result_from_json of the JSON in it, or an
// Error (exit 1) naming `source` when it is not JSON, or holds a number
// beyond a double's range (which nlohmann::json refuses).
BenchResult result_from_text(std::string_view text, std::string_view source);

// Adds results: counts and histograms added (the histogram of the union),
// the span from the earliest start to the latest end, CPU and cores added,
// series added second by second (by the seconds since each run's own
// start), warnings kept, parameters as a list of each run's. `command` is
// "merge". Throws UsageError when `results` is empty.
BenchResult merge(const std::vector<BenchResult>& results);

// Problems that make the run a failure (exit 3): QoS 1 or 2 messages lost,
// QoS 2 messages duplicated. QoS 1 duplicates are allowed and not listed.
std::vector<std::string> delivery_errors(const BenchResult& result);

// The human summary (several lines, each ending in '\n').
// `color`: the first line bold, "lost N" green when 0 and red otherwise
// (--color, on a terminal).
std::string summary_text(const BenchResult& result, bool color = false);

// The per-second series as CSV with a header line.
std::string csv_text(const BenchResult& result);

// A duration for people, to 3 significant digits in the unit that fits:
// "7 ns", "210 us", "1.20 ms", "3.50 s" (the summary's and --slo's form).
std::string latency_text(double ns);

} // namespace mqtk
