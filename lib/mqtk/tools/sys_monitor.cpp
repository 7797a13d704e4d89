#include "mqtk/tools/sys_monitor.hpp"
#include "mqtk/process/option_values.hpp"

#include "mqtk/connection/connection.hpp"
#include "mqtk/mqtt/topic.hpp"
#include "mqtk/process/error.hpp"
#include "mqtk/output/atomic_file.hpp"
#include "mqtk/output/color.hpp"
#include "mqtk/process/stop_signals.hpp"
#include "mqtk/rules/alert_rule.hpp"
#include "mqtk/rules/filter_expression.hpp"
#include "mqtk/rules/payload_value.hpp"
#include "mqtk/sys/broker_model.hpp"
#include "mqtk/sys/live_view.hpp"
#include "mqtk/sys/metrics_server.hpp"
#include "mqtk/sys/snapshot.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace mqtk {

namespace {

constexpr std::string_view tool_name = "mqtk-sys-monitor";
using Clock = BrokerModel::Clock;
// mosquitto publishes a round in one burst; this long without a message
// after one ends it.
constexpr std::chrono::milliseconds round_quiet{250};

namespace nagios {
constexpr int ok = 0;
constexpr int warning = 1;
constexpr int critical = 2;
constexpr int unknown = 3;
} // namespace nagios

} // namespace

void add_sys_monitor_options(CLI::App& app, SysMonitorOptions& o)
{
  add_connection_options(app, o.connection);
  auto* g = app.add_option_group("Monitoring");
  g->add_option("-t,--topic", o.topic, "$SYS filter to watch (default: $SYS/#)")
    ->type_name("FILTER");
  g->add_flag("--once", o.once,
              "Print one snapshot once rates are known (two or three rounds), then exit with a Nagios status");
  g->add_option("--timeout", o.timeout, "Seconds to wait for the first $SYS (with --once: for the snapshot; default: 30)")
    ->check(number_in(0.001, 31536000, "seconds from 0.001 to 31536000 (a year)"))
    ->type_name("SECONDS");
  auto* out = app.add_option_group("Output");
  out->add_flag("-j,--json", o.json, "Print snapshots as JSON Lines (same as --format json)");
  out->add_option("--format", o.format,
                  "live (full-screen, the default on a terminal), text (the default otherwise), json or prometheus")
    ->check(one_of({"live", "text", "json", "prometheus"}))
    ->type_name("FORMAT");
  out->add_option("--output", o.output,
                  "Write each snapshot to FILE instead of stdout, replacing it atomically (for node_exporter's "
                  "textfile collector)")
    ->type_name("FILE");
  out->add_option("--listen", o.listen,
                  "Serve the Prometheus metrics at http://HOST:PORT/metrics ([HOST:]PORT; host default 127.0.0.1)")
    ->type_name("[HOST:]PORT");
  auto* c = app.add_option_group("Checks", "Conditions on the snapshot, e.g. '.clients.connected > 100'");
  c->add_option("--warn-when", o.warn_when, "WARNING when this holds (Nagios status 1 with --once)")
    ->type_name("EXPR");
  c->add_option("--alert-when", o.alert_when, "CRITICAL when this holds (Nagios status 2 with --once)")
    ->type_name("EXPR");
  c->add_option("--alert-topic", o.alert_topic,
                "Without --once: also publish each warning and alert (once per false-to-true turn) to this topic")
    ->type_name("TOPIC");
}

int sys_monitor_usage_exit_code(int argc, char** argv)
{
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--once") {
      return nagios::unknown;
    }
  }
  return exit_code::failure;
}

