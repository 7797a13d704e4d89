#include "mqtk/message_queue.hpp"

namespace mqtk {

MessageQueue::MessageQueue(std::size_t capacity)
  : m_capacity(capacity)
{
}

void MessageQueue::push(Message&& message)
{
  std::unique_lock lock(m_mutex);
  while (m_messages.size() >= m_capacity && !m_closed) {
    m_producer_waiting = true;
    m_not_full.wait(lock);
  }
  if (m_closed) {
    return;
  }
  m_messages.push_back(std::move(message));
  if (m_consumer_waiting) {
    m_consumer_waiting = false;
    lock.unlock();
    m_not_empty.notify_one();
  }
}

void MessageQueue::close(std::string reason)
{
  {
    std::lock_guard lock(m_mutex);
    if (m_closed) {
      return;
    }
    m_closed = true;
    m_reason = std::move(reason);
  }
  m_not_empty.notify_all();
  m_not_full.notify_all();
}

bool MessageQueue::pop_all(std::vector<Message>& batch, std::optional<std::chrono::steady_clock::time_point> deadline)
{
  batch.clear();
  std::unique_lock lock(m_mutex);
  m_timed_out = false;
  while (m_messages.empty() && !m_closed) {
    m_consumer_waiting = true;
    if (deadline) {
      if (m_not_empty.wait_until(lock, *deadline) == std::cv_status::timeout && m_messages.empty()) {
        m_consumer_waiting = false;
        m_timed_out = !m_closed;
        return false;
      }
    } else {
      m_not_empty.wait(lock);
    }
  }
  m_consumer_waiting = false;
  if (m_messages.empty()) {
    return false;
  }
  // The two vectors trade places and keep their capacity: no allocation
  // per batch once both have grown.
  batch.swap(m_messages);
  bool wake_producer = m_producer_waiting;
  m_producer_waiting = false;
  lock.unlock();
  if (wake_producer) {
    m_not_full.notify_all();
  }
  return true;
}

bool MessageQueue::closed() const
{
  std::lock_guard lock(m_mutex);
  return m_closed;
}

std::string MessageQueue::close_reason() const
{
  std::lock_guard lock(m_mutex);
  return m_reason;
}

} // namespace mqtk
