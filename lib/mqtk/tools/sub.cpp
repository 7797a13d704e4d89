#include "mqtk/tools/sub.hpp"
#include "mqtk/process/option_values.hpp"

#include "mqtk/process/alarm.hpp"
#include "mqtk/connection/connection.hpp"
#include "mqtk/process/error.hpp"
#include "mqtk/process/exec_runner.hpp"
#include "mqtk/output/color.hpp"
#include "mqtk/output/format.hpp"
#include "mqtk/output/writer.hpp"
#include "mqtk/process/stop_signals.hpp"
#include "mqtk/mqtt/topic.hpp"
#include "mqtk/output/atomic_file.hpp"
#include "mqtk/output/reader_watch.hpp"
#include "mqtk/plot/chart_axes.hpp"
#include "mqtk/plot/live_chart.hpp"
#include "mqtk/plot/svg_chart.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <memory>
#include <unistd.h>
#include <cstring>
#include <limits>
#include <random>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace mqtk {

void add_sub_options(CLI::App& app, SubOptions& o)
{
  add_connection_options(app, o.connection, {.reconnects = true});
  auto* g = app.add_option_group("Subscribing");
  g->add_option("-t,--topic", o.topics, "Topic filter to subscribe to (repeatable)")
    ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->allow_extra_args(false)
    ->type_name("FILTER");
  g->add_option("-T,--filter-out", o.filter_out, "Do not print messages matching this filter (repeatable)")
    ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->allow_extra_args(false)
    ->type_name("FILTER");
  g->add_option("-U,--unsubscribe", o.unsubscribe, "Unsubscribe from this filter (repeatable)")
    ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->allow_extra_args(false)
    ->type_name("FILTER");
  g->add_option("-q,--qos", o.qos, "Subscription QoS: 0, 1 or 2 (default: 0)")
    ->transform(integer_in(0, 2, "0, 1 or 2"))
    ->type_name("QOS");
  g->add_option("-C,--count", o.count, "Exit after printing this many messages")
    ->transform(integer_in(1, 2147483647, "a count of at least 1"))
    ->type_name("COUNT");
  g->add_option("-W,--timeout", o.timeout, "Exit with code 27 after this many seconds")
    ->check(number_in(0.001, 31536000, "seconds from 0.001 to 31536000 (a year)"))
    ->type_name("SECONDS");
  g->add_flag("-R,--no-stale", o.no_stale, "Do not print retained (stale) messages");
  g->add_flag("--retained-only", o.retained_only,
              "Print only retained messages; exit at the first message that is not");
  g->add_flag("-E,--exit-after-subscribe", o.exit_after_subscribe, "Exit once the subscriptions are acknowledged");
  g->add_flag("--no-local", o.no_local, "MQTT 5: do not receive the messages this client publishes");
  g->add_flag("--retain-as-published", o.retain_as_published,
              "MQTT 5: keep the retain flag messages were published with");
  g->add_option("--retain-handling", o.retain_handling,
                "MQTT 5: retained messages at subscribe: 0 send (default), 1 only for a new subscription, 2 none")
    ->transform(integer_in(0, 2, "0, 1 or 2"))
    ->type_name("0|1|2");
  g->add_flag("--remove-retained", o.remove_retained, "Clear each retained message received (-T excludes)");
  g->add_option("--random-filter", o.random_filter, "Print only this percentage of messages, at random")
    ->check(number_in(0.1, 100, "a percentage from 0.1 to 100"))
    ->type_name("PERCENT");
  auto* out = app.add_option_group("Output");
  out->add_flag("-v,--verbose", o.verbose, "Print the topic before each payload");
  out->add_flag("-N,--no-eol", o.no_eol, "Print no newline after each payload");
  out->add_option("-F,--format", o.format, "Output format (mosquitto's %, @ and \\ sequences)")
    ->type_name("FORMAT");
  out->add_flag("-j,--json", o.json, "Print JSON Lines: tst, topic, qos, retain, payload");
  out->add_flag("--pretty", o.pretty, "Indent JSON output (-j, %j, %J) over several lines");
  add_rule_options(app, o.rules);
  add_plot_options(app, o.plot);
  // --exec itself is cut out of argv by run_tool, since it takes every
  // argument after it; the group description documents it in --help.
  auto* e = app.add_option_group(
    "Commands", "--exec CMD [ARGS...]  (must come last) run CMD for each matching message (each alert with "
                "--exec-on alert), without a shell: "
                "the payload on its stdin, MQTT_TOPIC, MQTT_QOS, MQTT_RETAIN and the MQTT 5 properties (MQTT_RESPONSE_TOPIC, "
                "MQTT_CORRELATION_DATA, MQTT_CONTENT_TYPE, MQTT_USER_PROPERTY_NAME, ...) in its environment");
  e->add_option("--exec-jobs", o.exec_jobs, "Most --exec commands running at once (default: 1)")
    ->transform(integer_in(1, 1024, "a number from 1 to 1024"))
    ->type_name("N");
  e->add_option("--exec-queue", o.exec_queue, "Most --exec commands waiting to start (default: 1000)")
    ->transform(integer_in(1, 1000000, "a number from 1 to 1000000"))
    ->type_name("N");
  e->add_option("--exec-when-full", o.exec_when_full,
                "With a full --exec queue: wait (slow down receiving, the default) or drop the command (counted)")
    ->type_name("wait|drop")
    ->check(one_of({"wait", "drop"}));
  e->add_option("--exec-timeout", o.exec_timeout,
                "End an --exec command running longer than this: SIGTERM, then SIGKILL 2 s later (default: no limit)")
    ->check(number_in(0.001, 31536000, "seconds from 0.001 to 31536000 (a year)"))
    ->type_name("SECONDS");
  e->add_option("--exec-on", o.exec_on,
                "Run --exec for each message (default) or once per alert of --alert-when (after --edge, --rearm, "
                "--cooldown), with the message that raised it")
    ->type_name("message|alert")
    ->check(one_of({"message", "alert"}));
}

