#pragma once

#include <atomic>
#include <pthread.h>
#include <string>

namespace mqtk {

// Collects rendered output and writes it to a file descriptor with as few
// write(2) calls as possible: callers append any number of messages, then
// flush() once when no further message is ready. One thread at a time
// renders and flushes; interrupt() may come from any other thread.
class OutputWriter
{
public:
  explicit OutputWriter(int fd = 1);

  // The buffer to render into; flush() empties it.
  std::string& buffer() noexcept { return m_buffer; }

  // Writes the whole buffer (retrying on EINTR and short writes). Returns
  // false when the reader has gone (EPIPE), the write failed otherwise or
  // interrupt() was called; `broken_pipe()` and `interrupted()` tell which.
  // Output is then discarded.
  bool flush();

  // From another thread: ends a flush() blocked on a reader that does not
  // read (the writing thread gets a signal whose handler does nothing, so
  // write(2) returns), within a few milliseconds, and makes every later
  // flush() discard its output. Returns once no write is under way, or
  // after about a second if the writing thread cannot be woken. The
  // writing thread must not end while a flush() of its is under way.
  void interrupt() noexcept;

  // True once a write failed with EPIPE: the reader closed the pipe.
  bool broken_pipe() const noexcept { return m_broken_pipe; }

  // True once interrupt() was called.
  bool interrupted() const noexcept { return m_interrupted.load(std::memory_order_seq_cst); }

  // The errno of the failed write, or 0.
  int error() const noexcept { return m_errno; }

private:
  int m_fd;
  std::string m_buffer;
  bool m_broken_pipe = false;
  int m_errno = 0;

  std::atomic<bool> m_interrupted{false};
  std::atomic<bool> m_writing{false}; // a flush() is in write(2) or about to be
  std::atomic<pthread_t> m_writer{};  // the thread of that flush()
};

} // namespace mqtk
