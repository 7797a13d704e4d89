#pragma once

#include <string>

namespace mqtk {

// Collects rendered output and writes it to a file descriptor with as few
// write(2) calls as possible: callers append any number of messages, then
// flush() once when no further message is ready.
class OutputWriter
{
public:
  explicit OutputWriter(int fd = 1);

  // The buffer to render into; flush() empties it.
  std::string& buffer() noexcept { return m_buffer; }

  // Writes the whole buffer (retrying on EINTR and short writes). Returns
  // false when the reader has gone (EPIPE) or the write failed otherwise;
  // `broken_pipe()` tells which. Output is then discarded.
  bool flush();

  // True once a write failed with EPIPE: the reader closed the pipe.
  bool broken_pipe() const noexcept { return m_broken_pipe; }

  // The errno of the failed write, or 0.
  int error() const noexcept { return m_errno; }

private:
  int m_fd;
  std::string m_buffer;
  bool m_broken_pipe = false;
  int m_errno = 0;
};

} // namespace mqtk
