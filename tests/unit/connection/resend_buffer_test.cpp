#include <doctest/doctest.h>

#include "mqtk/connection/resend_buffer.hpp"

#include <string>
#include <vector>

using mqtk::ResendBuffer;

TEST_CASE("messages are numbered in order and forgotten once acknowledged")
{
  ResendBuffer buffer;
  CHECK(buffer.add("a", "1", 1, false) == 1);
  CHECK(buffer.add("a", "2", 2, true) == 2);
  CHECK(buffer.size() == 2);
  CHECK(buffer.acknowledge(1));
  CHECK_FALSE(buffer.acknowledge(1));
  REQUIRE(buffer.find(2) != nullptr);
  CHECK(buffer.find(2)->payload == "2");
  CHECK(buffer.find(2)->qos == 2);
  CHECK(buffer.find(2)->retain);
  CHECK(buffer.find(1) == nullptr);
  REQUIRE(buffer.oldest() != nullptr);
  CHECK(buffer.oldest()->payload == "2");
}

TEST_CASE("after a reconnect every message not sent on the new connection comes out oldest first")
{
  ResendBuffer buffer;
  for (int i = 1; i <= 4; ++i) {
    buffer.mark_sent(buffer.add("t", std::to_string(i), 1, false), 1);
  }
  buffer.acknowledge(2);
  // Read during the outage: never sent.
  const auto fifth = buffer.add("t", "5", 1, false);
  CHECK(buffer.oldest_unsent(1) == fifth);
  // Connection 2: 1, 3, 4 (in flight when connection 1 broke) and 5.
  std::vector<std::string> order;
  std::uint64_t from = 0;
  while (auto seq = buffer.oldest_unsent(2, from)) {
    order.push_back(buffer.find(*seq)->payload);
    buffer.mark_sent(*seq, 2);
    from = *seq + 1;
  }
  CHECK(order == std::vector<std::string>{"1", "3", "4", "5"});
  CHECK_FALSE(buffer.oldest_unsent(2).has_value());
  buffer.mark_unsent(4);
  CHECK(buffer.oldest_unsent(2) == 4u);
}

TEST_CASE("an empty buffer has nothing to resend")
{
  ResendBuffer buffer;
  CHECK(buffer.empty());
  CHECK(buffer.oldest() == nullptr);
  CHECK_FALSE(buffer.oldest_unsent(1).has_value());
}
