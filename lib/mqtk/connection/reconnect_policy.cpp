#include "mqtk/connection/reconnect_policy.hpp"

#include <algorithm>
#include <random>

namespace mqtk {

ReconnectBackoff::ReconnectBackoff(std::chrono::milliseconds first, std::chrono::milliseconds cap,
                                   std::uint64_t seed)
  : m_first(std::max(first, std::chrono::milliseconds(1))),
    m_cap(std::max(cap, m_first)),
    m_nominal(m_first),
    m_state(seed != 0 ? seed : std::random_device{}() | 1u)
{
}

std::chrono::milliseconds ReconnectBackoff::next()
{
  // xorshift64: enough for jitter, and repeatable from a seed in tests.
  m_state ^= m_state << 13;
  m_state ^= m_state >> 7;
  m_state ^= m_state << 17;
  const auto nominal = m_nominal.count();
  const auto spread = nominal / 4;
  const auto pause = nominal - (spread > 0 ? static_cast<long long>(m_state % static_cast<std::uint64_t>(spread + 1)) : 0);
  m_nominal = std::min(m_nominal * 2, m_cap);
  return std::chrono::milliseconds(pause);
}

void ReconnectBackoff::reset() noexcept
{
  m_nominal = m_first;
}

bool refusal_is_permanent(int mqtt_version, int code) noexcept
{
  if (mqtt_version < 5) {
    // 3 is "server unavailable"; 1, 2, 4 and 5 repeat on every attempt.
    return code != 3;
  }
  switch (code) {
  case 0x88: // server unavailable
  case 0x89: // server busy
  case 0x97: // quota exceeded
  case 0x9F: // connection rate exceeded
    return false;
  default:
    return code >= 0x80;
  }
}

} // namespace mqtk
