#include "mqtk/connection/connection.hpp"
#include "mqtk/connection/reconnect_policy.hpp"
#include "mqtk/connection/resend_buffer.hpp"
#include "mqtk/connection/tls_settings.hpp"

#include "mqtk/process/error.hpp"
#include "mqtk/paho/library.hpp"
#include "mqtk/paho/socket.hpp"
#include "mqtk/paho/thread_scheduling.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cctype>
#include <chrono>
#include <cmath>
#include <deque>
#include <functional>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

// Connection talks to Paho MQTT C's MQTTAsync API directly, through the
// function table of paho/library.cpp (the plain build linked in, the
// OpenSSL build loaded only for TLS). It used to wrap Paho C++ 1.2.0, whose Debian library
// links the OpenSSL build of Paho C: a one-shot mqtk-pub took about twice as
// long as mosquitto_pub, mostly in process startup (libssl/libcrypto +3 ms,
// the C++ wrapper +1.5 ms).

namespace mqtk {

namespace {

// QoS 0 deliveries complete when written; at most this many may be
// outstanding before publish() waits. Small on purpose: Paho walks its
// command list for each command it queues and sends, so a long queue costs
// CPU per message (measured: 200 000 lines took 7.8 s with 4096 queued,
// 3.2 s with 128, mosquitto_pub 2.5 s in the same run).
constexpr std::uint64_t qos0_window = 128;
// Paho counts every queued publish against maxBufferedMessages (default
// 100), connected or not; leave room for the QoS 0 window.
constexpr int max_buffered = 2 * static_cast<int>(qos0_window);
// Outcome::code of a wait that reached its deadline (not a Paho code).
constexpr int wait_timed_out = -1000;
// Longer --connect-timeout values wait this long (a year), which keeps the
// deadline arithmetic and Paho's int far from overflowing.
constexpr double max_connect_timeout = 365.0 * 24 * 3600;

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

// A TCP connection of our own to the broker's address, each address tried
// in turn within `budget` in all: what Paho's own attempt did not say.
struct TcpProbe
{
  int lookup_error = 0; // getaddrinfo's, or 0
  bool accepted = false;
  int error = 0; // the last connect's errno (ETIMEDOUT when out of time)
};

TcpProbe probe_tcp(const ConnectionOptions& o, std::chrono::milliseconds budget)
{
  TcpProbe probe;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  probe.lookup_error = ::getaddrinfo(o.host.c_str(), std::to_string(o.port).c_str(), &hints, &result);
  if (probe.lookup_error != 0) {
    return probe;
  }
  const auto give_up = std::chrono::steady_clock::now() + budget;
  for (addrinfo* ai = result; ai != nullptr && !probe.accepted; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      probe.accepted = true;
    } else if (errno != EINPROGRESS) {
      probe.error = errno;
    } else {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now());
      pollfd p{fd, POLLOUT, 0};
      socklen_t length = sizeof probe.error;
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) {
        probe.error = ETIMEDOUT;
      } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &probe.error, &length) == 0 && probe.error == 0) {
        probe.accepted = true;
      }
    }
    ::close(fd);
  }
  ::freeaddrinfo(result);
  return probe;
}

// Paho reports a failed TCP connect without errno; on that (rare) path we
// look the host up and try once more ourselves to name the real cause.
std::string diagnose_network_failure(const ConnectionOptions& o)
{
  TcpProbe probe = probe_tcp(o, std::chrono::seconds(2));
  if (probe.lookup_error != 0) {
    return fmt::format("unknown host ({})", ::gai_strerror(probe.lookup_error));
  }
  if (probe.accepted) {
    return o.tls ? "TLS handshake failed or the broker closed the connection"
                 : "the broker closed the connection without answering";
  }
  return probe.error != 0 ? std::strerror(probe.error) : "connection failed";
}

// Why a connect got no CONNACK in time: a quarter of a second tells a
// broker that accepts and stays silent from one that does not accept at
// all. (The name lookup is the one Paho just made, normally answered at
// once.)
std::string diagnose_silence(const ConnectionOptions& o)
{
  if (!probe_tcp(o, std::chrono::milliseconds(250)).accepted) {
    return "no TCP connection";
  }
  return o.tls ? "the broker accepted the TCP connection but completed no TLS handshake and CONNACK"
               : "the broker accepted the TCP connection but sent no CONNACK";
}

// Once per library. The TLS build initialises OpenSSL here; the plain build
// has no OpenSSL to initialise.
void global_init(const PahoLibrary& paho)
{
  static std::once_flag once[2];
  std::call_once(once[paho.tls ? 1 : 0], [&paho] {
    MQTTAsync_init_options init = MQTTAsync_init_options_initializer;
    init.do_openssl_init = paho.tls ? 1 : 0;
    paho.global_init(&init);
  });
}

// How an operation ended, as Paho's callbacks report it.
struct Outcome
{
  bool done = false;
  bool ok = false;
  int code = 0;   // Paho return code (MQTTASYNC_*), or a CONNACK code
  int reason = 0; // MQTT 5 reason code; at 3.x the return code again
  std::string message;
  std::vector<int> granted; // subscribe: per filter
  std::uint32_t maximum_packet_size = 0; // connect at MQTT 5: the CONNACK's, 0 when none
  bool session_present = false;          // connect: the CONNACK's flag
};

struct State;

// A message queued by a publish from Paho's receiving thread.
struct Outgoing
{
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
};

// True on Paho's receiving thread (it delivers every message, for every
// client in the process). Waiting there for Paho (a free slot in the
// publish window, an acknowledgement) deadlocks: that thread holds Paho's
// client lock during the message callback, and it is the one that reads
// the acknowledgements.
thread_local bool on_receiving_thread = false;

// One connect, subscribe, unsubscribe or disconnect in flight: the context
// pointer Paho hands back to the callbacks.
struct Request
{
  State* state;
  std::size_t filters = 0; // subscribe: how many were sent
  bool connect = false;    // a CONNECT: its success data is a CONNACK's
  Outcome outcome;
};

// The context of one Paho client's callbacks. A reconnecting connection
// makes a new Paho client for each connection (see Impl::reconnect_loop):
// `epoch` tells the current client's callbacks from a previous one's.
struct Link
{
  State* state;
  std::uint64_t epoch;
  // The receiving thread's: the broker's topic aliases of this connection
  // (MQTT 5; they do not outlive it).
  TopicAliases topic_aliases;
};

// Everything Paho's threads touch. Once connect() was called it lives as
// long as the process (see Connection::Impl::~Impl).
struct State
{
  const PahoLibrary* paho = nullptr;
  bool v5 = false;
  bool debug = false;
  std::string id;
  Connection::MessageHandler message_handler;
  Connection::LostHandler lost_handler;
  std::function<void()> idle_handler;
  Connection::RefusedHandler refused_handler;
  std::atomic<bool> detached{false}; // the Connection is gone: drop messages
  // Handlers being called now; ~Impl waits for them, so that whatever they
  // use may be destroyed after the Connection.
  std::atomic<int> in_handlers{0};

  std::mutex mutex;
  std::condition_variable changed;
  bool lost = false;
  bool cancelled = false; // Connection::cancel(): every wait ends
  // Publishes: sent to Paho, and completed (written at QoS 0, acknowledged
  // at QoS 1/2, or failed). The first failure not yet reported is kept.
  std::uint64_t issued = 0;
  std::uint64_t completed = 0;
  // QoS 0 publishes are numbered; only some ask Paho for a completion
  // callback (see Connection::publish). Paho writes its commands in order,
  // so when number n is reported written, every earlier one was too.
  std::uint64_t q0_issued = 0;
  std::uint64_t q0_written = 0;
  std::optional<Outcome> publish_failure;

  // Messages published from Paho's receiving thread (see
  // Connection::publish), in order, for the sender thread; `sending` while
  // it publishes one it has taken. Its first failure ends it and is kept
  // for flush().
  std::deque<Outgoing> outbox;
  bool sending = false;
  std::optional<Error> outbox_failure;

  // Reconnecting (ConnectionOptions::reconnect). `epoch` numbers the
  // connections, 1 for the first; `down` from a loss until the reconnect
  // (`lost` is then set only when reconnecting gives up, `gave_up` saying
  // why). Every QoS 1/2 message is held in `resend` until acknowledged;
  // `in_flight` counts those sent on the current connection and not yet
  // answered (the -M window); while `resending` after a reconnect new ones
  // queue behind the held ones.
  bool reconnect = false;
  std::uint64_t epoch = 1;
  std::uint64_t next_epoch = 2; // the number of the next Paho client made
  bool down = false;
  std::chrono::steady_clock::time_point down_since;
  std::string down_reason;
  int down_code = 0; // the reason code of the broker's DISCONNECT (MQTT 5), 0 without one
  bool resending = false;
  ResendBuffer resend;
  std::uint64_t in_flight = 0;
  std::uint64_t dropped_q0 = 0;
  std::optional<Error> gave_up;
};

Outcome failure_of(const MQTTAsync_failureData* data)
{
  Outcome o;
  o.code = data != nullptr ? data->code : MQTTASYNC_FAILURE;
  o.reason = o.code;
  if (data != nullptr && data->message != nullptr) {
    o.message = data->message;
  }
  return o;
}

Outcome failure_of(const MQTTAsync_failureData5* data)
{
  Outcome o;
  o.code = data != nullptr ? data->code : MQTTASYNC_FAILURE;
  o.reason = data != nullptr ? static_cast<int>(data->reasonCode) : 0;
  if (data != nullptr && data->message != nullptr) {
    o.message = data->message;
  }
  return o;
}

