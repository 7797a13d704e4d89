#include "mqtk/process/alarm.hpp"

namespace mqtk {

Alarm::Alarm(std::chrono::steady_clock::time_point when, std::function<void()> ring)
  : m_thread([this, when, ring = std::move(ring)] {
      std::unique_lock lock(m_mutex);
      if (m_changed.wait_until(lock, when, [this] { return m_disarmed; })) {
        return;
      }
      m_rang = true;
      lock.unlock();
      ring();
    })
{
}

Alarm::~Alarm()
{
  {
    std::lock_guard lock(m_mutex);
    m_disarmed = true;
    m_changed.notify_all();
  }
  m_thread.join();
}

bool Alarm::rang() const
{
  std::lock_guard lock(m_mutex);
  return m_rang;
}

} // namespace mqtk
