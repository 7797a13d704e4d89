#include "mqtk/connection/options.hpp"
#include "mqtk/connection/credentials.hpp"
#include "mqtk/output/char_class.hpp"
#include "mqtk/process/option_values.hpp"

#include "mqtk/process/error.hpp"
#include "mqtk/mqtt/topic.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

#include <limits>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace mqtk {

void add_connection_options(CLI::App& app, ConnectionOptions& o, ConnectionFlags flags)
{
  auto* g = app.add_option_group("Connection", "Reaching the broker (same flags as mosquitto's clients)");
  g->add_option("-h,--host", o.host, "Broker host name or address (default: localhost)")
    ->type_name("HOST");
  g->add_option("-p,--port", o.port, "Broker port (default: 1883, 8883 with TLS)")
    ->transform(integer_in(1, 65535, "a port from 1 to 65535"))
    ->type_name("PORT");
  g->add_option("-L,--url", o.url,
                "Broker as a URL: mqtt[s]://[user[:pass]@]host[:port]/topic, or ws[s]://host[:port]/path")
    ->type_name("URL");
  if (flags.client_id) {
    g->add_option("-i,--id", o.id, "Client id (default: the tool's name, process id and random digits)")
      ->type_name("ID");
    g->add_option("-I,--id-prefix", o.id_prefix, "Client id prefix; the process id is appended")
      ->type_name("PREFIX");
  } else {
    g->add_option("-I,--id-prefix", o.id_prefix,
                  "Client id prefix: ids are PREFIX-pub-N, PREFIX-sub-N, PREFIX-conn-N (default: mqtk-bench-PID)")
      ->type_name("PREFIX");
  }
  g->add_option("-k,--keepalive", o.keepalive, "Keepalive interval in seconds, 5 to 65535 (default: 60)")
    ->transform(integer_in(5, 65535, "seconds from 5 to 65535"))
    ->type_name("SECONDS");
  if (flags.session) {
    g->add_flag("-c,--disable-clean-session", o.disable_clean_session,
                "Keep the session on the broker after disconnecting (needs -i)");
    g->add_option("-x,--session-expiry-interval", o.session_expiry,
                  "MQTT 5 session expiry in seconds; -1 or 4294967295: never")
      ->type_name("SECONDS");
  }
  g->add_option("-V,--protocol-version", o.protocol_version,
                "MQTT version: 31, 311, 5 (or mqttv31, mqttv311, mqttv5; default: 311, or 5 with -D or, in mqtk-sub, an expression reading a property)")
    ->type_name("VERSION");
  g->add_option("-u,--username", o.username, "User name (default: $MQTK_USERNAME)")
    ->type_name("USER");
  g->add_option("-P,--pw", o.password,
                "Password, needs a user name; never printed, hidden from ps (default: $MQTK_PASSWORD)")
    ->type_name("PASSWORD");
  g->add_option("--pw-file", o.password_file, "Read the password from FILE's first line (instead of -P)")
    ->type_name("FILE");
  g->add_option("--will-topic", o.will_topic, "Topic of the will message")
    ->type_name("TOPIC");
  g->add_option("--will-payload", o.will_payload, "Payload of the will message")
    ->type_name("PAYLOAD");
  g->add_option("--will-qos", o.will_qos, "QoS of the will message")
    ->transform(integer_in(0, 2, "0, 1 or 2"))
    ->type_name("QOS");
  g->add_flag("--will-retain", o.will_retain, "Retain the will message");
  g->add_flag("-d,--debug", o.debug, "Print connection events on stderr");
  g->add_flag("--quiet", o.quiet, "Print no error messages");
  g->add_option("--connect-timeout", o.connect_timeout, "Seconds to wait for the connection (default: 30)")
    ->check(number_in(0, std::numeric_limits<double>::max(), "seconds above 0", true))
    ->type_name("SECONDS");
  g->add_option("-M", o.max_inflight, "Most QoS 1 and 2 messages in flight at once (default: 20)")
    ->transform(integer_in(1, 65535, "a number from 1 to 65535"))
    ->type_name("N");
  g->add_flag("--nodelay", o.nodelay, "Disable Nagle's algorithm (always disabled by Paho)");
  if (flags.reconnects) {
    auto* r = app.add_option_group("Reconnecting", "After a lost connection (see RELIABILITY in the manual)");
    r->add_flag("--no-reconnect", o.no_reconnect, "Exit when the connection is lost instead of reconnecting");
    r->add_option("--reconnect-timeout", o.reconnect_timeout,
                  "Give up reconnecting after this many seconds, exit 7 (default: never)")
      ->check(number_in(0, std::numeric_limits<double>::max(), "seconds above 0", true))
      ->type_name("SECONDS");
    if (flags.buffers) {
      r->add_option("--max-buffer", o.max_buffer,
                    "Most QoS 1 and 2 messages held until acknowledged; when full, stdin waits (default: 10000)")
        ->transform(integer_in(1, 100000000, "a number from 1 to 100000000"))
        ->type_name("N");
    }
  }

  auto* t = app.add_option_group("TLS", "Encrypted connections (server certificate verified unless --insecure)");
  t->add_option("--cafile", o.cafile, "File of trusted CA certificates (PEM)")
    ->type_name("FILE");
  t->add_option("--capath", o.capath, "Directory of trusted CA certificates")
    ->type_name("DIR");
  t->add_option("--cert", o.cert, "Client certificate (PEM)")
    ->type_name("FILE");
  t->add_option("--key", o.key, "Client private key (PEM)")
    ->type_name("FILE");
  t->add_option("--keyform", o.keyform, "Key format: pem (engine is not supported)")
    ->type_name("FORMAT");
  t->add_option("--ciphers", o.ciphers, "OpenSSL cipher list")
    ->type_name("LIST");
  t->add_option("--tls-version", o.tls_version, "The one TLS version to use: tlsv1.3, tlsv1.2 or tlsv1.1 (default: the highest both sides accept)")
    ->type_name("VERSION");
  t->add_option("--tls-alpn", o.tls_alpn, "ALPN protocol to ask for")
    ->type_name("PROTOCOL");
  t->add_flag("--insecure", o.insecure, "Do not check the server's host name (unsafe)");
  t->add_flag("--tls-use-os-certs", o.tls_use_os_certs, "Trust the system's CA certificates");
  t->add_option("--psk", o.psk,
                "TLS-PSK key in hex, instead of certificates (needs --psk-identity); hidden from ps")
    ->type_name("HEX");
  t->add_option("--psk-identity", o.psk_identity, "TLS-PSK identity (with --psk)")
    ->type_name("IDENTITY");

  auto* u = app.add_option_group("Unsupported",
                                 "Accepted for mosquitto compatibility; refused before connecting");
  if (flags.binds) {
    g->add_option("-A", o.bind_address, "Local address to connect from")
      ->type_name("ADDRESS");
  } else {
    u->add_option("-A", o.bind_address, fmt::format("Bind address (not supported by {})", flags.engine))
      ->type_name("ADDRESS");
  }
  u->add_option("--unix", o.unix_socket, fmt::format("Unix socket (not supported by {})", flags.engine))
    ->type_name("PATH");
  u->add_option("--proxy", o.proxy, fmt::format("SOCKS5 proxy (not supported by {})", flags.engine))
    ->type_name("URL");
  u->add_option("--tls-engine", o.tls_engine, "OpenSSL engine (not supported)")
    ->type_name("ENGINE");
  u->add_option("--tls-engine-kpass-sha1", o.tls_engine_kpass_sha1, "Engine key password (not supported)")
    ->type_name("HASH");
  // COMMAND NAME VALUE, or COMMAND user-property NAME VALUE: the words of
  // every -D in one list, split by parse_property_arguments().
  (flags.properties ? g : u)
    ->add_option(flags.short_property ? "-D,--property" : "--property", o.properties,
                 flags.properties ? "MQTT 5 property for a packet (implies -V 5): COMMAND NAME VALUE, or COMMAND "
                                    "user-property NAME VALUE; COMMAND is connect, publish, subscribe, unsubscribe, "
                                    "disconnect or will"
                                  : "MQTT 5 property (not supported)")
    ->expected(3, 4)
    ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
    ->type_name("COMMAND NAME VALUE");
}

