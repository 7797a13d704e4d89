#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mqtk {

enum class Transport { mqtt, mqtts, ws, wss };

// The parts of a -L/--url argument:
// scheme://[user[:password]@]host[:port][/topic]
struct BrokerUrl
{
  Transport transport = Transport::mqtt;
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::string host;
  std::optional<int> port; // unset: the transport's default port
  std::string path;        // websocket path ("/mqtt"), unused for mqtt/mqtts
  std::optional<std::string> topic;
};

// Parses a -L URL. Schemes: mqtt, mqtts, ws, wss. Throws UsageError naming
// what is wrong; the message never repeats a password.
BrokerUrl parse_broker_url(std::string_view text);

// 1883, 8883, 80 or 443.
int default_port(Transport transport) noexcept;

// True for mqtts and wss.
bool is_tls(Transport transport) noexcept;

// "mqtt", "mqtts", "ws" or "wss".
std::string_view scheme_name(Transport transport) noexcept;

} // namespace mqtk
