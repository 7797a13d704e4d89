#include <doctest/doctest.h>

#include "mqtk/bench/latency_histogram.hpp"
#include "mqtk/process/error.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

using mqtk::LatencyHistogram;

namespace {

// The nearest-rank percentile of sorted values.
std::uint64_t exact_percentile(const std::vector<std::uint64_t>& sorted, double p)
{
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::vector<std::uint64_t> lognormal_samples(std::size_t n, unsigned seed)
{
  // Latencies around 200 us with a long tail up to minutes.
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(std::log(200e3), 2.0);
  std::vector<std::uint64_t> v;
  for (std::size_t i = 0; i < n; ++i) {
    v.push_back(std::min<std::uint64_t>(static_cast<std::uint64_t>(d(rng)) + 1000, 3'600'000'000'000));
  }
  return v;
}

} // namespace

TEST_CASE("latency histogram: buckets are contiguous and fine enough")
{
  CHECK(LatencyHistogram::bucket_of(0) == 0);
  CHECK(LatencyHistogram::bucket_of(127) == 127);
  CHECK(LatencyHistogram::bucket_of(128) == 128);
  CHECK(LatencyHistogram::bucket_of(LatencyHistogram::max_value) == LatencyHistogram::bucket_count - 1);
  CHECK(LatencyHistogram::bucket_of(~std::uint64_t{0}) == LatencyHistogram::bucket_count - 1);
  for (std::size_t i = 0; i + 1 < LatencyHistogram::bucket_count; ++i) {
    REQUIRE(LatencyHistogram::bucket_high(i) + 1 == LatencyHistogram::bucket_low(i + 1));
    REQUIRE(LatencyHistogram::bucket_of(LatencyHistogram::bucket_low(i)) == i);
    REQUIRE(LatencyHistogram::bucket_of(LatencyHistogram::bucket_high(i)) == i);
    // Half a bucket is at most 1/128 of the values in it: <= 1 % error.
    const double low = static_cast<double>(LatencyHistogram::bucket_low(i));
    const double half = static_cast<double>(LatencyHistogram::bucket_high(i) - LatencyHistogram::bucket_low(i)) / 2;
    REQUIRE(half <= std::max(low, 1.0) / 128 + 1e-9);
  }
  CHECK(LatencyHistogram::bucket_high(LatencyHistogram::bucket_count - 1) == LatencyHistogram::max_value);
  // 1 h fits.
  CHECK(LatencyHistogram::max_value > 3'600'000'000'000);
}

TEST_CASE("latency histogram: percentiles within 1 % of the exact ones, from 1 us to 1 h")
{
  auto values = lognormal_samples(100000, 1);
  values.push_back(1000);              // 1 us
  values.push_back(3'600'000'000'000); // 1 h
  LatencyHistogram h;
  for (auto v : values) {
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  CHECK(h.count() == values.size());
  CHECK(h.min() == values.front());
  CHECK(h.max() == values.back());
  for (double p : {0.0, 1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const double exact = static_cast<double>(exact_percentile(values, p));
    const double got = static_cast<double>(h.percentile(p));
    CAPTURE(p);
    CHECK(std::abs(got - exact) <= exact * 0.01);
  }
  // Monotonic in p.
  std::uint64_t last = 0;
  for (double p = 0; p <= 100; p += 0.5) {
    CHECK(h.percentile(p) >= last);
    last = h.percentile(p);
  }
  double sum = 0;
  for (auto v : values) {
    sum += static_cast<double>(v);
  }
  CHECK(h.mean() == doctest::Approx(sum / static_cast<double>(values.size())));
}

TEST_CASE("latency histogram: merging equals the histogram of the union")
{
  const auto a = lognormal_samples(20000, 2);
  const auto b = lognormal_samples(30000, 3);
  LatencyHistogram ha, hb, all;
  for (auto v : a) {
    ha.record(v);
    all.record(v);
  }
  for (auto v : b) {
    hb.record(v);
    all.record(v);
  }
  LatencyHistogram merged = ha;
  merged.add(hb);
  CHECK(merged == all);
  for (double p : {50.0, 99.0, 99.9}) {
    CHECK(merged.percentile(p) == all.percentile(p));
  }
  LatencyHistogram empty;
  merged.add(empty);
  CHECK(merged == all);
  empty.add(ha);
  CHECK(empty == ha);
}

TEST_CASE("latency histogram: empty, counts and JSON round trip")
{
  LatencyHistogram h;
  CHECK(h.count() == 0);
  CHECK(h.percentile(99) == 0);
  CHECK(h.min() == 0);
  CHECK(h.mean() == 0);
  h.record(5000, 3);
  h.record(7, 1);
  CHECK(h.count() == 4);
  CHECK(h.percentile(25) == 7);
  CHECK(h.percentile(50) == doctest::Approx(5000).epsilon(0.01));
  const auto j = h.to_json();
  CHECK(j["unit"] == "ns");
  CHECK(j["count"] == 4);
  CHECK(j["buckets"].size() == 2);
  CHECK(LatencyHistogram::from_json(j) == h);
  CHECK(LatencyHistogram::from_json(nlohmann::json::parse(j.dump())) == h);

  auto broken = j;
  broken["count"] = 5;
  CHECK_THROWS_WITH_AS(LatencyHistogram::from_json(broken), "histogram: the buckets hold 4 values, \"count\" says 5",
                       mqtk::Error);
  broken = j;
  broken["sub_bucket_bits"] = 8;
  CHECK_THROWS_AS(LatencyHistogram::from_json(broken), mqtk::Error);
  broken = j;
  broken["buckets"].push_back({LatencyHistogram::bucket_count, 1});
  CHECK_THROWS_AS(LatencyHistogram::from_json(broken), mqtk::Error);
  CHECK_THROWS_AS(LatencyHistogram::from_json(nlohmann::json::array()), mqtk::Error);
}

TEST_CASE("latency histogram: an empty one read with a min or max is refused (fuzz/bench_result)")
{
  // fuzz/corpus/bench_result/empty_histogram_min.json: "count" 0 and "min" 1
  // was read, then written back with "min" 0, so the result read back
  // differed from the one read.
  auto j = LatencyHistogram().to_json();
  CHECK(j["min"] == 0);
  CHECK(j["max"] == 0);
  CHECK(LatencyHistogram::from_json(j) == LatencyHistogram());
  for (const char* key : {"min", "max"}) {
    CAPTURE(key);
    auto broken = j;
    broken[key] = 1;
    CHECK_THROWS_WITH_AS(LatencyHistogram::from_json(broken),
                         "histogram: an empty histogram (\"count\" 0) has \"min\" and \"max\" 0", mqtk::Error);
  }
}

TEST_CASE("latency histogram: nearest rank without rounding errors, exact ends, sums past 2^53")
{
  LatencyHistogram h;
  for (std::uint64_t us = 1; us <= 100; ++us) {
    h.record(us * 1000);
  }
  CHECK(h.percentile(14) == doctest::Approx(14000).epsilon(0.01)); // 14 % of 100 is 14.000000000000002
  CHECK(h.percentile(0) == 1000);                                  // the exact minimum
  CHECK(h.percentile(100) == 100000);
  CHECK(h.percentile(std::nan("")) == 1000);
  LatencyHistogram thousand;
  for (std::uint64_t i = 1; i <= 1000; ++i) {
    thousand.record(i * 1000);
  }
  CHECK(thousand.percentile(99.9) == doctest::Approx(999000).epsilon(0.01)); // the 999th, not the max

  LatencyHistogram big;
  big.record((std::uint64_t{1} << 53) + 1);
  big.record(0);
  big.record(LatencyHistogram::max_value, 1'000'000); // a sum past 64 bits
  const auto j = big.to_json();
  CHECK(j["sum"].is_string());
  CHECK(LatencyHistogram::from_json(j) == big);
  auto bad = j;
  bad["sum"] = 1e300;
  CHECK_THROWS_AS(LatencyHistogram::from_json(bad), mqtk::Error);
  bad = j;
  bad["buckets"] = nlohmann::json::array({{5, ~std::uint64_t{0}}, {6, 2}});
  CHECK_THROWS_WITH_AS(LatencyHistogram::from_json(bad), "histogram: the bucket counts do not fit 64 bits",
                       mqtk::Error);
}
