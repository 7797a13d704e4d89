#include "mqtk/retain/retained_set.hpp"

#include "mqtk/mqtt/topic.hpp"

#include <fmt/format.h>

namespace mqtk {

namespace {

// FNV-1a: enough to tell a changed payload from the same one.
std::uint64_t digest_of(std::string_view bytes) noexcept
{
  std::uint64_t h = 14695981039346656037ull;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

} // namespace

RetainedSet::RetainedSet(Selection selection)
  : m_selection(std::move(selection))
{
}

bool RetainedSet::selects(const MessageView& m) noexcept
{
  if (!m.retain || m.payload.empty() || m.topic.empty() || m.topic.front() == '$') {
    return false;
  }
  for (const auto& filter : m_selection.excludes) {
    if (topic_matches(filter, m.topic)) {
      return false;
    }
  }
  if (m_selection.where) {
    m_value.reset(m);
    return m_selection.where->matches(m_value);
  }
  return true;
}

RetainedSet::Entry* RetainedSet::find(std::string_view topic) noexcept
{
  auto it = m_index.find(topic);
  return it == m_index.end() ? nullptr : &m_entries[it->second];
}

bool RetainedSet::offer_listed(const MessageView& m, std::chrono::system_clock::time_point received)
{
  if (!selects(m)) {
    return false;
  }
  Entry* e = find(m.topic);
  if (e == nullptr) {
    m_entries.emplace_back();
    e = &m_entries.back();
    e->topic.assign(m.topic);
    m_index.emplace(e->topic, m_entries.size() - 1);
    ++m_listed;
  } else {
    m_listed_bytes -= e->size;
  }
  if (m_selection.keep_payloads) {
    e->payload.assign(m.payload);
  }
  e->digest = digest_of(m.payload);
  e->size = m.payload.size();
  e->qos = m.qos;
  e->received = received;
  m_listed_bytes += e->size;
  return true;
}

void RetainedSet::refused(std::string_view topic, int reason_code, std::string_view reason)
{
  if (Entry* e = find(topic)) {
    e->status = Status::refused;
    e->reason_code = reason_code;
    e->reason.assign(reason);
  }
}

void RetainedSet::offer_verified(const MessageView& m, std::chrono::system_clock::time_point received)
{
  if (!m.retain || m.payload.empty()) {
    return;
  }
  if (Entry* e = find(m.topic)) {
    // Whatever a cleared topic holds now is not clear, --where or not.
    if (e->status == Status::listed || e->status == Status::verified) {
      e->status = digest_of(m.payload) == e->digest && m.payload.size() == e->size ? Status::not_cleared
                                                                                   : Status::retained_again;
    }
    return;
  }
  if (!selects(m)) {
    return;
  }
  m_entries.emplace_back();
  Entry& n = m_entries.back();
  n.topic.assign(m.topic);
  if (m_selection.keep_payloads) {
    n.payload.assign(m.payload);
  }
  n.digest = digest_of(m.payload);
  n.size = m.payload.size();
  n.qos = m.qos;
  n.received = received;
  n.status = Status::new_topic;
  m_index.emplace(n.topic, m_entries.size() - 1);
}

void RetainedSet::finish_verification() noexcept
{
  for (Entry& e : m_entries) {
    if (e.status == Status::listed) {
      e.status = Status::verified;
    }
  }
}

std::size_t RetainedSet::take_new_topics() noexcept
{
  std::size_t n = 0;
  for (Entry& e : m_entries) {
    if (e.status == Status::new_topic) {
      e.status = Status::listed;
      e.late = true;
      ++n;
    }
  }
  return n;
}

void RetainedSet::restore_new_topics(std::size_t first) noexcept
{
  for (std::size_t i = first; i < m_entries.size(); ++i) {
    m_entries[i].status = Status::new_topic;
    m_entries[i].late = false;
  }
}

RetainedSet::Totals RetainedSet::totals() const noexcept
{
  Totals t;
  t.matched = m_listed;
  for (const Entry& e : m_entries) {
    t.late += e.late ? 1 : 0;
    switch (e.status) {
    case Status::listed: break;
    case Status::verified: ++t.verified; break;
    case Status::refused: ++t.refused; break;
    case Status::not_cleared: ++t.not_cleared; break;
    case Status::retained_again: ++t.retained_again; break;
    case Status::new_topic: ++t.new_topics; break;
    }
  }
  return t;
}

std::string_view status_name(RetainedSet::Status status) noexcept
{
  switch (status) {
  case RetainedSet::Status::listed: return "listed";
  case RetainedSet::Status::verified: return "verified";
  case RetainedSet::Status::refused: return "refused";
  case RetainedSet::Status::not_cleared: return "not_cleared";
  case RetainedSet::Status::retained_again: return "retained_again";
  case RetainedSet::Status::new_topic: return "new";
  }
  return "listed";
}

std::string status_explanation(const RetainedSet::Entry& e, bool mqtt5)
{
  switch (e.status) {
  case RetainedSet::Status::refused:
    return fmt::format("the broker refused the clear (reason code 0x{:02X}{}{})", e.reason_code,
                       e.reason.empty() ? "" : " ", e.reason);
  case RetainedSet::Status::not_cleared:
    return mqtt5 ? "still holds the same message although the broker acknowledged the clear (another client "
                   "may have retained the same payload again)"
                 : "still holds the same message although the broker acknowledged the clear: an ACL that "
                   "refuses it (at MQTT 3.1.1 acknowledged like any other; -V 5 shows the reason) or another "
                   "client retaining the same payload again";
  case RetainedSet::Status::retained_again: return "holds a new message: another client retained one during the run";
  case RetainedSet::Status::new_topic: return "was not there when listed: another client retained it during the run";
  case RetainedSet::Status::listed:
  case RetainedSet::Status::verified: break;
  }
  return {};
}

} // namespace mqtk
