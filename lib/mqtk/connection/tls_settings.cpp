#include "mqtk/connection/tls_settings.hpp"

#include <cstring>

namespace mqtk {

TlsSettings::TlsSettings(const ConnectionOptions& o, const PahoLibrary& paho)
  : m_ssl(MQTTAsync_SSLOptions_initializer),
    m_psk_identity(o.psk_identity),
    m_psk_key(o.psk_key)
{
  auto text_or_null = [](const std::string& text) { return text.empty() ? nullptr : text.c_str(); };
  m_ssl.enableServerCertAuth = 1;
  // Paho's "verify" is its host name check; on unless --insecure. A PSK
  // handshake has no certificate to check it against.
  m_ssl.verify = o.insecure || !m_psk_key.empty() ? 0 : 1;
  m_ssl.trustStore = text_or_null(o.cafile);
  m_ssl.CApath = text_or_null(o.capath);
  if (!o.cert.empty()) {
    m_ssl.keyStore = o.cert.c_str();
    m_ssl.privateKey = text_or_null(o.key);
  }
  m_ssl.enabledCipherSuites = text_or_null(o.ciphers);
  // Paho built against OpenSSL 1.1 or later ignores sslVersion (its
  // context always takes any version): the TLS module pins the version
  // from m_failure.tls_version instead (paho/tls_checks.hpp).
  if (o.tls_version == "tlsv1.3") {
    m_failure.tls_version = 0x0304;
  } else if (o.tls_version == "tlsv1.2") {
    m_ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
    m_failure.tls_version = 0x0303;
  } else if (o.tls_version == "tlsv1.1") {
    m_ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_1;
    m_failure.tls_version = 0x0302;
  }
  if (!o.tls_alpn.empty() && o.tls_alpn.size() <= 255) {
    m_alpn.push_back(static_cast<char>(o.tls_alpn.size()));
    m_alpn += o.tls_alpn;
    m_ssl.protos = reinterpret_cast<const unsigned char*>(m_alpn.c_str());
    m_ssl.protos_len = static_cast<unsigned int>(m_alpn.size());
  }
  if (!m_psk_key.empty()) {
    m_ssl.ssl_psk_cb = &TlsSettings::give_psk;
    m_ssl.ssl_psk_context = this;
    // As Paho advises: with PSK no CA is trusted, so a broker that answers
    // with a certificate instead (any certificate, no host name check
    // here) fails verification.
    m_ssl.disableDefaultTrustStore = 1;
  }
  m_failure.psk = !m_psk_key.empty();
  m_failure.client_certificate = !o.cert.empty();
  if (paho.tls_error_callback != nullptr) {
    m_ssl.ssl_error_cb = paho.tls_error_callback;
    m_ssl.ssl_error_context = &m_failure;
  }
}

unsigned int TlsSettings::give_psk(const char*, char* identity, unsigned int max_identity_len, unsigned char* psk,
                                   unsigned int max_psk_len, void* context)
{
  const auto& s = *static_cast<const TlsSettings*>(context);
  if (s.m_psk_identity.size() + 1 > max_identity_len || s.m_psk_key.size() > max_psk_len) {
    return 0;
  }
  std::memcpy(identity, s.m_psk_identity.c_str(), s.m_psk_identity.size() + 1);
  std::memcpy(psk, s.m_psk_key.data(), s.m_psk_key.size());
  return static_cast<unsigned int>(s.m_psk_key.size());
}

} // namespace mqtk
