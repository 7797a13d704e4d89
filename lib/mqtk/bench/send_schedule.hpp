#pragma once

#include <chrono>
#include <cstdint>

namespace mqtk {

// An open-loop send schedule (mqtk-bench --rate): message i of a client is
// due at start + i / rate, whenever the previous one actually went out, so
// latency counted from due() includes the time the sender fell behind (a
// stalled broker shows in the percentiles instead of slowing the schedule:
// the coordinated-omission correction of wrk2).
class SendSchedule
{
public:
  using Clock = std::chrono::steady_clock;

  static constexpr double min_rate = 1e-6; // one message in 11.6 days
  static constexpr double max_rate = 1e9;  // at least 1 ns apart

  // `rate` messages per second, from min_rate to max_rate. Throws
  // UsageError otherwise.
  SendSchedule(double rate, Clock::time_point start);

  // When message `i` (from 0) is due; Clock::time_point::max() past what
  // the clock can hold.
  Clock::time_point due(std::uint64_t i) const noexcept;

  // How many messages are due by `now` (those with due() <= now).
  std::uint64_t due_by(Clock::time_point now) const noexcept;

  // How far behind its due time message `i` is when sent at `now` (zero
  // when on time).
  Clock::duration lag(std::uint64_t i, Clock::time_point now) const noexcept;

  double rate() const noexcept { return m_rate; }
  Clock::time_point start() const noexcept { return m_start; }

private:
  double m_rate;
  Clock::time_point m_start;
};

} // namespace mqtk
