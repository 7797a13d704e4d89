#include "mqtk/process/exec_runner.hpp"

#include "mqtk/output/json_text.hpp"

#include "mqtk/paho/thread_scheduling.hpp"

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "mqtk/process/error.hpp"

extern char** environ;

namespace mqtk {

namespace {

constexpr std::string_view env_topic = "MQTT_TOPIC=";
constexpr std::string_view env_qos = "MQTT_QOS=";
constexpr std::string_view env_retain = "MQTT_RETAIN=";
// MQTT 5 properties, when the message has them.
constexpr std::string_view env_response_topic = "MQTT_RESPONSE_TOPIC=";
constexpr std::string_view env_correlation_data = "MQTT_CORRELATION_DATA=";
constexpr std::string_view env_correlation_base64 = "MQTT_CORRELATION_DATA_BASE64=";
constexpr std::string_view env_content_type = "MQTT_CONTENT_TYPE=";
constexpr std::string_view env_expiry = "MQTT_MESSAGE_EXPIRY=";
constexpr std::string_view env_format = "MQTT_PAYLOAD_FORMAT=";
constexpr std::string_view env_user_properties = "MQTT_USER_PROPERTIES=";
constexpr std::string_view env_user_property_prefix = "MQTT_USER_PROPERTY_";

// The variables a command gets per message: none are inherited from mqtk's
// own environment, so that a message without a property says so.
bool per_message_variable(std::string_view entry)
{
  for (std::string_view name : {env_topic, env_qos, env_retain, env_response_topic, env_correlation_data,
                                env_correlation_base64, env_content_type, env_expiry, env_format, env_user_properties,
                                env_user_property_prefix}) {
    if (entry.substr(0, name.size()) == name) {
      return true;
    }
  }
  return false;
}

// MQTT_USER_PROPERTY_ and the name in capitals, other than letters and
// digits as '_' ("unit-of" -> MQTT_USER_PROPERTY_UNIT_OF).
std::string user_property_variable(std::string_view name)
{
  std::string out(env_user_property_prefix);
  for (char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out.push_back(!alnum ? '_' : (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

// The environment entries for a message's properties.
void add_property_variables(std::vector<std::string>& extra, const MessageProperties& p)
{
  if (p.response_topic) {
    extra.push_back(std::string(env_response_topic).append(*p.response_topic));
  }
  if (p.correlation_data) {
    // An environment entry cannot hold NUL; other bytes pass as they are.
    if (p.correlation_data->find('\0') == std::string_view::npos) {
      extra.push_back(std::string(env_correlation_data).append(*p.correlation_data));
    }
    std::string encoded(env_correlation_base64);
    append_base64(encoded, *p.correlation_data);
    extra.push_back(std::move(encoded));
  }
  if (p.content_type) {
    extra.push_back(std::string(env_content_type).append(*p.content_type));
  }
  if (p.message_expiry) {
    extra.push_back(std::string(env_expiry) + std::to_string(*p.message_expiry));
  }
  if (p.payload_format) {
    extra.push_back(std::string(env_format) + std::to_string(*p.payload_format));
  }
  if (!p.user.empty()) {
    for (const auto& [name, value] : p.user) {
      // One variable per name; a repeated name keeps its first value
      // (all of them are in MQTT_USER_PROPERTIES).
      const std::string variable = user_property_variable(name) + "=";
      bool seen = false;
      for (const std::string& e : extra) {
        seen = seen || e.rfind(variable, 0) == 0;
      }
      if (!seen) {
        extra.push_back(variable + std::string(value));
      }
    }
    std::string all(env_user_properties);
    append_user_properties_json(all, p.user);
    extra.push_back(std::move(all));
  }
}

// Without a pidfd: how often a helper checks whether its child has exited
// (a background grandchild may hold the stdin pipe open without reading).
constexpr int pipe_poll_ms = 100;

// Frees a posix_spawn object on every path out of run().
struct SpawnSetup
{
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  int error = 0;

  explicit SpawnSetup(int stdin_fd)
  {
    error = posix_spawn_file_actions_init(&actions);
    if (error != 0) {
      return;
    }
    error = posix_spawnattr_init(&attr);
    if (error != 0) {
      posix_spawn_file_actions_destroy(&actions);
      return;
    }
    initialized = true;
    error = posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
    // Keeps mqtk's broker socket and other descriptors out of the child.
    if (error == 0) {
      error = posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
    }
    // mqtk blocks SIGINT/SIGTERM in every thread and ignores SIGPIPE; both
    // would otherwise be inherited and make the child deaf to Ctrl-C or
    // change how it behaves in a pipeline.
    sigset_t mask;
    sigemptyset(&mask);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2}) {
      sigaddset(&defaults, sig);
    }
    if (error == 0) {
      error = posix_spawnattr_setsigmask(&attr, &mask);
    }
    if (error == 0) {
      error = posix_spawnattr_setsigdefault(&attr, &defaults);
    }
    if (error == 0) {
      error = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    }
  }

  ~SpawnSetup()
  {
    if (initialized) {
      posix_spawnattr_destroy(&attr);
      posix_spawn_file_actions_destroy(&actions);
    }
  }

  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

private:
  bool initialized = false;
};


// How a helper thread's wait for its child ended.
enum class Woke : std::uint8_t { exited, writable, timeout };

// The whole seconds of a duration as text: "2", "0.5".
std::string seconds_text(std::chrono::duration<double> d)
{
  return fmt::format("{}", d.count());
}

void check_seconds(std::chrono::duration<double> d, std::string_view option)
{
  if (!std::isfinite(d.count()) || d.count() < 0.0 || d.count() > 31536000.0) {
    throw UsageError(fmt::format("{}: expected seconds from 0 to 31536000, got {}", option, d.count()));
  }
}

} // namespace

ExecRunner::ExecRunner(std::vector<std::string> argv, int max_jobs, Reporter report)
  : ExecRunner(Settings{.argv = std::move(argv), .max_jobs = max_jobs}, std::move(report))
{
}

ExecRunner::ExecRunner(Settings settings, Reporter report)
  : m_settings(std::move(settings)),
    m_report(std::move(report))
{
  if (m_settings.argv.empty() || m_settings.argv.front().empty()) {
    throw UsageError("--exec: expected a command to run");
  }
  for (const std::string& arg : m_settings.argv) {
    if (arg.find('\0') != std::string::npos) {
      throw UsageError("--exec: arguments cannot contain NUL bytes");
    }
  }
  if (m_settings.max_jobs < 1) {
    throw UsageError(fmt::format("--exec-jobs: expected at least 1, got {}", m_settings.max_jobs));
  }
  if (m_settings.queue_limit < 1) {
    throw UsageError("--exec-queue: expected at least 1, got 0");
  }
  check_seconds(m_settings.timeout, "--exec-timeout");
  check_seconds(m_settings.kill_after, "--exec-timeout's SIGKILL delay");
  // A child that stops reading its stdin must show up as EPIPE, not kill us.
  std::signal(SIGPIPE, SIG_IGN);
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!per_message_variable(*e)) {
      m_environment.emplace_back(*e);
    }
  }
  m_dispatcher = std::thread(&ExecRunner::dispatch, this);
}

ExecRunner::~ExecRunner()
{
  {
    std::lock_guard guard(m_mutex);
    m_closing = true;
    m_changed.notify_all();
  }
  if (m_dispatcher.joinable()) {
    m_dispatcher.join();
  }
  wait_all();
}

ExecRunner::Submitted ExecRunner::run(const MessageView& message)
{
  Pending pending;
  pending.payload.assign(message.payload);
  pending.topic.assign(message.topic);
  pending.environment.push_back(std::string(env_topic).append(message.topic));
  pending.environment.push_back(std::string(env_qos) + std::to_string(message.qos));
  pending.environment.push_back(std::string(env_retain) + (message.retain ? "1" : "0"));
  if (message.properties != nullptr) {
    add_property_variables(pending.environment, *message.properties);
  }
  std::unique_lock lock(m_mutex);
  if (m_cancelled) {
    return Submitted::cancelled;
  }
  if (m_queue.size() >= m_settings.queue_limit) {
    if (m_settings.when_full == WhenFull::drop) {
      m_dropped.fetch_add(1, std::memory_order_relaxed);
      return Submitted::dropped;
    }
    m_changed.wait(lock, [this] { return m_queue.size() < m_settings.queue_limit || m_cancelled; });
    if (m_cancelled) {
      return Submitted::cancelled;
    }
  }
  m_queue.push_back(std::move(pending));
  m_changed.notify_all();
  return Submitted::queued;
}

void ExecRunner::dispatch() noexcept
{
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_changed.wait(lock, [this] {
      return (!m_queue.empty() && m_running < m_settings.max_jobs) || (m_closing && m_queue.empty());
    });
    if (m_queue.empty()) {
      return; // closing, and nothing left to start
    }
    Pending pending = std::move(m_queue.front());
    m_queue.pop_front();
    ++m_running; // in the same step, so wait_all() never sees neither
    join_done_locked();
    m_changed.notify_all(); // room in the queue
    lock.unlock();
    start(pending);
    lock.lock();
  }
}

