#include <doctest/doctest.h>

#include "mqtk/bench/payload_stamp.hpp"

using mqtk::PayloadStamp;

TEST_CASE("payload stamp: written and read back, padding untouched")
{
  std::string payload(64, 'x');
  PayloadStamp s;
  s.publisher = 0xDEADBEEF;
  s.sequence = 0x0102030405060708ULL;
  s.due_ns = 1795607167137227422ULL;
  s.write(payload);
  CHECK(payload.substr(0, 4) == "MQB0");
  CHECK(payload.substr(PayloadStamp::size) == std::string(64 - PayloadStamp::size, 'x'));
  const auto r = PayloadStamp::read(payload);
  REQUIRE(r);
  CHECK(r->publisher == s.publisher);
  CHECK(r->sequence == s.sequence);
  CHECK(r->due_ns == s.due_ns);
  CHECK_FALSE(r->warmup);
  CHECK_FALSE(r->realtime);
  CHECK(payload[8] == '\x08'); // little-endian
  CHECK_FALSE(PayloadStamp::read(payload.substr(0, 23)));
  CHECK_FALSE(PayloadStamp::read(std::string(24, 'M')));
  CHECK_FALSE(PayloadStamp::read("hello"));
}

TEST_CASE("payload stamp: a payload shorter than the stamp is made long enough")
{
  std::string small(10, 'x');
  PayloadStamp s;
  s.sequence = 3;
  s.write(small);
  CHECK(small.size() == PayloadStamp::size);
  CHECK(PayloadStamp::read(small)->sequence == 3);
}

TEST_CASE("payload stamp: the flags byte tells warm-up messages and the clock")
{
  for (int flags = 0; flags < 4; ++flags) {
    std::string payload;
    PayloadStamp s;
    s.warmup = (flags & 1) != 0;
    s.realtime = (flags & 2) != 0;
    s.write(payload);
    CHECK(payload[3] == static_cast<char>('0' + flags));
    const auto r = PayloadStamp::read(payload);
    REQUIRE(r);
    CHECK(r->warmup == s.warmup);
    CHECK(r->realtime == s.realtime);
  }
  std::string other;
  PayloadStamp{}.write(other);
  other[3] = '4';
  CHECK_FALSE(PayloadStamp::read(other));
  other[3] = '/';
  CHECK_FALSE(PayloadStamp::read(other));
}
