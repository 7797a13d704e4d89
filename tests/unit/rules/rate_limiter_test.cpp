#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <string>

#include "mqtk/process/error.hpp"
#include "mqtk/rules/rate_limiter.hpp"

using mqtk::RateLimiter;
using namespace std::chrono_literals;

namespace {

const auto t0 = std::chrono::steady_clock::time_point{} + 100s;

// Feeds messages every `step` for `count` messages; '+' passed, '.' dropped.
std::string feed(RateLimiter& r, std::chrono::steady_clock::duration step, int count,
                 std::chrono::steady_clock::time_point start = t0)
{
  std::string marks;
  for (int i = 0; i < count; ++i) {
    marks.push_back(r.allow(start + step * i) ? '+' : '.');
  }
  return marks;
}

} // namespace

TEST_CASE("rate limiter: evenly spaced by default")
{
  RateLimiter r(10); // one per 100 ms
  CHECK(r.interval() == 100ms);
  CHECK(feed(r, 25ms, 17) == "+...+...+...+...+");
  CHECK(r.passed() == 5);
  CHECK(r.dropped() == 12);
}

TEST_CASE("rate limiter: exact boundaries, no drift")
{
  RateLimiter r(200); // 5 ms
  // 1 kHz input for 10 s: exactly every fifth message.
  int passed = 0;
  for (int i = 0; i < 10000; ++i) {
    if (r.allow(t0 + 1ms * i)) {
      CHECK(i % 5 == 0);
      ++passed;
    }
  }
  CHECK(passed == 2000);
  // Slower input than the rate: everything passes.
  RateLimiter slow(10);
  CHECK(feed(slow, 150ms, 6) == "++++++");
  CHECK(slow.dropped() == 0);
}

TEST_CASE("rate limiter: idle time does not accumulate beyond the burst")
{
  RateLimiter r(1);
  CHECK(r.allow(t0));
  CHECK(r.allow(t0 + 1h));
  CHECK_FALSE(r.allow(t0 + 1h + 1ms));
  CHECK(r.allow(t0 + 1h + 1s));

  RateLimiter b(1, 3);
  // Starts full: three at once, then one per second.
  CHECK(feed(b, 0s, 4) == "+++.");
  CHECK(feed(b, 250ms, 8, t0 + 1s) == "+...+...");
  // After a long pause the bucket holds three again, not more.
  CHECK(feed(b, 1ms, 5, t0 + 100s) == "+++..");
}

TEST_CASE("rate limiter: fractional rates")
{
  RateLimiter r(0.5); // one per 2 s
  CHECK(r.interval() == 2s);
  CHECK(feed(r, 500ms, 9) == "+...+...+");
  RateLimiter third(3);
  CHECK(third.interval() == std::chrono::nanoseconds(333333333));
}

TEST_CASE("rate limiter: bad rates")
{
  const auto valid = [](double rate, std::uint32_t burst = 1) {
    try {
      RateLimiter r(rate, burst);
      return true;
    } catch (const mqtk::UsageError&) {
      return false;
    }
  };
  CHECK_FALSE(valid(0));
  CHECK_FALSE(valid(-1));
  CHECK_FALSE(valid(std::nan("")));
  CHECK_FALSE(valid(HUGE_VAL));
  CHECK_FALSE(valid(2e9));
  CHECK_FALSE(valid(10, 0));
  CHECK_FALSE(valid(1e-6, 4000000000u));
  CHECK(valid(1e9));
  CHECK(valid(1e-6));
  CHECK(valid(1e9, 4000000000u));
  try {
    RateLimiter bad(0);
  } catch (const mqtk::UsageError& e) {
    CHECK(std::string(e.what()) == "--rate: expected messages per second between 0.000001 and 1000000000, got 0");
  }
}