template <typename Fill>
void finish(void* context, Fill fill)
{
  auto* request = static_cast<Request*>(context);
  State& s = *request->state;
  std::lock_guard lock(s.mutex);
  fill(*request);
  request->outcome.done = true;
  s.changed.notify_all();
}

void on_request_success(void* context, MQTTAsync_successData* data)
{
  finish(context, [data](Request& r) {
    r.outcome.ok = true;
    if (r.connect && data != nullptr) {
      r.outcome.session_present = data->alt.connect.sessionPresent != 0;
    }
    if (r.filters == 1 && data != nullptr) {
      r.outcome.granted = {data->alt.qos};
    } else if (r.filters > 1 && data != nullptr && data->alt.qosList != nullptr) {
      r.outcome.granted.assign(data->alt.qosList, data->alt.qosList + r.filters);
    }
  });
}

void on_request_success5(void* context, MQTTAsync_successData5* data)
{
  finish(context, [data](Request& r) {
    r.outcome.ok = true;
    if (r.connect && data != nullptr) {
      r.outcome.session_present = data->alt.connect.sessionPresent != 0;
    }
    for (int i = 0; data != nullptr && i < data->properties.count; ++i) {
      if (data->properties.array[i].identifier == MQTTPROPERTY_CODE_MAXIMUM_PACKET_SIZE) {
        r.outcome.maximum_packet_size = data->properties.array[i].value.integer4;
      }
    }
    if (data == nullptr || r.filters == 0) {
      return;
    }
    r.outcome.reason = data->reasonCode;
    if (data->alt.sub.reasonCodeCount < 2) {
      r.outcome.granted = {static_cast<int>(data->reasonCode)};
    } else if (data->alt.sub.reasonCodes != nullptr) {
      for (int i = 0; i < data->alt.sub.reasonCodeCount; ++i) {
        r.outcome.granted.push_back(static_cast<int>(data->alt.sub.reasonCodes[i]));
      }
    }
  });
}

void on_request_failure(void* context, MQTTAsync_failureData* data)
{
  finish(context, [data](Request& r) { r.outcome = failure_of(data); });
}

void on_request_failure5(void* context, MQTTAsync_failureData5* data)
{
  finish(context, [data](Request& r) { r.outcome = failure_of(data); });
}

void publish_done(void* context, const Outcome* failure)
{
  auto& s = *static_cast<State*>(context);
  std::lock_guard lock(s.mutex);
  ++s.completed;
  if (failure != nullptr && !s.publish_failure) {
    s.publish_failure = *failure;
  }
  s.changed.notify_all();
}

// Context of a QoS 1 or 2 publish when refusals are reported per message,
// and of every QoS 1 or 2 publish of a reconnecting connection (`seq` its
// number in State::resend, `epoch` the connection it was sent on).
struct Tracked
{
  State* state;
  std::string topic;
  std::uint64_t seq = 0;
  std::uint64_t epoch = 0;
};

// A broker's DISCONNECT reason (MQTT 5) that reconnecting would only meet
// again: another client took the session over (two tools with one client
// id would take it from each other for ever), the client broke the
// protocol or sent what the broker does not allow, or the broker sends
// it elsewhere. Shutting down, busy, keepalive timeouts are retried.
bool disconnect_is_final(int code)
{
  switch (code) {
  case 0x81: // malformed packet
  case 0x82: // protocol error
  case 0x87: // not authorized
  case 0x8E: // session taken over
  case 0x94: // topic alias invalid
  case 0x95: // packet too large
  case 0x9A: // retain not supported
  case 0x9B: // QoS not supported
  case 0x9C: // use another server
  case 0x9D: // server moved
    return true;
  default:
    return false;
  }
}

// A delivery failure that a lost connection causes (Paho fails what was in
// flight when the session is cleaned): a reconnecting connection sends
// the message again instead.
bool failed_by_loss(int code)
{
  return code == MQTTASYNC_OPERATION_INCOMPLETE || code == MQTTASYNC_DISCONNECTED;
}

// Completion of a reconnecting connection's QoS 1 or 2 publish.
void resend_done(void* context, const Outcome* failure)
{
  std::unique_ptr<Tracked> tracked(static_cast<Tracked*>(context));
  State& s = *tracked->state;
  bool refused = false;
  {
    std::lock_guard lock(s.mutex);
    if (tracked->epoch == s.epoch && s.in_flight > 0) {
      --s.in_flight;
    }
    if (failure == nullptr) {
      if (s.resend.acknowledge(tracked->seq)) {
        ++s.completed;
      }
    } else if (failed_by_loss(failure->code) && !s.lost) {
      // Held: sent again after the reconnect.
    } else {
      refused = failure->reason >= 0x80 && s.v5 && s.refused_handler;
      if (s.resend.acknowledge(tracked->seq)) {
        ++s.completed;
      }
      if (!refused && !s.publish_failure) {
        s.publish_failure = *failure;
      }
    }
    s.changed.notify_all();
  }
  if (refused) {
    const char* name = s.paho->reasonCodeToString(static_cast<MQTTReasonCodes>(failure->reason));
    s.in_handlers.fetch_add(1, std::memory_order_acq_rel);
    if (!s.detached.load(std::memory_order_acquire)) {
      s.refused_handler(tracked->topic, failure->reason, name != nullptr ? name : "");
    }
    s.in_handlers.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void tracked_done(void* context, const Outcome* failure)
{
  std::unique_ptr<Tracked> tracked(static_cast<Tracked*>(context));
  State& s = *tracked->state;
  if (failure != nullptr && failure->reason >= 0x80 && s.v5) {
    const char* name = s.paho->reasonCodeToString(static_cast<MQTTReasonCodes>(failure->reason));
    s.in_handlers.fetch_add(1, std::memory_order_acq_rel);
    if (!s.detached.load(std::memory_order_acquire)) {
      s.refused_handler(tracked->topic, failure->reason, name != nullptr ? name : "");
    }
    s.in_handlers.fetch_sub(1, std::memory_order_acq_rel);
    failure = nullptr; // reported: the publish is complete
  }
  publish_done(&s, failure);
}

// Context of a QoS 0 publish that asked for a completion callback.
struct Q0Mark
{
  State* state;
  std::uint64_t number;
  std::uint64_t epoch = 0; // the connection it was sent on
};

void q0_done(void* context, const Outcome* failure)
{
  std::unique_ptr<Q0Mark> mark(static_cast<Q0Mark*>(context));
  State& s = *mark->state;
  std::lock_guard lock(s.mutex);
  s.q0_written = std::max(s.q0_written, mark->number);
  if (failure != nullptr && s.reconnect && (mark->epoch != s.epoch || failed_by_loss(failure->code))) {
    failure = nullptr; // QoS 0 lost with its connection: not an error of the publish
  }
  if (failure != nullptr && !s.publish_failure) {
    s.publish_failure = *failure;
  }
  s.changed.notify_all();
}

// Paho's four delivery callbacks (v3/v5, success/failure) for a completion
// function `Done` (publish_done or q0_done).
template <void (*Done)(void*, const Outcome*)>
void delivered(void* context, MQTTAsync_successData*)
{
  Done(context, nullptr);
}

template <void (*Done)(void*, const Outcome*)>
void delivered5(void* context, MQTTAsync_successData5*)
{
  Done(context, nullptr);
}

template <void (*Done)(void*, const Outcome*)>
void not_delivered(void* context, MQTTAsync_failureData* data)
{
  Outcome o = failure_of(data);
  Done(context, &o);
}

template <void (*Done)(void*, const Outcome*)>
void not_delivered5(void* context, MQTTAsync_failureData5* data)
{
  Outcome o = failure_of(data);
  Done(context, &o);
}

template <void (*Done)(void*, const Outcome*)>
void set_delivery_callbacks(MQTTAsync_responseOptions& response, void* context, bool v5)
{
  response.context = context;
  if (v5) {
    response.onSuccess5 = delivered5<Done>;
    response.onFailure5 = not_delivered5<Done>;
  } else {
    response.onSuccess = delivered<Done>;
    response.onFailure = not_delivered<Done>;
  }
}

// A received message's properties as views of Paho's buffers.
void read_properties(const MQTTProperties& from, MessageProperties& to)
{
  to = MessageProperties{};
  auto text = [](const MQTTLenString& s) {
    return std::string_view(s.data, s.len > 0 ? static_cast<std::size_t>(s.len) : 0);
  };
  for (int i = 0; i < from.count; ++i) {
    const MQTTProperty& p = from.array[i];
    switch (static_cast<int>(p.identifier)) {
    case 1: to.payload_format = p.value.byte; break;
    case 2: to.message_expiry = p.value.integer4; break;
    case 3: to.content_type = text(p.value.data); break;
    case 8: to.response_topic = text(p.value.data); break;
    case 9: to.correlation_data = text(p.value.data); break;
    case 11: to.subscription_ids.push_back(p.value.integer4); break;
    case 35: to.topic_alias = p.value.integer2; break;
    case 38: to.user.emplace_back(text(p.value.data), text(p.value.value)); break;
    default: break;
    }
  }
}

int paho_message_arrived(void* context, char* topic, int topic_len, MQTTAsync_message* message)
{
  auto& link = *static_cast<Link*>(context);
  auto& s = *link.state;
  on_receiving_thread = true;
  if (s.idle_handler && paho_socket::receive_thread_idle == nullptr) {
    paho_socket::receive_thread_idle = &s.idle_handler;
  }
  s.in_handlers.fetch_add(1, std::memory_order_acq_rel);
  if (!s.detached.load(std::memory_order_acquire) && s.message_handler) {
    // A view of Paho's buffers, valid for the call: nothing is copied.
    // topic_len is set when the topic contains NUL bytes.
    MessageView m;
    m.topic = std::string_view(topic, topic_len > 0 ? static_cast<std::size_t>(topic_len) : std::strlen(topic));
    m.payload = std::string_view(static_cast<const char*>(message->payload),
                                 static_cast<std::size_t>(message->payloadlen));
    m.qos = message->qos;
    m.retain = message->retained != 0;
    m.mid = message->msgid;
    // Reused per thread, so that a message with properties costs no
    // allocation once the vectors have grown.
    thread_local MessageProperties properties;
    if (message->properties.count > 0) {
      read_properties(message->properties, properties);
      // An alias alone: Paho hands the message over with an empty topic.
      m.topic = link.topic_aliases.resolve(m.topic, properties.topic_alias);
      m.properties = &properties;
    }
    s.message_handler(m);
    paho_socket::message_delivered();
  }
  s.in_handlers.fetch_sub(1, std::memory_order_acq_rel);
  s.paho->freeMessage(&message);
  s.paho->free(topic);
  return 1; // taken: Paho must not deliver it again
}

// Marks the connection lost (once: a broker's DISCONNECT and the loss that
// follows it are one event) and tells the lost handler why; `debug_line`
// is what -d prints. A reconnecting connection is only marked down (for
// Impl::reconnect_loop); a previous connection's loss is old news.
void report_lost(Link& link, const std::string& reason, const std::string& debug_line, int code = 0)
{
  State& s = *link.state;
  {
    std::lock_guard lock(s.mutex);
    if (s.reconnect) {
      if (link.epoch != s.epoch || s.down || s.lost) {
        return;
      }
      s.down = true;
      s.down_since = std::chrono::steady_clock::now();
      s.down_reason = reason;
      s.down_code = code;
      s.changed.notify_all();
    } else {
      if (s.lost) {
        return;
      }
      s.lost = true;
      s.changed.notify_all();
    }
  }
  s.in_handlers.fetch_add(1, std::memory_order_acq_rel);
  if (!s.detached.load(std::memory_order_acquire)) {
    if (s.debug) {
      fmt::print(stderr, "Client {} {}\n", s.id, debug_line);
    }
    if (s.lost_handler && !s.reconnect) {
      s.lost_handler(reason);
    }
  }
  s.in_handlers.fetch_sub(1, std::memory_order_acq_rel);
}

void paho_connection_lost(void* context, char* cause)
{
  auto& link = *static_cast<Link*>(context);
  const std::string reason = cause != nullptr ? cause : "";
  report_lost(link, reason.empty() ? std::string("connection lost") : reason,
              reason.empty() ? std::string("connection lost") : "connection lost: " + reason);
}

// Adds -D's `list` to `out`; Paho copies every value (free `out` with
// propertiesFree).
void add_properties(const PahoLibrary& paho, MQTTProperties& out, const std::vector<Property>& list)
{
  for (const Property& p : list) {
    MQTTProperty q{};
    q.identifier = static_cast<enum MQTTPropertyCodes>(p.identifier);
    switch (p.type) {
    case PropertyType::byte: q.value.byte = static_cast<unsigned char>(p.number); break;
    case PropertyType::two_byte: q.value.integer2 = static_cast<unsigned short>(p.number); break;
    case PropertyType::four_byte:
    case PropertyType::varint: q.value.integer4 = p.number; break;
    case PropertyType::pair:
      q.value.value.len = static_cast<int>(p.value.size());
      q.value.value.data = const_cast<char*>(p.value.data());
      [[fallthrough]];
    case PropertyType::utf8:
    case PropertyType::binary:
      q.value.data.len = static_cast<int>(p.text.size());
      q.value.data.data = const_cast<char*>(p.text.data());
      break;
    }
    paho.propertiesAdd(&out, &q);
  }
}

// An MQTT 5 DISCONNECT from the broker: its reason code and reason string
// say why ("session taken over"), which the connection loss that follows
// does not.
void paho_disconnected(void* context, MQTTProperties* properties, enum MQTTReasonCodes code)
{
  auto& link = *static_cast<Link*>(context);
  auto& s = *link.state;
  const char* name = s.paho->reasonCodeToString(code);
  std::string text = name != nullptr ? name : "no reason given";
  if (text.size() >= 2 && std::isupper(static_cast<unsigned char>(text[0])) != 0
      && std::isupper(static_cast<unsigned char>(text[1])) == 0) {
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0]))); // "Session taken over"
  }
  std::string reason = fmt::format("the broker disconnected: {} (reason {})", text, static_cast<int>(code));
  for (int i = 0; properties != nullptr && i < properties->count; ++i) {
    const MQTTProperty& p = properties->array[i];
    if (p.identifier == MQTTPROPERTY_CODE_REASON_STRING && p.value.data.len > 0) {
      reason += fmt::format(": {}", std::string_view(p.value.data.data, static_cast<std::size_t>(p.value.data.len)));
    }
  }
  report_lost(link, reason, fmt::format("received DISCONNECT ({})", static_cast<int>(code)), static_cast<int>(code));
}

} // namespace

