#include "mqtk/plot/series_window.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mqtk {

namespace {

constexpr std::size_t none = std::numeric_limits<std::size_t>::max();

} // namespace

SeriesWindow::SeriesWindow(std::chrono::duration<double> window, std::vector<std::string> expressions,
                           Clock::time_point origin)
  : m_window(window),
    m_width(window / static_cast<double>(buckets_per_window)),
    m_expressions(std::move(expressions)),
    m_origin(origin)
{
}

std::int64_t SeriesWindow::bucket_of(Clock::time_point t) const noexcept
{
  const std::chrono::duration<double> since = t - m_origin;
  return static_cast<std::int64_t>(std::floor(since / m_width));
}

void SeriesWindow::add(std::string_view topic, std::size_t expression, double value, Clock::time_point t)
{
  auto it = m_index.find(topic);
  if (it == m_index.end()) {
    it = m_index.emplace(std::string(topic), std::vector<std::size_t>(m_expressions.size(), none)).first;
  }
  std::size_t& slot = it->second[expression];
  if (slot == none) {
    if (m_series.size() >= max_series) {
      ++m_dropped_values;
      if (std::all_of(it->second.begin(), it->second.end(), [](std::size_t i) { return i == none; })) {
        m_index.erase(it); // keep the index bounded too
      }
      return;
    }
    slot = m_series.size();
    m_series.push_back(Series{std::string(topic), expression, m_made++, {}});
  }
  auto& buckets = m_series[slot].buckets;
  const std::int64_t index = bucket_of(t);
  if (buckets.empty() || buckets.back().index < index) {
    // A series never holds more than a window, whoever trims the rest.
    while (!buckets.empty() && buckets.front().index <= index - buckets_per_window) {
      buckets.pop_front();
    }
    buckets.push_back(Bucket{index, value, value, value, value, 1, true});
    return;
  }
  // Receiving times only grow; a value for an older bucket (a clock step)
  // joins the newest.
  Bucket& b = buckets.back();
  b.last = value;
  ++b.count;
  if (value < b.min) {
    b.min = value;
    b.min_first = false;
  } else if (value > b.max) {
    b.max = value;
    b.min_first = true;
  }
}

void SeriesWindow::add_alert(std::string_view topic, Clock::time_point t)
{
  // The topic only labels the mark in the SVG: a bounded prefix will do.
  m_alerts.push_back(Alert{bucket_of(t), std::string(topic.substr(0, max_alert_topic))});
  ++m_alerts_total;
  if (m_alerts.size() > max_alerts) {
    m_alerts.pop_front();
  }
}

void SeriesWindow::trim(Clock::time_point now)
{
  const std::int64_t oldest = bucket_of(now) - buckets_per_window + 1;
  bool emptied = false;
  for (auto& s : m_series) {
    while (!s.buckets.empty() && s.buckets.front().index < oldest) {
      s.buckets.pop_front();
    }
    emptied = emptied || s.buckets.empty();
  }
  while (!m_alerts.empty() && m_alerts.front().index < oldest) {
    m_alerts.pop_front();
  }
  if (!emptied) {
    return;
  }
  std::vector<Series> kept;
  kept.reserve(m_series.size());
  for (auto& s : m_series) {
    if (!s.buckets.empty()) {
      kept.push_back(std::move(s));
    }
  }
  m_series = std::move(kept);
  for (auto& [topic, slots] : m_index) {
    std::fill(slots.begin(), slots.end(), none);
  }
  for (std::size_t i = 0; i < m_series.size(); ++i) {
    m_index[m_series[i].topic][m_series[i].expression] = i;
  }
  std::erase_if(m_index, [](const auto& entry) {
    return std::all_of(entry.second.begin(), entry.second.end(), [](std::size_t i) { return i == none; });
  });
}

SeriesWindow::Stats SeriesWindow::stats(const Series& series) noexcept
{
  Stats s;
  if (series.buckets.empty()) {
    return s;
  }
  s.min = std::numeric_limits<double>::infinity();
  s.max = -s.min;
  for (const auto& b : series.buckets) {
    s.min = std::min(s.min, b.min);
    s.max = std::max(s.max, b.max);
    s.points += b.count;
  }
  s.current = series.buckets.back().last;
  return s;
}

bool SeriesWindow::range(double& lo, double& hi) const noexcept
{
  bool any = false;
  for (const auto& s : m_series) {
    if (s.buckets.empty()) {
      continue;
    }
    const Stats st = stats(s);
    lo = any ? std::min(lo, st.min) : st.min;
    hi = any ? std::max(hi, st.max) : st.max;
    any = true;
  }
  return any;
}

} // namespace mqtk
