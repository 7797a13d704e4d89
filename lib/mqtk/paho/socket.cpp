#include "mqtk/paho/socket.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

extern "C" int __poll(struct pollfd* fds, nfds_t nfds, int timeout);
extern "C" int __close(int fd);
extern "C" ssize_t __write(int fd, const void* buf, std::size_t count);

// In a sanitizer build (MQTK_SANITIZE) the runtime (libasan, libtsan) defines
// these: its interceptors of the calls the executables answer, which check
// the arguments, record what the sanitizer tracks (TSan: the
// synchronisation a write or close on a descriptor implies, blocking calls
// for its signal handling) and call libc's. The executables' definitions
// take precedence over the interceptors, so ours call them, and libc's own
// entry points only without a sanitizer (weak: then null).
extern "C" {
int __interceptor_poll(struct pollfd* fds, nfds_t nfds, int timeout) __attribute__((weak));
int __interceptor_close(int fd) __attribute__((weak));
ssize_t __interceptor_write(int fd, const void* buf, std::size_t count) __attribute__((weak));
ssize_t __interceptor_writev(int fd, const struct iovec* iov, int iovcnt) __attribute__((weak));
}

// Functions a sanitizer's runtime calls into from inside its report (see
// forget()): left uninstrumented in a ThreadSanitizer build.
#if defined(__SANITIZE_THREAD__)
#define MQTK_NOT_INSTRUMENTED_FOR_TSAN __attribute__((no_sanitize("thread")))
#else
#define MQTK_NOT_INSTRUMENTED_FOR_TSAN
#endif

namespace mqtk::paho_socket {

thread_local std::function<void()>* receive_thread_idle = nullptr;

namespace {

// libc's poll(), write(), writev() and close(), not the executables'
// (through the sanitizer's interceptor when there is one).
int libc_poll(pollfd* fds, nfds_t nfds, int timeout) noexcept
{
  return __interceptor_poll != nullptr ? __interceptor_poll(fds, nfds, timeout) : __poll(fds, nfds, timeout);
}

ssize_t libc_write(int fd, const void* buf, std::size_t count) noexcept
{
  return __interceptor_write != nullptr ? __interceptor_write(fd, buf, count) : __write(fd, buf, count);
}

ssize_t libc_writev(int fd, const iovec* iov, int iovcnt) noexcept
{
  // glibc has no public alias for its writev.
  return __interceptor_writev != nullptr ? __interceptor_writev(fd, iov, iovcnt)
                                         : ::syscall(SYS_writev, fd, iov, iovcnt);
}

MQTK_NOT_INSTRUMENTED_FOR_TSAN int libc_close(int fd) noexcept
{
  return __interceptor_close != nullptr ? __interceptor_close(fd) : __close(fd);
}

// mqtk has one connection per process; two slots leave room for a
// reconnect overlapping the old socket's close. Sockets beyond them are
// read unbuffered.
struct Slot
{
  int fd = -1;
  std::size_t begin = 0;
  std::size_t end = 0;
  bool write_pending = false;
  std::array<char, capacity> data;

  bool has_bytes() const noexcept { return begin < end; }