struct Connection::Impl
{
  const ConnectionOptions& options;
  std::string tool;
  const PahoLibrary& paho;
  std::unique_ptr<State> state;
  std::unique_ptr<TlsSettings> tls; // made by the first TLS connect, kept as long as the client
  // The Paho client of the current connection: a reconnect replaces it
  // (under send_mutex) with a fresh one; the old one is left idle.
  std::atomic<MQTTAsync> client{nullptr};
  // The callbacks' contexts, one per Paho client; left to the process's
  // exit with the state (Paho may call back until then).
  std::mutex links_mutex;
  std::vector<std::unique_ptr<Link>> links;
  bool connect_called = false;
  std::thread sender; // publishes the outbox; started by the first post()
  // Reconnecting: the thread of reconnect_loop, started by the first
  // successful connect; send_mutex orders every sendMessage against a
  // reconnect's client swap and resends.
  std::thread reconnector;
  std::mutex send_mutex;
  // What subscribe() subscribed to, for a reconnect without a kept session.
  struct Subscription
  {
    std::vector<std::string> filters;
    int qos = 0;
    SubscriptionOptions options;
  };
  std::vector<Subscription> subscriptions;
  // Connection::on_notice's, or empty: print on stderr.
  std::function<void(const std::string&)> notice_handler;
  // -D publish ..., built once: each PUBLISH takes a copy.
  MQTTProperties publish_properties = MQTTProperties_initializer;
  // -D publish topic-alias: the topic the broker has bound to the alias
  // (set by the last PUBLISH that carried topic and alias).
  std::mutex alias_mutex;
  std::optional<std::string> alias_topic;
  // Whether a PUBLISH to `topic` may carry the alias alone (alias_mutex held).
  bool alias_bound_locked(std::string_view topic) const { return alias_topic && *alias_topic == topic; }
  bool alias_bound_to(std::string_view topic)
  {
    std::lock_guard lock(alias_mutex);
    return alias_bound_locked(topic);
  }
  // The broker's limit from its CONNACK (MQTT 5), 0 when it gave none: a
  // larger PUBLISH would only make it close the connection. Atomic: a
  // reconnect sets it while the tool's thread publishes.
  std::atomic<std::uint32_t> maximum_packet_size{0};

  Impl(const ConnectionOptions& o, std::string_view tool_name)
    : options(o),
      tool(tool_name),
      paho(PahoLibrary::get(o.tls)),
      state(std::make_unique<State>())
  {
    global_init(paho);
    if (o.mqtt_version == 5) {
      add_properties(paho, publish_properties, o.property_set.publish);
    }
    state->paho = &paho;
    state->v5 = o.mqtt_version == 5;
    state->debug = o.debug;
    state->id = o.id;
    state->reconnect = o.reconnect;
    client = create_client();
  }

  // A Paho client for the options' broker; nothing is sent. Throws Error.
  MQTTAsync create_client()
  {
    MQTTAsync created = nullptr;
    MQTTAsync_createOptions create = MQTTAsync_createOptions_initializer;
    create.MQTTVersion = state->v5 ? MQTTVERSION_5 : MQTTVERSION_DEFAULT;
    // Publishing while disconnected fails at once instead of buffering
    // (a reconnecting connection holds QoS 1/2 messages itself).
    create.sendWhileDisconnected = 0;
    create.maxBufferedMessages = std::max(max_buffered, 2 * options.max_inflight + 16);
    // MQTTCLIENT_PERSISTENCE_NONE: in-flight state stays in memory and
    // nothing is ever written to the working directory.
    int rc = paho.createWithOptions(&created, server_uri(options).c_str(), options.id.c_str(),
                                    MQTTCLIENT_PERSISTENCE_NONE, nullptr, &create);
    if (rc != MQTTASYNC_SUCCESS) {
      throw Error(exit_code::failure,
                  fmt::format("cannot connect to {}: {}", endpoint_text(options), error_text(rc)));
    }
    return created;
  }

  Link* new_link(std::uint64_t epoch)
  {
    std::lock_guard lock(links_mutex);
    links.push_back(std::make_unique<Link>(Link{state.get(), epoch, {}}));
    return links.back().get();
  }

  // Sets a client's callbacks (`link` their context) and sends CONNECT;
  // `request` gets the outcome. Returns Paho's code.
  int start_connect(MQTTAsync target, Link* link, Request* request);

