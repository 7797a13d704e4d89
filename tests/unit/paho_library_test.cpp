#include "mqtk/paho_library.hpp"

#include <doctest/doctest.h>

#include <cstddef>

// Paho's own view of its allocation tracker (Heap.h is not installed).
extern "C" {
struct PahoHeapInfo
{
  std::size_t current_size;
  std::size_t max_size;
};
PahoHeapInfo* Heap_get_info(void);
}

TEST_CASE("paho_library: the plain build is linked, with Paho's allocation tracker replaced")
{
  const mqtk::PahoLibrary& paho = mqtk::PahoLibrary::get(false);
  CHECK_FALSE(paho.tls);
  CHECK((paho.createWithOptions == &::MQTTAsync_createWithOptions));

  MQTTAsync_init_options init = MQTTAsync_init_options_initializer;
  paho.global_init(&init);
  MQTTAsync client = nullptr;
  MQTTAsync_createOptions options = MQTTAsync_createOptions_initializer;
  REQUIRE(paho.createWithOptions(&client, "tcp://127.0.0.1:1", "paho-library-test", MQTTCLIENT_PERSISTENCE_NONE,
                                 nullptr, &options)
          == MQTTASYNC_SUCCESS);
  // Paho allocated the client, its socket state and the id: with the
  // tracker in place (Debian's build), Heap_get_info counts those bytes.
  CHECK(Heap_get_info()->max_size == 0);
  paho.destroy(&client);
  CHECK(Heap_get_info()->current_size == 0);
}
