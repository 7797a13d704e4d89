#pragma once

// A link-time fix of a double free in Paho MQTT C 1.3.12 (and every release
// up to 1.3.15; eclipse-paho/paho.mqtt.c issues #1621, #1622), built into
// both the speed-tuned and the MQTK_STOCK_PAHO builds: it is a crash fix,
// not a speed-up, wherever a static Paho is linked (lib/CMakeLists.txt).
//
// MQTTAsync's send thread starts a QoS 1 or 2 PUBLISH with
// MQTTProtocol_startPublish, which moves the command's topic and payload
// into a stored publication on the client's outbound list (storePublication
// takes the pointers; the command keeps aliases of them) and then writes the
// packet. When that write fails (the broker closed the connection, so
// SOCKET_ERROR), MQTTAsync_processCommand fails the command and frees it
// with MQTTAsync_freeCommand, whose PUBLISH branch frees the aliased topic
// and payload, while the outbound list still holds them: closing a clean
// session then frees both again (MQTTProtocol_emptyMessageList →
// MQTTProtocol_removePublication: "free(): double free"), and a kept session
// would resend freed memory after a reconnect. Only this failure path
// forgets to clear the command's aliases; every other one
// (MQTTAsync_NULLPublishResponses, the acknowledgement paths) does.

extern "C" {

// Paho's MQTTProtocol_startPublish(Clients*, Publish*, qos, retained,
// Messages**), then, for a QoS 1 or 2 publish whose write failed, gives the
// stored publication copies of its topic and payload (allocated as Paho
// allocates), so that the command's free of the originals and the outbound
// list's free of the copies each free their own. The message stays on the
// outbound list: a kept session sends it again after a reconnect. The
// argument types are Paho's internal ones (not installed), hence void*.
int __wrap_MQTTProtocol_startPublish(void* client, void* publish, int qos, int retained, void** message);
}
