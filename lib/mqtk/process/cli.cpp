#include "mqtk/process/cli.hpp"

#include "mqtk/connection/connection.hpp"
#include "mqtk/connection/credentials.hpp"
#include "mqtk/output/color.hpp"
#include "mqtk/process/config_file.hpp"
#include "mqtk/process/error.hpp"
#include "mqtk/process/option_values.hpp"
#include "mqtk/tools/front.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#ifndef MQTK_VERSION
#define MQTK_VERSION "0.0.0"
#endif

namespace mqtk {

namespace {

[[noreturn]] void finish(int code)
{
  std::fflush(stdout);
  std::fflush(stderr);
  // Skip static destructors and Paho's thread teardown (which sleeps in
  // 100 ms steps): by now every message is confirmed and output written.
  ::_exit(code);
}

// Moves the arguments after spec.rest_option ("--exec") into
// *spec.rest_arguments and returns the argc that leaves for CLI11.
int take_rest_arguments(const ToolSpec& spec, int argc, char** argv)
{
  if (spec.rest_option.empty() || spec.rest_arguments == nullptr) {
    return argc;
  }
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == spec.rest_option) {
      spec.rest_arguments->assign(argv + i + 1, argv + argc);
      if (spec.rest_arguments->empty()) {
        throw UsageError(
          fmt::format("{} needs a command to run (it takes every argument after it)", spec.rest_option));
      }
      return i;
    }
  }
  return argc;
}

// plain_parse_error, except that a stray word right after a -P value (a
// password with spaces, unquoted) is not repeated.
std::string parse_error_without_passwords(const CLI::ParseError& e, CLI::App& app, int argc, char** argv,
                                          const std::vector<SecretSpan>& passwords)
{
  std::string message = plain_parse_error(e, app);
  const std::vector<std::string> extras = app.remaining(true);
  if (message.starts_with("unexpected argument '") && !extras.empty()) {
    for (int i = 1; i < argc; ++i) {
      if (extras.front() == argv[i] && follows_password(i, passwords)) {
        return "unexpected argument after the password (-P takes one value; quote a password with spaces)";
      }
    }
  }
  return message;
}

// Every tool's name, for the sections of the config file.
std::vector<std::string> tool_names()
{
  std::vector<std::string> names;
  for (const ToolSummary& t : known_tools()) {
    names.push_back(fmt::format("mqtk-{}", t.name));
  }
  return names;
}

// -d: said once the command line and the config file are parsed.
bool debug_given(CLI::App& app)
{
  std::vector<CLI::App*> apps = app.get_subcommands([](CLI::App* sub) { return !sub->get_name().empty(); });
  apps.insert(apps.begin(), &app);
  for (CLI::App* a : apps) {
    const CLI::Option* debug = a->get_option_no_throw("--debug");
    if (debug != nullptr && debug->count() > 0 && debug->as<bool>()) {
      return true;
    }
  }
  return false;
}

} // namespace

void run_tool(const ToolSpec& spec, int argc, char** argv)
{
  CLI::App app{std::string(spec.description), std::string(spec.name)};
  app.set_help_flag("--help", "Print this help on stdout and exit");
  app.set_version_flag("--version", [&spec] {
    const std::string more = spec.more_versions ? ", " + spec.more_versions() : std::string();
    return fmt::format("mqtk {} ({}{})", MQTK_VERSION, library_versions(), more);
  }, "Print mqtk's and its libraries' versions and exit");
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.get_formatter()->column_width(34);
  std::string color = "auto";
  // The tool's name in front of an error, in colour on a terminal (also
  // for a usage error that came before --color was read: auto then).
  auto prefix = [&] {
    ColorMode mode = ColorMode::automatic;
    try {
      mode = parse_color_mode(color);
    } catch (const UsageError&) {
    }
    return painted(spec.name, Paint::error, color_enabled(mode, 2));
  };
  auto print_error = [&](std::string_view message) {
    if (spec.quiet == nullptr || !*spec.quiet) {
      fmt::print(stderr, "{}: {}\n", prefix(), message);
    }
  };
  ConfigDefaults config(std::string(spec.name), tool_names(), [](const char* name) { return std::getenv(name); });
  try {
    add_color_option(app, color);
    spec.declare(app);
    config.declare(app);
    // mqtk-bench's subcommands take it too ("mqtk-bench pubsub --color never").
    // (Option groups are unnamed subcommands to CLI11: not those.)
    for (CLI::App* sub : app.get_subcommands([](CLI::App* s) { return !s->get_name().empty(); })) {
      add_color_option(*sub, color);
    }
    refuse_option_names_as_values(app);
    argc = take_rest_arguments(spec, argc, argv);
    // Once CLI11 has copied the arguments, whatever the outcome, the
    // passwords in argv are overwritten in place (as curl does).
    std::vector<SecretSpan> passwords;
    auto hide_passwords = [&] {
      passwords = find_passwords(app, argc, argv);
      blank_passwords(argv, passwords);
    };
    try {
      app.parse(argc, argv);
      hide_passwords();
      if (auto failure = config.failure()) {
        throw UsageError(*failure);
      }
      if (debug_given(app)) {
        fmt::print(stderr, "{}: {}\n", spec.name, config.describe());
      }
      const ColorMode mode = parse_color_mode(color);
      set_color_choice({color_enabled(mode, 1), color_enabled(mode, 2)});
    } catch (const CLI::CallForHelp&) {
      hide_passwords();
      fmt::print("{}", app.help());
      finish(exit_code::ok);
    } catch (const CLI::CallForVersion& e) {
      hide_passwords();
      fmt::print("{}\n", e.what());
      finish(exit_code::ok);
    } catch (const CLI::ParseError& e) {
      hide_passwords();
      if (dynamic_cast<const CLI::FileError*>(&e) != nullptr) {
        if (auto failure = config.failure()) {
          throw UsageError(*failure);
        }
      }
      throw UsageError(parse_error_without_passwords(e, app, argc, argv, passwords));
    }
    finish(spec.run());
  } catch (const UsageError& e) {
    // As in mosquitto, --quiet hides runtime errors, not usage errors.
    fmt::print(stderr, "{}: {}\nRun '{} --help' for usage.\n", prefix(), config.with_origin(e.what()), spec.name);
    finish(spec.usage_exit_code ? spec.usage_exit_code(argc, argv) : e.code());
  } catch (const Error& e) {
    print_error(spec.connection == nullptr ? std::string(e.what())
                                           : e.what() + credentials_refused_note(*spec.connection, e.code()));
    finish(e.code());
  } catch (const std::bad_alloc&) {
    print_error("out of memory");
    finish(exit_code::failure);
  } catch (const std::exception& e) {
    print_error(fmt::format("internal error: {}", e.what()));
    finish(exit_code::failure);
  }
}

} // namespace mqtk
