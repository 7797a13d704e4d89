#include "mqtk/paho/tls_checks.hpp"

#include "mqtk/paho/tls_failure.hpp"
#if !MQTK_STOCK_PAHO
#include "mqtk/paho/tls_read_ahead.hpp"
#endif

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

extern "C" {
// Paho's and OpenSSL's functions (SSLSocket.h); with --wrap, __real_SYMBOL
// is the original.
int __real_SSLSocket_connect(SSL* ssl, int socket, const char* hostname, int verify,
                             int (*error_callback)(const char*, std::size_t, void*), void* context);
int __real_SSL_read(SSL* ssl, void* buffer, int length);
int __real_SSL_write(SSL* ssl, const void* buffer, int length);
int __real_SSLSocket_setSocketForSSL(void* net, MQTTAsync_SSLOptions* options, const char* hostname,
                                      std::size_t hostname_length);
int __real_SSL_CTX_use_certificate_chain_file(SSL_CTX* ctx, const char* file);
int __real_SSL_CTX_use_PrivateKey_file(SSL_CTX* ctx, const char* file, int type);
int __real_SSL_CTX_load_verify_locations(SSL_CTX* ctx, const char* file, const char* path);
int __real_SSL_CTX_set_cipher_list(SSL_CTX* ctx, const char* list);
SSL_CTX* __real_SSL_CTX_new(const SSL_METHOD* method);
}

namespace {

using mqtk::TlsCheck;
using mqtk::TlsFailure;

// Paho's codes (Socket.h): SSLSocket_connect's "try again" and success.
constexpr int tcpsocket_interrupted = -22;
constexpr int connect_done = 1;

// The first OpenSSL error of the SSLSocket_connect call under way on this
// thread, as the error callback saw it (Paho hands the errors over before
// SSLSocket_connect returns, and takes them off OpenSSL's queue doing so).
thread_local bool in_connect = false;
thread_local unsigned long connect_error = 0;

// The TlsFailure of the SSLSocket_setSocketForSSL call under way on this
// thread (Paho sets the SSL context up there), for the setup steps below.
thread_local TlsFailure* setting_up = nullptr;

// A setup step that failed (rc not 1): the flag it comes from (`what()`),
// and OpenSSL's reason.
template <typename What>
void record_setup(int rc, What what) noexcept
{
  if (rc == 1 || setting_up == nullptr) {
    return;
  }
  try {
    // The first error is the specific one ("no start line", then "PEM lib").
    const char* reason = ERR_reason_error_string(ERR_peek_error());
    setting_up->record(TlsCheck::setup, fmt::format("{}: {}", what(), reason != nullptr ? reason : "refused"));
  } catch (...) {
    // No memory for the text: the failure is reported without it.
  }
}

// The SSL object's slot for the TlsFailure its connection gave Paho.
int failure_slot()
{
  static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return slot;
}

std::string name_text(const X509_NAME* name)
{
  std::string text;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
      char* data = nullptr;
      long size = BIO_get_mem_data(bio, &data);
      text.assign(data, static_cast<std::size_t>(size > 0 ? size : 0));
    }
    BIO_free(bio);
  }
  return text.empty() ? "(no subject)" : text;
}

std::string time_text(const ASN1_TIME* time)
{
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    return "(unreadable date)";
  }
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

// The names a certificate is for: its DNS and IP subject alternative names,
// else its common name.
std::string names_of(X509* cert)
{
  std::string names;
  auto add = [&names](std::string_view name) {
    names += names.empty() ? "" : ", ";
    names += name;
  };
  auto* alt = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; alt != nullptr && i < sk_GENERAL_NAME_num(alt); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(alt, i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = name->d.dNSName;
      add(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                           static_cast<std::size_t>(ASN1_STRING_length(dns))));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      char* text = OPENSSL_buf2hexstr(ASN1_STRING_get0_data(ip), ASN1_STRING_length(ip));
      if (ASN1_STRING_length(ip) == 4) {
        const unsigned char* b = ASN1_STRING_get0_data(ip);
        add(fmt::format("{}.{}.{}.{}", b[0], b[1], b[2], b[3]));
      } else if (text != nullptr) {
        add(fmt::format("IP {}", text));
      }
      OPENSSL_free(text);
    }
  }
  GENERAL_NAMES_free(alt);
  if (names.empty()) {
    char cn[256];
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
      add(cn);
    }
  }
  return names.empty() ? "no name" : names;
}

