#pragma once

#include "mqtk/connection/options.hpp"

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

struct mosquitto;

namespace mqtk {

// One libmosquitto client driven from mqtk-bench's own event loop
// (ARCHITECTURE.md, "mqtk-bench's engine"): non-blocking, never threaded.
// The only file that includes <mosquitto.h>. Callbacks arrive on the
// caller's thread, from read(), write() and misc().
class MosquittoClient
{
public:
  class Events
  {
  public:
    virtual ~Events() = default;
    // CONNACK: 0 accepted, else the refusal's code (MQTT 5 reason codes
    // at -V 5).
    virtual void on_connack(int code) = 0;
    // PUBACK (QoS 1) or PUBCOMP (QoS 2) of message `mid`; `code` is the
    // MQTT 5 reason code (0 before MQTT 5).
    virtual void on_acknowledged(int mid, int code) = 0;
    virtual void on_message(std::string_view topic, std::string_view payload, int qos, bool retained) = 0;
    // SUBACK: the granted QoS of the first filter (128: refused).
    virtual void on_subscribed(int mid, int granted) = 0;
    // The connection ended (`expected`: after our own disconnect()), `why`
    // in words ("connection lost", "session taken over").
    virtual void on_disconnected(bool expected, const std::string& why) = 0;
  };

  // Process-wide setup, once before the first client.
  static void initialise_library();
  // A CONNACK refusal in words ("not authorised").
  static std::string refusal_text(int code, int mqtt_version);
  // A system error number in words, as the client's other errors read
  // ("connection refused").
  static std::string system_error_text(int errnum);
  // "libmosquitto 2.0.11" for --version.
  static std::string library_version();

  // A client with `id` for the broker in `options` (resolved: TLS files,
  // credentials, protocol, keepalive, -M as the in-flight limit). Throws
  // Error naming what libmosquitto refused (a CA file it cannot load, ...).
  MosquittoClient(const ConnectionOptions& options, const std::string& id, bool clean_session, Events& events);
  ~MosquittoClient();
  MosquittoClient(const MosquittoClient&) = delete;
  MosquittoClient& operator=(const MosquittoClient&) = delete;

  // Starts connecting (the name is resolved here, blocking; the TCP
  // connect and the CONNECT go on in the loop). Returns "" or why it could
  // not start ("connection refused", "unknown host").
  std::string connect();
  // The socket, -1 when not connected.
  int fd() const noexcept;
  // Whether bytes are waiting to be written (watch the socket for output).
  bool want_write() const noexcept;

  // Handles what the socket has to read, up to `max_packets` packets; then
  // writes, or keeps keepalives. Each returns "" or why the connection
  // ended (the client then counts as disconnected).
  std::string read(int max_packets);
  std::string write();
  std::string misc();

  // Queues a PUBLISH; returns its message id, or -1 with `error` set.
  int publish(const std::string& topic, std::string_view payload, int qos, bool retain, std::string& error);
  // Queues a SUBSCRIBE; returns its message id, or -1 with `error` set.
  int subscribe(const std::string& filter, int qos, std::string& error);
  // Sends DISCONNECT (the socket closes once it is written).
  void disconnect();

  // How many packets the last read() handled.
  int packets_read() const noexcept { return m_packets; }

  // Called from libmosquitto's callbacks (not for other uses).
  Events& events() noexcept { return m_events; }
  void count_packet() noexcept { ++m_packets; }
  bool disconnecting() const noexcept { return m_disconnecting; }
  // An exception from a callback, rethrown by read(), write() or misc()
  // once libmosquitto has returned.
  void keep_exception(std::exception_ptr e) noexcept
  {
    if (!m_exception) {
      m_exception = e;
    }
  }

private:
  struct mosquitto* m_mosq = nullptr;
  Events& m_events;
  const ConnectionOptions& m_options;
  void rethrow_pending();

  int m_packets = 0;
  bool m_disconnecting = false;
  std::exception_ptr m_exception;
};

} // namespace mqtk
