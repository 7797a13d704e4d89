#include "mqtk/process/config_file.hpp"

#include "mqtk/connection/broker_url.hpp"
#include "mqtk/connection/options.hpp"
#include "mqtk/process/option_values.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace mqtk {

ConfigLocation default_config_location(const ConfigEnvironment& environment)
{
  auto variable = [&](const char* name) -> std::string {
    const char* value = environment(name);
    return value == nullptr ? std::string() : std::string(value);
  };
  if (std::string named = variable(config_variable); !named.empty()) {
    return {.path = named, .named = true, .why_none = {}};
  }
  // The XDG base directory specification: a relative XDG_CONFIG_HOME is
  // invalid and ignored.
  if (std::string xdg = variable("XDG_CONFIG_HOME"); xdg.starts_with('/')) {
    return {.path = xdg + "/mqtk/config", .named = false, .why_none = {}};
  }
  if (std::string home = variable("HOME"); !home.empty()) {
    return {.path = home + "/.config/mqtk/config", .named = false, .why_none = {}};
  }
  return {.path = {}, .named = false, .why_none = "$HOME is not set"};
}

struct ConfigDefaults::State
{
  std::string tool;
  std::vector<std::string> tools;
  ConfigLocation location;
  CLI::App* app = nullptr;
  CLI::Option* config = nullptr;
  CLI::Option* no_config = nullptr;
  bool no_config_given = false;
  bool read = false;
  bool reader_called = false;
  bool config_given = false; // --config, as the reader saw it
  std::string path; // the file read (or to be read)
  std::optional<std::string> error;
  std::vector<std::string> applied;     // "[mqtk] host"
  std::vector<std::string> not_applied; // set before (command line, tool section)
  std::vector<std::string> not_taken;   // [mqtk] keys this tool has no option for
  std::map<const CLI::Option*, std::pair<int, std::string>> set_by_file; // its line and key
};

