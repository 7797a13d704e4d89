#include <doctest/doctest.h>

#include "mqtk/bench/bench_result.hpp"
#include "mqtk/bench/slo_target.hpp"
#include "mqtk/process/error.hpp"

#include <string>
#include <vector>

using mqtk::BenchResult;
using mqtk::SloTarget;

namespace {

SloTarget one(std::string_view text)
{
  const auto targets = mqtk::parse_slo(text);
  REQUIRE(targets.size() == 1);
  return targets[0];
}

std::string parse_error(std::string_view text)
{
  try {
    mqtk::parse_slo(text);
  } catch (const mqtk::UsageError& e) {
    return e.what();
  }
  return "no error";
}

std::string verdict(std::string_view text, const BenchResult& r)
{
  const auto verdicts = mqtk::check_slo(mqtk::parse_slo(text), r);
  REQUIRE(verdicts.size() == 1);
  CHECK(verdicts[0].held == (verdicts[0].text.find(": held (") != std::string::npos));
  return verdicts[0].text;
}

} // namespace

TEST_CASE("slo target: every form of target")
{
  auto t = one("p99<=5ms");
  CHECK(t.text == "p99<=5ms");
  CHECK(t.histogram == "");
  CHECK(t.metric == "p99");
  CHECK(t.percentile == 99);
  CHECK(t.comparison == "<=");
  CHECK(t.limit == 5e6);

  t = one("e2e.p99.9<2ms");
  CHECK(t.histogram == "e2e");
  CHECK(t.metric == "p99.9");
  CHECK(t.percentile == 99.9);
  CHECK(t.comparison == "<");
  CHECK(t.limit == 2e6);

  t = one("ack.max<=1s");
  CHECK(t.histogram == "ack");
  CHECK(t.metric == "max");
  CHECK(t.limit == 1e9);

  t = one("connect.p50<=20ms");
  CHECK(t.histogram == "connect");
  CHECK(t.metric == "p50");
  CHECK(t.percentile == 50);
  CHECK(t.limit == 2e7);

  t = one("loss==0");
  CHECK(t.histogram == "");
  CHECK(t.metric == "loss");
  CHECK(t.comparison == "==");
  CHECK(t.limit == 0);

  t = one("rate>=9000");
  CHECK(t.metric == "rate");
  CHECK(t.comparison == ">=");
  CHECK(t.limit == 9000);
  CHECK(one("rate>=9000/s").limit == 9000);

  t = one("errors<1");
  CHECK(t.metric == "errors");
  CHECK(t.comparison == "<");
  CHECK(t.limit == 1);

  t = one("mean>100us");
  CHECK(t.metric == "mean");
  CHECK(t.comparison == ">");
  CHECK(t.limit == 1e5);
  CHECK(one("min>=10ns").limit == 10);
  CHECK(one("p5<=1.5us").percentile == 5);
  CHECK(one("p5<=1.5us").limit == 1500);
  CHECK(one("p100<=1s").percentile == 100);
  CHECK(one("p0<=1s").percentile == 0);
  CHECK(one("connect.p99.99<=10ms").percentile == 99.99);

  const auto list = mqtk::parse_slo(" p99 <= 5 ms , loss==0,e2e.max<1s");
  REQUIRE(list.size() == 3);
  CHECK(list[0].text == "p99 <= 5 ms");
  CHECK(list[0].limit == 5e6);
  CHECK(list[1].text == "loss==0");
  CHECK(list[2].histogram == "e2e");
}

TEST_CASE("slo target: every mistake is named")
{
  CHECK(parse_error("p99<=5") == "--slo: 'p99<=5' needs a unit: ns, us, ms or s");
  CHECK(parse_error("p101<=5ms")
        == "--slo: unknown metric 'p101' in 'p101<=5ms' (expected pNN, pNN.N, min, mean, max, loss, errors or rate)");
  CHECK(parse_error("median<=5ms")
        == "--slo: unknown metric 'median' in 'median<=5ms' (expected pNN, pNN.N, min, mean, max, loss, errors or rate)");
  CHECK(parse_error("p99.9.9<=5ms")
        == "--slo: unknown metric 'p99.9.9' in 'p99.9.9<=5ms' (expected pNN, pNN.N, min, mean, max, loss, errors or rate)");
  CHECK(parse_error("e2e.<=5ms")
        == "--slo: unknown metric '' in 'e2e.<=5ms' (expected pNN, pNN.N, min, mean, max, loss, errors or rate)");
  CHECK(parse_error("p99<=5ms,") == "--slo: empty target in 'p99<=5ms,'");
  CHECK(parse_error("p99<=5ms,,loss==0") == "--slo: empty target in 'p99<=5ms,,loss==0'");
  CHECK(parse_error(",p99<=5ms") == "--slo: empty target in ',p99<=5ms'");
  CHECK(parse_error("") == "--slo: no target given (e.g. 'p99<=5ms')");
  CHECK(parse_error("  ") == "--slo: no target given (e.g. 'p99<=5ms')");
  CHECK(parse_error("p99 5ms") == "--slo: no comparison in 'p99 5ms' (expected <=, <, >=, > or ==)");
  CHECK(parse_error("loss=0") == "--slo: unknown comparison '=' in 'loss=0' (expected <=, <, >=, > or ==)");
  CHECK(parse_error("<=5ms") == "--slo: no metric before <= in '<=5ms'");
  CHECK(parse_error("foo.p99<=5ms") == "--slo: unknown histogram 'foo' in 'foo.p99<=5ms' (expected e2e, ack or connect)");
  CHECK(parse_error("e2e.loss==0") == "--slo: 'loss' takes no histogram prefix in 'e2e.loss==0'");
  CHECK(parse_error("p99<=ms") == "--slo: 'p99<=ms' needs a non-negative number after <=");
  CHECK(parse_error("p99<=") == "--slo: 'p99<=' needs a non-negative number after <=");
  CHECK(parse_error("p99<=-5ms") == "--slo: 'p99<=-5ms' needs a non-negative number after <=");
  CHECK(parse_error("p99<=1.2.3ms") == "--slo: 'p99<=1.2.3ms' needs a non-negative number after <=");
  CHECK(parse_error("p99<<5ms") == "--slo: 'p99<<5ms' needs a non-negative number after <");
  CHECK(parse_error("p99<=5m") == "--slo: unknown unit 'm' in 'p99<=5m' (expected ns, us, ms or s)");
  CHECK(parse_error("loss==0%") == "--slo: 'loss' takes a plain number, not '%', in 'loss==0%'");
  CHECK(parse_error("errors<1ms") == "--slo: 'errors' takes a plain number, not 'ms', in 'errors<1ms'");
  CHECK_THROWS_AS(mqtk::parse_slo("p99<=5"), mqtk::UsageError);
}

