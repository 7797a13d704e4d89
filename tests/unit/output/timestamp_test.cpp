#include "mqtk/output/timestamp.hpp"

#include <doctest/doctest.h>

using namespace std::chrono_literals;

TEST_CASE("timestamp: ISO-8601 UTC with microseconds, across second boundaries")
{
  std::chrono::system_clock::time_point t{std::chrono::sys_days{std::chrono::year{2026} / 11 / 25}};
  t += 11h + 46min + 15s + 733847us;
  std::string out;
  mqtk::append_iso8601_utc(out, t);
  CHECK(out == "2026-11-25T11:46:15.733847Z");
  out.clear();
  mqtk::append_iso8601_utc(out, t + 1us);
  CHECK(out == "2026-11-25T11:46:15.733848Z");
  out.clear();
  mqtk::append_iso8601_utc(out, t + 266153us); // the next second
  CHECK(out == "2026-11-25T11:46:16.000000Z");
  out.clear();
  mqtk::append_iso8601_utc(out, t - 24h); // back a day: the cache must not be reused
  CHECK(out == "2026-11-24T11:46:15.733847Z");
}