void ExecRunner::start(Pending& pending) noexcept
{
  m_attempted.fetch_add(1, std::memory_order_relaxed);
  // Gives the slot back when no child comes of this command.
  const auto give_back = [this] {
    std::lock_guard guard(m_mutex);
    --m_running;
    m_changed.notify_all();
  };
  const auto not_started = [&](int error) {
    give_back();
    try {
      failed_run(fmt::format("--exec '{}' could not be started for message on topic '{}': {}",
                             m_settings.argv.front(), pending.topic, std::system_category().message(error)));
    } catch (...) {
      m_failed.fetch_add(1, std::memory_order_relaxed);
    }
  };

  std::list<Job>::iterator job;
  std::vector<char*> argv;
  std::vector<char*> envp;
  try {
    argv.reserve(m_settings.argv.size() + 1);
    for (std::string& arg : m_settings.argv) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    envp.reserve(m_environment.size() + pending.environment.size() + 1);
    for (std::string& entry : m_environment) {
      envp.push_back(entry.data());
    }
    for (std::string& entry : pending.environment) {
      envp.push_back(entry.data());
    }
    envp.push_back(nullptr);
    std::lock_guard guard(m_mutex);
    job = m_jobs.emplace(m_jobs.end());
  } catch (...) {
    not_started(ENOMEM);
    return;
  }
  const auto abandon = [&](int error) {
    {
      std::lock_guard guard(m_mutex);
      m_jobs.erase(job);
    }
    not_started(error);
  };

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    abandon(errno);
    return;
  }
  int error = 0;
  pid_t pid = -1;
  {
    SpawnSetup setup(fds[0]);
    error = setup.error;
    if (error == 0) {
      DefaultSchedulingForChildren scheduling; // not mqtk's one CPU and SCHED_BATCH
      error = posix_spawnp(&pid, argv[0], &setup.actions, &setup.attr, argv.data(), envp.data());
    }
  }
  ::close(fds[0]);
  if (error != 0) {
    ::close(fds[1]);
    abandon(error);
    return;
  }
  m_started.fetch_add(1, std::memory_order_relaxed);
  ::fcntl(fds[1], F_SETFL, ::fcntl(fds[1], F_GETFL) | O_NONBLOCK);
  job->pid = pid;
  job->stdin_fd = fds[1];
  // The child cannot be reaped before we wait for it, so its pid is still
  // its own here. Without pidfds (before Linux 5.3) the helper polls.
  // (glibc 2.36's <sys/pidfd.h> lacks extern "C", so the system call.)
  job->pid_fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  job->payload = std::move(pending.payload);
  job->topic = std::move(pending.topic);
  try {
    std::lock_guard guard(m_mutex);
    job->thread = std::thread(&ExecRunner::supervise, this, std::ref(*job));
  } catch (const std::system_error&) {
    // No thread to spare: supervise this child here, which holds up the
    // next command until it exits but still writes its payload and reaps it.
    supervise(*job);
  }
}

