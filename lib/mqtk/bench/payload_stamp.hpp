#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mqtk {

// What mqtk-bench writes at the start of each payload, so subscribers can
// count per publisher and measure end to end: "MQB1", the publisher's
// number, its sequence number and the time the message was due (ns on
// CLOCK_REALTIME, so several machines with synchronised clocks can be
// compared), little-endian; the payload's other bytes are padding.
struct PayloadStamp
{
  static constexpr std::size_t size = 24;

  std::uint32_t publisher = 0;
  std::uint64_t sequence = 0;
  std::uint64_t due_ns = 0;

  // Writes the stamp at the start of `payload`, first made `size` bytes
  // long if it is shorter.
  void write(std::string& payload) const;

  // The stamp of a payload, or nullopt when it has none (too short, no
  // "MQB1").
  static std::optional<PayloadStamp> read(std::string_view payload) noexcept;
};

} // namespace mqtk