int parse_protocol_version(std::string_view text)
{
  if (text == "31" || text == "mqttv31") {
    return 3;
  }
  if (text == "311" || text == "mqttv311") {
    return 4;
  }
  if (text == "5" || text == "mqttv5") {
    return 5;
  }
  throw UsageError(fmt::format("-V: unknown protocol version '{}' (expected 31, 311, 5, mqttv31, mqttv311 or mqttv5)", text));
}

std::uint32_t parse_session_expiry(std::string_view text)
{
  if (text == "-1" || text == "∞") {
    return 4294967295u;
  }
  // As mosquitto: strtol with base 0 (so "0x10" and "010" work, leading
  // space and a sign are allowed), the whole text must be a number, and
  // the value must lie in [-1, 4294967295].
  std::string copy(text);
  errno = 0;
  char* end = nullptr;
  long long value = std::strtoll(copy.c_str(), &end, 0);
  if (copy.empty() || end == copy.c_str() || *end != '\0' || copy.find('\0') != std::string::npos) {
    throw UsageError(fmt::format(
      "-x: session expiry '{}' is not a number (seconds from 0 to 4294967295, or -1 for never)", text));
  }
  if (errno == ERANGE || value < -1 || value > 4294967295LL) {
    throw UsageError(fmt::format(
      "-x: session expiry '{}' is out of range (seconds from 0 to 4294967295, or -1 for never)", text));
  }
  return value == -1 ? 4294967295u : static_cast<std::uint32_t>(value);
}

