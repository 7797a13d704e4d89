#pragma once

#include <atomic>
#include <functional>

namespace mqtk {

// Turns SIGINT and SIGTERM into an orderly stop. Construct it first in a
// tool, before any thread exists, so every later thread (Paho's included)
// inherits the blocked mask; start() then waits for the signals on a thread
// of its own. SIGPIPE is ignored so a closed stdout shows up as EPIPE.
class StopSignals
{
public:
  StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Starts the watcher; `on_stop(signal_number)` runs on its thread once,
  // for the first signal. A second
  // signal ends the process at once with 128 + its number.
  void start(std::function<void(int)> on_stop);

  // Runs `hook` (on the watcher's thread) just before a second signal ends
  // the process: the place to restore a terminal. Set before start().
  void on_forced_exit(std::function<void()> hook) { m_forced_exit = std::move(hook); }

  // From now on a signal ends the process at once (128 + its number)
  // without calling on_stop: for a tool tearing down what on_stop uses.
  void disarm() noexcept { m_disarmed.store(true, std::memory_order_release); }

  // A descriptor that becomes readable once a stop signal arrived, for
  // poll() next to other descriptors.
  int fd() const noexcept { return m_pipe[0]; }

  // Makes fd() readable without a signal (stopped() stays false): ends a
  // wait on it, as when a reconnecting connection gave up.
  void wake() noexcept;

  // True once a stop signal arrived.
  bool stopped() const noexcept { return m_stopped.load(std::memory_order_acquire); }

private:
  int m_pipe[2] = {-1, -1};
  std::atomic<bool> m_stopped{false};
  std::function<void()> m_forced_exit;
  std::atomic<bool> m_disarmed{false};
};

} // namespace mqtk
