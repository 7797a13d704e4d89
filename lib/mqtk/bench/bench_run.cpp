#include "mqtk/bench/bench_run.hpp"

#include "mqtk/bench/descriptor_budget.hpp"
#include "mqtk/bench/event_loop.hpp"
#include "mqtk/bench/mosquitto_client.hpp"
#include "mqtk/bench/payload_stamp.hpp"
#include "mqtk/bench/send_schedule.hpp"
#include "mqtk/bench/sequence_tracker.hpp"
#include "mqtk/process/error.hpp"
#include "mqtk/process/stop_signals.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <queue>
#include <unordered_map>

#include <cstring>

#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

namespace mqtk {

std::string expand_topic(const std::string& topic_template, std::uint64_t number)
{
  std::string out;
  out.reserve(topic_template.size() + 8);
  for (std::size_t i = 0; i < topic_template.size(); ++i) {
    if (topic_template[i] == '%' && i + 1 < topic_template.size()) {
      if (topic_template[i + 1] == 'i') {
        out += std::to_string(number);
        ++i;
        continue;
      }
      if (topic_template[i + 1] == '%') {
        out += '%';
        ++i;
        continue;
      }
    }
    out += topic_template[i];
  }
  return out;
}

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::nanoseconds;

std::uint64_t clock_ns(clockid_t id) noexcept
{
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint64_t steady_ns(Clock::time_point t) noexcept
{
  // steady_clock is CLOCK_MONOTONIC on Linux: the stamps use its ns.
  return static_cast<std::uint64_t>(std::chrono::duration_cast<nanoseconds>(t.time_since_epoch()).count());
}

// Seconds given on the command line as a duration, at most a century, so
// that deadline arithmetic cannot overflow (--connect-timeout 1e300).
Clock::duration seconds_of(double seconds) noexcept
{
  constexpr double century = 100.0 * 365 * 24 * 3600;
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(std::clamp(seconds, 0.0, century)));
}

double cpu_seconds_now() noexcept
{
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
         + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string duration_text(std::uint64_t ns)
{
  const double v = static_cast<double>(ns);
  if (ns < 1'000) {
    return fmt::format("{} ns", ns);
  }
  if (ns < 1'000'000) {
    return fmt::format("{:.3g} us", v / 1e3);
  }
  if (ns < 1'000'000'000) {
    return fmt::format("{:.3g} ms", v / 1e6);
  }
  return fmt::format("{:.3g} s", v / 1e9);
}

// The $SYS counters followed beside the client's own counts.
constexpr const char* sys_counter_topics[] = {
  "messages/received", "messages/sent", "publish/messages/received", "publish/messages/sent",
  "publish/messages/dropped", "bytes/received", "bytes/sent"};

class Run;

enum class Role { publisher, subscriber, holder, sys };

struct Pending
{
  std::uint64_t due_ns;
  bool measured;
};

class Client final : public MosquittoClient::Events, public EventLoop::Handler
{
public:
  Client(Run& owner, Role kind, std::uint32_t local, std::uint64_t global)
    : run(owner),
      role(kind),
      index(local),
      number(global)
  {
  }

  void on_connack(int code) override;
  void on_acknowledged(int mid, int code) override;
  void on_message(std::string_view topic, std::string_view payload, int qos, bool retained) override;
  void on_subscribed(int mid, int granted) override;
  void on_disconnected(bool expected, const std::string& why) override;
  void on_ready(int fd, bool readable, bool writable, bool hung_up) override;

  Run& run;
  Role role;
  std::uint32_t index;  // among its role
  std::uint64_t number; // id_offset + index
  std::unique_ptr<MosquittoClient> mqtt;
  int fd = -1;
  enum class State { idle, connecting, connected, closed } state = State::idle;
  Clock::time_point connect_started{};
  std::string topic;
  // Publishers.
  std::optional<SendSchedule> schedule;
  std::uint64_t scheduled = 0;  // schedule positions used
  std::uint64_t measured_seq = 0;
  std::uint64_t warmup_seq = 0;
  bool sending_done = false;
  std::unordered_map<int, Pending> pending; // QoS >= 1 in flight, by mid
  // Subscribers.
  bool subscribed = false;
  std::uint64_t measured_arrivals = 0;
  std::uint64_t arrived_all = 0; // this run's stamps, warm-up included
};

class Run
{
public:
  Run(const BenchPlan& plan, StopSignals& signals);
  BenchResult run();

  // From the clients.
  void connack(Client& c, int code);
  void acknowledged(Client& c, int mid, int code);
  void message(Client& c, std::string_view topic, std::string_view payload, int qos, bool retained);
  void subscribed(Client& c, int granted);
  void disconnected(Client& c, bool expected, const std::string& why);
  void lost(Client& c, const std::string& why);
  void rewatch(Client& c)
  {
    if (c.mqtt && c.state != Client::State::closed) {
      loop.watch(c.fd, c, c.mqtt->want_write());
    }
  }

  EventLoop loop;

private:
  class SignalWatch final : public EventLoop::Handler
  {
  public:
    explicit SignalWatch(Run& r)
      : m_run(r)
    {
    }
    void on_ready(int, bool, bool, bool) override { m_run.m_stop = true; }

  private:
    Run& m_run;
  };

  void create_clients();
  void connect_all(std::vector<Client*> group, bool all_must_connect);
  void subscribe_all();
  void wait_until_start();
  void measure();
  void drain();
  void hold();
  void finish();
  void service(Clock::time_point deadline);
  void tick(Clock::time_point now);
  void roll_second(std::uint64_t second);
  void publish(Client& c, std::uint64_t due_ns, Clock::time_point now);
  bool closed_loop_can_send(const Client& c);
  static constexpr std::uint64_t closed_loop_window = 1000;
  // Unacknowledged messages per publisher at most: below 65 535, the
  // message ids there are.
  static constexpr std::size_t max_pending = 60'000;
  void error(const std::string& kind) { ++result.errors[kind]; ++m_second.errors; }
  // -d: one line on stderr per phase.
  template <typename... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args)
  {
    if (plan.connection.debug) {
      if (m_progress_shown) {
        std::fputs("\r\x1b[K", stderr);
      }
      fmt::print(stderr, "mqtk-bench: {}\n", fmt::format(format, std::forward<Args>(args)...));
      std::fflush(stderr);
    }
  }
  void progress_line(Clock::time_point now, bool final);
  std::uint64_t expected_arrivals() const;
  std::string endpoint() const { return endpoint_text(plan.connection); }

  const BenchPlan& plan;
  StopSignals& m_signals;
  SignalWatch m_signal_watch{*this};
  BenchResult result;
  std::vector<std::unique_ptr<Client>> m_clients;
  std::vector<Client*> m_publishers;
  std::vector<Client*> m_subscribers;
  std::vector<Client*> m_holders;
  std::vector<Client*> m_failed_connects; // their clients to destroy
  Client* m_sys = nullptr;
  // Trackers per subscriber (one for a shared group), per received QoS.
  std::vector<std::array<SequenceTracker, 3>> m_trackers;
  std::vector<std::uint64_t> m_sent_by_publisher; // measured, by local index
  std::string m_payload;
  bool m_stop = false;
  std::optional<Clock::time_point> m_stop_drain;
  bool m_signals_again = false;
  int m_stop_signal = 0;
  std::size_t m_connecting = 0;
  std::size_t m_unsubscribed = 0;
  std::string m_first_failure;
  std::string m_refused_subscription;
  // The measured part.
  bool m_measuring = false;
  Clock::time_point m_send_start{};  // sending starts (warm-up included)
  Clock::time_point m_measure_start{}; // warm-up over
  Clock::time_point m_measure_end{};
  std::uint64_t m_warmup_end_ns = 0;  // on the stamps' clock
  double m_cpu_start = 0;
  std::uint64_t m_measured_arrivals = 0;
  std::uint64_t m_sent_all = 0;     // warm-up included
  std::uint64_t m_arrived_all = 0;  // this run's stamps, warm-up included
  std::uint64_t m_arrived_at_dropped = 0; // of those, at subscribers since lost
  std::uint64_t m_window_credit = 0;
  std::uint64_t m_last_arrival_ns = 0;
  std::uint64_t m_outstanding = 0;
  std::uint64_t m_socket_full = 0;
  std::uint64_t m_unstamped = 0;
  std::uint64_t m_retained = 0;
  std::uint64_t m_last_activity_ns = 0;
  // Per second.
  SecondSample m_second;
  LatencyHistogram m_second_e2e;
  LatencyHistogram m_second_ack;
  Clock::time_point m_next_tick{};
  bool m_progress_shown = false;
  // $SYS counters: first and last value seen, and whether one came after
  // the first (the retained value from before the run).
  struct SysCounter
  {
    std::int64_t first = 0;
    std::int64_t last = 0;
    bool updated = false;
  };
  std::map<std::string, SysCounter> m_sys_values;
};

void Client::on_connack(int code)
{
  run.connack(*this, code);
}
void Client::on_acknowledged(int mid, int code)
{
  run.acknowledged(*this, mid, code);
}
void Client::on_message(std::string_view t, std::string_view payload, int qos, bool retained)
{
  run.message(*this, t, payload, qos, retained);
}
void Client::on_subscribed(int, int granted)
{
  run.subscribed(*this, granted);
}
void Client::on_disconnected(bool expected, const std::string& why)
{
  run.disconnected(*this, expected, why);
}

void Client::on_ready(int ready_fd, bool readable, bool writable, bool hung_up)
{
  if (ready_fd != fd || state == State::closed || state == State::idle) {
    return;
  }
  if (state == State::connecting && (readable || hung_up)) {
    // A refused or failed connect: libmosquitto's TLS path would go on
    // waiting for it until --connect-timeout, its handshake having taken
    // the socket's error already.
    int so_error = 0;
    socklen_t length = sizeof so_error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length) == 0 && so_error != 0) {
      run.lost(*this, MosquittoClient::system_error_text(so_error));
      return;
    }
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof peer;
    if (hung_up && ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) != 0 && errno == ENOTCONN) {
      run.lost(*this, "connection refused");
      return;
    }
  }
  // While connecting, libmosquitto goes on with a TLS handshake from its
  // read side only (loop_write waits for it): read on output too.
  if (readable || (writable && state == State::connecting)) {
    const std::string why = mqtt->read(64);
    if (!why.empty()) {
      run.lost(*this, why);
      return;
    }
  }
  if (writable && state != State::closed) {
    const std::string why = mqtt->write();
    if (!why.empty()) {
      run.lost(*this, why);
      return;
    }
  }
  if (state != State::closed) {
    // The socket may change once the connect completes.
    const int now_fd = mqtt->fd();
    if (now_fd != fd) {
      run.loop.forget(fd);
      fd = now_fd;
    }
    run.rewatch(*this);
  }
}

