#include "mqtk/tools/bench.hpp"

#include "mqtk/process/error.hpp"

#include <doctest/doctest.h>

using mqtk::parse_start_at;

TEST_CASE("--start-at: seconds since the epoch and ISO 8601 with Z or an offset")
{
  constexpr std::uint64_t second = 1'000'000'000;
  CHECK(parse_start_at("1796196600") == 1796196600 * second);
  CHECK(parse_start_at("1796196600.25") == 1796196600 * second + second / 4);
  CHECK(parse_start_at("2026-12-02T06:50:00Z") == 1796194200 * second);
  CHECK(parse_start_at("2026-12-02T06:50:00.5Z") == 1796194200 * second + second / 2);
  CHECK(parse_start_at("2026-12-02T07:50:00+01:00") == 1796194200 * second);
  CHECK(parse_start_at("2026-12-02T01:50:00-0500") == 1796194200 * second);
  CHECK(parse_start_at("2026-12-02T08:50:00+02") == 1796194200 * second);
}

TEST_CASE("--start-at: bad and out-of-range times are usage errors that name the value")
{
  for (const char* bad : {"", "soon", "-5", "2026-13-02T06:50:00Z", "2026-12-02T06:50:00+25:00",
                          "2026-12-02T06:50:00+1", "2026-12-02T06:50:00.Z", "2026-12-02T06:50:00 UTC"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_start_at(bad), mqtk::UsageError);
  }
  try {
    parse_start_at("99999999999999999999");
    FAIL("no error");
  } catch (const mqtk::UsageError& e) {
    CHECK(std::string(e.what()).find("out of range") != std::string::npos);
  }
  CHECK_THROWS_AS(parse_start_at("9999-01-01T00:00:00Z"), mqtk::UsageError);
  CHECK_THROWS_AS(parse_start_at("18446744072.8"), mqtk::UsageError);
  CHECK(parse_start_at("18446744071.999999999") == 18'446'744'071'999'999'999u);
}