  // Gives the slot to `owner` (-1: free), empty. Uninstrumented under
  // TSan: forget() calls it (see there).
  MQTK_NOT_INSTRUMENTED_FOR_TSAN void reset(int owner) noexcept
  {
    fd = owner;
    begin = end = 0;
    write_pending = false;
  }
};

std::mutex slots_mutex;
std::array<Slot, 2> slots;
// Signalled when a write on a read socket becomes pending, so that a read
// wait already under way also starts waiting for output (poll_kernel).
// Created with the first slot; never closed.
int wake_fd = -1;

// The slot of fd (-1 finds a free one).
Slot* find(int fd) noexcept
{
  for (Slot& s : slots) {
    if (s.fd == fd) {
      return &s;
    }
  }
  return nullptr;
}

// The slot of a caller's descriptor, or nullptr (also for a negative one).
Slot* slot_of(int fd) noexcept
{
  return fd >= 0 ? find(fd) : nullptr;
}

// Descriptors claim() turned down (not non-blocking stream sockets), so
// that their reads and writes are not examined again; forget() takes a
// descriptor out when it is closed.
std::array<int, 4> refused{-1, -1, -1, -1};
std::size_t next_refused = 0;

// A slot for fd when it is a non-blocking stream socket (a refill must
// never block while slots_mutex is held), or nullptr.
Slot* claim(int fd) noexcept
{
  Slot* free_slot = find(-1);
  if (free_slot == nullptr || std::find(refused.begin(), refused.end(), fd) != refused.end()) {
    return nullptr;
  }
  int fl = ::fcntl(fd, F_GETFL);
  int type = 0;
  socklen_t type_len = sizeof type;
  if (fl < 0 || (fl & O_NONBLOCK) == 0 || ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 ||
      type != SOCK_STREAM) {
    refused[next_refused++ % refused.size()] = fd;
    return nullptr;
  }
  if (wake_fd < 0) {
    wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); // stays -1 if refused: no wake-ups
  }
  free_slot->reset(fd);
  return free_slot;
}

ssize_t kernel_recv(int fd, void* buf, std::size_t len, int flags) noexcept
{
  return ::recvfrom(fd, buf, len, flags, nullptr, nullptr);
}

// Copies up to len buffered bytes of s into buf; returns how many.
std::size_t take(Slot& s, void* buf, std::size_t len, bool peek) noexcept
{
  std::size_t n = std::min(len, s.end - s.begin);
  std::memcpy(buf, s.data.data() + s.begin, n);
  if (!peek) {
    s.begin += n;
  }
  return n;
}

} // namespace

ssize_t receive(int fd, void* buf, std::size_t len, int flags) noexcept
{
  if (fd < 0 || len == 0) {
    return kernel_recv(fd, buf, len, flags);
  }
  std::unique_lock lock(slots_mutex);
  Slot* s = find(fd);
  if (s != nullptr && s->has_bytes()) {
    std::size_t n = take(*s, buf, len, (flags & MSG_PEEK) != 0);
    if (n == len || (flags & MSG_PEEK) != 0) {
      return static_cast<ssize_t>(n);
    }
    // The rest from the kernel if it has it now, as one recv() would.
    ssize_t more = kernel_recv(fd, static_cast<char*>(buf) + n, len - n, flags | MSG_DONTWAIT);
    return static_cast<ssize_t>(n) + std::max<ssize_t>(more, 0);
  }
  if (flags != 0 || len >= capacity || (s == nullptr && (s = claim(fd)) == nullptr)) {
    // Not buffered; this recv may block, so not under the lock.
    lock.unlock();
    return kernel_recv(fd, buf, len, flags);
  }
  ssize_t got = kernel_recv(fd, s->data.data(), s->data.size(), 0);
  if (got <= 0) {
    return got;
  }
  s->begin = 0;
  s->end = static_cast<std::size_t>(got);
  return static_cast<ssize_t>(take(*s, buf, len, false));
}

