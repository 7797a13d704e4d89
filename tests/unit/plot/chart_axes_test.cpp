#include <doctest/doctest.h>

#include "mqtk/plot/chart_axes.hpp"

using mqtk::fit_range;
using mqtk::nice_ticks;
using mqtk::tick_label;

TEST_CASE("chart axes: the y range fits the data, or the fixed ends")
{
  auto r = fit_range(true, 0, 10, {}, {});
  CHECK(r.lo == doctest::Approx(-0.5));
  CHECK(r.hi == doctest::Approx(10.5));
  r = fit_range(true, 9.81, 9.81, {}, {}); // a constant: widened around it
  CHECK(r.lo < 9.81);
  CHECK(r.hi > 9.81);
  r = fit_range(true, 0, 0, {}, {});
  CHECK(r.lo == -1);
  CHECK(r.hi == 1);
  r = fit_range(false, 0, 0, {}, {});
  CHECK((r.lo == 0 && r.hi == 1));
  r = fit_range(true, -3, 3, -10.0, 10.0);
  CHECK((r.lo == -10 && r.hi == 10));
  r = fit_range(true, 50, 60, {}, 20.0); // --ymax below the data: still lo < hi
  CHECK(r.hi == 20);
  CHECK(r.lo < 20);
  r = fit_range(true, -5, -4, 0.0, {});
  CHECK(r.lo == 0);
  CHECK(r.hi > 0);
}

TEST_CASE("chart axes: round ticks and their labels")
{
  double step = 0;
  auto t = nice_ticks(-0.5, 10.5, 6, step);
  CHECK(step == 2);
  CHECK(t == std::vector<double>{0, 2, 4, 6, 8, 10});
  t = nice_ticks(-60, 0, 7, step);
  CHECK(step == 10);
  CHECK(t.front() == -60);
  CHECK(t.back() == 0);
  t = nice_ticks(9.7, 9.9, 5, step);
  CHECK(step == doctest::Approx(0.05));
  CHECK(t.size() == 5);
  CHECK(tick_label(t[0], step) == "9.70");
  CHECK(tick_label(-1.5, 0.5) == "-1.5");
  CHECK(tick_label(1200, 200) == "1200");
  CHECK(tick_label(0, 0.1) == "0.0");
  CHECK(tick_label(2e6, 1e6) == "2e+06");
  CHECK(nice_ticks(1, 1, 5, step).empty());
  for (double v : nice_ticks(-1e-9, 1e-9, 5, step)) {
    CHECK(tick_label(v, step).find("nan") == std::string::npos);
  }
  CHECK(mqtk::value_label(9.76001) == "9.76001");
  CHECK(mqtk::value_label(-0.05) == "-0.05");
}
