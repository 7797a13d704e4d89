#pragma once

#include <sched.h>

// Where mqtk's threads run.
//
// Paho MQTT C hands every message between three threads (the caller, its
// send thread and its receive thread), each hand-off under a mutex and a
// condition variable. On separate cores every hand-off is a futex wake, a
// futex wait and a cache-line transfer: mqtk-pub -l at QoS 1 made 11 futex
// calls and 1.8 context switches per message (strace -c, perf stat), and ran
// at about 0.6 x mosquitto_pub -l. Kept on one core the threads run in turn,
// each draining what the other queued, and the same run reaches mosquitto's
// rate (README "Speed").

namespace mqtk {

// Restricts the calling thread, and every thread it creates afterwards, to
// the CPU it is running on now. Call before the connection starts its
// threads. Does nothing when the process may only use one CPU anyway or the
// system refuses; the original set is kept for child processes.
void keep_threads_on_one_cpu() noexcept;

// While alive, lets the calling thread run on every CPU the process was
// allowed at start (so a command it starts is not confined to mqtk's CPU);
// gives the thread back the CPUs it had before.
class OriginalCpusForChildren
{
public:
  OriginalCpusForChildren() noexcept;
  ~OriginalCpusForChildren();
  OriginalCpusForChildren(const OriginalCpusForChildren&) = delete;
  OriginalCpusForChildren& operator=(const OriginalCpusForChildren&) = delete;

private:
  cpu_set_t m_saved;
  bool m_widened = false;
};

} // namespace mqtk
