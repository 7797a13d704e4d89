#pragma once

#include "mqtk/connection/options.hpp"

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace mqtk {

// mqtk-sys-monitor's flags, beside the shared connection options.
struct SysMonitorOptions
{
  ConnectionOptions connection;
  std::string topic = "$SYS/#";   // -t
  bool once = false;              // --once
  bool json = false;              // -j
  std::string format;             // --format live|text|json|prometheus ("" : live on a terminal, else text)
  std::string output;             // --output FILE
  std::string listen;             // --listen [HOST:]PORT
  std::optional<std::string> warn_when;   // --warn-when EXPR
  std::optional<std::string> alert_when;  // --alert-when EXPR
  std::optional<std::string> alert_topic; // --alert-topic TOPIC
  double timeout = 30;            // --timeout seconds for the first full round
};

// Declares mqtk-sys-monitor's flags (and the shared connection group).
void add_sys_monitor_options(CLI::App& app, SysMonitorOptions& options);

// Checks the parsed options before anything connects. Throws UsageError.
void validate(SysMonitorOptions& options);

// Usage errors exit 3 (Nagios' UNKNOWN) when --once is on the command
// line, else 1: a monitoring system reads 1 as WARNING.
int sys_monitor_usage_exit_code(int argc, char** argv);

// Watches the broker's $SYS tree and shows it as asked. With --once,
// returns the Nagios plugin status (0 OK, 1 WARNING, 2 CRITICAL, 3
// UNKNOWN, which connection failures also become). Throws Error.
int run_sys_monitor(SysMonitorOptions& options);

} // namespace mqtk
