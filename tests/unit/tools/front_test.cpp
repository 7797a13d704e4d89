#include "mqtk/tools/front.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

using mqtk::FrontAction;

namespace {

FrontAction parse(std::vector<std::string> words)
{
  std::vector<char*> argv;
  for (std::string& w : words) {
    argv.push_back(w.data());
  }
  argv.push_back(nullptr);
  return mqtk::parse_front_arguments(static_cast<int>(words.size()), argv.data());
}

} // namespace

TEST_CASE("mqtk front: the first argument is --help, --version or a tool; the rest is the tool's")
{
  CHECK(parse({"mqtk", "--help"}).kind == FrontAction::Kind::help);
  CHECK(parse({"mqtk", "--version"}).kind == FrontAction::Kind::version);
  FrontAction run = parse({"mqtk", "pub", "--help", "-t", "a"});
  CHECK(run.kind == FrontAction::Kind::run);
  CHECK(run.tool == "pub");
  // Unknown names are for run_front to look for (on PATH too): not refused here.
  CHECK(parse({"mqtk", "my-own-tool"}).tool == "my-own-tool");
}

TEST_CASE("mqtk front: no tool, an option before the tool, a path are usage errors naming the argument")
{
  FrontAction none = parse({"mqtk"});
  CHECK(none.kind == FrontAction::Kind::usage_error);
  CHECK(none.message.empty());
  FrontAction option = parse({"mqtk", "-t", "pub"});
  CHECK(option.kind == FrontAction::Kind::usage_error);
  CHECK(option.message == "unknown option '-t' (options go after the tool: mqtk TOOL -t)");
  for (const char* bad : {"../bin/sh", "/bin/sh", "a/b", ""}) {
    CAPTURE(bad);
    FrontAction path = parse({"mqtk", bad});
    CHECK(path.kind == FrontAction::Kind::usage_error);
    CHECK(path.message == "'" + std::string(bad) + "' is not a tool name");
  }
}

TEST_CASE("mqtk front: --help lists every tool once with its summary, which the tools' --help shares")
{
  const std::string help = mqtk::front_help();
  CHECK(help.find("Usage: mqtk TOOL [ARGS...]") != std::string::npos);
  CHECK(mqtk::known_tools().size() == 5);
  for (const mqtk::ToolSummary& t : mqtk::known_tools()) {
    CAPTURE(t.name);
    CHECK(help.find("  " + std::string(t.name) + " ") != std::string::npos);
    CHECK(help.find(std::string(t.summary)) != std::string::npos);
    CHECK(mqtk::tool_summary(t.name) == t.summary);
    CHECK(mqtk::tool_summary("mqtk-" + std::string(t.name)) == t.summary);
  }
  CHECK(mqtk::tool_summary("mqtk-nope").empty());
}
