#pragma once

#include <sched.h>

// How mqtk's threads are scheduled.
//
// Paho MQTT C hands every message between three threads (the caller, its
// send thread and its receive thread), each hand-off under a mutex and a
// condition variable. On separate cores every hand-off is a futex wake, a
// futex wait and a cache-line transfer: mqtk-pub -l at QoS 1 made 5 futex
// calls and 2 context switches per message (perf stat) and ran at about
// 0.6 x mosquitto_pub -l. Kept on one core the threads take turns; as
// SCHED_BATCH threads a wake-up does not preempt the thread that is running,
// so each turn drains everything the others queued (several PUBACKs, then
// several PUBLISHes) instead of switching at every hand-off. README "Speed"
// has the figures.

namespace mqtk {

// Restricts the calling thread, and every thread it creates afterwards, to
// the CPU it is running on now, with SCHED_BATCH. Call before the
// connection starts its threads. Whatever the system refuses is left as it
// was; the original settings are kept for child processes. Does nothing in
// the stock-Paho build (CMake option MQTK_STOCK_PAHO).
void keep_threads_together() noexcept;

// While alive, gives the calling thread the scheduling the process started
// with (every CPU it was allowed, its original policy), so that a command
// it starts inherits that and not mqtk's; the thread's own settings come
// back afterwards.
class DefaultSchedulingForChildren
{
public:
  DefaultSchedulingForChildren() noexcept;
  ~DefaultSchedulingForChildren();
  DefaultSchedulingForChildren(const DefaultSchedulingForChildren&) = delete;
  DefaultSchedulingForChildren& operator=(const DefaultSchedulingForChildren&) = delete;

private:
  cpu_set_t m_saved_cpus;
  int m_saved_policy = -1;
  bool m_cpus_widened = false;
  bool m_policy_reset = false;
};

} // namespace mqtk
