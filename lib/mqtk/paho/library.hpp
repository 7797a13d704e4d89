#pragma once

#include <cstddef>

extern "C" {
#include <MQTTAsync.h>
}

namespace mqtk {

// The file name of the TLS build of Paho, built beside the executables
// (lib/CMakeLists.txt).
inline constexpr const char* tls_module_name = "mqtk-paho-tls.so";

// The Paho MQTT C (MQTTAsync) functions mqtk uses: the plain build's, linked
// in, or the TLS build's, from the module loaded at run time for TLS. Only
// connection.cpp uses this; nothing else in mqtk calls a Paho function.
struct PahoLibrary
{
  decltype(&::MQTTAsync_global_init) global_init;
  decltype(&::MQTTAsync_createWithOptions) createWithOptions;
  decltype(&::MQTTAsync_destroy) destroy;
  decltype(&::MQTTAsync_setCallbacks) setCallbacks;
  decltype(&::MQTTAsync_setDisconnected) setDisconnected;
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
  // The TLS build's ssl_error_cb, which with a mqtk::TlsFailure as
  // ssl_error_context names the check a failed TLS connection failed
  // (paho/tls_checks.hpp); nullptr in the plain build.
  int (*tls_error_callback)(const char*, std::size_t, void*) = nullptr;

  // The function table, set up once per process: when `tls`, loads the
  // module `tls_module_name` from the executable's directory (Debian's
  // static TLS build of Paho, built with mqtk), which stays loaded until the
  // process ends; otherwise the linked plain build. Either way Paho's
  // internal trace is turned down to errors unless MQTT_C_CLIENT_TRACE(_LEVEL)
  // is set. Throws Error (exit 1) naming the module and dlerror() when it
  // cannot be loaded.
  static const PahoLibrary& get(bool tls);

  // True for the OpenSSL build.
  bool tls = false;
};

} // namespace mqtk
