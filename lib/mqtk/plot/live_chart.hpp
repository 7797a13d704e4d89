#pragma once

#include "mqtk/plot/series_window.hpp"
#include "mqtk/terminal/screen.hpp"

#include <memory>
#include <optional>
#include <string>

namespace mqtk {

// What a chart says besides its data.
struct ChartLabels
{
  std::string title;            // left of the first line
  std::string state = "live";   // right of the first line
  int state_color = Screen::good;
  std::optional<double> ymin, ymax; // --ymin, --ymax
  std::string keys = "q quit  space pause"; // the last line
  std::string footer;           // on the last line, after the keys
};

// Draws `data` as of `now` over the whole screen: the title line, the chart
// (braille dots on UTF-8 terminals; a y axis with round values, a time axis
// from -window to now, alerts as red marks on the time axis), one legend
// line per series (colour, topic, expression, current, minimum and maximum;
// as many as fit beside a chart of at least 5 rows, then "+N more") and the
// keys. Fits any size from 40x10; below it says the terminal is too small.
void draw_chart(Screen& screen, const SeriesWindow& data, SeriesWindow::Clock::time_point now,
                const ChartLabels& labels);

// mqtk-sub's live chart: the screen, the keys (q, Q or Escape quit, space
// pauses and resumes) and the picture kept while paused.
class LiveChart
{
public:
  explicit LiveChart(std::unique_ptr<Screen> screen);

  // Takes the keys pressed since the last call; pausing keeps a copy of
  // `data` as it is at `now`. Returns true once a quit key was pressed.
  bool take_keys(const SeriesWindow& data, SeriesWindow::Clock::time_point now);

  bool paused() const noexcept { return m_frozen.has_value(); }

  // Draws `data` at `now`, or while paused the copy taken when pausing.
  void draw(const SeriesWindow& data, SeriesWindow::Clock::time_point now, ChartLabels labels);

private:
  std::unique_ptr<Screen> m_screen;
  std::optional<SeriesWindow> m_frozen;
  SeriesWindow::Clock::time_point m_frozen_at{};
  bool m_quit = false;
};

} // namespace mqtk
