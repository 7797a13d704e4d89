#include "mqtk/paho/wraps.hpp"

#include "mqtk/paho/linked.hpp"

#include <cstdlib>

// Paho's own functions and data these wrappers call (StackTrace.h, Thread.h,
// MQTTAsync.c); with --wrap, __real_SYMBOL is Paho's SYMBOL.
extern "C" {
void __real_StackTrace_entry(const char* name, int line, int trace_level);
void __real_StackTrace_exit(const char* name, int line, void* return_value, int trace_level);
void __real_MQTTAsync_writeComplete(int socket, int rc);
using PahoCond = void*; // cond_type
extern PahoCond send_cond;
int Thread_signal_cond(PahoCond condvar);
}

extern "C" {

// Measured with perf on `mqtk-pub -l` (200 000 lines, QoS 0, Debian's
// build): mutex lock and unlock, malloc and free took over 40 % of the
// publisher's cycles, and it used about 4 times mosquitto_pub's CPU.
void* __wrap_mymalloc(char*, int, std::size_t size)
{
  return std::malloc(size);
}

void* __wrap_myrealloc(char*, int, void* p, std::size_t size)
{
  return std::realloc(p, size);
}

void __wrap_myfree(char*, int, void* p)
{
  std::free(p);
}

void __wrap_StackTrace_entry(const char* name, int line, int trace_level)
{
  if (mqtk::paho_trace_asked_for()) {
    __real_StackTrace_entry(name, line, trace_level);
  }
}

void __wrap_StackTrace_exit(const char* name, int line, void* return_value, int trace_level)
{
  if (mqtk::paho_trace_asked_for()) {
    __real_StackTrace_exit(name, line, return_value, trace_level);
  }
}

// Nothing in Paho signals send_cond when a pending write completes
// (MQTTAsyncUtils.c, MQTTAsync_sendThread waits up to 1 s). When mqtk-pub's
// window is full nothing else does either: with a broker that reads slower
// than mqtk-pub writes, `perf sched timehist` showed the send and main
// threads idle for 1 s at a time (200 000 lines: 1.3 s instead of 0.45 s,
// bimodal).
void __wrap_MQTTAsync_writeComplete(int socket, int rc)
{
  __real_MQTTAsync_writeComplete(socket, rc);
  Thread_signal_cond(send_cond);
}
}
