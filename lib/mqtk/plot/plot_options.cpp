#include "mqtk/plot/plot_options.hpp"
#include "mqtk/process/option_values.hpp"

#include "mqtk/process/error.hpp"

#include <algorithm>
#include <cmath>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace mqtk {

void add_plot_options(CLI::App& app, PlotOptions& o)
{
  auto* g = app.add_option_group("Plotting", "A live chart of payload values (see PLOTTING in the manual)");
  g->add_option("--plot", o.plot,
                "Chart EXPR over time, one line per topic and expression (repeatable, or EXPR,EXPR...)")
    ->type_name("EXPR")
    ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->allow_extra_args(false);
  g->add_option("--plot-svg", o.svg, "At exit write the chart to FILE as SVG (instead of the live view off a terminal)")
    ->type_name("FILE");
  g->add_option("--window", o.window, "Seconds of history kept and shown (default: 60)")->type_name("SECONDS");
  g->add_option("--ymin", o.ymin, "Bottom of the y axis (default: fits the data)")->type_name("VALUE");
  g->add_option("--ymax", o.ymax, "Top of the y axis (default: fits the data)")->type_name("VALUE");
}

std::vector<std::string> split_plot_list(std::string_view text)
{
  std::vector<std::string> items;
  int depth = 0;
  char quote = 0;
  std::size_t start = 0;
  auto take = [&](std::size_t end) {
    std::string_view item = text.substr(start, end - start);
    const auto first = item.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
      throw UsageError(fmt::format("--plot: empty expression (item {}) in '{}'", items.size() + 1, text));
    }
    item.remove_prefix(first);
    item.remove_suffix(item.size() - item.find_last_not_of(" \t") - 1);
    items.emplace_back(item);
    start = end + 1;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '(' || c == '[') {
      ++depth;
    } else if ((c == ')' || c == ']') && depth > 0) {
      --depth;
    } else if (c == ',' && depth == 0) {
      take(i);
    }
  }
  take(text.size());
  return items;
}

PlotExpressions PlotExpressions::compile(const PlotOptions& o)
{
  if (!o.active()) {
    for (const auto& [given, flag] : {std::pair{o.svg.has_value(), "--plot-svg"}, {o.window.has_value(), "--window"},
                                      {o.ymin.has_value(), "--ymin"}, {o.ymax.has_value(), "--ymax"}}) {
      if (given) {
        throw UsageError(fmt::format("{} needs --plot EXPR (the values to chart)", flag));
      }
    }
    return {};
  }
  if (o.window && !(*o.window >= 1 && *o.window <= PlotOptions::max_window)) {
    throw UsageError(fmt::format("--window: expected seconds from 1 to {}, not {}", PlotOptions::max_window, *o.window));
  }
  for (const auto& [value, flag] : {std::pair{o.ymin, "--ymin"}, {o.ymax, "--ymax"}}) {
    if (value && !std::isfinite(*value)) {
      throw UsageError(fmt::format("{}: expected a finite number, not {}", flag, *value));
    }
  }
  if (o.ymin && o.ymax && !(*o.ymin < *o.ymax)) {
    throw UsageError(fmt::format("--ymin ({}) must be below --ymax ({})", *o.ymin, *o.ymax));
  }
  PlotExpressions p;
  for (const auto& value : o.plot) {
    for (auto& item : split_plot_list(value)) {
      p.m_expressions.push_back(FilterExpression::parse(item, "--plot"));
      p.m_texts.push_back(std::move(item));
    }
  }
  if (p.m_texts.size() > SeriesWindow::max_series) {
    throw UsageError(fmt::format("--plot: at most {} expressions, not {}", SeriesWindow::max_series, p.m_texts.size()));
  }
  return p;
}

bool PlotExpressions::uses_properties() const noexcept
{
  return std::any_of(m_expressions.begin(), m_expressions.end(),
                     [](const FilterExpression& e) { return e.uses_properties(); });
}

std::size_t PlotExpressions::record(const MessageView& message, SeriesWindow& window,
                                    SeriesWindow::Clock::time_point t)
{
  m_payload.reset(message);
  std::size_t added = 0;
  for (std::size_t i = 0; i < m_expressions.size(); ++i) {
    const FieldValue v = m_expressions[i].evaluate(m_payload);
    double value;
    if (v.kind == FieldValue::Kind::number) {
      value = v.number;
    } else if (v.kind == FieldValue::Kind::boolean) {
      value = v.boolean ? 1 : 0;
    } else {
      continue;
    }
    window.add(message.topic, i, value, t);
    ++added;
  }
  return added;
}

} // namespace mqtk