// The host part of Paho's "host:port" (IPv6 hosts in brackets).
std::string host_of(const char* address)
{
  std::string_view text = address != nullptr ? address : "";
  if (text.starts_with('[')) {
    auto end = text.find(']');
    return std::string(text.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1));
  }
  return std::string(text.substr(0, text.rfind(':')));
}

// The broker's certificate chain as it sent it (leaf first), kept by
// OpenSSL also when its verification failed.
X509* chain_cert(SSL* ssl, bool (*wanted)(X509*))
{
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    if (wanted(sk_X509_value(chain, i))) {
      return sk_X509_value(chain, i);
    }
  }
  return nullptr;
}

// A verification result other than X509_V_OK, with the certificate it is
// about.
void record_verify_result(SSL* ssl, long result, TlsFailure& failure)
{
  switch (result) {
  case X509_V_ERR_CERT_HAS_EXPIRED:
    if (X509* cert = chain_cert(ssl, [](X509* c) { return X509_cmp_current_time(X509_get0_notAfter(c)) < 0; })) {
      failure.record(TlsCheck::expired, fmt::format("notAfter {}, {}", time_text(X509_get0_notAfter(cert)),
                                                    name_text(X509_get_subject_name(cert))));
    } else {
      failure.record(TlsCheck::expired, "");
    }
    return;
  case X509_V_ERR_CERT_NOT_YET_VALID:
    if (X509* cert = chain_cert(ssl, [](X509* c) { return X509_cmp_current_time(X509_get0_notBefore(c)) > 0; })) {
      failure.record(TlsCheck::not_yet_valid, fmt::format("notBefore {}, {}", time_text(X509_get0_notBefore(cert)),
                                                          name_text(X509_get_subject_name(cert))));
    } else {
      failure.record(TlsCheck::not_yet_valid, "");
    }
    return;
  case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
  case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
  case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
  case X509_V_ERR_CERT_UNTRUSTED: {
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
    const int n = chain != nullptr ? sk_X509_num(chain) : 0;
    if (n == 0) {
      failure.record(TlsCheck::unknown_ca, X509_verify_cert_error_string(result));
      return;
    }
    X509* leaf = sk_X509_value(chain, 0);
    X509* top = sk_X509_value(chain, n - 1);
    const std::string leaf_name = name_text(X509_get_subject_name(leaf));
    if (X509_check_issued(top, top) != X509_V_OK) {
      failure.record(TlsCheck::unknown_ca, fmt::format("{} is issued by {}, which is not trusted", leaf_name,
                                                       name_text(X509_get_issuer_name(top))));
    } else if (top == leaf) {
      failure.record(TlsCheck::unknown_ca, fmt::format("{} is self-signed", leaf_name));
    } else {
      failure.record(TlsCheck::unknown_ca, fmt::format("{} is issued by {}, which is not trusted", leaf_name,
                                                       name_text(X509_get_subject_name(top))));
    }
    return;
  }
  default: failure.record(TlsCheck::certificate, X509_verify_cert_error_string(result)); return;
  }
}

// OpenSSL's error `code` (its reason in the SSL library: a broker's alert
// or a failure of the handshake's own), told as a check.
void record_error(SSL* ssl, unsigned long code, TlsFailure& failure)
{
  const char* reason_text = ERR_reason_error_string(code);
  std::string reason = reason_text != nullptr ? reason_text : fmt::format("OpenSSL error {:08x}", code);
  // Whether the broker's certificate arrived: the versions and ciphers were
  // agreed then, so a later handshake failure is about the client.
  const bool got_certificate = SSL_get_peer_cert_chain(ssl) != nullptr;
  if (ERR_GET_LIB(code) != ERR_LIB_SSL) {
    failure.record(TlsCheck::other, reason);
    return;
  }
  switch (ERR_GET_REASON(code)) {
  case SSL_R_WRONG_VERSION_NUMBER:
  case SSL_R_PACKET_LENGTH_TOO_LONG:
  case SSL_R_HTTP_REQUEST:
  case SSL_R_UNEXPECTED_EOF_WHILE_READING:
    if (!got_certificate) {
      failure.record(TlsCheck::not_tls, reason);
      return;
    }
    break;
  case SSL_R_UNSUPPORTED_PROTOCOL:
  case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
  case SSL_R_NO_PROTOCOLS_AVAILABLE:
  case SSL_R_VERSION_TOO_LOW:
  case SSL_R_VERSION_TOO_HIGH: failure.record(TlsCheck::protocol_version, reason); return;
  case SSL_R_NO_SHARED_CIPHER:
  case SSL_R_NO_CIPHERS_AVAILABLE:
  case SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY: failure.record(TlsCheck::cipher, reason); return;
  case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED: failure.record(TlsCheck::client_certificate_required, reason); return;
  case SSL_R_TLSV1_ALERT_UNKNOWN_PSK_IDENTITY: failure.record(TlsCheck::psk, reason); return;
  case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
    if (failure.psk) {
      failure.record(TlsCheck::psk, reason);
    } else if (!got_certificate) {
      failure.record(TlsCheck::cipher, reason);
    } else if (!failure.client_certificate) {
      failure.record(TlsCheck::client_certificate_required, reason);
    } else {
      failure.record(TlsCheck::client_certificate_refused, reason);
    }
    return;
  case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
  case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
  case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
  case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
  case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
  case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
  case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    if (failure.client_certificate) {
      failure.record(TlsCheck::client_certificate_refused, reason);
      return;
    }
    break;
  case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
  case SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC:
  case SSL_R_SSLV3_ALERT_BAD_RECORD_MAC:
  case SSL_R_SSLV3_ALERT_ILLEGAL_PARAMETER:
  case SSL_R_DIGEST_CHECK_FAILED:
    if (failure.psk) {
      failure.record(TlsCheck::psk, reason);
      return;
    }
    break;
  default: break;
  }
  failure.record(TlsCheck::other, reason);
}