namespace {

// Waits at most `ms` (-1: no limit) for the child to exit or, when
// write_fd >= 0, for its stdin pipe to take more (or to break). May return
// timeout early: callers check their deadline again. Without a pidfd the
// child is polled every pipe_poll_ms, and reaped into status when it exited.
Woke wait_child(pid_t pid, int pid_fd, int write_fd, int ms, int& status, bool& reaped)
{
  pollfd p[2];
  nfds_t n = 0;
  if (write_fd >= 0) {
    p[n++] = pollfd{write_fd, POLLOUT, 0};
  }
  if (pid_fd >= 0) {
    p[n++] = pollfd{pid_fd, POLLIN, 0};
  } else if (ms < 0 || ms > pipe_poll_ms) {
    ms = pipe_poll_ms;
  }
  const int ready = ::poll(p, n, ms);
  if (pid_fd < 0) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      reaped = true;
      return Woke::exited;
    }
  } else if (ready > 0 && p[n - 1].revents != 0) {
    return Woke::exited;
  }
  if (ready > 0 && write_fd >= 0 && p[0].revents != 0) {
    return Woke::writable;
  }
  return Woke::timeout;
}

} // namespace

void ExecRunner::supervise(Job& job) noexcept
{
  using Clock = std::chrono::steady_clock;
  constexpr auto never = Clock::time_point::max();
  int status = 0;
  bool reaped = false;
  bool exited = false;
  // 0: running; 1: SIGTERM sent (past the timeout); 2: SIGKILL sent too.
  int stage = 0;
  auto deadline = m_settings.timeout.count() > 0
                    ? Clock::now() + std::chrono::duration_cast<Clock::duration>(m_settings.timeout)
                    : never;
  const auto ms_left = [&]() -> int {
    if (deadline == never) {
      return -1;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : left > 3600000 ? 3600000 : static_cast<int>(left);
  };
  // At the deadline: SIGTERM, and SIGKILL kill_after later.
  const auto escalate = [&] {
    if (Clock::now() < deadline) {
      return;
    }
    if (stage == 0) {
      ::kill(job.pid, SIGTERM);
      stage = 1;
      deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(m_settings.kill_after);
    } else if (stage == 1) {
      ::kill(job.pid, SIGKILL);
      stage = 2;
      deadline = never;
    }
  };

  const char* data = job.payload.data();
  std::size_t left = job.payload.size();
  while (left > 0 && !exited && stage == 0) {
    const ssize_t n = ::write(job.stdin_fd, data, left);
    if (n > 0) {
      data += n;
      left -= static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // A background grandchild may hold the pipe open without ever
      // reading it: the child's exit ends the write too.
      if (wait_child(job.pid, job.pid_fd, job.stdin_fd, ms_left(), status, reaped) == Woke::exited) {
        exited = true;
      }
      escalate();
      continue;
    }
    // EPIPE: the child closed its stdin (or exited) without reading it all,
    // which is its right.
    break;
  }
  ::close(job.stdin_fd);
  job.stdin_fd = -1;
  std::string().swap(job.payload);

  while (!exited) {
    if (wait_child(job.pid, job.pid_fd, -1, ms_left(), status, reaped) == Woke::exited) {
      exited = true;
    } else {
      escalate();
    }
  }
  if (!reaped) {
    pid_t w = -1;
    do {
      w = ::waitpid(job.pid, &status, 0);
    } while (w < 0 && errno == EINTR);
    // ECHILD means someone set SIGCHLD to SIG_IGN: the status is lost.
    reaped = w == job.pid;
  }
  if (job.pid_fd >= 0) {
    ::close(job.pid_fd);
    job.pid_fd = -1;
  }
  try {
    if (stage > 0) {
      m_timed_out.fetch_add(1, std::memory_order_relaxed);
      failed_run(fmt::format("--exec '{}' timed out after {} s for message on topic '{}' ({})",
                             m_settings.argv.front(), seconds_text(m_settings.timeout), job.topic,
                             stage == 1 ? "ended with SIGTERM"
                                        : fmt::format("still running {} s after SIGTERM: killed with SIGKILL",
                                                      seconds_text(m_settings.kill_after))));
    } else if (reaped && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
      failed_run(fmt::format("--exec '{}' exited with status {} for message on topic '{}'", m_settings.argv.front(),
                             WEXITSTATUS(status), job.topic));
    } else if (reaped && WIFSIGNALED(status)) {
      const int sig = WTERMSIG(status);
      const char* name = ::sigabbrev_np(sig);
      failed_run(fmt::format("--exec '{}' was killed by signal {}{}{}{} for message on topic '{}'",
                             m_settings.argv.front(), sig, name ? " (SIG" : "", name ? name : "", name ? ")" : "",
                             job.topic));
    }
  } catch (...) {
    m_failed.fetch_add(1, std::memory_order_relaxed);
  }

  std::lock_guard guard(m_mutex);
  job.done = true;
  --m_running;
  m_changed.notify_all();
}

void ExecRunner::cancel() noexcept
{
  std::lock_guard guard(m_mutex);
  m_cancelled = true;
  m_discarded.fetch_add(m_queue.size(), std::memory_order_relaxed);
  m_queue.clear();
  m_changed.notify_all();
}

void ExecRunner::failed_run(std::string line) noexcept
{
  m_failed.fetch_add(1, std::memory_order_relaxed);
  report(line);
}

void ExecRunner::report(const std::string& line) noexcept
{
  std::lock_guard guard(m_report_mutex);
  try {
    if (m_report) {
      m_report(line);
      return;
    }
    std::string text = "mqtk-sub: " + line + "\n";
    // One write, so that lines from concurrent children do not interleave.
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
  } catch (...) {
    // A reporter that throws loses its line; the failure is still counted.
  }
}

void ExecRunner::join_done_locked() noexcept
{
  for (auto it = m_jobs.begin(); it != m_jobs.end();) {
    if (it->done) {
      if (it->thread.joinable()) {
        it->thread.join();
      }
      it = m_jobs.erase(it);
    } else {
      ++it;
    }
  }
}

void ExecRunner::wait_all() noexcept
{
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [this] { return m_queue.empty() && m_running == 0; });
  join_done_locked();
}

} // namespace mqtk
