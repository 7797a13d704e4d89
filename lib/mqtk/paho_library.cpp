#include "mqtk/paho_library.hpp"

#include "mqtk/error.hpp"

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <mutex>

#include <dlfcn.h>

#include <fmt/format.h>

// Which Paho C a run uses, and why:
//
// - Plain TCP and WebSockets: Debian's static libpaho-mqtt3a.a, linked into
//   the executables (CMakeLists.txt). Nothing to load or relocate at start,
//   and Paho's debug instrumentation can be replaced at link time (below).
// - TLS: the OpenSSL build, libpaho-mqtt3as.so.1, loaded with dlopen only
//   when a TLS connection is asked for, so plain runs never load OpenSSL
//   (Debian's Paho C++ library links the OpenSSL build: an empty program
//   linked with it starts in about 9 ms, a C++ hello in 3.9 ms). Both builds
//   define the same names; the static copy is not exported from the
//   executables, so the loaded library binds to its own functions.
//
// RTLD_LOCAL keeps the TLS build's symbols out of the global scope; its own
// references to poll(), usleep() and the other calls of paho_socket.hpp are
// still resolved through the global scope first, so they bind to the
// definitions the executables export. RTLD_NOW reports a missing symbol
// here, not mid-run.

namespace mqtk {

namespace {

template <typename Fn>
void resolve(void* handle, const char* library, const char* name, Fn& fn)
{
  dlerror();
  void* symbol = ::dlsym(handle, name);
  if (symbol == nullptr) {
    const char* why = dlerror();
    throw Error(exit_code::failure,
                fmt::format("cannot load the MQTT library {}: {} not found{}{}", library, name, why ? ": " : "",
                            why ? why : ""));
  }
  fn = reinterpret_cast<Fn>(symbol);
}

bool user_wants_trace()
{
  return std::getenv("MQTT_C_CLIENT_TRACE") != nullptr || std::getenv("MQTT_C_CLIENT_TRACE_LEVEL") != nullptr;
}

// Read by the StackTrace wrappers below; set before the first client exists.
std::atomic<bool> forward_function_trace{false};

// Debian builds Paho C without HIGH_PERFORMANCE, so its internal trace is
// on at TRACE_MINIMUM: every traced function entry and exit, and every
// Log() at that level or above (one per packet sent or received), is
// formatted into an in-memory ring of 400 entries under a global mutex,
// whether or not anyone ever reads it. Measured with perf on `mqtk-pub -l
// -q 1` (symbols from Debian's static build of the same library):
// Log_stackTrace and Log take about 10 % of the process's cycles. The
// ring only ever reaches a user through MQTT_C_CLIENT_TRACE, so unless
// that or MQTT_C_CLIENT_TRACE_LEVEL is set, record errors only (here for
// the loaded TLS build, in linked() for the linked one).
void quiet_internal_trace(void* handle, const char* library)
{
  if (user_wants_trace()) {
    return;
  }
  decltype(&::MQTTAsync_setTraceLevel) set_trace_level = nullptr;
  resolve(handle, library, "MQTTAsync_setTraceLevel", set_trace_level);
  set_trace_level(MQTTASYNC_TRACE_ERROR);
}

PahoLibrary linked()
{
  PahoLibrary lib;
  lib.global_init = &::MQTTAsync_global_init;
  lib.createWithOptions = &::MQTTAsync_createWithOptions;
  lib.destroy = &::MQTTAsync_destroy;
  lib.setCallbacks = &::MQTTAsync_setCallbacks;
  lib.connect = &::MQTTAsync_connect;
  lib.sendMessage = &::MQTTAsync_sendMessage;
  lib.subscribeMany = &::MQTTAsync_subscribeMany;
  lib.unsubscribeMany = &::MQTTAsync_unsubscribeMany;
  lib.disconnect = &::MQTTAsync_disconnect;
  lib.isConnected = &::MQTTAsync_isConnected;
  lib.freeMessage = &::MQTTAsync_freeMessage;
  lib.free = &::MQTTAsync_free;
  lib.strerror = &::MQTTAsync_strerror;
  lib.getVersionInfo = &::MQTTAsync_getVersionInfo;
  lib.reasonCodeToString = &::MQTTReasonCode_toString;
  lib.propertiesAdd = &::MQTTProperties_add;
  lib.propertiesFree = &::MQTTProperties_free;
  if (user_wants_trace()) {
    forward_function_trace.store(true, std::memory_order_relaxed);
  } else {
    ::MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
  }
  return lib;
}

PahoLibrary loaded()
{
  const char* library = "libpaho-mqtt3as.so.1";
  void* handle = ::dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    throw Error(exit_code::failure, fmt::format("cannot load the MQTT library {}: {} (needed for TLS)", library,
                                                why ? why : "unknown error"));
  }
  PahoLibrary lib;
  lib.tls = true;
  resolve(handle, library, "MQTTAsync_global_init", lib.global_init);
  resolve(handle, library, "MQTTAsync_createWithOptions", lib.createWithOptions);
  resolve(handle, library, "MQTTAsync_destroy", lib.destroy);
  resolve(handle, library, "MQTTAsync_setCallbacks", lib.setCallbacks);
  resolve(handle, library, "MQTTAsync_connect", lib.connect);
  resolve(handle, library, "MQTTAsync_sendMessage", lib.sendMessage);
  resolve(handle, library, "MQTTAsync_subscribeMany", lib.subscribeMany);
  resolve(handle, library, "MQTTAsync_unsubscribeMany", lib.unsubscribeMany);
  resolve(handle, library, "MQTTAsync_disconnect", lib.disconnect);
  resolve(handle, library, "MQTTAsync_isConnected", lib.isConnected);
  resolve(handle, library, "MQTTAsync_freeMessage", lib.freeMessage);
  resolve(handle, library, "MQTTAsync_free", lib.free);
  resolve(handle, library, "MQTTAsync_strerror", lib.strerror);
  resolve(handle, library, "MQTTAsync_getVersionInfo", lib.getVersionInfo);
  resolve(handle, library, "MQTTReasonCode_toString", lib.reasonCodeToString);
  resolve(handle, library, "MQTTProperties_add", lib.propertiesAdd);
  resolve(handle, library, "MQTTProperties_free", lib.propertiesFree);
  quiet_internal_trace(handle, library);
  return lib;
}

std::mutex load_mutex;
// Index 0: non-TLS build, 1: TLS build. Published after a complete load.
PahoLibrary libraries[2];
std::atomic<bool> ready[2];

} // namespace

