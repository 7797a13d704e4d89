#pragma once

#include "mqtk/connection/options.hpp"
#include "mqtk/paho/library.hpp"
#include "mqtk/paho/tls_failure.hpp"

#include <string>

namespace mqtk {

// One connection's TLS settings as Paho takes them (MQTTAsync_SSLOptions),
// with what Paho's TLS callbacks are handed: the TlsFailure its handshake
// checks fill, the TLS-PSK identity and key. Paho keeps those pointers for
// the client's life, so this must outlive the client; not copyable.
class TlsSettings
{
public:
  // From `o` (resolve()d, with o.tls), for `paho` (the TLS build; the plain
  // build has no handshake checks, and TlsFailure then stays empty).
  // Certificates are verified and the host name checked unless --insecure;
  // with --psk the key authenticates the broker: no certificate is trusted
  // (Paho's default trust store off) and there is no name to check.
  TlsSettings(const ConnectionOptions& o, const PahoLibrary& paho);
  TlsSettings(const TlsSettings&) = delete;
  TlsSettings& operator=(const TlsSettings&) = delete;

  // For MQTTAsync_connectOptions::ssl.
  MQTTAsync_SSLOptions* options() noexcept { return &m_ssl; }

  // What the last connection attempt's handshake found; clear() it before
  // each attempt.
  TlsFailure& failure() noexcept { return m_failure; }

  // Paho's ssl_psk_cb: copies the identity (with its NUL) and the key.
  // Returns the key's length, 0 (no PSK: the handshake fails) when either
  // does not fit.
  static unsigned int give_psk(const char* hint, char* identity, unsigned int max_identity_len, unsigned char* psk,
                               unsigned int max_psk_len, void* context);

private:
  MQTTAsync_SSLOptions m_ssl;
  std::string m_alpn; // wire format: length byte + name
  std::string m_psk_identity;
  std::string m_psk_key; // bytes
  TlsFailure m_failure;
};

} // namespace mqtk
