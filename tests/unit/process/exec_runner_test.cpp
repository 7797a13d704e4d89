#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mqtk/process/error.hpp"
#include "mqtk/process/exec_runner.hpp"

using mqtk::ExecRunner;
using mqtk::MessageView;

namespace {

MessageView msg(std::string_view topic, std::string_view payload = {}, int qos = 0, bool retain = false)
{
  return MessageView{topic, payload, qos, retain, 0};
}

std::vector<std::string> sh(std::string script, std::vector<std::string> args = {})
{
  std::vector<std::string> argv{"/bin/sh", "-c", std::move(script), "sh"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// Collects reported lines; the runner calls it one line at a time.
struct Lines
{
  std::mutex mutex;
  std::vector<std::string> lines;

  ExecRunner::Reporter reporter()
  {
    return [this](std::string_view line) {
      std::lock_guard guard(mutex);
      lines.emplace_back(line);
    };
  }
};

bool no_children_left()
{
  return ::waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

// A temporary directory with two FIFOs: children report events into `ev`
// and each waits for one byte on `go`, which the test writes.
struct Fifos
{
  std::string dir;
  std::string ev;
  std::string go;
  int ev_fd = -1;
  int go_fd = -1;
  std::string buffer;

  Fifos()
  {
    char tmpl[] = "/tmp/mqtk-exec-test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    ev = dir + "/ev";
    go = dir + "/go";
    REQUIRE(::mkfifo(ev.c_str(), 0600) == 0);
    REQUIRE(::mkfifo(go.c_str(), 0600) == 0);
    // O_RDWR: opening neither blocks nor ever sees end of file.
    ev_fd = ::open(ev.c_str(), O_RDWR | O_CLOEXEC);
    go_fd = ::open(go.c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(ev_fd >= 0);
    REQUIRE(go_fd >= 0);
  }

  ~Fifos()
  {
    ::close(ev_fd);
    ::close(go_fd);
    ::unlink(ev.c_str());
    ::unlink(go.c_str());
    ::rmdir(dir.c_str());
  }

  // Lets one waiting child go on (a single byte is read by a single child).
  void release(int n = 1)
  {
    for (int i = 0; i < n; ++i) {
      REQUIRE(::write(go_fd, "\n", 1) == 1);
    }
  }

  // The next event line; empty after timeout_ms without one (with the
  // default, a failure, not a timing assumption: events are due long before).
  std::string next(int timeout_ms = 30000)
  {
    for (;;) {
      if (const auto nl = buffer.find('\n'); nl != std::string::npos) {
        std::string line = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        return line;
      }
      pollfd p{ev_fd, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) != 1) {
        return {};
      }
      char chunk[256];
      const ssize_t n = ::read(ev_fd, chunk, sizeof chunk);
      if (n <= 0) {
        return {};
      }
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
  }
};

} // namespace

TEST_CASE("exec runner: payload on stdin, MQTT_* in the environment")
{
  ::setenv("MQTK_EXEC_TEST", "inherited", 1);
  ::setenv("MQTT_TOPIC", "stale", 1);
  Lines lines;
  {
    ExecRunner runner(sh(R"sh(read x; test "$x" = hello && test "$MQTT_TOPIC" = a/b && test "$MQTT_QOS" = 1 &&
                            test "$MQTT_RETAIN" = 1 && test "$MQTK_EXEC_TEST" = inherited &&
                            test "$(env | grep -c '^MQTT_TOPIC=')" = 1)sh"),
                      1, lines.reporter());
    runner.run(msg("a/b", "hello", 1, true));
    runner.run(msg("a/b", "hello\nmore\n", 1, true));
    runner.run(msg("a/c", "hello", 1, true));  // wrong topic: fails
    runner.run(msg("a/b", "hello", 2, false)); // wrong qos: fails
    runner.wait_all();
    CHECK(runner.started() == 4);
    CHECK(runner.failed() == 2);
  }
  ::unsetenv("MQTK_EXEC_TEST");
  ::unsetenv("MQTT_TOPIC");
  REQUIRE(lines.lines.size() == 2);
  CHECK(lines.lines[0] == "--exec '/bin/sh' exited with status 1 for message on topic 'a/c'");
  CHECK(no_children_left());
}

TEST_CASE("exec runner: failures are reported and counted, never fatal")
{
  Lines lines;
  ExecRunner exits(sh("exit 7"), 1, lines.reporter());
  exits.run(msg("door/1"));
  exits.wait_all();
  ExecRunner killed(sh("kill -9 $$"), 1, lines.reporter());
  killed.run(msg("door/2"));
  killed.wait_all();
  ExecRunner missing({"mqtk-no-such-command-for-tests", "arg"}, 1, lines.reporter());
  missing.run(msg("door/3"));
  missing.run(msg("door/4"));
  missing.wait_all();
  ExecRunner missing_path({"/nonexistent/dir/cmd"}, 1, lines.reporter());
  missing_path.run(msg("door/5"));
  missing_path.wait_all(); // its failure is counted on the runner's thread
  ExecRunner ok({"true"}, 1, lines.reporter());
  ok.run(msg("door/6", "ignored"));
  ok.wait_all();

  CHECK(exits.started() == 1);
  CHECK(exits.failed() == 1);
  CHECK(killed.failed() == 1);
  CHECK(missing.started() == 0);
  CHECK(missing.failed() == 2);
  CHECK(missing_path.failed() == 1);
  CHECK(ok.started() == 1);
  CHECK(ok.failed() == 0);
  REQUIRE(lines.lines.size() == 5);
  CHECK(lines.lines[0] == "--exec '/bin/sh' exited with status 7 for message on topic 'door/1'");
  CHECK(lines.lines[1] == "--exec '/bin/sh' was killed by signal 9 (SIGKILL) for message on topic 'door/2'");
  CHECK(lines.lines[2] == "--exec 'mqtk-no-such-command-for-tests' could not be started for message on topic "
                          "'door/3': No such file or directory");
  CHECK(lines.lines[4] ==
        "--exec '/nonexistent/dir/cmd' could not be started for message on topic 'door/5': No such file or directory");
  CHECK(no_children_left());
}

TEST_CASE("exec runner: bad construction")
{
  CHECK_THROWS_AS(ExecRunner({}, 1), mqtk::UsageError);
  CHECK_THROWS_AS(ExecRunner({""}, 1), mqtk::UsageError);
  CHECK_THROWS_AS(ExecRunner({"true"}, 0), mqtk::UsageError);
  CHECK_THROWS_AS(ExecRunner({"true", std::string("a\0b", 3)}, 1), mqtk::UsageError);
}

TEST_CASE("exec runner: at most max_jobs children at once")
{
  Fifos f;
  Lines lines;
  ExecRunner runner(sh(R"(echo "start $MQTT_TOPIC" > "$1"; read x < "$2"; echo "stop $MQTT_TOPIC" > "$1")",
                       {f.ev, f.go}),
                    2, lines.reporter());
  std::thread producer([&runner] {
    for (const char* topic : {"a", "b", "c", "d"}) {
      runner.run(msg(topic));
    }
    runner.wait_all();
  });
  std::vector<std::string> events;
  events.push_back(f.next());
  events.push_back(f.next());
  // Nothing else may happen now. (Passing never depends on this timeout; it
  // only gives a wrongly started third child time to show up.)
  CHECK(f.next(200).empty());
  // c may only start once a or b has exited, and each writes "stop" first.
  f.release();
  events.push_back(f.next());
  events.push_back(f.next());
  f.release();
  events.push_back(f.next());
  events.push_back(f.next());
  f.release(2);
  events.push_back(f.next());
  events.push_back(f.next());
  // Whatever went wrong above, let every child finish so the test ends.
  f.release(4);
  producer.join();

  CHECK(((events[0] == "start a" && events[1] == "start b") || (events[0] == "start b" && events[1] == "start a")));
  CHECK(events[2].rfind("stop ", 0) == 0);
  CHECK(events[3] == "start c");
  CHECK(events[4].rfind("stop ", 0) == 0);
  CHECK(events[5] == "start d");
  CHECK(events[6].rfind("stop ", 0) == 0);
  CHECK(events[7].rfind("stop ", 0) == 0);
  CHECK(runner.started() == 4);
  CHECK(runner.failed() == 0);
  CHECK(no_children_left());
}

TEST_CASE("exec runner: large payloads, read or not")
{
  const std::string big(1 << 20, 'x');
  Lines lines;
  {
    ExecRunner reader(sh("[ $(wc -c) -eq 1048576 ]"), 3, lines.reporter());
    for (int i = 0; i < 5; ++i) {
      reader.run(msg("big", big));
    }
    reader.wait_all();
    CHECK(reader.started() == 5);
    CHECK(reader.failed() == 0);
  }
  {
    // Exits without reading: the write ends with EPIPE.
    ExecRunner ignorer({"true"}, 1, lines.reporter());
    ignorer.run(msg("big", big));
    ignorer.run(msg("big", big));
    ignorer.wait_all();
    CHECK(ignorer.failed() == 0);
  }
  {
    // Closes its stdin and lives on until released.
    Fifos f;
    ExecRunner closer(sh(R"(exec 0<&-; echo closed > "$1"; read x < "$2")", {f.ev, f.go}), 1, lines.reporter());
    closer.run(msg("big", big));
    CHECK(f.next() == "closed");
    f.release();
    closer.wait_all();
    CHECK(closer.failed() == 0);
  }
  {
    // Exits at once but leaves a background grandchild holding the pipe
    // without reading it: the child is still reaped and wait_all() returns.
    // As a subreaper the test inherits the grandchild and reaps it too.
    Fifos f;
    REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    ExecRunner leaver(sh(R"(exec 3<&0; (read x < "$2") <&3 >/dev/null 2>&1 3<&- & exit 0)", {f.ev, f.go}), 1,
                      lines.reporter());
    leaver.run(msg("big", big));
    leaver.wait_all();
    CHECK(leaver.started() == 1);
    CHECK(leaver.failed() == 0);
    f.release();
    int status = -1;
    CHECK(::waitpid(-1, &status, 0) > 0);
    CHECK(status == 0);
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  }
  CHECK(lines.lines.empty());
  CHECK(no_children_left());
}

using Submitted = ExecRunner::Submitted;

// A runner of a child that reports "start TOPIC", waits for one byte on
// go and reports "stop TOPIC".
ExecRunner::Settings held(Fifos& f, std::size_t queue_limit, ExecRunner::WhenFull when_full)
{
  return ExecRunner::Settings{
    .argv = sh(R"(echo "start $MQTT_TOPIC" > "$1"; read x < "$2"; echo "stop $MQTT_TOPIC" > "$1")", {f.ev, f.go}),
    .max_jobs = 1,
    .queue_limit = queue_limit,
    .when_full = when_full,
  };
}

TEST_CASE("exec runner: run() queues and returns while a command runs; one job keeps message order")
{
  Fifos f;
  Lines lines;
  ExecRunner runner(held(f, 10, ExecRunner::WhenFull::wait), lines.reporter());
  // None of these waits, though the first command holds the only slot.
  for (const char* topic : {"a", "b", "c", "d", "e"}) {
    CHECK(runner.run(msg(topic)) == Submitted::queued);
  }
  std::vector<std::string> events;
  for (int i = 0; i < 5; ++i) {
    events.push_back(f.next());
    f.release();
    events.push_back(f.next());
  }
  runner.wait_all();
  CHECK(events == std::vector<std::string>{"start a", "stop a", "start b", "stop b", "start c", "stop c",
                                           "start d", "stop d", "start e", "stop e"});
  CHECK(runner.started() == 5);
  CHECK(runner.attempted() == 5);
  CHECK(runner.dropped() == 0);
  CHECK(no_children_left());
}

TEST_CASE("exec runner: a full queue drops and counts, or waits for room")
{
  SUBCASE("drop")
  {
    Fifos f;
    Lines lines;
    ExecRunner runner(held(f, 2, ExecRunner::WhenFull::drop), lines.reporter());
    CHECK(runner.run(msg("a")) == Submitted::queued);
    CHECK(f.next() == "start a"); // a left the queue: two places free
    CHECK(runner.run(msg("b")) == Submitted::queued);
    CHECK(runner.run(msg("c")) == Submitted::queued);
    CHECK(runner.run(msg("d")) == Submitted::dropped);
    CHECK(runner.run(msg("e")) == Submitted::dropped);
    CHECK(runner.dropped() == 2);
    f.release(3);
    runner.wait_all();
    CHECK(runner.started() == 3);
    CHECK(runner.attempted() == 3);
    CHECK(lines.lines.empty());
  }
  SUBCASE("wait")
  {
    Fifos f;
    Lines lines;
    ExecRunner runner(held(f, 1, ExecRunner::WhenFull::wait), lines.reporter());
    CHECK(runner.run(msg("a")) == Submitted::queued);
    CHECK(f.next() == "start a");
    CHECK(runner.run(msg("b")) == Submitted::queued); // the one place
    std::atomic<bool> returned{false};
    std::thread producer([&] {
      CHECK(runner.run(msg("c")) == Submitted::queued);
      returned = true;
    });
    // c waits while a runs and b fills the queue. (Passing never depends on
    // this timeout; it only gives a wrong return time to show up.)
    CHECK(f.next(200).empty());
    CHECK_FALSE(returned);
    f.release(); // a ends, b starts, c gets b's place
    CHECK(f.next() == "stop a");
    CHECK(f.next() == "start b");
    producer.join();
    CHECK(returned);
    f.release(2);
    runner.wait_all();
    CHECK(runner.started() == 3);
    CHECK(runner.dropped() == 0);
  }
  CHECK(no_children_left());
}

TEST_CASE("exec runner: cancel() ends a wait for room and discards the queue; running children go on")
{
  Fifos f;
  Lines lines;
  ExecRunner runner(held(f, 1, ExecRunner::WhenFull::wait), lines.reporter());
  CHECK(runner.run(msg("a")) == Submitted::queued);
  CHECK(f.next() == "start a");
  CHECK(runner.run(msg("b")) == Submitted::queued);
  std::atomic<int> third{-1};
  std::thread producer([&] { third = static_cast<int>(runner.run(msg("c"))); }); // waits: the queue is full
  CHECK(f.next(200).empty());
  runner.cancel();
  producer.join();
  CHECK(third == static_cast<int>(Submitted::cancelled));
  CHECK(runner.run(msg("d")) == Submitted::cancelled); // nothing queues after cancel()
  CHECK(runner.discarded() == 1);                       // b
  f.release();
  CHECK(f.next() == "stop a");
  runner.wait_all();
  CHECK(runner.started() == 1);
  CHECK(runner.failed() == 0);
  CHECK(no_children_left());
}

TEST_CASE("exec runner: --exec-timeout ends a command with SIGTERM, then SIGKILL")
{
  Lines lines;
  const auto settings = [](std::vector<std::string> argv) {
    return ExecRunner::Settings{.argv = std::move(argv),
                                .timeout = std::chrono::duration<double>(0.2),
                                .kill_after = std::chrono::duration<double>(0.3)};
  };
  {
    ExecRunner runner(settings({"sleep", "60"}), lines.reporter());
    const auto begin = std::chrono::steady_clock::now();
    runner.run(msg("slow/1", "unread"));
    runner.wait_all();
    CHECK(std::chrono::steady_clock::now() - begin < std::chrono::seconds(30));
    CHECK(runner.timed_out() == 1);
    CHECK(runner.failed() == 1);
  }
  {
    // Deaf to SIGTERM (the ignored disposition survives exec), and with a
    // payload it never reads, larger than a pipe holds: the write gives up.
    ExecRunner runner(settings(sh("trap '' TERM; exec sleep 60")), lines.reporter());
    runner.run(msg("slow/2", std::string(1 << 20, 'x')));
    runner.wait_all();
    CHECK(runner.timed_out() == 1);
  }
  {
    // Done in time: no timeout.
    ExecRunner runner(settings({"true"}), lines.reporter());
    runner.run(msg("quick"));
    runner.wait_all();
    CHECK(runner.timed_out() == 0);
    CHECK(runner.failed() == 0);
  }
  REQUIRE(lines.lines.size() == 2);
  CHECK(lines.lines[0] == "--exec 'sleep' timed out after 0.2 s for message on topic 'slow/1' (ended with SIGTERM)");
  CHECK(lines.lines[1] == "--exec '/bin/sh' timed out after 0.2 s for message on topic 'slow/2' (still running "
                          "0.3 s after SIGTERM: killed with SIGKILL)");
  CHECK(no_children_left());
}

TEST_CASE("exec runner: bad settings")
{
  using S = ExecRunner::Settings;
  CHECK_THROWS_AS(ExecRunner(S{.argv = {"true"}, .queue_limit = 0}), mqtk::UsageError);
  CHECK_THROWS_AS(ExecRunner(S{.argv = {"true"}, .timeout = std::chrono::duration<double>(-1)}), mqtk::UsageError);
}
