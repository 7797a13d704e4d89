#pragma once

#include "mqtk/sys/broker_model.hpp"

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace mqtk {

// The JSON snapshot of a BrokerModel (mqtk-sys-monitor -j, and what
// --warn-when/--alert-when expressions read), with a stable nested schema:
//   {"broker":{"version","uptime_seconds","up","stale","interval_seconds",
//              "seconds_since_update","restarts"},
//    "clients":{"connected",...}, "subscriptions":{...}, "retained":{...},
//    "store":{...}, "messages":{"received","sent"}, "publish":{...},
//    "bytes":{...}, "heap":{"current_bytes","maximum_bytes"},
//    "rates":{"messages_received_per_s",...},
//    "load":{"messages_received":{"1min","5min","15min"},...},
//    "bridges":{"NAME":{"connected":true}}, "other":{"$SYS/...":"text"},
//    "other_dropped":N}
// Values the broker did not publish are left out (rates: null until two
// rounds have arrived); counts are numbers, never strings. `up`: connected
// and not stale.
nlohmann::ordered_json snapshot_json(const BrokerModel& model, bool connected, BrokerModel::Clock::time_point now);

// The Prometheus text exposition format (version 0.0.4) of the same
// snapshot: every name prefixed "mqtt_broker_", counters with "_total",
// base units (_bytes, _seconds), # HELP and # TYPE before the samples,
// mqtt_broker_info{version="..."} 1, mqtt_broker_up, and the wall-clock
// time of the last update (mqtt_broker_last_update_timestamp_seconds).
std::string prometheus_text(const BrokerModel& model, bool connected, BrokerModel::Clock::time_point now,
                            std::chrono::system_clock::time_point wall_now);

} // namespace mqtk