void validate(SysMonitorOptions& o)
{
  if (o.topic == "$SYS/#" && o.connection.url_topic) {
    o.topic = *o.connection.url_topic;
  }
  validate_topic_filter(o.topic, "-t");
  if (o.topic.front() != '$') {
    throw UsageError(fmt::format("-t: '{}' is not a $SYS filter; $SYS trees begin with '$'", o.topic));
  }
  if (o.json) {
    if (!o.format.empty() && o.format != "json") {
      throw UsageError(fmt::format("-j and --format {} exclude each other", o.format));
    }
    o.format = "json";
  }
  if (o.format.empty()) {
    o.format = ::isatty(1) != 0 && o.output.empty() && !o.once ? "live" : "text";
  }
  if (o.format == "live" && o.once) {
    throw UsageError("--once prints one snapshot: use it with --format text, json or prometheus");
  }
  if (o.format == "live" && ::isatty(1) == 0) {
    throw UsageError("--format live needs a terminal on stdout");
  }
  if (!o.output.empty() && o.format == "live") {
    throw UsageError("--output takes --format text, json or prometheus");
  }
  if (o.alert_topic) {
    validate_publish_topic(*o.alert_topic, "--alert-topic");
    if (!o.warn_when && !o.alert_when) {
      throw UsageError("--alert-topic needs --warn-when or --alert-when");
    }
    if (o.once) {
      throw UsageError("--alert-topic is for watching: with --once the exit status is the alert");
    }
  }
  if (!o.listen.empty()) {
    if (o.once) {
      throw UsageError("--listen serves metrics while watching: it cannot be used with --once");
    }
    (void)parse_listen_address(o.listen); // throws UsageError
  }
}

namespace {

std::string rate_text(const nlohmann::ordered_json& j, const char* key)
{
  const auto& r = j["rates"][key];
  return r.is_number() ? fmt::format("{:.1f}", r.get<double>()) : std::string("-");
}

// One line per round for a log or a pipe.
// `color`: up=no and STALE in red, up=yes in green (--color, on a terminal).
std::string text_line(const nlohmann::ordered_json& j, bool color = false)
{
  const auto& b = j["broker"];
  auto get = [&](const char* group, const char* name) -> std::string {
    if (j.contains(group) && j[group].contains(name)) {
      return j[group][name].dump();
    }
    return "-";
  };
  return fmt::format("{} up={} uptime={} clients={} subscriptions={} retained={} publish_in/s={} publish_out/s={} "
                     "dropped/s={}{}\n",
                     b.contains("version") ? b["version"].get<std::string>() : std::string("broker"),
                     b["up"].get<bool>() ? painted("yes", Paint::good, color) : painted("no", Paint::bad, color),
                     b.contains("uptime_seconds") ? b["uptime_seconds"].dump() + "s" : std::string("-"),
                     get("clients", "connected"), get("subscriptions", "count"), get("retained", "messages"),
                     rate_text(j, "publish_received_per_s"), rate_text(j, "publish_sent_per_s"),
                     rate_text(j, "publish_dropped_per_s"),
                     b["stale"].get<bool>() ? " " + painted("STALE", Paint::bad, color) : std::string());
}

// The Nagios plugin line: status, summary, then performance data.
// `color`: the status word in green, yellow or red (--color, on a terminal;
// Nagios itself reads a pipe, so never there unless --color always).
std::string nagios_line(int status, const nlohmann::ordered_json& j, std::string_view reason, bool color = false)
{
  static constexpr std::string_view names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};
  static constexpr Paint paints[] = {Paint::good, Paint::warning, Paint::bad, Paint::warning};
  std::string line = fmt::format("MQTT BROKER {} - ", painted(names[status], paints[status], color));
  if (!reason.empty()) {
    line += fmt::format("{}; ", reason);
  }
  const auto& b = j["broker"];
  line += b.contains("version") ? b["version"].get<std::string>() : std::string("broker");
  if (b.contains("uptime_seconds")) {
    line += fmt::format(", up {} s", b["uptime_seconds"].dump());
  }
  if (j.contains("clients") && j["clients"].contains("connected")) {
    line += fmt::format(", {} clients", j["clients"]["connected"].dump());
  }
  line += " |";
  auto perf = [&](std::string_view label, const nlohmann::ordered_json& v) {
    if (v.is_number()) {
      line += fmt::format(" {}={}", label, v.dump());
    }
  };
  if (j.contains("clients")) {
    perf("clients_connected", j["clients"].value("connected", nlohmann::ordered_json()));
  }
  if (j.contains("subscriptions")) {
    perf("subscriptions", j["subscriptions"].value("count", nlohmann::ordered_json()));
  }
  if (j.contains("retained")) {
    perf("retained_messages", j["retained"].value("messages", nlohmann::ordered_json()));
  }
  for (const char* r : {"messages_received_per_s", "messages_sent_per_s", "publish_received_per_s",
                        "publish_sent_per_s", "publish_dropped_per_s"}) {
    perf(r, j["rates"][r]);
  }
  if (b.contains("uptime_seconds")) {
    line += fmt::format(" uptime={}s", b["uptime_seconds"].dump());
  }
  line.push_back('\n');
  return line;
}

