#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
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
// shell (posix_spawnp, PATH searched). The child gets the payload on its
// stdin, MQTT_TOPIC, MQTT_QOS and MQTT_RETAIN (0/1) added to mqtk's
// environment as it was at construction, mqtk's stdout and stderr, default
// signal dispositions and an empty signal mask; descriptors above 2 are
// closed in it. At most max_jobs children run at once. A helper thread per
// child writes the payload (stopping early, without error, when the child
// closes its stdin or exits without reading it all) and reaps the child as
// soon as it exits. A failed child is reported as one line and counted,
// never fatal. Construction ignores SIGPIPE process-wide.
class ExecRunner
{
public:
  // Receives one failure line without program name or newline, e.g.
  // "--exec 'curl' exited with status 7 for message on topic 'door/1'";
  // called from helper threads, one call at a time.
  using Reporter = std::function<void(std::string_view line)>;

  // Throws UsageError when argv or argv[0] is empty or max_jobs < 1. Without
  // a reporter, lines go to stderr as "mqtk-sub: <line>".
  ExecRunner(std::vector<std::string> argv, int max_jobs, Reporter report = {});

  ExecRunner(const ExecRunner&) = delete;
  ExecRunner& operator=(const ExecRunner&) = delete;

  // Waits for every child (wait_all()).
  ~ExecRunner();

  // Starts the command for message; when max_jobs children are running,
  // first blocks until one has exited (backpressure) or cancel() is called.
  // A command that cannot be started (not found: ENOENT, not executable:
  // EACCES) is reported and counted as failed. The message is copied; it
  // need not outlive the call. Returns false when cancelled (nothing
  // started).
  bool run(const MessageView& message);

  // From any thread: a run() waiting for a free slot returns at once, and
  // every later run() starts nothing. Children already running go on.
  void cancel() noexcept;

  // Blocks until every child started so far has exited and been reaped.
  void wait_all() noexcept;

  // Children started successfully so far.
  std::uint64_t started() const noexcept { return m_started.load(std::memory_order_relaxed); }

  // Runs that failed so far: could not be started, exited with a non-zero
  // status or were killed by a signal.
  std::uint64_t failed() const noexcept { return m_failed.load(std::memory_order_relaxed); }

private:
  struct Job
  {
    pid_t pid = -1;
    int stdin_fd = -1; // write end of the child's stdin pipe
    std::string payload;
    std::string topic;
    std::thread thread;
    bool done = false; // set under m_mutex when the child is reaped
  };

  void supervise(Job& job) noexcept;
  void report(const std::string& line) noexcept;
  void failed_run(std::string line) noexcept;
  void join_done_locked() noexcept;

  std::vector<std::string> m_argv;
  std::vector<std::string> m_environment; // inherited, minus MQTT_* we set
  int m_max_jobs;
  Reporter m_report;
  std::mutex m_report_mutex;

  std::mutex m_mutex;
  std::condition_variable m_changed;
  int m_running = 0;     // slots taken: children alive or being started
  bool m_cancelled = false;
  std::list<Job> m_jobs; // guarded by m_mutex; stable addresses for threads

  std::atomic<std::uint64_t> m_started{0};
  std::atomic<std::uint64_t> m_failed{0};
};

} // namespace mqtk
