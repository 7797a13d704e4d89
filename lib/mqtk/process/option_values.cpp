#include "mqtk/process/option_values.hpp"

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>

#include <fmt/format.h>

namespace mqtk {

namespace {

// The value as given, quoted for a message (cut when long).
std::string shown(const std::string& value)
{
  return value.size() > 40 ? fmt::format("'{}...'", value.substr(0, 40)) : fmt::format("'{}'", value);
}

CLI::Validator plain(std::function<std::string(std::string&)> check)
{
  CLI::Validator v(std::move(check), "", "");
  return v;
}

// Optimal string alignment distance: insertions, deletions, substitutions
// and swaps of neighbours (--qso for --qos) cost 1.
std::size_t edit_distance(std::string_view a, std::string_view b)
{
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) {
    d[i][0] = i;
  }
  for (std::size_t j = 0; j <= b.size(); ++j) {
    d[0][j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

void collect_names(const CLI::App& app, std::vector<std::string>& out)
{
  for (const CLI::Option* o : app.get_options()) {
    for (const auto& s : o->get_snames()) {
      out.push_back("-" + s);
    }
    for (const auto& l : o->get_lnames()) {
      out.push_back("--" + l);
    }
  }
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    collect_names(*sub, out);
  }
}

// "--count: 1 required COUNT missing" -> "--count".
std::string leading_name(const std::string& what)
{
  const auto colon = what.find(": ");
  return colon == std::string::npos ? std::string() : what.substr(0, colon);
}

CLI::Option* find_option(CLI::App& app, const std::string& name)
{
  if (CLI::Option* o = app.get_option_no_throw(name)) {
    return o;
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (CLI::Option* o = find_option(*sub, name)) {
      return o;
    }
  }
  return nullptr;
}

// "-q/--qos" for the option called `name` in a CLI11 message.
std::string all_names(CLI::App& app, const std::string& name)
{
  CLI::Option* o = find_option(app, name);
  if (o == nullptr) {
    return name;
  }
  std::vector<std::string> names;
  for (const auto& s : o->get_snames()) {
    names.push_back("-" + s);
  }
  for (const auto& l : o->get_lnames()) {
    names.push_back("--" + l);
  }
  return names.empty() ? name : fmt::format("{}", fmt::join(names, "/"));
}

} // namespace

CLI::Validator integer_in(long long lo, long long hi, std::string what)
{
  return plain([lo, hi, what](std::string& value) -> std::string {
    errno = 0;
    char* end = nullptr;
    const long long n = std::strtoll(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || errno == ERANGE || n < lo || n > hi) {
      return fmt::format("expected {}, not {}", what, shown(value));
    }
    // What was checked is what is stored: CLI11 would read "010" as octal.
    value = std::to_string(n);
    return {};
  });
}

CLI::Validator number_in(double lo, double hi, std::string what, bool above_lo)
{
  return plain([lo, hi, what, above_lo](std::string& value) -> std::string {
    char* end = nullptr;
    const double x = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || !std::isfinite(x) || x < lo || (above_lo && x == lo) || x > hi) {
      return fmt::format("expected {}, not {}", what, shown(value));
    }
    return {};
  });
}

CLI::Validator one_of(std::vector<std::string> choices)
{
  std::string list;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  }
  return plain([choices, list](std::string& value) -> std::string {
    if (std::find(choices.begin(), choices.end(), value) != choices.end()) {
      return {};
    }
    const std::string near = nearest_name(value, choices);
    return fmt::format("expected {}, not {}{}", list, shown(value),
                       near.empty() ? std::string() : fmt::format(" (did you mean {}?)", near));
  });
}