namespace {

const std::string common_section = "mqtk";

// One key = value entry of the file as CLI11's reader gives it, with the
// line it starts on.
struct Entry
{
  std::string section; // "" before any section header
  std::string key;     // "host"; "a.b" for a dotted key
  std::vector<std::string> inputs;
  int line = 0;
  int repeat_line = 0; // a second "key = ..." right after (CLI11 merges the two)
  bool has_equals = true; // false: a bare "key" line, which CLI11 reads as "key = true"
};

// A bad entry: the message after "FILE:LINE: ".
struct BadEntry
{
  int line;
  std::string message;
};

bool is_marker(const CLI::ConfigItem& item)
{
  // CLI11 marks where a section opens and closes with these names.
  return item.name == "++" || item.name == "--";
}

std::vector<CLI::ConfigItem> entries_only(std::vector<CLI::ConfigItem> items)
{
  std::erase_if(items, is_marker);
  return items;
}

// A password (-P/--pw, also spelt "password") or a TLS-PSK key.
bool is_secret(std::string_view key)
{
  return key == "pw" || key == "psk";
}

std::string canonical_key(std::string key)
{
  return key == "password" ? std::string("pw") : key;
}

// The option a key names in `app` (and its option groups): its long name;
// a one-letter key only for an option without a long name (-M). Keys never
// start with '-'.
CLI::Option* option_in(CLI::App& app, const std::string& key)
{
  if (key.empty() || key.front() == '-' || key.find('.') != std::string::npos) {
    return nullptr;
  }
  if (CLI::Option* o = app.get_option_no_throw("--" + key)) {
    return o;
  }
  if (key.size() == 1) {
    CLI::Option* o = app.get_option_no_throw("-" + key);
    if (o != nullptr && o->get_lnames().empty()) {
      return o;
    }
  }
  return nullptr;
}

// The commands of `app` (mqtk-bench's pub, sub, ...), not its option groups.
std::vector<CLI::App*> commands(CLI::App& app, bool parsed_only)
{
  return app.get_subcommands([parsed_only](CLI::App* sub) {
    return !sub->get_name().empty() && (!parsed_only || sub->parsed());
  });
}

// The option a key names in the tool, or in the command it runs.
CLI::Option* option_for(CLI::App& app, const std::string& key)
{
  if (CLI::Option* o = option_in(app, key)) {
    return o;
  }
  for (CLI::App* command : commands(app, true)) {
    if (CLI::Option* o = option_in(*command, key)) {
      return o;
    }
  }
  return nullptr;
}

// An option of one of the tool's other commands (mqtk-bench conn has no
// --qos): not a typo, just not taken by this run.
bool option_of_another_command(CLI::App& app, const std::string& key)
{
  for (CLI::App* command : commands(app, false)) {
    if (option_in(*command, key) != nullptr) {
      return true;
    }
  }
  return false;
}

// The keys [mqtk] takes: the shared connection, TLS and reconnecting options of any tool
// (connection/options.cpp declares them once), whether or not the running
// tool takes each.
const std::set<std::string>& common_option_names()
{
  static const std::set<std::string> names = [] {
    CLI::App scratch;
    scratch.set_help_flag();
    ConnectionOptions options;
    add_connection_options(scratch, options, ConnectionFlags{.binds = true, .reconnects = true, .buffers = true});
    const auto all = option_names(scratch);
    return std::set<std::string>(all.begin(), all.end());
  }();
  return names;
}

// -L gives the broker's host, port, user, password and (mqtt, mqtts) topic
// at once: one of them given beats the other's file entry, so that a file
// value never beats a command-line one however resolve() combines them.
const std::vector<std::string> url_parts = {"host", "port", "username", "pw", "pw-file", "topic"};

// Options that exclude each other (a tool refuses two of a group): a file
// default must not break the one the command line chose.
const std::vector<std::vector<std::string>> exclusive_groups = {
  {"message", "file", "stdin-file", "stdin-line", "json-lines", "null-message"},
  {"json", "format"},
  {"id", "id-prefix"},
  {"pw", "pw-file"},
  {"no-stale", "retained-only"},
};

// Whether a value of `given` (command line, or the tool's section for
// [mqtk]) makes the file's entry `e` one to skip.
bool overridden_by(const Entry& e, const std::set<std::string>& given)
{
  if (given.count(e.key) != 0) {
    return true;
  }
  for (const auto& group : exclusive_groups) {
    if (std::find(group.begin(), group.end(), e.key) != group.end()) {
      for (const auto& key : group) {
        if (given.count(key) != 0) {
          return true;
        }
      }
    }
  }
  const bool part = std::find(url_parts.begin(), url_parts.end(), e.key) != url_parts.end();
  if (part) {
    return given.count("url") != 0;
  }
  if (e.key != "url") {
    return false;
  }
  for (const auto& key : url_parts) {
    if (key != "topic" && given.count(key) != 0) {
      return true;
    }
  }
  if (given.count("topic") == 0 || e.inputs.size() != 1) {
    return false;
  }
  // -t beats only a URL that has a topic: else the file's URL still names
  // the broker (a bad URL is reported when it is used).
  try {
    return parse_broker_url(e.inputs.front()).topic.has_value();
  } catch (const std::exception&) {
    return false;
  }
}

// A url entry with user:pass@ in it.
bool has_password(const Entry& e)
{
  for (const auto& v : e.inputs) {
    const auto scheme = v.find("://");
    const std::size_t from = scheme == std::string::npos ? 0 : scheme + 3;
    const std::string authority = v.substr(from, v.find('/', from) - from);
    const auto at = authority.rfind('@');
    if (at != std::string::npos && authority.substr(0, at).find(':') != std::string::npos) {
      return true;
    }
  }
  return false;
}

bool is_common_key(const std::string& key)
{
  const auto& names = common_option_names();
  return names.count("--" + key) != 0 || (key.size() == 1 && names.count("-" + key) != 0);
}

class SectionsReader : public CLI::ConfigTOML
{
public:
  explicit SectionsReader(std::shared_ptr<ConfigDefaults::State> state) : m_state(std::move(state))
  {
    // Comments are whole lines (# or ;): CLI11 2.1.2 ends a value at its
    // comment character even inside quotes, and MQTT's wildcard is '#'
    // ("sensors/#" became "sensors/, and in a list ate the lines after it).
    comment('\0');
  }

