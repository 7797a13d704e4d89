#pragma once

#include <chrono>
#include <string>

namespace mqtk {

// Appends `time` as ISO-8601 UTC with microseconds:
// 2026-11-25T11:46:15.733847Z (the "tst" of JSON Lines and alerts).
void append_iso8601_utc(std::string& out, std::chrono::system_clock::time_point time);

} // namespace mqtk
