#pragma once

extern "C" {
#include <MQTTAsync.h>
}

namespace mqtk {

// The Paho MQTT C (MQTTAsync) functions mqtk uses, resolved at run time from
// the shared library. Only connection.cpp uses this; nothing in mqtk calls a
// Paho function directly, so the executables have no link dependency on Paho.
struct PahoLibrary
{
  decltype(&::MQTTAsync_global_init) global_init;
  decltype(&::MQTTAsync_createWithOptions) createWithOptions;
  decltype(&::MQTTAsync_destroy) destroy;
  decltype(&::MQTTAsync_setCallbacks) setCallbacks;
  decltype(&::MQTTAsync_connect) connect;
  decltype(&::MQTTAsync_sendMessage) sendMessage;
  decltype(&::MQTTAsync_subscribeMany) subscribeMany;
  decltype(&::MQTTAsync_unsubscribeMany) unsubscribeMany;
  decltype(&::MQTTAsync_disconnect) disconnect;
  decltype(&::MQTTAsync_isConnected) isConnected;
  decltype(&::MQTTAsync_freeMessage) freeMessage;
  decltype(&::MQTTAsync_free) free;
  decltype(&::MQTTAsync_strerror) strerror;
  decltype(&::MQTTAsync_getVersionInfo) getVersionInfo;
  decltype(&::MQTTReasonCode_toString) reasonCodeToString;
  decltype(&::MQTTProperties_add) propertiesAdd;
  decltype(&::MQTTProperties_free) propertiesFree;

  // Loads the library once per process and returns its function table:
  // "libpaho-mqtt3as.so.1" (built with OpenSSL) when `tls`, otherwise
  // "libpaho-mqtt3a.so.1". The library stays loaded until the process ends.
  // Throws Error (exit 1) naming the library and dlerror() when it cannot be
  // loaded or lacks a function.
  static const PahoLibrary& get(bool tls);

  // True for the OpenSSL build.
  bool tls = false;
};

} // namespace mqtk