Run::Run(const BenchPlan& p, StopSignals& signals)
  : plan(p),
    m_signals(signals)
{
  result.command = plan.command;
  m_payload.assign(std::max(plan.payload_bytes, PayloadStamp::size), 'x');
}

void Run::create_clients()
{
  const std::uint64_t total = (plan.command == "pubsub" ? plan.clients + plan.subscribers : plan.clients)
                              + (plan.sys_counters ? 1 : 0);
  const std::string flag = plan.command == "pubsub" ? fmt::format("-c {} with --subscribers {}", plan.clients, plan.subscribers)
                                                    : fmt::format("-c {}", plan.clients);
  if (const std::string problem = connection_limit_problem(total, flag); !problem.empty()) {
    throw Error(exit_code::failure, problem);
  }
  MosquittoClient::initialise_library();
  auto add = [&](Role role, std::uint32_t index, std::string_view kind) {
    auto c = std::make_unique<Client>(*this, role, index, plan.id_offset + index);
    const std::string id = role == Role::sys ? fmt::format("{}-sys", plan.client_id_prefix)
                                             : fmt::format("{}-{}-{}", plan.client_id_prefix, kind, c->number);
    c->mqtt = std::make_unique<MosquittoClient>(plan.connection, id, true, *c);
    Client* raw = c.get();
    m_clients.push_back(std::move(c));
    return raw;
  };
  if (plan.command == "pub" || plan.command == "pubsub") {
    for (std::uint32_t i = 0; i < plan.clients; ++i) {
      Client* c = add(Role::publisher, i, "pub");
      c->topic = expand_topic(plan.topic, c->number);
      m_publishers.push_back(c);
    }
    m_sent_by_publisher.assign(plan.clients, 0);
  }
  if (plan.command == "sub" || plan.command == "pubsub") {
    const std::uint32_t n = plan.command == "sub" ? plan.clients : plan.subscribers;
    for (std::uint32_t i = 0; i < n; ++i) {
      Client* c = add(Role::subscriber, i, "sub");
      c->topic = expand_topic(plan.filter, c->number);
      if (!plan.shared.empty()) {
        c->topic = fmt::format("$share/{}/{}", plan.shared, c->topic);
      }
      m_subscribers.push_back(c);
    }
    m_trackers.resize(plan.shared.empty() ? n : 1);
  }
  if (plan.command == "conn") {
    for (std::uint32_t i = 0; i < plan.clients; ++i) {
      m_holders.push_back(add(Role::holder, i, "conn"));
    }
  }
  if (plan.sys_counters) {
    m_sys = add(Role::sys, 0, "sys");
  }
}

