#include "mqtk/output_writer.hpp"

#include <cerrno>
#include <unistd.h>

namespace mqtk {

OutputWriter::OutputWriter(int fd)
  : m_fd(fd)
{
  m_buffer.reserve(64 * 1024);
}

bool OutputWriter::flush()
{
  if (m_errno != 0) {
    m_buffer.clear();
    return false;
  }
  const char* data = m_buffer.data();
  std::size_t left = m_buffer.size();
  while (left > 0) {
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

} // namespace mqtk
