#include <doctest/doctest.h>

#include "mqtk/sys/snapshot.hpp"

#include <string>

using mqtk::BrokerModel;

namespace {

using namespace std::chrono_literals;
const BrokerModel::Clock::time_point t0{};

BrokerModel two_rounds()
{
  BrokerModel m;
  m.update("$SYS/broker/version", "mosquitto version \"2.0.11\"", t0);
  m.update("$SYS/broker/uptime", "100 seconds", t0);
  m.update("$SYS/broker/messages/received", "1000", t0);
  m.update("$SYS/broker/clients/connected", "3", t0);
  m.update("$SYS/broker/heap/current", "40616", t0);
  m.update("$SYS/broker/load/publish/sent/1min", "56.06", t0);
  m.update("$SYS/broker/connection/b1/state", "0", t0);
  m.update("$SYS/brokers/node/x", "y", t0);
  m.end_round(t0);
  m.update("$SYS/broker/uptime", "110 seconds", t0 + 10s);
  m.update("$SYS/broker/messages/received", "1250", t0 + 10s);
  m.end_round(t0 + 10s);
  return m;
}

} // namespace

TEST_CASE("snapshot: the JSON schema")
{
  const BrokerModel m = two_rounds();
  const auto j = mqtk::snapshot_json(m, true, t0 + 11s);
  CHECK(j["broker"]["version"] == "mosquitto version \"2.0.11\"");
  CHECK(j["broker"]["uptime_seconds"] == 110);
  CHECK(j["broker"]["up"] == true);
  CHECK(j["broker"]["stale"] == false);
  CHECK(j["broker"]["interval_seconds"] == 10);
  CHECK(j["broker"]["seconds_since_update"] == 1.0);
  CHECK(j["clients"]["connected"] == 3);
  CHECK(j["clients"]["connected"].is_number_integer());
  CHECK(j["messages"]["received"] == 1250);
  CHECK(j["heap"]["current_bytes"] == 40616);
  CHECK(j["rates"]["messages_received_per_s"] == 25.0);
  CHECK(j["rates"]["messages_sent_per_s"].is_null());
  CHECK(j["load"]["publish_sent"]["1min"] == 56.06);
  CHECK(j["bridges"]["b1"]["connected"] == false);
  CHECK(j["other"]["$SYS/brokers/node/x"] == "y");
  CHECK_FALSE(j.contains("store")); // never published: left out
  // Frozen broker: stale, not up.
  const auto later = mqtk::snapshot_json(m, true, t0 + 60s);
  CHECK(later["broker"]["stale"] == true);
  CHECK(later["broker"]["up"] == false);
  CHECK(mqtk::snapshot_json(m, false, t0 + 11s)["broker"]["up"] == false);
}

TEST_CASE("snapshot: Prometheus text")
{
  const BrokerModel m = two_rounds();
  const auto wall = std::chrono::system_clock::time_point(std::chrono::seconds(1800000000));
  const std::string text = mqtk::prometheus_text(m, true, t0 + 11s, wall);
  CHECK(text.find("# HELP mqtt_broker_up ") != std::string::npos);
  CHECK(text.find("# TYPE mqtt_broker_up gauge\nmqtt_broker_up 1\n") != std::string::npos);
  CHECK(text.find("mqtt_broker_info{version=\"mosquitto version \\\"2.0.11\\\"\"} 1\n") != std::string::npos);
  CHECK(text.find("# TYPE mqtt_broker_messages_received_total counter\nmqtt_broker_messages_received_total 1250\n")
        != std::string::npos);
  CHECK(text.find("# TYPE mqtt_broker_clients_connected gauge\nmqtt_broker_clients_connected 3\n")
        != std::string::npos);
  CHECK(text.find("mqtt_broker_heap_current_bytes 40616\n") != std::string::npos);
  CHECK(text.find("mqtt_broker_uptime_seconds 110\n") != std::string::npos);
  CHECK(text.find("mqtt_broker_last_update_timestamp_seconds 1799999999.000\n") != std::string::npos);
  CHECK(text.find("mqtt_broker_load_publish_sent_per_minute{window=\"1m\"} 56.06\n") != std::string::npos);
  CHECK(text.find("mqtt_broker_bridge_connected{bridge=\"b1\"} 0\n") != std::string::npos);
  CHECK(text.find("other") == std::string::npos); // unknown topics are not invented into metrics
  CHECK(mqtk::prometheus_text(m, true, t0 + 60s, wall).find("mqtt_broker_up 0\n") != std::string::npos);
}

TEST_CASE("snapshot: a broker's bytes that are not UTF-8 still make valid JSON and Prometheus text")
{
  BrokerModel m;
  m.update("$SYS/broker/version", "v\xff", t0);
  m.update("$SYS/brokers/n", std::string(255, 'x') + "\xe2\x82\xac", t0);
  const std::string text = mqtk::snapshot_json(m, true, t0).dump(); // as mqtk-sys-monitor's checks dump it
  CHECK(nlohmann::json::parse(text)["broker"]["version"] == "v\uFFFD");
  CHECK(text.find("\"$SYS/brokers/n\":\"" + std::string(255, 'x') + "\"") != std::string::npos);
  const auto wall = std::chrono::system_clock::time_point(std::chrono::seconds(1800000000));
  CHECK(mqtk::prometheus_text(m, true, t0, wall).find("mqtt_broker_info{version=\"v\uFFFD\"} 1\n")
        != std::string::npos);
}