void Run::service(Clock::time_point deadline)
{
  loop.run_once(deadline);
  for (Client* c : m_failed_connects) {
    c->mqtt.reset();
  }
  m_failed_connects.clear();
  const auto now = Clock::now();
  if (now >= m_next_tick) {
    tick(now);
  }
  if (m_signals.stopped()) {
    m_stop = true;
  }
}

void Run::tick(Clock::time_point now)
{
  m_next_tick = now + std::chrono::seconds(1);
  for (auto& c : m_clients) {
    if (c->state == Client::State::connected) {
      const std::string why = c->mqtt->misc();
      if (!why.empty()) {
        lost(*c, why);
      } else {
        rewatch(*c);
      }
    }
  }
  if (m_measuring && now >= m_measure_start) {
    const auto second = static_cast<std::uint64_t>(
      std::chrono::duration_cast<nanoseconds>(now - m_measure_start).count() / 1'000'000'000);
    while (m_second.second < second) {
      roll_second(m_second.second + 1);
    }
  }
  if (plan.progress) {
    progress_line(now, false);
  }
}

void Run::roll_second(std::uint64_t next)
{
  const LatencyHistogram& h = m_second_e2e.count() > 0 ? m_second_e2e : m_second_ack;
  m_second.p50_ns = h.percentile(50);
  m_second.p99_ns = h.percentile(99);
  m_second.max_ns = h.max();
  result.series.push_back(m_second);
  m_second = SecondSample{};
  m_second.second = next;
  m_second_e2e = LatencyHistogram{};
  m_second_ack = LatencyHistogram{};
}

void Run::progress_line(Clock::time_point now, bool final)
{
  if (final) {
    if (m_progress_shown) {
      std::fputs("\r\x1b[K", stderr);
      std::fflush(stderr);
    }
    return;
  }
  std::string line;
  const double elapsed = m_measuring ? std::chrono::duration<double>(now - m_send_start).count() : 0.0;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t acked = 0;
  for (const auto& q : result.qos) {
    sent += q.sent;
    acked += q.acknowledged;
  }
  received = m_measured_arrivals;
  std::uint64_t errors = 0;
  for (const auto& [kind, n] : result.errors) {
    errors += n;
  }
  if (!m_measuring) {
    line = fmt::format("connecting: {} of {} connected, {} failed", result.connections.connected,
                       result.connections.attempted, result.connections.failed + result.connections.refused);
  } else {
    const double measured = std::max(1e-9, std::chrono::duration<double>(now - m_measure_start).count());
    const bool warm = now < m_measure_start;
    line = fmt::format("{:.1f} s{}", elapsed, warm ? " warm-up" : "");
    if (!m_publishers.empty()) {
      line += fmt::format("  sent {} ({:.0f}/s)", sent, warm ? 0.0 : static_cast<double>(sent) / measured);
    }
    if (!m_subscribers.empty()) {
      line += fmt::format("  received {} ({:.0f}/s)", received, warm ? 0.0 : static_cast<double>(received) / measured);
    }
    if (plan.qos > 0 && !m_publishers.empty()) {
      line += fmt::format("  acked {}", acked);
    }
    const LatencyHistogram& h = result.end_to_end.count() > 0 ? result.end_to_end : result.publish_to_ack;
    if (h.count() > 0) {
      line += fmt::format("  p50 {}  p99 {}", duration_text(h.percentile(50)), duration_text(h.percentile(99)));
    }
    if (!m_holders.empty()) {
      line += fmt::format("  held {}", result.connections.connected - result.connections.dropped);
    }
  }
  line += fmt::format("  errors {}", errors);
  std::fprintf(stderr, "\r\x1b[K%s", line.c_str());
  std::fflush(stderr);
  m_progress_shown = true;
}

void Run::connack(Client& c, int code)
{
  if (c.state != Client::State::connecting) {
    return;
  }
  --m_connecting;
  if (c.role == Role::sys) {
    // Not one of the run's clients: left out of its figures.
    c.state = code == 0 ? Client::State::connected : Client::State::closed;
    return;
  }
  ++result.connections.connack_codes[code];
  const auto now = Clock::now();
  result.connect.record(static_cast<std::uint64_t>(std::chrono::duration_cast<nanoseconds>(now - c.connect_started).count()));
  if (code == 0) {
    c.state = Client::State::connected;
    ++result.connections.connected;
    ++m_second.connected;
    return;
  }
  ++result.connections.refused;
  const std::string text = MosquittoClient::refusal_text(code, plan.connection.mqtt_version);
  error(fmt::format("connack {} ({})", code, text));
  if (m_first_failure.empty()) {
    m_first_failure = fmt::format("connection refused: {} (CONNACK {})", text, code);
  }
  c.state = Client::State::closed;
  loop.forget(c.fd);
}

void Run::lost(Client& c, const std::string& why)
{
  if (c.state == Client::State::closed) {
    return;
  }
  const auto before = c.state;
  c.state = Client::State::closed;
  loop.forget(c.fd);
  if (before == Client::State::connecting) {
    --m_connecting;
    // Its socket is still open (libmosquitto closes it only on errors it
    // sees itself): closed once out of libmosquitto's frames (service()).
    m_failed_connects.push_back(&c);
    if (c.role == Role::sys) {
      return;
    }
    ++result.connections.failed;
    error("connect: " + why);
    if (m_first_failure.empty()) {
      m_first_failure = why;
    }
    return;
  }
  if (c.mqtt->disconnecting() || c.role == Role::sys) {
    return;
  }
  ++result.connections.dropped;
  error("connection lost: " + why);
  if (c.role == Role::subscriber && plan.shared.empty()) {
    m_arrived_at_dropped += c.arrived_all;
  }
  if (c.role == Role::publisher) {
    m_outstanding -= c.pending.size();
    c.pending.clear();
    c.sending_done = true;
  }
}

void Run::disconnected(Client& c, bool expected, const std::string& why)
{
  if (!expected && c.state != Client::State::closed) {
    lost(c, why);
  }
  c.state = Client::State::closed;
}

void Run::subscribed(Client& c, int granted)
{
  if (c.subscribed) {
    return; // the sys client's further SUBACKs
  }
  c.subscribed = true;
  if (c.role == Role::sys) {
    return;
  }
  --m_unsubscribed;
  if (granted >= 128 && m_refused_subscription.empty()) {
    // Thrown from subscribe_all(): never through libmosquitto's frames.
    m_refused_subscription = fmt::format("the broker refused the subscription to {} (SUBACK {})", c.topic, granted);
  }
}

void Run::acknowledged(Client& c, int mid, int code)
{
  if (plan.qos == 0 || c.role != Role::publisher) {
    return; // libmosquitto reports QoS 0 messages once written
  }
  const auto it = c.pending.find(mid);
  if (it == c.pending.end()) {
    return;
  }
  const Pending p = it->second;
  c.pending.erase(it);
  --m_outstanding;
  const std::uint64_t now_ns = steady_ns(Clock::now());
  m_last_activity_ns = now_ns;
  if (code >= 128) {
    // Not delivered: neither acknowledged nor a latency.
    error(fmt::format("publish refused ({}, reason {})", MosquittoClient::refusal_text(code, 5), code));
    return;
  }
  if (p.measured) {
    ++result.qos[static_cast<std::size_t>(plan.qos)].acknowledged;
    ++m_second.acknowledged;
    const std::uint64_t latency = now_ns > p.due_ns ? now_ns - p.due_ns : 0;
    result.publish_to_ack.record(latency);
    m_second_ack.record(latency);
  }
}

void Run::message(Client& c, std::string_view t, std::string_view payload, int qos, bool retained)
{
  if (c.role == Role::sys) {
    constexpr std::string_view prefix = "$SYS/broker/";
    if (t.substr(0, prefix.size()) != prefix) {
      return;
    }
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), v);
    if (ec != std::errc()) {
      return;
    }
    const std::string name(t.substr(prefix.size()));
    auto it = m_sys_values.find(name);
    if (it == m_sys_values.end()) {
      m_sys_values.emplace(name, SysCounter{v, v, false});
    } else {
      it->second.last = v;
      it->second.updated = true;
    }
    return;
  }
  if (c.role != Role::subscriber) {
    return;
  }
  if (retained) {
    ++m_retained; // from an earlier run: not this run's to count
    return;
  }
  const auto stamp = PayloadStamp::read(payload);
  if (!stamp) {
    ++m_unstamped;
    return;
  }
  ++m_arrived_all;
  ++c.arrived_all;
  m_last_arrival_ns = steady_ns(Clock::now());
  m_last_activity_ns = m_last_arrival_ns;
  if (stamp->warmup || !m_measuring) {
    return;
  }
  const std::uint64_t now_ns = clock_ns(stamp->realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC);
  const auto q = static_cast<std::size_t>(std::clamp(qos, 0, 2));
  m_trackers[plan.shared.empty() ? c.index : 0][q].on_message(stamp->publisher, stamp->sequence);
  ++m_measured_arrivals;
  ++c.measured_arrivals;
  ++m_second.received;
  const std::uint64_t latency = now_ns > stamp->due_ns ? now_ns - stamp->due_ns : 0;
  result.end_to_end.record(latency);
  m_second_e2e.record(latency);
}

