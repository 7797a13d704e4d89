#include "mqtk/bench/mosquitto_client.hpp"

#include "mqtk/bench/descriptor_budget.hpp"
#include "mqtk/process/error.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

namespace mqtk {

namespace {

// "Connection refused" as "connection refused", to follow "...: " in a
// message; a word in capitals ("TLS") stays.
std::string lower_first(std::string text)
{
  if (text.size() >= 2 && text[0] >= 'A' && text[0] <= 'Z' && !(text[1] >= 'A' && text[1] <= 'Z')) {
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  }
  return text;
}

// libmosquitto's error as a human phrase; its own texts for errno-based
// errors carry no errno, so take strerror then.
std::string error_text(int rc)
{
  switch (rc) {
  case MOSQ_ERR_ERRNO:
    return lower_first(std::strerror(errno));
  case MOSQ_ERR_CONN_LOST:
    return "connection lost";
  case MOSQ_ERR_NO_CONN:
    return "not connected";
  case MOSQ_ERR_KEEPALIVE:
    return "no answer within the keepalive";
  case MOSQ_ERR_EAI:
    return "unknown host";
  default:
    return mosquitto_strerror(rc);
  }
}

// Calls `f` with the client of `userdata`. An exception (bad_alloc, an
// Error) must not unwind through libmosquitto's C frames: it is kept and
// rethrown once libmosquitto has returned (rethrow_pending).
template <typename F>
void deliver(void* userdata, F&& f) noexcept
{
  auto& client = *static_cast<MosquittoClient*>(userdata);
  try {
    f(client);
  } catch (...) {
    client.keep_exception(std::current_exception());
  }
}

void on_connect(struct mosquitto*, void* userdata, int rc, int, const mosquitto_property*)
{
  deliver(userdata, [&](MosquittoClient& c) {
    c.count_packet();
    c.events().on_connack(rc);
  });
}

void on_publish(struct mosquitto*, void* userdata, int mid, int reason, const mosquitto_property*)
{
  deliver(userdata, [&](MosquittoClient& c) {
    c.count_packet();
    c.events().on_acknowledged(mid, reason);
  });
}

void on_message(struct mosquitto*, void* userdata, const struct mosquitto_message* m, const mosquitto_property*)
{
  deliver(userdata, [&](MosquittoClient& c) {
    c.count_packet();
    c.events().on_message(
      m->topic ? std::string_view(m->topic) : std::string_view(),
      std::string_view(static_cast<const char*>(m->payload), static_cast<std::size_t>(m->payloadlen)), m->qos,
      m->retain);
  });
}

void on_subscribe(struct mosquitto*, void* userdata, int mid, int count, const int* granted, const mosquitto_property*)
{
  deliver(userdata, [&](MosquittoClient& c) {
    c.count_packet();
    c.events().on_subscribed(mid, count > 0 ? granted[0] : 128);
  });
}

void on_disconnect(struct mosquitto*, void* userdata, int rc, const mosquitto_property*)
{
  deliver(userdata, [&](MosquittoClient& c) {
    // An MQTT 5 DISCONNECT from the broker carries its reason code (128
    // and up); anything else is libmosquitto's own error.
    c.events().on_disconnected(c.disconnecting(),
                               rc >= 128 ? "the broker disconnected: " + MosquittoClient::refusal_text(rc, 5)
                               : rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_SUCCESS ? std::string("the broker closed the connection")
                                                                                    : error_text(rc));
  });
}

} // namespace

void MosquittoClient::initialise_library()
{
  mosquitto_lib_init();
}

std::string MosquittoClient::refusal_text(int code, int mqtt_version)
{
  if (mqtt_version != 5) {
    switch (code) {
    case 1:
      return "unacceptable protocol version";
    case 2:
      return "client identifier rejected";
    case 3:
      return "server unavailable";
    case 4:
      return "bad user name or password";
    case 5:
      return "not authorised";
    default:
      return "refused";
    }
  }
  return lower_first(mosquitto_reason_string(code));
}

std::string MosquittoClient::system_error_text(int errnum)
{
  return lower_first(std::strerror(errnum));
}

std::string MosquittoClient::library_version()
{
  int major = 0;
  int minor = 0;
  int revision = 0;
  mosquitto_lib_version(&major, &minor, &revision);
  return fmt::format("libmosquitto {}.{}.{}", major, minor, revision);
}

MosquittoClient::MosquittoClient(const ConnectionOptions& o, const std::string& id, bool clean_session,
                                 Events& events)
  : m_events(events),
    m_options(o)
{
  {
    // mosquitto_new() opens a socketpair for a threaded loop this client
    // never runs: made impossible, each connection costs one descriptor
    // (descriptor_budget.hpp). Only around mosquitto_new: the TLS setup
    // below opens the CA file.
    NoNewDescriptors one_descriptor_each;
    m_mosq = mosquitto_new(id.c_str(), clean_session, this);
  }
  if (m_mosq == nullptr) {
    throw Error(exit_code::failure, fmt::format("cannot create client {}: {}", id, std::strerror(errno)));
  }
  auto check = [&](int rc, std::string_view what) {
    if (rc != MOSQ_ERR_SUCCESS) {
      mosquitto_destroy(m_mosq);
      throw Error(exit_code::failure, fmt::format("{}: {}", what, error_text(rc)));
    }
  };
  const int version = o.mqtt_version == 5 ? MQTT_PROTOCOL_V5 : o.mqtt_version == 3 ? MQTT_PROTOCOL_V31 : MQTT_PROTOCOL_V311;
  check(mosquitto_int_option(m_mosq, MOSQ_OPT_PROTOCOL_VERSION, version), "-V");
  check(mosquitto_int_option(m_mosq, MOSQ_OPT_SEND_MAXIMUM, o.max_inflight), "-M");
  check(mosquitto_int_option(m_mosq, MOSQ_OPT_TCP_NODELAY, 1), "TCP_NODELAY");
  if (o.username || o.password) {
    check(mosquitto_username_pw_set(m_mosq, o.username ? o.username->c_str() : nullptr,
                                    o.password ? o.password->c_str() : nullptr),
          "-u/-P");
  }
  if (!o.will_topic.empty()) {
    const std::string payload = o.will_payload.value_or("");
    check(mosquitto_will_set(m_mosq, o.will_topic.c_str(), static_cast<int>(payload.size()), payload.data(),
                             o.will_qos, o.will_retain),
          "--will-topic");
  }
  if (o.tls) {
    const char* cafile = o.cafile.empty() ? nullptr : o.cafile.c_str();
    const char* capath = o.capath.empty() ? nullptr : o.capath.c_str();
    if (!o.psk.empty()) {
      // libmosquitto turns the hex into bytes as resolve()'s parse_psk does.
      check(mosquitto_tls_psk_set(m_mosq, o.psk.c_str(), o.psk_identity.c_str(), nullptr), "--psk");
    } else if (cafile == nullptr && capath == nullptr) {
      // mqtts:// without CA files: the system's trust store, as the
      // other tools do.
      check(mosquitto_int_option(m_mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1), "--tls-use-os-certs");
    } else {
      check(mosquitto_tls_set(m_mosq, cafile, capath, o.cert.empty() ? nullptr : o.cert.c_str(),
                              o.key.empty() ? nullptr : o.key.c_str(), nullptr),
            "TLS files (--cafile, --capath, --cert, --key)");
      if (o.tls_use_os_certs) {
        check(mosquitto_int_option(m_mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1), "--tls-use-os-certs");
      }
    }
    check(mosquitto_tls_opts_set(m_mosq, 1, o.tls_version.empty() ? nullptr : o.tls_version.c_str(),
                                 o.ciphers.empty() ? nullptr : o.ciphers.c_str()),
          "--tls-version/--ciphers");
    if (o.insecure) {
      check(mosquitto_tls_insecure_set(m_mosq, true), "--insecure");
    }
    if (!o.tls_alpn.empty()) {
      check(mosquitto_string_option(m_mosq, MOSQ_OPT_TLS_ALPN, o.tls_alpn.c_str()), "--tls-alpn");
    }
  }
  mosquitto_connect_v5_callback_set(m_mosq, on_connect);
  mosquitto_publish_v5_callback_set(m_mosq, on_publish);
  mosquitto_message_v5_callback_set(m_mosq, on_message);
  mosquitto_subscribe_v5_callback_set(m_mosq, on_subscribe);
  mosquitto_disconnect_v5_callback_set(m_mosq, on_disconnect);
}

MosquittoClient::~MosquittoClient()
{
  mosquitto_destroy(m_mosq);
}

void MosquittoClient::rethrow_pending()
{
  if (m_exception) {
    std::rethrow_exception(std::exchange(m_exception, nullptr));
  }
}

std::string MosquittoClient::connect()
{
  errno = 0;
  const int rc = mosquitto_connect_bind_async(m_mosq, m_options.host.c_str(), m_options.port, m_options.keepalive,
                                              m_options.bind_address.empty() ? nullptr : m_options.bind_address.c_str());
  if (rc == MOSQ_ERR_SUCCESS) {
    return {};
  }
  if (rc == MOSQ_ERR_ERRNO && errno == 0) {
    return "unknown host";
  }
  return error_text(rc);
}

int MosquittoClient::fd() const noexcept
{
  return mosquitto_socket(m_mosq);
}

bool MosquittoClient::want_write() const noexcept
{
  return mosquitto_want_write(m_mosq);
}

std::string MosquittoClient::read(int max_packets)
{
  m_packets = 0;
  // One packet per call in libmosquitto 2.0: call again while it handled
  // one (counted by the callbacks) and more may be buffered.
  for (int i = 0; i < max_packets; ++i) {
    const int before = m_packets;
    errno = 0;
    const int rc = mosquitto_loop_read(m_mosq, 1);
    rethrow_pending();
    if (rc != MOSQ_ERR_SUCCESS) {
      return error_text(rc);
    }
    if (m_packets == before) {
      break;
    }
  }
  return {};
}

std::string MosquittoClient::write()
{
  errno = 0;
  const int rc = mosquitto_loop_write(m_mosq, 1);
  rethrow_pending();
  return rc == MOSQ_ERR_SUCCESS ? std::string() : error_text(rc);
}

std::string MosquittoClient::misc()
{
  const int rc = mosquitto_loop_misc(m_mosq);
  rethrow_pending();
  return rc == MOSQ_ERR_SUCCESS ? std::string() : error_text(rc);
}

int MosquittoClient::publish(const std::string& topic, std::string_view payload, int qos, bool retain,
                             std::string& error)
{
  int mid = 0;
  errno = 0;
  const int rc = mosquitto_publish(m_mosq, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(),
                                   qos, retain);
  rethrow_pending(); // a QoS 0 message written at once is reported at once
  if (rc != MOSQ_ERR_SUCCESS) {
    error = error_text(rc);
    return -1;
  }
  return mid;
}

int MosquittoClient::subscribe(const std::string& filter, int qos, std::string& error)
{
  int mid = 0;
  const int rc = mosquitto_subscribe(m_mosq, &mid, filter.c_str(), qos);
  rethrow_pending();
  if (rc != MOSQ_ERR_SUCCESS) {
    error = error_text(rc);
    return -1;
  }
  return mid;
}

void MosquittoClient::disconnect()
{
  m_disconnecting = true;
  mosquitto_disconnect(m_mosq);
}

} // namespace mqtk
