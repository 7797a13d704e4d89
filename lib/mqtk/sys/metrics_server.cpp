#include "mqtk/sys/metrics_server.hpp"

#include "mqtk/process/error.hpp"

#include <charconv>
#include <mutex>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

namespace mqtk {

ListenAddress parse_listen_address(std::string_view text)
{
  ListenAddress a;
  std::string_view port = text;
  const auto colon = text.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (host.empty()) {
      throw UsageError(fmt::format("--listen: no host before ':' in '{}' (give PORT or HOST:PORT)", text));
    }
    a.host = std::string(host);
    port = text.substr(colon + 1);
  }
  int p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
    throw UsageError(fmt::format("--listen: '{}' is not a port (1-65535) in '{}'", port, text));
  }
  a.port = p;
  return a;
}

struct MetricsServer::Impl
{
  httplib::Server server;
  std::mutex mutex;
  std::string metrics = "# no $SYS round has arrived yet\n";
  std::thread thread;
};

MetricsServer::MetricsServer(const std::string& listen)
  : m_impl(std::make_unique<Impl>())
{
  const ListenAddress a = parse_listen_address(listen);
  Impl& impl = *m_impl;
  impl.server.Get("/metrics", [&impl](const httplib::Request&, httplib::Response& response) {
    std::lock_guard lock(impl.mutex);
    response.set_content(impl.metrics, "text/plain; version=0.0.4; charset=utf-8");
  });
  // cpp-httplib's default also sets SO_REUSEPORT, which lets a second
  // process bind the same port and take half the scrapes: address reuse
  // only (a restart need not wait for TIME_WAIT).
  impl.server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const char*>(&yes), sizeof yes);
  });
  if (!impl.server.bind_to_port(a.host, a.port)) {
    throw Error(exit_code::failure,
                fmt::format("--listen: cannot listen on {}:{} (in use, or not an address of this machine)", a.host,
                            a.port));
  }
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  // stop() does nothing until the server runs: wait for it, so that a
  // destruction right after construction cannot leave the thread listening.
  for (int i = 0; i < 5000 && !impl.server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

MetricsServer::~MetricsServer()
{
  m_impl->server.stop();
  if (m_impl->thread.joinable()) {
    m_impl->thread.join();
  }
}

void MetricsServer::set_metrics(std::string text)
{
  std::lock_guard lock(m_impl->mutex);
  m_impl->metrics = std::move(text);
}

} // namespace mqtk
