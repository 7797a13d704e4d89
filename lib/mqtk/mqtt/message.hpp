#pragma once

#include "mqtk/mqtt/properties.hpp"

#include <string_view>

namespace mqtk {

// A message, independent of Paho, as formatting, filtering and output see
// it (so they are tested without a broker). A view: the bytes belong to
// whoever received or read the message.
struct MessageView
{
  std::string_view topic;
  std::string_view payload; // raw bytes, may hold NUL and invalid UTF-8
  int qos = 0;
  bool retain = false;
  int mid = 0; // packet identifier as seen by the client (0 for QoS 0)
  // MQTT 5 properties, when the message has any (nullptr otherwise).
  const MessageProperties* properties = nullptr;
};

} // namespace mqtk
