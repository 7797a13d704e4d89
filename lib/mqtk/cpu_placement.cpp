#include "mqtk/cpu_placement.hpp"

#include <atomic>

#include <sched.h>

namespace mqtk {

namespace {

// Written once, before `confined` is set; read only after it was.
cpu_set_t original_cpus;
std::atomic<bool> confined{false};

} // namespace

void keep_threads_on_one_cpu() noexcept
{
  if (confined.load(std::memory_order_acquire)) {
    return;
  }
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) < 2) {
    return;
  }
  int cpu = sched_getcpu();
  if (cpu < 0 || !CPU_ISSET(cpu, &allowed)) {
    return;
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  original_cpus = allowed;
  if (sched_setaffinity(0, sizeof one, &one) == 0) {
    confined.store(true, std::memory_order_release);
  }
}

OriginalCpusForChildren::OriginalCpusForChildren() noexcept
{
  if (!confined.load(std::memory_order_acquire)) {
    return;
  }
  CPU_ZERO(&m_saved);
  if (sched_getaffinity(0, sizeof m_saved, &m_saved) == 0) {
    m_widened = sched_setaffinity(0, sizeof original_cpus, &original_cpus) == 0;
  }
}

OriginalCpusForChildren::~OriginalCpusForChildren()
{
  if (m_widened) {
    (void)sched_setaffinity(0, sizeof m_saved, &m_saved);
  }
}

} // namespace mqtk
