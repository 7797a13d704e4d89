#include <doctest/doctest.h>

#include "mqtk/connection/reconnect_policy.hpp"

using namespace std::chrono_literals;
using mqtk::ReconnectBackoff;
using mqtk::refusal_is_permanent;

TEST_CASE("backoff doubles from the first pause up to the cap, each pause jittered by at most a quarter")
{
  ReconnectBackoff backoff(100ms, 1000ms, 42);
  const long long nominal[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (long long n : nominal) {
    auto pause = backoff.next().count();
    CHECK(pause <= n);
    CHECK(pause >= n - n / 4);
  }
  backoff.reset();
  CHECK(backoff.next().count() <= 100);
}

TEST_CASE("backoff jitter differs between seeds, so clients do not retry in step")
{
  ReconnectBackoff a(1000ms, 10000ms, 1);
  ReconnectBackoff b(1000ms, 10000ms, 2);
  bool differs = false;
  for (int i = 0; i < 5; ++i) {
    differs = differs || a.next() != b.next();
  }
  CHECK(differs);
}

TEST_CASE("backoff never pauses less than a millisecond, and a cap below the first pause is the first pause")
{
  ReconnectBackoff backoff(0ms, 0ms, 7);
  CHECK(backoff.next().count() == 1);
  CHECK(backoff.next().count() == 1);
}

TEST_CASE("refusals that repeat on every attempt end reconnecting; passing ones are retried")
{
  // MQTT 3.1.1 CONNACK codes: 3 is "server unavailable".
  CHECK(refusal_is_permanent(4, 1));
  CHECK(refusal_is_permanent(4, 2));
  CHECK_FALSE(refusal_is_permanent(4, 3));
  CHECK(refusal_is_permanent(4, 4));
  CHECK(refusal_is_permanent(3, 5));
  // MQTT 5 reason codes.
  CHECK(refusal_is_permanent(5, 0x86)); // bad user name or password
  CHECK(refusal_is_permanent(5, 0x87)); // not authorized
  CHECK(refusal_is_permanent(5, 0x8A)); // banned
  CHECK_FALSE(refusal_is_permanent(5, 0x88)); // server unavailable
  CHECK_FALSE(refusal_is_permanent(5, 0x89)); // server busy
  CHECK_FALSE(refusal_is_permanent(5, 0x97)); // quota exceeded
  CHECK_FALSE(refusal_is_permanent(5, 0x9F)); // connection rate exceeded
  CHECK_FALSE(refusal_is_permanent(5, 0));
}
