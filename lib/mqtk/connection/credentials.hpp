#pragma once

#include "mqtk/connection/options.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace mqtk {

// The environment variables that give a user name and password when the
// command line gives none (an empty one counts as unset).
inline constexpr const char* username_variable = "MQTK_USERNAME";
inline constexpr const char* password_variable = "MQTK_PASSWORD";

// Looks an environment variable up: its value, or nullptr (::getenv).
using EnvironmentLookup = std::function<const char*(const char*)>;

// Completes o.username and o.password and says where each came from
// (o.username_from, o.password_from): -L's user and password win over -u
// and -P or --pw-file (read here), which win over MQTK_USERNAME and
// MQTK_PASSWORD. `url_username` and `url_password` are -L's. Throws
// UsageError: -P with --pw-file, a --pw-file that cannot be read or is
// empty, a password without a user name (naming where the password came
// from). Never puts a password in a message.
void resolve_credentials(ConnectionOptions& o, const std::optional<std::string>& url_username,
                         const std::optional<std::string>& url_password, const EnvironmentLookup& environment);

// The password in FILE (--pw-file): its first line without the line end
// (LF or CRLF). Reads no further than that line, so FILE may be a pipe
// (`--pw-file <(pass show mqtt)`). Throws UsageError naming the file and
// the reason: cannot be opened or read, empty, an empty first line, a
// line longer than MQTT's 65535 bytes.
std::string read_password_file(const std::string& path);

// Bytes of one argument that hold a password: argv[index][offset ..
// offset + length).
struct SecretSpan
{
  int index = 0;
  std::size_t offset = 0;
  std::size_t length = 0;
  bool operator==(const SecretSpan&) const = default;
};

// What the argument scanner needs to know about an option name ("-P",
// "--pw", "-t"): unknown (nullopt), or how many values it takes at least
// (0: a flag). Values are taken as CLI11 2.1 takes them: attached
// (-Psecret, --pw=secret), else the next arguments, whatever they look like.
using OptionArity = std::function<std::optional<int>(std::string_view name)>;

// Where the passwords are in argv[1 .. argc): the values of -P/--pw and of
// --psk (every one given, not only the last), the password part of
// -L/--url values (mqtt://user:PASSWORD@host), in argument order. Stops at
// "--".
std::vector<SecretSpan> find_passwords(int argc, const char* const* argv, const OptionArity& arity);

// The same, with each option's arity taken from `app` and its option
// groups and subcommands, and then checked against what CLI11 parsed:
// a -P value the scan did not place is found by its text instead.
std::vector<SecretSpan> find_passwords(const CLI::App& app, int argc, const char* const* argv);

// Overwrites each span with '*' in place, so that ps(1) and
// /proc/PID/cmdline no longer show it (the length stays visible).
void blank_passwords(char** argv, const std::vector<SecretSpan>& spans);

// True when argv[index] comes right after a -P value (its next word, when
// a password with spaces was given without quotes): parse errors must not
// repeat it.
bool follows_password(int index, const std::vector<SecretSpan>& spans);

// What a refused connection's message gains when the exit code is a CONNACK
// refusal of the credentials (MQTT 3.1/3.1.1: 4 bad user name or password,
// 5 not authorised; MQTT 5: 134, 135): which credentials were refused, and
// where they came from ("; credentials refused: user 'alice' (-u),
// password from MQTK_PASSWORD"), or that none were given. Empty for any
// other code. Never the password.
std::string credentials_refused_note(const ConnectionOptions& o, int exit_code);

} // namespace mqtk