void validate(SubOptions& o)
{
  // mosquitto adds the -L URL's topic to the -t filters.
  if (o.connection.url_topic) {
    o.topics.push_back(*o.connection.url_topic);
  }
  if (o.topics.empty() && o.unsubscribe.empty()) {
    throw UsageError("no topic given: use -t FILTER (repeatable), a topic in the -L URL, or -U");
  }
  for (std::size_t i = 0; i < o.topics.size(); ++i) {
    // The last one is the -L URL's when it has a topic.
    const bool from_url = o.connection.url_topic && i + 1 == o.topics.size();
    validate_topic_filter(o.topics[i], from_url ? "-L" : "-t");
  }
  for (const auto& t : o.filter_out) {
    validate_topic_filter(t, "-T");
    if (is_shared_subscription(t)) {
      throw UsageError(fmt::format("-T: '{}' is a shared subscription; -T takes the filter messages' topics are "
                                   "matched against (without $share/GROUP/)", t));
    }
  }
  for (const auto& t : o.unsubscribe) {
    validate_topic_filter(t, "-U");
  }
  if (o.json && !o.format.empty()) {
    throw UsageError("-j and -F cannot be used together");
  }
  if (o.no_stale && o.retained_only) {
    throw UsageError("-R and --retained-only cannot be used together");
  }
  if ((o.no_local || o.retain_as_published || o.retain_handling != 0) && o.connection.mqtt_version != 5) {
    throw UsageError(fmt::format("{}: a subscription option of MQTT 5: give -V 5",
                                 o.no_local ? "--no-local" : o.retain_as_published ? "--retain-as-published"
                                                                                     : "--retain-handling"));
  }
  if (o.no_local) {
    for (const auto& t : o.topics) {
      if (is_shared_subscription(t)) {
        throw UsageError(fmt::format("--no-local cannot be used with the shared subscription '{}' (MQTT 5 forbids "
                                     "it; the broker would close the connection)", t));
      }
    }
  }
  if ((o.retained_only || o.remove_retained) && !o.topics.empty()
      && std::all_of(o.topics.begin(), o.topics.end(), [](const std::string& t) { return is_shared_subscription(t); })) {
    throw UsageError(fmt::format("{}: every -t is a shared subscription, which the broker sends no retained messages",
                                 o.retained_only ? "--retained-only" : "--remove-retained"));
  }
  if (o.retain_handling == 2 && o.retained_only) {
    throw UsageError("--retain-handling 2 and --retained-only: with no retained messages sent, nothing would print");
  }
  if (o.exec.empty()) {
    for (const auto& [given, flag] : {std::pair{o.exec_timeout > 0, "--exec-timeout"},
                                      {o.exec_when_full != "wait", "--exec-when-full"}}) {
      if (given) {
        throw UsageError(fmt::format("{} needs --exec CMD (the command to run for each message)", flag));
      }
    }
  }
  if (o.exec_on == "alert") {
    if (o.exec.empty()) {
      throw UsageError("--exec-on alert needs --exec CMD (the command each alert runs)");
    }
    if (!o.rules.alert_when) {
      throw UsageError("--exec-on alert needs --alert-when EXPR (the condition that raises an alert)");
    }
  }
  if (o.plot.active()) {
    if (o.exit_after_subscribe) {
      throw UsageError("--plot charts the messages received, and -E exits before any: drop one of them");
    }
    if (o.topics.empty()) {
      throw UsageError("--plot needs a topic to chart: add -t FILTER");
    }
  }
}

