#include "mqtk/tools/pub.hpp"
#include "mqtk/process/option_values.hpp"

#include "mqtk/connection/connection.hpp"
#include "mqtk/process/error.hpp"
#include "mqtk/input/json_message.hpp"
#include "mqtk/input/line_fields.hpp"
#include "mqtk/process/line_reader.hpp"
#include "mqtk/process/stop_signals.hpp"
#include "mqtk/mqtt/topic.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <fcntl.h>
#include <thread>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace mqtk {

void add_pub_options(CLI::App& app, PubOptions& o)
{
  add_connection_options(app, o.connection, {.reconnects = true, .buffers = true});
  auto* g = app.add_option_group("Publishing");
  g->add_option("-t,--topic", o.topic, "Topic to publish to")
    ->type_name("TOPIC");
  // A second -m or -f is refused, as in mosquitto (only one message).
  g->add_option("-m,--message", o.message, "Message payload")->multi_option_policy(CLI::MultiOptionPolicy::Throw)
    ->type_name("MESSAGE");
  g->add_option("-f,--file", o.file, "Send the contents of a file as one message (binary-safe)")
    ->multi_option_policy(CLI::MultiOptionPolicy::Throw)
    ->type_name("FILE");
  g->add_flag("-s,--stdin-file", o.stdin_whole, "Send all of stdin as one message");
  g->add_flag("-l,--stdin-line", o.stdin_lines, "Send each line of stdin as a message, as lines arrive");
  g->add_flag("--json-lines", o.json_lines,
               "Send each stdin line, a JSON object as mqtk-sub -j prints (topic, payload or payload_base64, "
               "qos, retain), as a message; -t, -q and -r are defaults for lines that do not say");
  g->add_flag("-n,--null-message", o.null_message, "Send a zero-length message");
  g->add_option("-q,--qos", o.qos, "Quality of service: 0, 1 or 2 (default: 0)")
    ->transform(integer_in(0, 2, "0, 1 or 2"))
    ->type_name("QOS");
  g->add_flag("-r,--retain", o.retain, "Ask the broker to retain the message");
  g->add_option("--repeat", o.repeat, "Publish the message N times (with -m, -f, -s or -n)")
    ->transform(integer_in(1, 2147483647, "a count of at least 1"))
    ->type_name("N");
  g->add_option("--repeat-delay", o.repeat_delay, "Seconds to wait between repeats (default: 0)")
    ->check(number_in(0, 31536000, "seconds from 0 to 31536000 (a year)"))
    ->type_name("SECONDS");
  g->add_option("--fields", o.fields,
                "With -l: turn each comma- or space-separated line into a JSON object with these keys "
                "(separated by commas or spaces)")
    ->type_name("NAMES");
  g->add_flag("--header", o.header,
              "With -l: the first line is a header, skipped with --fields, else its names become the fields");
  add_rule_options(app, o.rules);
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

// Publishes one message through the rules: data when it passes --where and
// --rate, an alert to --alert-topic when one fires.
class Publisher
{
public:
  Publisher(Connection& connection, const PubOptions& o, MessageRules rules)
    : m_connection(connection),
      m_options(o),
      m_rules(std::move(rules))
  {
  }

  // Publishes one message to -t.
  void publish(std::string_view payload, bool burst_continues = false)
  {
    publish(MessageView{m_options.topic, payload, m_options.qos, m_options.retain, 0}, burst_continues);
  }

  // Publishes one message. `burst_continues`: more input is already at
  // hand. The data message is then held back until the next one (or
  // end_burst()), so that the last message Connection sees in a burst is
  // known to be the last, which lets Paho report one write per burst.
  void publish(const MessageView& m, bool burst_continues)
  {
    bool pass = true;
    if (m_rules.active()) {
      auto decision = m_rules.evaluate(m, std::chrono::steady_clock::now(), std::chrono::system_clock::now(),
                                       m_alert);
      pass = decision.pass && !m.topic.empty();
      if (decision.alert) {
        m_connection.publish(m_rules.alert_topic(), m_alert, m_options.qos, false); // -q, whatever the line said
      }
    }
    if (pass) {
      if (m_has_pending) {
        // Paho is told "more follows" only for a QoS 0 message followed by
        // another: the last QoS 0 message before any other must ask for its
        // write to be reported, or flush() would wait for it forever.
        send_pending(m.qos == 0);
      }
      if (burst_continues) {
        m_pending_topic.assign(m.topic);
        m_pending.assign(m.payload);
        m_pending_qos = m.qos;
        m_pending_retain = m.retain;
        m_has_pending = true;
      } else {
        m_connection.publish(m.topic, m.payload, m.qos, m.retain);
      }
    }
    if (!burst_continues) {
      end_burst();
    }
  }

  // Sends a held-back message, if any.
  void end_burst()
  {
    if (m_has_pending) {
      send_pending(false);
    }
  }

  const MessageRules& rules() const noexcept { return m_rules; }

private:
  void send_pending(bool more_follows)
  {
    m_has_pending = false;
    m_connection.publish(m_pending_topic, m_pending, m_pending_qos, m_pending_retain, more_follows);
  }

  Connection& m_connection;
  const PubOptions& m_options;
  MessageRules m_rules;
  std::string m_alert;
  std::string m_pending_topic;
  std::string m_pending;
  int m_pending_qos = 0;
  bool m_pending_retain = false;
  bool m_has_pending = false;
};

// A --header line with the double quotes a spreadsheet puts around names
// ("ax","ay") taken off.
std::string unquoted_names(std::string_view line)
{
  std::string out;
  out.reserve(line.size());
  for (char c : line) {
    if (c != '"') {
      out.push_back(c);
    }
  }
  return out;
}

// Turns one input line into a message, or says why it cannot: the -l
// conversions (--fields, --json-lines) share the skipping and counting.
class LineConverter
{
public:
  LineConverter(const PubOptions& o, const std::optional<LineFields>& fields)
    : m_options(o),
      m_fields(fields),
      m_header_pending(o.header)
  {
    if (o.json_lines) {
      m_json.emplace(o.topic, o.qos, o.retain);
    }
  }

  enum class Result { ok, skip, bad };

  Result convert(std::string_view line, MessageView& out)
  {
    out = MessageView{m_options.topic, line, m_options.qos, m_options.retain, 0};
    if (m_json) {
      JsonMessageReader::Message m;
      switch (m_json->parse(line, m)) {
      case JsonMessageReader::Result::ok:
        out = MessageView{m.topic, m.payload, m.qos, m.retain, 0};
        return Result::ok;
      case JsonMessageReader::Result::empty: return Result::skip;
      case JsonMessageReader::Result::bad: m_problem = m_json->problem(); return Result::bad;
      }
    }
    if (m_header_pending) {
      // --header: the first line that is not blank; skipped with --fields,
      // else it names the fields. A bad header ends the run before
      // anything is published.
      std::string_view names = line;
      if (names.substr(0, 3) == "\xEF\xBB\xBF") {
        names.remove_prefix(3); // a UTF-8 byte order mark, as spreadsheets write
      }
      if (names.find_first_not_of(" \t\r") == std::string_view::npos) {
        return Result::skip;
      }
      m_header_pending = false;
      if (!m_fields) {
        try {
          m_fields = LineFields::parse(unquoted_names(names), "--header line");
        } catch (const UsageError& e) {
          throw Error(exit_code::failure, e.what()); // bad input, not a bad command line
        }
      }
      return Result::skip;
    }
    if (!m_fields) {
      return Result::ok;
    }
    std::size_t got = 0;
    auto result = m_fields->to_json(line, m_object, got);
    if (result == LineFields::Result::ok) {
      out.payload = m_object;
      return Result::ok;
    }
    if (result == LineFields::Result::empty) {
      return Result::skip;
    }
    m_problem = m_fields->problem(result, got);
    return Result::bad;
  }

  const std::string& problem() const noexcept { return m_problem; }

private:
  const PubOptions& m_options;
  std::optional<LineFields> m_fields;
  bool m_header_pending;
  std::optional<JsonMessageReader> m_json;
  std::string m_object;
  std::string m_problem;
};

void publish_lines(Publisher& publisher, const PubOptions& o, const std::optional<LineFields>& fields,
                   const StopSignals& stop)
{
  LineReader reader(0, stop.fd());
  LineConverter converter(o, fields);
  std::string_view line;
  MessageView message;
  std::uint64_t line_number = 0;
  std::uint64_t skipped = 0;
  constexpr std::uint64_t max_warnings = 20;
  while (reader.next(line)) {
    ++line_number;
    bool burst_continues = reader.has_buffered_line();
    auto result = converter.convert(line, message);
    if (result == LineConverter::Result::ok) {
      publisher.publish(message, burst_continues);
      continue;
    }
    if (result == LineConverter::Result::bad) {
      // Bad lines are skipped and counted; the first few are named.
      if (++skipped <= max_warnings && !o.connection.quiet) {
        fmt::print(stderr, "mqtk-pub: line {}: {}; skipped\n", line_number, converter.problem());
      }
    }
    if (!burst_continues) {
      publisher.end_burst();
    }
  }
  publisher.end_burst();
  if (skipped > 0 && !o.connection.quiet) {
    fmt::print(stderr, "mqtk-pub: {} of {} lines skipped (see above{})\n", skipped, line_number,
               skipped > max_warnings ? "; only the first 20 are listed" : "");
  }
  if (reader.error() != 0) {
    throw Error(exit_code::failure,
                fmt::format("{}: reading stdin failed: {}", o.json_lines ? "--json-lines" : "-l",
                            std::strerror(reader.error())));
  }
}

} // namespace

