#include "mqtk/connection.hpp"

#include "mqtk/error.hpp"

#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>
// Paho C++ 1.2.0 exposes a received message's packet id (needed for -F %m)
// only through c_struct(), which its header compiles in under UNIT_TESTS;
// the macro adds inline accessors and changes no class layout.
#define UNIT_TESTS 1
#include <mqtt/async_client.h>
#include <openssl/crypto.h>

extern "C" {
#include <MQTTAsync.h>
}

// Paho MQTT C 1.3 has two fixed waits that dominate a one-shot client's
// run time (measured with strace -f -tt; see README "Speed"):
//  - MQTTAsync_receiveThread starts with a 10 ms read-poll timeout, and
//    Socket_getReadySocket blocks in that poll even when the connecting
//    socket is already writable, so CONNECT leaves 10 ms late;
//  - MQTTAsync_cycle sleeps 100 ms (usleep) whenever no socket exists yet,
//    which is the case when the receive thread wins the race against the
//    send thread's connect(): a 100 ms straggler in a third of the runs.
// Paho calls poll() and usleep() through the PLT, so these definitions
// (exported from the executable, see CMakeLists.txt) take their place for
// Paho only: 10 ms is Paho's first-cycle value and nothing else in mqtk
// polls with it; 100 ms and longer sleeps are Paho's idle waits, cut to
// 100 us so the thread notices the new socket at once. Delivery is
// unchanged: success is still reported only after the broker's ack or the
// socket write. A fixed Paho would make both unnecessary.
extern "C" int __poll(struct pollfd* fds, nfds_t nfds, int timeout);

extern "C" int poll(struct pollfd* fds, nfds_t nfds, int timeout)
{
  return __poll(fds, nfds, timeout == 10 ? 0 : timeout);
}

extern "C" int usleep(useconds_t microseconds)
{
  if (microseconds >= 100000) {
    microseconds = 100;
  }
  timespec ts{static_cast<time_t>(microseconds / 1000000), static_cast<long>(microseconds % 1000000) * 1000};
  return nanosleep(&ts, nullptr);
}

namespace mqtk {

namespace {

// QoS 0 deliveries complete when written; keep at most this many tokens
// around before waiting on the oldest, so memory stays flat on long streams.
constexpr std::size_t qos0_window = 4096;
// Paho counts every queued publish against maxBufferedMessages (default
// 100), connected or not; leave room for the QoS 0 window.
constexpr int max_buffered = 2 * static_cast<int>(qos0_window);

std::string_view connack_reason_v3(int rc)
{
  switch (rc) {
  case 1: return "unacceptable protocol version";
  case 2: return "identifier rejected";
  case 3: return "server unavailable";
  case 4: return "bad user name or password";
  case 5: return "not authorised";
  default: return "refused";
  }
}

// Paho reports a failed TCP connect without errno; on that (rare) path we
// look the host up and try once more ourselves to name the real cause.
std::string diagnose_network_failure(const ConnectionOptions& o)
{
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  int rc = ::getaddrinfo(o.host.c_str(), std::to_string(o.port).c_str(), &hints, &result);
  if (rc != 0) {
    return fmt::format("unknown host ({})", ::gai_strerror(rc));
  }
  std::string reason = "connection failed";
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      reason = o.tls ? "TLS handshake failed or the broker closed the connection"
                     : "the broker closed the connection without answering";
      ::close(fd);
      break;
    }
    reason = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(result);
  return reason;
}

// Paho initialises OpenSSL eagerly for every client; plain TCP clients skip
// it (OpenSSL initialises itself if a TLS connection is made later).
void global_init(const ConnectionOptions& o)
{
  static bool done = false;
  if (!done) {
    MQTTAsync_init_options init = MQTTAsync_init_options_initializer;
    init.do_openssl_init = o.tls ? 1 : 0;
    MQTTAsync_global_init(&init);
    done = true;
  }
}

} // namespace

struct Connection::Impl
{
  const ConnectionOptions& options;
  std::string tool;
  mqtt::async_client client;
  MessageHandler message_handler;
  LostHandler lost_handler;
  std::deque<mqtt::delivery_token_ptr> pending;
  int pending_qos = 0;

  Impl(const ConnectionOptions& o, std::string_view tool_name)
    : options((global_init(o), o)),
      tool(tool_name),
      // No persistence object: Paho then keeps in-flight state in memory and
      // writes nothing to the working directory.
      client(server_uri(o), o.id, mqtt::create_options(o.mqtt_version == 5 ? MQTTVERSION_5 : MQTTVERSION_DEFAULT, max_buffered),
             nullptr)
  {
  }

