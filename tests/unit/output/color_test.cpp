#include <doctest/doctest.h>

#include "mqtk/output/color.hpp"
#include "mqtk/process/error.hpp"

#include <cstdlib>
#include <string>

#include <fcntl.h>
#include <unistd.h>

using mqtk::ColorMode;
using mqtk::Paint;

TEST_CASE("--color takes auto, always and never; anything else names the value")
{
  CHECK(mqtk::parse_color_mode("auto") == ColorMode::automatic);
  CHECK(mqtk::parse_color_mode("always") == ColorMode::always);
  CHECK(mqtk::parse_color_mode("never") == ColorMode::never);
  try {
    mqtk::parse_color_mode("yes");
    FAIL("accepted");
  } catch (const mqtk::UsageError& e) {
    CHECK(std::string(e.what()) == "--color: unknown value 'yes' (expected auto, always or never)");
  }
}

TEST_CASE("auto colours only a terminal, and never with NO_COLOR or TERM=dumb; always wins over NO_COLOR")
{
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  ::unsetenv("NO_COLOR");
  CHECK_FALSE(mqtk::color_enabled(ColorMode::automatic, fds[1])); // a pipe
  CHECK(mqtk::color_enabled(ColorMode::always, fds[1]));
  CHECK_FALSE(mqtk::color_enabled(ColorMode::never, fds[1]));
  int tty = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (tty >= 0 && ::grantpt(tty) == 0 && ::unlockpt(tty) == 0) {
    const char* name = ::ptsname(tty);
    REQUIRE(name != nullptr);
    int slave = ::open(name, O_RDWR | O_NOCTTY);
    REQUIRE(slave >= 0);
    const char* term = std::getenv("TERM");
    const std::string saved_term = term != nullptr ? term : "";
    ::setenv("TERM", "xterm", 1);
    CHECK(mqtk::color_enabled(ColorMode::automatic, slave));
    ::setenv("NO_COLOR", "", 1); // empty: as if unset
    CHECK(mqtk::color_enabled(ColorMode::automatic, slave));
    ::setenv("NO_COLOR", "1", 1);
    CHECK_FALSE(mqtk::color_enabled(ColorMode::automatic, slave));
    CHECK(mqtk::color_enabled(ColorMode::always, slave));
    ::unsetenv("NO_COLOR");
    ::setenv("TERM", "dumb", 1);
    CHECK_FALSE(mqtk::color_enabled(ColorMode::automatic, slave));
    if (term != nullptr) {
      ::setenv("TERM", saved_term.c_str(), 1);
    } else {
      ::unsetenv("TERM");
    }
    ::close(slave);
  }
  if (tty >= 0) {
    ::close(tty);
  }
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("painted text is wrapped in its SGR sequence and a reset, or left alone")
{
  CHECK(mqtk::painted("x", Paint::good, true) == "\x1b[32mx\x1b[0m");
  CHECK(mqtk::painted("x", Paint::error, true) == "\x1b[1;31mx\x1b[0m");
  CHECK(mqtk::painted("x", Paint::topic, false) == "x");
}
