#include "mqtk/paho/failed_publish.hpp"

#include <MQTTProperties.h>

#include <cstddef>
#include <cstring>

// Paho 1.3.12's own declarations this fix uses (Clients.h, Socket.h, Heap.h;
// not installed). Only the leading members of Messages that are read here
// are declared; both structures are allocated by Paho.
extern "C" {
struct PahoPublications
{
  char* topic;
  int topiclen;
  char* payload;
  int payloadlen;
  int refcount;
  unsigned char mask[4];
};
struct PahoMessages
{
  int qos;
  int retain;
  int msgid;
  int MQTTVersion;
  MQTTProperties properties;
  PahoPublications* publish;
};
int __real_MQTTProtocol_startPublish(void* client, void* publish, int qos, int retained, void** message);
// Paho's allocator: plain malloc where wraps.cpp replaces it (--wrap reaches
// this call too), the tracked one in the stock build, so Paho's free matches.
void* mymalloc(char* file, int line, std::size_t size);
}

namespace {

constexpr int paho_socket_error = -1; // SOCKET_ERROR in Socket.h

char* paho_copy(const char* bytes, std::size_t size)
{
  char* copy = static_cast<char*>(mymalloc(const_cast<char*>(__FILE__), __LINE__, size == 0 ? 1 : size));
  if (copy != nullptr && size > 0) {
    std::memcpy(copy, bytes, size);
  }
  return copy;
}

} // namespace

extern "C" int __wrap_MQTTProtocol_startPublish(void* client, void* publish, int qos, int retained, void** message)
{
  const int rc = __real_MQTTProtocol_startPublish(client, publish, qos, retained, message);
  if (rc != paho_socket_error || qos == 0 || message == nullptr || *message == nullptr) {
    return rc;
  }
  auto* stored = static_cast<PahoMessages*>(*message);
  PahoPublications* publication = stored->publish;
  if (stored->qos != qos || publication == nullptr || publication->refcount != 1) {
    return rc; // not the layout this was written for: leave Paho alone
  }
  // The command is about to free the originals; the outbound list keeps
  // copies. Should an allocation fail, the list's entry keeps nothing (Paho
  // frees null pointers as no-ops) rather than an alias of freed memory.
  char* topic = publication->topic == nullptr ? nullptr
                                              : paho_copy(publication->topic, std::strlen(publication->topic) + 1);
  char* payload = publication->payload == nullptr || publication->payloadlen < 0
                    ? nullptr
                    : paho_copy(publication->payload, static_cast<std::size_t>(publication->payloadlen));
  publication->topic = topic;
  publication->payload = payload;
  if (payload == nullptr) {
    publication->payloadlen = 0;
  }
  return rc;
}
