#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace mqtk {

// Calls a function once at a point in time, on a thread of its own, unless
// the alarm is destroyed first. For cutting short something that may block
// the thread that armed it (a write to a reader that does not read).
class Alarm
{
public:
  // Arms the alarm. Throws std::system_error when no thread can be started.
  Alarm(std::chrono::steady_clock::time_point when, std::function<void()> ring);
  // Disarms the alarm, or waits for the call under way to return.
  ~Alarm();
  Alarm(const Alarm&) = delete;
  Alarm& operator=(const Alarm&) = delete;

  // True once the function was called (or is being called).
  bool rang() const;

private:
  mutable std::mutex m_mutex;
  std::condition_variable m_changed;
  bool m_disarmed = false;
  bool m_rang = false;
  std::thread m_thread; // last: starts once the rest is ready
};

} // namespace mqtk
