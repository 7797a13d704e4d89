#pragma once

#include <chrono>
#include <cstdint>

namespace mqtk {

// The pauses between reconnect attempts: capped exponential backoff with
// jitter, so that a classroom of clients that lost one broker does not
// come back in one burst. The first pause is short (a broker restart takes
// about a second), each next one doubles up to `cap`; each is drawn at
// random from [75 %, 100 %] of the nominal value.
class ReconnectBackoff
{
public:
  explicit ReconnectBackoff(std::chrono::milliseconds first = std::chrono::milliseconds(100),
                            std::chrono::milliseconds cap = std::chrono::seconds(10),
                            std::uint64_t seed = 0);

  // The pause before the next attempt; advances the sequence.
  std::chrono::milliseconds next();

  // Starts again from `first` (after a successful reconnect).
  void reset() noexcept;

private:
  std::chrono::milliseconds m_first;
  std::chrono::milliseconds m_cap;
  std::chrono::milliseconds m_nominal;
  std::uint64_t m_state;
};

// Whether a broker's refusal of CONNECT stays true on the next attempt (bad
// user name or password, not authorised, a bad client id, an unsupported
// protocol version, a banned client...): reconnecting then only repeats
// it, so the tool gives up at once with the refusal's code. "Server
// unavailable" and "server busy", quota and rate limits are passing states
// and are retried. `mqtt_version` 3, 4 or 5; `code` the CONNACK return code
// (3.x) or reason code (5).
bool refusal_is_permanent(int mqtt_version, int code) noexcept;

} // namespace mqtk