int answer_poll(pollfd* fds, nfds_t nfds, int timeout) noexcept
{
  std::lock_guard lock(slots_mutex);
  if (timeout == 0 && nfds > 0) {
    // Paho's write check: answered when it asks only about read sockets
    // without a pending write. While a write is pending the kernel answers:
    // Paho then continues the write only when it can progress, and a write
    // that cannot (a broker that stopped reading) leaves Paho's last-sent
    // time alone, so its keepalive check still ends the connection.
    bool all_read_sockets = true;
    for (nfds_t i = 0; i < nfds && all_read_sockets; ++i) {
      const Slot* s = fds[i].events == POLLOUT ? slot_of(fds[i].fd) : nullptr;
      all_read_sockets = s != nullptr && !s->write_pending;
    }
    if (all_read_sockets) {
      for (nfds_t i = 0; i < nfds; ++i) {
        fds[i].revents = POLLOUT;
      }
      return static_cast<int>(nfds);
    }
  }
  nfds_t buffered = 0;
  nfds_t others = 0;
  for (nfds_t i = 0; i < nfds; ++i) {
    const Slot* s = slot_of(fds[i].fd);
    if (s != nullptr && s->has_bytes() && (fds[i].events & POLLIN) != 0) {
      ++buffered;
    } else if (fds[i].fd >= 0 && fds[i].events != 0) {
      ++others;
    }
  }
  if (buffered == 0) {
    return 0;
  }
  if (others > 0 && libc_poll(fds, nfds, 0) < 0) {
    return -1;
  }
  int ready = 0;
  for (nfds_t i = 0; i < nfds; ++i) {
    const Slot* s = slot_of(fds[i].fd);
    if (s != nullptr && s->has_bytes() && (fds[i].events & POLLIN) != 0) {
      fds[i].revents = static_cast<short>((others > 0 ? fds[i].revents : 0) | POLLIN);
    } else if (others == 0) {
      fds[i].revents = 0;
    }
    ready += fds[i].revents != 0 ? 1 : 0;
  }
  return ready;
}

int poll_kernel(pollfd* fds, nfds_t nfds, int timeout) noexcept
{
  // Paho polls one socket; a wait on more (or with nothing of ours) is
  // passed through as it is.
  constexpr nfds_t most = 4;
  pollfd local[most + 1];
  bool ours = false;
  int wake = -1;
  if (timeout != 0 && nfds <= most) {
    std::lock_guard lock(slots_mutex);
    for (nfds_t i = 0; i < nfds; ++i) {
      local[i] = fds[i];
      const Slot* s = (fds[i].events & POLLIN) != 0 ? slot_of(fds[i].fd) : nullptr;
      if (s == nullptr) {
        continue;
      }
      ours = true;
      if (s->write_pending) {
        local[i].events = static_cast<short>(local[i].events | POLLOUT);
      }
    }
    wake = wake_fd;
  }
  if (!ours) {
    return libc_poll(fds, nfds, timeout);
  }
  nfds_t n = nfds;
  if (wake >= 0) {
    local[n++] = pollfd{wake, POLLIN, 0};
  }
  int rc = libc_poll(local, n, timeout);
  if (rc < 0) {
    return rc;
  }
  if (wake >= 0 && local[nfds].revents != 0) {
    std::uint64_t count = 0;
    while (::read(wake, &count, sizeof count) > 0) {
    }
  }
  // Report what the caller asked about: output readiness that only the
  // widened wait asked for, and the wake-up, count as nothing, so that
  // the caller's next round continues the write.
  int ready = 0;
  for (nfds_t i = 0; i < nfds; ++i) {
    short revents = local[i].revents;
    if ((fds[i].events & POLLOUT) == 0) {
      revents = static_cast<short>(revents & ~POLLOUT);
    }
    fds[i].revents = revents;
    ready += revents != 0 ? 1 : 0;
  }
  return ready;
}

void note_write(int fd, std::size_t requested, ssize_t written, int error) noexcept
{
  const bool incomplete = written >= 0 ? static_cast<std::size_t>(written) < requested
                                       : error == EAGAIN || error == EWOULDBLOCK;
  std::lock_guard lock(slots_mutex);
  Slot* s = slot_of(fd);
  if (s == nullptr && fd >= 0) {
    // The first write on a socket (CONNECT, or a TLS ClientHello: OpenSSL
    // reads with read(), never through receive()) gives it its slot, so
    // that a read wait on it can be woken when a later write is partial.
    s = claim(fd);
  }
  if (s != nullptr) {
    const bool was_pending = s->write_pending;
    s->write_pending = incomplete;
    if (s->write_pending && !was_pending && wake_fd >= 0) {
      // The receive thread may already wait for input only: wake it so
      // that it waits for output too.
      const std::uint64_t one = 1;
      // libc's own write: the exported one would come back here.
      [[maybe_unused]] ssize_t ignored = libc_write(wake_fd, &one, sizeof one);
    }
  }
}

