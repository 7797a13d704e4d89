#include "mqtk/paho/thread_scheduling.hpp"

#include <atomic>

#include <sched.h>

namespace mqtk {

namespace {

// Written before `changed` is set; read only after it was.
cpu_set_t original_cpus;
bool cpus_confined = false;
bool policy_changed = false; // from SCHED_OTHER, the only policy changed
std::atomic<bool> changed{false};

bool confine_to_current_cpu() noexcept
{
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) < 2) {
    return false;
  }
  int cpu = sched_getcpu();
  if (cpu < 0 || !CPU_ISSET(cpu, &allowed)) {
    return false;
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  original_cpus = allowed;
  return sched_setaffinity(0, sizeof one, &one) == 0;
}

bool use_batch_policy() noexcept
{
  // Linux applies pid 0 to the calling thread; new threads inherit it.
  if (sched_getscheduler(0) != SCHED_OTHER) {
    return false; // real-time, batch or idle on purpose: keep it
  }
  sched_param param{};
  return sched_setscheduler(0, SCHED_BATCH, &param) == 0;
}

} // namespace

void keep_threads_together() noexcept
{
  if (MQTK_STOCK_PAHO || changed.load(std::memory_order_acquire)) {
    return;
  }
  cpus_confined = confine_to_current_cpu();
  policy_changed = use_batch_policy();
  changed.store(true, std::memory_order_release);
}

DefaultSchedulingForChildren::DefaultSchedulingForChildren() noexcept
{
  if (!changed.load(std::memory_order_acquire)) {
    return;
  }
  CPU_ZERO(&m_saved_cpus);
  if (cpus_confined && sched_getaffinity(0, sizeof m_saved_cpus, &m_saved_cpus) == 0) {
    m_cpus_widened = sched_setaffinity(0, sizeof original_cpus, &original_cpus) == 0;
  }
  if (policy_changed) {
    m_saved_policy = sched_getscheduler(0);
    sched_param param{};
    m_policy_reset = m_saved_policy >= 0 && sched_setscheduler(0, SCHED_OTHER, &param) == 0;
  }
}

DefaultSchedulingForChildren::~DefaultSchedulingForChildren()
{
  if (m_cpus_widened) {
    (void)sched_setaffinity(0, sizeof m_saved_cpus, &m_saved_cpus);
  }
  if (m_policy_reset) {
    sched_param param{};
    (void)sched_setscheduler(0, m_saved_policy, &param);
  }
}

} // namespace mqtk
