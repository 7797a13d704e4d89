#pragma once

#include <string>
#include <string_view>

namespace mqtk {

// Splits a stream into lines as data arrives: reads in large blocks, hands
// out every complete line at once and waits for more only when none is
// buffered, so a slow producer's lines pass through immediately.
class LineReader
{
public:
  // Reads `fd`. When `stop_fd` >= 0 and becomes readable, reading ends as if
  // at end of input (lines already read are still returned).
  explicit LineReader(int fd, int stop_fd = -1);

  // Sets `line` to the next line without its '\n' (a final line without
  // '\n' counts too). The view stays valid until the next call. Returns
  // false at end of input, on stop, or on a read error (see error()).
  bool next(std::string_view& line);

  // True when next() can return another line without reading: the caller
  // is in the middle of a burst of input.
  bool has_buffered_line() const noexcept;

  // errno of a failed read, or 0.
  int error() const noexcept { return m_errno; }

private:
  bool fill();

  int m_fd;
  int m_stop_fd;
  std::string m_buffer;
  std::size_t m_start = 0;
  std::size_t m_scanned = 0;
  bool m_eof = false;
  int m_errno = 0;
};

} // namespace mqtk