TEST_CASE("slo target: latency targets held and missed")
{
  BenchResult fast;
  fast.end_to_end.record(3'210'000);
  fast.publish_to_ack.record(9'000'000);
  BenchResult slow;
  slow.end_to_end.record(7'800'000);
  CHECK(verdict("p99<=5ms", fast) == "p99<=5ms: held (end-to-end p99 3.21 ms)");
  CHECK(verdict("p99<=5ms", slow) == "p99<=5ms: missed (end-to-end p99 7.80 ms)");
  CHECK(verdict("ack.p99<=5ms", fast) == "ack.p99<=5ms: missed (publish-to-ack p99 9.00 ms)");
  CHECK(verdict("p99<=5ms", BenchResult{}) == "p99<=5ms: missed (no samples)");
  CHECK(verdict("ack.max<=1s", slow) == "ack.max<=1s: missed (no samples)");
  CHECK(verdict("connect.p50<=20ms", fast) == "connect.p50<=20ms: missed (no samples)");

  // Without a prefix: the first histogram with samples of e2e, ack, connect.
  BenchResult ack_only;
  ack_only.publish_to_ack.record(400'000);
  ack_only.connect.record(30'000'000);
  CHECK(verdict("max<1ms", ack_only) == "max<1ms: held (publish-to-ack max 400 us)");
  BenchResult connect_only;
  connect_only.connect.record(30'000'000);
  CHECK(verdict("p50<=20ms", connect_only) == "p50<=20ms: missed (connect p50 30.0 ms)");

  // Each comparison, at the limit.
  CHECK(verdict("max<3210us", fast) == "max<3210us: missed (end-to-end max 3.21 ms)");
  CHECK(verdict("max<=3210us", fast) == "max<=3210us: held (end-to-end max 3.21 ms)");
  CHECK(verdict("max>3210us", fast) == "max>3210us: missed (end-to-end max 3.21 ms)");
  CHECK(verdict("max>=3210us", fast) == "max>=3210us: held (end-to-end max 3.21 ms)");
  CHECK(verdict("max==3210us", fast) == "max==3210us: held (end-to-end max 3.21 ms)");

  BenchResult two;
  two.end_to_end.record(1'000'000);
  two.end_to_end.record(3'000'000);
  CHECK(verdict("mean<=2ms", two) == "mean<=2ms: held (end-to-end mean 2.00 ms)");
  CHECK(verdict("min>1ms", two) == "min>1ms: missed (end-to-end min 1.00 ms)");

  // Percentiles are the histogram's.
  BenchResult many;
  for (std::uint64_t us = 1; us <= 1000; ++us) {
    many.end_to_end.record(us * 1000);
  }
  const auto p99 = static_cast<double>(many.end_to_end.percentile(99));
  CHECK(p99 == doctest::Approx(990'000).epsilon(0.01));
  CHECK(verdict("e2e.p99<995us", many) == "e2e.p99<995us: held (end-to-end p99 " + mqtk::latency_text(p99) + ")");
  CHECK(verdict("e2e.p99<985us", many) == "e2e.p99<985us: missed (end-to-end p99 " + mqtk::latency_text(p99) + ")");
  CHECK(verdict("p99.9<=1ms", many).starts_with("p99.9<=1ms: held (end-to-end p99.9 99"));
}

TEST_CASE("slo target: loss, errors and rate targets")
{
  BenchResult r;
  CHECK(verdict("loss==0", r) == "loss==0: held (0 lost)");
  CHECK(verdict("errors<1", r) == "errors<1: held (0 errors)");
  CHECK(verdict("rate>=9000", r) == "rate>=9000: missed (no measured time)");

  r.qos[0].lost = 1;
  r.qos[1].lost = 2;
  r.errors = {{"socket", 1}};
  r.seconds = 10;
  r.qos[1].sent = 95000;
  CHECK(verdict("loss==0", r) == "loss==0: missed (3 lost)");
  CHECK(verdict("loss<=3", r) == "loss<=3: held (3 lost)");
  CHECK(verdict("errors<1", r) == "errors<1: missed (1 error)");
  CHECK(verdict("rate>=9000", r) == "rate>=9000: held (9500.0/s sent)");
  r.qos[1].received = 80000;
  CHECK(verdict("rate>=9000/s", r) == "rate>=9000/s: missed (8000.0/s received)");

  r.end_to_end.record(1'000'000);
  const auto verdicts = mqtk::check_slo(mqtk::parse_slo("p99<=5ms,loss==0,rate>1"), r);
  REQUIRE(verdicts.size() == 3);
  CHECK(verdicts[0].held);
  CHECK_FALSE(verdicts[1].held);
  CHECK(verdicts[2].held);
  CHECK(mqtk::check_slo({}, r).empty());
}
