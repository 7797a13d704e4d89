#include "mqtk/connection/broker_url.hpp"

#include "mqtk/process/error.hpp"

#include <charconv>

#include <fmt/format.h>

namespace mqtk {

int default_port(Transport transport) noexcept
{
  switch (transport) {
  case Transport::mqtt: return 1883;
  case Transport::mqtts: return 8883;
  case Transport::ws: return 80;
  case Transport::wss: return 443;
  }
  return 1883;
}

bool is_tls(Transport transport) noexcept
{
  return transport == Transport::mqtts || transport == Transport::wss;
}

std::string_view scheme_name(Transport transport) noexcept
{
  switch (transport) {
  case Transport::mqtt: return "mqtt";
  case Transport::mqtts: return "mqtts";
  case Transport::ws: return "ws";
  case Transport::wss: return "wss";
  }
  return "mqtt";
}

namespace {

[[noreturn]] void bad_url(std::string_view why)
{
  throw UsageError(fmt::format("-L: invalid URL: {}", why));
}

// `quote` is false when the URL holds an '@': what looks like a port may
// then be part of a password (mqtt://user:pa/ss@host), so it is not echoed.
int parse_port(std::string_view text, bool quote)
{
  int port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535) {
    bad_url(quote ? fmt::format("port '{}' is not a number from 1 to 65535", text)
                  : std::string("port is not a number from 1 to 65535"));
  }
  return port;
}

} // namespace

BrokerUrl parse_broker_url(std::string_view text)
{
  BrokerUrl url;
  auto sep = text.find("://");
  if (sep == std::string_view::npos) {
    bad_url("expected scheme://host[:port]/topic with scheme mqtt, mqtts, ws or wss");
  }
  // Schemes are case-insensitive (RFC 3986; mosquitto accepts MQTT://).
  const std::string_view scheme_text = text.substr(0, sep);
  std::string scheme(scheme_text);
  for (char& c : scheme) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  if (scheme == "mqtt") {
    url.transport = Transport::mqtt;
  } else if (scheme == "mqtts") {
    url.transport = Transport::mqtts;
  } else if (scheme == "ws") {
    url.transport = Transport::ws;
  } else if (scheme == "wss") {
    url.transport = Transport::wss;
  } else if (scheme.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789+-.") == std::string::npos) {
    bad_url(fmt::format("unknown scheme '{}' (expected mqtt, mqtts, ws or wss)", scheme_text));
  } else {
    // Not a scheme (RFC 3986: letters, digits, '+', '-', '.'): perhaps a
    // mistyped URL whose credentials come before the "://", so not quoted.
    bad_url("expected scheme://host[:port]/topic with scheme mqtt, mqtts, ws or wss");
  }
  auto rest = text.substr(sep + 3);
  // Text that might come from a password is never repeated in an error.
  const bool quote = rest.find('@') == std::string_view::npos;
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  // The user part ends at the last '@' so that a password may contain '@'.
  auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    auto userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = userinfo.find(':');
    url.username = std::string(userinfo.substr(0, colon));
    if (url.username->empty()) {
      bad_url("empty username before '@'");
    }
    if (colon != std::string_view::npos) {
      url.password = std::string(userinfo.substr(colon + 1));
    }
  }
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      bad_url("missing ']' after IPv6 address");
    }
    url.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        bad_url(quote ? fmt::format("unexpected '{}' after IPv6 address", after)
                      : std::string("unexpected text after IPv6 address"));
      }
      url.port = parse_port(after.substr(1), quote);
    }
  } else {
    auto colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      url.port = parse_port(authority.substr(colon + 1), quote);
    }
  }
  if (url.host.empty()) {
    bad_url("missing host");
  }
  if (slash != std::string_view::npos) {
    auto path = rest.substr(slash + 1);
    if (url.transport == Transport::ws || url.transport == Transport::wss) {
      // For websockets the path names the endpoint (ws://host:8080/mqtt);
      // a topic cannot be given in the URL, so use -t.
      url.path = "/" + std::string(path);
    } else if (!path.empty()) {
      url.topic = std::string(path);
    }
  }
  return url;
}

} // namespace mqtk
