// libFuzzer target: the input is a -L URL. Parsing may only fail with
// UsageError ("-L: invalid URL: ..."), whose message does not depend on the
// password of a URL that has one (the same message with the password's
// bytes replaced), so it never repeats it; a parsed URL has a host and a
// port in range.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "mqtk/connection/broker_url.hpp"
#include "mqtk/process/error.hpp"

using mqtk_fuzz::check;

namespace {

// The error parse_broker_url gives for `text`, or "" when it parses.
std::string error_of(std::string_view text)
{
  try {
    (void)mqtk::parse_broker_url(text);
  } catch (const mqtk::UsageError& e) {
    return e.what();
  }
  return {};
}

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
    const std::string message = e.what();
    check(mqtk_fuzz::starts_with(message, "-L: invalid URL: "));
    // The password: after the scheme, between the first ':' and the last
    // '@' before the path.
    const std::size_t sep = text.find("://");
    if (sep == std::string_view::npos) {
      return 0;
    }
    const std::size_t start = sep + 3;
    const std::string_view rest = text.substr(start);
    const std::string_view authority = rest.substr(0, rest.find('/'));
    const std::size_t at = authority.rfind('@');
    if (at == std::string_view::npos) {
      return 0;
    }
    const std::size_t colon = authority.substr(0, at).find(':');
    if (colon == std::string_view::npos || colon + 1 == at) {
      return 0;
    }
    // A message that quoted the password (or any part of it) would change
    // with it. Comparing messages, not searching one for the password,
    // also holds when the password is made of the message's own words
    // ("://a:scheme '' (expected mqtt, m@tmp,": fuzz/corpus/broker_url/
    // password_like_message).
    for (const char filler : {'x', 'y'}) {
      std::string other(text);
      other.replace(start + colon + 1, at - colon - 1, at - colon - 1, filler);
      check(error_of(other) == message);
    }
  }
  return 0;
}