  template <typename... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args)
  {
    if (options.debug) {
      fmt::print(stderr, "Client {} {}\n", options.id, fmt::format(format, std::forward<Args>(args)...));
    }
  }

  Error translate_connect_failure(const mqtt::exception& e)
  {
    int rc = e.get_return_code();
    int reason = e.get_reason_code();
    std::string where = endpoint_text(options);
    debug("connect failed: rc {}, reason code {}, {}", rc, reason, e.what());
    // Paho 1.3 reports a v5 CONNACK refusal as the return code, with the
    // reason code left at 0; accept it in either place.
    if (options.mqtt_version == 5 && reason < 0x80 && rc >= 0x80 && rc <= 0xff) {
      reason = rc;
    }
    if (options.mqtt_version == 5 && reason >= 0x80) {
      return Error(reason, fmt::format("broker at {} refused the connection: {} (reason code {})", where,
                                       mqtt::exception::reason_code_str(reason), reason));
    }
    if (rc >= 1 && rc <= 5) {
      return Error(rc, fmt::format("broker at {} refused the connection: {} (CONNACK {})", where,
                                   connack_reason_v3(rc), rc));
    }
    if (rc == MQTTASYNC_BAD_UTF8_STRING || rc == MQTTASYNC_NULL_PARAMETER) {
      return Error(exit_code::failure, fmt::format("cannot connect to {}: {}", where, e.get_error_str()));
    }
    return Error(exit_code::failure, fmt::format("cannot connect to {}: {}", where, diagnose_network_failure(options)));
  }

  Error translate(const mqtt::exception& e, std::string_view doing)
  {
    std::string detail = e.get_error_str();
    if (e.get_reason_code() >= 0x80) {
      detail = fmt::format("{} (reason code {})", mqtt::exception::reason_code_str(e.get_reason_code()),
                           e.get_reason_code());
    }
    if (!client.is_connected()) {
      detail = "connection lost";
    }
    return Error(exit_code::failure, fmt::format("{} on {} failed: {}", doing, endpoint_text(options), detail));
  }

  mqtt::connect_options build_connect_options()
  {
    const auto& o = options;
    mqtt::connect_options_builder b;
    // The version first: Paho then clears the clean flag that does not
    // apply to it (clean session for 3.x, clean start for 5).
    b.mqtt_version(o.mqtt_version == 3 ? MQTTVERSION_3_1 : o.mqtt_version == 4 ? MQTTVERSION_3_1_1 : MQTTVERSION_5);
    b.keep_alive_interval(std::chrono::seconds(o.keepalive));
    b.connect_timeout(std::chrono::seconds(static_cast<long>(std::max(1.0, o.connect_timeout))));
    b.max_inflight(o.max_inflight);
    b.automatic_reconnect(false);
    if (o.mqtt_version == 5) {
      b.clean_start(!o.disable_clean_session);
      // mosquitto: -c alone means a session that never expires.
      std::uint32_t expiry = o.session_expiry_seconds.value_or(o.disable_clean_session ? 4294967295u : 0u);
      if (expiry != 0) {
        mqtt::properties props;
        props.add(mqtt::property(mqtt::property::SESSION_EXPIRY_INTERVAL, static_cast<int>(expiry)));
        b.properties(props);
      }
    } else {
      b.clean_session(!o.disable_clean_session);
    }
    if (o.username) {
      b.user_name(*o.username);
    }
    if (o.password) {
      b.password(*o.password);
    }
    if (!o.will_topic.empty()) {
      std::string payload = o.will_payload.value_or("");
      b.will(mqtt::will_options(o.will_topic, payload.data(), payload.size(), o.will_qos, o.will_retain));
    }
    if (o.tls) {
      mqtt::ssl_options ssl;
      ssl.set_enable_server_cert_auth(true);
      // Paho's "verify" is the host name check; on unless --insecure.
      ssl.set_verify(!o.insecure);
      if (!o.cafile.empty()) {
        ssl.set_trust_store(o.cafile);
      }
      if (!o.capath.empty()) {
        ssl.ca_path(o.capath);
      }
      if (!o.cert.empty()) {
        ssl.set_key_store(o.cert);
        ssl.set_private_key(o.key);
      }
      if (!o.ciphers.empty()) {
        ssl.set_enabled_cipher_suites(o.ciphers);
      }
      if (o.tls_version == "tlsv1.2") {
        ssl.set_ssl_version(MQTT_SSL_VERSION_TLS_1_2);
      } else if (o.tls_version == "tlsv1.1") {
        ssl.set_ssl_version(MQTT_SSL_VERSION_TLS_1_1);
      }
      if (!o.tls_alpn.empty()) {
        ssl.set_alpn_protos({o.tls_alpn});
      }
      b.ssl(std::move(ssl));
    }
    return b.finalize();
  }

  void reap_completed()
  {
    while (!pending.empty() && pending.front()->is_complete()) {
      auto token = std::move(pending.front());
      pending.pop_front();
      token->wait(); // throws if that delivery failed
    }
  }
};

Connection::Connection(const ConnectionOptions& options, std::string_view tool)
  : m_impl(std::make_unique<Impl>(options, tool))
{
}

Connection::~Connection() = default;

void Connection::on_message(MessageHandler handler)
{
  m_impl->message_handler = std::move(handler);
  m_impl->client.set_message_callback([impl = m_impl.get()](mqtt::const_message_ptr msg) {
    const auto& payload = msg->get_payload_ref();
    Message m;
    m.topic = msg->get_topic();
    m.payload.assign(payload.data(), payload.size());
    m.qos = msg->get_qos();
    m.retain = msg->is_retained();
    m.mid = msg->c_struct().msgid;
    impl->message_handler(std::move(m));
  });
}

