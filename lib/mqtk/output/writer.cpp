#include "mqtk/output/writer.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace mqtk {

namespace {

// The signal that wakes a blocked write(2). A real-time signal nobody else
// sends; its handler does nothing and is installed without SA_RESTART, so
// the write returns EINTR (or the bytes it wrote so far).
int wake_signal() noexcept
{
  return SIGRTMIN;
}

void ignore_wake(int) {}

void install_wake_handler() noexcept
{
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action{};
    action.sa_handler = ignore_wake;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    sigaction(wake_signal(), &action, nullptr);
  });
}

// Marks the calling thread as the one in write(2) for as long as it lives.
class WritingScope
{
public:
  WritingScope(std::atomic<bool>& writing, std::atomic<pthread_t>& writer) noexcept
    : m_writing(writing)
  {
    writer.store(pthread_self(), std::memory_order_relaxed);
    m_writing.store(true, std::memory_order_seq_cst);
  }
  ~WritingScope() { m_writing.store(false, std::memory_order_seq_cst); }
  WritingScope(const WritingScope&) = delete;
  WritingScope& operator=(const WritingScope&) = delete;

private:
  std::atomic<bool>& m_writing;
};

} // namespace

OutputWriter::OutputWriter(int fd)
  : m_fd(fd)
{
  m_buffer.reserve(64 * 1024);
  install_wake_handler();
}

bool OutputWriter::flush()
{
  if (m_errno != 0 || interrupted()) {
    m_buffer.clear();
    return false;
  }
  const char* data = m_buffer.data();
  std::size_t left = m_buffer.size();
  WritingScope scope(m_writing, m_writer);
  while (left > 0) {
    // Checked after the scope is marked, so interrupt() either sees the
    // write coming or this sees the interrupt.
    if (interrupted()) {
      m_errno = EINTR;
      m_buffer.clear();
      return false;
    }
    ssize_t n = ::write(m_fd, data, left);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      m_errno = errno;
      m_broken_pipe = errno == EPIPE;
      m_buffer.clear();
      return false;
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  m_buffer.clear();
  return true;
}

void OutputWriter::interrupt() noexcept
{
  using namespace std::chrono_literals;
  m_interrupted.store(true, std::memory_order_seq_cst);
  // A signal sent just before the writer enters write(2) is lost on it, so
  // keep sending until it has left.
  for (int attempt = 0; attempt < 200 && m_writing.load(std::memory_order_seq_cst); ++attempt) {
    pthread_kill(m_writer.load(std::memory_order_relaxed), wake_signal());
    std::this_thread::sleep_for(5ms);
  }
}

} // namespace mqtk
