#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mqtk {

// What mqtk-bench writes at the start of each payload, so subscribers can
// count per publisher and measure end to end: "MQB", a flags byte ('0'
// plus 1 for a warm-up message, plus 2 when the due time is on
// CLOCK_REALTIME rather than CLOCK_MONOTONIC), the publisher's number, its
// sequence number and the time the message was due in ns, little-endian;
// the payload's other bytes are padding. CLOCK_MONOTONIC is the default
// (one machine); CLOCK_REALTIME lets machines with synchronised clocks
// compare.
struct PayloadStamp
{
  static constexpr std::size_t size = 24;

  std::uint32_t publisher = 0;
  std::uint64_t sequence = 0;
  std::uint64_t due_ns = 0;
  bool warmup = false;   // sent during --warmup: not counted
  bool realtime = false; // due_ns is on CLOCK_REALTIME

  // Writes the stamp at the start of `payload`, first made `size` bytes
  // long if it is shorter.
  void write(std::string& payload) const;

  // The stamp of a payload, or nullopt when it has none (too short, no
  // "MQB" and flags byte).
  static std::optional<PayloadStamp> read(std::string_view payload) noexcept;
};

} // namespace mqtk
