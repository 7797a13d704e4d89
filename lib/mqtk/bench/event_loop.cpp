#include "mqtk/bench/event_loop.hpp"

#include "mqtk/process/error.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <algorithm>

#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

namespace mqtk {

EventLoop::EventLoop()
  : m_epoll(::epoll_create1(EPOLL_CLOEXEC))
{
  if (m_epoll < 0) {
    throw Error(exit_code::failure, std::string("cannot create an epoll set: ") + std::strerror(errno));
  }
}

EventLoop::~EventLoop()
{
  ::close(m_epoll);
}

void EventLoop::watch(int fd, Handler& handler, bool want_write)
{
  if (fd < 0) {
    return;
  }
  if (static_cast<std::size_t>(fd) >= m_slots.size()) {
    m_slots.resize(static_cast<std::size_t>(fd) + 1024);
  }
  Slot& slot = m_slots[static_cast<std::size_t>(fd)];
  const std::uint32_t events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
  if (slot.handler == &handler && slot.events == events) {
    return;
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  const int op = slot.handler == nullptr ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (::epoll_ctl(m_epoll, op, fd, &ev) != 0) {
    // A number reused after its socket closed (epoll forgot it): add anew.
    if (op == EPOLL_CTL_MOD && errno == ENOENT) {
      ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &ev);
    } else if (op == EPOLL_CTL_ADD && errno == EEXIST) {
      ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, fd, &ev);
    }
  }
  slot.handler = &handler;
  slot.events = events;
}

void EventLoop::forget(int fd)
{
  if (fd < 0 || static_cast<std::size_t>(fd) >= m_slots.size()) {
    return;
  }
  ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, nullptr);
  m_slots[static_cast<std::size_t>(fd)] = {};
}

int EventLoop::run_once(Clock::time_point deadline)
{
  std::array<epoll_event, 256> ready{};
  const auto now = Clock::now();
  const auto wait = deadline > now ? deadline - now : Clock::duration::zero();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
  timespec timeout{};
  timeout.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  timeout.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  int n = -1;
  if (m_nanosecond_wait) {
    n = ::epoll_pwait2(m_epoll, ready.data(), static_cast<int>(ready.size()), &timeout, nullptr);
    if (n < 0 && errno == ENOSYS) {
      m_nanosecond_wait = false;
    }
  }
  if (!m_nanosecond_wait) {
    // Rounded up, so that a deadline is never woken for early.
    const auto ms = std::min<std::int64_t>((ns + 999'999) / 1'000'000, std::numeric_limits<int>::max());
    n = ::epoll_wait(m_epoll, ready.data(), static_cast<int>(ready.size()), static_cast<int>(ms));
  }
  for (int i = 0; i < n; ++i) {
    const int fd = ready[static_cast<std::size_t>(i)].data.fd;
    const std::uint32_t ev = ready[static_cast<std::size_t>(i)].events;
    if (static_cast<std::size_t>(fd) >= m_slots.size() || m_slots[static_cast<std::size_t>(fd)].handler == nullptr) {
      continue;
    }
    m_slots[static_cast<std::size_t>(fd)].handler->on_ready(fd, (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0,
                                                            (ev & EPOLLOUT) != 0, (ev & (EPOLLERR | EPOLLHUP)) != 0);
  }
  return n < 0 ? 0 : n;
}

} // namespace mqtk
