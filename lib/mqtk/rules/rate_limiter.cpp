#include "mqtk/rules/rate_limiter.hpp"

#include <cmath>

#include <fmt/format.h>

#include "mqtk/process/error.hpp"

namespace mqtk {

RateLimiter::RateLimiter(double rate, std::uint32_t burst)
{
  if (!std::isfinite(rate) || rate < 1e-6 || rate > 1e9) {
    throw UsageError(
      fmt::format("--rate: expected messages per second between 0.000001 and 1000000000, got {}", rate));
  }
  if (burst < 1) {
    throw UsageError("--rate: the burst must be at least 1");
  }
  m_interval = std::chrono::round<std::chrono::steady_clock::duration>(std::chrono::duration<double>(1.0 / rate));
  if (m_interval <= std::chrono::steady_clock::duration::zero()) {
    m_interval = std::chrono::steady_clock::duration(1);
  }
  if (static_cast<double>(burst - 1) * static_cast<double>(m_interval.count()) >
      static_cast<double>(std::chrono::steady_clock::duration::max().count() / 4)) {
    throw UsageError(fmt::format("--rate: a burst of {} at {} messages per second is too large", burst, rate));
  }
  m_tolerance = m_interval * static_cast<std::chrono::steady_clock::rep>(burst - 1);
}

bool RateLimiter::allow(std::chrono::steady_clock::time_point now) noexcept
{
  // GCRA: m_full_at moves one interval per passed message and never lags
  // behind now, so tokens stay whole numbers and no rounding accumulates.
  if (m_started && m_full_at - now > m_tolerance) {
    ++m_dropped;
    return false;
  }
  m_full_at = (m_started && m_full_at > now ? m_full_at : now) + m_interval;
  m_started = true;
  ++m_passed;
  return true;
}

} // namespace mqtk
