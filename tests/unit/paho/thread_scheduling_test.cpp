#include "mqtk/paho/thread_scheduling.hpp"

#include <doctest/doctest.h>

#include <sched.h>

#include <thread>

namespace {

int cpus_of_this_thread()
{
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
  return CPU_COUNT(&set);
}

struct Scheduling
{
  int cpus;
  int policy;
};

Scheduling of_this_thread()
{
  return {cpus_of_this_thread(), sched_getscheduler(0)};
}

} // namespace

TEST_CASE("thread scheduling: one CPU and SCHED_BATCH for the connection's threads, the original for children")
{
  const Scheduling start = of_this_thread();
  // A runner started under another policy (chrt) keeps it: only SCHED_OTHER is changed.
  const int batch = start.policy == SCHED_OTHER ? SCHED_BATCH : start.policy;
  // On a thread of its own: the test runner's main thread keeps its settings.
  std::thread([start, batch] {
    mqtk::keep_threads_together();
    const int one = start.cpus >= 2 ? 1 : start.cpus;
    Scheduling together = of_this_thread();
    CHECK(together.cpus == one);
    CHECK(together.policy == batch);
    Scheduling inherited{};
    std::thread([&inherited] { inherited = of_this_thread(); }).join();
    CHECK(inherited.cpus == one);
    CHECK(inherited.policy == batch);
    {
      mqtk::DefaultSchedulingForChildren for_children;
      Scheduling widened = of_this_thread();
      CHECK(widened.cpus == start.cpus);
      CHECK(widened.policy == start.policy);
    }
    Scheduling back = of_this_thread();
    CHECK(back.cpus == one);
    CHECK(back.policy == batch);
  }).join();
  Scheduling main_thread = of_this_thread();
  CHECK(main_thread.cpus == start.cpus);
  CHECK(main_thread.policy == start.policy);
  {
    // A thread that was never changed keeps what it had.
    mqtk::DefaultSchedulingForChildren for_children;
    CHECK(of_this_thread().cpus == start.cpus);
  }
  Scheduling after = of_this_thread();
  CHECK(after.cpus == start.cpus);
  CHECK(after.policy == start.policy);
}
