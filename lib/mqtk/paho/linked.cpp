#include "mqtk/paho/linked.hpp"
#if MQTK_PAHO_TLS_MODULE
#include "mqtk/paho/tls_checks.hpp"
#endif

#include <cstdlib>

bool mqtk::paho_trace_asked_for() noexcept
{
  static const bool asked =
    std::getenv("MQTT_C_CLIENT_TRACE") != nullptr || std::getenv("MQTT_C_CLIENT_TRACE_LEVEL") != nullptr;
  return asked;
}

// Debian builds Paho C without HIGH_PERFORMANCE, so its internal trace is
// on at TRACE_MINIMUM: every Log() at that level or above (one per packet
// sent or received) is formatted into an in-memory ring of 400 entries
// under a global mutex, whether or not anyone ever reads it. Measured with
// perf on `mqtk-pub -l -q 1`: Log_stackTrace and Log took about 10 % of the
// process's cycles. The ring only ever reaches a user through
// MQTT_C_CLIENT_TRACE, so unless that or MQTT_C_CLIENT_TRACE_LEVEL is set,
// record errors only.
extern "C" void mqtk_paho_linked_functions(mqtk::PahoLibrary* lib)
{
  lib->global_init = &::MQTTAsync_global_init;
  lib->createWithOptions = &::MQTTAsync_createWithOptions;
  lib->destroy = &::MQTTAsync_destroy;
  lib->setCallbacks = &::MQTTAsync_setCallbacks;
  lib->setDisconnected = &::MQTTAsync_setDisconnected;
  lib->connect = &::MQTTAsync_connect;
  lib->sendMessage = &::MQTTAsync_sendMessage;
  lib->subscribeMany = &::MQTTAsync_subscribeMany;
  lib->unsubscribeMany = &::MQTTAsync_unsubscribeMany;
  lib->disconnect = &::MQTTAsync_disconnect;
  lib->isConnected = &::MQTTAsync_isConnected;
  lib->freeMessage = &::MQTTAsync_freeMessage;
  lib->free = &::MQTTAsync_free;
  lib->strerror = &::MQTTAsync_strerror;
  lib->getVersionInfo = &::MQTTAsync_getVersionInfo;
  lib->reasonCodeToString = &::MQTTReasonCode_toString;
  lib->propertiesAdd = &::MQTTProperties_add;
  lib->propertiesFree = &::MQTTProperties_free;
#if MQTK_PAHO_TLS_MODULE
  lib->tls_error_callback = &::mqtk_tls_error_callback;
#endif
  if (!mqtk::paho_trace_asked_for()) {
    ::MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
  }
}