void Run::connect_all(std::vector<Client*> group, bool all_must_connect)
{
  const auto timeout = seconds_of(plan.connection.connect_timeout);
  std::optional<SendSchedule> pace;
  if (plan.connect_rate > 0) {
    pace.emplace(plan.connect_rate, Clock::now());
  }
  std::size_t next = 0;
  std::deque<Client*> waiting; // connecting, in the order started
  while ((next < group.size() || m_connecting > 0) && !m_stop) {
    auto now = Clock::now();
    while (next < group.size() && m_connecting < plan.connects_in_flight && !m_stop && !m_signals.stopped()
           && (!pace || pace->due(next) <= now)) {
      Client& c = *group[next];
      c.connect_started = Clock::now();
      const bool counted = c.role != Role::sys;
      result.connections.attempted += counted ? 1 : 0;
      ++next;
      const std::string why = c.mqtt->connect();
      if (!why.empty()) {
        c.state = Client::State::closed;
        if (!counted) {
          continue;
        }
        ++result.connections.failed;
        if (why.find("too many open files") != std::string::npos) {
          throw Error(exit_code::failure,
                      fmt::format("cannot open connection {} to {}: {}: the open-files limit is reached ({})",
                                  result.connections.attempted, endpoint(), why, raise_open_files_limit()));
        }
        error("connect: " + why);
        if (m_first_failure.empty()) {
          m_first_failure = why;
        }
        continue;
      }
      c.state = Client::State::connecting;
      c.fd = c.mqtt->fd();
      ++m_connecting;
      waiting.push_back(&c);
      loop.watch(c.fd, c, true);
    }
    while (!waiting.empty() && waiting.front()->state != Client::State::connecting) {
      waiting.pop_front();
    }
    if (!waiting.empty() && now - waiting.front()->connect_started > timeout) {
      Client& c = *waiting.front();
      lost(c, fmt::format("no CONNACK within {} s (--connect-timeout)", plan.connection.connect_timeout));
      continue;
    }
    auto deadline = now + std::chrono::milliseconds(100);
    if (pace && next < group.size()) {
      deadline = std::min(deadline, pace->due(next));
    }
    if (!waiting.empty()) {
      deadline = std::min(deadline, waiting.front()->connect_started + timeout);
    }
    service(deadline);
  }
  if (!(group.size() == 1 && group[0]->role == Role::sys)) {
    debug("{} of {} clients connected to {}", result.connections.connected, group.size(), endpoint());
  }
  if (all_must_connect) {
    std::size_t failed = 0;
    for (Client* c : group) {
      failed += c->state != Client::State::connected ? 1 : 0;
    }
    if (m_stop && failed > 0) {
      throw Error(exit_code::failure, fmt::format("stopped by a signal while connecting ({} of {} clients connected)",
                                                  group.size() - failed, group.size()));
    }
    if (failed > 0) {
      throw Error(exit_code::failure,
                  group.size() == 1
                    ? fmt::format("cannot connect to {}: {}", endpoint(), m_first_failure)
                    : fmt::format("{} of {} clients could not connect to {}: {}", failed, group.size(), endpoint(),
                                  m_first_failure));
    }
  }
}

