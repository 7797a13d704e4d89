#include "mqtk/pub.hpp"

#include "mqtk/connection.hpp"
#include "mqtk/error.hpp"
#include "mqtk/line_reader.hpp"
#include "mqtk/stop_signals.hpp"
#include "mqtk/topic.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <thread>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace mqtk {

void add_pub_options(CLI::App& app, PubOptions& o)
{
  add_connection_options(app, o.connection);
  auto* g = app.add_option_group("Publishing");
  g->add_option("-t,--topic", o.topic, "Topic to publish to");
  g->add_option("-m,--message", o.message, "Message payload");
  g->add_option("-f,--file", o.file, "Send the contents of a file as one message (binary-safe)");
  g->add_flag("-s,--stdin-file", o.stdin_whole, "Send all of stdin as one message");
  g->add_flag("-l,--stdin-line", o.stdin_lines, "Send each line of stdin as a message, as lines arrive");
  g->add_flag("-n,--null-message", o.null_message, "Send a zero-length message");
  g->add_option("-q,--qos", o.qos, "Quality of service: 0, 1 or 2 (default: 0)")->check(CLI::Range(0, 2));
  g->add_flag("-r,--retain", o.retain, "Ask the broker to retain the message");
  g->add_option("--repeat", o.repeat, "Publish the message N times (with -m, -f, -s or -n)")
    ->check(CLI::PositiveNumber);
  g->add_option("--repeat-delay", o.repeat_delay, "Seconds to wait between repeats (default: 0)")
    ->check(CLI::NonNegativeNumber);
}

namespace {

std::string read_all(int fd, std::string_view what)
{
  std::string data;
  char chunk[65536];
  while (true) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw UsageError(fmt::format("{}: read failed: {}", what, std::strerror(errno)));
    }
    if (n == 0) {
      return data;
    }
    data.append(chunk, static_cast<std::size_t>(n));
  }
}

std::string read_file(const std::string& path)
{
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw UsageError(fmt::format("-f: cannot open '{}': {}", path, std::strerror(errno)));
  }
  std::string data;
  try {
    data = read_all(fd, fmt::format("-f '{}'", path));
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (data.size() > 268435455) {
    throw UsageError(fmt::format("-f: '{}' is larger than MQTT's 256 MB payload limit", path));
  }
  return data;
}

void publish_lines(Connection& connection, const PubOptions& o, const StopSignals& stop)
{
  LineReader reader(0, stop.fd());
  std::string_view line;
  while (reader.next(line)) {
    connection.publish(o.topic, line, o.qos, o.retain);
  }
  if (reader.error() != 0) {
    throw Error(exit_code::failure, fmt::format("-l: reading stdin failed: {}", std::strerror(reader.error())));
  }
}

} // namespace

void validate(PubOptions& o)
{
  if (o.topic.empty() && o.connection.url_topic) {
    o.topic = *o.connection.url_topic;
  }
  if (o.topic.empty()) {
    throw UsageError("no topic given: use -t TOPIC (or a topic in the -L URL)");
  }
  validate_publish_topic(o.topic, "-t");
  int sources = (o.message ? 1 : 0) + (o.file.empty() ? 0 : 1) + (o.stdin_whole ? 1 : 0)
                + (o.stdin_lines ? 1 : 0) + (o.null_message ? 1 : 0);
  if (sources == 0) {
    throw UsageError("no message given: use one of -m MESSAGE, -f FILE, -s, -l or -n");
  }
  if (sources > 1) {
    throw UsageError("only one of -m, -f, -s, -l and -n can be given");
  }
  if (o.repeat != 1 && o.stdin_lines) {
    throw UsageError("--repeat cannot be used with -l");
  }
}

int run_pub(PubOptions& o)
{
  StopSignals stop;
  resolve(o.connection, "mqtk-pub");
  validate(o);
  // Whole-message sources are read before connecting, so a missing file is
  // a usage error and nothing is published.
  std::string payload;
  if (o.message) {
    payload = *o.message;
  } else if (!o.file.empty()) {
    payload = read_file(o.file);
  } else if (o.stdin_whole) {
    payload = read_all(0, "-s: stdin");
    if (payload.empty()) {
      throw UsageError("-s: stdin is empty; use -n to send an empty message");
    }
  }

  Connection connection(o.connection, "mqtk-pub");
  std::atomic<bool> connected{false};
  // Before the connection is up there is nothing to finish: leave at once,
  // as a signal would. Afterwards, stop reading and deliver what was read.
  stop.start([&connected](int signal_number) {
    if (!connected.load()) {
      ::_exit(128 + signal_number);
    }
  });
  connection.connect();
  connected.store(true);
  if (o.stdin_lines) {
    publish_lines(connection, o, stop);
  } else {
    for (int i = 0; i < o.repeat && !stop.stopped(); ++i) {
      if (i > 0 && o.repeat_delay > 0) {
        std::this_thread::sleep_for(std::chrono::duration<double>(o.repeat_delay));
      }
      connection.publish(o.topic, payload, o.qos, o.retain);
    }
  }
  connection.flush();
  connection.disconnect();
  return exit_code::ok;
}

} // namespace mqtk