// A failed SSLSocket_connect: the handshake, or Paho's host name check
// after it.
void record_connect_failure(SSL* ssl, const char* hostname, unsigned long error, TlsFailure& failure)
{
  if (SSL_is_init_finished(ssl)) {
    // OpenSSL finished the handshake, so Paho's X509_check_host and
    // X509_check_ip_asc refused the name.
    X509* cert = SSL_get0_peer_certificate(ssl);
    failure.record(TlsCheck::host_name,
                   fmt::format("the certificate is for {}, not {}", cert != nullptr ? names_of(cert) : "no name",
                               host_of(hostname)));
    return;
  }
  if (long result = SSL_get_verify_result(ssl); result != X509_V_OK) {
    if (failure.psk) {
      // No CA is trusted with a pre-shared key.
      failure.record(TlsCheck::psk, "it answered with a certificate: not a pre-shared key listener");
      return;
    }
    record_verify_result(ssl, result, failure);
    return;
  }
  if (error != 0) {
    record_error(ssl, error, failure);
    return;
  }
  if (SSL_get_peer_cert_chain(ssl) == nullptr) {
    // mosquitto's plain listener closes at the first byte of a ClientHello.
    failure.record(TlsCheck::not_tls, "it closed the connection at the first TLS message");
    return;
  }
  failure.record(TlsCheck::other, "the broker closed the connection during the TLS handshake");
}

} // namespace

