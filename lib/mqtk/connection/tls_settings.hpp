#pragma once

#include "mqtk/connection/options.hpp"
#include "mqtk/paho/library.hpp"
#include "mqtk/paho/tls_failure.hpp"

#include <string>

namespace mqtk {

// One connection's TLS settings as Paho takes them (MQTTAsync_SSLOptions),
// with what Paho's TLS callbacks are handed: the TlsFailure its handshake
// checks fill. Paho keeps those pointers for
// the client's life, so this must outlive the client; not copyable.
class TlsSettings
{
public:
  // From `o` (resolve()d, with o.tls), for `paho` (the TLS build; the plain
  // build has no handshake checks, and TlsFailure then stays empty).
  // Certificates are verified and the host name checked unless --insecure.
  TlsSettings(const ConnectionOptions& o, const PahoLibrary& paho);
  TlsSettings(const TlsSettings&) = delete;
  TlsSettings& operator=(const TlsSettings&) = delete;

  // For MQTTAsync_connectOptions::ssl.
  MQTTAsync_SSLOptions* options() noexcept { return &m_ssl; }

  // What the last connection attempt's handshake found; clear() it before
  // each attempt.
  TlsFailure& failure() noexcept { return m_failure; }

private:
  MQTTAsync_SSLOptions m_ssl;
  std::string m_alpn; // wire format: length byte + name
  TlsFailure m_failure;
};

} // namespace mqtk
