#include "mqtk/plot/svg_chart.hpp"

#include "mqtk/plot/chart_axes.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <iterator>

#include <fmt/format.h>

// Written by hand rather than with a drawing library: Debian's cairo writes
// text as glyph outlines and coordinates under its own transforms (so the
// file could not say which path is which series, nor be checked), and
// brings X11 and fontconfig with it; a chart is a few dozen elements.

namespace mqtk {

namespace {

constexpr int width = 960;
constexpr int plot_x = 80;
constexpr int plot_y = 64;
constexpr int plot_w = 840;
constexpr int plot_h = 380;
constexpr int legend_row = 20;

// Category colours (Tableau 10, red left out: it marks alerts).
constexpr const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
                                   "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr const char* alert_color = "#d62728";

// The length of the UTF-8 sequence at text[i] that XML 1.0 allows (not a
// surrogate, U+FFFE or U+FFFF), or 0.
std::size_t xml_char_length(std::string_view text, std::size_t i)
{
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = b(i);
  std::size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || i + n > text.size()) {
    return 0;
  }
  std::uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1Fu : n == 3 ? c & 0x0Fu : c & 0x07u;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (b(i + k) & 0x3Fu);
  }
  const std::uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF) {
    return 0;
  }
  return n;
}

std::string xml(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = xml_char_length(text, i);
    if (n == 0) {
      out += "\uFFFD"; // not UTF-8 (an expression can hold any bytes)
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    const char c = text[i++];
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    default:
      // Control characters are not allowed in XML 1.0.
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') {
        out += ' ';
      } else {
        out += c;
      }
    }
  }
  return out;
}

std::string wall_text(std::chrono::system_clock::time_point t)
{
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

} // namespace

