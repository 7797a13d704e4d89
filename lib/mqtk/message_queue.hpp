#pragma once

#include "mqtk/message.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mqtk {

// Hands received messages from Paho's thread to the thread that prints
// them. Bounded: a producer waits while `capacity` messages are queued, so a
// fast broker cannot grow memory without limit. The consumer takes
// everything queued at once, which lets it write a whole batch with one
// system call, and is woken only when it is actually waiting.
class MessageQueue
{
public:
  explicit MessageQueue(std::size_t capacity = 4096);

  // Producer side. Drops the message once close() was called.
  void push(Message&& message);

  // Ends the stream: wakes the consumer and makes producers return.
  // `reason` is empty for an orderly stop (signal), else why the connection
  // ended.
  void close(std::string reason = {});

  // Consumer side: waits until a message is queued, the queue is closed or
  // `deadline` passes; then moves all queued messages into `batch` (which
  // is cleared first). Returns false when closed and drained, or on timeout
  // with nothing queued (see timed_out()).
  bool pop_all(std::vector<Message>& batch,
               std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);

  bool timed_out() const noexcept { return m_timed_out; }
  bool closed() const;
  // Why the queue was closed ("" for an orderly stop).
  std::string close_reason() const;

private:
  mutable std::mutex m_mutex;
  std::condition_variable m_not_empty;
  std::condition_variable m_not_full;
  std::vector<Message> m_messages;
  std::size_t m_capacity;
  bool m_consumer_waiting = false;
  bool m_producer_waiting = false;
  bool m_closed = false;
  bool m_timed_out = false;
  std::string m_reason;
};

} // namespace mqtk