void Run::subscribe_all()
{
  for (Client* c : m_subscribers) {
    std::string why;
    if (c->mqtt->subscribe(c->topic, plan.sub_qos, why) < 0) {
      throw Error(exit_code::failure, fmt::format("cannot subscribe to {}: {}", c->topic, why));
    }
    ++m_unsubscribed;
    rewatch(*c);
  }
  if (m_sys != nullptr && m_sys->state == Client::State::connected) {
    for (const char* name : sys_counter_topics) {
      std::string why;
      m_sys->mqtt->subscribe(std::string("$SYS/broker/") + name, 0, why);
    }
    rewatch(*m_sys);
  }
  const auto deadline = Clock::now()
                        + seconds_of(plan.connection.connect_timeout);
  while (m_unsubscribed > 0 && !m_stop) {
    if (Clock::now() > deadline) {
      throw Error(exit_code::failure, fmt::format("no SUBACK from {} within {} s (--connect-timeout)", endpoint(),
                                                  plan.connection.connect_timeout));
    }
    for (Client* c : m_subscribers) {
      if (c->state == Client::State::closed) {
        throw Error(exit_code::failure, fmt::format("lost the connection to {} while subscribing", endpoint()));
      }
    }
    service(std::min(deadline, Clock::now() + std::chrono::milliseconds(100)));
  }
  if (!m_refused_subscription.empty()) {
    throw Error(exit_code::failure, m_refused_subscription);
  }
  if (!m_subscribers.empty()) {
    debug("{} subscribers subscribed to {}", m_subscribers.size(), m_subscribers.front()->topic);
  }
  // Retained $SYS values arrive right after their SUBACK: a moment for
  // them, so that "before" is before the run.
  if (m_sys != nullptr && m_sys->state == Client::State::connected) {
    const auto until = Clock::now() + std::chrono::milliseconds(200);
    while (Clock::now() < until && !m_stop) {
      service(until);
    }
  }
}

void Run::wait_until_start()
{
  if (!plan.start_at_unix_ns) {
    return;
  }
  for (;;) {
    const std::uint64_t now = clock_ns(CLOCK_REALTIME);
    if (now >= *plan.start_at_unix_ns || m_stop) {
      return;
    }
    const auto left = nanoseconds(std::min<std::uint64_t>(*plan.start_at_unix_ns - now, 100'000'000));
    service(Clock::now() + left);
  }
}

bool Run::closed_loop_can_send(const Client& c)
{
  if (plan.command == "pubsub") {
    // As fast as the messages come back: at most closed_loop_window per
    // subscriber on their way, or the broker's queues grow without bound and
    // the latencies measure the backlog. Should some never arrive, the
    // window moves on after a second of nothing arriving.
    std::uint64_t fanout = 1;
    if (plan.shared.empty()) {
      // The subscribers still there, and what reached them: a lost one
      // receives nothing more.
      fanout = 0;
      for (const Client* s : m_subscribers) {
        fanout += s->state == Client::State::connected ? 1 : 0;
      }
      fanout = std::max<std::uint64_t>(fanout, 1);
    }
    const std::uint64_t due = m_sent_all * fanout;
    const std::uint64_t arrived = m_arrived_all - m_arrived_at_dropped + m_window_credit;
    if (due > arrived && due - arrived >= closed_loop_window * fanout) {
      const std::uint64_t now_ns = steady_ns(Clock::now());
      if (now_ns - std::min(now_ns, m_last_arrival_ns) < 1'000'000'000) {
        return false;
      }
      m_window_credit += due - arrived;
      m_last_arrival_ns = now_ns;
    }
  }
  if (plan.qos == 0) {
    return !c.mqtt->want_write();
  }
  return c.pending.size() < std::min(static_cast<std::size_t>(plan.connection.max_inflight), max_pending);
}

