// libFuzzer target: $SYS messages for mqtk-sys-monitor's broker model, one
// per line: a topic (without "$SYS/broker/" when it does not start with
// '$'; UTF-8, as MQTT has them), a space, the payload; an empty line ends
// a round. Half a second passes per line. The model takes anything; its
// JSON snapshot dumps (as mqtk-sys-monitor's checks dump it) to valid
// JSON, and its Prometheus text is UTF-8 lines of comments and samples.
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "mqtk/output/json_text.hpp"
#include "mqtk/sys/broker_model.hpp"
#include "mqtk/sys/snapshot.hpp"

using mqtk_fuzz::check;
using mqtk_fuzz::starts_with;

namespace {

void check_snapshot(const mqtk::BrokerModel& model, mqtk::BrokerModel::Clock::time_point now)
{
  for (const bool connected : {true, false}) {
    const nlohmann::ordered_json j = mqtk::snapshot_json(model, connected, now);
    const std::string text = j.dump();
    check(nlohmann::json::accept(text));
    const std::string prometheus =
      mqtk::prometheus_text(model, connected, now, std::chrono::system_clock::time_point(std::chrono::seconds(1764071175)));
    check(mqtk::is_valid_utf8(prometheus));
    check(prometheus.empty() || prometheus.back() == '\n');
    for (const std::string_view line : mqtk_fuzz::split(prometheus, '\n', prometheus.size() + 1)) {
      check(line.empty() || starts_with(line, "# HELP mqtt_broker_") || starts_with(line, "# TYPE mqtt_broker_") ||
            starts_with(line, "mqtt_broker_"));
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  mqtk::BrokerModel model;
  auto now = mqtk::BrokerModel::Clock::time_point(std::chrono::hours(1000));
  for (const std::string_view line : mqtk_fuzz::split(input, '\n', 512)) {
    now += std::chrono::milliseconds(500);
    if (line.empty()) {
      model.end_round(now);
      continue;
    }
    const auto parts = mqtk_fuzz::split(line, ' ', 2);
    if (!mqtk::is_valid_utf8(parts[0])) {
      continue; // brokers deliver UTF-8 topics only (MQTT 1.5.4)
    }
    const std::string topic = line.front() == '$' ? std::string(parts[0]) : "$SYS/broker/" + std::string(parts[0]);
    model.update(topic, parts.size() > 1 ? parts[1] : std::string_view{}, now);
  }
  model.end_round(now);
  check(model.other().size() <= mqtk::BrokerModel::max_other);
  for (const auto& [topic, text] : model.other()) {
    check(text.size() <= mqtk::BrokerModel::max_other_bytes);
  }
  for (std::size_t i = 0; i < mqtk::sys_metrics().size(); ++i) {
    if (const auto rate = model.rate(i)) {
      check(!(*rate < 0));
    }
  }
  check_snapshot(model, now);
  check_snapshot(model, now + std::chrono::seconds(100));
  return 0;
}
