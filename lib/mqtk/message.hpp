#pragma once

#include <string>
#include <string_view>

namespace mqtk {

// A received or to-be-published message, independent of Paho, so formatting,
// filtering and output are tested without a broker.
struct Message
{
  std::string topic;
  std::string payload; // raw bytes, may hold NUL and invalid UTF-8
  int qos = 0;
  bool retain = false;
  int mid = 0; // packet identifier as seen by the client (0 for QoS 0)
};

// A non-owning view of a message, for hot paths that must not copy.
struct MessageView
{
  std::string_view topic;
  std::string_view payload;
  int qos = 0;
  bool retain = false;
  int mid = 0;
};

inline MessageView view_of(const Message& m) noexcept
{
  return MessageView{m.topic, m.payload, m.qos, m.retain, m.mid};
}

} // namespace mqtk