  // The reconnecting connection's thread: after each loss, reconnects with
  // backoff, resubscribes, sends again what was not acknowledged, until it
  // gives up (--reconnect-timeout, a refusal that would repeat).
  void reconnect_loop() noexcept;

  // Subscribes on `target`; the outcome (SUBACK) is waited for.
  Outcome subscribe_on(MQTTAsync target, const std::vector<std::string>& filters, int qos,
                       Connection::Deadline deadline, const SubscriptionOptions& subscription);

  // One line on stderr ("mqtk-sub: ..."), unless --quiet.
  void notice(const std::string& text) const
  {
    if (notice_handler) {
      notice_handler(text);
    } else if (!options.quiet) {
      fmt::print(stderr, "{}: {}\n", tool, text);
    }
  }

  // MQTTAsync_destroy stops Paho's threads with 100 ms sleep loops (capped
  // by the usleep interposer, it still gives up only after 100 rounds): it
  // made a one-shot run's tail slow. Once connect() started those threads,
  // the client and the state its callbacks use are left to the process's
  // exit (mqtk's tools end with _exit right after); messages that still
  // arrive are dropped.
  ~Impl()
  {
    if (publish_properties.count > 0) {
      paho.propertiesFree(&publish_properties); // Paho copied them for each PUBLISH
    }
    if (!connect_called) {
      if (MQTTAsync c = client.load(); c != nullptr) {
        paho.destroy(&c); // no threads yet: returns at once
      }
      return;
    }
    {
      std::lock_guard lock(state->mutex);
      state->detached.store(true, std::memory_order_release);
      state->changed.notify_all();
    }
    if (sender.joinable()) {
      sender.join(); // it uses this Impl; it stops at once once detached
    }
    if (reconnector.joinable()) {
      reconnector.join(); // likewise (a connect attempt's wait ends too)
    }
    for (auto& link : links) {
      (void)link.release();
    }
    // A handler already running finishes before what it uses goes (at most
    // 2 s: a handler blocked longer is the tool's own hang, cut by its alarm).
    for (int i = 0; i < 2000 && state->in_handlers.load(std::memory_order_acquire) > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    (void)state.release();
  }

  // Receiving thread: queues a message for the sender thread and returns at
  // once. A failure (also: no thread) is kept for flush().
  void post(std::string_view topic, std::string_view payload, int qos, bool retain) noexcept
  {
    State& s = *state;
    std::lock_guard lock(s.mutex);
    if (s.outbox_failure || s.detached.load(std::memory_order_acquire)) {
      return;
    }
    try {
      s.outbox.push_back(Outgoing{std::string(topic), std::string(payload), qos, retain});
      if (!sender.joinable()) {
        sender = std::thread([this] { send_outbox(); });
      }
    } catch (const std::exception& e) {
      s.outbox.clear();
      s.outbox_failure = failed("publish", e.what());
    }
    s.changed.notify_all();
  }

  // The sender thread: publishes what post() queued, in order, waiting for
  // the publish window like any other caller (the receiving thread, free
  // again, reads the acknowledgements that open it).
  void send_outbox() noexcept
  {
    State& s = *state;
    std::unique_lock lock(s.mutex);
    while (true) {
      s.changed.wait(lock, [&] { return !s.outbox.empty() || s.detached.load(std::memory_order_acquire); });
      if (s.detached.load(std::memory_order_acquire)) {
        return;
      }
      Outgoing m = std::move(s.outbox.front());
      s.outbox.pop_front();
      // At QoS 0, only when the next one is QoS 0 too: the last QoS 0 message
      // before a QoS 1 one must still ask for its completion (flush()).
      bool more = m.qos == 0 && !s.outbox.empty() && s.outbox.front().qos == 0;
      s.sending = true;
      lock.unlock();
      std::optional<Error> failure;
      try {
        publish_now(m.topic, m.payload, m.qos, m.retain, more);
      } catch (const Error& e) {
        failure = e;
      } catch (const std::exception& e) {
        failure = failed("publish", e.what());
      }
      lock.lock();
      s.sending = false;
      if (failure && !s.outbox_failure) {
        s.outbox_failure = std::move(failure);
        s.outbox.clear();
      }
      s.changed.notify_all();
    }
  }

  // Connection::publish on any thread but the receiving one.
  void publish_now(std::string_view topic, std::string_view payload, int qos, bool retain, bool more_follows,
                   Connection::Deadline deadline = {});

  // The PUBLISH Paho is handed (it copies the payload and properties).
  MQTTAsync_message message_for(std::string_view payload, int qos, bool retain) const
  {
    MQTTAsync_message message = MQTTAsync_message_initializer;
    message.payload = const_cast<char*>(payload.data());
    message.payloadlen = static_cast<int>(payload.size());
    message.qos = qos;
    message.retained = retain ? 1 : 0;
    if (publish_properties.count > 0) {
      message.properties = publish_properties;
    }
    return message;
  }

  // publish_now at QoS 1 or 2 on a reconnecting connection: the message is
  // held in State::resend until acknowledged; while the connection is down
  // or resending it only queues (waiting while --max-buffer are held).
  void publish_held(std::string_view topic, std::string_view payload, int qos, bool retain,
                    Connection::Deadline deadline);

  // Hands held message `seq` to Paho on the current client (send_mutex
  // held, the message marked sent on `epoch`). A refusal that a lost
  // connection explains leaves it held; any other is thrown.
  void send_held(std::uint64_t seq, std::uint64_t epoch, const std::string& topic, const std::string& payload,
                 int qos, bool retain);

  // After a reconnect: sends every held message not yet sent on the new
  // connection, oldest first, within the -M window (send_mutex held, so
  // new publishes queue behind). Throws Error.
  void resend_held();

  std::string error_text(int rc) const
  {
    const char* text = paho.strerror(rc);
    return text != nullptr ? text : "";
  }

  std::string reason_text(int reason) const
  {
    const char* text = paho.reasonCodeToString(static_cast<MQTTReasonCodes>(reason));
    return text != nullptr ? text : "";
  }

  bool connected() const noexcept
  {
    MQTTAsync c = client.load();
    return c != nullptr && paho.isConnected(c) != 0;
  }

  template <typename... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args)
  {
    if (options.debug) {
      fmt::print(stderr, "Client {} {}\n", options.id, fmt::format(format, std::forward<Args>(args)...));
    }
  }

  // `rc`: Paho's return code (a CONNACK code when the broker refused);
  // `reason`: the MQTT 5 reason code, at 3.x the return code again.
  Error translate_connect_failure(int rc, int reason, const std::string& message)
  {
    std::string where = endpoint_text(options);
    debug("connect failed: rc {}, reason code {}, MQTT error [{}]: {}", rc, reason, rc,
          message.empty() ? error_text(rc) : message);
    // Paho 1.3 reports a v5 CONNACK refusal as the return code, with the
    // reason code left at 0; accept it in either place.
    if (options.mqtt_version == 5 && reason < 0x80 && rc >= 0x80 && rc <= 0xff) {
      reason = rc;
    }
    if (options.mqtt_version == 5 && reason >= 0x80) {
      return Error(reason, fmt::format("broker at {} refused the connection: {} (reason code {})", where,
                                       reason_text(reason), reason));
    }
    if (rc >= 1 && rc <= 5) {
      return Error(rc, fmt::format("broker at {} refused the connection: {} (CONNACK {})", where,
                                   connack_reason_v3(rc), rc));
    }
    if (rc == MQTTASYNC_BAD_UTF8_STRING || rc == MQTTASYNC_NULL_PARAMETER) {
      return Error(exit_code::failure, fmt::format("cannot connect to {}: {}", where, error_text(rc)));
    }
    std::string tls_detail;
    if (TlsCheck check = tls ? tls->failure().get(tls_detail) : TlsCheck::none; check != TlsCheck::none) {
      debug("TLS check failed: {}", describe_tls_failure(check, tls_detail));
      if (check == TlsCheck::setup) {
        return Error(exit_code::failure,
                     fmt::format("cannot connect to {}: {}", where, describe_tls_failure(check, tls_detail)));
      }
      return Error(exit_code::tls,
                   fmt::format("TLS handshake with {} failed: {}", where, describe_tls_failure(check, tls_detail)));
    }
    return Error(exit_code::failure, fmt::format("cannot connect to {}: {}", where, diagnose_network_failure(options)));
  }

  Error translate(int rc, int reason, std::string_view doing)
  {
    std::string detail = error_text(rc);
    if (reason >= 0x80) {
      detail = fmt::format("{} (reason code {})", reason_text(reason), reason);
    }
    if (!connected()) {
      detail = "connection lost";
    }
    return failed(doing, detail);
  }

  // "DOING on HOST:PORT failed: DETAIL", exit 1. Calls nothing in Paho.
  Error failed(std::string_view doing, std::string_view detail) const
  {
    return Error(exit_code::failure, fmt::format("{} on {} failed: {}", doing, endpoint_text(options), detail));
  }

  void set_callbacks(MQTTAsync_responseOptions& r, void* context)
  {
    r.context = context;
    if (state->v5) {
      r.onSuccess5 = on_request_success5;
      r.onFailure5 = on_request_failure5;
    } else {
      r.onSuccess = on_request_success;
      r.onFailure = on_request_failure;
    }
  }

