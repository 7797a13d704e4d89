#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "mqtk/process/alarm.hpp"

using namespace std::chrono_literals;
using mqtk::Alarm;

TEST_CASE("alarm: rings once at its time, on another thread")
{
  std::atomic<int> rings{0};
  std::atomic<bool> other_thread{false};
  const auto me = std::this_thread::get_id();
  const auto armed = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point rang_at;
  {
    Alarm alarm(armed + 50ms, [&] {
      rang_at = std::chrono::steady_clock::now();
      other_thread = std::this_thread::get_id() != me;
      ++rings;
    });
    while (!alarm.rang()) {
      std::this_thread::sleep_for(1ms);
    }
  }
  CHECK(rings == 1);
  CHECK(other_thread);
  CHECK(rang_at - armed >= 50ms);
}

TEST_CASE("alarm: destroyed before its time, it never rings")
{
  std::atomic<int> rings{0};
  const auto armed = std::chrono::steady_clock::now();
  {
    Alarm alarm(armed + 10s, [&] { ++rings; });
    CHECK_FALSE(alarm.rang());
  }
  // Disarming does not wait for the time.
  CHECK(std::chrono::steady_clock::now() - armed < 5s);
  CHECK(rings == 0);
}

TEST_CASE("alarm: destruction waits for a ring under way")
{
  std::atomic<bool> finished{false};
  {
    Alarm alarm(std::chrono::steady_clock::now(), [&] {
      std::this_thread::sleep_for(50ms);
      finished = true;
    });
    while (!alarm.rang()) {
      std::this_thread::sleep_for(1ms);
    }
  }
  CHECK(finished);
}
