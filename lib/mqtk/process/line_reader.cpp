#include "mqtk/process/line_reader.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <unistd.h>

namespace mqtk {

namespace {
constexpr std::size_t block_size = 64 * 1024;
}

LineReader::LineReader(int fd, int stop_fd)
  : m_fd(fd),
    m_stop_fd(stop_fd)
{
  m_buffer.reserve(2 * block_size);
}

bool LineReader::next(std::string_view& line)
{
  while (true) {
    const char* base = m_buffer.data();
    const void* nl = std::memchr(base + m_scanned, '\n', m_buffer.size() - m_scanned);
    if (nl != nullptr) {
      std::size_t end = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
      line = std::string_view(base + m_start, end - m_start);
      m_start = m_scanned = end + 1;
      return true;
    }
    m_scanned = m_buffer.size();
    if (m_eof) {
      if (m_start < m_buffer.size()) {
        line = std::string_view(base + m_start, m_buffer.size() - m_start);
        m_start = m_scanned = m_buffer.size();
        return true;
      }
      return false;
    }
    if (!fill()) {
      m_eof = true;
    }
  }
}

bool LineReader::has_buffered_line() const noexcept
{
  if (m_scanned < m_buffer.size() && std::memchr(m_buffer.data() + m_scanned, '\n', m_buffer.size() - m_scanned)) {
    return true;
  }
  return m_eof && m_start < m_buffer.size();
}

bool LineReader::fill()
{
  // Drop consumed lines before reading more.
  if (m_start > 0) {
    m_buffer.erase(0, m_start);
    m_scanned -= m_start;
    m_start = 0;
  }
  if (m_stop_fd >= 0) {
    pollfd fds[2] = {{m_fd, POLLIN, 0}, {m_stop_fd, POLLIN, 0}};
    while (true) {
      int rc = ::poll(fds, 2, -1);
      if (rc < 0 && errno == EINTR) {
        continue;
      }
      if (rc < 0) {
        m_errno = errno;
        return false;
      }
      break;
    }
    if (fds[1].revents != 0) {
      return false;
    }
  }
  std::size_t old_size = m_buffer.size();
  m_buffer.resize(old_size + block_size);
  while (true) {
    ssize_t n = ::read(m_fd, m_buffer.data() + old_size, block_size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      if (n < 0) {
        m_errno = errno;
      }
      m_buffer.resize(old_size);
      return false;
    }
    m_buffer.resize(old_size + static_cast<std::size_t>(n));
    return true;
  }
}

} // namespace mqtk
