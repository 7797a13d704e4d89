#include "mqtk/paho/library.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>

// Paho's own view of its allocation tracker (Heap.h is not installed).
extern "C" {
struct PahoHeapInfo
{
  std::size_t current_size;
  std::size_t max_size;
};
PahoHeapInfo* Heap_get_info(void);
}

namespace {

// A client of the linked build that is never connected (so Paho starts no
// thread), named `id`.
MQTTAsync unconnected_client(const mqtk::PahoLibrary& paho, const char* id)
{
  MQTTAsync_init_options init = MQTTAsync_init_options_initializer;
  paho.global_init(&init);
  MQTTAsync client = nullptr;
  MQTTAsync_createOptions options = MQTTAsync_createOptions_initializer;
  REQUIRE(paho.createWithOptions(&client, "tcp://127.0.0.1:1", id, MQTTCLIENT_PERSISTENCE_NONE, nullptr, &options)
          == MQTTASYNC_SUCCESS);
  return client;
}

} // namespace

TEST_CASE("paho_library: the plain build is linked, with Paho's allocation tracker replaced")
{
  const mqtk::PahoLibrary& paho = mqtk::PahoLibrary::get(false);
  CHECK_FALSE(paho.tls);
  CHECK((paho.createWithOptions == &::MQTTAsync_createWithOptions));

  MQTTAsync client = unconnected_client(paho, "paho-library-test");
  // Paho allocated the client, its socket state and the id: with the
  // tracker in place (Debian's build), Heap_get_info counts those bytes.
  CHECK(Heap_get_info()->max_size == 0);
  paho.destroy(&client);
  CHECK(Heap_get_info()->current_size == 0);
}

// Paho's internals used by the send-thread wake-up (Thread.h, MQTTAsync.c).
extern "C" {
extern void* send_cond;
int Thread_wait_cond(void* condvar, int timeout_ms);
void MQTTAsync_writeComplete(int socket, int rc);
}

TEST_CASE("paho_library: a completed pending write wakes Paho's send thread")
{
  const mqtk::PahoLibrary& paho = mqtk::PahoLibrary::get(false);
  // A client keeps Paho's client list, which writeComplete searches, alive.
  MQTTAsync client = unconnected_client(paho, "paho-wake-test");
  // Waits as the send thread does; Paho alone would let it sleep out the
  // timeout (ETIMEDOUT), however often writes complete.
  std::atomic<int> waited{-1};
  std::thread send_thread([&] { waited = Thread_wait_cond(send_cond, 20000); });
  // A signal sent before the wait begins is lost, so keep completing writes
  // (on a socket Paho does not know: only the wake-up does anything) until
  // the waiter is back.
  while (waited.load() == -1) {
    MQTTAsync_writeComplete(-1, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  send_thread.join();
  CHECK(waited.load() == 0);
  paho.destroy(&client);
}
