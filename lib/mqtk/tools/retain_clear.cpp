#include "mqtk/tools/retain_clear.hpp"
#include "mqtk/process/option_values.hpp"

#include "mqtk/connection/connection.hpp"
#include "mqtk/mqtt/topic.hpp"
#include "mqtk/output/json_text.hpp"
#include "mqtk/output/timestamp.hpp"
#include "mqtk/process/error.hpp"
#include "mqtk/process/stop_signals.hpp"
#include "mqtk/retain/retained_set.hpp"
#include "mqtk/rules/payload_value.hpp"

#include <atomic>
#include <cerrno>
#include <cmath>
#include <exception>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <random>

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mqtk {

namespace {

constexpr std::string_view tool_name = "mqtk-retain-clear";
using Clock = std::chrono::steady_clock;

// How long the end marker may take to come back while nothing else arrives
// either: past this the broker is taken not to deliver it (an ACL).
constexpr std::chrono::seconds marker_patience{10};
// Problem topics named on stderr; -j names every one.
constexpr std::size_t max_named = 100;
// The prompt is shown for more topics than this (or a '#' filter).
constexpr std::size_t confirm_above = 1000;
// Verification rounds at most (the first included): see run_retain_clear.
constexpr int max_rounds = 5;

} // namespace

void add_retain_clear_options(CLI::App& app, RetainClearOptions& o)
{
  add_connection_options(app, o.connection);
  auto* g = app.add_option_group("Selecting");
  g->add_option("-t,--topic", o.topics, "Clear retained messages matching this filter (repeatable; '#' for all)")
    ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->allow_extra_args(false)
    ->type_name("FILTER");
  g->add_option("-T,--filter-out", o.excludes, "Keep retained messages matching this filter (repeatable)")
    ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->allow_extra_args(false)
    ->type_name("FILTER");
  g->add_option("--where", o.where, "Clear only messages whose payload matches this expression")
    ->type_name("EXPR");
  g->add_option("--max", o.max, "Clear nothing when more than N topics match")
    ->transform(integer_in(0, std::numeric_limits<long long>::max(), "a count, 0 or more"))
    ->type_name("N");
  auto* r = app.add_option_group("Running");
  r->add_flag("--dry-run", o.dry_run, "List what would be cleared (topic, payload size); change nothing");
  r->add_option("--backup", o.backup,
                "Before clearing, write every message to this new file as JSON Lines (mqtk-pub --json-lines "
                "restores it)")
    ->type_name("FILE");
  r->add_flag("-y,--yes", o.yes, "Do not ask for confirmation on a terminal");
  r->add_flag("-j,--json", o.json, "Report on stdout as JSON Lines: one object per topic, then the totals");
  r->add_option("--quiet-time", o.quiet_time,
                "Take the listing as complete after this many seconds without a message, instead of the "
                "end marker (for brokers that reorder)")
    ->check(number_in(0.001, 31536000, "seconds from 0.001 to 31536000 (a year)"))
    ->type_name("SECONDS");
  r->add_option("--timeout", o.timeout, "Give up after this many seconds in all (exit 27)")
    ->check(number_in(0.001, 31536000, "seconds from 0.001 to 31536000 (a year)"))
    ->type_name("SECONDS");
  r->add_option("--marker-topic", o.marker_topic,
                "Topic of the end marker (default: mqtk-retain-clear/CLIENT-ID); must be one this client may "
                "publish and subscribe to")
    ->type_name("TOPIC");
}

void validate(RetainClearOptions& o)
{
  if (o.topics.empty() && o.connection.url_topic) {
    o.topics.push_back(*o.connection.url_topic);
  }
  if (o.topics.empty()) {
    throw UsageError("no topic filter given: use -t FILTER (-t '#' clears every retained message)");
  }
  for (const auto& filter : o.topics) {
    validate_topic_filter(filter, "-t");
    if (is_shared_subscription(filter)) {
      throw UsageError(fmt::format("-t: '{}' is a shared subscription, which the broker sends no retained "
                                   "messages: give the filter without $share/GROUP/", filter));
    }
    if (filter.front() == '$') {
      throw UsageError(fmt::format("-t: '{}' names topics beginning with '$' (the broker's own, such as "
                                   "$SYS), which mqtk-retain-clear never clears",
                                   filter));
    }
  }
  for (const auto& filter : o.excludes) {
    validate_topic_filter(filter, "-T");
  }
  if (o.where && o.where->empty()) {
    throw UsageError("--where: empty expression");
  }
  if (!o.marker_topic.empty()) {
    validate_publish_topic(o.marker_topic, "--marker-topic");
  }
  if (!o.marker_topic.empty() && o.quiet_time > 0) {
    throw UsageError("--marker-topic and --quiet-time exclude each other: --quiet-time does without the marker");
  }
}

namespace {

// Runs f(), giving a timeout the --timeout text.
template <typename F>
auto with_timeout_text(double timeout, F f)
{
  try {
    return f();
  } catch (const Error& e) {
    if (e.code() == exit_code::timeout) {
      throw timed_out(e, timeout, "--timeout");
    }
    throw;
  }
}

std::string filters_text(const std::vector<std::string>& filters)
{
  std::string out;
  for (const auto& f : filters) {
    out += out.empty() ? "" : ", ";
    out += fmt::format("'{}'", f);
  }
  return out;
}

std::string bytes_text(std::uint64_t n)
{
  if (n < 10000) {
    return fmt::format("{} bytes", n);
  }
  if (n < 10000000) {
    return fmt::format("{:.1f} kB", static_cast<double>(n) / 1e3);
  }
  return fmt::format("{:.1f} MB", static_cast<double>(n) / 1e6);
}

std::string random_nonce()
{
  std::random_device device;
  std::uniform_int_distribution<std::uint64_t> any;
  return fmt::format("{:016x}{:016x}", any(device), any(device));
}

// One progress line on stderr, redrawn in place, for runs longer than half
// a second; only on a terminal.
class Progress
{
public:
  explicit Progress(bool enabled)
    : m_enabled(enabled)
  {
  }

  template <typename... Args>
  void show(fmt::format_string<Args...> format, Args&&... args)
  {
    if (!m_enabled) {
      return;
    }
    auto now = Clock::now();
    if (now - m_start < std::chrono::milliseconds(500) || now - m_last < std::chrono::milliseconds(100)) {
      return;
    }
    m_last = now;
    m_shown = true;
    fmt::print(stderr, "\r{}: {}\033[K", tool_name, fmt::format(format, std::forward<Args>(args)...));
    std::fflush(stderr);
  }

  // Erases the line before anything else is printed.
  void clear()
  {
    if (m_shown) {
      fmt::print(stderr, "\r\033[K");
      std::fflush(stderr);
      m_shown = false;
    }
  }

private:
  bool m_enabled;
  Clock::time_point m_start = Clock::now();
  Clock::time_point m_last{};
  bool m_shown = false;
};

// Reads the answer to the confirmation prompt from the terminal on stdin.
bool confirmed(std::size_t count, std::uint64_t bytes, const std::vector<std::string>& filters)
{
  fmt::print(stderr, "{}: clear {} retained message{} ({}) under {}? [y/N] ", tool_name, count,
             count == 1 ? "" : "s", bytes_text(bytes), filters_text(filters));
  std::fflush(stderr);
  std::string answer;
  char c = 0;
  while (true) {
    ssize_t n = ::read(0, &c, 1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0 || c == '\n') {
      break;
    }
    answer.push_back(c);
  }
  if (c != '\n') {
    fmt::print(stderr, "\n");
  }
  while (!answer.empty() && (answer.back() == '\r' || answer.back() == ' ')) {
    answer.pop_back();
  }
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES" || answer == "Yes";
}

// The --backup file: created new (an existing file is never overwritten),
// before anything connects.
class BackupFile
{
public:
  explicit BackupFile(const std::string& path)
    : m_path(path)
  {
    if (path.empty()) {
      return;
    }
    m_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (m_fd < 0) {
      throw UsageError(errno == EEXIST
                         ? fmt::format("--backup: '{}' already exists; give a new file (a backup is never overwritten)", path)
                         : fmt::format("--backup: cannot create '{}': {}", path, std::strerror(errno)));
    }
  }
  // A file created for a run that failed before writing it is removed.
  ~BackupFile()
  {
    if (m_fd >= 0) {
      ::close(m_fd);
      if (std::uncaught_exceptions() > 0 && !m_written) {
        ::unlink(m_path.c_str());
      }
    }
  }
  BackupFile(const BackupFile&) = delete;
  BackupFile& operator=(const BackupFile&) = delete;

  bool wanted() const noexcept { return m_fd >= 0; }

  // Nothing to back up: the file created for it goes again.
  void discard() noexcept
  {
    if (m_fd >= 0) {
      ::close(m_fd);
      m_fd = -1;
      ::unlink(m_path.c_str());
    }
  }

  // Writes the entries from `first` on in mqtk-sub -j's schema, payloads
  // exact, and syncs the file; it stays open for later rounds. Throws
  // Error (nothing of these has been cleared then).
  void write(const RetainedSet& set, std::size_t first = 0)
  {
    std::string out;
    PayloadValue json_check{MessageView{}};
    const auto& entries = set.entries();
    for (std::size_t i = first; i < entries.size(); ++i) {
      const auto& e = entries[i];
      out.append("{\"tst\":\"");
      append_iso8601_utc(out, e.received);
      out.append("\",\"topic\":");
      append_json_string(out, e.topic);
      // No "qos": retained messages are read at QoS 0, so the QoS they were
      // stored with is not known; mqtk-pub -q decides on restore.
      out.append(",\"retain\":true,");
      json_check.reset(MessageView{{}, e.payload, 0, false, 0});
      append_exact_payload_member(out, e.payload, json_check.is_json());
      out.append("}\n");
      if (out.size() >= (1u << 20)) {
        put(out);
        out.clear();
      }
    }
    put(out);
    if (::fsync(m_fd) != 0 && errno != EINVAL) {
      fail(errno);
    }
    m_written = true;
  }

  // Closes the file once everything is written.
  void finish()
  {
    if (m_fd >= 0) {
      const int fd = m_fd;
      m_fd = -1;
      if (::close(fd) != 0) {
        fail(errno);
      }
    }
  }

private:
  void put(std::string_view data)
  {
    while (!data.empty()) {
      ssize_t n = ::write(m_fd, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        fail(errno);
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  [[noreturn]] void fail(int error)
  {
    throw Error(exit_code::failure,
                fmt::format("--backup: writing '{}' failed: {}; nothing was cleared", m_path, std::strerror(error)));
  }

  std::string m_path;
  int m_fd = -1;
  bool m_written = false;
};

// The run: one connection, whose message handler feeds the RetainedSet
// while listing and while verifying.
class RetainClear
{
public:
  RetainClear(RetainClearOptions& o, Connection& connection, RetainedSet& set)
    : m_o(o),
      m_connection(connection),
      m_set(set),
      m_progress(::isatty(0) != 0 && ::isatty(2) != 0 && !o.connection.quiet)
  {
    if (o.timeout > 0) {
      m_deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.timeout));
    }
    m_use_marker = o.quiet_time <= 0;
    if (m_use_marker && m_o.marker_topic.empty()) {
      std::string id = o.connection.id;
      for (char& c : id) {
        c = c == '+' || c == '#' || c == '\0' ? '_' : c; // a client id may hold what a topic may not
      }
      m_o.marker_topic = fmt::format("mqtk-retain-clear/{}", id);
    }
    connection.on_message([this](const MessageView& m) { on_message(m); });
    connection.on_publish_refused([this](std::string_view topic, int code, std::string_view reason) {
      std::lock_guard lock(m_mutex);
      if (topic == m_o.marker_topic && m_use_marker) {
        m_marker_refused = fmt::format("0x{:02X} {}", code, reason);
      } else {
        m_set.refused(topic, code, reason);
      }
      m_changed.notify_all();
    });
    connection.on_connection_lost([this](const std::string&) {
      std::lock_guard lock(m_mutex);
      m_lost = true;
      m_changed.notify_all();
    });
  }

  Connection::Deadline deadline() const noexcept { return m_deadline; }

  // The time a person took to answer the prompt does not count against
  // --timeout.
  void extend_deadline(Clock::duration by) noexcept
  {
    if (m_deadline) {
      *m_deadline += by;
    }
  }

  // Called from the stop-signal thread.
  void stop(int signal_number)
  {
    std::lock_guard lock(m_mutex);
    m_signal = signal_number;
    m_changed.notify_all();
  }

  std::size_t sent() const noexcept { return m_sent; }

  int signal_number()
  {
    std::lock_guard lock(m_mutex);
    return m_signal;
  }

  // Subscribes to the filters and collects what the broker sends until the
  // end of its burst of retained messages. `verifying`: the second pass.
  void collect(bool verifying)
  {
    std::vector<std::string> filters = m_o.topics;
    if (m_use_marker) {
      filters.push_back(m_o.marker_topic);
    }
    {
      std::lock_guard lock(m_mutex);
      m_phase = verifying ? Phase::verifying : Phase::listing;
      m_marker_seen = false;
      m_marker_refused.clear();
      m_nonce = random_nonce();
      m_last_message = Clock::now();
      m_received = 0;
    }
    std::vector<int> granted = with_timeout_text(m_o.timeout, [&] { return m_connection.subscribe(filters, 0, m_deadline); });
    for (std::size_t i = 0; i < granted.size() && i < filters.size(); ++i) {
      if (granted[i] >= 128) {
        throw Error(exit_code::failure,
                    fmt::format("the broker refused the subscription to '{}' (code {}){}", filters[i], granted[i],
                                i == m_o.topics.size() ? ", the end marker's topic: use --marker-topic or --quiet-time"
                                                       : ""));
      }
    }
    std::string nonce;
    {
      std::lock_guard lock(m_mutex);
      m_last_message = Clock::now();
      nonce = m_nonce;
    }
    if (m_use_marker) {
      // After the SUBACK: the broker queued every retained message before
      // it, and delivers this one, at the same QoS 0, after them.
      // Not waited for here: its PUBACK may queue behind a long listing.
      // A refusal (MQTT 5) or the marker's absence ends wait_for_end().
      with_timeout_text(m_o.timeout, [&] {
        m_connection.publish(m_o.marker_topic, nonce, 1, false, false, m_deadline);
        return 0;
      });
    }
    wait_for_end(verifying);
    // Until the UNSUBACK, what still arrives counts (a broker that reorders).
    with_timeout_text(m_o.timeout, [&] {
      m_connection.unsubscribe(filters, m_deadline);
      return 0;
    });
    {
      std::lock_guard lock(m_mutex);
      m_phase = Phase::idle;
    }
    m_progress.clear();
  }

  // Publishes a zero-length retained message at QoS 1 to every listed
  // topic, many in flight at once, and waits for every acknowledgement.
  // Returns how many were sent (all of them unless a signal came).
  std::size_t clear(std::size_t first = 0)
  {
    std::size_t& sent = m_sent;
    const std::size_t total = m_set.entries().size();
    for (std::size_t i = first; i < total; ++i) {
      const auto& e = m_set.entries()[i];
      if (sent % 256 == 0) {
        if (signal_number() != 0) {
          break;
        }
        if (m_deadline && Clock::now() >= *m_deadline) {
          throw Error(exit_code::timeout, fmt::format("timed out after {} s (--timeout) while clearing ({} of {} "
                                                      "cleared; not verified)",
                                                      m_o.timeout, sent, total));
        }
        m_progress.show("found {} · cleared {}", total, sent);
      }
      with_timeout_text(m_o.timeout, [&] {
        m_connection.publish(e.topic, {}, 1, true, false, m_deadline);
        return 0;
      });
      ++sent;
    }
    with_timeout_text(m_o.timeout, [&] {
      m_connection.flush(m_deadline);
      return 0;
    });
    m_progress.clear();
    return sent;
  }

  // Serialises the handler's work with the main thread's reading of the set.
  std::unique_lock<std::mutex> lock() { return std::unique_lock(m_mutex); }

private:
  enum class Phase { idle, listing, verifying };

  void on_message(const MessageView& m)
  {
    std::lock_guard lock(m_mutex);
    if (m_phase == Phase::idle) {
      return;
    }
    if (m_use_marker && !m.retain && m.topic == m_o.marker_topic) {
      if (m.payload == m_nonce) {
        m_marker_seen = true;
        m_changed.notify_all();
      }
      return;
    }
    if (!m.retain) {
      return; // live traffic under the filters: not part of any listing
    }
    m_last_message = Clock::now();
    ++m_received;
    if (m_phase == Phase::listing) {
      m_set.offer_listed(m, std::chrono::system_clock::now());
    } else {
      m_set.offer_verified(m, std::chrono::system_clock::now());
    }
  }

  void wait_for_end(bool verifying)
  {
    std::unique_lock lock(m_mutex);
    const std::string_view what = verifying ? "verifying" : "listing";
    while (true) {
      if (m_marker_seen) {
        return;
      }
      if (m_signal != 0) {
        return;
      }
      if (m_lost) {
        throw Error(exit_code::failure,
                    fmt::format("lost the connection to {} while {}{}", endpoint_text(m_o.connection), what,
                                verifying ? " (everything listed was cleared; not verified)" : "; nothing was cleared"));
      }
      if (!m_marker_refused.empty()) {
        throw Error(exit_code::failure,
                    fmt::format("the broker refused the end marker on '{}' ({}): use --marker-topic with a topic "
                                "this client may publish and subscribe to, or --quiet-time",
                                m_o.marker_topic, m_marker_refused));
      }
      const auto now = Clock::now();
      if (m_use_marker) {
        if (now - m_last_message >= marker_patience) {
          throw Error(exit_code::failure,
                      fmt::format("the end marker published to '{}' did not come back within {} s while {} "
                                  "(an ACL may drop it): use --marker-topic with a topic this client may publish "
                                  "and subscribe to, or --quiet-time",
                                  m_o.marker_topic, marker_patience.count(), what));
        }
      } else if (now - m_last_message >= std::chrono::duration<double>(m_o.quiet_time)) {
        return;
      }
      if (m_deadline && now >= *m_deadline) {
        throw Error(exit_code::timeout, fmt::format("timed out after {} s (--timeout) while {} ({} messages so far)",
                                                    m_o.timeout, what, m_received));
      }
      auto wake = now + std::chrono::milliseconds(100);
      if (m_deadline && *m_deadline < wake) {
        wake = *m_deadline;
      }
      m_changed.wait_until(lock, wake);
      const std::size_t found = m_set.listed_count();
      const std::uint64_t received = m_received;
      lock.unlock();
      if (verifying) {
        m_progress.show("found {} · cleared · verifying: {} still retained", found, received);
      } else {
        m_progress.show("found {}", found);
      }
      lock.lock();
    }
  }

  RetainClearOptions& m_o;
  Connection& m_connection;
  RetainedSet& m_set;
  Progress m_progress;
  Connection::Deadline m_deadline;
  bool m_use_marker = true;
  std::size_t m_sent = 0; // clears published so far

  std::mutex m_mutex;
  std::condition_variable m_changed;
  Phase m_phase = Phase::idle;
  std::string m_nonce;
  bool m_marker_seen = false;
  std::string m_marker_refused;
  bool m_lost = false;
  int m_signal = 0;
  Clock::time_point m_last_message = Clock::now();
  std::uint64_t m_received = 0;
};

nlohmann::ordered_json entry_json(const RetainedSet::Entry& e, bool dry_run)
{
  nlohmann::ordered_json j;
  j["topic"] = e.topic;
  j["payloadlen"] = e.size;
  j["status"] = dry_run ? std::string_view("would_clear") : status_name(e.status);
  if (e.status == RetainedSet::Status::refused) {
    j["reason_code"] = e.reason_code;
    j["reason"] = e.reason;
  }
  if (e.late) {
    j["late"] = true;
  }
  return j;
}

void print_json_line(const nlohmann::ordered_json& j)
{
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stdout);
}

void print_totals_json(const RetainedSet& set, bool dry_run, double seconds)
{
  const auto t = set.totals();
  nlohmann::ordered_json totals;
  totals["matched"] = t.matched;
  totals["bytes"] = set.listed_bytes();
  totals["dry_run"] = dry_run;
  if (!dry_run) {
    totals["verified"] = t.verified;
    totals["refused"] = t.refused;
    totals["not_cleared"] = t.not_cleared;
    totals["retained_again"] = t.retained_again;
    totals["new"] = t.new_topics;
    totals["late"] = t.late;
  }
  totals["seconds"] = std::round(seconds * 1000) / 1000;
  print_json_line(nlohmann::ordered_json{{"totals", totals}});
}

} // namespace

int run_retain_clear(RetainClearOptions& o)
{
  const auto started = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - started).count(); };
  StopSignals stop;
  resolve(o.connection, tool_name);
  validate(o);
  RetainedSet::Selection selection;
  selection.excludes = o.excludes;
  if (o.where) {
    selection.where = FilterExpression::parse(*o.where, "--where");
    selection.where->refuse_properties("--where", "which mqtk-retain-clear does not read (mqtk-sub reads them)");
  }
  BackupFile backup(o.backup);
  selection.keep_payloads = backup.wanted();
  RetainedSet set(std::move(selection));

  Connection connection(o.connection, tool_name);
  RetainClear run(o, connection, set);
  std::atomic<bool> clearing{false};
  // Until the clearing starts, a signal ends the run at once: nothing has
  // changed. Then it stops the clearing; what was sent is acknowledged and
  // reported.
  stop.start([&](int signal_number) {
    if (!clearing.load()) {
      if (backup.wanted() && !o.backup.empty()) {
        ::unlink(o.backup.c_str()); // nothing was cleared: no backup of it either
      }
      ::_exit(128 + signal_number);
    }
    run.stop(signal_number);
    connection.cancel(); // a wait for the broker ends now
  });
  with_timeout_text(o.timeout, [&] { connection.connect(run.deadline()); });

  run.collect(false);
  const bool quiet = o.connection.quiet;
  const std::size_t count = set.listed_count();
  if (count == 0) {
    backup.discard();
    if (o.json) {
      print_totals_json(set, o.dry_run, elapsed());
    }
    if (!quiet) {
      fmt::print(stderr, "{}: no retained messages match {}{}; nothing to clear\n", tool_name,
                 filters_text(o.topics), o.where ? " and --where" : "");
    }
    connection.disconnect();
    return exit_code::ok;
  }
  if (o.max && count > *o.max) {
    connection.disconnect();
    throw Error(exit_code::not_confirmed,
                fmt::format("{} retained messages match {}, more than --max {}; nothing was cleared", count,
                            filters_text(o.topics), *o.max));
  }
  if (o.dry_run) {
    if (backup.wanted()) {
      backup.write(set); // a dry run with --backup: a copy, nothing cleared
      backup.finish();
    }
    std::string out;
    for (const auto& e : set.entries()) {
      if (o.json) {
        print_json_line(entry_json(e, true));
      } else {
        out.clear();
        out.append(e.topic);
        fmt::format_to(std::back_inserter(out), "\t{} bytes\n", e.size);
        std::fwrite(out.data(), 1, out.size(), stdout);
      }
    }
    if (o.json) {
      print_totals_json(set, true, elapsed());
    }
    if (!quiet) {
      fmt::print(stderr, "{}: would clear {} retained message{} ({}) under {}; nothing changed (--dry-run)\n",
                 tool_name, count, count == 1 ? "" : "s", bytes_text(set.listed_bytes()), filters_text(o.topics));
    }
    connection.disconnect();
    return exit_code::ok;
  }
  bool everything = false;
  for (const auto& f : o.topics) {
    // '#', '+/#', '+/+/#': every topic.
    everything = everything || (f.back() == '#' && f.find_first_not_of("+/#") == std::string::npos);
  }
  if (!o.yes && ::isatty(0) != 0 && ::isatty(2) != 0 && (everything || count > confirm_above)) {
    const auto asked = Clock::now();
    const bool yes = confirmed(count, set.listed_bytes(), o.topics);
    run.extend_deadline(Clock::now() - asked);
    if (!yes) {
      connection.disconnect();
      throw Error(exit_code::not_confirmed, "not confirmed; nothing was cleared");
    }
  }
  if (backup.wanted()) {
    backup.write(set);
  }

  clearing.store(true);
  // A signal cancels the connection's waits: what they throw then is the
  // interruption, reported below.
  auto unless_interrupted = [&](auto f) {
    try {
      f();
    } catch (const Error&) {
      if (run.signal_number() == 0) {
        throw;
      }
    }
  };
  unless_interrupted([&] { run.clear(); });
  const std::size_t sent = run.sent();
  if (int signal_number = run.signal_number(); signal_number != 0) {
    if (!quiet) {
      fmt::print(stderr, "{}: interrupted after clearing {} of {} retained messages; not verified\n", tool_name,
                 sent, count);
    }
    connection.disconnect();
    return 128 + signal_number;
  }
  unless_interrupted([&] { run.collect(true); });
  // Topics seen only while verifying were either retained during the run or
  // left out of the listing by the broker (mosquitto drops QoS 0 messages
  // beyond max_queued_messages for a client that reads slower than it
  // sends). They match the selection, so they are backed up, cleared and
  // verified too, in further rounds, within --max.
  std::size_t late = 0;
  for (int round = 1; round < max_rounds && run.signal_number() == 0; ++round) {
    std::unique_lock lock = run.lock();
    const std::size_t first = set.entries().size();
    const std::size_t found = set.take_new_topics();
    lock.unlock();
    if (found == 0 || (o.max && count + late + found > *o.max)) {
      std::unique_lock relock = run.lock();
      set.restore_new_topics(first - found);
      break;
    }
    late += found;
    if (backup.wanted()) {
      backup.write(set, first - found);
    }
    unless_interrupted([&] { run.clear(first - found); });
    if (run.signal_number() != 0) {
      break;
    }
    unless_interrupted([&] { run.collect(true); });
  }
  backup.finish();
  if (int signal_number = run.signal_number(); signal_number != 0) {
    if (!quiet) {
      fmt::print(stderr, "{}: interrupted while verifying; {} retained messages were cleared, not verified\n",
                 tool_name, sent);
    }
    connection.disconnect();
    return 128 + signal_number;
  }
  std::unique_lock lock = run.lock();
  set.finish_verification();
  const auto totals = set.totals();
  if (o.json) {
    for (const auto& e : set.entries()) {
      print_json_line(entry_json(e, false));
    }
    print_totals_json(set, false, elapsed());
  }
  if (!quiet) {
    std::size_t named = 0;
    const bool v5 = o.connection.mqtt_version == 5;
    for (const auto& e : set.entries()) {
      if (e.status != RetainedSet::Status::verified && ++named <= max_named) {
        fmt::print(stderr, "{}: not clear: {}: {}\n", tool_name, e.topic, status_explanation(e, v5));
      }
    }
    if (late > 0) {
      fmt::print(stderr,
                 "{}: {} of them first seen while verifying, and cleared then: retained during the run, or left "
                 "out of the listing by the broker (mosquitto drops what exceeds max_queued_messages for a "
                 "client that reads slower than it sends)\n",
                 tool_name, late);
    }
    if (totals.not_clear() == 0) {
      fmt::print(stderr, "{}: cleared {} retained message{} ({}) under {}; verified: none left\n", tool_name,
                 totals.verified, totals.verified == 1 ? "" : "s", bytes_text(set.listed_bytes()),
                 filters_text(o.topics));
    } else {
      fmt::print(stderr, "{}: {} topic{} not clear{}; {} of {} cleared and verified\n", tool_name,
                 totals.not_clear(), totals.not_clear() == 1 ? " is" : "s are",
                 named > max_named ? fmt::format(" (the first {} are named; -j lists every one)", max_named) : "",
                 totals.verified, count + late);
    }
  }
  lock.unlock();
  connection.disconnect();
  return totals.not_clear() == 0 ? exit_code::ok : exit_code::not_all_cleared;
}

} // namespace mqtk