void validate(PubOptions& o)
{
  const char* topic_flag = "-t";
  if (o.topic.empty() && o.connection.url_topic) {
    o.topic = *o.connection.url_topic;
    topic_flag = "-L"; // the URL's topic: a bad one is named as the URL's
  }
  if (o.topic.empty() && !o.rules.alert_topic && !o.json_lines) {
    throw UsageError("no topic given: use -t TOPIC (or a topic in the -L URL)");
  }
  if (!o.topic.empty()) {
    validate_publish_topic(o.topic, topic_flag);
  }
  if (o.header && !o.stdin_lines) {
    throw UsageError(o.json_lines ? "--header works on plain lines: --json-lines lines name their own fields"
                                  : "--header works on lines: use it with -l");
  }
  if (!o.fields.empty() && !o.stdin_lines) {
    throw UsageError(o.json_lines ? "--fields works on plain lines: --json-lines lines name their own fields"
                                  : "--fields works on lines: use it with -l");
  }
  int sources = (o.message ? 1 : 0) + (o.file.empty() ? 0 : 1) + (o.stdin_whole ? 1 : 0)
                + (o.stdin_lines ? 1 : 0) + (o.null_message ? 1 : 0) + (o.json_lines ? 1 : 0);
  if (sources == 0) {
    throw UsageError("no message given: use one of -m MESSAGE, -f FILE, -s, -l, --json-lines or -n");
  }
  if (sources > 1) {
    throw UsageError("only one of -m, -f, -s, -l, --json-lines and -n can be given");
  }
  if (o.repeat != 1 && (o.stdin_lines || o.json_lines)) {
    throw UsageError(fmt::format("--repeat cannot be used with {}", o.stdin_lines ? "-l" : "--json-lines"));
  }
}

