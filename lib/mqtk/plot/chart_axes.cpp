#include "mqtk/plot/chart_axes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace mqtk {

AxisRange fit_range(bool any, double lo, double hi, std::optional<double> fixed_lo, std::optional<double> fixed_hi)
{
  // Ends within +-limit keep hi - lo, and every step computed from it,
  // finite; values beyond show at the edge.
  static constexpr double limit = std::numeric_limits<double>::max() / 4;
  auto bound = [](double v) { return std::clamp(v, -limit, limit); };
  AxisRange r;
  if (any) {
    lo = bound(lo);
    hi = bound(hi);
    if (hi > lo) {
      r = {bound(lo - (hi * 0.05 - lo * 0.05)), bound(hi + (hi * 0.05 - lo * 0.05))};
    } else {
      const double half = std::abs(lo) > 0 ? std::abs(lo) * 0.1 : 1.0;
      r = {bound(lo - half), bound(lo + half)};
    }
  }
  if (fixed_lo) {
    fixed_lo = bound(*fixed_lo);
  }
  if (fixed_hi) {
    fixed_hi = bound(*fixed_hi);
  }
  if (fixed_lo) {
    r.lo = *fixed_lo;
    if (!fixed_hi && r.hi <= r.lo) {
      r.hi = r.lo + std::max(1.0, std::abs(r.lo) * 0.1);
    }
  }
  if (fixed_hi) {
    r.hi = *fixed_hi;
    if (r.lo >= r.hi) {
      r.lo = r.hi - std::max(1.0, std::abs(r.hi) * 0.1);
    }
  }
  return r;
}

std::vector<double> nice_ticks(double lo, double hi, int max_ticks, double& step)
{
  std::vector<double> ticks;
  step = 1;
  if (!(hi > lo) || max_ticks < 2) {
    return ticks;
  }
  const double rough = (hi - lo) / (max_ticks - 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (std::floor(hi / step + 1e-9) - std::ceil(lo / step - 1e-9) + 1 <= max_ticks) {
      break;
    }
  }
  const double last = std::floor(hi / step + 1e-9);
  for (double k = std::ceil(lo / step - 1e-9); k <= last; k += 1) {
    double v = k * step;
    if (std::abs(v) < step * 1e-9) {
      v = 0; // no "-0"
    }
    ticks.push_back(v);
    if (ticks.size() > static_cast<std::size_t>(max_ticks)) {
      break;
    }
  }
  return ticks;
}

std::string tick_label(double value, double step)
{
  if (std::abs(value) >= 1e6 || (value != 0 && std::abs(value) < 1e-4)) {
    return fmt::format("{:.3g}", value);
  }
  const int decimals = std::clamp(static_cast<int>(std::ceil(-std::log10(step) - 1e-9)), 0, 6);
  return fmt::format("{:.{}f}", value, decimals);
}

std::string value_label(double value)
{
  return fmt::format("{:.6g}", value);
}

} // namespace mqtk
