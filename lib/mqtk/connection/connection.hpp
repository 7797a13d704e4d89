#pragma once

#include "mqtk/connection/options.hpp"
#include "mqtk/mqtt/message.hpp"
#include "mqtk/process/error.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mqtk {

// One client connection to a broker, on Paho MQTT C's MQTTAsync API. The
// only module that talks to Paho (the OpenSSL build is loaded at run time,
// only for TLS): every Paho error is translated here into mqtk::Error with a
// one-line message naming host:port and the reason, and an exit code
// following mosquitto's clients (1 for network failures and a Paho library
// that cannot be loaded, the CONNACK code when the broker refuses). Paho's
// file persistence is never used.
// MQTT 5 subscription options, the same for every filter of a SUBSCRIBE
// (ignored before MQTT 5).
struct SubscriptionOptions
{
  bool no_local = false;            // not the messages this client publishes
  bool retain_as_published = false; // keep the retain flag of forwarded messages
  int retain_handling = 0;          // 0 retained at subscribe, 1 only if new, 2 none
};

class Connection
{
public:
  // Receives a view of each message; the view is valid only during the call.
  using MessageHandler = std::function<void(const MessageView&)>;
  using LostHandler = std::function<void(const std::string& reason)>;
  // A QoS 1 or 2 publish the broker refused (MQTT 5: reason code 0x80 or
  // more in its PUBACK or PUBREC): topic, reason code, the code's name.
  using RefusedHandler = std::function<void(std::string_view topic, int reason_code, std::string_view reason)>;

  // Loads Paho and creates the client; nothing is sent until connect().
  // `options` must have been resolve()d and must outlive the connection.
  // Throws Error.
  Connection(const ConnectionOptions& options, std::string_view tool);
  // Once connect() was called, Paho's client and threads are left running
  // until the process exits (tearing them down costs up to ~10 ms); the
  // handlers are no longer called.
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Called on Paho's thread for each message received. Set before connect().
  void on_message(MessageHandler handler);

  // Called on the thread that delivers messages whenever everything it had
  // received has been handed to on_message and it is about to wait for
  // more: the place to flush output batched from on_message. Set before
  // connect().
  void on_idle(std::function<void()> handler);

  // Called on Paho's thread when an established connection breaks (a
  // reconnecting connection: on the reconnect thread when it gives up).
  void on_connection_lost(LostHandler handler);

  // Called on Paho's thread for each QoS 1 or 2 publish the broker refuses
  // (only MQTT 5 brokers say so; at 3.1.1 a refused publish is acknowledged
  // like any other). With this handler such a refusal is reported here and
  // counts as completed; without it, it fails the publishes as any delivery
  // failure does. Set before connect().
  void on_publish_refused(RefusedHandler handler);

  using Deadline = std::optional<std::chrono::steady_clock::time_point>;

  // Connects and waits for CONNACK, at most --connect-timeout (then Error,
  // exit 1, saying whether the TCP connection was made) and at most until
  // `deadline` (then Error with exit_code::timeout and the text "while
  // connecting to HOST:PORT", for the caller to complete). Throws Error.
  void connect(Deadline deadline = {});

  // Queues a message. At QoS 1 and 2 at most -M messages are unacknowledged
  // at once: this call waits for the oldest when the window is full. Throws
  // Error when a delivery failed.
  // `more_follows`: the caller is about to publish another QoS 0 message at
  // once; at QoS 0 Paho then reports this message's write together with that
  // later one (flush() covers it only then). Pass false for the last QoS 0
  // message of a burst and for one followed by QoS 1 or 2.
  // From a message handler (Paho's receiving thread) it never waits: the
  // message is queued, in order, for a thread of the connection's own, and
  // a failure is reported by flush().
  // Past `deadline`, a wait for the window throws Error with
  // exit_code::timeout and the text "while waiting for HOST:PORT to
  // acknowledge what was published".
  void publish(std::string_view topic, std::string_view payload, int qos, bool retain, bool more_follows = false,
               Deadline deadline = {});

  // Waits until every queued message was written (QoS 0) or acknowledged
  // (QoS 1 and 2), those queued from a message handler included. Throws
  // Error (also when the connection breaks first); past `deadline`, with
  // exit_code::timeout and the text "while waiting for HOST:PORT to
  // acknowledge what was published". Not from a handler.
  void flush(Deadline deadline = {});

  // Subscribes to every filter at `qos` and waits for SUBACK. Returns the
  // granted QoS per filter (128 or more: refused, also when it is the only
  // filter). Throws Error; past `deadline`, with exit_code::timeout and the
  // text "while subscribing on HOST:PORT".
  std::vector<int> subscribe(const std::vector<std::string>& filters, int qos, Deadline deadline = {},
                             const SubscriptionOptions& subscription = {});

  // The name of an MQTT 5 reason code ("Not authorized" for 135), "" when
  // unknown.
  std::string reason_name(int code) const;

  // Unsubscribes and waits for UNSUBACK. Throws Error; past `deadline` as
  // subscribe() does.
  void unsubscribe(const std::vector<std::string>& filters, Deadline deadline = {});

  // Sends DISCONNECT after the messages already queued and waits for it to
  // be written (call flush() first to wait for acknowledgements). Never
  // throws; a failure is reported on stderr with the debug flag (-d).
  void disconnect() noexcept;

  // From any thread (a signal watcher): every wait of connect(), publish(),
  // flush(), subscribe() and unsubscribe(), now or later, ends with Error
  // ("interrupted"). What was sent stays sent.
  void cancel() noexcept;

  // True while connected.
  bool is_connected() const noexcept;

  // Reconnecting (ConnectionOptions::reconnect): after a loss the
  // connection reconnects on a thread of its own (backoff from 0.1 s
  // doubling to 10 s, with jitter), says so on stderr (one line per outage,
  // one on recovery, not with --quiet), subscribes again when the broker
  // kept no session, and sends again every QoS 1 and 2 message not
  // acknowledged, in order. Meanwhile publish() holds QoS 1/2 messages (at
  // most --max-buffer, then it waits) and drops QoS 0 ones, counted here.
  // The lost handler is called only when reconnecting gives up; the waits
  // then end with the error gave_up() returns (exit_code::connection_lost
  // after --reconnect-timeout; a CONNACK refusal that would repeat, with
  // its code).
  std::uint64_t dropped_while_down() const;
  // Receives the outage and recovery lines (without the tool's name)
  // instead of stderr, on the reconnect thread. Set before connect().
  void on_notice(std::function<void(const std::string&)> handler);
  std::optional<Error> gave_up() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// "Paho MQTT C 1.3.x, OpenSSL 3.0.x ... (loaded for TLS connections only)"
// for --version. Loads Paho's TLS build (and so OpenSSL) to name its
// version; when that fails, says why instead. Never throws.
std::string library_versions();

} // namespace mqtk
