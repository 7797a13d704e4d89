#pragma once

#include <span>
#include <string>
#include <string_view>

namespace mqtk {

// One tool that `mqtk TOOL` runs: "pub" runs mqtk-pub.
struct ToolSummary
{
  std::string_view name;    // "pub"
  std::string_view summary; // one line, also the first line of the tool's --help
};

// mqtk's own tools, in the order mqtk --help lists them.
std::span<const ToolSummary> known_tools();

// The summary of the tool named "pub" or "mqtk-pub"; empty when unknown.
std::string_view tool_summary(std::string_view name);

// What `mqtk ARGS...` asks for.
struct FrontAction
{
  enum class Kind { help, version, run, usage_error };
  Kind kind = Kind::usage_error;
  std::string tool;    // Kind::run: "pub"
  std::string message; // Kind::usage_error: what was wrong ("" when no tool was given)
};

// Reads argv[1] only: --help, --version, or a tool name (every argument after
// it goes to the tool verbatim). A name with '/' or starting with '-' is a
// usage error.
FrontAction parse_front_arguments(int argc, char** argv);

// mqtk --help: the usage and one line per tool.
std::string front_help();

// Runs the mqtk front command: prints the help or the versions, or replaces
// the process with mqtk-TOOL ARGS... (execv), looked for beside the mqtk
// executable first and then on PATH, as git runs git-TOOL. Returns only when
// it did not exec: 0 after --help and --version; 1 after a usage error or an
// unknown tool (the help on stderr) or a tool that could not be run (named
// with the reason).
int run_front(int argc, char** argv);

} // namespace mqtk