  // Waits for a request's callback, or for the connection to break. A
  // request abandoned that way stays allocated: Paho may still call back.
  // With a deadline, a wait that reaches it ends with wait_timed_out.
  Outcome wait(std::unique_ptr<Request> request, std::optional<std::chrono::steady_clock::time_point> deadline = {})
  {
    State& s = *state;
    std::unique_lock lock(s.mutex);
    auto ended = [&] {
      return request->outcome.done || s.lost || s.cancelled || s.detached.load(std::memory_order_acquire)
             || (s.down && !request->connect);
    };
    bool timed_out = false;
    if (deadline) {
      timed_out = !s.changed.wait_until(lock, *deadline, ended);
    } else {
      s.changed.wait(lock, ended);
    }
    if (!request->outcome.done && s.cancelled) {
      (void)request.release();
      throw Error(exit_code::failure, "interrupted");
    }
    if (!request->outcome.done) {
      (void)request.release();
      Outcome o;
      o.done = true;
      o.code = timed_out ? wait_timed_out : MQTTASYNC_DISCONNECTED;
      return o;
    }
    return std::move(request->outcome);
  }

  // The first publish failure not yet reported, taken. Needs the lock; the
  // caller translates it after unlocking: translate() asks Paho whether the
  // client is connected, which takes Paho's lock, and Paho calls back into
  // State with that lock held, so Paho's lock must never be taken under
  // State::mutex.
  std::optional<Outcome> take_publish_failure()
  {
    std::optional<Outcome> failure = std::move(state->publish_failure);
    state->publish_failure.reset();
    return failure;
  }
};

Connection::Connection(const ConnectionOptions& options, std::string_view tool)
  : m_impl(std::make_unique<Impl>(options, tool))
{
}

Connection::~Connection() = default;

void Connection::on_message(MessageHandler handler)
{
  m_impl->state->message_handler = std::move(handler);
}

void Connection::cancel() noexcept
{
  State& s = *m_impl->state;
  std::lock_guard lock(s.mutex);
  s.cancelled = true;
  s.changed.notify_all();
}

void Connection::on_publish_refused(RefusedHandler handler)
{
  m_impl->state->refused_handler = std::move(handler);
}

void Connection::on_idle(std::function<void()> handler)
{
  m_impl->state->idle_handler = std::move(handler);
}

void Connection::on_notice(std::function<void(const std::string&)> handler)
{
  m_impl->notice_handler = std::move(handler);
}

void Connection::on_connection_lost(LostHandler handler)
{
  m_impl->state->lost_handler = std::move(handler);
}

int Connection::Impl::start_connect(MQTTAsync target, Link* link, Request* request)
{
  Impl& impl = *this;
  const auto& o = impl.options;
  State& s = *impl.state;
  impl.debug("sending CONNECT to {} (MQTT {}, keepalive {}, clean {})", endpoint_text(o),
             o.mqtt_version == 3 ? "3.1" : o.mqtt_version == 4 ? "3.1.1" : "5", o.keepalive,
             o.disable_clean_session ? 0 : 1);

  // Paho refuses a client without a message callback.
  int rc = impl.paho.setCallbacks(target, link, paho_connection_lost, paho_message_arrived, nullptr);
  if (rc != MQTTASYNC_SUCCESS) {
    return rc;
  }
  if (s.v5) {
    impl.paho.setDisconnected(target, link, paho_disconnected);
  }

  const MQTTAsync_connectOptions v3_defaults = MQTTAsync_connectOptions_initializer;
  const MQTTAsync_connectOptions v5_defaults = MQTTAsync_connectOptions_initializer5;
  MQTTAsync_connectOptions co = s.v5 ? v5_defaults : v3_defaults;
  co.MQTTVersion = o.mqtt_version == 3 ? MQTTVERSION_3_1 : o.mqtt_version == 4 ? MQTTVERSION_3_1_1 : MQTTVERSION_5;
  co.keepAliveInterval = o.keepalive;
  // Paho checks its connect timeout about once a second (--connect-timeout 1
  // took 3 s), so connect() keeps the exact one below; Paho's comes later.
  const double connect_timeout = std::min(o.connect_timeout, max_connect_timeout);
  co.connectTimeout = static_cast<int>(std::ceil(std::max(1.0, connect_timeout))) + 2;
  co.maxInflight = o.max_inflight;
  co.automaticReconnect = 0;

  MQTTProperties properties = MQTTProperties_initializer;
  if (s.v5) {
    co.cleansession = 0; // Paho refuses it at 5; clean start instead
    co.cleanstart = o.disable_clean_session ? 0 : 1;
    // mosquitto: -c alone means a session that never expires.
    std::uint32_t expiry = o.session_expiry_seconds.value_or(o.disable_clean_session ? 4294967295u : 0u);
    if (expiry != 0) {
      MQTTProperty property{};
      property.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
      property.value.integer4 = static_cast<unsigned int>(expiry);
      impl.paho.propertiesAdd(&properties, &property);
      co.connectProperties = &properties;
    }
    add_properties(impl.paho, properties, o.property_set.connect);
    if (properties.count > 0) {
      co.connectProperties = &properties;
    }
  } else {
    co.cleansession = o.disable_clean_session ? 0 : 1;
  }
  if (o.username) {
    co.username = o.username->c_str();
  }
  if (o.password) {
    co.password = nullptr;
    co.binarypwd.len = static_cast<int>(o.password->size());
    co.binarypwd.data = o.password->data();
  }

  // Paho copies every string of the options during MQTTAsync_connect.
  MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
  std::string will_payload = o.will_payload.value_or("");
  if (!o.will_topic.empty()) {
    will.topicName = o.will_topic.c_str();
    will.message = nullptr; // binary payload below
    will.payload.len = static_cast<int>(will_payload.size());
    will.payload.data = will_payload.data();
    will.qos = o.will_qos;
    will.retained = o.will_retain ? 1 : 0;
    co.will = &will;
  }
  MQTTProperties will_properties = MQTTProperties_initializer;
  if (s.v5 && !o.will_topic.empty() && !o.property_set.will.empty()) {
    add_properties(impl.paho, will_properties, o.property_set.will);
    co.willProperties = &will_properties;
  }

  if (o.tls) {
    if (!impl.tls) {
      impl.tls = std::make_unique<TlsSettings>(o, impl.paho);
    }
    impl.tls->failure().clear();
    co.ssl = impl.tls->options();
  }

  request->state = &s;
  request->connect = true;
  co.context = request;
  if (s.v5) {
    co.onSuccess5 = on_request_success5;
    co.onFailure5 = on_request_failure5;
  } else {
    co.onSuccess = on_request_success;
    co.onFailure = on_request_failure;
  }

  // Paho starts its send and receive threads here; they inherit this.
  keep_threads_together();
  impl.connect_called = true;
  rc = impl.paho.connect(target, &co);
  if (properties.count > 0) {
    impl.paho.propertiesFree(&properties);
  }
  if (will_properties.count > 0) {
    impl.paho.propertiesFree(&will_properties);
  }
  return rc;
}

void Connection::connect(std::optional<std::chrono::steady_clock::time_point> deadline)
{
  const auto started = std::chrono::steady_clock::now();
  auto& impl = *m_impl;
  const auto& o = impl.options;
  const double connect_timeout = std::min(o.connect_timeout, max_connect_timeout);
  auto request = std::make_unique<Request>();
  int rc = impl.start_connect(impl.client, impl.new_link(impl.state->epoch), request.get());
  if (rc != MQTTASYNC_SUCCESS) {
    throw impl.translate_connect_failure(rc, 0, "");
  }
  const auto timeout_at = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::duration<double>(connect_timeout));
  const bool deadline_first = deadline && *deadline < timeout_at;
  Outcome outcome = impl.wait(std::move(request), deadline_first ? *deadline : timeout_at);
  if (outcome.code == wait_timed_out) {
    if (deadline_first) {
      throw Error(exit_code::timeout, fmt::format("while connecting to {}", endpoint_text(o)));
    }
    throw Error(exit_code::failure, fmt::format("cannot connect to {}: timed out after {} s (--connect-timeout): {}",
                                                endpoint_text(o), o.connect_timeout, diagnose_silence(o)));
  }
  if (!outcome.ok) {
    throw impl.translate_connect_failure(outcome.code, outcome.reason, outcome.message);
  }
  impl.maximum_packet_size = outcome.maximum_packet_size;
  impl.debug("received CONNACK (0)");
  if (impl.state->reconnect && !impl.reconnector.joinable()) {
    impl.reconnector = std::thread([&impl] { impl.reconnect_loop(); });
  }
}

void Connection::publish(std::string_view topic, std::string_view payload, int qos, bool retain, bool more_follows,
                         Deadline deadline)
{
  if (on_receiving_thread) {
    m_impl->post(topic, payload, qos, retain);
    return;
  }
  m_impl->publish_now(topic, payload, qos, retain, more_follows, deadline);
}

namespace {

// The size of a PUBLISH packet: fixed header, topic, packet id, properties
// (MQTT 5) and payload.
std::uint64_t publish_packet_size(std::size_t topic, std::size_t payload, int qos, bool v5, int properties)
{
  auto varint = [](std::uint64_t n) { return n < 128 ? 1u : n < 16384 ? 2u : n < 2097152 ? 3u : 4u; };
  const std::uint64_t props = v5 ? varint(static_cast<std::uint64_t>(properties)) + static_cast<std::uint64_t>(properties) : 0;
  const std::uint64_t remaining = 2 + topic + (qos > 0 ? 2 : 0) + props + payload;
  return 1 + varint(remaining) + remaining;
}

} // namespace

