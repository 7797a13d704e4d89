#include "mqtk/connection/resend_buffer.hpp"

namespace mqtk {

std::uint64_t ResendBuffer::add(std::string_view topic, std::string_view payload, int qos, bool retain)
{
  const std::uint64_t seq = m_next++;
  m_entries.emplace_hint(m_entries.end(), seq, Entry{std::string(topic), std::string(payload), qos, retain, 0});
  return seq;
}

void ResendBuffer::mark_sent(std::uint64_t seq, std::uint64_t epoch)
{
  if (auto it = m_entries.find(seq); it != m_entries.end()) {
    it->second.sent_on = epoch;
  }
}

void ResendBuffer::mark_unsent(std::uint64_t seq)
{
  mark_sent(seq, 0);
}

bool ResendBuffer::acknowledge(std::uint64_t seq)
{
  return m_entries.erase(seq) == 1;
}

std::optional<std::uint64_t> ResendBuffer::oldest_unsent(std::uint64_t epoch, std::uint64_t from) const
{
  for (auto it = m_entries.lower_bound(from); it != m_entries.end(); ++it) {
    if (it->second.sent_on != epoch) {
      return it->first;
    }
  }
  return std::nullopt;
}

const ResendBuffer::Entry* ResendBuffer::find(std::uint64_t seq) const
{
  auto it = m_entries.find(seq);
  return it == m_entries.end() ? nullptr : &it->second;
}

const ResendBuffer::Entry* ResendBuffer::oldest() const
{
  return m_entries.empty() ? nullptr : &m_entries.begin()->second;
}

} // namespace mqtk