ExecRunner::Settings exec_settings(const SubOptions& o)
{
  return ExecRunner::Settings{
    .argv = o.exec,
    .max_jobs = o.exec_jobs,
    .queue_limit = static_cast<std::size_t>(o.exec_queue),
    .when_full = o.exec_when_full == "drop" ? ExecRunner::WhenFull::drop : ExecRunner::WhenFull::wait,
    .timeout = std::chrono::duration<double>(o.exec_timeout),
  };
}

namespace {

// After the expressions compiled: where the chart goes.
void validate_plot_output(const SubOptions& o)
{
  if (!o.plot.active()) {
    return;
  }
  if (o.plot.svg) {
    if (auto problem = replace_file_problem(*o.plot.svg); !problem.empty()) {
      throw UsageError(fmt::format("--plot-svg: {}", problem));
    }
  }
  if (!o.plot.svg && ::isatty(1) == 0) {
    throw UsageError("--plot draws a live chart on a terminal, and stdout is not one: add --plot-svg FILE to "
                     "write the chart to a file instead");
  }
  if (::isatty(1) == 0) {
    return;
  }
  // The live chart: nothing is printed, and nothing may write over it.
  if (!o.exec.empty()) {
    throw UsageError("--exec cannot run under the live --plot chart (its commands' output would draw over it): "
                     "with --plot-svg FILE and stdout redirected, both work");
  }
  if (o.connection.debug) {
    throw UsageError("-d cannot be used with the live --plot chart (its lines would draw over it)");
  }
  for (const auto& [given, flag] : {std::pair{o.verbose, "-v"}, {o.json, "-j"}, {!o.format.empty(), "-F"},
                                    {o.no_eol, "-N"}, {o.pretty, "--pretty"},
                                    {o.random_filter < 100.0, "--random-filter"}}) {
    if (given) {
      throw UsageError(fmt::format("{} has no effect under the live --plot chart, which prints no messages: with "
                                   "--plot-svg FILE and stdout redirected, messages are printed and charted",
                                   flag));
    }
  }
  if (auto problem = screen_problem(); !problem.empty()) {
    throw Error(exit_code::failure, fmt::format("--plot: {}; with --plot-svg FILE and stdout redirected the chart "
                                                "goes to a file instead",
                                                problem));
  }
}

} // namespace

namespace {

// How long output still being written and a message waiting for room in
// the --exec queue get after -W or a signal, before they are cut short.
constexpr auto stop_grace = std::chrono::milliseconds(250);

// Prints messages on the thread that receives them: no hand-off to another
// thread (which cost two futex calls per message), and output is written
// once per batch of ready messages, when Connection::on_idle reports that
// nothing more is waiting. The main thread only waits for the end.
//
// Two locks, so that ending never waits for output: m_mutex guards the
// receiving side (format, rules, output, counts) and may be held across a
// blocking write(2) or a wait for room in the --exec queue (whose commands
// run on the ExecRunner's threads); m_end_mutex guards only the end, so a
// signal, -W and the main thread always act at once, and the end cuts short
// whatever blocks the receiving side (stop_grace).
class Subscriber
{
public:
  enum class End { running, done, signal, timeout, lost, output_failed, reader_gone };

