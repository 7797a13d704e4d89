#include <doctest/doctest.h>

#include "mqtk/bench/bench_result.hpp"
#include "mqtk/process/error.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

using mqtk::BenchResult;
using mqtk::DeliveryCounts;
using mqtk::LatencyHistogram;
using mqtk::SecondSample;
using nlohmann::json;

namespace {

// 2026-12-02T05:30:00.123456789Z
constexpr std::uint64_t start_ns = 1796189400123456789;

void record_all(LatencyHistogram& h, const std::vector<std::uint64_t>& values)
{
  for (auto v : values) {
    h.record(v);
  }
}

// Every field set, and none to its default.
BenchResult populated()
{
  BenchResult r;
  r.command = "pubsub";
  r.parameters = {{"publishers", 10}, {"subscribers", 1},         {"qos", 1},       {"payload_bytes", 64},
                  {"rate", 1000},     {"topic", "mqtk-bench/t"}, {"shared", false}};
  r.started_unix_ns = start_ns;
  r.ended_unix_ns = start_ns + 10'000'000'000;
  r.seconds = 10.0;
  r.warmup_seconds = 2.0;
  r.runs = 2;
  r.target_rate = 10000;
  r.behind_schedule = 12;
  r.max_lag_ns = 3'200'000;
  r.max_send_queue = 7;
  r.cpu_seconds = 3.8;
  r.cpu_cores = 1.5;
  r.qos[0] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  r.qos[1] = {100000, 99990, 100000, 100000, 99997, 3, 4, 1, 3};
  r.qos[2] = {10, 10, 10, 9, 9, 0, 0, 0, 1};
  r.connections = {11, 9, 1, 1, 8, 1, {{0, 9}, {5, 1}}};
  record_all(r.publish_to_ack, {210'000, 350'000, 1'200'000});
  record_all(r.end_to_end, {250'000, 400'000, 7'800'000, 4'000'000'000});
  record_all(r.connect, {1'500'000, 2'000'000});
  r.errors = {{"socket", 3}, {"connack 5", 2}};
  r.broker_counters = {{"messages/received", 100011}, {"clients/connected", -3}};
  r.series = {{0, 10000, 9990, 9999, 11, 1, 210'123, 1'200'000, 4'000'000'001},
              {1, 10001, 10001, 10001, 0, 0, 205'000, 990'000, 3'000'000}};
  r.warnings = {"stopped early by a signal", "12 messages went out late"};
  return r;
}

std::string error_of(const json& j)
{
  try {
    mqtk::result_from_json(j, "a.json");
  } catch (const mqtk::Error& e) {
    CHECK(e.code() == mqtk::exit_code::failure);
    return e.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("bench result: counts add field by field")
{
  DeliveryCounts a{1, 2, 3, 4, 5, 6, 7, 8, 9};
  a += DeliveryCounts{10, 20, 30, 40, 50, 60, 70, 80, 90};
  CHECK(a == DeliveryCounts{11, 22, 33, 44, 55, 66, 77, 88, 99});

  mqtk::ConnectionCounts c{3, 2, 1, 0, 2, 0, {{0, 2}, {5, 1}}};
  c += mqtk::ConnectionCounts{2, 1, 0, 1, 1, 1, {{0, 1}, {135, 1}}};
  CHECK(c == mqtk::ConnectionCounts{5, 3, 1, 1, 3, 1, {{0, 3}, {5, 1}, {135, 1}}});
}

TEST_CASE("bench result: a fully populated result round-trips through JSON, derived figures beside it")
{
  const BenchResult r = populated();
  const json j = mqtk::to_json(r);
  CHECK(mqtk::result_from_json(j, "a.json") == r);
  CHECK(mqtk::result_from_json(json::parse(j.dump()), "a.json") == r);
  CHECK(mqtk::result_from_json(json::parse(j.dump(2)), "a.json") == r);

  CHECK(j["format"] == 1);
  CHECK(j["tool"] == "mqtk-bench");
  CHECK(j["command"] == "pubsub");
  CHECK(j["parameters"] == r.parameters);
  CHECK(j["started"] == "2026-12-02T05:30:00.123456Z");
  CHECK(j["ended"] == "2026-12-02T05:30:10.123456Z");
  CHECK(j["started_unix_ns"] == start_ns);
  CHECK(j["seconds"] == 10.0);
  CHECK(j["warmup_seconds"] == 2.0);
  CHECK(j["runs"] == 2);

  const json& rate = j["rate"];
  CHECK(rate["target"] == 10000.0);
  CHECK(rate["sent"].get<double>() == doctest::Approx(100011 / 10.0));
  CHECK(rate["received"].get<double>() == doctest::Approx(100013 / 10.0));
  CHECK(rate["acknowledged"].get<double>() == doctest::Approx(100002 / 10.0));
  CHECK(rate["behind_schedule"] == 12);
  CHECK(rate["max_lag_us"] == 3200.0);
  CHECK(rate["max_lag_ns"] == 3'200'000);

  REQUIRE(j["qos"].size() == 3);
  CHECK(j["qos"][1]["lost"] == 3);
  CHECK(j["qos"][0]["too_late"] == 8);
  CHECK(j["qos"][0].size() == 9);
  CHECK(j["totals"] == json{{"sent", 100011},
                            {"acknowledged", 100002},
                            {"expected", 100013},
                            {"received", 100013},
                            {"unique", 100011},
                            {"duplicates", 9},
                            {"reordered", 11},
                            {"too_late", 9},
                            {"lost", 13}});
  CHECK(j["connections"] == json{{"attempted", 11}, {"connected", 9}, {"refused", 1}, {"failed", 1},
                                 {"held", 8},       {"dropped", 1},   {"connack", {{"0", 9}, {"5", 1}}}});

  const json& e2e = j["latency"]["end_to_end"];
  CHECK(e2e["count"] == 4);
  CHECK(e2e["min_us"] == 250.0);
  CHECK(e2e["max_us"] == 4'000'000.0);
  CHECK(e2e["mean_us"] == 1'002'112.5);
  CHECK(e2e["p50_us"] == static_cast<double>(r.end_to_end.percentile(50)) / 1000.0);
  CHECK(e2e["p99_9_us"] == 4'000'000.0);
  CHECK(e2e["histogram"] == r.end_to_end.to_json());
  CHECK(j["latency"]["connect"]["count"] == 2);

  CHECK(j["client"]["cpu_seconds"] == 3.8);
  CHECK(j["client"]["cpu_cores"] == 1.5);
  CHECK(j["client"]["cpu_busy"].get<double>() == doctest::Approx(3.8 / 15));
  CHECK(j["client"]["max_send_queue"] == 7);
  CHECK(j["errors"] == json{{"socket", 3}, {"connack 5", 2}});
  CHECK(j["error_count"] == 5);
  CHECK(j["broker_counters"]["clients/connected"] == -3);
  CHECK(j["series"][0] == json{{"second", 0},
                               {"sent", 10000},
                               {"acknowledged", 9990},
                               {"received", 9999},
                               {"connected", 11},
                               {"errors", 1},
                               {"p50_us", 210.123},
                               {"p99_us", 1200.0},
                               {"max_us", 4000000.001},
                               {"p50_ns", 210'123},
                               {"p99_ns", 1'200'000},
                               {"max_ns", 4'000'000'001}});
  CHECK(j["warnings"] == json{"stopped early by a signal", "12 messages went out late"});
  CHECK(j.dump().find("4000000.001") != std::string::npos); // us to 3 decimals, no float noise

  // Derived figures are not read back.
  json changed = j;
  changed["totals"]["sent"] = 1;
  changed["rate"]["sent"] = 1;
  changed["latency"]["end_to_end"]["p99_us"] = 1;
  changed["error_count"] = 1;
  changed["started"] = "yesterday";
  CHECK(mqtk::result_from_json(changed, "a.json") == r);
}

TEST_CASE("bench result: a default result round-trips, with no target and no rates")
{
  const BenchResult r;
  const json j = mqtk::to_json(r);
  CHECK(mqtk::result_from_json(json::parse(j.dump()), "a.json") == r);
  CHECK(j["rate"]["target"].is_null());
  CHECK(j["rate"]["sent"] == 0.0);
  CHECK(j["client"]["cpu_busy"] == 0.0);
  CHECK(j["started"] == "1970-01-01T00:00:00.000000Z");
  CHECK(j["latency"]["connect"]["p99_us"] == 0.0);
  CHECK(j["connections"]["connack"] == json::object());
  CHECK(j["errors"] == json::object());
  CHECK(j["series"] == json::array());
  CHECK(j["error_count"] == 0);
}

TEST_CASE("bench result: latency figures are the histogram's percentiles of known samples")
{
  BenchResult r;
  for (std::uint64_t us = 1; us <= 1000; ++us) {
    r.end_to_end.record(us * 1000);
  }
  const json l = mqtk::to_json(r)["latency"]["end_to_end"];
  CHECK(l["count"] == 1000);
  CHECK(l["min_us"] == 1.0);
  CHECK(l["max_us"] == 1000.0);
  CHECK(l["mean_us"] == 500.5);
  CHECK(l["p50_us"].get<double>() == doctest::Approx(500).epsilon(0.01));
  CHECK(l["p90_us"].get<double>() == doctest::Approx(900).epsilon(0.01));
  CHECK(l["p99_us"].get<double>() == doctest::Approx(990).epsilon(0.01));
  CHECK(l["p99_9_us"].get<double>() == doctest::Approx(999).epsilon(0.01));
  CHECK(l["p99_us"] == static_cast<double>(r.end_to_end.percentile(99)) / 1000.0);
}

TEST_CASE("bench result: merging equals the result of the union of the runs")
{
  const std::vector<std::uint64_t> a_e2e{250'000, 400'000, 7'800'000}, b_e2e{100'000, 90'000'000};
  const std::vector<std::uint64_t> a_ack{210'000}, b_ack{300'000, 310'000};
  BenchResult a;
  a.command = "pub";
  a.parameters = {{"publishers", 10}, {"qos", 1}};
  a.started_unix_ns = start_ns;
  a.ended_unix_ns = start_ns + 10'000'000'000;
  a.seconds = 9.99;
  a.warmup_seconds = 1;
  a.target_rate = 1000;
  a.behind_schedule = 3;
  a.max_lag_ns = 5'000'000;
  a.max_send_queue = 2;
  a.cpu_seconds = 1.5;
  a.qos[1] = {100, 90, 100, 100, 100, 0, 1, 0, 0};
  a.connections = {10, 10, 0, 0, 10, 0, {{0, 10}}};
  record_all(a.end_to_end, a_e2e);
  record_all(a.publish_to_ack, a_ack);
  a.connect.record(1'000'000);
  a.errors = {{"socket", 1}};
  a.broker_counters = {{"messages/received", 100}, {"clients/connected", 2}};
  a.series = {{0, 50, 45, 50, 10, 1, 250'000, 400'000, 7'800'000}, {1, 50, 45, 50, 0, 0, 300'000, 300'000, 300'000}};
  a.warnings = {"stopped early by a signal", "only in a"};

  // A merge of two runs started 0.5 s later on other machines, ending 11 s
  // after a's start.
  BenchResult b;
  b.command = "merge";
  b.runs = 2;
  b.parameters = {{"runs", json::array({json{{"publishers", 5}}, json{{"subscribers", 2}}})}};
  b.started_unix_ns = start_ns + 500'000'000;
  b.ended_unix_ns = start_ns + 11'000'000'000;
  b.seconds = 10.4;
  b.warmup_seconds = 2;
  b.target_rate = 500;
  b.behind_schedule = 4;
  b.max_lag_ns = 2'000'000;
  b.max_send_queue = 9;
  b.cpu_seconds = 2.5;
  b.cpu_cores = 2;
  b.qos[1] = {50, 50, 50, 49, 49, 1, 0, 0, 1};
  b.qos[2] = {5, 5, 5, 5, 5, 0, 0, 0, 0};
  b.connections = {3, 2, 1, 0, 2, 0, {{0, 2}, {5, 1}}};
  record_all(b.end_to_end, b_e2e);
  record_all(b.publish_to_ack, b_ack);
  b.errors = {{"socket", 2}, {"connack 5", 1}};
  b.broker_counters = {{"messages/received", 50}};
  b.series = {{1, 20, 20, 20, 3, 2, 100'000, 200'000, 90'000'000}, {2, 5, 5, 5, 0, 0, 1, 2, 3}};
  b.warnings = {"stopped early by a signal", "only in b"};

  BenchResult expected;
  expected.command = "merge";
  expected.runs = 3;
  expected.parameters = {
    {"runs", json::array({json{{"publishers", 10}, {"qos", 1}}, json{{"publishers", 5}}, json{{"subscribers", 2}}})}};
  expected.started_unix_ns = start_ns;
  expected.ended_unix_ns = start_ns + 11'000'000'000;
  expected.seconds = 11.0;
  expected.warmup_seconds = 2;
  expected.target_rate = 1500;
  expected.behind_schedule = 7;
  expected.max_lag_ns = 5'000'000;
  expected.max_send_queue = 9;
  expected.cpu_seconds = 4.0;
  expected.cpu_cores = 3;
  expected.qos[1] = {150, 140, 150, 149, 149, 1, 1, 0, 1};
  expected.qos[2] = {5, 5, 5, 5, 5, 0, 0, 0, 0};
  expected.connections = {13, 12, 1, 0, 12, 0, {{0, 12}, {5, 1}}};
  record_all(expected.end_to_end, a_e2e);
  record_all(expected.end_to_end, b_e2e);
  record_all(expected.publish_to_ack, a_ack);
  record_all(expected.publish_to_ack, b_ack);
  expected.connect.record(1'000'000);
  expected.errors = {{"socket", 3}, {"connack 5", 1}};
  expected.broker_counters = {{"messages/received", 150}, {"clients/connected", 2}};
  expected.series = {{0, 50, 45, 50, 10, 1, 250'000, 400'000, 7'800'000},
                     {1, 70, 65, 70, 3, 2, 300'000, 300'000, 90'000'000},
                     {2, 5, 5, 5, 0, 0, 1, 2, 3}};
  expected.warnings = {"stopped early by a signal", "only in a", "only in b"};

  const BenchResult merged = mqtk::merge({a, b});
  CHECK(merged.end_to_end == expected.end_to_end);
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    CHECK(merged.end_to_end.percentile(p) == expected.end_to_end.percentile(p));
  }
  CHECK(merged.series == expected.series);
  CHECK(merged.parameters == expected.parameters);
  CHECK(merged == expected);
  CHECK(mqtk::result_from_json(mqtk::to_json(merged), "merged.json") == merged);

  // Without start and end times, the longest run.
  a.started_unix_ns = 0;
  const BenchResult untimed = mqtk::merge({a, b});
  CHECK(untimed.seconds == 10.4);
  CHECK(untimed.started_unix_ns == b.started_unix_ns);

  // One run: still a merge, its parameters in a list.
  const BenchResult one = mqtk::merge({b});
  CHECK(one.command == "merge");
  CHECK(one.parameters == b.parameters);
  CHECK(one.runs == 2);

  CHECK_THROWS_WITH_AS(mqtk::merge({}), "merge: no results to merge", mqtk::UsageError);
}

TEST_CASE("bench result: reading names what is wrong and where")
{
  const json good = mqtk::to_json(populated());
  CHECK(error_of(json::array()) == "a.json: not an mqtk-bench result (expected a JSON object)");
  CHECK(error_of(json{{"format", 1}}) == "a.json: not an mqtk-bench result (no \"tool\": \"mqtk-bench\")");

  auto with = [&](const json::json_pointer& at, const json& value) {
    json j = good;
    j[at] = value;
    return error_of(j);
  };
  auto without = [&](const json::json_pointer& at) {
    json j = good;
    json& parent = j[at.parent_pointer()];
    if (parent.is_array()) {
      parent.erase(std::stoul(at.back()));
    } else {
      parent.erase(at.back());
    }
    return error_of(j);
  };
  CHECK(with("/format"_json_pointer, 2) == "a.json: written by format version 2; this mqtk-bench reads version 1");
  CHECK(with("/format"_json_pointer, "1") == "a.json: \"format\" must be a positive integer");
  CHECK(without("/format"_json_pointer) == "a.json: \"format\" is missing");
  CHECK(without("/seconds"_json_pointer) == "a.json: \"seconds\" is missing");
  CHECK(with("/seconds"_json_pointer, -1) == "a.json: \"seconds\" must be a non-negative number");
  CHECK(with("/command"_json_pointer, 3) == "a.json: \"command\" must be a string");
  CHECK(with("/parameters"_json_pointer, json::array()) == "a.json: \"parameters\" must be an object");
  CHECK(with("/runs"_json_pointer, 0) == "a.json: \"runs\" must be a positive integer");
  CHECK(with("/started_unix_ns"_json_pointer, 1.5) == "a.json: \"started_unix_ns\" must be a non-negative integer");
  CHECK(with("/rate/target"_json_pointer, "fast") == "a.json: \"rate\".target must be a non-negative number or null");
  CHECK(without("/rate/max_lag_ns"_json_pointer) == "a.json: \"rate\".max_lag_ns is missing");
  CHECK(with("/qos/1/lost"_json_pointer, -1) == "a.json: \"qos\"[1].lost must be a non-negative integer");
  CHECK(with("/qos/1/lost"_json_pointer, "3") == "a.json: \"qos\"[1].lost must be a non-negative integer");
  CHECK(without("/qos/2/unique"_json_pointer) == "a.json: \"qos\"[2].unique is missing");
  CHECK(with("/qos/0"_json_pointer, 0) == "a.json: \"qos\"[0] must be an object");
  CHECK(without("/qos/2"_json_pointer) == "a.json: \"qos\" must be an array of 3 objects (QoS 0, 1 and 2)");
  CHECK(with("/connections/connack"_json_pointer, json{{"x", 1}})
        == "a.json: \"connections\".connack[\"x\"] is not a CONNACK code (0 to 255)");
  CHECK(with("/connections/connack"_json_pointer, json{{"256", 1}})
        == "a.json: \"connections\".connack[\"256\"] is not a CONNACK code (0 to 255)");
  CHECK(with("/connections/connack/5"_json_pointer, true)
        == "a.json: \"connections\".connack[\"5\"] must be a non-negative integer");
  CHECK(with("/connections"_json_pointer, json::array()) == "a.json: \"connections\" must be an object");
  CHECK(without("/latency/connect"_json_pointer) == "a.json: \"latency\".connect is missing");
  CHECK(with("/latency/end_to_end/histogram/count"_json_pointer, 5)
        == "a.json: \"latency\".end_to_end.histogram: the buckets hold 4 values, \"count\" says 5");
  CHECK(with("/client/cpu_cores"_json_pointer, nullptr) == "a.json: \"client\".cpu_cores must be a non-negative number");
  CHECK(with("/errors/socket"_json_pointer, 1.5) == "a.json: \"errors\"[\"socket\"] must be a non-negative integer");
  CHECK(with("/broker_counters/x"_json_pointer, "1") == "a.json: \"broker_counters\"[\"x\"] must be an integer");
  CHECK(without("/series/1/p50_ns"_json_pointer) == "a.json: \"series\"[1].p50_ns is missing");
  CHECK(with("/series"_json_pointer, json::object()) == "a.json: \"series\" must be an array");
  CHECK(with("/warnings/1"_json_pointer, 3) == "a.json: \"warnings\"[1] must be a string");
}

TEST_CASE("bench result: a file's text that is not JSON, or holds a number beyond a double, is named")
{
  auto error_of_text = [](std::string_view text) -> std::string {
    try {
      mqtk::result_from_text(text, "a.json");
    } catch (const mqtk::Error& e) {
      CHECK(e.code() == mqtk::exit_code::failure);
      return e.what();
    }
    return "no error";
  };
  CHECK(mqtk::result_from_text(mqtk::to_json(populated()).dump(), "a.json") == populated());
  CHECK(error_of_text("{\"tool\": ") ==
        "a.json: not JSON (byte 10): an mqtk-bench result file is what -j prints or -o writes");
  // Found by fuzz/bench_result_fuzz (fuzz/corpus/bench_result/number_overflow.json): nlohmann::json's
  // out_of_range came out as "internal error: [json.exception.out_of_range.406] ...".
  CHECK(error_of_text("{\"tool\": \"mqtk-bench\", \"seconds\": 1e400}") ==
        "a.json: holds a number too large for a double: not an mqtk-bench result file");
}

TEST_CASE("bench result: delivery errors are QoS 1 and 2 losses and QoS 2 duplicates")
{
  BenchResult r;
  r.qos[0].lost = 5;       // QoS 0 may lose
  r.qos[1].duplicates = 4; // QoS 1 may duplicate
  CHECK(mqtk::delivery_errors(r).empty());
  r.qos[1].lost = 3;
  r.qos[2].duplicates = 2;
  r.qos[2].lost = 1;
  CHECK(mqtk::delivery_errors(r)
        == std::vector<std::string>{"QoS 1: 3 messages lost", "QoS 2: 1 message lost",
                                    "QoS 2: 2 duplicates (QoS 2 delivers exactly once)"});
  r.qos[1].lost = 1;
  r.qos[2] = {};
  r.qos[2].duplicates = 1;
  CHECK(mqtk::delivery_errors(r)
        == std::vector<std::string>{"QoS 1: 1 message lost", "QoS 2: 1 duplicate (QoS 2 delivers exactly once)"});
}

TEST_CASE("bench result: durations to 3 significant digits in a unit that fits")
{
  CHECK(mqtk::latency_text(0) == "0 ns");
  CHECK(mqtk::latency_text(7) == "7 ns");
  CHECK(mqtk::latency_text(999) == "999 ns");
  CHECK(mqtk::latency_text(999.7) == "1.00 us");
  CHECK(mqtk::latency_text(1234) == "1.23 us");
  CHECK(mqtk::latency_text(9996) == "10.0 us");
  CHECK(mqtk::latency_text(210'000) == "210 us");
  CHECK(mqtk::latency_text(999'600) == "1.00 ms");
  CHECK(mqtk::latency_text(1'200'000) == "1.20 ms");
  CHECK(mqtk::latency_text(3'500'000'000) == "3.50 s");
  CHECK(mqtk::latency_text(4'000'000'000'000) == "4000 s");
}

TEST_CASE("bench result: the summary says what there is to say")
{
  BenchResult r;
  r.command = "pubsub";
  r.parameters = {{"publishers", 10}, {"subscribers", 1}, {"qos", 1}, {"payload_bytes", 64}, {"rate", 1000}};
  r.seconds = 10;
  r.warmup_seconds = 2;
  r.target_rate = 10000;
  r.behind_schedule = 12;
  r.max_lag_ns = 3'210'000;
  r.qos[1] = {100000, 100000, 100000, 100000, 100000, 0, 0, 0, 0};
  for (int i = 0; i < 90; ++i) {
    r.publish_to_ack.record(210'000);
    r.end_to_end.record(250'000);
  }
  for (int i = 0; i < 10; ++i) {
    r.publish_to_ack.record(1'200'000);
    r.end_to_end.record(2'500'000);
  }
  r.connect.record(1'500'000);
  r.connections = {11, 11, 0, 0, 11, 0, {{0, 11}}};
  r.broker_counters = {{"messages/received", 100011}, {"messages/sent", 100000}};
  r.cpu_seconds = 3.8;
  r.warnings = {"stopped early by a signal"};
  CHECK(mqtk::summary_text(r)
        == "pubsub: 10 publishers, 1 subscriber, QoS 1, 64-byte payloads, 10.0 s (+2.0 s warm-up)\n"
           "  sent         100000 (10000.0/s, target 10000/s; 12 behind schedule by up to 3.21 ms)\n"
           "  acknowledged 100000 (10000.0/s)\n"
           "  received     100000 (10000.0/s)   lost 0   duplicates 0   reordered 0\n"
           "  publish -> ack         p50 210 us   p90 210 us   p99 1.20 ms   p99.9 1.20 ms   max 1.20 ms   (100)\n"
           "  publish -> subscriber  p50 251 us   p90 251 us   p99 2.50 ms   p99.9 2.50 ms   max 2.50 ms   (100)\n"
           "  connect                p50 1.50 ms   p90 1.50 ms   p99 1.50 ms   p99.9 1.50 ms   max 1.50 ms   (1)\n"
           "  connections 11 attempted, 11 connected, 11 held\n"
           "  broker $SYS: messages/received +100011, messages/sent +100000\n"
           "  client CPU 38 % of 1 core\n"
           "  warning: stopped early by a signal\n");

  // Traffic at two QoS levels, refusals, errors, no rate, no time.
  BenchResult c;
  c.command = "conn";
  c.parameters = {{"clients", 3}};
  c.connections = {3, 1, 1, 1, 0, 1, {{0, 1}, {5, 1}}};
  c.errors = {{"connack 5", 1}, {"socket", 1}};
  CHECK(mqtk::summary_text(c)
        == "conn: 3 clients, 0.0 s\n"
           "  connections 3 attempted, 1 connected, 1 refused (CONNACK 5: 1), 1 failed, 1 dropped, 0 held\n"
           "  errors 2 (connack 5 1, socket 1)\n");

  BenchResult q;
  q.command = "pub";
  q.seconds = 2;
  q.cpu_cores = 2;
  q.cpu_seconds = 1;
  q.qos[0].sent = 10;
  q.qos[2] = {4, 3, 0, 0, 0, 0, 0, 0, 0};
  CHECK(mqtk::summary_text(q)
        == "pub: 2.0 s\n"
           "  sent         14 (7.0/s)\n"
           "  acknowledged 3 (1.5/s)   not acknowledged 1\n"
           "    QoS 0: sent 10, received 0, lost 0, duplicates 0, reordered 0\n"
           "    QoS 2: sent 4, acknowledged 3, received 0, lost 0, duplicates 0, reordered 0\n"
           "  client CPU 25 % of 2 cores\n");

  // A merge tells the runs' clients added up and the settings they share.
  const BenchResult m = mqtk::merge({r, r});
  CHECK(mqtk::summary_text(m).starts_with(
    "merge: 2 runs, 20 publishers, 2 subscribers, QoS 1, 64-byte payloads, 10.0 s (+2.0 s warm-up)\n"));
}

TEST_CASE("bench result: the series as CSV, microseconds to 3 decimals")
{
  BenchResult r;
  CHECK(mqtk::csv_text(r) == "second,sent,acknowledged,received,connected,errors,p50_us,p99_us,max_us\n");
  r.series = {{0, 10000, 9990, 9999, 11, 1, 210'123, 1'200'000, 4'000'000'001}, {1, 1, 1, 1, 0, 0, 0, 7, 999}};
  CHECK(mqtk::csv_text(r)
        == "second,sent,acknowledged,received,connected,errors,p50_us,p99_us,max_us\n"
           "0,10000,9990,9999,11,1,210.123,1200.000,4000000.001\n"
           "1,1,1,1,0,0,0.000,0.007,0.999\n");
}

TEST_CASE("merge: runs against one broker do not add up its $SYS counters; different brokers do")
{
  auto run = [](std::string host, std::int64_t received) {
    BenchResult r;
    r.command = "pub";
    r.parameters = {{"host", host}, {"port", 1883}};
    r.broker_counters = {{"messages/received", received}};
    return r;
  };
  // Two machines against one broker at the same time: the broker counted
  // both machines' messages in each run's window.
  CHECK(mqtk::merge({run("broker", 200), run("broker", 190)}).broker_counters.at("messages/received") == 200);
  CHECK(mqtk::merge({run("a", 200), run("b", 190)}).broker_counters.at("messages/received") == 390);
  CHECK(mqtk::merge({run("broker", -5), run("broker", -7)}).broker_counters.at("messages/received") == -5);
}
