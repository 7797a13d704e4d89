#pragma once

#include "mqtk/bench/bench_run.hpp"
#include "mqtk/bench/slo_target.hpp"

#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace mqtk {

// mqtk-bench's exit codes beside 0 and 1 (mqtk-bench(1), EXIT STATUS).
namespace bench_exit {
inline constexpr int slo_missed = 2;      // an --slo target was missed
inline constexpr int delivery_errors = 3; // QoS 1/2 messages lost, QoS 2 duplicated
} // namespace bench_exit

// mqtk-bench's command line: the subcommand's plan and what to do with the
// result.
struct BenchOptions
{
  BenchPlan plan;
  std::optional<std::uint32_t> clients; // -c as given (conn: 100, else 1)
  std::optional<std::uint64_t> count;  // -n as given
  std::optional<double> duration;      // -D as given
  std::optional<double> rate;          // --rate as given
  std::optional<std::string> sub_topic; // --sub-topic
  std::optional<int> sub_qos;          // --sub-qos
  std::string start_at;                // --start-at as given
  bool json = false;                   // -j
  std::string output;                  // -o FILE
  std::string csv;                     // --csv FILE
  std::string slo;                     // --slo TARGETS
  std::vector<SloTarget> slo_targets;  // --slo, parsed by validate
  bool no_sys = false;                 // --no-sys
  std::vector<std::string> merge_files; // merge A.json B.json ...
  std::string command;                 // the subcommand run
  std::string unknown_command;         // a first word that is no subcommand
};

// Declares the subcommands pub, sub, conn, pubsub and merge with their
// flags.
void add_bench_options(CLI::App& app, BenchOptions& options);

// Checks the parsed options and completes the plan before anything
// connects. Throws UsageError.
void validate(BenchOptions& options);

// Parses --start-at: seconds since the epoch ("1796212800.5") or an ISO
// 8601 time ("2026-12-02T06:00:00Z", local time without the Z). Returns ns
// since the epoch. Throws UsageError.
std::uint64_t parse_start_at(const std::string& text);

// Runs the subcommand; returns the exit code. Throws Error.
int run_bench_tool(BenchOptions& options);

} // namespace mqtk
