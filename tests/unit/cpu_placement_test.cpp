#include "mqtk/cpu_placement.hpp"

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

} // namespace

TEST_CASE("cpu placement: one CPU for the connection's threads, every CPU for children")
{
  const int allowed = cpus_of_this_thread();
  // On a thread of its own: the test runner's main thread keeps its CPUs.
  std::thread([allowed] {
    mqtk::keep_threads_on_one_cpu();
    const int expected = allowed >= 2 ? 1 : allowed;
    CHECK(cpus_of_this_thread() == expected);
    int inherited = 0;
    std::thread([&inherited] { inherited = cpus_of_this_thread(); }).join();
    CHECK(inherited == expected);
    {
      mqtk::OriginalCpusForChildren widened;
      CHECK(cpus_of_this_thread() == allowed);
    }
    CHECK(cpus_of_this_thread() == expected);
  }).join();
  CHECK(cpus_of_this_thread() == allowed);
  {
    // A thread that was never confined keeps what it had.
    mqtk::OriginalCpusForChildren widened;
    CHECK(cpus_of_this_thread() == allowed);
  }
  CHECK(cpus_of_this_thread() == allowed);
}
