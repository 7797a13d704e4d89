#include "mqtk/process/stop_signals.hpp"

#include <csignal>
#include <fcntl.h>
#include <pthread.h>
#include <thread>
#include <unistd.h>

namespace mqtk {

namespace {

sigset_t stop_set()
{
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

} // namespace

StopSignals::StopSignals()
{
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t set = stop_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (::pipe2(m_pipe, O_CLOEXEC) != 0) {
    m_pipe[0] = m_pipe[1] = -1;
  }
}

void StopSignals::start(std::function<void(int)> on_stop)
{
  // Detached: the process ends with _exit, never by joining this thread.
  std::thread([this, on_stop = std::move(on_stop), forced_exit = m_forced_exit] {
    sigset_t set = stop_set();
    int signal_number = 0;
    while (sigwait(&set, &signal_number) != 0) {
    }
    m_stopped.store(true, std::memory_order_release);
    if (m_pipe[1] >= 0) {
      char byte = 1;
      [[maybe_unused]] auto n = ::write(m_pipe[1], &byte, 1);
    }
    if (m_disarmed.load(std::memory_order_acquire)) {
      if (forced_exit) {
        forced_exit();
      }
      ::_exit(128 + signal_number);
    }
    on_stop(signal_number);
    // A second signal while stopping (a hung broker): leave at once, with
    // the shell's usual code for death by that signal.
    while (sigwait(&set, &signal_number) != 0) {
    }
    if (forced_exit) {
      forced_exit();
    }
    ::_exit(128 + signal_number);
  }).detach();
}

void StopSignals::wake() noexcept
{
  if (m_pipe[1] >= 0) {
    char byte = 1;
    [[maybe_unused]] auto n = ::write(m_pipe[1], &byte, 1);
  }
}

} // namespace mqtk
