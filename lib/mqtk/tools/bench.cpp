#include "mqtk/tools/bench.hpp"

#include "mqtk/bench/bench_result.hpp"
#include "mqtk/bench/payload_stamp.hpp"
#include "mqtk/bench/sequence_tracker.hpp"
#include "mqtk/bench/slo_target.hpp"
#include "mqtk/mqtt/topic.hpp"
#include "mqtk/output/atomic_file.hpp"
#include "mqtk/output/color.hpp"
#include "mqtk/process/error.hpp"
#include "mqtk/process/option_values.hpp"
#include "mqtk/process/stop_signals.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <limits>
#include <sstream>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mqtk {

namespace {

constexpr double max_double = std::numeric_limits<double>::max();

// libmosquitto's client: many, always clean, no -D (its -D is the duration).
constexpr ConnectionFlags bench_connection_flags{.client_id = false,
                                                 .session = false,
                                                 .short_property = false,
                                                 .engine = "libmosquitto",
                                                 .binds = true,
                                                 .properties = false};

void add_result_options(CLI::App& sub, BenchOptions& o)
{
  auto* g = sub.add_option_group("Results", "What is printed and written");
  g->add_flag("-j,--json", o.json, "Print the result as JSON on stdout instead of the summary");
  g->add_option("-o,--output", o.output, "Also write the result as JSON to FILE (for merge)")
    ->type_name("FILE");
  g->add_option("--csv", o.csv, "Write the per-second series to FILE as CSV")
    ->type_name("FILE");
  g->add_option("--slo", o.slo, "Targets that set the exit code: 'p99<=5ms', 'ack.p99.9<20ms,loss==0'")
    ->type_name("TARGETS");
}

void add_run_options(CLI::App& sub, BenchOptions& o, std::string_view clients_help)
{
  BenchPlan& p = o.plan;
  add_connection_options(sub, p.connection, bench_connection_flags);
  auto* g = sub.add_option_group("Load", "How many clients and when");
  g->add_option("-c,--clients", o.clients, std::string(clients_help))
    ->transform(integer_in(1, 1'000'000, "a number of clients from 1 to 1000000"))
    ->type_name("N");
  g->add_option("--id-offset", p.id_offset,
                "Number the clients from N (ids, %i, publisher numbers): split a test over processes or machines")
    ->transform(integer_in(0, 4'000'000'000LL, "a number from 0 to 4000000000"))
    ->type_name("N");
  g->add_option("--connect-rate", p.connect_rate, "Connections started per second (default: as fast as accepted)")
    ->check(number_in(0, 1e9, "connections per second above 0", true))
    ->type_name("PER_SECOND");
  g->add_option("--start-at", o.start_at,
                "Start at this time (seconds since the epoch or ISO 8601), so several machines start together")
    ->type_name("TIME");
  g->add_flag("--no-sys", o.no_sys, "Do not follow the broker's $SYS counters");
  add_result_options(sub, o);
}

void add_publish_options(CLI::App& sub, BenchOptions& o)
{
  BenchPlan& p = o.plan;
  auto* g = sub.add_option_group("Publishing", "What each publisher sends");
  g->add_option("-n,--count", o.count, "Messages per publisher after the warm-up (default: -D 10)")
    ->transform(integer_in(1, 1'000'000'000'000LL, "a number of messages from 1"))
    ->type_name("N");
  g->add_option("-D,--duration", o.duration, "Seconds to send for after the warm-up")
    ->check(number_in(0, 1e7, "seconds above 0", true))
    ->type_name("SECONDS");
  g->add_option("--rate", o.rate, "Messages per second per publisher, on a schedule (open loop; default: as fast as possible)")
    ->check(number_in(1e-6, 1e9, "messages per second from 0.000001 to 1000000000"))
    ->type_name("PER_SECOND");
  g->add_option("-s,--size", p.payload_bytes, "Payload bytes, at least 24 (mqtk-bench's stamp; default: 64)")
    ->transform(integer_in(static_cast<long long>(PayloadStamp::size), 268'435'455,
                           "a payload size from 24 to 268435455 bytes"))
    ->type_name("BYTES");
  g->add_option("-q,--qos", p.qos, "QoS to publish with (default: 0)")
    ->transform(integer_in(0, 2, "0, 1 or 2"))
    ->type_name("QOS");
  g->add_option("-t,--topic", p.topic, "Topic template; %i is the client's number (default: mqtk-bench/%i)")
    ->type_name("TOPIC");
  g->add_option("--warmup", p.warmup, "Seconds sent first and left out of every figure")
    ->check(number_in(0, 1e6, "seconds from 0"))
    ->type_name("SECONDS");
  g->add_flag("-r,--retain", p.retain, "Publish retained (each topic keeps the last)");
  g->add_option("--drain", p.drain, "Seconds to wait, with nothing arriving, for acks and deliveries after sending (default: 5)")
    ->check(number_in(0, 1e6, "seconds from 0"))
    ->type_name("SECONDS");
  g->add_flag("--realtime-stamps", p.realtime_stamps,
              "Stamp due times on the wall clock: for subscribers on other machines with synchronised clocks");
}

void add_subscribe_options(CLI::App& sub, BenchOptions& o, bool alone)
{
  BenchPlan& p = o.plan;
  auto* g = sub.add_option_group("Subscribing", "What the subscribers take");
  if (alone) {
    g->add_option("-t,--topic", p.filter, "Filter template; %i is the client's number (default: mqtk-bench/#)")
      ->type_name("FILTER");
    g->add_option("-q,--qos", p.sub_qos, "QoS to subscribe with (default: 0)")
      ->transform(integer_in(0, 2, "0, 1 or 2"))
      ->type_name("QOS");
    g->add_option("-n,--count", o.count, "Stop once each subscriber received N messages")
      ->transform(integer_in(1, 1'000'000'000'000LL, "a number of messages from 1"))
      ->type_name("N");
    g->add_option("-D,--duration", o.duration, "Stop after this many seconds (default: at Ctrl-C)")
      ->check(number_in(0, 1e7, "seconds above 0", true))
      ->type_name("SECONDS");
  } else {
    g->add_option("--subscribers", p.subscribers, "Subscribers (default: 1); each receives every message unless --shared")
      ->transform(integer_in(1, 100'000, "a number of subscribers from 1 to 100000"))
      ->type_name("N");
    g->add_option("--sub-topic", o.sub_topic, "The subscribers' filter (default: -t with %i as +)")
      ->type_name("FILTER");
    g->add_option("--sub-qos", o.sub_qos, "QoS to subscribe with (default: -q)")
      ->transform(integer_in(0, 2, "0, 1 or 2"))
      ->type_name("QOS");
  }
  g->add_option("--shared", p.shared, "Subscribe through $share/GROUP/...: each message goes to one of them")
    ->type_name("GROUP");
}

// The default subscription of pubsub: the publish template with %i as a
// whole level made '+'.
std::string default_filter(const std::string& topic)
{
  std::string out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = topic.find('/', start);
    const std::string level = topic.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (level == "%i") {
      out += '+';
    } else if (level.find("%i") != std::string::npos) {
      throw UsageError(fmt::format(
        "pubsub: give --sub-topic: %i in '{}' is not a whole topic level, so no filter takes every publisher's",
        topic));
    } else {
      out += expand_topic(level, 0);
    }
    if (slash == std::string::npos) {
      return out;
    }
    out += '/';
    start = slash + 1;
  }
}

nlohmann::json plan_parameters(const BenchOptions& o)
{
  const BenchPlan& p = o.plan;
  nlohmann::json j;
  j["host"] = p.connection.host;
  j["port"] = p.connection.port;
  j["mqtt_version"] = p.connection.mqtt_version == 5 ? "5" : p.connection.mqtt_version == 3 ? "3.1" : "3.1.1";
  j["tls"] = p.connection.tls;
  j["id_offset"] = p.id_offset;
  if (p.command == "pub" || p.command == "pubsub") {
    j["publishers"] = p.clients;
    j["qos"] = p.qos;
    j["payload_bytes"] = std::max(p.payload_bytes, PayloadStamp::size);
    j["topic"] = p.topic;
    j["rate"] = p.rate ? nlohmann::json(*p.rate) : nlohmann::json(nullptr);
    j["warmup"] = p.warmup;
  }
  if (p.command == "sub" || p.command == "pubsub") {
    j["subscribers"] = p.command == "sub" ? p.clients : p.subscribers;
    j["filter"] = p.filter;
    j["sub_qos"] = p.sub_qos;
    if (!p.shared.empty()) {
      j["shared"] = p.shared;
    }
  }
  if (p.command == "conn") {
    j["clients"] = p.clients;
  }
  j["count"] = p.count ? nlohmann::json(*p.count) : nlohmann::json(nullptr);
  j["duration"] = p.duration ? nlohmann::json(*p.duration) : nlohmann::json(nullptr);
  if (p.connect_rate > 0) {
    j["connect_rate"] = p.connect_rate;
  }
  return j;
}

std::string read_file_text(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(exit_code::failure, fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

BenchResult read_result_file(const std::string& path)
{
  return result_from_text(read_file_text(path), path);
}

} // namespace

void add_bench_options(CLI::App& app, BenchOptions& o)
{
  app.require_subcommand(0, 1);
  app.footer("Run 'mqtk-bench COMMAND --help' for a command's options. Exit status: 0 done, 1 error, "
             "2 an --slo target missed, 3 QoS 1/2 messages lost or QoS 2 duplicated.");
  auto* pub = app.add_subcommand("pub", "Publish from N clients and time the acknowledgements");
  add_run_options(*pub, o, "Publishers (default: 1)");
  add_publish_options(*pub, o);
  auto* sub = app.add_subcommand("sub", "Subscribe N clients and count what arrives from mqtk-bench publishers");
  add_run_options(*sub, o, "Subscribers (default: 1)");
  add_subscribe_options(*sub, o, true);
  auto* conn = app.add_subcommand("conn", "Connect N clients at a rate and hold them");
  add_run_options(*conn, o, "Connections (default: 100)");
  conn->add_option("-D,--duration", o.duration, "Seconds to hold the connections once made (default: 0)")
    ->check(number_in(0, 1e7, "seconds from 0"))
    ->type_name("SECONDS");
  auto* pubsub = app.add_subcommand("pubsub", "Publishers and subscribers in one run: end-to-end latency and exact loss");
  add_run_options(*pubsub, o, "Publishers (default: 1)");
  add_publish_options(*pubsub, o);
  add_subscribe_options(*pubsub, o, false);
  auto* merge = app.add_subcommand("merge", "Add up result files (-o) of runs on several processes or machines");
  merge->add_option("files", o.merge_files, "Result files written by -o or printed by -j")
    ->required()
    ->type_name("FILE");
  add_result_options(*merge, o);
  merge->add_flag("--quiet", o.plan.connection.quiet, "Print no error messages");
  for (CLI::App* s : {pub, sub, conn, pubsub, merge}) {
    s->callback([&o, s] { o.command = s->get_name(); });
  }
  // A first word that is no command is kept, to be named in the error
  // (validate); set after the subcommands so that they refuse extras.
  app.allow_extras();
  app.callback([&o, &app] {
    if (o.command.empty() && !app.remaining().empty()) {
      o.unknown_command = app.remaining().front();
    } else if (!app.remaining().empty()) {
      // Options before the command ("mqtk-bench -p 1884 pub"): not taken.
      throw CLI::ExtrasError(app.remaining());
    }
  });
}

std::uint64_t parse_start_at(const std::string& text)
{
  auto bad = [&] {
    return UsageError(fmt::format("--start-at: '{}' is not a time (seconds since the epoch, or ISO 8601 such as "
                                  "2026-12-02T06:00:00Z)",
                                  text));
  };
  if (text.empty()) {
    throw bad();
  }
  // Nanoseconds since the epoch in 64 bits reach into 2554 (a second
  // spare for the is-it-past check).
  constexpr double last_second = 18'446'744'071.0;
  auto too_late = [&] {
    return UsageError(fmt::format("--start-at: '{}' is out of range (the latest is 2554-07-21T23:34:31Z)", text));
  };
  // Whole seconds and a fraction apart, exact to the nanosecond.
  auto nanoseconds_of_fraction = [](std::string_view digits) {
    std::uint64_t ns = 0;
    for (std::size_t i = 0; i < 9; ++i) {
      ns = ns * 10 + (i < digits.size() ? static_cast<std::uint64_t>(digits[i] - '0') : 0);
    }
    return ns;
  };
  const std::size_t dot = text.find('.');
  const std::string whole = text.substr(0, dot);
  const std::string fraction_digits = dot == std::string::npos ? "" : text.substr(dot + 1);
  if (!whole.empty() && whole.find_first_not_of("0123456789") == std::string::npos
      && fraction_digits.find_first_not_of("0123456789") == std::string::npos
      && (dot == std::string::npos || !fraction_digits.empty())) {
    if (whole.size() > 11 || std::stod(whole) > last_second) {
      throw too_late();
    }
    const std::uint64_t seconds = std::stoull(whole);
    if (seconds == 0) {
      throw bad();
    }
    return seconds * 1'000'000'000u + nanoseconds_of_fraction(fraction_digits);
  }
  std::tm tm{};
  const char* rest = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) {
    rest = ::strptime(text.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
  }
  if (rest == nullptr) {
    throw bad();
  }
  std::uint64_t fraction_ns = 0;
  if (*rest == '.') {
    const char* digits = rest + 1;
    while (*digits >= '0' && *digits <= '9') {
      ++digits;
    }
    if (digits == rest + 1) {
      throw bad();
    }
    fraction_ns = nanoseconds_of_fraction(std::string_view(rest + 1, static_cast<std::size_t>(digits - rest - 1)));
    rest = digits;
  }
  std::time_t t = 0;
  if (std::strcmp(rest, "Z") == 0) {
    t = ::timegm(&tm);
  } else if (*rest == '\0') {
    tm.tm_isdst = -1;
    t = std::mktime(&tm);
  } else if ((*rest == '+' || *rest == '-') && std::strlen(rest) >= 3) {
    // A UTC offset: +HH:MM, +HHMM or +HH.
    const std::string offset(rest + 1);
    const std::string digits = offset.size() == 5 && offset[2] == ':' ? offset.substr(0, 2) + offset.substr(3) : offset;
    if ((digits.size() != 4 && digits.size() != 2) || digits.find_first_not_of("0123456789") != std::string::npos) {
      throw bad();
    }
    const int hours = std::stoi(digits.substr(0, 2));
    const int minutes = digits.size() == 4 ? std::stoi(digits.substr(2)) : 0;
    if (hours > 23 || minutes > 59) {
      throw bad();
    }
    const long shift = (hours * 3600L + minutes * 60L) * (*rest == '+' ? 1 : -1);
    t = ::timegm(&tm) - shift;
  } else {
    throw bad();
  }
  if (t < 0) {
    throw bad();
  }
  if (static_cast<double>(t) > last_second) {
    throw too_late();
  }
  return static_cast<std::uint64_t>(t) * 1'000'000'000u + fraction_ns;
}

void validate(BenchOptions& o)
{
  if (o.command.empty()) {
    const std::string commands = "pub, sub, conn, pubsub or merge";
    if (o.unknown_command.empty()) {
      throw UsageError(fmt::format("give a command: {}", commands));
    }
    const std::string near = nearest_name(o.unknown_command, {"pub", "sub", "conn", "pubsub", "merge"});
    throw UsageError(fmt::format("unknown command '{}'{} (expected {})", o.unknown_command,
                                 near.empty() ? "" : fmt::format("; did you mean {}?", near), commands));
  }
  BenchPlan& p = o.plan;
  p.command = o.command;
  if (!o.slo.empty()) {
    o.slo_targets = parse_slo(o.slo);
  }
  if (o.command != "merge") {
    if (p.connection.id_prefix.empty()) {
      p.client_id_prefix = fmt::format("mqtk-bench-{}", ::getpid());
    } else {
      p.client_id_prefix = p.connection.id_prefix;
    }
    resolve(p.connection, "mqtk-bench", bench_connection_flags);
    if (p.connection.transport == Transport::ws || p.connection.transport == Transport::wss) {
      throw UsageError("mqtk-bench cannot connect over websockets: its engine, libmosquitto 2.0's client, has no "
                       "websocket transport (ARCHITECTURE.md); give the broker's MQTT or MQTT over TLS port");
    }
    if (p.connection.url_topic) {
      throw UsageError("-L: mqtk-bench takes its topics from -t, not from the URL");
    }
    p.count = o.count;
    p.duration = o.duration;
    p.rate = o.rate;
    p.sys_counters = !o.no_sys;
    if (o.command == "pub" || o.command == "pubsub") {
      if (p.topic.empty()) {
        p.topic = "mqtk-bench/%i";
      }
      validate_publish_topic(expand_topic(p.topic, p.id_offset), "-t");
      if (!p.count && !p.duration) {
        p.duration = 10.0;
      }
      if (p.count && p.duration) {
        throw UsageError("-n and -D: give one (messages per publisher, or seconds)");
      }
    }
    if (o.command == "sub") {
      if (p.filter.empty()) {
        p.filter = "mqtk-bench/#";
      }
      validate_topic_filter(expand_topic(p.filter, p.id_offset), "-t");
    }
    if (o.command == "pubsub") {
      p.filter = o.sub_topic ? *o.sub_topic : default_filter(p.topic);
      validate_topic_filter(expand_topic(p.filter, 0), "--sub-topic");
      p.sub_qos = o.sub_qos.value_or(p.qos);
    }
    p.clients = o.clients.value_or(o.command == "conn" ? 100 : 1);
    if (o.command == "pubsub") {
      // Each subscriber (one for a shared group) keeps a window of 2^16
      // bits per publisher (bench/sequence_tracker).
      const std::uint64_t trackers = p.shared.empty() ? p.subscribers : 1;
      const std::uint64_t bytes = trackers * p.clients * (SequenceTracker::window / 8);
      if (bytes > (std::uint64_t{2} << 30)) {
        throw UsageError(fmt::format(
          "-c {} with --subscribers {}: counting every publisher at every subscriber would take {} MiB (8 KiB "
          "per pair; at most 2048): use fewer, --shared, or split the run over processes",
          p.clients, p.subscribers, bytes >> 20));
      }
    }
    if (!p.shared.empty() && p.shared.find_first_of("/+#") != std::string::npos) {
      throw UsageError(fmt::format("--shared: a group name cannot hold '/', '+' or '#' ('{}')", p.shared));
    }
    if (!o.start_at.empty()) {
      p.start_at_unix_ns = parse_start_at(o.start_at);
      timespec now{};
      ::clock_gettime(CLOCK_REALTIME, &now);
      const auto now_ns = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(now.tv_nsec);
      if (*p.start_at_unix_ns + 1'000'000'000u < now_ns) {
        throw UsageError(fmt::format("--start-at: {} is in the past", o.start_at));
      }
    }
    if (p.id_offset + p.clients > 4'294'967'295ULL) {
      throw UsageError("--id-offset + -c: client numbers must stay below 4294967296");
    }
    p.progress = ::isatty(STDERR_FILENO) == 1 && !p.connection.quiet;
  }
  for (const auto& [file, flag] : {std::pair{o.output, "-o"}, std::pair{o.csv, "--csv"}}) {
    if (!file.empty()) {
      if (const std::string problem = replace_file_problem(file); !problem.empty()) {
        throw UsageError(fmt::format("{}: {}", flag, problem));
      }
    }
  }
}

int run_bench_tool(BenchOptions& o)
{
  validate(o);
  BenchResult result;
  if (o.command == "merge") {
    std::vector<BenchResult> results;
    for (const auto& file : o.merge_files) {
      results.push_back(read_result_file(file));
    }
    result = merge(results);
  } else {
    StopSignals signals;
    signals.start([](int) {});
    result = run_bench(o.plan, signals);
    result.parameters = plan_parameters(o);
  }
  if (!o.output.empty()) {
    replace_file(o.output, to_json(result).dump(2) + "\n", "-o");
  }
  if (!o.csv.empty()) {
    replace_file(o.csv, csv_text(result), "--csv");
  }
  const auto verdicts = check_slo(o.slo_targets, result);
  const auto problems = delivery_errors(result);
  if (o.json) {
    fmt::print("{}\n", to_json(result).dump(2));
    for (const auto& v : verdicts) {
      fmt::print(stderr, "mqtk-bench: --slo {}\n", v.text);
    }
    for (const auto& e : problems) {
      fmt::print(stderr, "mqtk-bench: {}\n", e);
    }
  } else {
    std::string text = summary_text(result, color_choice().out);
    for (const auto& v : verdicts) {
      text += fmt::format("  slo {}\n", v.text);
    }
    for (const auto& e : problems) {
      text += fmt::format("  error: {}\n", e);
    }
    fmt::print("{}", text);
  }
  std::fflush(stdout);
  if (!problems.empty()) {
    return bench_exit::delivery_errors;
  }
  for (const auto& v : verdicts) {
    if (!v.held) {
      return bench_exit::slo_missed;
    }
  }
  return exit_code::ok;
}

} // namespace mqtk
