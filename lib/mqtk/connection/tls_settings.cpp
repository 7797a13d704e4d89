#include "mqtk/connection/tls_settings.hpp"

namespace mqtk {

TlsSettings::TlsSettings(const ConnectionOptions& o, const PahoLibrary& paho)
  : m_ssl(MQTTAsync_SSLOptions_initializer)
{
  auto text_or_null = [](const std::string& text) { return text.empty() ? nullptr : text.c_str(); };
  m_ssl.enableServerCertAuth = 1;
  // Paho's "verify" is its host name check; on unless --insecure.
  m_ssl.verify = o.insecure ? 0 : 1;
  m_ssl.trustStore = text_or_null(o.cafile);
  m_ssl.CApath = text_or_null(o.capath);
  if (!o.cert.empty()) {
    m_ssl.keyStore = o.cert.c_str();
    m_ssl.privateKey = text_or_null(o.key);
  }
  m_ssl.enabledCipherSuites = text_or_null(o.ciphers);
  if (o.tls_version == "tlsv1.2") {
    m_ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
  } else if (o.tls_version == "tlsv1.1") {
    m_ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_1;
  }
  if (!o.tls_alpn.empty() && o.tls_alpn.size() <= 255) {
    m_alpn.push_back(static_cast<char>(o.tls_alpn.size()));
    m_alpn += o.tls_alpn;
    m_ssl.protos = reinterpret_cast<const unsigned char*>(m_alpn.c_str());
    m_ssl.protos_len = static_cast<unsigned int>(m_alpn.size());
  }
  m_failure.client_certificate = !o.cert.empty();
  if (paho.tls_error_callback != nullptr) {
    m_ssl.ssl_error_cb = paho.tls_error_callback;
    m_ssl.ssl_error_context = &m_failure;
  }
}

} // namespace mqtk