void Run::publish(Client& c, std::uint64_t due_ns, Clock::time_point now)
{
  const std::uint64_t stamp_due = plan.realtime_stamps ? due_ns - steady_ns(now) + clock_ns(CLOCK_REALTIME) : due_ns;
  const bool warmup = due_ns < m_warmup_end_ns;
  PayloadStamp stamp;
  stamp.publisher = static_cast<std::uint32_t>(c.number);
  stamp.sequence = warmup ? c.warmup_seq++ : c.measured_seq++;
  stamp.due_ns = stamp_due;
  stamp.warmup = warmup;
  stamp.realtime = plan.realtime_stamps;
  stamp.write(m_payload);
  if (plan.qos == 0 && c.mqtt->want_write()) {
    ++m_socket_full;
  }
  std::string why;
  const int mid = c.mqtt->publish(c.topic, m_payload, plan.qos, plan.retain, why);
  if (mid < 0) {
    // Refused by libmosquitto itself (too large, not connected): it would
    // be refused again, so this publisher is done.
    error("publish: " + why);
    if (!warmup) {
      --c.measured_seq;
    }
    c.sending_done = true;
    return;
  }
  ++m_sent_all;
  if (!warmup) {
    ++result.qos[static_cast<std::size_t>(plan.qos)].sent;
    ++m_sent_by_publisher[c.index];
    ++m_second.sent;
    const std::uint64_t now_ns = steady_ns(now);
    const std::uint64_t lag = now_ns > due_ns ? now_ns - due_ns : 0;
    if (lag > 1'000'000) {
      ++result.behind_schedule;
    }
    result.max_lag_ns = std::max(result.max_lag_ns, lag);
  }
  if (plan.qos > 0) {
    c.pending[mid] = Pending{due_ns, !warmup};
    ++m_outstanding;
    const auto beyond = c.pending.size() > static_cast<std::size_t>(plan.connection.max_inflight)
                          ? c.pending.size() - static_cast<std::size_t>(plan.connection.max_inflight)
                          : 0;
    result.max_send_queue = std::max<std::uint64_t>(result.max_send_queue, beyond);
  }
}

void Run::measure()
{
  debug("{}", m_publishers.empty() ? "counting arrivals" : "sending");
  m_measuring = true;
  m_send_start = Clock::now();
  const auto warmup = seconds_of(plan.warmup);
  m_measure_start = m_send_start + warmup;
  m_warmup_end_ns = steady_ns(m_measure_start);
  m_last_arrival_ns = steady_ns(m_send_start);
  m_next_tick = m_send_start;
  std::optional<Clock::time_point> end;
  if (plan.duration) {
    end = m_measure_start + seconds_of(*plan.duration);
  }
  bool cpu_started = false;
  auto start_cpu = [&] {
    if (!cpu_started && Clock::now() >= m_measure_start) {
      cpu_started = true;
      m_cpu_start = cpu_seconds_now();
      result.started_unix_ns = clock_ns(CLOCK_REALTIME);
    }
  };
  if (plan.warmup == 0) {
    start_cpu();
  }
  auto publisher_done = [&](const Client& c) {
    if (c.state != Client::State::connected || c.sending_done) {
      return true;
    }
    if (plan.count && c.measured_seq >= *plan.count) {
      return true;
    }
    return false;
  };
  if (plan.command == "sub") {
    while (!m_stop) {
      const auto now = Clock::now();
      start_cpu();
      if (end && now >= *end) {
        break;
      }
      if (plan.count) {
        // A shared group splits the messages: -n counts the group's.
        bool all = plan.shared.empty() || m_measured_arrivals >= *plan.count;
        for (const Client* s : m_subscribers) {
          all = all && (!plan.shared.empty() || s->measured_arrivals >= *plan.count);
        }
        if (all) {
          break;
        }
      }
      bool alive = false;
      for (const Client* s : m_subscribers) {
        alive = alive || s->state == Client::State::connected;
      }
      if (!alive) {
        break;
      }
      service(std::min(end.value_or(Clock::time_point::max()), m_next_tick));
    }
  } else if (plan.rate) {
    // Open loop: each publisher on its own schedule, staggered so the
    // clients do not send in bursts together.
    using Due = std::pair<Clock::time_point, Client*>;
    std::priority_queue<Due, std::vector<Due>, std::greater<>> due;
    const double period = 1.0 / *plan.rate;
    for (std::size_t i = 0; i < m_publishers.size(); ++i) {
      Client& c = *m_publishers[i];
      const auto offset = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(period * static_cast<double>(i) / static_cast<double>(m_publishers.size())));
      c.schedule.emplace(*plan.rate, m_send_start + offset);
      due.emplace(c.schedule->due(0), &c);
    }
    result.target_rate = *plan.rate * static_cast<double>(m_publishers.size());
    // Publishers with max_pending messages unacknowledged: message ids
    // (16 bits) would repeat. They wait, their due times kept, so the wait
    // shows in the latencies.
    std::vector<Due> blocked;
    while ((!due.empty() || !blocked.empty()) && !m_stop) {
      auto now = Clock::now();
      start_cpu();
      const std::uint64_t quiet_ns = steady_ns(now) - std::min(m_last_activity_ns, steady_ns(now));
      if (!blocked.empty() && ((end && now >= *end) || quiet_ns >= static_cast<std::uint64_t>(seconds_of(plan.drain).count()))) {
        // The run is over, or the broker stopped acknowledging: what they
        // still had to send is not sent.
        if (!(end && now >= *end)) {
          result.warnings.push_back(fmt::format(
            "{} publishers stopped with {} messages unacknowledged and none acknowledged for {} s (--drain)",
            blocked.size(), max_pending, plan.drain));
        }
        for (const Due& d : blocked) {
          d.second->sending_done = true;
        }
        blocked.clear();
      }
      std::erase_if(blocked, [&](const Due& d) {
        if (d.second->pending.size() < max_pending || publisher_done(*d.second)) {
          due.push(d);
          return true;
        }
        return false;
      });
      std::size_t sent_now = 0;
      while (!due.empty() && due.top().first <= now && sent_now < 4096) {
        auto [when, c] = due.top();
        due.pop();
        if (end && when >= *end) {
          continue; // past the run's end: this publisher is done
        }
        if (publisher_done(*c)) {
          continue;
        }
        if (c->pending.size() >= max_pending) {
          blocked.emplace_back(when, c);
          continue;
        }
        publish(*c, steady_ns(when), now);
        ++sent_now;
        ++c->scheduled;
        rewatch(*c);
        const auto next = c->schedule->due(c->scheduled);
        if (!publisher_done(*c) && (!end || next < *end)) {
          due.emplace(next, c);
        }
      }
      if (due.empty() && blocked.empty()) {
        break;
      }
      const auto next_due = due.empty() ? m_next_tick : due.top().first;
      // A past end is no deadline (blocked publishers wait for acks).
      const auto until_end = end && *end > now ? *end : Clock::time_point::max();
      service(sent_now == 4096 ? now : std::min({next_due, m_next_tick, until_end}));
    }
  } else {
    // Closed loop: as fast as each connection takes them (QoS 0: while the
    // socket takes more; QoS 1 and 2: -M in flight).
    while (!m_stop) {
      const auto now = Clock::now();
      start_cpu();
      if (end && now >= *end) {
        break;
      }
      bool any = false;
      bool sent_any = false;
      for (Client* c : m_publishers) {
        if (publisher_done(*c)) {
          continue;
        }
        any = true;
        for (int b = 0; b < 64 && !publisher_done(*c) && closed_loop_can_send(*c); ++b) {
          // Due when sent: each its own time, or a batch's last would
          // carry the first's wait.
          const auto at = Clock::now();
          publish(*c, steady_ns(at), at);
          sent_any = true;
        }
        rewatch(*c);
      }
      if (!any) {
        break;
      }
      service(sent_any ? now : std::min(end.value_or(Clock::time_point::max()), m_next_tick));
    }
  }
  start_cpu();
  m_measure_end = Clock::now();
  result.cpu_seconds = cpu_seconds_now() - m_cpu_start;
}

