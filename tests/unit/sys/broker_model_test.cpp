#include <doctest/doctest.h>

#include "mqtk/sys/broker_model.hpp"

#include <string>

using mqtk::BrokerModel;

namespace {

using namespace std::chrono_literals;
const BrokerModel::Clock::time_point t0{};

std::size_t metric(std::string_view topic)
{
  const auto& m = mqtk::sys_metrics();
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i].topic == topic) {
      return i;
    }
  }
  FAIL("no metric " << topic);
  return 0;
}

// One mosquitto round: uptime first, then the values that changed.
void round(BrokerModel& m, BrokerModel::Clock::time_point at, int uptime, int received, int connected)
{
  m.update("$SYS/broker/uptime", std::to_string(uptime) + " seconds", at);
  m.update("$SYS/broker/messages/received", std::to_string(received), at);
  m.update("$SYS/broker/clients/connected", std::to_string(connected), at);
  m.end_round(at);
}

} // namespace

TEST_CASE("broker model: values, rates and the learnt interval")
{
  BrokerModel m;
  CHECK_FALSE(m.any());
  m.update("$SYS/broker/version", "mosquitto version 2.0.11", t0);
  m.update("$SYS/broker/load/messages/received/1min", "26.55", t0);
  m.update("$SYS/broker/load/sockets/5min", "0.20", t0);
  m.update("$SYS/broker/connection/edge-bridge/state", "1", t0);
  round(m, t0, 100, 1000, 3);
  CHECK(m.any());
  CHECK(*m.version() == "mosquitto version 2.0.11");
  CHECK(*m.uptime_seconds() == 100);
  CHECK_FALSE(m.interval_seconds());
  CHECK(m.value(metric("clients/connected")).value == 3);
  CHECK_FALSE(m.rate(metric("messages/received"))); // one round: no rate yet
  round(m, t0 + 10s, 110, 1500, 4);
  CHECK(*m.interval_seconds() == 10);
  CHECK(*m.rate(metric("messages/received")) == doctest::Approx(50.0));
  CHECK_FALSE(m.rate(metric("clients/connected"))); // a gauge has no rate
  REQUIRE(m.loads().size() == 2);
  CHECK(m.loads()[0].name == "messages_received");
  CHECK(*m.loads()[0].m1 == doctest::Approx(26.55));
  CHECK(m.loads()[1].name == "sockets");
  CHECK(*m.loads()[1].m5 == doctest::Approx(0.20));
  CHECK(m.bridges().at("edge-bridge") == 1);
  CHECK(m.rounds() == 2);
}

TEST_CASE("broker model: an unchanged counter is not published; its rate falls to 0")
{
  BrokerModel m;
  round(m, t0, 10, 500, 1);
  round(m, t0 + 2s, 12, 600, 1);
  CHECK(*m.rate(metric("messages/received")) == doctest::Approx(50.0));
  m.update("$SYS/broker/uptime", "14 seconds", t0 + 4s); // nothing else changed
  m.end_round(t0 + 4s);
  CHECK(*m.rate(metric("messages/received")) == doctest::Approx(0.0));
}

TEST_CASE("broker model: a restart resets rates, never negative")
{
  BrokerModel m;
  round(m, t0, 1000, 90000, 5);
  round(m, t0 + 10s, 1010, 91000, 5);
  CHECK(*m.rate(metric("messages/received")) == doctest::Approx(100.0));
  // The broker restarts: uptime goes back.
  round(m, t0 + 20s, 3, 40, 1);
  CHECK(m.restarts() == 1);
  CHECK_FALSE(m.rate(metric("messages/received")));
  round(m, t0 + 30s, 13, 140, 1);
  CHECK(*m.rate(metric("messages/received")) == doctest::Approx(10.0));
  // A counter going down with uptime still growing is a restart too.
  round(m, t0 + 40s, 23, 5, 1);
  CHECK(m.restarts() == 2);
  CHECK_FALSE(m.rate(metric("messages/received")));
}

TEST_CASE("broker model: stale when the heartbeat stops")
{
  BrokerModel m;
  CHECK_FALSE(m.stale(t0 + 100s)); // nothing yet: not stale, just unknown
  round(m, t0, 10, 1, 1);
  round(m, t0 + 2s, 12, 1, 1);
  CHECK_FALSE(m.stale(t0 + 6s));
  CHECK(m.stale(t0 + 8s)); // 2.5 intervals of 2 s, at least 3 s
  CHECK(*m.seconds_since_update(t0 + 8s) == doctest::Approx(6.0));
  // One uptime only: the interval is not known, a long one is assumed.
  BrokerModel one;
  round(one, t0, 10, 1, 1);
  CHECK_FALSE(one.stale(t0 + 30s));
  CHECK(one.stale(t0 + 76s));
}

TEST_CASE("broker model: other trees are kept, bounded, never invented into known values")
{
  BrokerModel m;
  m.update("$SYS/brokers/emqx@127.0.0.1/version", "5.3.0", t0);
  m.update("$SYS/brokers/emqx@127.0.0.1/uptime", "1 hours, 2 minutes", t0);
  m.update("$SYS/broker/clients/connected", "not a number", t0);
  m.update("not/sys", "1", t0);
  CHECK(m.any());
  CHECK_FALSE(m.version());
  CHECK_FALSE(m.uptime_seconds());
  CHECK_FALSE(m.value(metric("clients/connected")).present);
  CHECK(m.other().at("$SYS/brokers/emqx@127.0.0.1/version") == "5.3.0");
  CHECK(m.other().at("$SYS/broker/clients/connected") == "not a number");
  CHECK(m.other().count("not/sys") == 0);
  for (int i = 0; i < 1000; ++i) {
    m.update("$SYS/x/" + std::to_string(i), std::string(10000, 'x'), t0);
  }
  CHECK(m.other().size() == BrokerModel::max_other);
  CHECK(m.other_dropped() == 1000 - (BrokerModel::max_other - 3));
  CHECK(m.other().at("$SYS/x/0").size() == BrokerModel::max_other_bytes);
  m.end_round(t0); // no uptime: nothing to do, nothing breaks
  CHECK(m.rounds() == 0);
}

TEST_CASE("broker model: text kept from payloads is UTF-8, cut between characters")
{
  // Found by fuzz/sys_model_fuzz (fuzz/corpus/sys_model/invalid_utf8_version):
  // the snapshot's dump() threw on such text, ending mqtk-sys-monitor.
  BrokerModel m;
  m.update("$SYS/broker/version", "mosquitto \xe2\x82\xac\xff", t0);
  CHECK(*m.version() == "mosquitto €\uFFFD");
  // 255 bytes of 'x', then a 2-byte character that does not fit.
  m.update("$SYS/brokers/x", std::string(255, 'x') + "é tail", t0);
  CHECK(m.other().at("$SYS/brokers/x") == std::string(255, 'x'));
  m.update("$SYS/brokers/y", "\xc3", t0);
  CHECK(m.other().at("$SYS/brokers/y") == "\uFFFD");
}