class Monitor
{
public:
  explicit Monitor(const SysMonitorOptions& o)
    : m_o(o)
  {
    if (o.warn_when) {
      m_warn.emplace(FilterExpression::parse(*o.warn_when, "--warn-when"), std::nullopt, true,
                     std::chrono::duration<double>(0));
      m_warn->when().refuse_properties("--warn-when", "and $SYS values carry none");
    }
    if (o.alert_when) {
      m_alert.emplace(FilterExpression::parse(*o.alert_when, "--alert-when"), std::nullopt, true,
                      std::chrono::duration<double>(0));
      m_alert->when().refuse_properties("--alert-when", "and $SYS values carry none");
    }
  }

  // Feeds the model from `connection` (a new one after a reconnect). Before
  // its connect().
  void attach(Connection& connection)
  {
    connection.on_message([this](const MessageView& m) {
      std::lock_guard lock(m_mutex);
      const auto now = Clock::now();
      if (m.topic == "$SYS/broker/uptime" && m_round_open) {
        const auto before = m_model.rounds();
        m_model.end_round(now); // the next round began: the last one is complete
        if (m_model.rounds() != before) {
          ++m_rounds_ended;
        }
      }
      m_model.update(m.topic, m.payload, now);
      m_round_open = true;
      m_last_message = now;
      m_changed.notify_all();
    });
    connection.on_connection_lost([this](const std::string& reason) {
      std::lock_guard lock(m_mutex);
      m_lost = reason.empty() ? std::string("connection lost") : reason;
      m_changed.notify_all();
    });
  }

  // Wakes wait() to look at the keyboard.
  void poke()
  {
    std::lock_guard lock(m_mutex);
    m_poked = true;
    m_changed.notify_all();
  }

  void stop(int signal_number)
  {
    std::lock_guard lock(m_mutex);
    m_signal = signal_number;
    m_changed.notify_all();
  }

  enum class Wake { round, stale, timeout, stopped, lost, tick };

  // Waits until a round ends (a burst followed by quiet), `until`, a signal,
  // a lost connection or `tick` has passed.
  Wake wait(std::optional<Clock::time_point> until, std::chrono::milliseconds tick)
  {
    std::unique_lock lock(m_mutex);
    const auto tick_at = Clock::now() + tick;
    while (true) {
      if (m_signal != 0) {
        return Wake::stopped;
      }
      if (!m_lost.empty()) {
        return Wake::lost;
      }
      const auto now = Clock::now();
      if (m_rounds_ended != m_rounds_reported) {
        m_rounds_reported = m_rounds_ended;
        return Wake::round;
      }
      if (m_round_open && now - m_last_message >= round_quiet) {
        const auto before = m_model.rounds();
        m_model.end_round(now);
        m_round_open = false;
        if (m_model.rounds() != before || before == 0) {
          m_rounds_reported = ++m_rounds_ended;
          return Wake::round;
        }
        continue; // a later burst of the same round: its values are in, nothing new to report
      }
      if (until && now >= *until) {
        return Wake::timeout;
      }
      // Updates stopped: once per episode, the outputs are told (a frozen
      // broker must not keep showing "up").
      const auto stale_at = m_model.stale_at();
      if (stale_at && now > *stale_at && m_stale_reported != *stale_at) {
        m_stale_reported = *stale_at;
        return Wake::stale;
      }
      if (m_poked) {
        m_poked = false;
        return Wake::tick;
      }
      if (now >= tick_at) {
        return Wake::tick;
      }
      auto wake = m_round_open ? m_last_message + round_quiet : tick_at;
      wake = std::min(wake, tick_at);
      if (stale_at && m_stale_reported != *stale_at) {
        wake = std::min(wake, *stale_at + std::chrono::milliseconds(1));
      }
      if (until) {
        wake = std::min(wake, *until);
      }
      m_changed.wait_until(lock, wake);
    }
  }