void refuse_option_names_as_values(CLI::App& app)
{
  // One set for every option's check: copied into each, it cost a start
  // 3 ms and 900 KiB.
  const auto names = option_names(app);
  const auto known = std::make_shared<const std::set<std::string, std::less<>>>(names.begin(), names.end());
  // Free text (a message, a password, a template) may be anything; topics
  // too: mosquitto takes `-t -t` as the topic "-t".
  static const std::set<std::string_view> free_text = {
    "--message",  "--will-payload", "--pw",          "--username",   "--id",          "--id-prefix",
    "--format",   "--alert-message", "--property",   "--exec-on",    "--topic",       "--filter-out",
    "--unsubscribe", "--will-topic", "--alert-topic", "--marker-topic"};
  std::function<void(CLI::App&)> install = [&](CLI::App& a) {
    for (CLI::Option* o : a.get_options()) {
      if (o->get_type_size() == 0) {
        continue; // a flag
      }
      const std::string me = o->get_name();
      if (free_text.count(me) != 0) {
        continue;
      }
      o->check(plain([known, me](std::string& value) -> std::string {
        if (!value.empty() && value[0] == '-' && known->count(value) != 0) {
          return fmt::format("expected a value, not the option '{}' (give {}'s value right after it)", value, me);
        }
        return {};
      }));
    }
    for (CLI::App* sub : a.get_subcommands([](CLI::App*) { return true; })) {
      install(*sub);
    }
  };
  install(app);
}

std::vector<std::string> option_names(const CLI::App& app)
{
  std::vector<std::string> out;
  collect_names(app, out);
  return out;
}

std::string nearest_name(std::string_view given, const std::vector<std::string>& names)
{
  if (given.size() == 2 && given[0] == '-') {
    // A one-letter option: only the same letter in the other case (-Q: -q);
    // any other letter is as near as every other one.
    for (const auto& n : names) {
      if (n.size() == 2 && n[0] == '-' && n[1] != given[1]
          && std::tolower(static_cast<unsigned char>(n[1])) == std::tolower(static_cast<unsigned char>(given[1]))) {
        return n;
      }
    }
    return {};
  }
  std::string best;
  bool tie = false;
  std::size_t best_distance = std::max<std::size_t>(1, given.size() / 3) + 1;
  for (const auto& n : names) {
    const std::size_t d = edit_distance(given, n);
    if (d < best_distance) {
      best_distance = d;
      best = n;
      tie = false;
    } else if (d == best_distance && !best.empty() && n != best) {
      tie = true;
    }
  }
  if (!best.empty()) {
    return tie ? std::string() : best;
  }
  if (given.size() < 3) {
    return {};
  }
  // A unique name that starts with what was given (--retain-only).
  for (const auto& n : names) {
    if (n.size() > given.size() && n.compare(0, given.size(), given) == 0) {
      if (!best.empty()) {
        return {};
      }
      best = n;
    }
  }
  return best;
}

std::string plain_parse_error(const CLI::ParseError& e, CLI::App& app)
{
  const std::string what = e.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    // The stray arguments in the order given.
    const std::vector<std::string> extras = app.remaining(true);
    const auto names = option_names(app);
    for (const auto& arg : extras) {
      if (arg.size() > 1 && arg[0] == '-' && !(arg[1] >= '0' && arg[1] <= '9') && arg[1] != '.') {
        const std::string flag = arg.substr(0, arg.find('='));
        const std::string near = nearest_name(flag, names);
        return near.empty() ? fmt::format("unknown option '{}'", flag)
                            : fmt::format("unknown option '{}'; did you mean {}?", flag, near);
      }
    }
    if (!extras.empty()) {
      return fmt::format("unexpected argument '{}' (each option takes one value; quote a value with spaces)",
                         extras.front());
    }
    return what;
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr) {
    const std::string name = leading_name(what);
    if (what.find(" missing") != std::string::npos) {
      CLI::Option* o = find_option(app, name);
      const std::string type = o != nullptr ? o->get_type_name() : std::string();
      return type.empty() ? fmt::format("{} needs a value", all_names(app, name))
                          : fmt::format("{} needs a value: {}", all_names(app, name), type);
    }
    if (what.find("At Most") != std::string::npos) {
      return fmt::format("{} was given more than once; it takes one value", all_names(app, name));
    }
  }
  if (dynamic_cast<const CLI::ValidationError*>(&e) != nullptr
      || dynamic_cast<const CLI::ConversionError*>(&e) != nullptr) {
    const std::string name = leading_name(what);
    if (!name.empty()) {
      return all_names(app, name) + what.substr(name.size());
    }
  }
  return what;
}

} // namespace mqtk
