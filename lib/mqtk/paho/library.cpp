#include "mqtk/paho/library.hpp"

#include "mqtk/process/error.hpp"
#include "mqtk/paho/linked.hpp"
#include "mqtk/process/module_loader.hpp"

#include <atomic>
#include <mutex>
#include <string>

#include <fmt/format.h>

// Which Paho C a run uses, and why:
//
// - Plain TCP and WebSockets: Debian's static libpaho-mqtt3a.a, linked into
//   the executables (lib/CMakeLists.txt). Nothing to load or relocate at start.
// - TLS: Debian's static OpenSSL build, libpaho-mqtt3as.a, linked into the
//   module mqtk-paho-tls.so that the build puts next to the executables
//   (installed: lib/<triplet>/mqtk, process/module_loader.hpp),
//   loaded with dlopen only when a TLS connection is asked for, so plain
//   runs never load OpenSSL (Debian's Paho C++ library links the OpenSSL
//   build: an empty program linked with it starts in about 9 ms, a C++
//   hello in 3.9 ms).
// Both are static builds so that Paho's debugging aids can be replaced at
// link time (wraps.hpp), and both hand over their functions through
// linked.hpp.
//
// RTLD_LOCAL keeps the module's symbols out of the global scope; its
// references to poll(), usleep() and the other calls of socket.hpp are
// still resolved through the global scope first, so they bind to the
// definitions the executables export. RTLD_NOW reports a missing symbol
// here, not mid-run.

namespace mqtk {

namespace {

PahoLibrary linked()
{
  PahoLibrary lib;
  mqtk_paho_linked_functions(&lib);
  return lib;
}

PahoLibrary loaded()
{
  std::string why;
  void* entry = load_module_symbol(tls_module_name, "mqtk_paho_linked_functions", why);
  if (entry == nullptr) {
    throw Error(exit_code::failure, fmt::format("cannot load the MQTT library for TLS: {}", why));
  }
  PahoLibrary lib;
  reinterpret_cast<decltype(&mqtk_paho_linked_functions)>(entry)(&lib);
  lib.tls = true;
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
