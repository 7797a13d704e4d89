#include "mqtk/connection/credentials.hpp"

#include "mqtk/process/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace mqtk {

namespace {

// MQTT's length prefix: a password is at most 65535 bytes.
constexpr std::size_t max_password_bytes = 65535;

std::optional<std::string> from_environment(const EnvironmentLookup& environment, const char* name)
{
  const char* value = environment ? environment(name) : nullptr;
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  return std::string(value);
}

} // namespace

void resolve_credentials(ConnectionOptions& o, const std::optional<std::string>& url_username,
                         const std::optional<std::string>& url_password, const EnvironmentLookup& environment)
{
  if (o.password && !o.password_file.empty()) {
    throw UsageError("-P and --pw-file cannot be used together; give the password once");
  }
  o.username_from.clear();
  o.password_from.clear();
  if (o.username) {
    o.username_from = "-u";
  }
  if (!o.password_file.empty()) {
    o.password = read_password_file(o.password_file);
    o.password_from = "--pw-file";
  } else if (o.password) {
    o.password_from = "-P";
  }
  // As mosquitto, the URL's user and password replace -u and -P.
  if (url_username) {
    o.username = url_username;
    o.username_from = "-L";
  }
  if (url_password) {
    o.password = url_password;
    o.password_from = "-L";
  }
  if (!o.username) {
    if (auto value = from_environment(environment, username_variable)) {
      o.username = std::move(value);
      o.username_from = username_variable;
    }
  }
  if (!o.password) {
    if (auto value = from_environment(environment, password_variable)) {
      o.password = std::move(value);
      o.password_from = password_variable;
    }
  }
  if (o.password && !o.username) {
    throw UsageError(fmt::format("{}: a password needs a username (-u, or {} in the environment)",
                                 o.password_from == password_variable ? fmt::format("{} (environment)", password_variable)
                                                                      : o.password_from,
                                 username_variable));
  }
}

std::string read_password_file(const std::string& path)
{
  auto fail = [&path](std::string_view why) -> UsageError {
    return UsageError(fmt::format("--pw-file: cannot read '{}': {}", path, why));
  };
  auto bad_line = [&path](std::string_view what) -> UsageError {
    return UsageError(fmt::format("--pw-file: the first line of '{}' {}", path, what));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    throw fail(std::strerror(errno));
  }
  struct stat st{};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  // A pipe or terminal is read a byte at a time, so that nothing after the
  // first line is taken from it.
  const std::size_t step = regular ? 4096 : 1;
  std::string text;
  std::size_t line_end = std::string::npos;
  int error = 0;
  bool read_any = false;
  while (line_end == std::string::npos && text.size() <= max_password_bytes + 1) {
    const std::size_t old = text.size();
    text.resize(old + step);
    const ssize_t n = ::read(fd, text.data() + old, step);
    if (n < 0 && errno == EINTR) {
      text.resize(old);
      continue;
    }
    if (n <= 0) {
      error = n < 0 ? errno : 0;
      text.resize(old);
      break;
    }
    read_any = true;
    text.resize(old + static_cast<std::size_t>(n));
    line_end = text.find('\n', old);
  }
  ::close(fd);
  if (error != 0) {
    throw fail(std::strerror(error));
  }
  if (!read_any) {
    throw UsageError(fmt::format("--pw-file: '{}' is empty (the password is its first line)", path));
  }
  if (line_end != std::string::npos) {
    text.resize(line_end);
  }
  if (!text.empty() && text.back() == '\r') {
    text.pop_back();
  }
  if (text.empty()) {
    throw bad_line("is empty (the password is the first line)");
  }
  if (text.size() > max_password_bytes) {
    throw bad_line("is longer than 65535 bytes (MQTT's limit for a password)");
  }
  return text;
}

namespace {

enum class Secret { none, password, url };

Secret secret_of(std::string_view name)
{
  if (name == "-P" || name == "--pw" || name == "--psk") {
    return Secret::password;
  }
  if (name == "-L" || name == "--url") {
    return Secret::url;
  }
  return Secret::none;
}

// CLI11's detail::valid_first_char: what may follow "-" or "--" in an
// option name.
bool option_char(char c)
{
  return c != '-' && c != '!' && c != ' ' && c != '\n';
}

// The password in a -L value, as parse_broker_url finds it: after the
// first ':' of the user part, which ends at the last '@' before the first
// '/' after "://".
std::optional<std::pair<std::size_t, std::size_t>> url_password_span(std::string_view url)
{
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    return std::nullopt;
  }
  const std::size_t start = sep + 3;
  const auto authority = url.substr(start, url.find('/', start) - start);
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  const auto colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos || colon + 1 == at) {
    return std::nullopt;
  }
  return std::pair{start + colon + 1, at - colon - 1};
}

} // namespace

