#pragma once

#include "mqtk/mqtt/message.hpp"
#include "mqtk/plot/series_window.hpp"
#include "mqtk/rules/filter_expression.hpp"
#include "mqtk/rules/payload_value.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace mqtk {

// mqtk-sub's chart flags, as typed.
struct PlotOptions
{
  std::vector<std::string> plot; // --plot EXPR[,EXPR...] (repeatable)
  std::optional<std::string> svg; // --plot-svg FILE
  std::optional<double> window;   // --window SECONDS (default default_window)
  std::optional<double> ymin, ymax;

  static constexpr double default_window = 60;
  static constexpr double max_window = 86400;

  bool active() const noexcept { return !plot.empty(); }
  double window_seconds() const noexcept { return window.value_or(default_window); }
};

// Declares --plot, --plot-svg, --window, --ymin and --ymax in a "Plotting"
// group.
void add_plot_options(CLI::App& app, PlotOptions& options);

// Splits one --plot value at its top-level commas: commas inside
// parentheses, brackets or quotes belong to the expression
// (`max(.ax,.ay),.az` is two). Throws UsageError on an empty item.
std::vector<std::string> split_plot_list(std::string_view text);

// The --plot expressions, compiled, and what a message gives each.
class PlotExpressions
{
public:
  // Checks the options (the flags that need --plot, --window's range,
  // --ymin below --ymax) and compiles every expression. Throws UsageError
  // naming the flag, before anything connects.
  static PlotExpressions compile(const PlotOptions& options);

  const std::vector<std::string>& texts() const noexcept { return m_texts; }
  // Whether an expression reads an MQTT 5 property.
  bool uses_properties() const noexcept;

  // Adds the message's value of each expression to `window` at `t`: a
  // number as it is, a boolean as 1 or 0; anything else (a missing field, a
  // payload that is not JSON, a string) adds no point, as --where treats
  // it. Returns how many values were added.
  std::size_t record(const MessageView& message, SeriesWindow& window, SeriesWindow::Clock::time_point t);

private:
  std::vector<std::string> m_texts;
  std::vector<FilterExpression> m_expressions;
  PayloadValue m_payload{MessageView{}};
};

} // namespace mqtk
