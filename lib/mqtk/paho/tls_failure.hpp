#pragma once

#include <mutex>
#include <string>
#include <string_view>

namespace mqtk {

// Which check of a TLS connection failed, as the TLS module's handshake
// checks (tls_checks.cpp) found it from OpenSSL's verification result, its
// errors and the broker's alerts.
enum class TlsCheck
{
  none,
  unknown_ca,                  // the chain does not end at a trusted CA (self-signed, unknown issuer)
  expired,                     // a certificate's notAfter has passed
  not_yet_valid,               // a certificate's notBefore is still to come
  certificate,                 // another verification error of the broker's certificate
  host_name,                   // the certificate does not name the host connected to
  client_certificate_required, // the broker wants a client certificate and got none
  client_certificate_refused,  // the broker refused the client certificate
  protocol_version,            // no TLS version both sides accept
  cipher,                      // no cipher suite both sides accept
  psk,                         // the broker refused the pre-shared key or its identity
  not_tls,                     // the other end does not speak TLS
  setup,                       // the local settings: a certificate, key or CA file, the cipher list
  other,                       // any other TLS error
};

// The first TLS failure of a connection attempt, with its detail (names,
// dates, OpenSSL's reason). Recorded by the TLS module on Paho's threads and
// read by the connection once the attempt failed; safe from any thread.
// Owned by the connection, handed to Paho as the context of its TLS
// callbacks; it also tells the checks what the connection offered.
class TlsFailure
{
public:
  // What the connection offers the broker, for telling a refused key or
  // certificate from other failures. Set before connecting.
  bool psk = false;
  bool client_certificate = false;
  // The one TLS version --tls-version allows, by its number on the wire
  // (0x0304 TLS 1.3, 0x0303 TLS 1.2, 0x0302 TLS 1.1, as OpenSSL's
  // TLS1_x_VERSION); 0: any the library allows. Set before connecting.
  int tls_version = 0;

  // Keeps check and detail unless a failure was already recorded since
  // clear(): the first failure is the cause, later ones its consequences.
  void record(TlsCheck check, std::string detail) noexcept;

  // The recorded failure (TlsCheck::none when there is none); `detail`
  // receives its detail.
  TlsCheck get(std::string& detail) const;

  // Forgets the failure, for the next attempt.
  void clear() noexcept;

private:
  mutable std::mutex m_mutex;
  TlsCheck m_check = TlsCheck::none;
  std::string m_detail;
};

// The stderr text for a failed check: what failed, with `detail`, and what
// to do about it when there is something to do ("certificate has expired
// (notAfter 2025-02-01 00:00:00 UTC, CN=localhost)"). Never empty for a
// check other than none.
std::string describe_tls_failure(TlsCheck check, std::string_view detail);

} // namespace mqtk
