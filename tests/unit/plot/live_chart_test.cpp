#include <doctest/doctest.h>

#include "mqtk/plot/live_chart.hpp"

#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using mqtk::SeriesWindow;

namespace {

// A terminal that keeps what is drawn as lines of cells.
class RecordingScreen final : public mqtk::Screen
{
public:
  RecordingScreen(int rows, int cols, bool unicode)
    : m_rows(rows),
      m_cols(cols),
      m_unicode(unicode)
  {
    clear();
  }
  int rows() const noexcept override { return m_rows; }
  int cols() const noexcept override { return m_cols; }
  bool colors() const noexcept override { return true; }
  bool unicode() const noexcept override { return m_unicode; }
  int key() noexcept override
  {
    if (keys.empty()) {
      return -1;
    }
    int k = keys.front();
    keys.erase(keys.begin());
    return k;
  }
  void clear() noexcept override
  {
    cells.assign(static_cast<std::size_t>(m_rows), std::vector<std::string>(static_cast<std::size_t>(m_cols), " "));
    colors_at.assign(static_cast<std::size_t>(m_rows), std::vector<int>(static_cast<std::size_t>(m_cols), 0));
  }
  void put(int row, int col, std::string_view text, bool, int color) noexcept override
  {
    if (row < 0 || row >= m_rows) {
      return;
    }
    for (std::size_t i = 0; i < text.size() && col < m_cols;) {
      std::size_t n = 1;
      while (i + n < text.size() && (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80) {
        ++n;
      }
      if (col >= 0) {
        cells[static_cast<std::size_t>(row)][static_cast<std::size_t>(col)] = std::string(text.substr(i, n));
        colors_at[static_cast<std::size_t>(row)][static_cast<std::size_t>(col)] = color;
      }
      ++col;
      i += n;
    }
  }
  void show() noexcept override { ++shown; }

  std::string line(int row) const
  {
    std::string s;
    for (const auto& c : cells[static_cast<std::size_t>(row)]) {
      s += c;
    }
    return s;
  }
  std::vector<std::string> lines() const
  {
    std::vector<std::string> out;
    for (int r = 0; r < m_rows; ++r) {
      out.push_back(line(r));
    }
    return out;
  }

  std::vector<int> keys;
  std::vector<std::vector<std::string>> cells;
  std::vector<std::vector<int>> colors_at;
  int shown = 0;

private:
  int m_rows, m_cols;
  bool m_unicode;
};

SeriesWindow sample(SeriesWindow::Clock::time_point t0)
{
  SeriesWindow w(60s, {".ax", ".az"}, t0);
  for (int i = 0; i < 300; ++i) {
    const auto t = t0 + std::chrono::milliseconds(100 * i);
    w.add("lab/s1/accel", 0, i % 50 == 0 ? 7.5 : 0.01 * (i % 5), t);
    w.add("lab/s1/accel", 1, 9.81, t);
    w.add("lab/s2/accel", 0, -0.04, t);
  }
  w.add_alert("lab/s1/accel", t0 + 10s);
  return w;
}

} // namespace

TEST_CASE("live chart: title, axes, legend with current, minimum and maximum, keys, in 80x24")
{
  const auto t0 = SeriesWindow::Clock::now();
  const auto w = sample(t0);
  RecordingScreen s(24, 80, true);
  mqtk::ChartLabels labels;
  labels.title = "mqtk-sub  localhost:1883  lab/+/accel";
  labels.footer = "window 60 s";
  mqtk::draw_chart(s, w, t0 + 30s, labels);
  const auto lines = s.lines();
  CHECK(lines[0].rfind("mqtk-sub  localhost:1883  lab/+/accel", 0) == 0);
  CHECK(lines[0].substr(lines[0].size() - 5) == "live ");
  CHECK(lines[23].rfind("q quit  space pause   window 60 s", 0) == 0);
  // Three legend lines, in the order the series appeared.
  const std::regex entry(R"(^━━ (\S+)  (\S+) +now +(\S+)  min +(\S+)  max +(\S+))");
  std::smatch m;
  REQUIRE(std::regex_search(lines[20], m, entry));
  CHECK(m[1] == "lab/s1/accel");
  CHECK(m[2] == ".ax");
  CHECK(m[3] == "0.04");
  CHECK(m[4] == "0");
  CHECK(m[5] == "7.5");
  REQUIRE(std::regex_search(lines[21], m, entry));
  CHECK(m[2] == ".az");
  CHECK(m[4] == "9.81");
  REQUIRE(std::regex_search(lines[22], m, entry));
  CHECK(m[1] == "lab/s2/accel");
  CHECK(m[5] == "-0.04");
  // The legend's colour marks differ per series.
  CHECK(s.colors_at[20][0] != s.colors_at[22][0]);
  // The time axis runs from -60s to now, with the alert marked in red.
  CHECK(lines[19].find("-60s") != std::string::npos);
  CHECK(lines[19].find("now") != std::string::npos);
  const auto alert = lines[18].find("▲");
  REQUIRE(alert != std::string::npos);
  // Braille dots in the chart area, nothing past the screen's width.
  int dots = 0;
  for (int r = 1; r < 18; ++r) {
    for (const auto& c : s.cells[static_cast<std::size_t>(r)]) {
      dots += c.size() == 3 && c[0] == '\xE2' && (c[1] & 0xFC) == 0xA0 ? 1 : 0;
    }
  }
  CHECK(dots > 20);
  // The y axis shows round values covering 9.81 and -0.04.
  bool has_zero = false;
  for (int r = 1; r < 18; ++r) {
    has_zero = has_zero || lines[static_cast<std::size_t>(r)].find(" 0┤") != std::string::npos;
  }
  CHECK(has_zero);
  CHECK(s.shown == 1);
}

TEST_CASE("live chart: the data scrolls left as time passes and leaves after a window")
{
  const auto t0 = SeriesWindow::Clock::now();
  SeriesWindow w(60s, {"."}, t0);
  w.add("t", 0, 1, t0 + 1s);
  w.add("t", 0, 2, t0 + 2s);
  RecordingScreen s(24, 80, true);
  auto first_dot_col = [&] {
    for (int c = 0; c < 80; ++c) {
      for (int r = 1; r < 20; ++r) {
        const auto& cell = s.cells[static_cast<std::size_t>(r)][static_cast<std::size_t>(c)];
        if (cell.size() == 3 && (cell[1] & 0xFC) == 0xA0) {
          return c;
        }
      }
    }
    return -1;
  };
  mqtk::draw_chart(s, w, t0 + 3s, {});
  const int at3 = first_dot_col();
  mqtk::draw_chart(s, w, t0 + 30s, {});
  const int at30 = first_dot_col();
  CHECK(at3 > 60);
  CHECK(at30 < at3);
  CHECK(at30 > 20);
  w.trim(t0 + 65s);
  mqtk::draw_chart(s, w, t0 + 65s, {});
  CHECK(first_dot_col() == -1);
  CHECK(s.line(22).find("no values yet") != std::string::npos);
}

TEST_CASE("live chart: many series, small and ASCII terminals")
{
  const auto t0 = SeriesWindow::Clock::now();
  SeriesWindow w(60s, {"."}, t0);
  for (int i = 0; i < 30; ++i) {
    w.add("t/" + std::to_string(i), 0, i, t0 + 1s);
  }
  RecordingScreen s(24, 80, false);
  mqtk::draw_chart(s, w, t0 + 2s, {});
  const auto lines = s.lines();
  // A chart of at least 5 rows is kept; the legend ends with the rest.
  CHECK(lines[23 - 1].find("more series") != std::string::npos);
  CHECK(lines[1].find_first_of("|+") != std::string::npos);
  for (const auto& l : lines) {
    CHECK(l.size() == 80); // ASCII only: one byte per cell
  }
  RecordingScreen tiny(8, 30, true);
  mqtk::draw_chart(tiny, w, t0 + 2s, {});
  CHECK(tiny.line(0).find("too small (30x8); q quits") == 0);
}

TEST_CASE("live chart: space pauses on a copy, q quits")
{
  const auto t0 = SeriesWindow::Clock::now();
  SeriesWindow w(60s, {"."}, t0);
  w.add("t", 0, 1, t0 + 1s);
  auto screen = std::make_unique<RecordingScreen>(24, 80, true);
  auto* s = screen.get();
  mqtk::LiveChart chart(std::move(screen));
  s->keys = {' '};
  CHECK_FALSE(chart.take_keys(w, t0 + 2s));
  CHECK(chart.paused());
  w.add("t", 0, 50, t0 + 3s); // arrives while paused: not shown
  chart.draw(w, t0 + 4s, {});
  CHECK(s->line(0).find("PAUSED") != std::string::npos);
  CHECK(s->line(23).rfind("q quit  space resume", 0) == 0);
  CHECK(s->line(22).find("max          1") != std::string::npos);
  s->keys = {' '};
  CHECK_FALSE(chart.take_keys(w, t0 + 5s));
  chart.draw(w, t0 + 5s, {});
  CHECK(s->line(22).find("max         50") != std::string::npos);
  s->keys = {'x', 'q'};
  CHECK(chart.take_keys(w, t0 + 6s));
}

TEST_CASE("live chart: values far outside --ymin/--ymax sit on the edge; huge values keep the axis finite")
{
  const auto t0 = SeriesWindow::Clock::now();
  SeriesWindow w(60s, {"."}, t0);
  w.add("t", 0, -57266230, t0 + 1s);
  w.add("t", 0, -1e300, t0 + 2s);
  RecordingScreen s(24, 80, true);
  mqtk::ChartLabels labels;
  labels.ymin = 0;
  labels.ymax = 1;
  mqtk::draw_chart(s, w, t0 + 3s, labels);
  // Every dot on the bottom row of the chart (row 19 at 80x24 with one series).
  for (int r = 1; r < 19; ++r) {
    for (int c = 3; c < 80; ++c) {
      const auto& cell = s.cells[static_cast<std::size_t>(r)][static_cast<std::size_t>(c)];
      CHECK_FALSE((cell.size() == 3 && (cell[1] & 0xFC) == 0xA0));
    }
  }
  SeriesWindow huge(60s, {"."}, t0);
  huge.add("t", 0, 1e308, t0 + 1s);
  huge.add("t", 0, -1e308, t0 + 2s);
  mqtk::draw_chart(s, huge, t0 + 3s, {});
  bool labelled = false;
  for (int r = 1; r < 19; ++r) {
    labelled = labelled || s.line(r).find("\u2524") != std::string::npos;
  }
  CHECK(labelled);
}

TEST_CASE("live chart: one unit along the time axis; a narrow terminal keeps the figures")
{
  const auto t0 = SeriesWindow::Clock::now();
  for (const auto window : {600s, 3600s}) {
    SeriesWindow w(window, {"."}, t0);
    w.add("t", 0, 1, t0 + 1s);
    RecordingScreen s(24, 80, true);
    mqtk::draw_chart(s, w, t0 + 2s, {});
    const std::string axis = s.line(21);
    CAPTURE(axis);
    CHECK(axis.find("now") != std::string::npos);
    // Every label but "now" in the same unit.
    std::set<char> units;
    std::istringstream words(axis);
    for (std::string word; words >> word;) {
      if (word != "now") {
        units.insert(word.back());
      }
    }
    CHECK(units.size() == 1);
  }
  SeriesWindow w(60s, {".ax"}, t0);
  w.add("lab/s1/accel", 0, -7.697, t0 + 1s);
  RecordingScreen narrow(12, 44, true);
  mqtk::draw_chart(narrow, w, t0 + 2s, {});
  CAPTURE(narrow.line(10));
  CHECK(narrow.line(10).find("max -7.697") != std::string::npos);
}
