#include "mqtk/tools/front.hpp"

#include "mqtk/connection/connection.hpp"
#include "mqtk/process/error.hpp"
#include "mqtk/process/module_loader.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>

#ifndef MQTK_VERSION
#define MQTK_VERSION "0.0.0"
#endif

namespace mqtk {

namespace {

constexpr std::array tools{
  ToolSummary{"pub", "Publish MQTT messages: one, a file, stdin whole or line by line."},
  ToolSummary{"sub", "Subscribe to MQTT topics and print the messages."},
  ToolSummary{"retain-clear", "List, back up, clear and verify retained MQTT messages."},
  ToolSummary{"sys-monitor",
              "Watch an MQTT broker's $SYS health: a live view, JSON Lines, Prometheus metrics, Nagios checks."},
  ToolSummary{"bench",
              "Benchmark an MQTT broker: open-loop rates, latency percentiles, exact loss counts, many connections."},
};

// The name argv[0] of the tool gets: what its own messages and ps show.
std::string command_name(std::string_view tool)
{
  return fmt::format("mqtk-{}", tool);
}

} // namespace

std::span<const ToolSummary> known_tools()
{
  return tools;
}

std::string_view tool_summary(std::string_view name)
{
  if (name.starts_with("mqtk-")) {
    name.remove_prefix(5);
  }
  for (const ToolSummary& t : tools) {
    if (t.name == name) {
      return t.summary;
    }
  }
  return {};
}

FrontAction parse_front_arguments(int argc, char** argv)
{
  FrontAction action;
  if (argc < 2) {
    return action; // usage error, no message: the help says what to give
  }
  const std::string_view first = argv[1];
  if (first == "--help") {
    action.kind = FrontAction::Kind::help;
  } else if (first == "--version") {
    action.kind = FrontAction::Kind::version;
  } else if (first.starts_with("-")) {
    action.message = fmt::format("unknown option '{}' (options go after the tool: mqtk TOOL {})", first, first);
  } else if (first.empty() || first.find('/') != std::string_view::npos) {
    action.message = fmt::format("'{}' is not a tool name", first);
  } else {
    action.kind = FrontAction::Kind::run;
    action.tool = std::string(first);
  }
  return action;
}

std::string front_help()
{
  std::string text = "mqtk: MQTT command-line tools\n"
                     "\n"
                     "Usage: mqtk TOOL [ARGS...]   run mqtk-TOOL with ARGS\n"
                     "       mqtk --help           print this help\n"
                     "       mqtk --version        print mqtk's, Paho's and OpenSSL's versions\n"
                     "\n"
                     "Tools:\n";
  for (const ToolSummary& t : tools) {
    text += fmt::format("  {:<14}{}\n", t.name, t.summary);
  }
  text += "\n"
          "mqtk TOOL --help lists a tool's options; man mqtk-TOOL is its manual, man mqtk the overview.\n";
  return text;
}

int run_front(int argc, char** argv)
{
  const FrontAction action = parse_front_arguments(argc, argv);
  switch (action.kind) {
  case FrontAction::Kind::help:
    fmt::print("{}", front_help());
    return exit_code::ok;
  case FrontAction::Kind::version:
    fmt::print("mqtk {} ({})\n", MQTK_VERSION, library_versions());
    return exit_code::ok;
  case FrontAction::Kind::usage_error:
    if (!action.message.empty()) {
      fmt::print(stderr, "mqtk: {}\n\n", action.message);
    }
    fmt::print(stderr, "{}", front_help());
    return exit_code::failure;
  case FrontAction::Kind::run:
    break;
  }
  const std::string name = command_name(action.tool);
  std::vector<char*> args;
  args.reserve(static_cast<std::size_t>(argc));
  args.push_back(const_cast<char*>(name.c_str()));
  args.insert(args.end(), argv + 2, argv + argc);
  args.push_back(nullptr);
  std::fflush(stdout);
  // Beside mqtk first, so that an installed or built mqtk runs its own
  // tools whatever PATH holds; then PATH, for tools installed elsewhere.
  const std::string directory = executable_directory();
  int beside_error = ENOENT;
  if (!directory.empty()) {
    const std::string beside = directory + name;
    ::execv(beside.c_str(), args.data());
    beside_error = errno;
    if (beside_error != ENOENT) {
      fmt::print(stderr, "mqtk: cannot run {}: {}\n", beside, std::strerror(beside_error));
      return exit_code::failure;
    }
  }
  ::execvp(name.c_str(), args.data());
  const int path_error = errno;
  if (path_error == ENOENT) {
    fmt::print(stderr, "mqtk: '{}' is not an mqtk tool (no {} beside {}mqtk or on PATH)\n\n{}", action.tool,
               name, directory, front_help());
  } else {
    fmt::print(stderr, "mqtk: cannot run {} (from PATH): {}\n", name, std::strerror(path_error));
  }
  return exit_code::failure;
}

} // namespace mqtk
