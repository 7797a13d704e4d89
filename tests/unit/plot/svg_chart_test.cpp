#include <doctest/doctest.h>

#include "mqtk/plot/svg_chart.hpp"

#include <regex>
#include <string>

using namespace std::chrono_literals;
using mqtk::SeriesWindow;

namespace {

std::size_t count(const std::string& text, const std::string& what)
{
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) {
    ++n;
  }
  return n;
}

} // namespace

TEST_CASE("svg chart: one path per series, legend, alerts, axes in seconds")
{
  const auto t0 = SeriesWindow::Clock::now();
  SeriesWindow w(60s, {".ax", "sqrt(.ax*.ax) > 1"}, t0);
  for (int i = 0; i < 100; ++i) {
    const auto t = t0 + std::chrono::milliseconds(100 * i);
    w.add("lab/<s1>/accel", 0, i == 50 ? 7.5 : 0.0, t);
    w.add("lab/<s1>/accel", 1, i == 50 ? 1 : 0, t);
  }
  w.add_alert("lab/<s1>/accel", t0 + 5s);
  mqtk::SvgLabels labels;
  labels.title = "mqtk-sub  localhost:1883  lab/+/accel & more";
  labels.end = std::chrono::system_clock::now();
  const std::string svg = mqtk::svg_chart(w, t0 + 10s, labels);
  CHECK(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.substr(svg.size() - 7) == "</svg>\n");
  CHECK(count(svg, "<path class=\"series\"") == 2);
  CHECK(count(svg, "<line class=\"alert\"") == 1);
  // Text is escaped.
  CHECK(svg.find("lab/&lt;s1&gt;/accel") != std::string::npos);
  CHECK(svg.find("lab/+/accel &amp; more") != std::string::npos);
  CHECK(svg.find("sqrt(.ax*.ax) &gt; 1") != std::string::npos);
  CHECK(svg.find("<s1>") == std::string::npos);
  CHECK(svg.find("time (s)") != std::string::npos);
  CHECK(svg.find("data-min=\"0\" data-max=\"7.5\"") != std::string::npos);
  CHECK(svg.find("data-points=\"100\"") != std::string::npos);
  // The x axis spans the data kept: about 10 s (from 0 s to 9.9 s plus half a bucket).
  std::smatch m;
  REQUIRE(std::regex_search(svg, m, std::regex(R"re(data-time-to="([0-9.]+)")re")));
  CHECK(std::stod(m[1]) == doctest::Approx(10.0).epsilon(0.01));
  // Every point of a path lies inside the plot area.
  REQUIRE(std::regex_search(svg, m, std::regex(R"re(d="(M[^"]+)")re")));
  const std::string d = m[1];
  const std::regex point(R"(([0-9.]+),([0-9.]+))");
  int points = 0;
  for (auto it = std::sregex_iterator(d.begin(), d.end(), point); it != std::sregex_iterator(); ++it) {
    const double x = std::stod((*it)[1]);
    const double y = std::stod((*it)[2]);
    CHECK(x >= 80);
    CHECK(x <= 920);
    CHECK(y >= 64);
    CHECK(y <= 444);
    ++points;
  }
  CHECK(points >= 100);
}

TEST_CASE("svg chart: no data still makes a document that says so")
{
  const auto t0 = SeriesWindow::Clock::now();
  SeriesWindow w(60s, {".x"}, t0);
  mqtk::SvgLabels labels;
  labels.title = "t";
  const std::string svg = mqtk::svg_chart(w, t0 + 5s, labels);
  CHECK(svg.find("no values received") != std::string::npos);
  CHECK(count(svg, "<path") == 0);
  CHECK(svg.substr(svg.size() - 7) == "</svg>\n");
}

TEST_CASE("svg chart: bytes that are not UTF-8 and huge values still make a valid document")
{
  const auto t0 = SeriesWindow::Clock::now();
  SeriesWindow w(60s, {".s == \"\xff\xfe\"", "\xef\xbf\xbe"}, t0);
  w.add("t", 0, 1e308, t0 + 1s);
  w.add("t", 0, -1e308, t0 + 2s);
  w.add("t", 1, 5, t0 + 1s); // one value: still drawn (as a dot)
  mqtk::SvgLabels labels;
  labels.title = "t";
  const std::string svg = mqtk::svg_chart(w, t0 + 3s, labels);
  CHECK(svg.find('\xff') == std::string::npos);
  CHECK(svg.find("\xef\xbf\xbe") == std::string::npos); // U+FFFE is not XML
  CHECK(svg.find("\xef\xbf\xbd") != std::string::npos); // U+FFFD in their place
  CHECK(svg.find("nan,") == std::string::npos); // ("dominant-baseline" has "nan" in it)
  CHECK(svg.find("-nan") == std::string::npos);
  CHECK(svg.find("\"nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
  std::smatch m;
  const std::regex lone(R"re(data-points="1"[^>]* d="M([0-9.]+,[0-9.]+) L([0-9.]+,[0-9.]+)")re");
  REQUIRE(std::regex_search(svg, m, lone));
  CHECK(m[1] == m[2]);
}
