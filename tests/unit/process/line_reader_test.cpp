#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "mqtk/process/line_reader.hpp"

using mqtk::LineReader;

namespace {

struct Pipe
{
  int fds[2] = {-1, -1};
  Pipe() { REQUIRE(::pipe(fds) == 0); }
  ~Pipe()
  {
    close_read();
    close_write();
  }
  void close_read()
  {
    if (fds[0] >= 0) {
      ::close(fds[0]);
      fds[0] = -1;
    }
  }
  void close_write()
  {
    if (fds[1] >= 0) {
      ::close(fds[1]);
      fds[1] = -1;
    }
  }
  void write(std::string_view data) const
  {
    while (!data.empty()) {
      ssize_t n = ::write(fds[1], data.data(), data.size());
      REQUIRE(n > 0);
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
};

// Writes `data` from another thread (it may exceed the pipe buffer), then
// closes, and returns every line the reader produced.
std::vector<std::string> read_lines(const std::string& data)
{
  Pipe p;
  std::thread writer([&] {
    p.write(data);
    p.close_write();
  });
  LineReader reader(p.fds[0]);
  std::vector<std::string> lines;
  std::string_view line;
  while (reader.next(line)) {
    lines.emplace_back(line);
  }
  writer.join();
  CHECK(reader.error() == 0);
  return lines;
}

using Lines = std::vector<std::string>;

} // namespace

TEST_CASE("line reader: splitting")
{
  CHECK(read_lines("") == Lines{});
  CHECK(read_lines("a\n") == Lines{"a"});
  CHECK(read_lines("a\nb\n") == Lines{"a", "b"});
  CHECK(read_lines("a\nb") == Lines{"a", "b"}); // final line without '\n'
  CHECK(read_lines("\n") == Lines{""});
  CHECK(read_lines("\n\n\n") == Lines{"", "", ""});
  CHECK(read_lines("a\n\nb\n") == Lines{"a", "", "b"});
  CHECK(read_lines("a\r\nb\r\n") == Lines{"a\r", "b\r"}); // '\r' is kept
  CHECK(read_lines("\r") == Lines{"\r"});
  CHECK(read_lines(std::string("a\0b\n", 4)) == Lines{std::string("a\0b", 3)});
}

TEST_CASE("line reader: lines longer than a read block")
{
  std::string big(200 * 1024 + 7, 'x');
  std::string mid(64 * 1024, 'y');
  std::string data = "first\n" + big + "\n" + mid + "\n\n" + big;
  auto lines = read_lines(data);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == "first");
  CHECK(lines[1] == big);
  CHECK(lines[2] == mid);
  CHECK(lines[3] == "");
  CHECK(lines[4] == big);
}

TEST_CASE("line reader: many short lines across block boundaries")
{
  std::string data;
  Lines expected;
  for (int i = 0; i < 50000; ++i) {
    expected.push_back(std::to_string(i) + (i % 3 == 0 ? "\r" : ""));
    data += expected.back() + "\n";
  }
  CHECK(read_lines(data) == expected);
}

TEST_CASE("line reader: a complete line is returned before more input arrives")
{
  Pipe p;
  LineReader reader(p.fds[0]);
  p.write("one\ntw");
  std::string_view line;
  REQUIRE(reader.next(line));
  CHECK(line == "one");
  p.write("o\n");
  REQUIRE(reader.next(line));
  CHECK(line == "two");
  p.close_write();
  CHECK_FALSE(reader.next(line));
  CHECK_FALSE(reader.next(line));
}

TEST_CASE("line reader: the stop descriptor ends reading")
{
  Pipe input;
  Pipe stop;
  LineReader reader(input.fds[0], stop.fds[0]);
  input.write("a\n");
  std::string_view line;
  REQUIRE(reader.next(line));
  CHECK(line == "a");
  stop.write("x");
  CHECK_FALSE(reader.next(line));
  CHECK(reader.error() == 0);
}

TEST_CASE("line reader: a read error is reported")
{
  LineReader reader(-1);
  std::string_view line;
  CHECK_FALSE(reader.next(line));
  CHECK(reader.error() != 0);
}