void Connection::Impl::publish_now(std::string_view topic, std::string_view payload, int qos, bool retain,
                                   bool more_follows, Connection::Deadline deadline)
{
  State& s = *state;
  if (const std::uint32_t limit = maximum_packet_size.load(); limit != 0) {
    const bool alias_alone = options.property_set.topic_alias() && alias_bound_to(topic);
    const std::uint64_t size =
      publish_packet_size(alias_alone ? 0 : topic.size(), payload.size(), qos, s.v5, publish_properties.length);
    if (size > limit) {
      throw Error(exit_code::failure,
                  fmt::format("the message to '{}' ({} bytes as a packet) is larger than {} allows: at most {} "
                              "bytes (the maximum packet size of its CONNACK)",
                              topic, size, endpoint_text(options), limit));
    }
  }
  if (s.reconnect && qos > 0) {
    publish_held(topic, payload, qos, retain, deadline);
    return;
  }
  std::uint64_t window = qos == 0 ? qos0_window : static_cast<std::uint64_t>(std::max(1, options.max_inflight));
  std::unique_ptr<Q0Mark> mark;
  std::optional<Outcome> failure;
  bool gone = false;
  {
    std::unique_lock lock(s.mutex);
    auto room = [&] { return qos == 0 ? s.q0_issued - s.q0_written < window : s.issued - s.completed < window; };
    // At QoS 1 and 2 this resumes as soon as one acknowledgement frees a
    // slot. Waiting for half the window to drain instead stalled 40 ms per
    // wait (measured): mosquitto does not set TCP_NODELAY by default, so its
    // PUBACKs wait for our delayed TCP ACK unless a PUBLISH of ours carries
    // it. A failure not yet reported ends the wait at once.
    auto go_on = [&] {
      return room() || s.publish_failure || s.lost || s.detached.load() || s.cancelled || (s.reconnect && s.down);
    };
    if (!deadline) {
      s.changed.wait(lock, go_on);
    } else if (!s.changed.wait_until(lock, *deadline, go_on)) {
      throw Error(exit_code::timeout,
                  fmt::format("while waiting for {} to acknowledge what was published", endpoint_text(options)));
    }
    if (s.cancelled) {
      throw Error(exit_code::failure, "interrupted");
    }
    if (s.gave_up) {
      throw *s.gave_up;
    }
    if (s.reconnect && s.down && !s.lost) {
      ++s.dropped_q0; // as mosquitto_pub: QoS 0 is not held while disconnected
      return;
    }
    failure = take_publish_failure();
    gone = s.lost || s.detached.load();
    if (!failure && !gone) {
      if (qos == 0) {
        // A completion callback per message costs a lock and often a futex
        // call on each side; at QoS 0 one per burst is enough (the last of
        // a burst, and at least every quarter window so the window moves).
        std::uint64_t number = ++s.q0_issued;
        if (!more_follows || number % (qos0_window / 4) == 0) {
          mark = std::make_unique<Q0Mark>(Q0Mark{&s, number, s.epoch});
        }
      } else {
        ++s.issued;
      }
    }
  }
  if (failure) {
    throw translate(failure->code, failure->reason, "publish");
  }
  if (gone) {
    throw translate(MQTTASYNC_DISCONNECTED, 0, "publish");
  }
  if (options.debug) {
    debug("sending PUBLISH (q{}, r{}, '{}', ... ({} bytes))", qos, retain ? 1 : 0, topic, payload.size());
  }
  MQTTAsync_message message = message_for(payload, qos, retain);
  // mosquitto_pub's way, for any number of topics: the alias alone while
  // the topic is the one bound to it; a new topic binds it anew. Held over
  // the send so that the broker sees the bindings in this order.
  std::unique_lock alias_lock(alias_mutex, std::defer_lock);
  bool alias_only = false;
  if (options.property_set.topic_alias()) {
    alias_lock.lock();
    alias_only = alias_bound_locked(topic);
  }
  MQTTAsync_responseOptions response = MQTTAsync_responseOptions_initializer;
  std::unique_ptr<Tracked> tracked;
  if (qos > 0 && s.refused_handler) {
    tracked = std::make_unique<Tracked>(Tracked{&s, std::string(topic)});
    set_delivery_callbacks<tracked_done>(response, tracked.get(), s.v5);
  } else if (qos > 0) {
    set_delivery_callbacks<publish_done>(response, &s, s.v5);
  } else if (mark) {
    set_delivery_callbacks<q0_done>(response, mark.get(), s.v5);
  }
  int rc = paho.sendMessage(client.load(), alias_only ? "" : std::string(topic).c_str(), &message, &response);
  if (rc != MQTTASYNC_SUCCESS) {
    {
      std::lock_guard lock(s.mutex);
      // Refused at once: no callback will come.
      if (qos > 0) {
        --s.issued;
      } else {
        // Not below what a reconnect already counted as written (it forgives
        // what the old client still had queued), or the window would wrap.
        if (s.q0_issued > s.q0_written) {
          --s.q0_issued;
        }
        if (s.reconnect && (rc == MQTTASYNC_DISCONNECTED || s.down)) {
          ++s.dropped_q0; // the connection just broke: dropped as while down
          s.changed.notify_all();
          return;
        }
      }
    }
    throw translate(rc, 0, "publish");
  }
  if (alias_lock.owns_lock() && !alias_only) {
    alias_topic = std::string(topic);
  }
  mark.release(); // owned by the callback now
  tracked.release();
}

void Connection::Impl::publish_held(std::string_view topic, std::string_view payload, int qos, bool retain,
                                    Connection::Deadline deadline)
{
  State& s = *state;
  const std::uint64_t window = static_cast<std::uint64_t>(std::max(1, options.max_inflight));
  const std::size_t most_held = static_cast<std::size_t>(std::max(1, options.max_buffer));
  std::uint64_t seq = 0;
  std::uint64_t epoch = 0;
  std::optional<Outcome> failure;
  {
    std::unique_lock lock(s.mutex);
    // While down or resending the message only queues; else it also needs
    // a free slot in the -M window.
    auto room = [&] {
      return s.resend.size() < most_held && (s.down || s.resending || s.in_flight < window);
    };
    auto go_on = [&] { return room() || s.publish_failure || s.lost || s.detached.load() || s.cancelled; };
    if (!deadline) {
      s.changed.wait(lock, go_on);
    } else if (!s.changed.wait_until(lock, *deadline, go_on)) {
      throw Error(exit_code::timeout,
                  fmt::format("while waiting for {} to acknowledge what was published", endpoint_text(options)));
    }
    if (s.cancelled) {
      throw Error(exit_code::failure, "interrupted");
    }
    if (s.gave_up) {
      throw *s.gave_up;
    }
    failure = take_publish_failure();
    if (!failure && !s.lost && !s.detached.load()) {
      seq = s.resend.add(topic, payload, qos, retain);
      ++s.issued;
      if (!s.down && !s.resending) {
        epoch = s.epoch;
        s.resend.mark_sent(seq, epoch);
        ++s.in_flight;
      }
    }
  }
  if (failure) {
    throw translate(failure->code, failure->reason, "publish");
  }
  if (seq == 0) {
    throw translate(MQTTASYNC_DISCONNECTED, 0, "publish");
  }
  if (epoch == 0) {
    return; // held for the reconnect
  }
  if (options.debug) {
    debug("sending PUBLISH (q{}, r{}, '{}', ... ({} bytes))", qos, retain ? 1 : 0, topic, payload.size());
  }
  std::lock_guard send_lock(send_mutex);
  {
    std::lock_guard lock(s.mutex);
    if (s.epoch != epoch) {
      return; // a reconnect came in between: its resend sends this one
    }
  }
  send_held(seq, epoch, std::string(topic), std::string(payload), qos, retain);
}

void Connection::Impl::send_held(std::uint64_t seq, std::uint64_t epoch, const std::string& topic,
                                 const std::string& payload, int qos, bool retain)
{
  State& s = *state;
  MQTTAsync_message message = message_for(payload, qos, retain);
  std::unique_lock alias_lock(alias_mutex, std::defer_lock);
  bool alias_only = false;
  if (options.property_set.topic_alias()) {
    alias_lock.lock();
    alias_only = alias_bound_locked(topic);
  }
  MQTTAsync_responseOptions response = MQTTAsync_responseOptions_initializer;
  auto tracked = std::make_unique<Tracked>(Tracked{&s, topic, seq, epoch});
  set_delivery_callbacks<resend_done>(response, tracked.get(), s.v5);
  int rc = paho.sendMessage(client.load(), alias_only ? "" : topic.c_str(), &message, &response);
  if (rc == MQTTASYNC_SUCCESS) {
    if (alias_lock.owns_lock() && !alias_only) {
      alias_topic = topic;
    }
    tracked.release(); // owned by the callback now
    return;
  }
  bool by_loss = false;
  {
    std::lock_guard lock(s.mutex);
    if (s.epoch == epoch && s.in_flight > 0) {
      --s.in_flight;
    }
    // Refused at once: no callback will come. A client that is no longer
    // connected refuses with MQTTASYNC_DISCONNECTED: the message stays
    // held and goes out after the reconnect.
    by_loss = rc == MQTTASYNC_DISCONNECTED || s.down;
    if (by_loss) {
      s.resend.mark_unsent(seq);
    } else if (s.resend.acknowledge(seq)) {
      --s.issued;
    }
    s.changed.notify_all();
  }
  if (!by_loss) {
    throw translate(rc, 0, "publish");
  }
}

