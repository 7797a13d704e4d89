#include <doctest/doctest.h>

#include "mqtk/bench/sequence_tracker.hpp"

#include <algorithm>
#include <random>
#include <set>

using mqtk::SequenceTracker;

TEST_CASE("sequence tracker: in order, nothing lost")
{
  SequenceTracker t;
  for (std::uint64_t s = 0; s < 1000; ++s) {
    t.on_message(7, s);
  }
  const auto c = t.counts(7);
  CHECK(c.received == 1000);
  CHECK(c.unique == 1000);
  CHECK(c.duplicates == 0);
  CHECK(c.reordered == 0);
  CHECK(c.lost(1000) == 0);
  CHECK(c.lost(1005) == 5); // the last five never came
  CHECK(t.counts(8).received == 0);
}

TEST_CASE("sequence tracker: losses, duplicates and reordering counted exactly")
{
  SequenceTracker t;
  for (std::uint64_t s : {0, 1, 3, 2, 2, 5, 5, 4, 9}) {
    t.on_message(1, s);
  }
  const auto c = t.counts(1);
  CHECK(c.received == 9);
  CHECK(c.unique == 7);     // 0 1 2 3 4 5 9
  CHECK(c.duplicates == 2); // the second 2 and the second 5
  CHECK(c.reordered == 2);  // 2 after 3, 4 after 5
  CHECK(c.next == 10);
  CHECK(c.lost(10) == 3); // 6 7 8
}

TEST_CASE("sequence tracker: against a set, with publishers interleaved and shuffled")
{
  std::mt19937_64 rng(5);
  SequenceTracker t;
  std::vector<std::set<std::uint64_t>> seen(3);
  std::vector<std::uint64_t> duplicates(3, 0);
  std::vector<std::uint64_t> sent{5000, 4000, 3000};
  std::vector<std::pair<std::uint32_t, std::uint64_t>> arrivals;
  for (std::uint32_t p = 0; p < 3; ++p) {
    for (std::uint64_t s = 0; s < sent[p]; ++s) {
      if (rng() % 50 == 0) {
        continue; // lost
      }
      arrivals.emplace_back(p, s);
      if (rng() % 40 == 0) {
        arrivals.emplace_back(p, s); // sent again (QoS 1)
      }
    }
  }
  // Local reordering: swap neighbours now and then.
  for (std::size_t i = 1; i < arrivals.size(); ++i) {
    if (rng() % 30 == 0) {
      std::swap(arrivals[i - 1], arrivals[i]);
    }
  }
  for (auto [p, s] : arrivals) {
    if (!seen[p].insert(s).second) {
      ++duplicates[p];
    }
    t.on_message(p, s);
  }
  std::uint64_t lost = 0;
  for (std::uint32_t p = 0; p < 3; ++p) {
    const auto c = t.counts(p);
    CHECK(c.unique == seen[p].size());
    CHECK(c.duplicates == duplicates[p]);
    CHECK(c.lost(sent[p]) == sent[p] - seen[p].size());
    lost += sent[p] - seen[p].size();
  }
  CHECK(t.lost_total(sent) == lost);
  CHECK(t.totals().received == arrivals.size());
  CHECK(t.publishers() == 3);
}

TEST_CASE("sequence tracker: jumps and arrivals beyond the window")
{
  SequenceTracker t;
  t.on_message(0, 0);
  t.on_message(0, 10 * SequenceTracker::window); // a jump: the window starts afresh
  CHECK(t.counts(0).unique == 2);
  t.on_message(0, 10 * SequenceTracker::window); // still a duplicate after the jump
  CHECK(t.counts(0).duplicates == 1);
  t.on_message(0, 1); // far behind: neither a duplicate nor a first arrival, as far as is known
  CHECK(t.counts(0).too_late == 1);
  t.on_message(0, 10 * SequenceTracker::window - 5); // within the window behind: reordered
  CHECK(t.counts(0).reordered == 1);
}

TEST_CASE("sequence tracker: the largest number is not a sequence number")
{
  SequenceTracker t;
  t.on_message(0, ~std::uint64_t{0});
  t.on_message(0, ~std::uint64_t{0});
  CHECK(t.counts(0).unique == 0);
  CHECK(t.counts(0).too_late == 2);
  CHECK(t.counts(0).next == 0);
}

TEST_CASE("sequence tracker: a subscriber joining a running stream counts gaps between what it saw")
{
  SequenceTracker t;
  t.on_message(0, 1000); // joined late: 0..999 were sent before it subscribed
  t.on_message(0, 1001);
  t.on_message(0, 1004); // 1002 and 1003 lost
  t.on_message(1, 7);
  CHECK(t.counts(0).low == 1000);
  CHECK(t.counts(0).lost_between() == 2);
  CHECK(t.counts(0).lost(t.counts(0).next) == 1002); // from 0, as pubsub counts
  t.on_message(0, 998); // late arrival below the first: the range grows with it
  CHECK(t.counts(0).low == 998);
  CHECK(t.counts(0).lost_between() == 3); // 999, 1002, 1003
  CHECK(t.lost_between_total() == 3);
  CHECK(SequenceTracker{}.lost_between_total() == 0);
  SequenceTracker far;
  far.on_message(0, 100000);
  far.on_message(0, 100002);
  far.on_message(0, 5); // far behind, below the first: not within the span
  CHECK(far.counts(0).lost_between() == 1);
}
