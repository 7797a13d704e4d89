#include "mqtk/output/color.hpp"

#include "mqtk/process/error.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace mqtk {

namespace {

std::atomic<bool> color_out{false};
std::atomic<bool> color_err{false};

std::string_view sgr(Paint paint)
{
  switch (paint) {
  case Paint::topic: return "\x1b[36m";      // cyan
  case Paint::error: return "\x1b[1;31m";    // bold red
  case Paint::good: return "\x1b[32m";       // green
  case Paint::warning: return "\x1b[33m";    // yellow
  case Paint::bad: return "\x1b[1;31m";      // bold red
  case Paint::heading: return "\x1b[1m";     // bold
  }
  return "";
}

} // namespace

ColorMode parse_color_mode(std::string_view text)
{
  if (text == "auto") {
    return ColorMode::automatic;
  }
  if (text == "always") {
    return ColorMode::always;
  }
  if (text == "never") {
    return ColorMode::never;
  }
  throw UsageError(fmt::format("--color: unknown value '{}' (expected auto, always or never)", text));
}

bool color_enabled(ColorMode mode, int fd)
{
  switch (mode) {
  case ColorMode::always: return true;
  case ColorMode::never: return false;
  case ColorMode::automatic: break;
  }
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') {
    return false;
  }
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::strcmp(term, "dumb") == 0) {
    return false;
  }
  return ::isatty(fd) == 1;
}

void set_color_choice(ColorChoice choice) noexcept
{
  color_out.store(choice.out, std::memory_order_relaxed);
  color_err.store(choice.err, std::memory_order_relaxed);
}

ColorChoice color_choice() noexcept
{
  return {color_out.load(std::memory_order_relaxed), color_err.load(std::memory_order_relaxed)};
}

std::string painted(std::string_view text, Paint paint, bool on)
{
  if (!on) {
    return std::string(text);
  }
  return fmt::format("{}{}\x1b[0m", sgr(paint), text);
}

void add_color_option(CLI::App& app, std::string& value)
{
  app.add_option("--color", value, "Colour the output: auto (on a terminal, unless NO_COLOR is set), always or never")
    ->type_name("WHEN");
}

} // namespace mqtk
