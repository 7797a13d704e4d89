#include "mqtk/output/timestamp.hpp"

#include <ctime>
#include <iterator>

#include <fmt/format.h>

namespace mqtk {

void append_iso8601_utc(std::string& out, std::chrono::system_clock::time_point time)
{
  const auto seconds = std::chrono::floor<std::chrono::seconds>(time);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(time - seconds).count();
  // Messages arrive many per second: the date and time of day are formatted
  // once per second and reused (per thread), only the microseconds change.
  thread_local std::chrono::sys_seconds cached_second{std::chrono::seconds(-1)};
  thread_local std::string cached;
  if (seconds != cached_second || cached.empty()) {
    const std::time_t t = std::chrono::system_clock::to_time_t(seconds);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    cached = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_second = seconds;
  }
  out.append(cached);
  char digits[7] = "000000";
  auto value = static_cast<long long>(micros);
  for (int i = 5; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(digits, 6);
  out.push_back('Z');
}

} // namespace mqtk
