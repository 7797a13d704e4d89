#pragma once

#include "mqtk/connection/broker_url.hpp"
#include "mqtk/mqtt/properties.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace mqtk {

// Everything a tool needs to reach a broker. Filled by the shared option
// group (add_connection_options) and completed by resolve().
struct ConnectionOptions
{
  std::string host = "localhost";
  int port = 0; // 0: the transport's default
  std::string url;
  std::string id;
  std::string id_prefix;
  int keepalive = 60;
  bool disable_clean_session = false;
  std::string session_expiry; // as typed; see session_expiry_seconds
  std::string protocol_version; // as typed; "" when -V was not given (3.1.1, or 5 with -D)
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::string password_file; // --pw-file
  // Where the user name and password came from, for messages ("-u", "-L",
  // "MQTK_USERNAME"; "-P", "--pw-file", "-L", "MQTK_PASSWORD"); set by
  // resolve(), empty when not given.
  std::string username_from;
  std::string password_from;
  std::string will_topic;
  std::optional<std::string> will_payload;
  int will_qos = 0;
  bool will_retain = false;
  bool debug = false;
  bool quiet = false;
  double connect_timeout = 30.0;
  int max_inflight = 20;
  bool nodelay = false;

  // Reconnecting (tools with ConnectionFlags::reconnects): --no-reconnect,
  // --reconnect-timeout (0: try for ever), --max-buffer (QoS 1/2 messages
  // held unacknowledged, mqtk-pub -l).
  bool no_reconnect = false;
  double reconnect_timeout = 0;
  int max_buffer = 10000;
  // Set by the tool before connecting: whether this connection reconnects
  // after a loss (mqtk-sub, mqtk-pub -l) instead of failing.
  bool reconnect = false;

  // TLS (mqtts:// or wss:// in -L, or --cafile/--capath/--tls-use-os-certs).
  std::string cafile;
  std::string capath;
  std::string cert;
  std::string key;
  std::string keyform;
  std::string ciphers;
  std::string tls_version;
  std::string tls_alpn;
  bool insecure = false;
  bool tls_use_os_certs = false;
  std::string psk;          // --psk as typed (hex); blanked in argv like -P
  std::string psk_identity; // --psk-identity
  std::string psk_key;      // --psk's bytes, filled by resolve()

  // Accepted for mosquitto compatibility, refused by check_supported().
  std::string bind_address;
  std::string unix_socket;
  std::string proxy;
  std::string tls_engine;
  std::string tls_engine_kpass_sha1;
  std::vector<std::string> properties; // the words of every -D, see property_set

  // Filled by resolve():
  Transport transport = Transport::mqtt;
  std::string ws_path;
  int mqtt_version = 4; // 3 = 3.1, 4 = 3.1.1, 5 = 5
  PropertySet property_set; // -D, checked (connect's session expiry moved to session_expiry_seconds)
  std::optional<std::uint32_t> session_expiry_seconds;
  std::optional<std::string> url_topic;
  bool tls = false;
};

// Which of the shared connection flags a tool takes. mqtk-bench, whose
// clients are many and always start clean, leaves out the client id and the
// session flags, and its -c and -D mean clients and duration.
struct ConnectionFlags
{
  bool client_id = true; // -i
  bool session = true;   // -c, -x
  bool short_property = true; // -D as well as --property
  // The client library behind the tool, as refusals name it, and what it
  // can do that Paho MQTT C cannot.
  std::string_view engine = "Paho MQTT C";
  bool binds = false;        // -A
  bool properties = true;    // -D is taken (refused as not supported otherwise)
  bool reconnects = false;   // --no-reconnect, --reconnect-timeout
  bool buffers = false;      // --max-buffer (a publisher that reconnects)
};

// Declares the connection flags shared by every tool (mosquitto's names and
// meanings) in an option group of `app`. The app's help flag must already be
// "--help" only, since -h is the host.
void add_connection_options(CLI::App& app, ConnectionOptions& options, ConnectionFlags flags = {});

// Validates and completes options after parsing: applies -L, the protocol
// version, session expiry, default port and client id. `tool` ("mqtk-pub")
// seeds the default client id. Throws UsageError before anything connects.
// `flags` as given to add_connection_options.
void resolve(ConnectionOptions& options, std::string_view tool, ConnectionFlags flags = {});

// Parses -V: 31, 311, 5, mqttv31, mqttv311, mqttv5. Returns 3, 4 or 5.
// Throws UsageError.
int parse_protocol_version(std::string_view text);

// Parses -x: 0..4294967294 seconds, or -1, 4294967295, "∞" for never.
// Throws UsageError.
std::uint32_t parse_session_expiry(std::string_view text);

// The bytes of a TLS-PSK key given in hex (--psk), as mosquitto's clients
// and broker turn it into bytes (so that the same text gives the same key
// on both sides): each leading "00" pair is a zero byte, the rest is the
// number's big-endian bytes (an odd number of digits takes a leading 0).
// Throws UsageError: empty, a character that is not a hex digit (named with
// its position, the key itself never shown), longer than OpenSSL's 512
// bytes.
std::string parse_psk(std::string_view hex);

// "host:port" for messages, with IPv6 hosts in brackets.
std::string endpoint_text(const ConnectionOptions& options);

// The server URI Paho expects ("tcp://host:port", "ssl://...", "ws://host:port/path").
std::string server_uri(const ConnectionOptions& options);

} // namespace mqtk
