#pragma once

#include "mqtk/paho/library.hpp"

// The function table of the Paho build this file is linked with. Built into
// libmqtk, where that is Debian's static plain build, and into the
// mqtk-paho-tls module, where it is Debian's static TLS build and this is
// the module's entry point, found with dlsym (the static builds' own
// symbols are hidden). Leaves `tls` alone. Turns Paho's in-memory trace
// down to errors unless MQTT_C_CLIENT_TRACE or MQTT_C_CLIENT_TRACE_LEVEL is
// set.
extern "C" void mqtk_paho_linked_functions(mqtk::PahoLibrary* lib);

namespace mqtk {
// True when the process was started with Paho's trace asked for
// (MQTT_C_CLIENT_TRACE or MQTT_C_CLIENT_TRACE_LEVEL set); read once.
bool paho_trace_asked_for() noexcept;
} // namespace mqtk
