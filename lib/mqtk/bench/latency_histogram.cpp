#include "mqtk/bench/latency_histogram.hpp"

#include "mqtk/process/error.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mqtk {

std::size_t LatencyHistogram::bucket_of(std::uint64_t ns) noexcept
{
  ns = std::min(ns, max_value);
  if (ns < sub_buckets) {
    return static_cast<std::size_t>(ns); // exact below 128 ns
  }
  // ns >> shift lies in [sub_buckets / 2, sub_buckets): the upper half of a
  // power of two's sub-buckets, 64 per power past the first.
  const int top = static_cast<int>(std::bit_width(ns)) - 1; // >= sub_bucket_bits
  const int shift = top - sub_bucket_bits + 1;
  const auto sub = static_cast<std::size_t>(ns >> shift); // in [64, 128)
  return static_cast<std::size_t>(shift) * (sub_buckets / 2) + sub;
}

std::uint64_t LatencyHistogram::bucket_low(std::size_t index) noexcept
{
  if (index < sub_buckets) {
    return index;
  }
  const std::size_t half = sub_buckets / 2;
  const auto shift = static_cast<int>((index - half) / half);
  const std::uint64_t sub = half + (index - half) % half;
  return sub << shift;
}

std::uint64_t LatencyHistogram::bucket_high(std::size_t index) noexcept
{
  if (index < sub_buckets) {
    return index;
  }
  const std::size_t half = sub_buckets / 2;
  const auto shift = static_cast<int>((index - half) / half);
  return bucket_low(index) + (std::uint64_t{1} << shift) - 1;
}

void LatencyHistogram::record(std::uint64_t ns, std::uint64_t count) noexcept
{
  if (count == 0) {
    return;
  }
  m_counts[bucket_of(ns)] += count;
  m_min = m_count == 0 ? ns : std::min(m_min, ns);
  m_max = std::max(m_max, ns);
  m_count += count;
  m_sum += static_cast<Sum>(ns) * count;
}

void LatencyHistogram::add(const LatencyHistogram& other) noexcept
{
  if (other.m_count == 0) {
    return;
  }
  for (std::size_t i = 0; i < bucket_count; ++i) {
    m_counts[i] += other.m_counts[i];
  }
  m_min = m_count == 0 ? other.m_min : std::min(m_min, other.m_min);
  m_max = std::max(m_max, other.m_max);
  m_count += other.m_count;
  m_sum += other.m_sum;
}

double LatencyHistogram::mean() const noexcept
{
  return m_count == 0 ? 0.0 : static_cast<double>(m_sum) / static_cast<double>(m_count);
}

std::uint64_t LatencyHistogram::percentile(double p) const noexcept
{
  if (m_count == 0) {
    return 0;
  }
  p = std::isnan(p) ? 0.0 : std::clamp(p, 0.0, 100.0);
  // Nearest rank: the ceil(p/100 * n)-th smallest value, at least the
  // first; a product a rounding error above an integer is that integer
  // (14 % of 100 is 14.000000000000002).
  const double exact = p / 100.0 * static_cast<double>(m_count);
  const double whole = std::floor(exact);
  const double up = exact - whole < 1e-9 * std::max(1.0, exact) ? whole : std::ceil(exact);
  const auto rank = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(up), 1, m_count);
  if (rank == m_count) {
    return m_max;
  }
  if (rank == 1) {
    return m_min; // the smallest value, kept exactly
  }
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += m_counts[i];
    if (seen >= rank) {
      const std::uint64_t low = bucket_low(i);
      const std::uint64_t middle = low + (bucket_high(i) - low) / 2;
      return std::clamp(middle, m_min, m_max);
    }
  }
  return m_max;
}

std::string LatencyHistogram::sum_text() const
{
  if (m_sum == 0) {
    return "0";
  }
  std::string digits;
  for (Sum v = m_sum; v != 0; v /= 10) {
    digits.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
  }
  return {digits.rbegin(), digits.rend()};
}