std::uint64_t Run::expected_arrivals() const
{
  if (plan.command != "pubsub") {
    return 0;
  }
  std::uint64_t sent = 0;
  for (const auto& q : result.qos) {
    sent += q.sent;
  }
  return sent * (plan.shared.empty() ? m_subscribers.size() : 1);
}

void Run::drain()
{
  if (plan.command != "pub" && plan.command != "pubsub") {
    return;
  }
  debug("sending done: waiting for {} acknowledgements and {} arrivals", m_outstanding,
        expected_arrivals() > m_measured_arrivals ? expected_arrivals() - m_measured_arrivals : 0);
  const auto idle = std::chrono::duration_cast<nanoseconds>(std::chrono::duration<double>(plan.drain));
  m_last_activity_ns = steady_ns(Clock::now());
  for (;;) {
    // QoS 0: counted as sent when queued, so written out before the end.
    bool written = true;
    if (plan.qos == 0) {
      for (const Client* p : m_publishers) {
        written = written && (p->state != Client::State::connected || !p->mqtt->want_write());
      }
    }
    const bool acked = m_outstanding == 0 && written;
    const bool arrived = plan.command != "pubsub" || m_measured_arrivals >= expected_arrivals();
    bool alive = false;
    for (const Client* s : m_subscribers) {
      alive = alive || s->state == Client::State::connected;
    }
    if ((acked && arrived) || (plan.command == "pubsub" && !alive && acked)) {
      return;
    }
    if (m_stop) {
      // Stopped by a signal: what is on its way still gets a moment, so
      // that it is not counted as lost.
      if (!m_stop_drain) {
        m_stop_drain = Clock::now() + std::chrono::seconds(1);
      }
      if (Clock::now() >= *m_stop_drain || m_signals_again) {
        return;
      }
    }
    const auto now = Clock::now();
    const std::uint64_t quiet = steady_ns(now) - std::min(m_last_activity_ns, steady_ns(now));
    if (quiet >= static_cast<std::uint64_t>(idle.count())) {
      result.warnings.push_back(fmt::format("stopped waiting after {} s with nothing more arriving (--drain)", plan.drain));
      return;
    }
    service(std::min(now + std::chrono::milliseconds(100), m_next_tick));
  }
}

void Run::hold()
{
  if (!plan.duration) {
    return;
  }
  const auto end = Clock::now() + seconds_of(*plan.duration);
  while (!m_stop && Clock::now() < end) {
    service(std::min(end, m_next_tick));
  }
}

