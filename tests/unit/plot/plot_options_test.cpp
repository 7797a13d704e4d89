#include <doctest/doctest.h>

#include "mqtk/plot/plot_options.hpp"
#include "mqtk/process/error.hpp"

#include <CLI/CLI.hpp>

using namespace std::chrono_literals;
using mqtk::PlotExpressions;
using mqtk::PlotOptions;
using mqtk::split_plot_list;

namespace {

std::string usage_error(const PlotOptions& o)
{
  try {
    PlotExpressions::compile(o);
  } catch (const mqtk::UsageError& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("plot options: --plot lists split at top-level commas only")
{
  using V = std::vector<std::string>;
  CHECK(split_plot_list(".ax,.ay,.az") == V{".ax", ".ay", ".az"});
  CHECK(split_plot_list(" .ax , .ay ") == V{".ax", ".ay"});
  CHECK(split_plot_list("sqrt(.ax*.ax+.ay*.ay+.az*.az)") == V{"sqrt(.ax*.ax+.ay*.ay+.az*.az)"});
  CHECK(split_plot_list("max(.ax,.ay),.az") == V{"max(.ax,.ay)", ".az"});
  CHECK(split_plot_list(R"(.["a,b"],.c)") == V{R"(.["a,b"])", ".c"});
  CHECK(split_plot_list(R"(topic == 'x,\'y',.d)") == V{R"(topic == 'x,\'y')", ".d"});
  CHECK_THROWS_WITH_AS(split_plot_list(".ax,,.ay"), "--plot: empty expression (item 2) in '.ax,,.ay'",
                       mqtk::UsageError);
  CHECK_THROWS_AS(split_plot_list(""), mqtk::UsageError);
  CHECK_THROWS_AS(split_plot_list(".a,"), mqtk::UsageError);
}

TEST_CASE("plot options: parsed flags and their checks")
{
  PlotOptions o;
  CLI::App app;
  mqtk::add_plot_options(app, o);
  app.parse("--plot .ax,.ay --plot sqrt(.az) --window 30 --ymin -12 --ymax 12 --plot-svg out.svg", false);
  CHECK(o.plot == std::vector<std::string>{".ax,.ay", "sqrt(.az)"});
  CHECK(o.window_seconds() == 30);
  auto p = PlotExpressions::compile(o);
  CHECK(p.texts() == std::vector<std::string>{".ax", ".ay", "sqrt(.az)"});

  PlotOptions bad;
  bad.svg = "x.svg";
  CHECK(usage_error(bad) == "--plot-svg needs --plot EXPR (the values to chart)");
  bad = {};
  bad.window = 5;
  CHECK(usage_error(bad) == "--window needs --plot EXPR (the values to chart)");
  bad = {};
  bad.plot = {".x"};
  bad.window = 0.5;
  CHECK(usage_error(bad) == "--window: expected seconds from 1 to 86400, not 0.5");
  bad.window = {};
  bad.ymin = 3;
  bad.ymax = 3;
  CHECK(usage_error(bad) == "--ymin (3) must be below --ymax (3)");
  bad = {};
  bad.plot = {".x >"};
  CHECK(usage_error(bad).rfind("--plot: ", 0) == 0);
  CHECK(usage_error(bad).find("column") != std::string::npos);
}

TEST_CASE("plot options: what a message gives each expression")
{
  PlotOptions o;
  o.plot = {".ax,.ok,.name,.missing,sqrt(.ax*.ax)"};
  auto p = PlotExpressions::compile(o);
  const auto t0 = mqtk::SeriesWindow::Clock::now();
  mqtk::SeriesWindow w(60s, p.texts(), t0);
  mqtk::MessageView m;
  m.topic = "lab/s1";
  m.payload = R"({"ax":-3,"ok":true,"name":"x"})";
  CHECK(p.record(m, w, t0 + 1s) == 3); // .ax, .ok (as 1) and sqrt; not the string nor the missing field
  REQUIRE(w.series().size() == 3);
  CHECK(w.series()[0].buckets[0].last == -3);
  CHECK(w.series()[1].expression == 1);
  CHECK(w.series()[1].buckets[0].last == 1);
  CHECK(w.series()[2].expression == 4);
  CHECK(w.series()[2].buckets[0].last == 3);
  m.payload = "not json";
  CHECK(p.record(m, w, t0 + 2s) == 0);
  PlotOptions plain;
  plain.plot = {"."};
  auto q = PlotExpressions::compile(plain);
  m.payload = "21.5";
  CHECK(q.record(m, w, t0 + 3s) == 1); // a plain number payload
}