  // The snapshot now, under the lock.
  nlohmann::ordered_json snapshot()
  {
    std::lock_guard lock(m_mutex);
    return snapshot_json(m_model, m_lost.empty(), Clock::now());
  }

  std::string prometheus()
  {
    std::lock_guard lock(m_mutex);
    return prometheus_text(m_model, m_lost.empty(), Clock::now(), std::chrono::system_clock::now());
  }

  // Copies what the live view draws.
  template <typename F>
  auto with_model(F f)
  {
    std::lock_guard lock(m_mutex);
    return f(m_model, m_lost.empty());
  }

  bool any()
  {
    std::lock_guard lock(m_mutex);
    return m_model.any();
  }

  // Rates are known: some counter has one, or three rounds came (mosquitto
  // retains $SYS values for 60 s only, so on a quiet broker the counters
  // may first appear in the second round, and their rates in the third).
  bool has_rates()
  {
    std::lock_guard lock(m_mutex);
    if (m_model.rounds() >= 3) {
      return true;
    }
    for (std::size_t i = 0; i < sys_metrics().size(); ++i) {
      if (m_model.rate(i)) {
        return true;
      }
    }
    return false;
  }

  // Connected again: the model goes on (a restart shows in its uptime).
  void reconnected()
  {
    std::lock_guard lock(m_mutex);
    m_lost.clear();
  }

  // A reconnect attempt failed: still down.
  void lost_again()
  {
    std::lock_guard lock(m_mutex);
    if (m_lost.empty()) {
      m_lost = "connection lost";
    }
  }

  // Sleeps until `until` or a signal; false on a signal.
  // Sleeps until `until`, a signal or a key (poke()); false on a signal.
  bool sleep_until(Clock::time_point until)
  {
    std::unique_lock lock(m_mutex);
    m_changed.wait_until(lock, until, [&] { return m_signal != 0 || m_poked; });
    m_poked = false;
    return m_signal == 0;
  }

  std::string lost_reason()
  {
    std::lock_guard lock(m_mutex);
    return m_lost;
  }

  int signal_number()
  {
    std::lock_guard lock(m_mutex);
    return m_signal;
  }

  // Evaluates the checks on a snapshot: 0 OK, 1 warning, 2 critical; the
  // condition that holds in `which`.
  int check(const nlohmann::ordered_json& j, std::string& which)
  {
    const std::string text = j.dump();
    MessageView view{"$SYS", text, 0, false, 0};
    PayloadValue value(view);
    const auto now = Clock::now();
    int status = 0;
    if (m_alert && m_alert->when().matches(value)) {
      status = 2;
      which = fmt::format("--alert-when {}", m_alert->when().text());
    } else if (m_warn && m_warn->when().matches(value)) {
      status = 1;
      which = fmt::format("--warn-when {}", m_warn->when().text());
    }
    // Watching: report each false-to-true turn once.
    m_new_turns.clear();
    if (m_alert && m_alert->should_alert(value, now)) {
      m_new_turns.push_back({"critical", m_alert->when().text()});
    }
    if (m_warn && m_warn->should_alert(value, now)) {
      m_new_turns.push_back({"warning", m_warn->when().text()});
    }
    return status;
  }