void Run::finish()
{
  if (m_measuring && m_measure_end == Clock::time_point{}) {
    m_measure_end = Clock::now();
  }
  if (m_measuring) {
    const auto second = static_cast<std::uint64_t>(
      std::max<std::int64_t>(0, std::chrono::duration_cast<nanoseconds>(Clock::now() - m_measure_start).count()) / 1'000'000'000);
    while (m_second.second < second) {
      roll_second(m_second.second + 1);
    }
    if (m_second.sent + m_second.received + m_second.acknowledged + m_second.connected + m_second.errors > 0) {
      roll_second(m_second.second + 1);
    }
  }
  result.ended_unix_ns = clock_ns(CLOCK_REALTIME);
  if (result.started_unix_ns == 0) {
    result.started_unix_ns = result.ended_unix_ns;
  }
  result.seconds = std::max(0.0, std::chrono::duration<double>(m_measure_end - m_measure_start).count());
  result.warmup_seconds = plan.warmup;
  for (const Client* c : m_holders) {
    result.connections.held += c->state == Client::State::connected ? 1 : 0;
  }
  for (const Client* c : m_publishers) {
    result.connections.held += c->state == Client::State::connected ? 1 : 0;
  }
  for (const Client* c : m_subscribers) {
    result.connections.held += c->state == Client::State::connected ? 1 : 0;
  }
  // Delivery, from the trackers.
  for (std::size_t s = 0; s < m_trackers.size(); ++s) {
    for (std::size_t q = 0; q < 3; ++q) {
      const SequenceTracker& t = m_trackers[s][q];
      const SequenceTracker::Counts totals = t.totals();
      DeliveryCounts& d = result.qos[q];
      d.received += totals.received;
      d.unique += totals.unique;
      d.duplicates += totals.duplicates;
      d.reordered += totals.reordered;
      d.too_late += totals.too_late;
    }
  }
  if (plan.command == "pubsub") {
    // Every publisher's measured messages should reach each subscriber
    // (once over a shared group), at the QoS of both ends' lower.
    const auto q = static_cast<std::size_t>(std::min(plan.qos, plan.sub_qos));
    DeliveryCounts& d = result.qos[q];
    d.expected = expected_arrivals();
    for (const auto& trackers : m_trackers) {
      for (std::size_t p = 0; p < m_publishers.size(); ++p) {
        const auto number = static_cast<std::uint32_t>(m_publishers[p]->number);
        std::uint64_t arrived = 0;
        for (const auto& t : trackers) {
          const auto counts = t.counts(number);
          arrived += counts.unique + counts.too_late;
        }
        d.lost += m_sent_by_publisher[p] > arrived ? m_sent_by_publisher[p] - arrived : 0;
      }
    }
  } else {
    // Alone, a subscriber knows what it missed from the gaps between the
    // first and the newest number it saw of each publisher: it may have
    // joined a stream already running.
    for (const auto& trackers : m_trackers) {
      for (std::size_t q = 0; q < 3; ++q) {
        result.qos[q].lost += trackers[q].lost_between_total();
      }
    }
  }
  // A counter the broker did not publish again during the run (a run
  // shorter than its sys_interval) is not known to have stayed: left out.
  bool stale = false;
  for (const auto& [name, counter] : m_sys_values) {
    if (counter.updated) {
      result.broker_counters[name] = counter.last - counter.first;
    } else {
      stale = true;
    }
  }
  if (stale && result.broker_counters.empty()) {
    result.warnings.push_back("the broker published no new $SYS counters during the run (a run shorter than its "
                              "sys_interval): none are shown");
  }
  // Honesty: say when the figures describe the client more than the broker.
  const double busy = result.seconds > 0 ? result.cpu_seconds / result.seconds : 0;
  if (busy >= 0.9 && result.seconds >= 0.5) {
    result.warnings.push_back(fmt::format(
      "mqtk-bench used {:.0f} % of its one core: these figures may describe the client rather than the broker "
      "(split the clients over processes with --id-offset and merge the results)",
      busy * 100));
  }
  if (result.target_rate > 0 && result.seconds > 0) {
    std::uint64_t sent = 0;
    for (const auto& d : result.qos) {
      sent += d.sent;
    }
    const double achieved = static_cast<double>(sent) / result.seconds;
    if (achieved < 0.95 * result.target_rate) {
      result.warnings.push_back(fmt::format("the schedule fell behind: sent {:.0f}/s against a target of {:.0f}/s",
                                            achieved, result.target_rate));
    }
  }
  if (result.behind_schedule > 0) {
    result.warnings.push_back(fmt::format("{} messages went out more than 1 ms after they were due (up to {} late); "
                                          "their latency counts from when they were due",
                                          result.behind_schedule, duration_text(result.max_lag_ns)));
  }
  if (result.max_send_queue > 0) {
    result.warnings.push_back(fmt::format(
      "up to {} messages waited in a client's queue behind -M {} in flight", result.max_send_queue,
      plan.connection.max_inflight));
  }
  if (m_socket_full > 0 && plan.rate) {
    result.warnings.push_back(fmt::format("{} messages were due while their socket was still full", m_socket_full));
  }
  if (m_unstamped > 0) {
    result.warnings.push_back(fmt::format("{} messages without mqtk-bench's stamp were not counted", m_unstamped));
  }
  if (m_retained > 0) {
    result.warnings.push_back(fmt::format("{} retained messages (from before the run) were not counted", m_retained));
  }
  if (m_stop) {
    result.warnings.push_back("stopped early by a signal");
  }
  if (plan.progress) {
    progress_line(Clock::now(), true);
  }
}

BenchResult Run::run()
{
  create_clients();
  loop.watch(m_signals.fd(), m_signal_watch, false);
  m_next_tick = Clock::now() + std::chrono::seconds(1);
  if (plan.command == "conn") {
    if (m_sys != nullptr) {
      connect_all({m_sys}, false);
      subscribe_all();
    }
    wait_until_start();
    m_cpu_start = cpu_seconds_now();
    m_measuring = true;
    m_send_start = m_measure_start = Clock::now();
    result.started_unix_ns = clock_ns(CLOCK_REALTIME);
    const auto connecting = m_send_start;
    connect_all(m_holders, false);
    const auto connected = Clock::now();
    result.cpu_seconds = cpu_seconds_now() - m_cpu_start;
    if (result.connections.connected == 0 && !m_stop) {
      throw Error(exit_code::failure, fmt::format("cannot connect to {}: {}", endpoint(), m_first_failure));
    }
    hold();
    // The measured part is the connecting; holding only checks they stay.
    m_measure_start = connecting;
    m_measure_end = connected;
  } else {
    std::vector<Client*> all;
    for (auto& c : m_clients) {
      if (c.get() != m_sys) {
        all.push_back(c.get());
      }
    }
    if (m_sys != nullptr) {
      connect_all({m_sys}, false);
    }
    connect_all(all, true);
    subscribe_all();
    wait_until_start();
    measure();
    drain();
  }
  finish();
  // Say goodbye: DISCONNECT to each, written out for up to a second.
  for (auto& c : m_clients) {
    if (c->state == Client::State::connected) {
      c->mqtt->disconnect();
      rewatch(*c);
    }
  }
  const auto until = Clock::now() + std::chrono::seconds(1);
  for (;;) {
    bool open = false;
    for (auto& c : m_clients) {
      open = open || (c->state == Client::State::connected && c->mqtt->want_write());
    }
    if (!open || Clock::now() >= until) {
      break;
    }
    loop.run_once(std::min(until, Clock::now() + std::chrono::milliseconds(50)));
  }
  return result;
}

} // namespace

BenchResult run_bench(const BenchPlan& plan, StopSignals& signals)
{
  Run run(plan, signals);
  try {
    return run.run();
  } catch (...) {
    // The error's message goes on a line of its own, not after the
    // progress line.
    if (plan.progress) {
      std::fputs("\r\x1b[K", stderr);
      std::fflush(stderr);
    }
    throw;
  }
}

} // namespace mqtk