namespace {

void refuse_unsupported(const ConnectionOptions& o, const ConnectionFlags& flags)
{
  auto refuse = [](bool given, std::string_view flag, std::string_view why) {
    if (given) {
      throw UsageError(fmt::format("{} is not supported: {}", flag, why));
    }
  };
  const std::string_view engine = flags.engine;
  refuse(!flags.binds && !o.bind_address.empty(), "-A",
         fmt::format("{} cannot bind the client socket to an address", engine));
  refuse(!o.unix_socket.empty(), "--unix", fmt::format("{} cannot connect over a unix domain socket", engine));
  refuse(!o.proxy.empty(), "--proxy", fmt::format("{} has no SOCKS5 proxy support", engine));
  refuse(!o.tls_engine.empty(), "--tls-engine", fmt::format("{} cannot load an OpenSSL engine", engine));
  refuse(!o.tls_engine_kpass_sha1.empty(), "--tls-engine-kpass-sha1",
         fmt::format("{} cannot load an OpenSSL engine", engine));
  if (!o.keyform.empty() && o.keyform != "pem") {
    throw UsageError(o.keyform == "engine"
                       ? fmt::format("--keyform engine is not supported: {} cannot load an OpenSSL engine", engine)
                       : fmt::format("--keyform: unknown key form '{}' (expected pem)", o.keyform));
  }
  refuse(!flags.properties && !o.properties.empty(), flags.short_property ? "-D/--property" : "--property",
         fmt::format("{} sends no MQTT 5 properties", engine));
}

// A TLS file or directory given by `flag` (empty: not given) must be
// there and readable, as mosquitto's clients check before connecting: then
// a missing file is a usage error naming it, not a failed handshake.
void check_readable(const std::string& path, std::string_view flag, bool directory)
{
  if (path.empty()) {
    return;
  }
  struct stat st{};
  auto unreadable = [&] {
    return UsageError(fmt::format("{}: cannot read '{}': {}", flag, path, std::strerror(errno)));
  };
  if (::stat(path.c_str(), &st) != 0) {
    throw unreadable();
  }
  if (directory != S_ISDIR(st.st_mode)) {
    throw UsageError(fmt::format("{}: '{}' is {}", flag, path, directory ? "not a directory" : "a directory"));
  }
  if (::access(path.c_str(), directory ? R_OK | X_OK : R_OK) != 0) {
    throw unreadable();
  }
}

// --psk and --psk-identity: both or neither, as mosquitto; and, since the
// key then authenticates the broker, no CA to trust and no certificate.
void resolve_psk(ConnectionOptions& o)
{
  if (o.psk.empty() && o.psk_identity.empty()) {
    return;
  }
  if (o.psk.empty()) {
    throw UsageError("--psk-identity needs --psk (the key in hex)");
  }
  if (o.psk_identity.empty()) {
    throw UsageError("--psk needs --psk-identity (the identity the broker knows the key by)");
  }
  if (o.psk_identity.size() > 255) {
    throw UsageError("--psk-identity: longer than OpenSSL's 255 bytes");
  }
  if (!o.cafile.empty() || !o.capath.empty() || o.tls_use_os_certs) {
    throw UsageError("--psk cannot be used with --cafile, --capath or --tls-use-os-certs: the pre-shared key "
                     "authenticates the broker, no CA does");
  }
  if (!o.cert.empty()) {
    throw UsageError("--psk cannot be used with --cert and --key: a pre-shared key connection has no certificates");
  }
  if (!o.tls) {
    throw UsageError(fmt::format("--psk needs TLS, not {} (use mqtts:// or wss://, or leave -L out)",
                                 o.url.substr(0, o.url.find(':'))));
  }
  o.psk_key = parse_psk(o.psk);
}

std::string default_client_id(std::string_view tool)
{
  std::random_device rd;
  return fmt::format("{}-{}-{:04x}", tool, ::getpid(), rd() & 0xffffu);
}

} // namespace

