#include "mqtk/output/reader_watch.hpp"

#include <cerrno>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mqtk {

bool ReaderWatch::applies(int fd) noexcept
{
  struct stat st{};
  return ::fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

ReaderWatch::ReaderWatch(int fd, std::function<void()> on_gone)
  : m_fd(fd),
    m_on_gone(std::move(on_gone))
{
  if (!applies(fd) || ::pipe2(m_wake, O_CLOEXEC) != 0) {
    return;
  }
  m_thread = std::thread([this] {
    // events 0: only POLLERR, POLLHUP and POLLNVAL are reported for the
    // output, so a pipe with room to write does not wake this thread.
    pollfd fds[2] = {{m_fd, 0, 0}, {m_wake[0], POLLIN, 0}};
    for (;;) {
      int n = ::poll(fds, 2, -1);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0 || (fds[1].revents & (POLLIN | POLLHUP)) != 0) {
        return;
      }
      if ((fds[0].revents & (POLLERR | POLLHUP)) != 0) {
        m_on_gone();
        return;
      }
      if ((fds[0].revents & POLLNVAL) != 0) {
        return;
      }
    }
  });
}

ReaderWatch::~ReaderWatch()
{
  if (m_thread.joinable()) {
    [[maybe_unused]] auto n = ::write(m_wake[1], "x", 1);
    m_thread.join();
  }
  for (int fd : m_wake) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

} // namespace mqtk