  // Called by CLI11 with the file open, once the command line is parsed:
  // checks every entry of the sections this tool reads, then gives the
  // options their values itself (returning nothing for CLI11 to apply),
  // since CLI11 2.1.2 would report a bad value without its file or line.
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override
  {
    State& s = *m_state;
    s.reader_called = true;
    s.config_given = s.config->count() > 0;
    s.path = s.config_given ? s.config->results().back() : s.location.path;
    if (s.no_config->count() > 0) {
      return {};
    }
    s.read = true;
    try {
      apply(read_entries(input));
    } catch (const BadEntry& bad) {
      s.error = fmt::format("{}:{}: {}", s.path, bad.line, bad.message);
      throw CLI::FileError(*s.error);
    }
    return {};
  }

private:
  using State = ConfigDefaults::State;

  // CLI11's reader gives entries without lines: an entry starts on the line
  // whose prefix of the file first holds it.
  std::vector<Entry> read_entries(std::istream& input) const
  {
    std::stringstream whole;
    whole << input.rdbuf();
    const std::string text = whole.str();
    std::istringstream all(text);
    const auto found = entries_only(CLI::ConfigBase::from_config(all));

    std::vector<int> lines;
    std::vector<std::string> line_texts;
    std::vector<int> repeats(found.size(), 0);
    std::size_t start = 0;
    for (int line = 1; start < text.size(); ++line) {
      std::size_t end = text.find('\n', start);
      end = end == std::string::npos ? text.size() : end + 1;
      line_texts.push_back(text.substr(start, end - start));
      std::istringstream prefix(text.substr(0, end));
      const std::size_t count = std::min(entries_only(CLI::ConfigBase::from_config(prefix)).size(), found.size());
      if (count == lines.size() && count > 0 && repeats[count - 1] == 0) {
        // No new entry: a line CLI11 added to the last one, either the
        // rest of a list or the same key again.
        std::istringstream alone(text.substr(start, end - start));
        const auto again = entries_only(CLI::ConfigBase::from_config(alone));
        if (again.size() == 1 && again.front().name == found[count - 1].name) {
          repeats[count - 1] = line;
        }
      }
      while (lines.size() < count) {
        lines.push_back(line);
      }
      start = end;
    }
    std::vector<Entry> entries;
    for (std::size_t i = 0; i < found.size(); ++i) {
      const CLI::ConfigItem& item = found[i];
      Entry e;
      e.line = i < lines.size() ? lines[i] : 0;
      e.repeat_line = repeats[i];
      e.has_equals = e.line == 0 || line_texts[e.line - 1].find('=') != std::string::npos;
      e.inputs = item.inputs;
      if (!item.parents.empty()) {
        e.section = item.parents.front();
      }
      std::vector<std::string> key_parts(item.parents.begin() + (item.parents.empty() ? 0 : 1), item.parents.end());
      key_parts.push_back(item.name);
      e.key = canonical_key(CLI::detail::join(key_parts, "."));
      entries.push_back(std::move(e));
    }
    return entries;
  }

  std::string sections_text() const
  {
    std::string out = "[" + common_section + "]";
    for (const auto& t : m_state->tools) {
      out += ", [" + t + "]";
    }
    return out;
  }

