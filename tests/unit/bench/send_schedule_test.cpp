#include <doctest/doctest.h>

#include "mqtk/bench/send_schedule.hpp"
#include "mqtk/process/error.hpp"

#include <cmath>

using namespace std::chrono_literals;
using mqtk::SendSchedule;

TEST_CASE("send schedule: due times from the start, without drift")
{
  const auto t0 = SendSchedule::Clock::now();
  SendSchedule s(1000, t0);
  CHECK(s.due(0) == t0);
  CHECK(s.due(1) == t0 + 1ms);
  CHECK(s.due(1'000'000) == t0 + 1000s); // exact after a million messages
  SendSchedule third(3, t0);
  CHECK(third.due(3) == t0 + 1s);
  CHECK(third.due(1) == t0 + std::chrono::nanoseconds(333'333'333));
}

TEST_CASE("send schedule: how many are due, and the lag of a late send")
{
  const auto t0 = SendSchedule::Clock::now();
  SendSchedule s(100, t0); // every 10 ms
  CHECK(s.due_by(t0 - 1ms) == 0);
  CHECK(s.due_by(t0) == 1);
  CHECK(s.due_by(t0 + 9ms) == 1);
  CHECK(s.due_by(t0 + 10ms) == 2);
  CHECK(s.due_by(t0 + 1s) == 101);
  for (std::uint64_t i = 0; i < 500; ++i) {
    const auto now = t0 + std::chrono::microseconds(i * 7919);
    const auto n = s.due_by(now);
    REQUIRE(s.due(n - 1) <= now);
    REQUIRE(s.due(n) > now);
  }
  // A broker stalled for half a second: message 5 (due at 50 ms) goes out at
  // 550 ms, 500 ms late, and so does the latency counted from its due time.
  CHECK(s.lag(5, t0 + 550ms) == 500ms);
  CHECK(s.lag(5, t0 + 40ms) == 0ms); // early: no lag
}

TEST_CASE("send schedule: rates out of range are refused; far due times saturate")
{
  const auto t0 = SendSchedule::Clock::now();
  for (double bad : {0.0, -5.0, 1e-11, 2e9, std::nan(""), 1.0 / 0.0}) {
    CHECK_THROWS_AS(SendSchedule(bad, t0), mqtk::UsageError);
  }
  SendSchedule slow(SendSchedule::min_rate, t0);
  CHECK(slow.due(~std::uint64_t{0}) == SendSchedule::Clock::time_point::max());
  SendSchedule fast(SendSchedule::max_rate, t0);
  CHECK(fast.due_by(t0 + 1s) == 1'000'000'001);
}