extern "C" {

int mqtk_tls_error_callback(const char* text, std::size_t length, void* context)
{
  // "THREAD:error:0A000086:SSL routines:FUNCTION:REASON:FILE:LINE:DATA"
  std::string_view line(text, length);
  auto at = line.find("error:");
  if (at == std::string_view::npos || context == nullptr) {
    return 1;
  }
  const unsigned long code = std::strtoul(std::string(line.substr(at + 6, 8)).c_str(), nullptr, 16);
  if (in_connect) {
    if (connect_error == 0) {
      connect_error = code;
    }
    return 1;
  }
  try {
    const char* reason = ERR_reason_error_string(code);
    static_cast<TlsFailure*>(context)->record(TlsCheck::setup, reason != nullptr ? reason : std::string(line));
  } catch (...) {
    // No memory for the text: the failure is reported without it.
  }
  return 1;
}

int __wrap_SSLSocket_connect(SSL* ssl, int socket, const char* hostname, int verify,
                             int (*error_callback)(const char*, std::size_t, void*), void* context)
{
  auto* failure = error_callback == &mqtk_tls_error_callback ? static_cast<TlsFailure*>(context) : nullptr;
  if (failure != nullptr && ssl != nullptr && SSL_get_ex_data(ssl, failure_slot()) == nullptr) {
    SSL_set_ex_data(ssl, failure_slot(), failure);
  }
  in_connect = true;
  connect_error = 0;
  const int rc = __real_SSLSocket_connect(ssl, socket, hostname, verify, error_callback, context);
  in_connect = false;
  if (failure != nullptr && ssl != nullptr && rc != connect_done && rc != tcpsocket_interrupted) {
    try {
      record_connect_failure(ssl, hostname, connect_error, *failure);
    } catch (...) {
      // No memory for the text: the failure is reported without it.
    }
  }
  return rc;
}

int __wrap_SSL_read(SSL* ssl, void* buffer, int length)
{
  int rc = __real_SSL_read(ssl, buffer, length);
#if !MQTK_STOCK_PAHO
  if (rc > 0 && rc < length) {
    rc = mqtk::tls_read_ahead_fill(ssl, buffer, rc, length);
  }
#endif
  if (rc <= 0 && SSL_get_error(ssl, rc) == SSL_ERROR_SSL) {
    if (auto* failure = static_cast<TlsFailure*>(SSL_get_ex_data(ssl, failure_slot()))) {
      try {
        record_error(ssl, ERR_peek_last_error(), *failure);
      } catch (...) {
        // No memory for the text: the failure is reported without it.
      }
    }
  }
  return rc;
}

int __wrap_SSL_write(SSL* ssl, const void* buffer, int length)
{
  const int rc = __real_SSL_write(ssl, buffer, length);
  if (rc > 0) {
    return rc;
  }
  const int error = SSL_get_error(ssl, rc);
  auto* failure = static_cast<TlsFailure*>(SSL_get_ex_data(ssl, failure_slot()));
  if (failure != nullptr && (error == SSL_ERROR_SYSCALL || error == SSL_ERROR_SSL)) {
    // A broker that refuses a TLS 1.3 client certificate sends its alert
    // and closes as soon as the client's side of the handshake is done; the
    // client's first write then meets the reset. The alert, when it came
    // first, is still to be read: the connection is lost either way.
    const int saved_errno = errno;
    char byte = 0;
    if (__wrap_SSL_read(ssl, &byte, 1) <= 0 && failure->client_certificate) {
      failure->record(TlsCheck::client_certificate_refused, "the broker closed the connection after the handshake");
    }
    errno = saved_errno;
  }
  return rc;
}

int __wrap_SSLSocket_setSocketForSSL(void* net, MQTTAsync_SSLOptions* options, const char* hostname,
                                      std::size_t hostname_length)
{
  const bool ours = options != nullptr && options->ssl_error_cb == &mqtk_tls_error_callback;
  setting_up = ours ? static_cast<TlsFailure*>(options->ssl_error_context) : nullptr;
  const int rc = __real_SSLSocket_setSocketForSSL(net, options, hostname, hostname_length);
  if (rc != 1 && setting_up != nullptr) {
    setting_up->record(TlsCheck::setup, "");
  }
  setting_up = nullptr;
  return rc;
}

int __wrap_SSL_CTX_use_certificate_chain_file(SSL_CTX* ctx, const char* file)
{
  const int rc = __real_SSL_CTX_use_certificate_chain_file(ctx, file);
  record_setup(rc, [file] { return fmt::format("--cert {}", file); });
  return rc;
}

int __wrap_SSL_CTX_use_PrivateKey_file(SSL_CTX* ctx, const char* file, int type)
{
  const int rc = __real_SSL_CTX_use_PrivateKey_file(ctx, file, type);
  record_setup(rc, [file] { return fmt::format("--key {}", file); });
  return rc;
}

int __wrap_SSL_CTX_load_verify_locations(SSL_CTX* ctx, const char* file, const char* path)
{
  const int rc = __real_SSL_CTX_load_verify_locations(ctx, file, path);
  record_setup(rc, [file, path] {
    return file != nullptr ? fmt::format("--cafile {}", file) : fmt::format("--capath {}", path);
  });
  return rc;
}

int __wrap_SSL_CTX_set_cipher_list(SSL_CTX* ctx, const char* list)
{
  const int rc = __real_SSL_CTX_set_cipher_list(ctx, list);
  record_setup(rc, [list] { return fmt::format("--ciphers '{}'", list); });
  return rc;
}

SSL_CTX* __wrap_SSL_CTX_new(const SSL_METHOD* method)
{
  SSL_CTX* ctx = __real_SSL_CTX_new(method);
  if (ctx != nullptr && setting_up != nullptr && setting_up->tls_version != 0) {
    const int version = setting_up->tls_version;
    if (SSL_CTX_set_min_proto_version(ctx, version) != 1 || SSL_CTX_set_max_proto_version(ctx, version) != 1) {
      record_setup(0, [] { return std::string("--tls-version"); });
      SSL_CTX_free(ctx);
      return nullptr;
    }
  }
  return ctx;
}
}
