#pragma once

#include <cstddef>

// Link-time replacements for parts of Debian's static Paho MQTT C builds.
//
// Debian builds Paho C without HIGH_PERFORMANCE, which leaves two debugging
// aids compiled into every call:
//  - an allocation tracker (Heap.c): Paho's malloc, realloc and free are
//    macros for mymalloc, myrealloc and myfree, which add guard words and
//    insert into or search a tree under one global mutex, per allocation;
//  - a function-entry stack (StackTrace.c): every traced function calls
//    StackTrace_entry and StackTrace_exit, each taking another global mutex.
// And its send thread is not woken when a partly written packet is finished
// (below). Every program or module that links a static Paho build links
// this file and passes the linker --wrap=SYMBOL for each function below
// (lib/CMakeLists.txt: the plain build in the executables, the TLS build in the
// mqtk-paho-tls module), so that every call from Paho's objects to SYMBOL
// reaches __wrap_SYMBOL. README "Speed" has the measurements.

extern "C" {

// Plain malloc, realloc and free: what a HIGH_PERFORMANCE build compiles
// in. Every block Paho allocates is allocated and freed through these, so
// the pairs stay matched; the file and line arguments are ignored.
void* __wrap_mymalloc(char* file, int line, std::size_t size);
void* __wrap_myrealloc(char* file, int line, void* p, std::size_t size);
void __wrap_myfree(char* file, int line, void* p);

// No stack bookkeeping unless the process was started with Paho's trace
// asked for (MQTT_C_CLIENT_TRACE or MQTT_C_CLIENT_TRACE_LEVEL set), whose
// function entry and exit lines this stack feeds.
void __wrap_StackTrace_entry(const char* name, int line, int trace_level);
void __wrap_StackTrace_exit(const char* name, int line, void* return_value, int trace_level);

// Paho's MQTTAsync_writeComplete (called on the receive thread once a
// packet the socket could not take whole is out), then a wake-up for Paho's
// send thread, which stopped sending on that socket while the write was
// pending and otherwise sleeps out its 1 s wait.
void __wrap_MQTTAsync_writeComplete(int socket, int rc);
}
