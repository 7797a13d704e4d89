#pragma once

#include "mqtk/bench/bench_result.hpp"
#include "mqtk/connection/options.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace mqtk {

class StopSignals;

// What one mqtk-bench run does (filled and checked by tools/bench).
struct BenchPlan
{
  std::string command;            // pub, sub, conn or pubsub
  ConnectionOptions connection;   // resolved
  std::uint32_t clients = 1;      // publishers (pub, pubsub), subscribers (sub), connections (conn)
  std::uint32_t subscribers = 1;  // pubsub's subscribers
  std::uint64_t id_offset = 0;    // first client number (ids, %i, publisher numbers)
  std::optional<std::uint64_t> count; // -n: messages per publisher (sub: per subscriber)
  std::optional<double> duration; // -D: seconds of the measured part (conn: how long to hold)
  std::optional<double> rate;     // --rate: messages/s per publisher (open loop)
  std::size_t payload_bytes = 64; // -s, at least the stamp's 24
  int qos = 0;                    // -q, publishing
  int sub_qos = 0;                // subscribing
  std::string topic;              // -t template (%i: client number)
  std::string filter;             // the subscribers' filter template
  std::string shared;             // --shared GROUP
  double warmup = 0;              // --warmup seconds
  double connect_rate = 0;        // --connect-rate connections/s (0: as fast as the broker takes them)
  std::uint32_t connects_in_flight = 64; // connects waiting for CONNACK at once
  std::optional<std::uint64_t> start_at_unix_ns; // --start-at
  double drain = 5;               // --drain: seconds to wait for what is still due after sending
  bool realtime_stamps = false;   // --realtime-stamps
  bool retain = false;            // -r
  bool progress = false;          // a live line on stderr
  bool sys_counters = true;       // follow the broker's $SYS counters
  std::string client_id_prefix;   // ids are PREFIX-pub-N, PREFIX-sub-N, PREFIX-conn-N
};

// Runs `plan` against the broker and returns what it measured. A stop
// signal ends the run early (the result says so in its warnings). Throws
// Error when the clients cannot be set up or, for pub/sub/pubsub, when a
// client cannot connect or subscribe (naming the reason).
BenchResult run_bench(const BenchPlan& plan, StopSignals& signals);

// The topic of client `number` from a template: "%i" is the number, "%%"
// a percent sign.
std::string expand_topic(const std::string& topic_template, std::uint64_t number);

} // namespace mqtk
