#include "mqtk/bench/send_schedule.hpp"

#include "mqtk/process/error.hpp"

#include <cmath>

#include <fmt/format.h>

namespace mqtk {

SendSchedule::SendSchedule(double rate, Clock::time_point start)
  : m_rate(rate),
    m_start(start)
{
  if (!(rate >= min_rate && rate <= max_rate)) {
    throw UsageError(fmt::format("--rate: expected messages per second from {} to {}, not {}", min_rate, max_rate,
                                 rate));
  }
}

SendSchedule::Clock::time_point SendSchedule::due(std::uint64_t i) const noexcept
{
  // In nanoseconds from the start, computed from i each time: no drift from
  // adding up rounded intervals.
  const long double ns = static_cast<long double>(i) * 1e9L / static_cast<long double>(m_rate);
  const long double room = static_cast<long double>((Clock::time_point::max() - m_start).count());
  if (ns >= room) {
    return Clock::time_point::max();
  }
  return m_start + std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(ns)));
}

std::uint64_t SendSchedule::due_by(Clock::time_point now) const noexcept
{
  if (now < m_start) {
    return 0;
  }
  const long double seconds = std::chrono::duration<long double>(now - m_start).count();
  // At most 1e9 a second, messages are at least 1 ns apart: the estimate is
  // off by a message or two at most, and the loops below stay short.
  auto n = static_cast<std::uint64_t>(std::floor(seconds * static_cast<long double>(m_rate))) + 1;
  // Rounding at the edge: keep due(n - 1) <= now < due(n).
  while (n > 0 && due(n - 1) > now) {
    --n;
  }
  while (due(n) <= now) {
    ++n;
  }
  return n;
}

SendSchedule::Clock::duration SendSchedule::lag(std::uint64_t i, Clock::time_point now) const noexcept
{
  const auto d = due(i);
  return now > d ? now - d : Clock::duration::zero();
}

} // namespace mqtk
