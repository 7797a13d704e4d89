#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <csignal>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mqtk/output/writer.hpp"

using namespace std::chrono_literals;
using mqtk::OutputWriter;

namespace {

struct Pipe
{
  int fds[2] = {-1, -1};
  Pipe() { REQUIRE(::pipe2(fds, O_CLOEXEC) == 0); }
  ~Pipe()
  {
    for (int fd : fds) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }
  int queued() const
  {
    int n = 0;
    REQUIRE(::ioctl(fds[0], FIONREAD, &n) == 0);
    return n;
  }
  std::string read_some()
  {
    char buffer[4096];
    ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  }
};

} // namespace

TEST_CASE("output writer: one flush writes the whole buffer")
{
  Pipe pipe;
  OutputWriter writer(pipe.fds[1]);
  writer.buffer() = "a\nb\n";
  CHECK(writer.flush());
  CHECK(writer.buffer().empty());
  CHECK(pipe.read_some() == "a\nb\n");
  CHECK_FALSE(writer.interrupted());
}

TEST_CASE("output writer: a reader that closed the pipe is EPIPE, not a signal")
{
  Pipe pipe;
  ::signal(SIGPIPE, SIG_IGN);
  ::close(pipe.fds[0]);
  pipe.fds[0] = -1;
  OutputWriter writer(pipe.fds[1]);
  writer.buffer() = "lost\n";
  CHECK_FALSE(writer.flush());
  CHECK(writer.broken_pipe());
  CHECK(writer.error() == EPIPE);
}

TEST_CASE("output writer: interrupt() ends a write blocked on a reader that does not read")
{
  Pipe pipe;
  OutputWriter writer(pipe.fds[1]);
  // Far more than a pipe holds (64 KiB by default), and nobody reads.
  writer.buffer().assign(4 * 1024 * 1024, 'x');
  std::atomic<int> result{-1};
  std::thread writing([&] { result = writer.flush() ? 1 : 0; });
  // Wait until the pipe is full: the writer is then blocked in write(2).
  const int size = ::fcntl(pipe.fds[0], F_GETPIPE_SZ);
  while (pipe.queued() < size) {
    std::this_thread::sleep_for(1ms);
  }
  CHECK(result == -1);
  const auto start = std::chrono::steady_clock::now();
  writer.interrupt();
  writing.join();
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK(result == 0);
  CHECK(writer.interrupted());
  CHECK_FALSE(writer.broken_pipe());
  // Later output is dropped at once, even with room in the pipe.
  REQUIRE(::fcntl(pipe.fds[0], F_SETFL, O_NONBLOCK) == 0);
  while (!pipe.read_some().empty()) {
  }
  writer.buffer() = "late\n";
  CHECK_FALSE(writer.flush());
  CHECK(writer.buffer().empty());
}