  // With `plot`, the values of its expressions are kept for a chart;
  // `print` false (the live chart) renders no output.
  Subscriber(SubOptions& options, OutputFormat format, MessageRules rules, PlotExpressions plot, bool print,
             Connection& connection)
    : m_options(options),
      m_format(std::move(format)),
      m_rules(std::move(rules)),
      m_plot(std::move(plot)),
      m_print(print),
      m_exec_on_alert(options.exec_on == "alert"),
      m_connection(connection),
      m_rng(std::random_device{}())
  {
    if (!m_plot.texts().empty()) {
      m_series.emplace(std::chrono::duration<double>(options.plot.window_seconds()), m_plot.texts(),
                       std::chrono::steady_clock::now());
    }
    if (!options.exec.empty()) {
      bool quiet = options.connection.quiet;
      m_exec = std::make_unique<ExecRunner>(exec_settings(options), [quiet](std::string_view line) {
        if (!quiet) {
          fmt::print(stderr, "mqtk-sub: {}\n", line);
        }
      });
    }
  }

  // Receiving thread: one message.
  void on_message(const MessageView& m)
  {
    if (ended()) {
      return;
    }
    std::lock_guard lock(m_mutex);
    if (ended()) {
      return;
    }
    handle(m);
    if (!ended() && m_writer.buffer().size() >= flush_threshold) {
      flush_locked();
    }
  }

  // Receiving thread: nothing more is ready; write what was rendered.
  void on_idle()
  {
    if (ended()) {
      return; // the main thread writes what is left
    }
    std::lock_guard lock(m_mutex);
    if (!m_writer.buffer().empty()) {
      flush_locked();
    }
  }

  // Any thread: ends the run (first reason wins). Never blocks.
  void stop(End why, std::string reason = {}) { end(why, std::move(reason)); }

  // Signal thread: ends the run; when it was already ending (-C reached,
  // connection lost) whatever still blocks is cut short at once.
  void stop_by_signal()
  {
    if (!end(End::signal, {})) {
      cut_short();
    }
  }

  // Main thread, when the run cannot go on (connecting or subscribing
  // failed): stops receiving and waits until the receiving thread has left
  // its message, so the Connection can go.
  void abandon()
  {
    end(End::done, {});
    on_receiving_side(std::chrono::steady_clock::now() + stop_grace, [] {});
  }

  // Main thread: waits until the run ended or `until`; true when it ended.
  bool wait_for_end(std::chrono::steady_clock::time_point until)
  {
    std::unique_lock lock(m_end_mutex);
    return m_changed.wait_until(lock, until, [this] { return ended(); });
  }

  // Main thread: a copy of the chart's values, trimmed to the window
  // before `now` (the live chart draws it without holding up receiving).
  // Only with --plot.
  SeriesWindow plot_copy(std::chrono::steady_clock::time_point now)
  {
    std::lock_guard lock(m_plot_mutex);
    m_series->trim(now);
    return *m_series;
  }

  // Main thread: waits for the end or the deadline, stops receiving, writes
  // what is left (cut short after stop_grace when -W or a signal ended the
  // run, or when the -W deadline has passed) and returns why it ended.
  End wait(Connection::Deadline deadline)
  {
    {
      std::unique_lock lock(m_end_mutex);
      auto is_over = [this] { return ended(); };
      if (deadline) {
        if (!m_changed.wait_until(lock, *deadline, is_over)) {
          end_locked(End::timeout, {});
        }
      } else {
        m_changed.wait(lock, is_over);
      }
    }
    End why = m_end.load(std::memory_order_acquire);
    // After -W (its deadline has passed) or a signal at once, otherwise at
    // the -W deadline, if there is one.
    const auto now = std::chrono::steady_clock::now();
    Connection::Deadline cut_at;
    if (why == End::signal) {
      cut_at = now + stop_grace;
    } else if (deadline) {
      cut_at = std::max(now, *deadline) + stop_grace;
    }
    on_receiving_side(cut_at, [&] {
      if (why != End::output_failed && !m_writer.buffer().empty()) {
        m_writer.flush();
      }
    });
    return why;
  }

