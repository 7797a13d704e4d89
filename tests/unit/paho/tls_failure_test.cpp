#include "mqtk/paho/tls_failure.hpp"

#include <doctest/doctest.h>

#include <string>

TEST_CASE("tls_failure: the first failure recorded is kept until cleared")
{
  mqtk::TlsFailure failure;
  std::string detail = "stale";
  CHECK(failure.get(detail) == mqtk::TlsCheck::none);
  CHECK(detail.empty());
  failure.record(mqtk::TlsCheck::none, "ignored");
  failure.record(mqtk::TlsCheck::expired, "notAfter 2025-02-01 00:00:00 UTC, CN=localhost");
  failure.record(mqtk::TlsCheck::other, "the connection was lost");
  CHECK(failure.get(detail) == mqtk::TlsCheck::expired);
  CHECK(detail == "notAfter 2025-02-01 00:00:00 UTC, CN=localhost");
  failure.clear();
  CHECK(failure.get(detail) == mqtk::TlsCheck::none);
  failure.record(mqtk::TlsCheck::host_name, "");
  CHECK(failure.get(detail) == mqtk::TlsCheck::host_name);
}

TEST_CASE("tls_failure: each check is told with its detail and what to do")
{
  using mqtk::describe_tls_failure;
  using mqtk::TlsCheck;
  CHECK(describe_tls_failure(TlsCheck::none, "x").empty());
  CHECK(describe_tls_failure(TlsCheck::expired, "notAfter 2025-02-01 00:00:00 UTC, CN=localhost")
        == "certificate has expired (notAfter 2025-02-01 00:00:00 UTC, CN=localhost)");
  CHECK(describe_tls_failure(TlsCheck::expired, "") == "certificate has expired");
  CHECK(describe_tls_failure(TlsCheck::unknown_ca, "CN=a is self-signed")
        == "certificate not trusted: unknown CA (CN=a is self-signed); give the CA that signed it with --cafile or "
           "--capath");
  CHECK(describe_tls_failure(TlsCheck::host_name, "the certificate is for a, not b")
        == "host name mismatch (the certificate is for a, not b); --insecure skips this check");
  CHECK(describe_tls_failure(TlsCheck::client_certificate_required, "tlsv13 alert certificate required")
        == "the broker requires a client certificate (tlsv13 alert certificate required); give one with --cert and "
           "--key");
  CHECK(describe_tls_failure(TlsCheck::protocol_version, "tlsv1 alert protocol version")
        == "no TLS protocol version both sides accept (tlsv1 alert protocol version)");
  CHECK(describe_tls_failure(TlsCheck::setup, "--ciphers 'X': no cipher match")
        == "cannot use the TLS settings (--ciphers 'X': no cipher match)");
  CHECK(describe_tls_failure(TlsCheck::other, "") == "TLS error");
  CHECK(describe_tls_failure(TlsCheck::other, "bad thing") == "bad thing");
  // Every check has words of its own.
  for (int c = static_cast<int>(TlsCheck::unknown_ca); c <= static_cast<int>(TlsCheck::other); ++c) {
    CHECK_FALSE(describe_tls_failure(static_cast<TlsCheck>(c), "").empty());
  }
}