const PahoLibrary& PahoLibrary::get(bool tls)
{
  int i = tls ? 1 : 0;
  if (!ready[i].load(std::memory_order_acquire)) {
    std::lock_guard lock(load_mutex);
    if (!ready[i].load(std::memory_order_relaxed)) {
      libraries[i] = tls ? loaded() : linked(); // throws without publishing anything
      ready[i].store(true, std::memory_order_release);
    }
  }
  return libraries[i];
}

} // namespace mqtk

// Debian builds Paho C without HIGH_PERFORMANCE, which leaves two debugging
// aids compiled into every call of the static library:
//  - an allocation tracker (Heap.c): Paho's malloc, realloc and free are
//    macros for mymalloc, myrealloc and myfree, which add guard words and
//    insert into or search a tree under one global mutex, per allocation;
//  - a function-entry stack (StackTrace.c): every traced function calls
//    StackTrace_entry and StackTrace_exit, each taking another global mutex.
// Measured with perf on `mqtk-pub -l` (200 000 lines, QoS 0): mutex lock and
// unlock, malloc and free took over 40 % of the publisher's cycles, and the
// publisher used about 4 times mosquitto_pub's CPU. The linker's --wrap
// sends every call from Paho's objects to the definitions below: plain
// malloc, realloc and free (what a HIGH_PERFORMANCE build compiles in; every
// block Paho allocates is allocated and freed through these, so the pairs
// stay matched), and no stack bookkeeping unless the user asked for Paho's
// trace (MQTT_C_CLIENT_TRACE), whose function-entry lines it feeds.
extern "C" {
void __real_StackTrace_entry(const char* name, int line, int trace_level);
void __real_StackTrace_exit(const char* name, int line, void* return_value, int trace_level);

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
  if (mqtk::forward_function_trace.load(std::memory_order_relaxed)) {
    __real_StackTrace_entry(name, line, trace_level);
  }
}

void __wrap_StackTrace_exit(const char* name, int line, void* return_value, int trace_level)
{
  if (mqtk::forward_function_trace.load(std::memory_order_relaxed)) {
    __real_StackTrace_exit(name, line, return_value, trace_level);
  }
}
}

// Paho continues a partly written packet from its receive thread and, once
// it is out, calls MQTTAsync_writeComplete; nothing then wakes the send
// thread, which stopped taking commands for that socket while the write
// was pending and now waits on send_cond for up to 1 s
// (MQTTAsyncUtils.c, MQTTAsync_sendThread). When mqtk-pub's window is full
// nothing else signals it: with a broker that reads slower than mqtk-pub
// writes, `perf sched timehist` showed the send and main threads idle for
// 1 s at a time (200 000 lines: 1.3 s instead of 0.45 s, bimodal). The
// wrapper wakes the send thread as soon as the write is complete.
extern "C" {
using PahoCond = void*; // Paho's cond_type (Thread.h)
extern PahoCond send_cond;
int Thread_signal_cond(PahoCond condvar);
void __real_MQTTAsync_writeComplete(int socket, int rc);

void __wrap_MQTTAsync_writeComplete(int socket, int rc)
{
  __real_MQTTAsync_writeComplete(socket, rc);
  Thread_signal_cond(send_cond);
}
}
