#include "mqtk/bench/sequence_tracker.hpp"

#include <algorithm>
#include <limits>

namespace mqtk {

namespace {

constexpr std::uint64_t words = SequenceTracker::window / 64;

bool test(const std::vector<std::uint64_t>& bits, std::uint64_t s)
{
  const std::uint64_t i = s % SequenceTracker::window;
  return (bits[i / 64] >> (i % 64)) & 1u;
}

void set(std::vector<std::uint64_t>& bits, std::uint64_t s, bool on)
{
  const std::uint64_t i = s % SequenceTracker::window;
  const std::uint64_t mask = std::uint64_t{1} << (i % 64);
  bits[i / 64] = on ? bits[i / 64] | mask : bits[i / 64] & ~mask;
}

} // namespace

std::uint64_t SequenceTracker::Counts::lost(std::uint64_t sent) const noexcept
{
  const std::uint64_t arrived = unique + too_late;
  return sent > arrived ? sent - arrived : 0;
}

std::uint64_t SequenceTracker::Counts::lost_between() const noexcept
{
  if (unique == 0) {
    return 0;
  }
  const std::uint64_t span = next - low;
  const std::uint64_t arrived = unique + too_late - too_late_below_low;
  return span > arrived ? span - arrived : 0;
}

SequenceTracker::Counts& SequenceTracker::Counts::operator+=(const Counts& o) noexcept
{
  received += o.received;
  unique += o.unique;
  duplicates += o.duplicates;
  reordered += o.reordered;
  too_late += o.too_late;
  next += o.next;
  return *this;
}

void SequenceTracker::on_message(std::uint32_t publisher, std::uint64_t sequence)
{
  State& st = m_states[publisher];
  if (st.bits.empty()) {
    st.bits.assign(words, 0);
  }
  Counts& c = st.counts;
  ++c.received;
  if (sequence == std::numeric_limits<std::uint64_t>::max()) {
    ++c.too_late; // no number can follow it: not a real sequence number
    return;
  }
  if (sequence >= c.next) {
    // The numbers entering the window (next .. sequence) start unseen; a
    // jump of a window or more clears it all.
    if (sequence - c.next >= window) {
      std::fill(st.bits.begin(), st.bits.end(), 0);
    } else {
      for (std::uint64_t s = c.next; s < sequence; ++s) {
        set(st.bits, s, false);
      }
    }
    set(st.bits, sequence, true);
    if (c.unique == 0) {
      c.low = sequence;
    }
    c.next = sequence + 1;
    ++c.unique;
    return;
  }
  if (c.next - sequence > window) {
    ++c.too_late;
    c.too_late_below_low += sequence < c.low ? 1 : 0;
    return;
  }
  if (test(st.bits, sequence)) {
    ++c.duplicates;
    return;
  }
  set(st.bits, sequence, true);
  c.low = std::min(c.low, sequence);
  ++c.unique;
  ++c.reordered;
}

SequenceTracker::Counts SequenceTracker::counts(std::uint32_t publisher) const
{
  const auto it = m_states.find(publisher);
  return it == m_states.end() ? Counts{} : it->second.counts;
}

SequenceTracker::Counts SequenceTracker::totals() const
{
  Counts sum;
  for (const auto& [p, st] : m_states) {
    sum += st.counts;
  }
  return sum;
}

std::uint64_t SequenceTracker::lost_total(const std::vector<std::uint64_t>& sent) const
{
  std::uint64_t lost = 0;
  for (std::size_t p = 0; p < sent.size(); ++p) {
    lost += counts(static_cast<std::uint32_t>(p)).lost(sent[p]);
  }
  for (const auto& [p, st] : m_states) {
    if (p >= sent.size()) {
      lost += st.counts.lost(st.counts.next);
    }
  }
  return lost;
}

std::uint64_t SequenceTracker::lost_between_total() const
{
  std::uint64_t lost = 0;
  for (const auto& [p, st] : m_states) {
    lost += st.counts.lost_between();
  }
  return lost;
}

} // namespace mqtk