  // Throws BadEntry; returns whether the tool reads this entry.
  bool check(const Entry& e) const
  {
    State& s = *m_state;
    CLI::App& app = *s.app;
    if (e.section.empty()) {
      throw BadEntry{e.line, fmt::format("'{}' is outside any section; put it under [{}] or [{}]", e.key,
                                         common_section, s.tool)};
    }
    const bool common = e.section == common_section;
    if (!common && e.section != s.tool) {
      if (std::find(s.tools.begin(), s.tools.end(), e.section) != s.tools.end()) {
        return false; // another tool's
      }
      throw BadEntry{e.line, fmt::format("unknown section [{}] (the sections are {})", e.section, sections_text())};
    }
    CLI::Option* o = option_for(app, e.key);
    if (common && !is_common_key(e.key)) {
      throw BadEntry{e.line, o != nullptr ? fmt::format("'{}' cannot go in [{}], which takes the connection, TLS "
                                                        "and reconnecting options only; put it under [{}]",
                                                        e.key, common_section, s.tool)
                                          : fmt::format("unknown key '{}' in [{}] (it takes the connection, TLS "
                                                        "and reconnecting options, by their long names)",
                                                        e.key, common_section)};
    }
    if (o == nullptr) {
      if (common || option_of_another_command(app, e.key)) {
        return false; // a connection option this tool leaves out (mqtk-bench: id)
      }
      const std::string near = nearest_name("--" + e.key, option_names(app));
      throw BadEntry{e.line, near.starts_with("--")
                               ? fmt::format("unknown key '{}' in [{}]; did you mean '{}'?", e.key, e.section,
                                             near.substr(2))
                               : fmt::format("unknown key '{}' in [{}] ({} has no --{})", e.key, e.section, s.tool,
                                             e.key)};
    }
    if (!o->get_configurable()) {
      throw BadEntry{e.line, fmt::format("'{}' cannot be set in a config file", e.key)};
    }
    if (!e.has_equals && o->get_expected_min() != 0) {
      throw BadEntry{e.line, fmt::format("'{}' has no '=': write {} = VALUE (only a flag may stand alone)", e.key,
                                         e.key)};
    }
    if (e.repeat_line != 0) {
      throw BadEntry{e.repeat_line,
                     fmt::format("'{}' is set twice in [{}] (first on line {})", e.key, e.section, e.line)};
    }
    for (const auto& v : e.inputs) {
      if (!v.empty() && (v.front() == '"' || v.front() == '\'')) {
        throw BadEntry{e.line, fmt::format("{}: unterminated quote", e.key)};
      }
      if (v.starts_with('#') || v.starts_with(';')) {
        throw BadEntry{e.line, fmt::format("{}: a comment must be on a line of its own", e.key)};
      }
    }
    if (o->get_items_expected_max() == 1 && e.inputs.size() > 1) {
      throw BadEntry{e.line, fmt::format("{} takes one value, not {} (quote a value with spaces or commas)", e.key,
                                         e.inputs.size())};
    }
    return true;
  }

  void check_mode(int line, const std::string& key) const
  {
    const State& s = *m_state;
    struct stat st{};
    if (::stat(s.path.c_str(), &st) != 0) {
      throw BadEntry{line, fmt::format("{}: cannot check who may read {}: {}", key, s.path, std::strerror(errno))};
    }
    const unsigned mode = st.st_mode & 07777;
    if ((mode & (S_IRGRP | S_IROTH)) != 0) {
      throw BadEntry{line, fmt::format("{}: {} is readable by {} (mode {:04o}); chmod 600 it", key, s.path,
                                       (mode & S_IROTH) != 0 ? "others" : "its group", mode)};
    }
    // As ssh with its keys: who may change the file may change the broker
    // the password is sent to.
    if ((mode & (S_IWGRP | S_IWOTH)) != 0) {
      throw BadEntry{line, fmt::format("{}: {} is writable by {} (mode {:04o}); chmod 600 it", key, s.path,
                                       (mode & S_IWOTH) != 0 ? "others" : "its group", mode)};
    }
    if (st.st_uid != ::geteuid()) {
      throw BadEntry{line, fmt::format("{}: {} belongs to user {}, not to the one running {} ({})", key, s.path,
                                       st.st_uid, s.tool, ::geteuid())};
    }
  }