void resolve(ConnectionOptions& o, std::string_view tool, ConnectionFlags flags)
{
  refuse_unsupported(o, flags);
  const std::string_view property_flag = flags.short_property ? "-D" : "--property";
  o.property_set = parse_property_arguments(o.properties, property_flag);
  if (o.protocol_version.empty()) {
    // mosquitto: properties mean MQTT 5.
    o.mqtt_version = o.properties.empty() ? 4 : 5;
  } else {
    o.mqtt_version = parse_protocol_version(o.protocol_version);
    if (o.mqtt_version != 5 && !o.properties.empty()) {
      throw UsageError(fmt::format("{}: properties need MQTT 5, not -V {} (leave -V out or give -V 5)", property_flag,
                                   o.protocol_version));
    }
  }
  std::optional<std::string> url_username;
  std::optional<std::string> url_password;
  if (!o.url.empty()) {
    BrokerUrl url = parse_broker_url(o.url);
    o.transport = url.transport;
    o.host = url.host;
    if (url.port) {
      o.port = *url.port;
    }
    url_username = std::move(url.username);
    url_password = std::move(url.password);
    o.ws_path = url.path;
    o.url_topic = url.topic;
  } else if (!o.cafile.empty() || !o.capath.empty() || o.tls_use_os_certs || !o.psk.empty()) {
    // mosquitto: giving CA certificates or a pre-shared key turns TLS on.
    o.transport = Transport::mqtts;
  }
  o.tls = is_tls(o.transport);
  if (o.port == 0) {
    o.port = default_port(o.transport);
  }
  if (o.host.empty()) {
    throw UsageError("-h: empty host name");
  }
  resolve_credentials(o, url_username, url_password, [](const char* name) { return std::getenv(name); });
  if (!o.session_expiry.empty()) {
    o.session_expiry_seconds = parse_session_expiry(o.session_expiry);
  }
  // -D connect session-expiry-interval is -x by another name: one place.
  auto& connect_properties = o.property_set.connect;
  for (auto it = connect_properties.begin(); it != connect_properties.end(); ++it) {
    if (it->identifier == 17) {
      if (o.session_expiry_seconds) {
        throw UsageError(fmt::format("-x and {} connect session-expiry-interval: give one", property_flag));
      }
      o.session_expiry_seconds = it->number;
      connect_properties.erase(it);
      break;
    }
  }
  if (!o.id.empty() && !o.id_prefix.empty()) {
    throw UsageError("-i and -I cannot be used together");
  }
  if (o.id.size() > 65535) {
    throw UsageError("-i: client id is longer than 65535 bytes");
  }
  if (o.disable_clean_session && o.id.empty()) {
    throw UsageError("-c: a persistent session needs a client id; give one with -i");
  }
  if (o.mqtt_version == 5 && o.id.empty() && o.session_expiry_seconds == 4294967295u) {
    // mosquitto: an infinite session expiry needs a client id (-I is not enough).
    throw UsageError("-x: a session that never expires needs a client id; give one with -i");
  }
  if (o.id.empty()) {
    o.id = o.id_prefix.empty() ? default_client_id(tool) : fmt::format("{}{}", o.id_prefix, ::getpid());
  }
  if (!o.will_topic.empty()) {
    validate_publish_topic(o.will_topic, "--will-topic");
  } else if (o.will_payload || o.will_retain || o.will_qos != 0) {
    throw UsageError("--will-payload, --will-qos and --will-retain need --will-topic");
  }
  if (!o.tls_version.empty() && o.tls_version != "tlsv1.3" && o.tls_version != "tlsv1.2" && o.tls_version != "tlsv1.1") {
    throw UsageError(fmt::format("--tls-version: unknown version '{}' (expected tlsv1.3, tlsv1.2 or tlsv1.1)",
                                 o.tls_version));
  }
  if ((!o.cert.empty()) != (!o.key.empty())) {
    throw UsageError("--cert and --key must be given together");
  }
  resolve_psk(o);
  check_readable(o.cafile, "--cafile", false);
  check_readable(o.capath, "--capath", true);
  check_readable(o.cert, "--cert", false);
  check_readable(o.key, "--key", false);
}