void Connection::flush(Deadline deadline)
{
  auto& impl = *m_impl;
  State& s = *impl.state;
  std::optional<Error> outbox_failure;
  std::optional<Outcome> failure;
  bool timed_out = false;
  bool done = false;
  {
    std::unique_lock lock(s.mutex);
    auto all_done = [&] {
      return s.outbox.empty() && !s.sending && s.completed == s.issued && s.q0_written == s.q0_issued;
    };
    auto over = [&] { return all_done() || s.lost || s.outbox_failure || s.cancelled; };
    if (deadline) {
      timed_out = !s.changed.wait_until(lock, *deadline, over);
    } else {
      s.changed.wait(lock, over);
    }
    if (s.gave_up) {
      // Why reconnecting ended explains whatever failed with it.
      throw *s.gave_up;
    }
    outbox_failure = std::move(s.outbox_failure);
    s.outbox_failure.reset();
    failure = impl.take_publish_failure();
    done = all_done();
    if (!done && s.cancelled) {
      throw Error(exit_code::failure, "interrupted");
    }
  }
  if (outbox_failure) {
    throw *outbox_failure;
  }
  if (failure) {
    throw impl.translate(failure->code, failure->reason, "publish");
  }
  if (timed_out) {
    throw Error(exit_code::timeout,
                fmt::format("while waiting for {} to acknowledge what was published", endpoint_text(impl.options)));
  }
  if (!done) {
    throw impl.translate(MQTTASYNC_DISCONNECTED, 0, "publish");
  }
}

Outcome Connection::Impl::subscribe_on(MQTTAsync target, const std::vector<std::string>& filters, int qos,
                                       Connection::Deadline deadline, const SubscriptionOptions& subscription)
{
  auto& impl = *this;
  std::vector<char*> topics;
  for (const auto& f : filters) {
    impl.debug("sending SUBSCRIBE ('{}', QoS {})", f, qos);
    topics.push_back(const_cast<char*>(f.c_str())); // Paho copies them
  }
  std::vector<int> qoss(filters.size(), qos);
  auto request = std::make_unique<Request>();
  request->state = impl.state.get();
  request->filters = filters.size();
  MQTTAsync_responseOptions response = MQTTAsync_responseOptions_initializer;
  impl.set_callbacks(response, request.get());
  MQTTProperties properties = MQTTProperties_initializer;
  add_properties(impl.paho, properties, impl.options.property_set.subscribe);
  response.properties = properties; // Paho copies them
  const MQTTSubscribe_options initial = MQTTSubscribe_options_initializer;
  std::vector<MQTTSubscribe_options> per_filter(filters.size(), initial);
  if (impl.state->v5) {
    for (auto& so : per_filter) {
      so.noLocal = subscription.no_local ? 1 : 0;
      so.retainAsPublished = subscription.retain_as_published ? 1 : 0;
      so.retainHandling = static_cast<unsigned char>(subscription.retain_handling);
    }
    // Paho takes the single options for one filter, the list for more.
    response.subscribeOptions = per_filter.front();
    if (per_filter.size() > 1) {
      response.subscribeOptionsCount = static_cast<int>(per_filter.size());
      response.subscribeOptionsList = per_filter.data();
    }
  }
  int rc = impl.paho.subscribeMany(target, static_cast<int>(filters.size()), topics.data(), qoss.data(), &response);
  impl.paho.propertiesFree(&properties);
  if (rc != MQTTASYNC_SUCCESS) {
    throw impl.translate(rc, 0, "subscribe");
  }
  Outcome outcome = impl.wait(std::move(request), deadline);
  if (outcome.code == wait_timed_out) {
    throw Error(exit_code::timeout, fmt::format("while subscribing on {}", endpoint_text(impl.options)));
  }
  if (!outcome.ok) {
    // Paho reports a SUBACK that refuses the only filter as a failure; it
    // is a granted code like any other (sub.cpp reports refused filters).
    int refused = outcome.reason >= 0x80 ? outcome.reason : outcome.code;
    if (filters.size() == 1 && refused >= 0x80 && refused <= 0xff && impl.connected()) {
      outcome.granted = {refused};
    } else {
      throw impl.translate(outcome.code, outcome.reason, "subscribe");
    }
  }
  impl.debug("received SUBACK");
  outcome.granted.resize(filters.size(), 0x80);
  return outcome;
}

std::vector<int> Connection::subscribe(const std::vector<std::string>& filters, int qos,
                                       std::optional<std::chrono::steady_clock::time_point> deadline,
                                       const SubscriptionOptions& subscription)
{
  auto& impl = *m_impl;
  if (filters.empty()) {
    return {};
  }
  if (impl.state->reconnect) {
    // Before SUBSCRIBE goes: a loss right after its SUBACK must still
    // subscribe again.
    std::lock_guard lock(impl.state->mutex);
    impl.subscriptions.push_back({filters, qos, subscription});
  }
  Outcome outcome = impl.subscribe_on(impl.client, filters, qos, deadline, subscription);
  return outcome.granted;
}

std::string Connection::reason_name(int code) const
{
  return m_impl->reason_text(code);
}

void Connection::unsubscribe(const std::vector<std::string>& filters,
                             std::optional<std::chrono::steady_clock::time_point> deadline)
{
  auto& impl = *m_impl;
  if (filters.empty()) {
    return;
  }
  std::vector<char*> topics;
  for (const auto& f : filters) {
    impl.debug("sending UNSUBSCRIBE ('{}')", f);
    topics.push_back(const_cast<char*>(f.c_str())); // Paho copies them
  }
  auto request = std::make_unique<Request>();
  request->state = impl.state.get();
  MQTTAsync_responseOptions response = MQTTAsync_responseOptions_initializer;
  impl.set_callbacks(response, request.get());
  MQTTProperties properties = MQTTProperties_initializer;
  add_properties(impl.paho, properties, impl.options.property_set.unsubscribe);
  response.properties = properties; // Paho copies them
  int rc = impl.paho.unsubscribeMany(impl.client.load(), static_cast<int>(filters.size()), topics.data(), &response);
  impl.paho.propertiesFree(&properties);
  if (rc != MQTTASYNC_SUCCESS) {
    throw impl.translate(rc, 0, "unsubscribe");
  }
  Outcome outcome = impl.wait(std::move(request), deadline);
  if (outcome.code == wait_timed_out) {
    throw Error(exit_code::timeout, fmt::format("while unsubscribing on {}", endpoint_text(impl.options)));
  }
  if (!outcome.ok || outcome.reason >= 0x80) {
    throw impl.translate(outcome.code, outcome.reason, "unsubscribe");
  }
  impl.debug("received UNSUBACK");
}

void Connection::disconnect() noexcept
{
  auto& impl = *m_impl;
  try {
    if (!impl.connected()) {
      return;
    }
    impl.debug("sending DISCONNECT");
    auto request = std::make_unique<Request>();
    request->state = impl.state.get();
    const MQTTAsync_disconnectOptions v3_defaults = MQTTAsync_disconnectOptions_initializer;
    const MQTTAsync_disconnectOptions v5_defaults = MQTTAsync_disconnectOptions_initializer5;
    MQTTAsync_disconnectOptions d = impl.state->v5 ? v5_defaults : v3_defaults;
    // 0: no grace period for outstanding acks (flush() waited for them);
    // DISCONNECT still goes out after every PUBLISH queued before it.
    d.timeout = 0;
    d.context = request.get();
    MQTTProperties properties = MQTTProperties_initializer;
    if (impl.state->v5) {
      add_properties(impl.paho, properties, impl.options.property_set.disconnect);
      d.properties = properties; // Paho copies them
      d.onSuccess5 = on_request_success5;
      d.onFailure5 = on_request_failure5;
    } else {
      d.onSuccess = on_request_success;
      d.onFailure = on_request_failure;
    }
    int rc = impl.paho.disconnect(impl.client.load(), &d);
    impl.paho.propertiesFree(&properties);
    if (rc != MQTTASYNC_SUCCESS) {
      impl.debug("DISCONNECT failed: {}", impl.error_text(rc));
      return;
    }
    Outcome outcome = impl.wait(std::move(request));
    if (!outcome.ok) {
      impl.debug("DISCONNECT failed: {}", impl.error_text(outcome.code));
    }
  } catch (...) {
    // noexcept: a failed debug line or allocation must not end the tool
  }
}

bool Connection::is_connected() const noexcept
{
  return m_impl->connected();
}

std::uint64_t Connection::dropped_while_down() const
{
  State& s = *m_impl->state;
  std::lock_guard lock(s.mutex);
  return s.dropped_q0;
}

std::optional<Error> Connection::gave_up() const
{
  State& s = *m_impl->state;
  std::lock_guard lock(s.mutex);
  return s.gave_up;
}

