#pragma once

#include <optional>
#include <string>
#include <vector>

namespace mqtk {

// The value range a chart's y axis shows.
struct AxisRange
{
  double lo = 0, hi = 1;
};

// The y range for data from `lo` to `hi` (`any` false: no data): the data
// with 5 % room above and below, widened around a constant; `fixed_lo` and
// `fixed_hi` (--ymin, --ymax) replace either end. Always lo < hi.
AxisRange fit_range(bool any, double lo, double hi, std::optional<double> fixed_lo, std::optional<double> fixed_hi);

// Evenly spaced round values (1, 2 or 5 times a power of ten) within
// [lo, hi], at most max_ticks of them (at least 2 when max_ticks >= 2);
// `step` is set to their spacing.
std::vector<double> nice_ticks(double lo, double hi, int max_ticks, double& step);

// A tick value as a label with as many decimals as `step` needs ("0.05",
// "-1.5", "1200", "2e+06" past six digits).
std::string tick_label(double value, double step);

// A value for a legend: six significant digits, as printf's %g.
std::string value_label(double value);

} // namespace mqtk
