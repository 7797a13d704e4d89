#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "mqtk/message_queue.hpp"

using mqtk::Message;
using mqtk::MessageQueue;
using namespace std::chrono_literals;

namespace {

Message msg(int i)
{
  Message m;
  m.topic = "t";
  m.payload = std::to_string(i);
  return m;
}

} // namespace

TEST_CASE("message queue: pop_all takes everything queued, in order")
{
  MessageQueue q;
  for (int i = 0; i < 5; ++i) {
    q.push(msg(i));
  }
  std::vector<Message> batch;
  REQUIRE(q.pop_all(batch));
  REQUIRE(batch.size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(batch[static_cast<std::size_t>(i)].payload == std::to_string(i));
  }
  q.push(msg(9));
  REQUIRE(q.pop_all(batch));
  REQUIRE(batch.size() == 1); // cleared first
  CHECK(batch[0].payload == "9");
}

TEST_CASE("message queue: close drains what is queued, then ends")
{
  MessageQueue q;
  q.push(msg(1));
  q.close("gone");
  CHECK(q.closed());
  CHECK(q.close_reason() == "gone");
  q.push(msg(2)); // dropped after close
  std::vector<Message> batch;
  REQUIRE(q.pop_all(batch));
  REQUIRE(batch.size() == 1);
  CHECK(batch[0].payload == "1");
  CHECK_FALSE(q.pop_all(batch));
  CHECK(batch.empty());
  CHECK_FALSE(q.timed_out());
  q.close("second reason is ignored");
  CHECK(q.close_reason() == "gone");
}

TEST_CASE("message queue: an orderly close has an empty reason")
{
  MessageQueue q;
  q.close();
  std::vector<Message> batch;
  CHECK_FALSE(q.pop_all(batch));
  CHECK(q.close_reason() == "");
}

TEST_CASE("message queue: timeout")
{
  MessageQueue q;
  std::vector<Message> batch;
  auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(q.pop_all(batch, start + 20ms));
  CHECK(q.timed_out());
  CHECK(std::chrono::steady_clock::now() - start >= 20ms);
  // A deadline already past still returns what is queued.
  q.push(msg(1));
  CHECK(q.pop_all(batch, start));
  CHECK_FALSE(q.timed_out());
  CHECK(batch.size() == 1);
  // Closed wins over timed out.
  q.close();
  CHECK_FALSE(q.pop_all(batch, std::chrono::steady_clock::now() + 10ms));
  CHECK_FALSE(q.timed_out());
}

TEST_CASE("message queue: a waiting consumer is woken by push and by close")
{
  MessageQueue q;
  std::vector<Message> batch;
  std::thread producer([&] {
    std::this_thread::sleep_for(10ms);
    q.push(msg(7));
  });
  REQUIRE(q.pop_all(batch, std::chrono::steady_clock::now() + 30s));
  CHECK(batch.at(0).payload == "7");
  producer.join();

  std::thread closer([&] {
    std::this_thread::sleep_for(10ms);
    q.close("lost");
  });
  CHECK_FALSE(q.pop_all(batch));
  CHECK(q.close_reason() == "lost");
  closer.join();
}

TEST_CASE("message queue: bounded; a blocked producer resumes and nothing is lost or reordered")
{
  MessageQueue q(8);
  constexpr int total = 20000;
  std::thread producer([&] {
    for (int i = 0; i < total; ++i) {
      q.push(msg(i));
    }
    q.close();
  });
  std::vector<Message> batch;
  int next = 0;
  std::size_t largest = 0;
  while (q.pop_all(batch)) {
    largest = std::max(largest, batch.size());
    for (const auto& m : batch) {
      REQUIRE(m.payload == std::to_string(next));
      ++next;
    }
  }
  producer.join();
  CHECK(next == total);
  CHECK(largest <= 8);
}

TEST_CASE("message queue: close releases a producer blocked on a full queue")
{
  MessageQueue q(1);
  q.push(msg(0));
  std::atomic<bool> returned{false};
  std::thread producer([&] {
    q.push(msg(1)); // blocks: the queue is full
    returned = true;
  });
  std::this_thread::sleep_for(10ms);
  q.close();
  producer.join();
  CHECK(returned);
  std::vector<Message> batch;
  REQUIRE(q.pop_all(batch));
  CHECK(batch.size() == 1);
}