int run_pub(PubOptions& o)
{
  StopSignals stop;
  resolve(o.connection, "mqtk-pub");
  validate(o);
  MessageRules rules = MessageRules::compile(o.rules);
  if (const char* flag = rules.property_reader()) {
    throw UsageError(fmt::format("{}: the expression reads an MQTT 5 property, and the lines and messages "
                                 "mqtk-pub reads carry none (mqtk-sub reads them)", flag));
  }
  std::optional<LineFields> fields; // a bad spec is a usage error before connecting
  if (!o.fields.empty()) {
    fields = LineFields::parse(o.fields, "--fields");
  }
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

  // A stream of lines reconnects after a loss, as mosquitto_pub -l does; a
  // one-shot publish does not.
  o.connection.reconnect = (o.stdin_lines || o.json_lines) && !o.connection.no_reconnect;
  Connection connection(o.connection, "mqtk-pub");
  std::atomic<bool> connected{false};
  // Before the connection is up there is nothing to finish: leave at once,
  // as a signal would. Afterwards, stop reading and deliver what was read.
  stop.start([&connected](int signal_number) {
    if (!connected.load()) {
      ::_exit(128 + signal_number);
    }
  });
  // Reconnecting gave up: stop waiting for stdin (flush() then reports why).
  connection.on_connection_lost([&stop](const std::string&) { stop.wake(); });
  connection.connect();
  connected.store(true);
  Publisher publisher(connection, o, std::move(rules));
  if (o.stdin_lines || o.json_lines) {
    publish_lines(publisher, o, fields, stop);
  } else {
    for (int i = 0; i < o.repeat && !stop.stopped(); ++i) {
      if (i > 0 && o.repeat_delay > 0) {
        std::this_thread::sleep_for(std::chrono::duration<double>(o.repeat_delay));
      }
      publisher.publish(payload);
    }
  }
  connection.flush();
  connection.disconnect();
  if (!o.connection.quiet) {
    publisher.rules().report("mqtk-pub");
    if (const auto dropped = connection.dropped_while_down(); dropped > 0) {
      fmt::print(stderr, "mqtk-pub: {} QoS 0 message{} dropped while disconnected\n", dropped, dropped == 1 ? "" : "s");
    }
  }
  return exit_code::ok;
}

} // namespace mqtk