  void set(CLI::Option& o, const Entry& e) const
  {
    try {
      if (o.get_expected_min() == 0) {
        // A flag: as CLI11 gives a flag its value from a config file.
        CLI::ConfigItem item;
        item.name = e.key;
        item.inputs = e.inputs;
        o.add_result(o.get_flag_value(e.key, to_flag(item)));
      } else {
        o.add_result(e.inputs);
      }
      o.run_callback();
    } catch (const CLI::ParseError& error) {
      // Else CLI11 checks the value again after the file, and its error
      // (without file or line) would be the one reported.
      o.clear();
      if (is_secret(e.key)) {
        throw BadEntry{e.line, fmt::format("{}: not a valid value (not shown)", e.key)};
      }
      if (o.get_expected_min() == 0 && dynamic_cast<const CLI::ConversionError*>(&error) != nullptr) {
        throw BadEntry{e.line, fmt::format("{}: expected true or false, not '{}'", e.key,
                                           CLI::detail::join(e.inputs, ","))};
      }
      std::string detail = plain_parse_error(error, *m_state->app);
      // "-p/--port: expected ..." names the option by its flags; the key says it.
      if (detail.starts_with('-')) {
        if (const auto colon = detail.find(": "); colon != std::string::npos) {
          detail.erase(0, colon + 2);
        }
      }
      throw BadEntry{e.line, fmt::format("{}: {}", e.key, detail)};
    }
  }

  void apply(const std::vector<Entry>& entries) const
  {
    State& s = *m_state;
    std::map<std::pair<std::string, std::string>, int> first_line;
    std::vector<const Entry*> tool_entries;
    std::vector<const Entry*> common_entries;
    for (const Entry& e : entries) {
      // Every section's secrets, also those of the other tools' sections:
      // the file is one file.
      const bool secret = is_secret(e.key) || (e.key == "url" && has_password(e));
      if (secret && !e.section.empty()) {
        check_mode(e.line, e.key);
      }
      if (!check(e)) {
        if (e.section == common_section || e.section == s.tool) {
          s.not_taken.push_back(fmt::format("[{}] {}", e.section, e.key));
        }
        continue;
      }
      const auto [at, fresh] = first_line.try_emplace({e.section, e.key}, e.line);
      if (!fresh) {
        throw BadEntry{e.line,
                       fmt::format("'{}' is set twice in [{}] (first on line {})", e.key, e.section, at->second)};
      }
      (e.section == common_section ? common_entries : tool_entries).push_back(&e);
    }
    // The tool's section first: an option keeps the first value it gets,
    // and the command line gave its values before either.
    std::set<std::string> given;
    for (const std::string& key : watched_keys()) {
      const CLI::Option* o = option_for(*s.app, key);
      if (o != nullptr && !o->empty()) {
        given.insert(key);
      }
    }
    for (const auto* group : {&tool_entries, &common_entries}) {
      std::vector<std::string> set_keys;
      for (const Entry* e : *group) {
        CLI::Option* o = option_for(*s.app, e->key);
        const std::string name = fmt::format("[{}] {}", e->section, e->key);
        if (!o->empty() || overridden_by(*e, given)) {
          s.not_applied.push_back(name);
          continue;
        }
        set(*o, *e);
        s.applied.push_back(name);
        s.set_by_file[o] = {e->line, e->key};
        set_keys.push_back(e->key);
      }
      given.insert(set_keys.begin(), set_keys.end());
    }
  }

  // The keys overridden_by() looks at.
  static std::vector<std::string> watched_keys()
  {
    std::vector<std::string> keys = url_parts;
    keys.emplace_back("url");
    for (const auto& group : exclusive_groups) {
      keys.insert(keys.end(), group.begin(), group.end());
    }
    return keys;
  }

  std::shared_ptr<State> m_state;
};

std::string join_names(const std::vector<std::string>& names)
{
  return CLI::detail::join(names, ", ");
}

} // namespace

ConfigDefaults::ConfigDefaults(std::string tool, std::vector<std::string> tools, const ConfigEnvironment& environment)
  : m_state(std::make_shared<State>())
{
  m_state->tool = std::move(tool);
  m_state->tools = std::move(tools);
  m_state->location = default_config_location(environment);
}

