#include "mqtk/paho_library.hpp"

#include "mqtk/error.hpp"

#include <atomic>
#include <cstdlib>
#include <mutex>

#include <dlfcn.h>

#include <fmt/format.h>

// Why Paho C is loaded with dlopen instead of linked: Debian's Paho C++
// library links the OpenSSL build of Paho C, so every run loaded and
// relocated libssl/libcrypto even for plain tcp:// (measured: an empty
// program linked with -lpaho-mqttpp3 starts in about 9 ms, with
// -lpaho-mqtt3a in about 2.4 ms, a C++ hello in 3.9 ms). Choosing the
// library at run time lets plain TCP and WebSocket runs load the small
// non-TLS build and only TLS runs pay for OpenSSL.
//
// RTLD_LOCAL keeps Paho's symbols out of the global scope; the library's own
// references to poll() and usleep() are still resolved through the global
// scope first, so they bind to the interposers the executables export (see
// connection.cpp). RTLD_NOW reports a missing symbol here, not mid-run.

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

// Debian builds Paho C without HIGH_PERFORMANCE, so its internal trace is
// on at TRACE_MINIMUM: every traced function entry and exit, and every
// Log() at that level or above (one per packet sent or received), is
// formatted into an in-memory ring of 400 entries under a global mutex,
// whether or not anyone ever reads it. Measured with perf on `mqtk-pub -l
// -q 1` (symbols from Debian's static build of the same library):
// Log_stackTrace and Log take about 10 % of the process's cycles. The
// ring only ever reaches a user through MQTT_C_CLIENT_TRACE, so unless
// that or MQTT_C_CLIENT_TRACE_LEVEL is set, record errors only.
void quiet_internal_trace(void* handle, const char* library)
{
  if (std::getenv("MQTT_C_CLIENT_TRACE") != nullptr || std::getenv("MQTT_C_CLIENT_TRACE_LEVEL") != nullptr) {
    return;
  }
  decltype(&::MQTTAsync_setTraceLevel) set_trace_level = nullptr;
  resolve(handle, library, "MQTTAsync_setTraceLevel", set_trace_level);
  set_trace_level(MQTTASYNC_TRACE_ERROR);
}

PahoLibrary load(bool tls)
{
  const char* library = tls ? "libpaho-mqtt3as.so.1" : "libpaho-mqtt3a.so.1";
  void* handle = ::dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    throw Error(exit_code::failure, fmt::format("cannot load the MQTT library {}: {}{}", library,
                                                why ? why : "unknown error",
                                                tls ? " (needed for TLS)" : ""));
  }
  PahoLibrary lib;
  lib.tls = tls;
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
      libraries[i] = load(tls); // throws without publishing anything
      ready[i].store(true, std::memory_order_release);
    }
  }
  return libraries[i];
}

} // namespace mqtk
