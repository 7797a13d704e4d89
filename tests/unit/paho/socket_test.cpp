#include "mqtk/paho/socket.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <string_view>
#include <thread>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace ra = mqtk::paho_socket;

namespace {

// A connected stream socket pair; `ours` is non-blocking like Paho's.
struct Pair
{
  int ours = -1;
  int peer = -1;

  explicit Pair(bool non_blocking = true)
  {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    ours = fds[0];
    peer = fds[1];
    if (non_blocking) {
      REQUIRE(::fcntl(ours, F_SETFL, ::fcntl(ours, F_GETFL) | O_NONBLOCK) == 0);
    }
  }
  ~Pair()
  {
    if (ours >= 0) {
      ::close(ours);
    }
    if (peer >= 0) {
      ::close(peer);
    }
  }
  Pair(const Pair&) = delete;
  Pair& operator=(const Pair&) = delete;

  void send(std::string_view bytes) const
  {
    REQUIRE(::write(peer, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  }

  // Writes to `ours` through the exported writev (or write, as OpenSSL
  // does for TLS), with a small send buffer, until a write is partial (as
  // Paho's large publishes are).
  // False if none was within 1000 writes of 64 KiB.
  bool write_until_partial(bool through_write = false) const
  {
    int small = 4096;
    REQUIRE(::setsockopt(ours, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    std::string chunk(64 * 1024, 'a');
    iovec iov{chunk.data(), chunk.size()};
    for (int i = 0; i < 1000; ++i) {
      const ssize_t n = through_write ? ::write(ours, chunk.data(), chunk.size()) : ::writev(ours, &iov, 1);
      if (n != static_cast<ssize_t>(chunk.size())) {
        return true;
      }
    }
    return false;
  }

  // Reads everything `ours` wrote so far at the peer's end.
  void drain_peer() const
  {
    std::string sink(1 << 20, '\0');
    for (ssize_t got = 1; got > 0;) {
      got = ::recv(peer, sink.data(), sink.size(), MSG_DONTWAIT);
    }
  }
};

int kernel_bytes(int fd)
{
  int n = -1;
  REQUIRE(::ioctl(fd, FIONREAD, &n) == 0);
  return n;
}

std::string receive(int fd, std::size_t len, int flags = 0)
{
  std::string buf(len, '\0');
  ssize_t n = ra::receive(fd, buf.data(), len, flags);
  REQUIRE(n >= 0);
  buf.resize(static_cast<std::size_t>(n));
  return buf;
}

} // namespace

TEST_CASE("read ahead: the first small read takes what the kernel has; later reads come from the buffer in order")
{
  Pair p;
  p.send("\x30\x0d" "abcdefgh");
  CHECK(receive(p.ours, 1) == "\x30");
  CHECK(kernel_bytes(p.ours) == 0);
  CHECK(ra::buffered(p.ours) == 9);

  pollfd fd{p.ours, POLLIN, 0};
  CHECK(ra::answer_poll(&fd, 1, 1000) == 1);
  CHECK(fd.revents == POLLIN);

  CHECK(receive(p.ours, 1) == "\x0d");
  CHECK(receive(p.ours, 3, MSG_PEEK) == "abc");
  CHECK(receive(p.ours, 3) == "abc");
  // More than is buffered: the rest, plus whatever the kernel has now.
  p.send("ij");
  CHECK(receive(p.ours, 10) == "defghij");
  CHECK(ra::buffered(p.ours) == 0);

  char c = 0;
  errno = 0;
  CHECK(ra::receive(p.ours, &c, 1, 0) == -1);
  CHECK(errno == EAGAIN);
  fd.revents = 0;
  CHECK(ra::answer_poll(&fd, 1, 1000) == 0);
  CHECK(fd.revents == 0);
}

TEST_CASE("read ahead: poll with other descriptors asks the kernel for them and adds the buffered socket")
{
  Pair p;
  Pair other;
  p.send("xyz");
  CHECK(receive(p.ours, 1) == "x");

  pollfd fds[2] = {{other.ours, POLLIN, 0}, {p.ours, POLLIN, 0}};
  CHECK(ra::answer_poll(fds, 2, 1000) == 1);
  CHECK(fds[0].revents == 0);
  CHECK(fds[1].revents == POLLIN);

  other.send("!");
  CHECK(ra::answer_poll(fds, 2, 1000) == 2);
  CHECK(fds[0].revents == POLLIN);
  CHECK(fds[1].revents == POLLIN);

}

TEST_CASE("read ahead: a socket that has been read from counts as writable for a zero-timeout write check")
{
  Pair p;
  pollfd out{p.ours, POLLOUT, 0};
  // Never read from (a connect may still be in progress): the kernel's.
  CHECK(ra::answer_poll(&out, 1, 0) == 0);
  CHECK(out.revents == 0);

  p.send("x");
  CHECK(receive(p.ours, 1) == "x");
  CHECK(ra::answer_poll(&out, 1, 0) == 1);
  CHECK(out.revents == POLLOUT);

  SUBCASE("only a zero timeout, only POLLOUT, only read sockets")
  {
    out.revents = 0;
    CHECK(ra::answer_poll(&out, 1, 1000) == 0);
    pollfd both{p.ours, POLLIN | POLLOUT, 0};
    CHECK(ra::answer_poll(&both, 1, 0) == 0);
    Pair other;
    pollfd two[2] = {{p.ours, POLLOUT, 0}, {other.ours, POLLOUT, 0}};
    CHECK(ra::answer_poll(two, 2, 0) == 0);
    CHECK(two[0].revents == 0);
  }
  SUBCASE("closing the socket ends it")
  {
    const int number = p.ours;
    ::close(p.ours);
    p.ours = -1;
    pollfd gone{number, POLLOUT, 0};
    CHECK(ra::answer_poll(&gone, 1, 0) == 0);
  }
}

TEST_CASE("read ahead: close() drops the buffer, so a new socket with the same number starts empty")
{
  int number = -1;
  {
    Pair p;
    p.send("stale bytes");
    CHECK(receive(p.ours, 1) == "s");
    number = p.ours;
    CHECK(ra::buffered(number) == 10);
  } // closes both ends through mqtk's close()
  CHECK(ra::buffered(number) == 0);
  Pair q;
  REQUIRE(q.ours == number);
  q.send("fresh");
  CHECK(receive(q.ours, 5) == "fresh");
}

TEST_CASE("read ahead: end of stream and blocking sockets")
{
  SUBCASE("the buffered bytes first, then end of stream")
  {
    Pair p;
    p.send("ab");
    ::close(p.peer);
    p.peer = -1;
    CHECK(receive(p.ours, 1) == "a");
    CHECK(receive(p.ours, 5) == "b");
    CHECK(receive(p.ours, 1) == "");
  }
  SUBCASE("a blocking socket is never read ahead (a refill could block)")
  {
    Pair p(false);
    p.send("abc");
    CHECK(receive(p.ours, 1) == "a");
    CHECK(ra::buffered(p.ours) == 0);
    CHECK(kernel_bytes(p.ours) == 2);
  }
  SUBCASE("a read as large as the buffer goes straight to the kernel")
  {
    Pair p;
    p.send("abc");
    CHECK(receive(p.ours, ra::capacity) == "abc");
    CHECK(ra::buffered(p.ours) == 0);
  }
}

TEST_CASE("pending writes: a partial write makes a read wait also wake for output, without reporting it")
{
  Pair p;
  p.send("x");
  CHECK(receive(p.ours, 1) == "x"); // a socket Paho reads from
  REQUIRE(p.write_until_partial());
  CHECK(ra::write_pending(p.ours));
  // The write check now goes to the kernel.
  pollfd out{p.ours, POLLOUT, 0};
  CHECK(ra::answer_poll(&out, 1, 0) == 0);

  // Nothing to read and the socket full: the wait times out.
  pollfd in{p.ours, POLLIN, 0};
  CHECK(ra::poll_kernel(&in, 1, 50) == 0);
  CHECK(in.events == POLLIN);

  // The peer drains it: the wait returns at once, with nothing reported.
  p.drain_peer();
  in.revents = -1;
  const auto before = std::chrono::steady_clock::now();
  CHECK(ra::poll_kernel(&in, 1, 20000) == 0);
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(10)); // woke, did not time out
  CHECK(in.revents == 0);
  CHECK(in.events == POLLIN);

  // A complete write clears it; then a read wait waits for input only.
  char byte = 'b';
  iovec one{&byte, 1};
  REQUIRE(::writev(p.ours, &one, 1) == 1);
  CHECK_FALSE(ra::write_pending(p.ours));
  p.send("y");
  CHECK(ra::poll_kernel(&in, 1, 10000) == 1);
  CHECK(in.revents == POLLIN);
}

TEST_CASE("pending writes: a socket never read from (TLS reads go through OpenSSL) is tracked from its first write")
{
  Pair p;
  REQUIRE(p.write_until_partial(true));
  CHECK(ra::write_pending(p.ours));
  p.drain_peer();
  pollfd in{p.ours, POLLIN, 0};
  CHECK(ra::poll_kernel(&in, 1, 20000) == 0); // woken for output, which it did not ask about
  char byte = 'b';
  REQUIRE(::write(p.ours, &byte, 1) == 1);
  CHECK_FALSE(ra::write_pending(p.ours));
}

TEST_CASE("pending writes: pipes and blocking sockets are not tracked")
{
  int fds[2];
  REQUIRE(::pipe2(fds, O_NONBLOCK) == 0);
  std::string chunk(1 << 20, 'p');
  CHECK(::write(fds[1], chunk.data(), chunk.size()) < static_cast<ssize_t>(chunk.size())); // a full pipe
  CHECK_FALSE(ra::write_pending(fds[1]));
  ::close(fds[0]);
  ::close(fds[1]);

  Pair blocking(false);
  REQUIRE(::write(blocking.ours, "x", 1) == 1);
  blocking.send("y");
  CHECK(receive(blocking.ours, 1) == "y");
  CHECK(ra::buffered(blocking.ours) == 0);
}

TEST_CASE("pending writes: a read wait already under way is woken when a write becomes pending")
{
  Pair p;
  p.send("x");
  CHECK(receive(p.ours, 1) == "x");

  int result = -1;
  std::chrono::steady_clock::duration waited{};
  std::thread reader([&] {
    pollfd in{p.ours, POLLIN, 0};
    const auto before = std::chrono::steady_clock::now();
    result = ra::poll_kernel(&in, 1, 20000);
    waited = std::chrono::steady_clock::now() - before;
  });
  // A partial write while the reader waits for input only; then drained,
  // so that the reader's widened wait sees the socket writable.
  REQUIRE(p.write_until_partial());
  p.drain_peer();
  reader.join();
  CHECK(result == 0); // woken, with nothing to report to Paho
  CHECK(waited < std::chrono::seconds(10));
}
