#pragma once

#include <functional>
#include <thread>

namespace mqtk {

// Notices the reader of a pipe or socket closing it while nothing is being
// written (`mqtk-sub -t quiet | head -n 3` after the third line): a thread
// waits in poll(2) for the write end to report an error or hang-up (the
// kernel reports POLLERR once a pipe has no reader) and then calls
// `on_gone` once. Does nothing for other kinds of files (a terminal, a
// regular file), which have no reader to lose.
class ReaderWatch
{
public:
  ReaderWatch(int fd, std::function<void()> on_gone);
  ~ReaderWatch(); // stops the thread
  ReaderWatch(const ReaderWatch&) = delete;
  ReaderWatch& operator=(const ReaderWatch&) = delete;

  // Whether `fd` is a pipe or a socket, which the watch covers.
  static bool applies(int fd) noexcept;

private:
  int m_fd;
  int m_wake[2] = {-1, -1};
  std::function<void()> m_on_gone;
  std::thread m_thread;
};

} // namespace mqtk