  struct Turn
  {
    std::string level;
    std::string condition;
  };
  const std::vector<Turn>& new_turns() const noexcept { return m_new_turns; }

private:
  const SysMonitorOptions& m_o;
  std::optional<AlertRule> m_warn;
  std::optional<AlertRule> m_alert;
  std::vector<Turn> m_new_turns;

  std::mutex m_mutex;
  std::condition_variable m_changed;
  BrokerModel m_model;
  bool m_round_open = false;
  Clock::time_point m_last_message{};
  std::uint64_t m_rounds_ended = 0;
  std::uint64_t m_rounds_reported = 0;
  std::string m_lost;
  int m_signal = 0;
  bool m_poked = false;
  std::optional<Clock::time_point> m_stale_reported;
};

// Live view: pokes the monitor whenever a key is waiting on stdin, so keys
// are read at once without a polling loop.
class KeyWatcher
{
public:
  KeyWatcher(Monitor& monitor, int stop_fd)
  {
    if (::pipe2(m_quit, O_CLOEXEC) != 0) {
      m_quit[0] = m_quit[1] = -1;
    }
    m_thread = std::thread([this, &monitor, stop_fd] {
      while (true) {
        pollfd fds[3] = {{0, POLLIN, 0}, {stop_fd, POLLIN, 0}, {m_quit[0], POLLIN, 0}};
        if (::poll(fds, 3, -1) < 0) {
          if (errno == EINTR) {
            continue;
          }
          return;
        }
        if (fds[1].revents != 0 || fds[2].revents != 0) {
          return;
        }
        monitor.poke();
        // Let the main thread read the key before looking again.
        std::unique_lock lock(m_mutex);
        m_read.wait_for(lock, std::chrono::milliseconds(50));
      }
    });
  }
  ~KeyWatcher()
  {
    char byte = 1;
    [[maybe_unused]] auto n = ::write(m_quit[1], &byte, 1);
    m_thread.join();
    ::close(m_quit[0]);
    ::close(m_quit[1]);
  }
  KeyWatcher(const KeyWatcher&) = delete;
  KeyWatcher& operator=(const KeyWatcher&) = delete;

private:
  int m_quit[2] = {-1, -1};
  std::mutex m_mutex;
  std::condition_variable m_read;
  std::thread m_thread;
};

std::string no_sys_text(const SysMonitorOptions& o)
{
  return fmt::format("no $SYS messages on '{}' from {} within {} s: the broker may not publish $SYS "
                     "(mosquitto: sys_interval 0) or its ACL may deny this client reading it",
                     o.topic, endpoint_text(o.connection), o.timeout);
}