  // After wait(): runs the queued --exec commands (discards them when a
  // signal or -W ended the run), waits for the running ones and reports
  // failures, timeouts, drops and discards (unless `quiet`).
  void finish(End why, bool quiet)
  {
    if (!m_exec) {
      return;
    }
    if (why == End::signal || why == End::timeout) {
      m_exec->cancel();
    }
    m_exec->wait_all();
    if (quiet) {
      return;
    }
    const ExecRunner& x = *m_exec;
    if (x.failed() > 0) {
      fmt::print(stderr, "mqtk-sub: --exec: {} of {} commands failed{}\n", x.failed(), x.attempted(),
                 x.timed_out() > 0 ? fmt::format(" ({} timed out)", x.timed_out()) : std::string());
    }
    if (x.dropped() > 0) {
      fmt::print(stderr, "mqtk-sub: --exec: {} command{} dropped, the queue was full (--exec-queue {})\n",
                 x.dropped(), x.dropped() == 1 ? "" : "s", x.settings().queue_limit);
    }
    if (x.discarded() > 0) {
      fmt::print(stderr, "mqtk-sub: --exec: {} queued command{} not run (stopped)\n", x.discarded(),
                 x.discarded() == 1 ? "" : "s");
    }
  }

  std::string reason() const
  {
    std::lock_guard lock(m_end_mutex);
    return m_reason;
  }
  const MessageRules& rules() const noexcept { return m_rules; }
  const OutputWriter& writer() const noexcept { return m_writer; }

private:
  static constexpr std::size_t flush_threshold = 64 * 1024;

  bool ended() const noexcept { return m_end.load(std::memory_order_acquire) != End::running; }

  void handle(const MessageView& m)
  {
    auto now = std::chrono::system_clock::now();
    // Before -T: as in mosquitto, the first live message ends the run,
    // filtered out or not.
    if (m_options.retained_only && !m.retain) {
      end(End::done, {});
      return;
    }
    if (filtered_out(m.topic)) {
      return;
    }
    if (m_options.no_stale && m.retain) {
      return;
    }
    // The monotonic time only for what needs it (rules, the chart): plain
    // printing reads no second clock per message.
    const auto received = m_rules.active() || m_series ? std::chrono::steady_clock::now()
                                                       : std::chrono::steady_clock::time_point{};
    // --exec-on alert: the command runs for this message only when it
    // raised an alert.
    bool run_command = m_exec && !m_exec_on_alert;
    if (m_rules.active()) {
      auto decision = m_rules.evaluate(m, received, now, m_alert);
      if (decision.alert) {
        if (!m_rules.alert_topic().empty()) {
          // From this (the receiving) thread the connection queues it and
          // returns at once.
          m_connection.publish(m_rules.alert_topic(), m_alert, 0, false);
        }
        if (m_series) {
          std::lock_guard lock(m_plot_mutex);
          m_series->add_alert(m.topic, received);
        }
        run_command = m_exec != nullptr;
      }
      if (!decision.pass) {
        // Alerts look at every message, --where or not: so does the
        // command of an alert (not printed, not counted for -C).
        if (run_command && m_exec_on_alert && flush_locked()) {
          m_exec->run(m);
        }
        return;
      }
    }
    if (m_series) {
      std::lock_guard lock(m_plot_mutex);
      // Off a terminal nothing else trims: series that went quiet are
      // dropped about once a second, so the cap frees up.
      if (received - m_last_trim >= std::chrono::seconds(1)) {
        m_series->trim(received);
        m_last_trim = received;
      }
      m_plot.record(m, *m_series, received);
    }
    if (m_options.remove_retained && m.retain && !m.payload.empty()) {
      // QoS 1, as mosquitto; queued like alerts, confirmed by flush().
      m_connection.publish(m.topic, {}, 1, true);
    }
    // As in mosquitto, a message the random filter drops still counts
    // towards -C.
    if (m_print && (m_options.random_filter >= 100.0
                    || std::uniform_real_distribution<double>(0.0, 100.0)(m_rng) < m_options.random_filter)) {
      m_format.render(m, now, m_writer.buffer());
    }
    if (run_command) {
      // The message's own output first, so it precedes what its command
      // prints.
      if (!flush_locked()) {
        return;
      }
      // Queued for the runner's thread; with a full queue and
      // --exec-when-full wait this blocks (back-pressure).
      if (m_exec->run(m) == ExecRunner::Submitted::cancelled) {
        return; // the run is ending
      }
    }
    ++m_printed;
    if (m_options.count > 0 && m_printed >= m_options.count) {
      flush_locked();
      end(End::done, {});
    }
  }

  bool flush_locked()
  {
    if (m_writer.flush()) {
      return true;
    }
    end(End::output_failed, {});
    return false;
  }

