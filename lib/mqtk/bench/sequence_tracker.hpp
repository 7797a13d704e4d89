#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace mqtk {

// Exact delivery accounting for mqtk-bench's subscribers: every message
// carries its publisher's number and a sequence number counting from 0, and
// this counts, per publisher, what arrived once, what arrived again
// (duplicates) and what arrived after a later one (reordered). Each
// publisher keeps a window of the last `window` sequence numbers as bits
// (8 KiB, so 10 000 publishers take 80 MB), so a message later than that behind the newest one is counted
// as too_late rather than told apart as a duplicate or not. Not
// synchronised.
class SequenceTracker
{
public:
  static constexpr std::uint64_t window = std::uint64_t{1} << 16;

  struct Counts
  {
    std::uint64_t received = 0;   // every arrival
    std::uint64_t unique = 0;     // distinct sequence numbers
    std::uint64_t duplicates = 0; // arrivals of a number already seen
    std::uint64_t reordered = 0;  // first arrivals after a higher number
    std::uint64_t too_late = 0;   // arrivals more than `window` behind the newest
    std::uint64_t next = 0;       // the highest number seen + 1 (0: none)
    std::uint64_t low = 0;        // the lowest number seen (when unique > 0)
    std::uint64_t too_late_below_low = 0; // too_late arrivals below low: outside lost_between()'s span

    // The numbers below `sent` that never arrived (`sent`: how many the
    // publisher sent; next when unknown). too_late arrivals count as
    // arrived only if they were not duplicates, which is not known: they
    // are left out of both.
    std::uint64_t lost(std::uint64_t sent) const noexcept;
    // The numbers between the lowest and the highest seen that never
    // arrived: for a subscriber that joined a running stream, which cannot
    // know what was sent before it subscribed.
    std::uint64_t lost_between() const noexcept;

    Counts& operator+=(const Counts& other) noexcept;
  };

  // One arrival of `sequence` from `publisher`.
  void on_message(std::uint32_t publisher, std::uint64_t sequence);

  // The counts of one publisher (zeros if none arrived).
  Counts counts(std::uint32_t publisher) const;
  // The sum over every publisher; lost() of a sum is not meaningful, use
  // lost_total().
  Counts totals() const;
  // Numbers that never arrived, over every publisher, given how many each
  // sent (`sent[p]`; a publisher beyond `sent` uses its next).
  std::uint64_t lost_total(const std::vector<std::uint64_t>& sent) const;
  // lost_between() over every publisher.
  std::uint64_t lost_between_total() const;

  std::size_t publishers() const noexcept { return m_states.size(); }

private:
  struct State
  {
    Counts counts;
    std::vector<std::uint64_t> bits; // window bits, seq s at s % window
  };

  std::unordered_map<std::uint32_t, State> m_states;
};

} // namespace mqtk
