// libFuzzer target: the input is a -L URL. Parsing may only fail with
// UsageError ("-L: invalid URL: ..."), whose message never repeats the
// password of a URL that has one; a parsed URL has a host and a port in
// range.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "mqtk/connection/broker_url.hpp"
#include "mqtk/process/error.hpp"

using mqtk_fuzz::check;

namespace {

// The reasons parse_broker_url gives when the URL holds an '@' (they quote
// nothing from it): a password found in one of them is a coincidence.
constexpr std::array<std::string_view, 6> fixed_reasons{
  "expected scheme://host[:port]/topic with scheme mqtt, mqtts, ws or wss",
  "empty username before '@'",
  "missing ']' after IPv6 address",
  "unexpected text after IPv6 address",
  "port is not a number from 1 to 65535",
  "missing host",
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const mqtk::BrokerUrl url = mqtk::parse_broker_url(text);
    check(!url.host.empty());
    check(!url.port || (*url.port >= 1 && *url.port <= 65535));
    check(!url.username || !url.username->empty());
    check(!url.topic || !url.topic->empty());
    if (url.transport == mqtk::Transport::ws || url.transport == mqtk::Transport::wss) {
      check(!url.topic && (url.path.empty() || url.path.front() == '/'));
    } else {
      check(url.path.empty());
    }
    check(mqtk::default_port(url.transport) > 0);
  } catch (const mqtk::UsageError& e) {
    const std::string_view message = e.what();
    constexpr std::string_view prefix = "-L: invalid URL: ";
    check(mqtk_fuzz::starts_with(message, prefix));
    // The password: after the scheme, between the first ':' and the last
    // '@' before the path.
    const std::size_t sep = text.find("://");
    if (sep == std::string_view::npos) {
      return 0;
    }
    const std::string_view scheme = text.substr(0, sep);
    const std::string_view rest = text.substr(sep + 3);
    const std::string_view authority = rest.substr(0, rest.find('/'));
    const std::size_t at = authority.rfind('@');
    if (at == std::string_view::npos) {
      return 0;
    }
    const std::string_view userinfo = authority.substr(0, at);
    const std::size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      return 0;
    }
    const std::string_view password = userinfo.substr(colon + 1);
    if (password.size() < 4 || scheme.find(password) != std::string_view::npos) {
      return 0;
    }
    for (const std::string_view reason : fixed_reasons) {
      if (reason.find(password) != std::string_view::npos) {
        return 0;
      }
    }
    check(message.find(password, prefix.size()) == std::string_view::npos);
  }
  return 0;
}