void Connection::Impl::reconnect_loop() noexcept
{
  State& s = *state;
  const std::string where = endpoint_text(options);
  auto stopping = [&] { return s.detached.load(std::memory_order_acquire) || s.cancelled; };
  auto give_up = [&](Error e) {
    {
      std::lock_guard lock(s.mutex);
      s.gave_up = e;
      s.lost = true;
      s.changed.notify_all();
    }
    s.in_handlers.fetch_add(1, std::memory_order_acq_rel);
    if (!s.detached.load(std::memory_order_acquire) && s.lost_handler) {
      s.lost_handler(e.what());
    }
    s.in_handlers.fetch_sub(1, std::memory_order_acq_rel);
  };
  ReconnectBackoff backoff;
  // Connections that broke again after sending held messages anew, none of
  // them acknowledged: a message the broker refuses by closing the
  // connection (a topic alias it does not allow, say) would otherwise be
  // sent for ever.
  int fruitless = 0;
  std::optional<std::uint64_t> completed_at_reconnect;
  while (true) {
    std::chrono::steady_clock::time_point lost_at;
    std::string why;
    int code = 0;
    std::string oldest_topic;
    {
      std::unique_lock lock(s.mutex);
      s.changed.wait(lock, [&] { return s.down || stopping(); });
      if (stopping()) {
        return;
      }
      lost_at = s.down_since;
      why = s.down_reason;
      code = s.down_code;
      const bool progress = !completed_at_reconnect || s.completed != *completed_at_reconnect;
      fruitless = progress || s.resend.empty() ? 0 : fruitless + 1;
      if (const auto* oldest = s.resend.oldest()) {
        oldest_topic = oldest->topic;
      }
    }
    if (fruitless >= 3) {
      give_up(Error(exit_code::failure,
                    fmt::format("lost the connection to {} ({}) {} times in a row right after sending held messages "
                                "again, none of them acknowledged: giving up (the oldest is to '{}')",
                                where, why, fruitless, oldest_topic)));
      return;
    }
    if (s.v5 && disconnect_is_final(code)) {
      // The broker said why, and the same would happen again.
      give_up(Error(exit_code::failure, fmt::format("lost the connection to {}: {}", where, why)));
      return;
    }
    try {
      notice(fmt::format("lost the connection to {} ({}); reconnecting", where, why));
      std::optional<std::chrono::steady_clock::time_point> give_up_at;
      if (options.reconnect_timeout > 0) {
        give_up_at = lost_at + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 std::chrono::duration<double>(std::min(options.reconnect_timeout, max_connect_timeout)));
      }
      backoff.reset();
      std::string last_error = why;
      MQTTAsync next = nullptr;
      Link* link = nullptr;
      int attempts = 0;
      bool back = false;
      while (!back) {
        auto wake_at = std::chrono::steady_clock::now() + backoff.next();
        if (give_up_at && wake_at > *give_up_at) {
          wake_at = *give_up_at;
        }
        {
          std::unique_lock lock(s.mutex);
          if (s.changed.wait_until(lock, wake_at, stopping)) {
            return;
          }
        }
        if (give_up_at && std::chrono::steady_clock::now() >= *give_up_at) {
          give_up(Error(exit_code::connection_lost,
                        fmt::format("lost the connection to {} and could not reconnect within {} s "
                                    "(--reconnect-timeout): {}",
                                    where, options.reconnect_timeout, last_error)));
          return;
        }
        ++attempts;
        if (next == nullptr) {
          next = create_client();
          std::lock_guard lock(s.mutex);
          link = new_link(s.next_epoch++); // its own number: an abandoned client's callbacks stay old news
        }
        auto request = std::make_unique<Request>();
        int rc = start_connect(next, link, request.get());
        Outcome outcome;
        if (rc != MQTTASYNC_SUCCESS) {
          outcome.code = rc;
        } else {
          auto until = std::chrono::steady_clock::now()
                       + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(std::min(options.connect_timeout, max_connect_timeout)));
          if (give_up_at && until > *give_up_at) {
            until = *give_up_at;
          }
          outcome = wait(std::move(request), until);
        }
        if (stopping()) {
          return;
        }
        if (outcome.code == wait_timed_out) {
          last_error = fmt::format("cannot connect to {}: {}", where, diagnose_silence(options));
          // Its CONNECT may still be answered, and a late session with our
          // client id would take over the next one's: end it, use another.
          MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
          d.timeout = 0;
          (void)paho.disconnect(next, &d);
          next = nullptr;
          continue;
        }
        if (!outcome.ok) {
          Error e = translate_connect_failure(outcome.code, outcome.reason, outcome.message);
          const int refusal = options.mqtt_version == 5 && outcome.reason >= 0x80 ? outcome.reason : outcome.code;
          const bool refused = e.code() != exit_code::failure && e.code() != exit_code::tls && refusal > 0;
          if (refused && refusal_is_permanent(options.mqtt_version, refusal)) {
            give_up(Error(e.code(), fmt::format("reconnecting: {}", e.what())));
            return;
          }
          last_error = e.what();
          continue;
        }
        // Connected: from here on this client is the connection.
        std::size_t held = 0;
        {
          std::scoped_lock locks(send_mutex, alias_mutex, s.mutex);
          alias_topic.reset(); // a topic alias lives as long as its connection
          s.epoch = link->epoch;
          client = next;
          s.down = false;
          s.resending = true;
          s.in_flight = 0;
          s.q0_written = s.q0_issued; // QoS 0 still queued on the old client is gone with it
          held = s.resend.size();
          completed_at_reconnect = s.completed;
          maximum_packet_size = outcome.maximum_packet_size;
          s.changed.notify_all();
        }
        back = true;
        if (paho.isConnected(next) == 0) {
          // Lost between CONNACK and the swap, when its loss was not yet
          // this connection's to report.
          std::lock_guard lock(s.mutex);
          if (!s.down) {
            s.down = true;
            s.down_since = std::chrono::steady_clock::now();
            s.down_reason = "connection lost";
            s.resending = false;
            s.changed.notify_all();
          }
          continue;
        }
        const double away = std::chrono::duration<double>(std::chrono::steady_clock::now() - lost_at).count();
        std::string done = fmt::format("connected to {} again after {:.1f} s ({} attempt{})", where, away, attempts,
                                       attempts == 1 ? "" : "s");
        std::vector<Subscription> again;
        {
          std::lock_guard lock(s.mutex);
          again = subscriptions;
        }
        const bool resubscribe = !again.empty() && !outcome.session_present;
        std::vector<std::string> refusals;
        if (resubscribe) {
          for (const auto& sub : again) {
            Outcome granted = subscribe_on(next, sub.filters, sub.qos, {}, sub.options);
            for (std::size_t i = 0; i < granted.granted.size() && i < sub.filters.size(); ++i) {
              if (granted.granted[i] >= 0x80) {
                refusals.push_back(fmt::format("broker refused the subscription to '{}' (reason code {})",
                                               sub.filters[i], granted.granted[i]));
              }
            }
          }
          done += "; subscribed again";
        }
        if (held > 0) {
          done += fmt::format("; sending {} unacknowledged message{} again", held, held == 1 ? "" : "s");
        }
        notice(done);
        for (const auto& refusal : refusals) {
          notice(refusal);
        }
        resend_held();
      }
    } catch (const Error& e) {
      // A resubscribe or resend that failed: the connection broke again
      // (the loop waits for its loss) or cannot go on.
      bool again = false;
      {
        std::lock_guard lock(s.mutex);
        s.resending = false;
        again = s.down;
        s.changed.notify_all();
      }
      if (!again) {
        give_up(Error(e.code(), fmt::format("reconnecting: {}", e.what())));
        return;
      }
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(s.mutex);
        s.resending = false;
      }
      give_up(failed("reconnect", e.what()));
      return;
    }
  }
}

void Connection::Impl::resend_held()
{
  State& s = *state;
  const std::uint64_t window = static_cast<std::uint64_t>(std::max(1, options.max_inflight));
  std::lock_guard send_lock(send_mutex);
  std::uint64_t from = 0;
  while (true) {
    std::uint64_t seq = 0;
    std::uint64_t epoch = 0;
    std::string topic;
    std::string payload;
    int qos = 1;
    bool retain = false;
    {
      std::unique_lock lock(s.mutex);
      s.changed.wait(lock, [&] {
        return s.in_flight < window || s.down || s.detached.load(std::memory_order_acquire) || s.cancelled;
      });
      if (s.down || s.detached.load(std::memory_order_acquire) || s.cancelled) {
        s.resending = false;
        return; // broke again: the next reconnect resends
      }
      auto next = s.resend.oldest_unsent(s.epoch, from);
      if (!next) {
        s.resending = false;
        s.changed.notify_all();
        return;
      }
      seq = *next;
      epoch = s.epoch;
      const ResendBuffer::Entry& entry = *s.resend.find(seq);
      topic = entry.topic;
      payload = entry.payload;
      qos = entry.qos;
      retain = entry.retain;
      s.resend.mark_sent(seq, epoch);
      ++s.in_flight;
    }
    send_held(seq, epoch, topic, payload, qos, retain);
    from = seq + 1;
  }
}

std::string library_versions()
{
  // --version only: loading the TLS build here (and with it OpenSSL) is the
  // one way to name the OpenSSL version TLS connections would use.
  std::string tls_problem;
  const PahoLibrary* paho = nullptr;
  try {
    paho = &PahoLibrary::get(true);
  } catch (const std::exception& e) {
    tls_problem = e.what();
  }
  try {
    if (paho == nullptr) {
      paho = &PahoLibrary::get(false);
    }
  } catch (const std::exception& e) {
    return e.what();
  }
  std::string version = "unknown";
  std::string openssl;
  if (MQTTAsync_nameValue* info = paho->getVersionInfo()) {
    for (auto* nv = info; nv->name != nullptr; ++nv) {
      if (std::strcmp(nv->name, "Version") == 0) {
        version = nv->value;
      } else if (std::strcmp(nv->name, "OpenSSL version") == 0) {
        openssl = nv->value;
      }
    }
  }
  if (openssl.empty()) {
    openssl = fmt::format("no TLS ({})", tls_problem.empty() ? "Paho C built without OpenSSL" : tls_problem);
  } else {
    openssl += " (loaded for TLS connections only)";
  }
  return fmt::format("Paho MQTT C {}, {}", version, openssl);
}

} // namespace mqtk
