#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace mqtk {

struct ConnectionOptions;

// What a tool's main hands to run_tool.
struct ToolSpec
{
  std::string_view name;        // "mqtk-pub"
  std::string_view description; // first line of --help
  // Declares the tool's flags on an app whose help flag is "--help" only and
  // whose scalar options take the last value given (as mosquitto does).
  std::function<void(CLI::App&)> declare;
  // Runs the tool after a successful parse; returns the exit code.
  std::function<int()> run;
  // Points at the tool's --quiet flag: when set, errors are not printed.
  const bool* quiet = nullptr;
  // A flag that takes every argument after it, verbatim ("--exec CMD
  // ARGS..."): run_tool moves them into *rest_arguments before parsing.
  std::string_view rest_option;
  std::vector<std::string>* rest_arguments = nullptr;
  // The exit code of a usage error, from the command line (mqtk-sys-monitor
  // --once: 3, Nagios' UNKNOWN); unset: 1.
  std::function<int(int argc, char** argv)> usage_exit_code = {};
  // More library versions for --version ("libmosquitto 2.0.11").
  std::function<std::string()> more_versions = {};
  // The tool's connection options: a connection refused for its
  // credentials then says which were refused and where they came from.
  const ConnectionOptions* connection = nullptr;
};

// The one place where errors become a stderr line and an exit code:
// parses argv (usage errors exit 1; --help prints on stdout and exits 0;
// --version prints mqtk's and the libraries' versions), overwrites the
// passwords in argv (-P, -L's) so that ps no longer shows them, runs the tool,
// flushes stdout and ends the process without tearing down Paho's threads
// (every delivery has been confirmed by then).
[[noreturn]] void run_tool(const ToolSpec& spec, int argc, char** argv);

} // namespace mqtk
