#pragma once

#include "mqtk/plot/series_window.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace mqtk {

// What an SVG chart says besides its data.
struct SvgLabels
{
  std::string title;                          // e.g. "mqtk-sub  lab/+/accel"
  std::chrono::system_clock::time_point end;  // wall-clock time of `now`
  std::optional<double> ymin, ymax;           // --ymin, --ymax
};

// `data` as of `now` as a standalone SVG document (UTF-8) for a browser or
// a report: the title and the wall-clock span, a plot area with a grid,
// round values on the y axis and "time (s)" on the x axis, from the oldest
// value kept (at most the window before `now`) to `now`; one <path
// class="series"> per series in its own colour (the minimum, maximum, first
// and last value of each time bucket, so a fast signal keeps its envelope),
// each alert as a red dashed line, and a legend with each series' topic,
// expression, last, minimum and maximum value. Machine-readable too:
// data-* attributes give the plot area's box and the time and value each
// of its edges stands for, and each path's topic, expression, minimum,
// maximum and number of values.
std::string svg_chart(const SeriesWindow& data, SeriesWindow::Clock::time_point now, const SvgLabels& labels);

} // namespace mqtk