  // Main thread: runs `work` once the receiving thread has left its
  // message, holding the receiving side's lock; whatever blocks either of
  // them at `cut_at` is cut short.
  template <typename Work>
  void on_receiving_side(Connection::Deadline cut_at, Work work)
  {
    std::optional<Alarm> alarm;
    if (cut_at) {
      alarm.emplace(*cut_at, [this] { cut_short(); });
    }
    std::lock_guard lock(m_mutex);
    work();
  }

  // Any thread: makes a blocked write(2) and a wait for --exec queue room
  // return; what was not written is dropped.
  void cut_short() noexcept
  {
    m_writer.interrupt();
    if (m_exec) {
      m_exec->cancel();
    }
  }

  // Returns false when the run had already ended.
  bool end(End why, std::string reason)
  {
    std::lock_guard lock(m_end_mutex);
    return end_locked(why, std::move(reason));
  }

  bool end_locked(End why, std::string reason)
  {
    if (ended()) {
      return false;
    }
    m_reason = std::move(reason);
    m_end.store(why, std::memory_order_release);
    m_changed.notify_all();
    return true;
  }

  bool filtered_out(std::string_view topic) const
  {
    for (const auto& f : m_options.filter_out) {
      if (topic_matches(f, topic)) {
        return true;
      }
    }
    return false;
  }

  SubOptions& m_options;
  OutputFormat m_format;
  MessageRules m_rules;
  PlotExpressions m_plot;
  bool m_print;
  bool m_exec_on_alert;
  std::mutex m_plot_mutex; // m_series, between receiving and drawing
  std::optional<SeriesWindow> m_series;
  std::chrono::steady_clock::time_point m_last_trim{};
  Connection& m_connection;
  std::string m_alert;
  std::unique_ptr<ExecRunner> m_exec;
  OutputWriter m_writer{1};
  std::mt19937_64 m_rng;
  int m_printed = 0;
  std::mutex m_mutex; // the receiving side, above

  mutable std::mutex m_end_mutex;
  std::condition_variable m_changed;
  std::atomic<End> m_end{End::running};
  std::string m_reason;
};

// "mqtk-sub  localhost:1883  lab/+/accel": the chart's title.
std::string chart_title(const SubOptions& o)
{
  std::string title = fmt::format("mqtk-sub  {} ", endpoint_text(o.connection));
  for (const auto& t : o.topics) {
    title += " " + t;
  }
  return title;
}

// Main thread: the live chart until the run ends (q, a signal, -C, -W, a
// lost connection), redrawn five times a second whatever the message rate.
// The terminal is restored when this returns or throws.
void show_live_chart(const SubOptions& o, Subscriber& subscriber, Connection::Deadline deadline)
{
  if (subscriber.wait_for_end(std::chrono::steady_clock::now())) {
    return; // ended while subscribing (a signal, -C on retained messages)
  }
  std::unique_ptr<Screen> screen;
  try {
    screen = open_screen();
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("--plot: {}; with --plot-svg FILE and stdout redirected the chart goes to a "
                                      "file instead",
                                      e.what()));
  }
  LiveChart chart(std::move(screen));
  ChartLabels labels;
  labels.title = chart_title(o);
  labels.ymin = o.plot.ymin;
  labels.ymax = o.plot.ymax;
  constexpr auto redraw_every = std::chrono::milliseconds(200);
  auto next = std::chrono::steady_clock::now();
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    const SeriesWindow data = subscriber.plot_copy(now);
    if (chart.take_keys(data, now)) {
      subscriber.stop(Subscriber::End::done);
      return;
    }
    labels.footer = fmt::format("window {} s", value_label(o.plot.window_seconds()));
    if (data.alerts_total() > 0) {
      labels.footer += fmt::format("   alerts {}", data.alerts_total());
    }
    if (data.dropped_values() > 0) {
      labels.footer += fmt::format("   past {} series: {} values not plotted", SeriesWindow::max_series,
                                   data.dropped_values());
    }
    chart.draw(data, now, labels);
    next += redraw_every;
    if (next < now) {
      next = now + redraw_every;
    }
    auto until = next;
    if (deadline && *deadline < until) {
      until = *deadline;
    }
    if (subscriber.wait_for_end(until) || (deadline && std::chrono::steady_clock::now() >= *deadline)) {
      return;
    }
  }
}

