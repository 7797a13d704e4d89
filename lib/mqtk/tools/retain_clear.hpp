#pragma once

#include "mqtk/connection/options.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace mqtk {

// mqtk-retain-clear's flags, beside the shared connection options.
struct RetainClearOptions
{
  ConnectionOptions connection;
  std::vector<std::string> topics;   // -t
  std::vector<std::string> excludes; // -T
  std::optional<std::string> where;  // --where
  bool dry_run = false;
  bool json = false;       // -j
  bool yes = false;        // -y
  std::string backup;      // --backup FILE
  std::optional<std::size_t> max; // --max
  double quiet_time = 0;   // --quiet-time seconds, 0: the end marker
  double timeout = 0;      // --timeout seconds, 0: none
  std::string marker_topic; // --marker-topic, default mqtk-retain-clear/<client id>
};

// Declares mqtk-retain-clear's flags (and the shared connection group).
void add_retain_clear_options(CLI::App& app, RetainClearOptions& options);

// Checks the parsed options before anything connects: at least one -t,
// valid filters, none naming `$` topics, a valid --where. Throws UsageError.
void validate(RetainClearOptions& options);

// Lists the retained messages matching the filters, then (unless
// --dry-run) backs them up, clears them at QoS 1 and verifies that they are
// gone. Returns the exit code: 0 all verified (or nothing matched, or a dry
// run), exit_code::not_all_cleared, exit_code::not_confirmed. Throws Error.
int run_retain_clear(RetainClearOptions& options);

} // namespace mqtk
