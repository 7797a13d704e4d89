#pragma once

#include "mqtk/connection/options.hpp"
#include "mqtk/rules/message_rules.hpp"

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace mqtk {

// mqtk-pub's flags, beside the shared connection options.
struct PubOptions
{
  ConnectionOptions connection;
  std::string topic;
  std::optional<std::string> message; // -m
  std::string file;                   // -f
  bool stdin_whole = false;           // -s
  bool stdin_lines = false;           // -l
  bool json_lines = false;            // --json-lines
  bool null_message = false;          // -n
  int qos = 0;
  bool retain = false;
  int repeat = 1;
  double repeat_delay = 0.0; // seconds
  std::string fields;        // --fields ax,ay,az (with -l)
  bool header = false;       // --header: the first -l line names the fields
  RuleOptions rules;
};

// Declares mqtk-pub's flags (and the shared connection group) on `app`.
void add_pub_options(CLI::App& app, PubOptions& options);

// Checks the parsed options before anything connects: one topic without
// wildcards, exactly one message source, --repeat only with -m/-f/-s/-n.
// Throws UsageError.
void validate(PubOptions& options);

// Publishes as asked and returns the exit code: 0 once every message was
// written (QoS 0) or acknowledged (QoS 1 and 2). Throws Error.
int run_pub(PubOptions& options);

} // namespace mqtk