// At the end of a run with --plot-svg: the window's values as SVG.
void write_svg(const SubOptions& o, Subscriber& subscriber)
{
  const auto now = std::chrono::steady_clock::now();
  const SeriesWindow data = subscriber.plot_copy(now);
  SvgLabels labels;
  labels.title = chart_title(o);
  labels.end = std::chrono::system_clock::now();
  labels.ymin = o.plot.ymin;
  labels.ymax = o.plot.ymax;
  replace_file(*o.plot.svg, svg_chart(data, now, labels), "--plot-svg");
}

} // namespace

int run_sub(SubOptions& o)
{
  StopSignals stop;
  if (o.rules.alert_when && !o.rules.alert_topic && o.exec_on != "alert") {
    throw UsageError("--alert-when needs --alert-topic (where to publish the alerts), or --exec-on alert with "
                     "--exec (the command each alert runs)");
  }
  // Compiled first: an expression reading a property means MQTT 5, as -D does.
  MessageRules rules = MessageRules::compile(o.rules, o.exec_on == "alert");
  PlotExpressions plot = PlotExpressions::compile(o.plot);
  std::string_view flag = rules.property_reader() != nullptr ? rules.property_reader() : "";
  if (flag.empty() && plot.uses_properties()) {
    flag = "--plot";
  }
  if (flag.empty() && o.format.find("%{") != std::string::npos) {
    try {
      if (OutputFormat::compile(o.format, o.pretty).uses_properties()) {
        flag = "-F %{...}";
      }
    } catch (const UsageError&) {
      // Reported below, after the options' own checks.
    }
  }
  if (!flag.empty()) {
    if (o.connection.protocol_version.empty()) {
      o.connection.protocol_version = "5";
    } else if (parse_protocol_version(o.connection.protocol_version) != 5) {
      throw UsageError(fmt::format("{}: the expression reads an MQTT 5 property; messages carry none at -V {} "
                                   "(leave -V out or give -V 5)", flag, o.connection.protocol_version));
    }
  }
  resolve(o.connection, "mqtk-sub");
  validate(o);
  validate_plot_output(o);
  const bool live_chart = o.plot.active() && ::isatty(1) != 0;
  OutputFormat format = !o.format.empty() ? OutputFormat::compile(o.format, o.pretty, !o.no_eol)
                        : o.json          ? OutputFormat::json_lines(o.pretty)
                                          : OutputFormat::plain(o.verbose, !o.no_eol, color_choice().out);

  // Reconnects after a loss, as mosquitto_sub does; not when it only
  // subscribes (-E) or only unsubscribes.
  o.connection.reconnect = !o.connection.no_reconnect && !o.exit_after_subscribe && !o.topics.empty();
  Connection connection(o.connection, "mqtk-sub");
  // Shared with Paho's threads, which may outlive this function's scope by
  // a few instructions before the process exits.
  auto subscriber = std::make_shared<Subscriber>(o, std::move(format), std::move(rules), std::move(plot),
                                                 !live_chart, connection);
  bool receiving = !(o.exit_after_subscribe || o.topics.empty());
  auto ready = std::make_shared<std::atomic<bool>>(false);
  connection.on_message([subscriber, ready](const MessageView& m) {
    // -E: nothing is printed, not even retained messages after SUBACK.
    if (ready->load(std::memory_order_acquire)) {
      subscriber->on_message(m);
    }
  });
  connection.on_idle([subscriber] { subscriber->on_idle(); });
  // `| head -n 3` on a quiet topic: end when the reader goes, not at the
  // next message's write, which may never come (mosquitto_sub waits).
  ReaderWatch reader_watch(1, [subscriber] { subscriber->stop(Subscriber::End::reader_gone); });
  connection.on_connection_lost(
    [subscriber](const std::string& reason) { subscriber->stop(Subscriber::End::lost, reason); });
  auto connected = std::make_shared<std::atomic<bool>>(false);
  if (live_chart) {
    stop.on_forced_exit([] { restore_screen_from_other_thread(); });
    // Lines on stderr would scribble over the chart: while it is on screen
    // an outage shows as a pause in the data.
    connection.on_notice([](const std::string&) {});
  }
  stop.start([subscriber, connected](int signal_number) {
    if (!connected->load()) {
      ::_exit(128 + signal_number);
    }
    subscriber->stop_by_signal();
  });
  ready->store(receiving, std::memory_order_release);

  // -W bounds the whole run, connecting and subscribing included.
  Connection::Deadline deadline;
  if (o.timeout > 0) {
    deadline = std::chrono::steady_clock::now()
               + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                 std::chrono::duration<double>(o.timeout));
  }
  int refused = 0;
  try {
    connection.connect(deadline);
    connected->store(true);
    auto granted = connection.subscribe(o.topics, o.qos, deadline,
                                        {.no_local = o.no_local,
                                         .retain_as_published = o.retain_as_published,
                                         .retain_handling = o.retain_handling});
    for (std::size_t i = 0; i < granted.size() && i < o.topics.size(); ++i) {
      if (granted[i] >= 0x80) {
        ++refused;
        if (!o.connection.quiet) {
          // At MQTT 3.1.1 the SUBACK says only "failure" (128).
          std::string why = o.connection.mqtt_version == 5 ? connection.reason_name(granted[i]) : "";
          fmt::print(stderr, "mqtk-sub: broker refused the subscription to '{}'{}{} (reason code {})\n", o.topics[i],
                     why.empty() ? "" : ": ", why, granted[i]);
        }
      }
    }
    connection.unsubscribe(o.unsubscribe, deadline);
  } catch (const Error& e) {
    subscriber->abandon();
    if (e.code() == exit_code::timeout) {
      throw timed_out(e, o.timeout, "-W");
    }
    throw;
  }
  if (!o.topics.empty() && refused == static_cast<int>(o.topics.size())) {
    connection.disconnect();
    throw Error(exit_code::failure, "every subscription was refused");
  }
  if (!receiving) {
    connection.disconnect();
    return exit_code::ok;
  }

  if (live_chart) {
    try {
      show_live_chart(o, *subscriber, deadline);
    } catch (...) {
      subscriber->abandon();
      throw;
    }
  }
  auto end = subscriber->wait(deadline);
  subscriber->finish(end, o.connection.quiet);
  // --plot-svg, once the rest is done. On the way out with another error
  // that error is the one reported (and the SVG's own, if any, before it).
  bool svg_written = !o.plot.svg;
  auto save_svg = [&](bool failing) {
    if (svg_written) {
      return;
    }
    svg_written = true;
    if (!failing) {
      write_svg(o, *subscriber);
      return;
    }
    try {
      write_svg(o, *subscriber);
    } catch (const Error& e) {
      if (!o.connection.quiet) {
        fmt::print(stderr, "mqtk-sub: {}\n", e.what());
      }
    }
  };
  int code = exit_code::ok;
  switch (end) {
  case Subscriber::End::timeout:
    code = exit_code::timeout;
    if (!o.connection.quiet) {
      fmt::print(stderr, "mqtk-sub: timed out after {} s (-W)\n", o.timeout);
    }
    break;
  case Subscriber::End::lost:
    save_svg(true);
    if (auto gave_up = connection.gave_up()) {
      throw *gave_up;
    }
    throw Error(exit_code::failure,
                fmt::format("lost the connection to {}: {}", endpoint_text(o.connection), subscriber->reason()));
  case Subscriber::End::output_failed:
    // A reader that closed the pipe (| head) is a normal end, as in mosquitto.
    if (!subscriber->writer().broken_pipe()) {
      connection.disconnect();
      save_svg(true);
      throw Error(exit_code::failure,
                  fmt::format("writing to stdout failed: {}", std::strerror(subscriber->writer().error())));
    }
    break;
  default: break;
  }
  if (o.remove_retained || subscriber->rules().has_alerts()) {
    // With -W, what the broker has not acknowledged a second after the
    // deadline is given up on.
    Connection::Deadline acknowledged_by;
    if (deadline) {
      acknowledged_by = std::max(*deadline, std::chrono::steady_clock::now()) + std::chrono::seconds(1);
    }
    try {
      connection.flush(acknowledged_by);
    } catch (const Error& e) {
      save_svg(true);
      if (e.code() == exit_code::timeout) {
        throw timed_out(e, o.timeout, "-W");
      }
      throw;
    }
  }
  if (!o.connection.quiet) {
    subscriber->rules().report("mqtk-sub");
  }
  connection.disconnect();
  save_svg(false);
  return code;
}

} // namespace mqtk
