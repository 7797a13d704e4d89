#include <doctest/doctest.h>

#include "mqtk/plot/series_window.hpp"

#include <string>

using namespace std::chrono_literals;
using mqtk::SeriesWindow;

TEST_CASE("series window: one series per topic and expression, with min, max and current")
{
  const auto t0 = SeriesWindow::Clock::now();
  SeriesWindow w(60s, {".ax", ".az"}, t0);
  w.add("lab/s1/accel", 0, 1.5, t0 + 1s);
  w.add("lab/s1/accel", 0, -2.0, t0 + 2s);
  w.add("lab/s1/accel", 0, 0.5, t0 + 3s);
  w.add("lab/s2/accel", 0, 7.0, t0 + 3s);
  w.add("lab/s1/accel", 1, 9.81, t0 + 3s);
  REQUIRE(w.series().size() == 3);
  CHECK(w.series()[0].topic == "lab/s1/accel");
  CHECK(w.series()[0].expression == 0);
  CHECK(w.series()[1].topic == "lab/s2/accel");
  CHECK(w.series()[2].expression == 1);
  const auto s = SeriesWindow::stats(w.series()[0]);
  CHECK(s.min == -2.0);
  CHECK(s.max == 1.5);
  CHECK(s.current == 0.5);
  CHECK(s.points == 3);
  double lo = 0, hi = 0;
  REQUIRE(w.range(lo, hi));
  CHECK(lo == -2.0);
  CHECK(hi == 9.81);
}

TEST_CASE("series window: values in one time bucket keep their envelope and order")
{
  const auto t0 = SeriesWindow::Clock::now();
  SeriesWindow w(60s, {"."}, t0);
  CHECK(w.bucket_width().count() == doctest::Approx(60.0 / SeriesWindow::buckets_per_window));
  // All within the first bucket (30 ms wide).
  w.add("t", 0, 1, t0 + 1ms);
  w.add("t", 0, 5, t0 + 2ms);
  w.add("t", 0, -3, t0 + 3ms);
  w.add("t", 0, 2, t0 + 4ms);
  REQUIRE(w.series()[0].buckets.size() == 1);
  const auto& b = w.series()[0].buckets[0];
  CHECK(b.first == 1);
  CHECK(b.last == 2);
  CHECK(b.min == -3);
  CHECK(b.max == 5);
  CHECK(b.count == 4);
  CHECK_FALSE(b.min_first); // the maximum (5) came before the minimum (-3)
  w.add("t", 0, 0, t0 + 40ms);
  CHECK(w.series()[0].buckets.size() == 2);
}

TEST_CASE("series window: memory is bounded by the window, not the message rate")
{
  const auto t0 = SeriesWindow::Clock::now();
  SeriesWindow w(10s, {"."}, t0);
  // 100 000 values over 100 s: ten windows.
  for (int i = 0; i < 100000; ++i) {
    w.add("t", 0, i, t0 + std::chrono::microseconds(i * 1000));
  }
  const auto now = t0 + 100s;
  w.trim(now);
  REQUIRE(w.series().size() == 1);
  CHECK(w.series()[0].buckets.size() <= static_cast<std::size_t>(SeriesWindow::buckets_per_window));
  const auto s = SeriesWindow::stats(w.series()[0]);
  // Only the last 10 s remain (to within a bucket).
  CHECK(s.min >= 89990);
  CHECK(s.min <= 90010);
  CHECK(s.max == 99999);
  CHECK(s.points <= 10010);
}

TEST_CASE("series window: a series that received nothing for a window is dropped")
{
  const auto t0 = SeriesWindow::Clock::now();
  SeriesWindow w(5s, {"."}, t0);
  w.add("gone", 0, 1, t0 + 1s);
  w.add("here", 0, 2, t0 + 1s);
  w.add("here", 0, 3, t0 + 9s);
  w.add_alert("gone", t0 + 1s);
  w.add_alert("here", t0 + 9s);
  w.trim(t0 + 10s);
  REQUIRE(w.series().size() == 1);
  CHECK(w.series()[0].topic == "here");
  CHECK(w.series()[0].color == 1); // colours stay with their series
  CHECK(w.alerts().size() == 1);
  CHECK(w.alerts_total() == 2);
  // The dropped one comes back as a new series.
  w.add("gone", 0, 4, t0 + 10s);
  CHECK(w.series().size() == 2);
  CHECK(w.series()[1].color == 2);
}

TEST_CASE("series window: at most max_series series; later values are counted")
{
  const auto t0 = SeriesWindow::Clock::now();
  SeriesWindow w(60s, {"."}, t0);
  for (std::size_t i = 0; i < SeriesWindow::max_series + 5; ++i) {
    w.add("t/" + std::to_string(i), 0, 1.0, t0 + 1s);
  }
  CHECK(w.series().size() == SeriesWindow::max_series);
  CHECK(w.dropped_values() == 5);
  w.add("t/0", 0, 2.0, t0 + 2s); // an existing series still takes values
  CHECK(w.dropped_values() == 5);
}

TEST_CASE("series window: alert marks are bounded")
{
  const auto t0 = SeriesWindow::Clock::now();
  SeriesWindow w(60s, {"."}, t0);
  for (std::size_t i = 0; i < SeriesWindow::max_alerts + 10; ++i) {
    w.add_alert("t", t0 + 1s);
  }
  CHECK(w.alerts().size() == SeriesWindow::max_alerts);
  CHECK(w.alerts_total() == SeriesWindow::max_alerts + 10);
}

TEST_CASE("series window: a series never holds more than a window, even untrimmed")
{
  const auto t0 = SeriesWindow::Clock::now();
  SeriesWindow w(1s, {"."}, t0);
  for (int i = 0; i < 20000; ++i) {
    w.add("t", 0, i, t0 + std::chrono::milliseconds(i)); // 20 s, never trimmed
  }
  CHECK(w.series()[0].buckets.size() <= static_cast<std::size_t>(SeriesWindow::buckets_per_window));
  CHECK(SeriesWindow::stats(w.series()[0]).min >= 18999);
}