// Not instrumented by ThreadSanitizer, and calling nothing that is: its
// runtime closes files while it symbolizes a report, so this runs inside
// the report, where an instrumented access is reported again and the
// nested report waits for the lock the first one holds (a hang).
// slots_mutex still orders everything, and the interceptors of the lock
// pass straight through there.
MQTK_NOT_INSTRUMENTED_FOR_TSAN void forget(int fd) noexcept
{
  if (fd < 0) {
    return;
  }
  std::lock_guard lock(slots_mutex);
  for (Slot& s : slots) {
    if (s.fd == fd) {
      s.reset(-1);
    }
  }
  for (int& r : refused) {
    if (r == fd) {
      r = -1;
    }
  }
}

bool write_pending(int fd) noexcept
{
  std::lock_guard lock(slots_mutex);
  const Slot* s = slot_of(fd);
  return s != nullptr && s->write_pending;
}

std::size_t buffered(int fd) noexcept
{
  std::lock_guard lock(slots_mutex);
  const Slot* s = slot_of(fd);
  return s != nullptr ? s->end - s->begin : 0;
}

} // namespace mqtk::paho_socket

#if !MQTK_STOCK_PAHO
// The definitions Paho binds to (see the header). mqtk's own code calls
// them too: for anything that is not Paho's socket they do what libc does.
extern "C" int poll(struct pollfd* fds, nfds_t nfds, int timeout)
{
  namespace ps = mqtk::paho_socket;
  if (int answered = ps::answer_poll(fds, nfds, timeout); answered != 0) {
    return answered;
  }
  // On the receive thread, a poll that may block is the moment everything
  // that was ready has been delivered: look without waiting first, and
  // only when nothing is ready let the tool flush before waiting.
  if (timeout != 0 && ps::receive_thread_idle != nullptr) {
    int ready = ps::libc_poll(fds, nfds, 0);
    if (ready != 0) {
      return ready;
    }
    (*ps::receive_thread_idle)();
  }
  return ps::poll_kernel(fds, nfds, timeout == 10 ? 0 : timeout);
}

extern "C" int usleep(useconds_t microseconds)
{
  if (microseconds >= 100000) {
    microseconds = 100;
  }
  timespec ts{static_cast<time_t>(microseconds / 1000000), static_cast<long>(microseconds % 1000000) * 1000};
  return nanosleep(&ts, nullptr);
}

extern "C" ssize_t recv(int fd, void* buf, std::size_t len, int flags)
{
  return mqtk::paho_socket::receive(fd, buf, len, flags);
}

extern "C" ssize_t writev(int fd, const struct iovec* iov, int iovcnt)
{
  std::size_t requested = 0;
  for (int i = 0; i < iovcnt; ++i) {
    requested += iov[i].iov_len;
  }
  ssize_t written = mqtk::paho_socket::libc_writev(fd, iov, iovcnt);
  const int error = errno;
  mqtk::paho_socket::note_write(fd, requested, written, error);
  errno = error;
  return written;
}

// OpenSSL writes a TLS connection's records with write(): partial TLS
// writes are noted the same way.
extern "C" ssize_t write(int fd, const void* buf, std::size_t count)
{
  ssize_t written = mqtk::paho_socket::libc_write(fd, buf, count);
  const int error = errno;
  mqtk::paho_socket::note_write(fd, count, written, error);
  errno = error;
  return written;
}

// Not instrumented by ThreadSanitizer: see forget().
extern "C" MQTK_NOT_INSTRUMENTED_FOR_TSAN int close(int fd)
{
  mqtk::paho_socket::forget(fd);
  return mqtk::paho_socket::libc_close(fd);
}
#endif // !MQTK_STOCK_PAHO
