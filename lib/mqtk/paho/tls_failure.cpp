#include "mqtk/paho/tls_failure.hpp"

#include <fmt/format.h>

namespace mqtk {

void TlsFailure::record(TlsCheck check, std::string detail) noexcept
{
  std::lock_guard lock(m_mutex);
  if (m_check == TlsCheck::none && check != TlsCheck::none) {
    m_check = check;
    m_detail = std::move(detail);
  }
}

TlsCheck TlsFailure::get(std::string& detail) const
{
  std::lock_guard lock(m_mutex);
  detail = m_detail;
  return m_check;
}

void TlsFailure::clear() noexcept
{
  std::lock_guard lock(m_mutex);
  m_check = TlsCheck::none;
  m_detail.clear();
}

std::string describe_tls_failure(TlsCheck check, std::string_view detail)
{
  // "(detail)" when there is one.
  auto in_brackets = [detail] { return detail.empty() ? std::string() : fmt::format(" ({})", detail); };
  switch (check) {
  case TlsCheck::none: return {};
  case TlsCheck::unknown_ca:
    return fmt::format("certificate not trusted: unknown CA{}; give the CA that signed it with --cafile or --capath",
                       in_brackets());
  case TlsCheck::expired: return fmt::format("certificate has expired{}", in_brackets());
  case TlsCheck::not_yet_valid: return fmt::format("certificate is not yet valid{}", in_brackets());
  case TlsCheck::certificate: return fmt::format("certificate verification failed{}", in_brackets());
  case TlsCheck::host_name:
    return fmt::format("host name mismatch{}; --insecure skips this check", in_brackets());
  case TlsCheck::client_certificate_required:
    return fmt::format("the broker requires a client certificate{}; give one with --cert and --key", in_brackets());
  case TlsCheck::client_certificate_refused:
    return fmt::format("the broker refused the client certificate{}", in_brackets());
  case TlsCheck::protocol_version: return fmt::format("no TLS protocol version both sides accept{}", in_brackets());
  case TlsCheck::cipher: return fmt::format("no cipher suite both sides accept{}", in_brackets());
  case TlsCheck::psk:
    return fmt::format("the broker refused the pre-shared key{}; check --psk and --psk-identity", in_brackets());
  case TlsCheck::not_tls:
    return fmt::format("the broker did not answer in TLS{}; is the port a plain MQTT listener?", in_brackets());
  case TlsCheck::setup: return fmt::format("cannot use the TLS settings{}", in_brackets());
  case TlsCheck::other: break;
  }
  return detail.empty() ? std::string("TLS error") : std::string(detail);
}

} // namespace mqtk
