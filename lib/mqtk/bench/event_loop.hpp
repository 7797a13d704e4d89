#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace mqtk {

// mqtk-bench's loop: one epoll set, descriptors dispatched to handlers,
// waits to a deadline with nanosecond resolution (epoll_pwait2; on kernels
// before 5.11, epoll_wait to the millisecond rounded up), so an open-loop
// schedule is kept without a timer descriptor. Single-threaded.
class EventLoop
{
public:
  using Clock = std::chrono::steady_clock;

  class Handler
  {
  public:
    virtual ~Handler() = default;
    // `fd` is ready: readable (or hung up, or in error) and/or writable;
    // `hung_up` when the socket is in error or closed (EPOLLERR, EPOLLHUP).
    virtual void on_ready(int fd, bool readable, bool writable, bool hung_up) = 0;
  };

  // Throws Error when epoll cannot be set up.
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches `fd` for input, and for output when `want_write`; calling it
  // again changes what is watched (a system call only when that changes).
  void watch(int fd, Handler& handler, bool want_write);
  // Stops watching `fd` (also fine once it is closed).
  void forget(int fd);

  // Waits until some descriptor is ready or `deadline` passes, then
  // dispatches what is ready. Returns how many were.
  int run_once(Clock::time_point deadline);

private:
  struct Slot
  {
    Handler* handler = nullptr;
    std::uint32_t events = 0;
  };
  int m_epoll = -1;
  bool m_nanosecond_wait = true; // false once epoll_pwait2 said ENOSYS
  std::vector<Slot> m_slots;
};

} // namespace mqtk