std::vector<SecretSpan> find_passwords(int argc, const char* const* argv, const OptionArity& arity)
{
  std::vector<SecretSpan> spans;
  // A value of an option of this kind: argv[index] from `offset` on.
  auto value = [&](Secret kind, int index, std::size_t offset) {
    const std::string_view text = std::string_view(argv[index]).substr(offset);
    if (kind == Secret::password && !text.empty()) {
      spans.push_back({index, offset, text.size()});
    } else if (kind == Secret::url) {
      if (auto span = url_password_span(text)) {
        spans.push_back({index, offset + span->first, span->second});
      }
    }
  };
  int i = 1;
  while (i < argc) {
    // What CLI11 sees at this position: the argument, then, after a flag
    // letter, "-" and the rest of it (-dPsecret: -d, then -Psecret).
    // argv[i][j + shift] is current[j] for j >= 1.
    std::string current = argv[i];
    std::size_t shift = 0;
    int next = i + 1;
    auto take_values = [&](Secret kind, int required, int collected) {
      for (; collected < required && next < argc; ++collected, ++next) {
        value(kind, next, 0);
      }
    };
    bool positional_mark = false;
    for (;;) {
      if (current == "--") {
        positional_mark = true;
        break;
      }
      if (current.size() > 2 && current.compare(0, 2, "--") == 0 && option_char(current[2])) {
        const auto eq = current.find('=');
        const std::string name = current.substr(0, eq);
        const auto required = arity(name);
        if (!required || *required == 0) {
          break;
        }
        int collected = 0;
        // CLI11 takes "--pw=" (nothing after '=') as "--pw": the value is the next argument.
        if (eq != std::string::npos && eq + 1 < current.size()) {
          value(secret_of(name), i, eq + 1 + shift);
          collected = 1;
        }
        take_values(secret_of(name), *required, collected);
        break;
      }
      if (current.size() > 1 && current[0] == '-' && option_char(current[1])) {
        const std::string name{'-', current[1]};
        const auto required = arity(name);
        if (!required) {
          break; // unknown, or a negative number
        }
        if (*required == 0) {
          if (current.size() == 2) {
            break;
          }
          current = "-" + current.substr(2); // a flag: CLI11 goes on with the rest
          shift += 1;
          continue;
        }
        int collected = 0;
        if (current.size() > 2) {
          value(secret_of(name), i, 2 + shift);
          collected = 1;
        }
        take_values(secret_of(name), *required, collected);
        break;
      }
      break; // a positional argument or a subcommand
    }
    if (positional_mark) {
      break;
    }
    i = next;
  }
  return spans;
}

namespace {

void collect_arities(const CLI::App& app, std::map<std::string, int, std::less<>>& out)
{
  for (const CLI::Option* o : app.get_options()) {
    // CLI11 2.1's _parse_arg: a flag takes nothing; an option takes this
    // many arguments whatever they look like, and more only if they do
    // not look like options.
    const int required =
      o->get_items_expected_max() == 0 ? 0 : std::min(o->get_type_size_min(), o->get_items_expected_min());
    auto add = [&](const std::string& name) {
      auto [it, inserted] = out.emplace(name, required);
      if (!inserted) {
        it->second = std::max(it->second, required); // subcommands that differ: the wider one
      }
    };
    for (const auto& s : o->get_snames()) {
      add("-" + s);
    }
    for (const auto& l : o->get_lnames()) {
      add("--" + l);
    }
  }
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    collect_arities(*sub, out);
  }
}

void collect_results(const CLI::App& app, std::string_view long_name, std::vector<std::string>& out)
{
  for (const CLI::Option* o : app.get_options()) {
    if (o->check_lname(std::string(long_name))) {
      out.insert(out.end(), o->results().begin(), o->results().end());
    }
  }
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    collect_results(*sub, long_name, out);
  }
}

} // namespace

std::vector<SecretSpan> find_passwords(const CLI::App& app, int argc, const char* const* argv)
{
  std::map<std::string, int, std::less<>> arities;
  collect_arities(app, arities);
  auto spans = find_passwords(argc, argv, [&arities](std::string_view name) -> std::optional<int> {
    auto it = arities.find(name);
    return it == arities.end() ? std::nullopt : std::optional<int>(it->second);
  });

  // What CLI11 took as passwords, each of which the scan must have placed.
  std::vector<std::string> secrets;
  collect_results(app, "pw", secrets);
  collect_results(app, "psk", secrets);
  std::vector<std::string> urls;
  collect_results(app, "url", urls);
  for (const auto& url : urls) {
    if (auto span = url_password_span(url)) {
      secrets.push_back(url.substr(span->first, span->second));
    }
  }
  auto text_of = [argv](const SecretSpan& s) { return std::string_view(argv[s.index]).substr(s.offset, s.length); };
  for (const auto& secret : secrets) {
    if (secret.empty()
        || std::any_of(spans.begin(), spans.end(), [&](const SecretSpan& s) { return text_of(s) == secret; })) {
      continue;
    }
    // Not where the scan looked (a CLI11 rule it does not know): hide the
    // text wherever it is.
    for (int i = 1; i < argc; ++i) {
      const std::string_view arg = argv[i];
      for (auto at = arg.find(secret); at != std::string_view::npos; at = arg.find(secret, at + secret.size())) {
        spans.push_back({i, at, secret.size()});
      }
    }
  }
  return spans;
}

void blank_passwords(char** argv, const std::vector<SecretSpan>& spans)
{
  for (const auto& s : spans) {
    std::memset(argv[s.index] + s.offset, '*', s.length);
  }
}

bool follows_password(int index, const std::vector<SecretSpan>& spans)
{
  return std::any_of(spans.begin(), spans.end(), [index](const SecretSpan& s) { return s.index + 1 == index; });
}

std::string credentials_refused_note(const ConnectionOptions& o, int exit_code)
{
  const bool refused = o.mqtt_version == 5 ? (exit_code == 134 || exit_code == 135)
                                           : (exit_code == 4 || exit_code == 5);
  if (!refused) {
    return {};
  }
  if (!o.username) {
    return fmt::format("; no credentials were given (-u and -P, or {} and {})", username_variable,
                       password_variable);
  }
  const std::string password =
    o.password ? fmt::format("the password from {}", o.password_from) : std::string("no password");
  return fmt::format("; credentials refused: user '{}' (from {}), {}", *o.username, o.username_from, password);
}

} // namespace mqtk
