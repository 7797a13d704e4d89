#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <thread>
#include <vector>

#include "mqtk/mqtt/message.hpp"

namespace mqtk {

// `--exec CMD [ARGS...]` of mqtk-sub: runs a command per message, without a
// shell (posix_spawnp, PATH searched), off the thread that receives
// messages. run() copies the message into a bounded queue and returns; one
// dispatcher thread starts the queued commands in the order they came, at
// most max_jobs at once (with 1, each starts after the one before exited).
// When the queue is full, run() waits for room (back-pressure) or drops the
// command and counts it, as the settings say.
//
// The child gets the payload on its stdin, MQTT_TOPIC, MQTT_QOS and
// MQTT_RETAIN (0/1) added to mqtk's environment as it was at construction,
// mqtk's stdout and stderr, default signal dispositions and an empty signal
// mask; descriptors above 2 are closed in it. A helper thread per child
// writes the payload (stopping early, without error, when the child closes
// its stdin or exits without reading it all), ends it when it runs past the
// timeout (SIGTERM, then SIGKILL kill_after later; only the child, not
// processes it started) and reaps it as soon as it exits. A failed or
// timed-out child is reported as one line and counted, never fatal.
// Construction ignores SIGPIPE process-wide.
class ExecRunner
{
public:
  // Receives one failure line without program name or newline, e.g.
  // "--exec 'curl' exited with status 7 for message on topic 'door/1'";
  // called from helper threads, one call at a time.
  using Reporter = std::function<void(std::string_view line)>;

  // What run() does when queue_limit commands already wait to start.
  enum class WhenFull : std::uint8_t { wait, drop };

  struct Settings
  {
    std::vector<std::string> argv;
    int max_jobs = 1;                  // commands running at once
    std::size_t queue_limit = 1000;    // commands waiting to start
    WhenFull when_full = WhenFull::wait;
    std::chrono::duration<double> timeout{0};    // 0: no limit
    std::chrono::duration<double> kill_after{2}; // from SIGTERM to SIGKILL
  };

  // Throws UsageError when argv or argv[0] is empty, an argument holds a
  // NUL, max_jobs or queue_limit < 1, or a duration is negative or not
  // finite; std::system_error when the dispatcher thread cannot start.
  // Without a reporter, lines go to stderr as "mqtk-sub: <line>".
  explicit ExecRunner(Settings settings, Reporter report = {});
  // The defaults for the rest.
  ExecRunner(std::vector<std::string> argv, int max_jobs, Reporter report = {});

  ExecRunner(const ExecRunner&) = delete;
  ExecRunner& operator=(const ExecRunner&) = delete;

  // Runs what is still queued, unless cancelled, and waits for every child.
  ~ExecRunner();

  enum class Submitted : std::uint8_t { queued, dropped, cancelled };

  // Queues the command for message (copied; it need not outlive the call).
  // With a full queue: WhenFull::wait blocks until there is room or
  // cancel() is called, WhenFull::drop returns dropped at once (counted).
  // After cancel() nothing is queued. A command that cannot be started
  // (not found: ENOENT, not executable: EACCES) is reported and counted as
  // failed when its turn comes. Throws only std::bad_alloc.
  Submitted run(const MessageView& message);

  // From any thread: a run() waiting for room returns at once, the queued
  // commands are discarded (counted) and every later run() queues nothing.
  // Children already running go on.
  void cancel() noexcept;

  // Blocks until the queue is empty (run or discarded) and every child
  // started so far has exited and been reaped.
  void wait_all() noexcept;

  // Children started successfully so far.
  std::uint64_t started() const noexcept { return m_started.load(std::memory_order_relaxed); }

  // Commands whose turn came: started, or could not be started.
  std::uint64_t attempted() const noexcept { return m_attempted.load(std::memory_order_relaxed); }

  // Runs that failed so far: could not be started, exited with a non-zero
  // status, were killed by a signal or timed out.
  std::uint64_t failed() const noexcept { return m_failed.load(std::memory_order_relaxed); }

  // Of those, the children ended for running past the timeout.
  std::uint64_t timed_out() const noexcept { return m_timed_out.load(std::memory_order_relaxed); }

  // Commands dropped because the queue was full (WhenFull::drop).
  std::uint64_t dropped() const noexcept { return m_dropped.load(std::memory_order_relaxed); }

  // Queued commands that cancel() discarded.
  std::uint64_t discarded() const noexcept { return m_discarded.load(std::memory_order_relaxed); }

  const Settings& settings() const noexcept { return m_settings; }

private:
  // A command waiting to start: its stdin and per-message environment.
  struct Pending
  {
    std::string payload;
    std::string topic;
    std::vector<std::string> environment; // MQTT_* entries
  };

  struct Job
  {
    pid_t pid = -1;
    int stdin_fd = -1; // write end of the child's stdin pipe
    int pid_fd = -1;   // pidfd_open(pid), -1 when the kernel has none
    std::string payload;
    std::string topic;
    std::thread thread;
    bool done = false; // set under m_mutex when the child is reaped
  };

  void dispatch() noexcept;
  void start(Pending& pending) noexcept;
  void supervise(Job& job) noexcept;
  void report(const std::string& line) noexcept;
  void failed_run(std::string line) noexcept;
  void join_done_locked() noexcept;

  Settings m_settings;
  std::vector<std::string> m_environment; // inherited, minus MQTT_* we set
  Reporter m_report;
  std::mutex m_report_mutex;

  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::deque<Pending> m_queue; // guarded by m_mutex
  int m_running = 0;     // slots taken: children alive or being started
  bool m_cancelled = false;
  bool m_closing = false; // the destructor asks the dispatcher to end
  std::list<Job> m_jobs; // guarded by m_mutex; stable addresses for threads

  std::atomic<std::uint64_t> m_started{0};
  std::atomic<std::uint64_t> m_attempted{0};
  std::atomic<std::uint64_t> m_failed{0};
  std::atomic<std::uint64_t> m_timed_out{0};
  std::atomic<std::uint64_t> m_dropped{0};
  std::atomic<std::uint64_t> m_discarded{0};

  std::thread m_dispatcher; // last: starts once the rest is ready
};

} // namespace mqtk