std::string svg_chart(const SeriesWindow& data, SeriesWindow::Clock::time_point now, const SvgLabels& labels)
{
  const auto& series = data.series();
  const double now_s = std::chrono::duration<double>(now - data.origin()).count();
  // From the oldest value kept, at most a window back.
  double from_s = now_s;
  for (const auto& s : series) {
    if (!s.buckets.empty()) {
      from_s = std::min(from_s, data.seconds_at(s.buckets.front().index));
    }
  }
  from_s = std::max(from_s, now_s - data.window().count());
  double span = now_s - from_s;
  if (span < 1) {
    span = 1;
    from_s = now_s - span;
  }
  double lo = 0, hi = 0;
  const bool any = data.range(lo, hi);
  const AxisRange y = fit_range(any, lo, hi, labels.ymin, labels.ymax);
  // A bucket's middle may lie a little past now, or before the first value.
  auto px = [&](double seconds) {
    return plot_x + (std::clamp(seconds, from_s, now_s) - from_s) / span * plot_w;
  };
  // Far outside a fixed range stays a little outside the plot area (cut
  // off by its clip path) rather than at a coordinate no renderer takes.
  auto py = [&](double v) {
    return plot_y + std::clamp(1 - (v - y.lo) / (y.hi - y.lo), -0.1, 1.1) * plot_h;
  };

  const int legend_rows = std::max<int>(1, static_cast<int>(series.size()));
  const int height = plot_y + plot_h + 56 + legend_rows * legend_row + 16;
  std::string out;
  auto o = std::back_inserter(out);
  fmt::format_to(o,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
                 "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n",
                 width, height);
  fmt::format_to(o, "<title>{}</title>\n", xml(labels.title));
  fmt::format_to(o, "<rect width=\"{}\" height=\"{}\" fill=\"white\"/>\n", width, height);
  fmt::format_to(o, "<text x=\"{}\" y=\"24\" font-size=\"16\" font-weight=\"bold\">{}</text>\n", plot_x,
                 xml(labels.title));
  const auto start_wall =
    labels.end - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                   std::chrono::duration<double>(now_s - from_s));
  fmt::format_to(o, "<text x=\"{}\" y=\"44\" fill=\"#444\">{} to {} ({:.1f} s){}</text>\n", plot_x, wall_text(start_wall),
                 wall_text(labels.end), span,
                 data.alerts_total() > 0 ? fmt::format(", {} alerts (red)", data.alerts_total()) : std::string());

  // The plot area, its grid and axes.
  fmt::format_to(o,
                 "<g class=\"plot-area\" data-x=\"{}\" data-y=\"{}\" data-width=\"{}\" data-height=\"{}\" "
                 "data-time-from=\"0\" data-time-to=\"{}\" data-value-min=\"{}\" data-value-max=\"{}\">\n",
                 plot_x, plot_y, plot_w, plot_h, span, y.lo, y.hi);
  fmt::format_to(o, "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", plot_x,
                 plot_y, plot_w, plot_h);
  double ystep = 1;
  for (double v : nice_ticks(y.lo, y.hi, 9, ystep)) {
    const double yy = py(v);
    fmt::format_to(o, "<line x1=\"{}\" y1=\"{:.2f}\" x2=\"{}\" y2=\"{:.2f}\" stroke=\"#e4e4e4\"/>\n", plot_x, yy,
                   plot_x + plot_w, yy);
    fmt::format_to(o, "<text x=\"{}\" y=\"{:.2f}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>\n",
                   plot_x - 6, yy, tick_label(v, ystep));
  }
  double tstep = 1;
  for (double t : nice_ticks(0, span, 11, tstep)) {
    const double xx = px(from_s + t);
    fmt::format_to(o, "<line x1=\"{0:.2f}\" y1=\"{1}\" x2=\"{0:.2f}\" y2=\"{2}\" stroke=\"#e4e4e4\"/>\n", xx, plot_y,
                   plot_y + plot_h);
    fmt::format_to(o, "<text x=\"{:.2f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", xx, plot_y + plot_h + 16,
                   tick_label(t, tstep));
  }
  fmt::format_to(o, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">time (s)</text>\n", plot_x + plot_w / 2,
                 plot_y + plot_h + 34);
  if (!any) {
    fmt::format_to(o, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#444\">no values received</text>\n",
                   plot_x + plot_w / 2, plot_y + plot_h / 2);
  }
  out += "</g>\n";
  fmt::format_to(o, "<clipPath id=\"plot-clip\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>\n",
                 plot_x, plot_y, plot_w, plot_h);

  // Alerts under the series.
  for (const auto& a : data.alerts()) {
    const double t = data.seconds_at(a.index);
    if (t < from_s || t > now_s) {
      continue;
    }
    fmt::format_to(o,
                   "<line class=\"alert\" data-topic=\"{0}\" x1=\"{1:.2f}\" y1=\"{2}\" x2=\"{1:.2f}\" y2=\"{3}\" "
                   "stroke=\"{4}\" stroke-dasharray=\"4 3\"/>\n",
                   xml(a.topic), px(t), plot_y, plot_y + plot_h, alert_color);
  }

  // The series.
  int legend_y = plot_y + plot_h + 56;
  if (series.empty()) {
    fmt::format_to(o, "<text x=\"{}\" y=\"{}\" fill=\"#444\">no series</text>\n", plot_x, legend_y + 4);
  }
  for (const auto& s : series) {
    const char* color = palette[s.color % std::size(palette)];
    const auto st = SeriesWindow::stats(s);
    std::string d;
    auto point = [&](double t, double v) {
      fmt::format_to(std::back_inserter(d), "{}{:.2f},{:.2f}", d.empty() ? "M" : " L", px(t), py(v));
    };
    std::size_t points = 0;
    for (const auto& b : s.buckets) {
      const double t = data.seconds_at(b.index);
      if (t < from_s) {
        continue;
      }
      point(t, b.first);
      ++points;
      if (b.count > 1) {
        point(t, b.min_first ? b.min : b.max);
        point(t, b.min_first ? b.max : b.min);
        point(t, b.last);
        points += 3;
      }
    }
    if (points == 1) {
      // A lone value: a zero-length line, which the round cap shows as a dot.
      point(data.seconds_at(s.buckets.back().index), s.buckets.back().last);
    }
    fmt::format_to(o,
                   "<path class=\"series\" data-topic=\"{}\" data-expression=\"{}\" data-min=\"{}\" data-max=\"{}\" "
                   "data-last=\"{}\" data-points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" "
                   "stroke-linejoin=\"round\" stroke-linecap=\"round\" clip-path=\"url(#plot-clip)\" d=\"{}\"/>\n",
                   xml(s.topic), xml(data.expressions()[s.expression]), st.min, st.max, st.current, st.points, color,
                   d);
    fmt::format_to(o, "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"3\"/>\n", plot_x,
                   legend_y, plot_x + 24, color);
    fmt::format_to(o,
                   "<text x=\"{}\" y=\"{}\" dominant-baseline=\"middle\"><tspan>{}</tspan><tspan dx=\"10\">{}"
                   "</tspan><tspan dx=\"24\">last {}</tspan><tspan dx=\"14\">min {}</tspan><tspan dx=\"14\">"
                   "max {}</tspan></text>\n",
                   plot_x + 32, legend_y, xml(s.topic), xml(data.expressions()[s.expression]),
                   value_label(st.current), value_label(st.min), value_label(st.max));
    legend_y += legend_row;
  }
  out += "</svg>\n";
  return out;
}

} // namespace mqtk