nlohmann::json LatencyHistogram::to_json() const
{
  nlohmann::json buckets = nlohmann::json::array();
  for (std::size_t i = 0; i < bucket_count; ++i) {
    if (m_counts[i] != 0) {
      buckets.push_back({i, m_counts[i]});
    }
  }
  return nlohmann::json{{"unit", "ns"},       {"sub_bucket_bits", sub_bucket_bits},
                        {"value_bits", value_bits}, {"count", m_count},
                        {"min", min()},       {"max", m_max},
                        {"sum", sum_text()}, {"buckets", std::move(buckets)}};
}

LatencyHistogram LatencyHistogram::from_json(const nlohmann::json& j)
{
  auto bad = [](const std::string& why) { return Error(exit_code::failure, "histogram: " + why); };
  if (!j.is_object()) {
    throw bad("expected a JSON object");
  }
  auto number = [&](const char* key) -> std::uint64_t {
    const auto it = j.find(key);
    if (it == j.end() || !(it->is_number_unsigned() || (it->is_number_integer() && it->get<std::int64_t>() >= 0))) {
      throw bad(fmt::format("\"{}\" must be a non-negative integer", key));
    }
    return it->get<std::uint64_t>();
  };
  if (j.value("unit", std::string()) != "ns") {
    throw bad("\"unit\" must be \"ns\"");
  }
  if (number("sub_bucket_bits") != sub_bucket_bits || number("value_bits") != value_bits) {
    throw bad(fmt::format("another bucket layout (sub_bucket_bits {}, value_bits {} expected)", sub_bucket_bits,
                          value_bits));
  }
  const auto it = j.find("buckets");
  if (it == j.end() || !it->is_array()) {
    throw bad("\"buckets\" must be an array of [index, count] pairs");
  }
  LatencyHistogram h;
  for (const auto& b : *it) {
    auto natural = [](const nlohmann::json& v) {
      return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
    };
    if (!b.is_array() || b.size() != 2 || !natural(b[0]) || !natural(b[1])
        || b[0].get<std::uint64_t>() >= bucket_count) {
      throw bad(fmt::format("bad bucket {} (expected [index below {}, count])", b.dump(), bucket_count));
    }
    const auto index = b[0].get<std::size_t>();
    const auto n = b[1].get<std::uint64_t>();
    if (__builtin_add_overflow(h.m_counts[index], n, &h.m_counts[index])
        || __builtin_add_overflow(h.m_count, n, &h.m_count)) {
      throw bad("the bucket counts do not fit 64 bits");
    }
  }
  if (h.m_count != number("count")) {
    throw bad(fmt::format("the buckets hold {} values, \"count\" says {}", h.m_count, number("count")));
  }
  h.m_min = number("min");
  h.m_max = number("max");
  // The sum as decimal digits (it can pass 64 bits).
  const auto sum = j.find("sum");
  if (sum == j.end() || !sum->is_string() || sum->get_ref<const std::string&>().empty()
      || sum->get_ref<const std::string&>().size() > 39
      || sum->get_ref<const std::string&>().find_first_not_of("0123456789") != std::string::npos) {
    throw bad("\"sum\" must be a string of decimal digits");
  }
  h.m_sum = 0;
  for (char c : sum->get_ref<const std::string&>()) {
    const Sum next = h.m_sum * 10 + static_cast<Sum>(c - '0');
    if (next / 10 != h.m_sum) {
      throw bad("\"sum\" does not fit 128 bits");
    }
    h.m_sum = next;
  }
  // What to_json() writes for an empty histogram; anything else would not
  // be read back the same (min() says 0 whatever was read).
  if (h.m_count == 0 && (h.m_min != 0 || h.m_max != 0)) {
    throw bad("an empty histogram (\"count\" 0) has \"min\" and \"max\" 0");
  }
  if (h.m_count > 0 && (h.m_min > h.m_max || bucket_of(h.m_min) > bucket_of(h.m_max))) {
    throw bad("\"min\" is above \"max\"");
  }
  return h;
}

} // namespace mqtk
