#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mqtk {

// The values a chart shows (mqtk-sub --plot): one series per topic and
// expression, each the last `window` of values, plus the times of alerts.
// Memory is bounded whatever the message rate: each series keeps
// buckets_per_window time buckets (the minimum, maximum, first and last
// value in each), at most max_series series exist, and at most max_alerts
// alert marks. Not synchronised: its owner locks.
class SeriesWindow
{
public:
  using Clock = std::chrono::steady_clock;

  static constexpr std::size_t max_series = 64;
  static constexpr std::int64_t buckets_per_window = 2000;
  static constexpr std::size_t max_alerts = 1000;
  static constexpr std::size_t max_alert_topic = 256; // bytes of its topic an alert mark keeps

  struct Bucket
  {
    std::int64_t index; // time bucket: origin + index * bucket_width
    double first, last, min, max;
    std::uint32_t count;
    bool min_first; // the minimum came before the maximum
  };

  struct Series
  {
    std::string topic;
    std::size_t expression; // index into expressions()
    std::size_t color;      // fixed from creation: the n-th series ever made
    std::deque<Bucket> buckets; // oldest first, increasing index
  };

  struct Stats
  {
    double current = 0, min = 0, max = 0;
    std::uint64_t points = 0;
  };

  // `window` is positive; `expressions` name the series' second half.
  SeriesWindow(std::chrono::duration<double> window, std::vector<std::string> expressions, Clock::time_point origin);

  // Adds a value (finite) of expression `expression` for `topic` received
  // at `t` (not before the origin), dropping what that series holds from
  // before the window. Past max_series a new series is not made and the
  // value is counted in dropped_values() (trim() frees the series that
  // went quiet).
  void add(std::string_view topic, std::size_t expression, double value, Clock::time_point t);

  // Marks an alert on `topic` at `t`; the oldest mark goes past max_alerts.
  void add_alert(std::string_view topic, Clock::time_point t);

  // Drops what is older than the window before `now`, and series left with
  // nothing.
  void trim(Clock::time_point now);

  const std::vector<Series>& series() const noexcept { return m_series; }
  const std::vector<std::string>& expressions() const noexcept { return m_expressions; }
  // The minimum, maximum and last value of a series and how many values it
  // holds (over the buckets kept).
  static Stats stats(const Series& series) noexcept;
  // The smallest and largest value of every series; false when none holds
  // any.
  bool range(double& lo, double& hi) const noexcept;

  struct Alert
  {
    std::int64_t index; // its time bucket
    std::string topic;
  };
  const std::deque<Alert>& alerts() const noexcept { return m_alerts; }
  std::uint64_t alerts_total() const noexcept { return m_alerts_total; }

  // Values not plotted because max_series series existed.
  std::uint64_t dropped_values() const noexcept { return m_dropped_values; }

  std::chrono::duration<double> window() const noexcept { return m_window; }
  std::chrono::duration<double> bucket_width() const noexcept { return m_width; }
  Clock::time_point origin() const noexcept { return m_origin; }
  // The bucket `t` falls in, and the middle of bucket `index` in seconds
  // since the origin.
  std::int64_t bucket_of(Clock::time_point t) const noexcept;
  double seconds_at(std::int64_t index) const noexcept { return (static_cast<double>(index) + 0.5) * m_width.count(); }

private:
  struct Hash
  {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  std::chrono::duration<double> m_window;
  std::chrono::duration<double> m_width;
  std::vector<std::string> m_expressions;
  Clock::time_point m_origin;
  std::vector<Series> m_series;
  // Topic -> series index per expression (npos: none yet).
  std::unordered_map<std::string, std::vector<std::size_t>, Hash, std::equal_to<>> m_index;
  std::size_t m_made = 0;
  std::deque<Alert> m_alerts;
  std::uint64_t m_alerts_total = 0;
  std::uint64_t m_dropped_values = 0;
};

} // namespace mqtk
