#pragma once

#include <chrono>
#include <cstdint>

namespace mqtk {

// `--rate N`: lets at most N messages per second through and drops the
// rest (nothing is delayed or queued, so the output stays live and a fast
// sensor stream is thinned to evenly spaced samples). A token bucket in
// exact integer time: it holds up to `burst` tokens, refills one token
// every 1/N s and starts full; a message passes if it can take a token.
// With the default burst of 1, passed messages are at least 1/N s apart.
class RateLimiter
{
public:
  // Throws UsageError unless rate is finite and in [1e-6, 1e9] messages per
  // second and burst >= 1.
  explicit RateLimiter(double rate, std::uint32_t burst = 1);

  // Whether a message arriving at now may go; counts it as passed or dropped.
  // now must not go backwards (steady_clock).
  bool allow(std::chrono::steady_clock::time_point now) noexcept;

  // Messages let through so far.
  std::uint64_t passed() const noexcept { return m_passed; }

  // Messages dropped so far.
  std::uint64_t dropped() const noexcept { return m_dropped; }

  // Time between two tokens: 1/N s, rounded to the clock's resolution.
  std::chrono::steady_clock::duration interval() const noexcept { return m_interval; }

private:
  std::chrono::steady_clock::duration m_interval;
  std::chrono::steady_clock::duration m_tolerance; // (burst - 1) intervals
  // When the bucket is full again with one token taken ("theoretical arrival
  // time" of GCRA); unset before the first message.
  std::chrono::steady_clock::time_point m_full_at{};
  bool m_started = false;
  std::uint64_t m_passed = 0;
  std::uint64_t m_dropped = 0;
};

} // namespace mqtk
