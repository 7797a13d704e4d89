#pragma once

#include "mqtk/connection/options.hpp"
#include "mqtk/plot/plot_options.hpp"
#include "mqtk/process/exec_runner.hpp"
#include "mqtk/rules/message_rules.hpp"

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace mqtk {

// mqtk-sub's flags, beside the shared connection options.
struct SubOptions
{
  ConnectionOptions connection;
  std::vector<std::string> topics;      // -t
  std::vector<std::string> filter_out;  // -T
  std::vector<std::string> unsubscribe; // -U
  int qos = 0;
  int count = 0;      // -C, 0: unlimited
  double timeout = 0; // -W seconds, 0: none
  bool no_stale = false;        // -R
  bool retained_only = false;   // --retained-only
  bool no_local = false;             // --no-local (MQTT 5)
  bool retain_as_published = false;  // --retain-as-published (MQTT 5)
  int retain_handling = 0;           // --retain-handling 0|1|2 (MQTT 5)
  bool exit_after_subscribe = false; // -E
  bool no_eol = false;          // -N
  bool verbose = false;         // -v
  std::string format;           // -F
  bool json = false;            // -j
  bool pretty = false;          // --pretty
  bool remove_retained = false; // --remove-retained
  double random_filter = 100.0; // --random-filter percent
  RuleOptions rules;
  PlotOptions plot;
  std::vector<std::string> exec; // --exec CMD ARGS... (all arguments after it)
  int exec_jobs = 1;
  int exec_queue = 1000;             // --exec-queue: commands waiting to start
  std::string exec_when_full = "wait"; // --exec-when-full wait|drop
  double exec_timeout = 0;           // --exec-timeout seconds, 0: no limit
  std::string exec_on = "message"; // --exec-on message|alert
};

// Declares mqtk-sub's flags (and the shared connection group) on `app`.
void add_sub_options(CLI::App& app, SubOptions& options);

// The --exec runner's settings from --exec, --exec-jobs, --exec-queue,
// --exec-when-full and --exec-timeout.
ExecRunner::Settings exec_settings(const SubOptions& options);

// Checks the parsed options before anything connects. Throws UsageError.
void validate(SubOptions& options);

// Subscribes, prints messages until -C, -W, a signal or a closed stdout,
// and returns the exit code (27 on -W timeout). Throws Error.
int run_sub(SubOptions& options);

} // namespace mqtk
