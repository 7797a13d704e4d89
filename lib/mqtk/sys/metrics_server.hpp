#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace mqtk {

struct ListenAddress
{
  std::string host = "127.0.0.1"; // loopback unless told otherwise
  int port = 0;
};

// Parses --listen: "PORT", "HOST:PORT" or "[IPv6]:PORT". Throws UsageError.
ListenAddress parse_listen_address(std::string_view text);

// Serves the latest Prometheus text at GET /metrics (and nothing else) over
// HTTP, with cpp-httplib, on a thread of its own, until destroyed.
class MetricsServer
{
public:
  // Binds at once; throws Error (exit 1) naming the address and the reason.
  explicit MetricsServer(const std::string& listen);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Replaces what /metrics returns. Thread-safe.
  void set_metrics(std::string text);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace mqtk
