#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace mqtk {

// A latency histogram in the manner of HdrHistogram: log-linear buckets
// (exact below 128 ns, then each power of two split into 64 equal parts), so
// any value up to max_value is told by the middle of its bucket to within
// 1/128 of itself (0.8 %), in a fixed array (19 KB), and two histograms
// merge exactly by adding their counts.
// Values are nanoseconds. Debian packages no C or C++ HdrHistogram, hence
// this one (ARCHITECTURE.md).
class LatencyHistogram
{
public:
  // Each power of two holds this many buckets.
  static constexpr int sub_bucket_bits = 7;
  static constexpr std::uint64_t sub_buckets = std::uint64_t{1} << sub_bucket_bits;
  // The largest value kept as it is: 2^42 - 1 ns, about 73 minutes; larger
  // values are counted in the last bucket (and in max()).
  static constexpr int value_bits = 42;
  static constexpr std::uint64_t max_value = (std::uint64_t{1} << value_bits) - 1;
  // 128 exact buckets below 128 ns, then 64 per power of two up to 2^42.
  static constexpr std::size_t bucket_count =
    sub_buckets / 2 * static_cast<std::size_t>(value_bits - sub_bucket_bits + 2);

  // Records `count` values of `ns` nanoseconds.
  void record(std::uint64_t ns, std::uint64_t count = 1) noexcept;

  // Adds every value of `other` (the histogram of the union of both runs).
  void add(const LatencyHistogram& other) noexcept;

  std::uint64_t count() const noexcept { return m_count; }
  // Exact smallest and largest value recorded; 0 when empty.
  std::uint64_t min() const noexcept { return m_count == 0 ? 0 : m_min; }
  std::uint64_t max() const noexcept { return m_max; }
  // The mean of the recorded values (exact sums), 0 when empty.
  double mean() const noexcept;

  // The value at percentile p (0 to 100): the smallest value that at least
  // p % of the recorded values do not exceed (nearest rank), to within 0.8 %
  // (the middle of its bucket, kept within [min(), max()]). 0 when empty.
  std::uint64_t percentile(double p) const noexcept;

  // The bucket a value falls in, and the smallest and largest value of a
  // bucket.
  static std::size_t bucket_of(std::uint64_t ns) noexcept;
  static std::uint64_t bucket_low(std::size_t index) noexcept;
  static std::uint64_t bucket_high(std::size_t index) noexcept;

  // The JSON form of mqtk-bench's result files (documented in mqtk-bench(1)):
  // {"unit":"ns","sub_bucket_bits":7,"value_bits":42,"count":N,"min":..,
  //  "max":..,"sum":"DIGITS","buckets":[[index,count],...]} with only the
  // non-empty buckets; the sum is a string of decimal digits because it can
  // pass 64 bits.
  nlohmann::json to_json() const;
  // Reads that form back. Throws Error (exit 1) naming what is wrong: not an
  // object, another layout, a bucket out of range, counts that do not add up.
  static LatencyHistogram from_json(const nlohmann::json& j);

  friend bool operator==(const LatencyHistogram&, const LatencyHistogram&) = default;

private:
  std::string sum_text() const;

  std::array<std::uint64_t, bucket_count> m_counts{};
  std::uint64_t m_count = 0;
  std::uint64_t m_min = 0;
  std::uint64_t m_max = 0;
  // The sum as a 128-bit integer: 2^64 ns is only 584 years of values.
  __extension__ using Sum = unsigned __int128;
  Sum m_sum = 0;
};

} // namespace mqtk