// --once: one snapshot, the Nagios status. Every failure is UNKNOWN.
int run_once(SysMonitorOptions& o, Connection& connection, Monitor& monitor, const Connection::Deadline& deadline)
{
  bool rates = false;
  while (!rates) {
    auto wake = monitor.wait(deadline, std::chrono::milliseconds(1000));
    if (wake == Monitor::Wake::stopped) {
      return 128 + monitor.signal_number();
    }
    if (wake == Monitor::Wake::lost) {
      throw Error(nagios::unknown, fmt::format("lost the connection to {}: {}", endpoint_text(o.connection),
                                               monitor.lost_reason()));
    }
    if (wake == Monitor::Wake::timeout) {
      if (!monitor.any()) {
        throw Error(nagios::unknown, no_sys_text(o));
      }
      break; // values without rates: still a snapshot
    }
    rates = monitor.has_rates();
  }
  auto j = monitor.snapshot();
  std::string which;
  int status = monitor.check(j, which);
  std::string out;
  if (o.format == "json") {
    j["status"] = status;
    out = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else if (o.format == "prometheus") {
    out = monitor.prometheus();
  } else {
    out = nagios_line(status, j, which, o.output.empty() && color_choice().out);
  }
  if (!o.output.empty()) {
    replace_file(o.output, out, "--output");
  } else {
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  connection.disconnect();
  return status;
}

} // namespace

namespace {

// Set once a --once failure has printed its UNKNOWN line.
bool unknown_line_printed = false;

void print_unknown_line(std::string_view what)
{
  const std::string line = fmt::format("MQTT BROKER UNKNOWN - {}\n", what);
  std::fwrite(line.data(), 1, line.size(), stdout);
  unknown_line_printed = true;
}

int monitor_broker(SysMonitorOptions& o, StopSignals& stop);

} // namespace

int run_sys_monitor(SysMonitorOptions& o)
{
  StopSignals stop;
  resolve(o.connection, tool_name);
  validate(o);
  if (!o.once) {
    return monitor_broker(o, stop);
  }
  // Every --once failure is Nagios' UNKNOWN, with its line on stdout.
  try {
    return monitor_broker(o, stop);
  } catch (const Error& e) {
    if (!unknown_line_printed) {
      print_unknown_line(e.what());
    }
    throw Error(nagios::unknown, e.what());
  }
}

namespace {

int monitor_broker(SysMonitorOptions& o, StopSignals& stop)
{
  std::optional<MetricsServer> server;
  Monitor monitor(o);
  auto connection = std::make_unique<Connection>(o.connection, tool_name);
  monitor.attach(*connection);
  std::atomic<bool> connected{false};
  // The connection a signal cancels (replaced on each reconnect).
  std::mutex current_mutex;
  Connection* current = connection.get();
  if (o.format == "live") {
    stop.on_forced_exit([] { LiveView::restore_terminal_from_other_thread(); });
  }
  stop.start([&](int signal_number) {
    if (!connected.load()) {
      if (o.format == "live") {
        LiveView::restore_terminal_from_other_thread();
      }
      ::_exit(128 + signal_number);
    }
    monitor.stop(signal_number);
    std::lock_guard lock(current_mutex);
    if (current != nullptr) {
      current->cancel(); // a connect or subscribe under way ends now
    }
  });
  // Declared last, destroyed first: a signal during the teardown no longer
  // reaches what the lambda above uses.
  struct Disarm
  {
    StopSignals& stop;
    ~Disarm() { stop.disarm(); }
  } disarm{stop};
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(o.timeout));
  const Connection::Deadline first_deadline = o.once ? Connection::Deadline(deadline) : std::nullopt;
  try {
    connection->connect(first_deadline);
    connected.store(true);
    auto granted = connection->subscribe({o.topic}, 0, first_deadline);
    if (!granted.empty() && granted[0] >= 128) {
      throw Error(o.once ? nagios::unknown : exit_code::failure,
                  fmt::format("the broker refused the subscription to '{}' (code {}): access denied", o.topic,
                              granted[0]));
    }
    if (!o.listen.empty()) {
      server.emplace(o.listen);
    }
  } catch (const Error& e) {
    if (o.once && e.code() == exit_code::timeout) {
      throw timed_out(e, o.timeout, "--timeout", nagios::unknown);
    }
    throw;
  }
  if (o.once) {
    return run_once(o, *connection, monitor, deadline);
  }

  std::optional<LiveView> view;
  std::optional<KeyWatcher> keys;
  if (o.format == "live") {
    view.emplace(o.connection, stop.fd());
    keys.emplace(monitor, stop.fd());
  }
  // A snapshot to every output, and the checks: after each round, when
  // updates stop, and when the connection is lost. False once stdout is
  // closed.
  auto report = [&]() -> bool {
    auto j = monitor.snapshot();
    std::string which;
    monitor.check(j, which);
    for (const auto& turn : monitor.new_turns()) {
      const std::string alert = fmt::format(R"({{"level":"{}","when":{},"broker":{}}})", turn.level,
                                            nlohmann::json(turn.condition).dump(),
                                            nlohmann::json(endpoint_text(o.connection)).dump());
      if (!view && !o.connection.quiet) {
        fmt::print(stderr, "{}: {}: {} holds\n", tool_name, turn.level == "critical" ? "ALERT" : "WARNING",
                   turn.condition);
      }
      if (o.alert_topic && connection->is_connected()) {
        connection->publish(*o.alert_topic, alert, 0, false);
      }
    }
    if (server) {
      server->set_metrics(monitor.prometheus());
    }
    if (view) {
      view->set_check(which); // drawn until the condition no longer holds
      return true;
    }
    std::string out;
    if (o.format == "json") {
      out = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    } else if (o.format == "prometheus") {
      out = monitor.prometheus();
    } else {
      out = text_line(j, o.output.empty() && color_choice().out);
    }
    if (!o.output.empty()) {
      replace_file(o.output, out, "--output");
      return true;
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    return std::ferror(stdout) == 0;
  };
  bool any_seen = false;
  while (true) {
    // Live: a redraw a second shows staleness and follows resizes; else
    // nothing wakes this thread but $SYS messages.
    Monitor::Wake wake = monitor.wait(any_seen ? std::nullopt : std::optional(deadline),
                                      view ? std::chrono::milliseconds(1000) : std::chrono::hours(24));
    if (view && view->quit_requested()) {
      break;
    }
    if (wake == Monitor::Wake::stopped) {
      break;
    }
    if (wake == Monitor::Wake::lost) {
      // Watching goes on: reconnect, 1 s after the loss and then up to 30 s
      // apart, the snapshot saying the broker is down meanwhile.
      if (!view && !o.connection.quiet) {
        fmt::print(stderr, "{}: lost the connection to {} ({}); reconnecting\n", tool_name,
                   endpoint_text(o.connection), monitor.lost_reason());
      }
      if (!report()) {
        break;
      }
      auto pause = std::chrono::seconds(1);
      bool back = false;
      while (!back) {
        if (view) {
          monitor.with_model([&](const BrokerModel& model, bool up) {
            view->draw(model, up, Clock::now());
            return 0;
          });
        }
        const auto retry_at = Clock::now() + pause;
        bool quit = false;
        while (Clock::now() < retry_at && !quit) {
          if (!monitor.sleep_until(retry_at)) {
            quit = true;
          }
          quit = quit || (view && view->quit_requested());
        }
        if (quit) {
          break;
        }
        pause = std::min(pause * 2, std::chrono::seconds(30));
        try {
          auto fresh = std::make_unique<Connection>(o.connection, tool_name);
          {
            std::lock_guard lock(current_mutex);
            current = fresh.get();
          }
          // Cleared before connecting: a loss of the fresh connection after
          // this is its own and is seen.
          monitor.reconnected();
          monitor.attach(*fresh);
          try {
            fresh->connect();
            auto granted = fresh->subscribe({o.topic}, 0);
            if (!granted.empty() && granted[0] >= 128) {
              fresh->disconnect();
              throw Error(exit_code::failure, "subscription refused");
            }
          } catch (const Error&) {
            std::lock_guard lock(current_mutex);
            current = connection.get();
            monitor.lost_again();
            throw;
          }
          std::lock_guard lock(current_mutex);
          connection = std::move(fresh);
          current = connection.get();
          back = true;
        } catch (const Error&) {
          // still down: try again later
        }
      }
      if (!back) {
        break; // a signal or q while down
      }
      if (!view && !o.connection.quiet) {
        fmt::print(stderr, "{}: connected to {} again\n", tool_name, endpoint_text(o.connection));
      }
      continue;
    }
    if (wake == Monitor::Wake::timeout) {
      keys.reset();
      view.reset();
      throw Error(exit_code::failure, no_sys_text(o));
    }
    if (view) {
      monitor.with_model([&](const BrokerModel& model, bool up) {
        view->draw(model, up, Clock::now());
        return 0;
      });
    }
    if (wake != Monitor::Wake::round && wake != Monitor::Wake::stale) {
      continue;
    }
    any_seen = any_seen || monitor.any();
    if (!report()) {
      break; // the reader went away (| head)
    }
  }
  keys.reset();
  view.reset();
  connection->disconnect();
  return exit_code::ok; // q, a signal or a closed stdout: a normal end, as mqtk-sub
}

} // namespace

} // namespace mqtk
