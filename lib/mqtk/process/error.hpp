#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace mqtk {

// Process exit codes. They follow mosquitto 2.0's clients wherever mosquitto
// has one, so scripts written for mosquitto_pub/mosquitto_sub keep working.
namespace exit_code {
inline constexpr int ok = 0;
// Usage errors, and failures mosquitto reports as a generic error (TCP
// connection refused, unknown host, lost connection).
inline constexpr int failure = 1;
// mqtk-retain-clear: some matched topic could not be cleared or verified
// clear (each is named).
inline constexpr int not_all_cleared = 2;
// mqtk-retain-clear: nothing was cleared because more topics matched than
// --max allows, or the confirmation was not given.
inline constexpr int not_confirmed = 3;
// Reconnecting gave up: --reconnect-timeout passed without a connection
// (mosquitto's MOSQ_ERR_CONN_LOST).
inline constexpr int connection_lost = 7;
// A TLS handshake failed; the failed check is named (mosquitto's
// MOSQ_ERR_TLS, which mosquitto_pub exits with).
inline constexpr int tls = 8;
// -W timeout expired (mosquitto's MOSQ_ERR_TIMEOUT).
inline constexpr int timeout = 27;
} // namespace exit_code

// An error that ends the tool: one human line for stderr and the exit code.
// The message never carries a password.
class Error : public std::runtime_error
{
public:
  Error(int code, const std::string& message)
    : std::runtime_error(message),
      m_code(code)
  {
  }
  int code() const noexcept { return m_code; }

private:
  int m_code;
};

// Bad command line or bad user input detected before connecting: exit 1.
class UsageError : public Error
{
public:
  explicit UsageError(const std::string& message)
    : Error(exit_code::failure, message)
  {
  }
};

// A connection's deadline error ("while connecting to HOST:PORT"), told as
// the flag that set the deadline: "timed out after 2 s (-W) while ...".
inline Error timed_out(const Error& e, double seconds, std::string_view flag, int code = exit_code::timeout)
{
  return Error(code, fmt::format("timed out after {} s ({}) {}", seconds, flag, e.what()));
}

} // namespace mqtk