void Connection::on_connection_lost(LostHandler handler)
{
  m_impl->lost_handler = std::move(handler);
  m_impl->client.set_connection_lost_handler([impl = m_impl.get()](const std::string& cause) {
    impl->debug("connection lost{}{}", cause.empty() ? "" : ": ", cause);
    if (impl->lost_handler) {
      impl->lost_handler(cause.empty() ? std::string("connection lost") : cause);
    }
  });
}

void Connection::connect()
{
  auto& impl = *m_impl;
  impl.debug("sending CONNECT to {} (MQTT {}, keepalive {}, clean {})", endpoint_text(impl.options),
             impl.options.mqtt_version == 3 ? "3.1" : impl.options.mqtt_version == 4 ? "3.1.1" : "5",
             impl.options.keepalive, impl.options.disable_clean_session ? 0 : 1);
  try {
    impl.client.connect(impl.build_connect_options())->wait();
  } catch (const mqtt::exception& e) {
    throw impl.translate_connect_failure(e);
  }
  impl.debug("received CONNACK (0)");
}

void Connection::publish(std::string_view topic, std::string_view payload, int qos, bool retain)
{
  auto& impl = *m_impl;
  try {
    std::size_t window = qos == 0 ? qos0_window : static_cast<std::size_t>(impl.options.max_inflight);
    if (impl.pending.size() >= window) {
      impl.reap_completed();
      while (impl.pending.size() >= window) {
        auto token = std::move(impl.pending.front());
        impl.pending.pop_front();
        token->wait();
      }
    }
    if (impl.options.debug) {
      impl.debug("sending PUBLISH (q{}, r{}, '{}', ... ({} bytes))", qos, retain ? 1 : 0, topic, payload.size());
    }
    impl.pending.push_back(
      impl.client.publish(std::string(topic), payload.data(), payload.size(), qos, retain));
  } catch (const mqtt::exception& e) {
    throw impl.translate(e, "publish");
  }
}

void Connection::flush()
{
  auto& impl = *m_impl;
  try {
    while (!impl.pending.empty()) {
      auto token = std::move(impl.pending.front());
      impl.pending.pop_front();
      token->wait();
    }
  } catch (const mqtt::exception& e) {
    throw impl.translate(e, "publish");
  }
}

std::vector<int> Connection::subscribe(const std::vector<std::string>& filters, int qos)
{
  auto& impl = *m_impl;
  std::vector<int> granted;
  if (filters.empty()) {
    return granted;
  }
  try {
    auto topics = mqtt::string_collection::create(filters);
    mqtt::iasync_client::qos_collection qoss(filters.size(), qos);
    for (const auto& f : filters) {
      impl.debug("sending SUBSCRIBE ('{}', QoS {})", f, qos);
    }
    auto token = impl.client.subscribe(topics, qoss);
    token->wait();
    auto response = token->get_subscribe_response();
    for (auto code : response.get_reason_codes()) {
      granted.push_back(static_cast<int>(code));
    }
    impl.debug("received SUBACK");
  } catch (const mqtt::exception& e) {
    throw impl.translate(e, "subscribe");
  }
  return granted;
}

void Connection::unsubscribe(const std::vector<std::string>& filters)
{
  auto& impl = *m_impl;
  if (filters.empty()) {
    return;
  }
  try {
    for (const auto& f : filters) {
      impl.debug("sending UNSUBSCRIBE ('{}')", f);
    }
    impl.client.unsubscribe(mqtt::string_collection::create(filters))->wait();
    impl.debug("received UNSUBACK");
  } catch (const mqtt::exception& e) {
    throw impl.translate(e, "unsubscribe");
  }
}

void Connection::disconnect() noexcept
{
  auto& impl = *m_impl;
  try {
    if (impl.client.is_connected()) {
      impl.debug("sending DISCONNECT");
      impl.client.disconnect()->wait();
    }
  } catch (const mqtt::exception& e) {
    impl.debug("DISCONNECT failed: {}", e.get_error_str());
  }
}

bool Connection::is_connected() const noexcept
{
  return m_impl->client.is_connected();
}

std::string library_versions()
{
  std::string paho_c = "unknown";
  if (MQTTAsync_nameValue* info = MQTTAsync_getVersionInfo()) {
    for (auto* nv = info; nv->name != nullptr; ++nv) {
      if (std::strcmp(nv->name, "Version") == 0) {
        paho_c = nv->value;
      }
    }
  }
  return fmt::format("Paho MQTT C++ {}.{}.{}, Paho MQTT C {}, {}", (mqtt::VERSION >> 24) & 0xff,
                     (mqtt::VERSION >> 16) & 0xff, (mqtt::VERSION >> 8) & 0xff, paho_c, OpenSSL_version(OPENSSL_VERSION));
}

} // namespace mqtk
