#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace mqtk {

// The environment variable naming the config file (instead of the default).
inline constexpr const char* config_variable = "MQTK_CONFIG";

// Looks an environment variable up: its value, or nullptr (::getenv).
using ConfigEnvironment = std::function<const char*(const char*)>;

// Where a tool looks for its config file when --config is not given.
struct ConfigLocation
{
  std::string path;      // "" when there is none (no $HOME)
  bool named = false;    // named by MQTK_CONFIG: it must exist
  std::string why_none;  // when path is "": why ("$HOME is not set")
};

// $MQTK_CONFIG if set and not empty; else $XDG_CONFIG_HOME/mqtk/config when
// XDG_CONFIG_HOME is an absolute path; else $HOME/.config/mqtk/config.
ConfigLocation default_config_location(const ConfigEnvironment& environment);

// The config file of default options (mqtk(1) "CONFIG FILE"), read through
// CLI11's own config support: `--config FILE` is CLI11's config option and
// the file is read with CLI11's TOML/INI reader, after the command line and
// before any option's callback, so that a value from the command line
// always wins. Of the file, the tool reads its own section ([mqtk-pub]) and
// then the common one ([mqtk], which takes the shared connection, TLS and
// reconnecting options only); an option takes the first value it gets, so
// the tool's section wins over [mqtk]. Sections of the other tools are
// skipped.
class ConfigDefaults
{
public:
  // `tool` is the running tool ("mqtk-pub"), `tools` every tool's name (a
  // section of another tool is skipped, any other section is an error).
  ConfigDefaults(std::string tool, std::vector<std::string> tools, const ConfigEnvironment& environment);
  ~ConfigDefaults();
  ConfigDefaults(const ConfigDefaults&) = delete;
  ConfigDefaults& operator=(const ConfigDefaults&) = delete;

  // Declares --config FILE and --no-config on `app` once the tool's own
  // options are declared, and makes its parse read the file.
  void declare(CLI::App& app);

  // After app.parse (returned or threw): the usage error the config file
  // caused, if any, as one line naming the file and, for a bad entry, its
  // line and key: an entry that is unknown, of another section, malformed
  // or of a bad value, a secret (pw, psk, url with user:pass@; in any
  // section) in a file others may read or write or another user owns, a named
  // file (--config, MQTK_CONFIG) that cannot be read. Never shows a
  // password. CLI11 may have reported the failure as a CLI::FileError, or not
  // at all (it ignores errors of the default file); ask in both cases.
  std::optional<std::string> failure() const;

  // A usage error found after parsing (by a tool's checks) that starts with
  // an option's flag ("-h: empty host name"), with where the file set that
  // option, if it did ("... (set by FILE:2: host)"); else `message`.
  std::string with_origin(const std::string& message) const;

  // For -d: which file was read and which keys it set (never their values),
  // or that none was read and why.
  std::string describe() const;

  struct State;

private:
  std::shared_ptr<State> m_state;
};

} // namespace mqtk
