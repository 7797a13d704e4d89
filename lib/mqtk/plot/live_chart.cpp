#include "mqtk/plot/live_chart.hpp"

#include "mqtk/plot/braille_canvas.hpp"
#include "mqtk/plot/chart_axes.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace mqtk {

namespace {

constexpr int min_cols = 40;
constexpr int min_rows = 10;
constexpr int min_chart_rows = 5;

// Display width of UTF-8 text (one column per character).
int width_of(std::string_view s)
{
  int w = 0;
  for (char c : s) {
    w += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  }
  return w;
}

// `s` cut to `width` columns, with "~" marking the cut.
std::string fit(std::string s, int width)
{
  if (width_of(s) <= width) {
    return s;
  }
  std::string out;
  int w = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80 && ++w > width - 1) {
      break;
    }
    out.push_back(s[i]);
  }
  return out + "~";
}

// The series' name in a legend.
std::string series_name(const SeriesWindow& data, const SeriesWindow::Series& s)
{
  return fmt::format("{}  {}", s.topic, data.expressions()[s.expression]);
}

} // namespace

void draw_chart(Screen& sc, const SeriesWindow& data, SeriesWindow::Clock::time_point now, const ChartLabels& labels)
{
  sc.clear();
  const int cols = sc.cols();
  const int rows = sc.rows();
  const bool u = sc.unicode();
  if (cols < min_cols || rows < min_rows) {
    sc.put(0, 0, cols >= 60 ? fmt::format("terminal too small for the chart ({}x{}, needs {}x{}); q quits", cols,
                                          rows, min_cols, min_rows)
                            : fmt::format("too small ({}x{}); q quits", cols, rows));
    sc.show();
    return;
  }
  sc.put(0, 0, fit(labels.title, cols - width_of(labels.state) - 2), true);
  sc.put(0, cols - width_of(labels.state) - 1, labels.state, true, labels.state_color);

  // Rows: title, chart, time axis, time labels, legend, keys.
  const auto& series = data.series();
  const int n = static_cast<int>(series.size());
  const int legend_room = std::max(1, rows - 5 - min_chart_rows);
  const int legend_rows = n == 0 ? 1 : n <= legend_room ? n : legend_room;
  const int chart_rows = rows - 4 - legend_rows;
  const int chart_top = 1;
  const int axis_row = chart_top + chart_rows;

  double lo = 0, hi = 0;
  const bool any = data.range(lo, hi);
  const AxisRange y = fit_range(any, lo, hi, labels.ymin, labels.ymax);
  double ystep = 1;
  const auto yticks = nice_ticks(y.lo, y.hi, std::max(2, chart_rows / 2 + 1), ystep);
  int label_width = 1;
  for (double v : yticks) {
    label_width = std::max(label_width, width_of(tick_label(v, ystep)));
  }
  label_width = std::min(label_width, 12);
  const int plot_left = label_width + 1;
  const int plot_cols = cols - plot_left;

  BrailleCanvas canvas(plot_cols, chart_rows, u);
  const int px_w = canvas.width();
  const int px_h = canvas.height();
  const double window = data.window().count();
  const double now_s = std::chrono::duration<double>(now - data.origin()).count();
  // A bucket's middle may lie a little past now.
  // Clamped as doubles: lround of a value far outside the range does not
  // fit an int.
  auto x_of = [&](double seconds) {
    seconds = std::min(seconds, now_s);
    const double x = (seconds - (now_s - window)) / window * (px_w - 1);
    return static_cast<int>(std::lround(std::clamp(x, -1.0, static_cast<double>(px_w))));
  };
  auto y_of = [&](double v) {
    const double f = (v - y.lo) / (y.hi - y.lo);
    const double row = (1 - f) * (px_h - 1);
    return std::isnan(row) ? 0 : static_cast<int>(std::lround(std::clamp(row, 0.0, px_h - 1.0)));
  };
  for (const auto& s : series) {
    const int color = series_color(s.color);
    bool have_prev = false;
    int prev_y = 0, prev_x = 0;
    std::size_t i = 0;
    while (i < s.buckets.size()) {
      // The buckets that fall on one pixel column.
      const int x = x_of(data.seconds_at(s.buckets[i].index));
      double cmin = s.buckets[i].min, cmax = s.buckets[i].max;
      const double first = s.buckets[i].first;
      double last = s.buckets[i].last;
      std::size_t j = i + 1;
      for (; j < s.buckets.size() && x_of(data.seconds_at(s.buckets[j].index)) == x; ++j) {
        cmin = std::min(cmin, s.buckets[j].min);
        cmax = std::max(cmax, s.buckets[j].max);
        last = s.buckets[j].last;
      }
      i = j;
      if (x < 0 || x >= px_w) {
        continue;
      }
      if (have_prev) {
        canvas.line(prev_x, prev_y, x, y_of(first), color);
      }
      canvas.line(x, y_of(cmin), x, y_of(cmax), color);
      have_prev = true;
      prev_x = x;
      prev_y = y_of(last);
    }
  }
  for (int r = 0; r < chart_rows; ++r) {
    for (int c = 0; c < plot_cols; ++c) {
      const std::string cell = canvas.cell(c, r);
      if (!cell.empty()) {
        sc.put(chart_top + r, plot_left + c, cell, false, canvas.cell_color(c, r));
      }
    }
  }

  // The y axis and its labels.
  for (int r = 0; r < chart_rows; ++r) {
    sc.put(chart_top + r, label_width, u ? "\u2502" : "|");
  }
  const int dots_y = px_h / std::max(1, chart_rows);
  for (double v : yticks) {
    const int r = y_of(v) / std::max(1, dots_y);
    std::string text = tick_label(v, ystep);
    if (width_of(text) > label_width) {
      text = fit(text, label_width);
    }
    sc.put(chart_top + r, label_width - width_of(text), text);
    sc.put(chart_top + r, label_width, u ? "\u2524" : "+");
  }

  // The time axis: ticks, alerts, labels.
  std::string axis = u ? "\u2514" : "+";
  for (int c = 0; c < plot_cols; ++c) {
    axis += u ? "\u2500" : "-";
  }
  sc.put(axis_row, label_width, axis);
  double tstep = 1;
  const auto tticks = nice_ticks(-window, 0, std::max(2, plot_cols / 10 + 1), tstep);
  const int dots_x = px_w / std::max(1, plot_cols);
  auto col_of = [&](double seconds_from_now) {
    return plot_left + std::clamp(x_of(now_s + seconds_from_now) / std::max(1, dots_x), 0, plot_cols - 1);
  };
  int next_free = 0;
  for (double t : tticks) {
    const int c = col_of(t);
    sc.put(axis_row, c, u ? "\u252c" : "+");
    // One unit along the axis: minutes when every tick is a whole minute.
    const bool minutes = tstep >= 60 && std::fmod(tstep, 60) == 0;
    const std::string text = t == 0   ? std::string("now")
                             : minutes ? fmt::format("{}m", tick_label(t / 60, tstep / 60))
                                       : fmt::format("{}s", tick_label(t, tstep));
    const int w = width_of(text);
    const int at = std::clamp(c - w / 2, 0, cols - w);
    if (at >= next_free) {
      sc.put(axis_row + 1, at, text);
      next_free = at + w + 1;
    }
  }
  for (const auto& a : data.alerts()) {
    const double t = data.seconds_at(a.index) - now_s;
    if (t >= -window && t <= 0) {
      sc.put(axis_row, col_of(t), u ? "\u25b2" : "^", true, Screen::bad);
    }
  }

  // The legend.
  int row = axis_row + 2;
  if (n == 0) {
    sc.put(row, 0, "no values yet: waiting for messages whose --plot expressions give a number");
  }
  int name_width = 0;
  for (const auto& s : series) {
    name_width = std::max(name_width, width_of(series_name(data, s)));
  }
  name_width = std::min(name_width, std::max(8, cols - 3 - 48));
  const int shown = n <= legend_rows ? n : legend_rows - 1;
  for (int i = 0; i < shown; ++i) {
    const auto& s = series[static_cast<std::size_t>(i)];
    const auto st = SeriesWindow::stats(s);
    sc.put(row, 0, u ? "\u2501\u2501" : "--", true, series_color(s.color));
    std::string figures = fmt::format("now {:>10}  min {:>10}  max {:>10}", value_label(st.current),
                                      value_label(st.min), value_label(st.max));
    if (cols < 3 + 8 + 2 + width_of(figures)) {
      // Narrow: the figures without padding, the name cut to what is left.
      figures = fmt::format("now {} min {} max {}", value_label(st.current), value_label(st.min),
                            value_label(st.max));
    }
    const int room = std::max(4, std::min(name_width, cols - 3 - 2 - width_of(figures)));
    std::string name = fit(series_name(data, s), room);
    name.append(static_cast<std::size_t>(std::max(0, room - width_of(name))), ' ');
    sc.put(row, 3, fmt::format("{}  {}", name, figures));
    ++row;
  }
  if (shown < n) {
    sc.put(row, 0, fmt::format("+{} more series", n - shown));
  }

  std::string keys = labels.keys;
  if (!labels.footer.empty()) {
    keys += "   " + labels.footer;
  }
  sc.put(rows - 1, 0, fit(keys, cols - 1));
  sc.show();
}

LiveChart::LiveChart(std::unique_ptr<Screen> screen)
  : m_screen(std::move(screen))
{
}

bool LiveChart::take_keys(const SeriesWindow& data, SeriesWindow::Clock::time_point now)
{
  for (int c = m_screen->key(); c != -1; c = m_screen->key()) {
    if (c == 'q' || c == 'Q' || c == 27) {
      m_quit = true;
    } else if (c == ' ') {
      if (m_frozen) {
        m_frozen.reset();
      } else {
        m_frozen.emplace(data);
        m_frozen_at = now;
      }
    }
  }
  return m_quit;
}

void LiveChart::draw(const SeriesWindow& data, SeriesWindow::Clock::time_point now, ChartLabels labels)
{
  if (m_frozen) {
    labels.state = "PAUSED";
    labels.state_color = Screen::warning;
    labels.keys = "q quit  space resume";
    draw_chart(*m_screen, *m_frozen, m_frozen_at, labels);
  } else {
    draw_chart(*m_screen, data, now, labels);
  }
}

} // namespace mqtk