ConfigDefaults::~ConfigDefaults() = default;

void ConfigDefaults::declare(CLI::App& app)
{
  State& s = *m_state;
  s.app = &app;
  // Not required, even when MQTK_CONFIG names the file: CLI11 would say
  // REQUIRED in --help. failure() reports a named file that was not read.
  s.config = app.set_config("--config", s.location.path,
                            "Read default options from FILE (default: $MQTK_CONFIG, else "
                            "$XDG_CONFIG_HOME/mqtk/config or ~/.config/mqtk/config, if it exists)");
  s.config->type_name("FILE")->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  // Not excludes(): CLI11 gives --config the default file's name once read.
  s.no_config = app.add_flag("--no-config", s.no_config_given, "Read no config file")->configurable(false);
  app.config_formatter(std::make_shared<SectionsReader>(m_state));
}

std::optional<std::string> ConfigDefaults::failure() const
{
  const State& s = *m_state;
  if (s.error) {
    return s.error;
  }
  if (s.no_config == nullptr) {
    return std::nullopt;
  }
  // CLI11 adds the default file to --config's results once it is read.
  const bool given = s.reader_called ? s.config_given : s.config->count() > 0;
  if (s.no_config->count() > 0) {
    return given ? std::optional<std::string>("--config and --no-config exclude each other") : std::nullopt;
  }
  if (s.read) {
    return std::nullopt;
  }
  // CLI11 did not read the file: missing or unreadable. Only the default
  // file may be missing.
  const std::string path = given ? s.config->results().back() : s.location.path;
  if (path.empty()) {
    return std::nullopt;
  }
  struct stat st{};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  const int stat_error = errno;
  if (!exists && stat_error == ENOENT && !given && !s.location.named) {
    return std::nullopt;
  }
  const std::string named_by = given ? "--config" : s.location.named ? config_variable : "the default";
  if (!exists) {
    return fmt::format("cannot read config file {} ({}): {}", path, named_by,
                       stat_error == ENOENT ? "no such file" : std::strerror(stat_error));
  }
  if (S_ISDIR(st.st_mode)) {
    return fmt::format("cannot read config file {} ({}): it is a directory", path, named_by);
  }
  return fmt::format("cannot read config file {} ({}): permission denied", path, named_by);
}

std::string ConfigDefaults::with_origin(const std::string& message) const
{
  const State& s = *m_state;
  if (s.app == nullptr || s.set_by_file.empty() || !message.starts_with('-')) {
    return message;
  }
  const std::string flag = message.substr(0, message.find_first_of(": "));
  const CLI::Option* o = s.app->get_option_no_throw(flag);
  for (CLI::App* command : commands(*s.app, true)) {
    o = o != nullptr ? o : command->get_option_no_throw(flag);
  }
  const auto it = s.set_by_file.find(o);
  if (o == nullptr || it == s.set_by_file.end()) {
    return message;
  }
  return fmt::format("{} (set by {}:{}: {})", message, s.path, it->second.first, it->second.second);
}

std::string ConfigDefaults::describe() const
{
  const State& s = *m_state;
  if (s.no_config != nullptr && s.no_config->count() > 0) {
    return "no config file read (--no-config)";
  }
  if (!s.read) {
    return s.location.path.empty() ? fmt::format("no config file ({})", s.location.why_none)
                                   : fmt::format("no config file ({} does not exist)", s.location.path);
  }
  std::string out = fmt::format("config file {}: ", s.path);
  out += s.applied.empty() ? std::string("nothing set") : "set " + join_names(s.applied);
  if (!s.not_applied.empty()) {
    out += "; already given: " + join_names(s.not_applied);
  }
  if (!s.not_taken.empty()) {
    out += fmt::format("; not options of {}: {}", s.tool, join_names(s.not_taken));
  }
  return out;
}

} // namespace mqtk