std::string parse_psk(std::string_view hex)
{
  if (hex.empty()) {
    throw UsageError("--psk: empty key (give the key in hex, as in the broker's psk_file)");
  }
  const auto digit = &hex_digit_value;
  for (std::size_t i = 0; i < hex.size(); ++i) {
    if (digit(hex[i]) < 0) {
      throw UsageError(fmt::format("--psk: character {} of the key is not a hex digit (0-9, a-f)", i + 1));
    }
  }
  std::string key;
  std::size_t zero_pairs = 0;
  while (2 * zero_pairs + 1 < hex.size() && hex.substr(2 * zero_pairs, 2) == "00") {
    ++zero_pairs;
  }
  key.assign(zero_pairs, '\0');
  std::string_view rest = hex.substr(std::min(hex.find_first_not_of('0'), hex.size()));
  std::size_t i = 0;
  if (rest.size() % 2 == 1) {
    key.push_back(static_cast<char>(digit(rest[0])));
    i = 1;
  }
  for (; i < rest.size(); i += 2) {
    key.push_back(static_cast<char>(digit(rest[i]) * 16 + digit(rest[i + 1])));
  }
  if (key.size() > 512) {
    throw UsageError(fmt::format("--psk: the key has {} bytes; OpenSSL takes at most 512", key.size()));
  }
  return key;
}

std::string endpoint_text(const ConnectionOptions& o)
{
  if (o.host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", o.host, o.port);
  }
  return fmt::format("{}:{}", o.host, o.port);
}

std::string server_uri(const ConnectionOptions& o)
{
  std::string_view scheme = "tcp";
  switch (o.transport) {
  case Transport::mqtt: scheme = "tcp"; break;
  case Transport::mqtts: scheme = "ssl"; break;
  case Transport::ws: scheme = "ws"; break;
  case Transport::wss: scheme = "wss"; break;
  }
  return fmt::format("{}://{}{}", scheme, endpoint_text(o), o.ws_path);
}

} // namespace mqtk
