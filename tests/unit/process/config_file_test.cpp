#include <doctest/doctest.h>

#include "mqtk/connection/options.hpp"
#include "mqtk/process/config_file.hpp"
#include "mqtk/process/option_values.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

using mqtk::ConfigDefaults;
using Env = std::map<std::string, std::string>;

namespace {

// A temporary directory of config files, removed at the end.
struct ConfigDir
{
  std::filesystem::path dir;
  ConfigDir()
  {
    std::string pattern = (std::filesystem::temp_directory_path() / "mqtk-config-test-XXXXXX").string();
    dir = ::mkdtemp(pattern.data());
  }
  ~ConfigDir() { std::filesystem::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0600)
  {
    const auto path = dir / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path.string();
  }
};

// A tool like mqtk-pub: the shared connection options, -q and -j.
struct Tool
{
  mqtk::ConnectionOptions connection;
  int qos = 0;
  bool json = false;
  CLI::App app{"test", "mqtk-pub"};
  ConfigDefaults config;

  explicit Tool(std::map<std::string, std::string> environment, mqtk::ConnectionFlags flags = {})
    : config("mqtk-pub", {"mqtk-pub", "mqtk-sub", "mqtk-bench"},
             [environment](const char* name) -> const char* {
               const auto it = environment.find(name);
               return it == environment.end() ? nullptr : it->second.c_str();
             })
  {
    app.set_help_flag("--help");
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    mqtk::add_connection_options(app, connection, flags);
    app.add_option("-q,--qos", qos)->transform(mqtk::integer_in(0, 2, "0, 1 or 2"));
    app.add_flag("-j,--json", json);
    config.declare(app);
  }

  // The config file's usage error, or "" when parsing succeeded.
  std::string parse(const std::string& arguments)
  {
    try {
      app.parse(arguments, false);
    } catch (const CLI::FileError&) {
      // failure() has the message with file and line.
    }
    return config.failure().value_or("");
  }
};

} // namespace

TEST_CASE("config file: where it is")
{
  auto location = [](Env env) {
    return mqtk::default_config_location([&env](const char* name) -> const char* {
      const auto it = env.find(name);
      return it == env.end() ? nullptr : it->second.c_str();
    });
  };
  CHECK(location({{"HOME", "/home/a"}}).path == "/home/a/.config/mqtk/config");
  CHECK(location({{"HOME", "/home/a"}, {"XDG_CONFIG_HOME", "/x"}}).path == "/x/mqtk/config");
  // A relative XDG_CONFIG_HOME is not valid: ignored.
  CHECK(location({{"HOME", "/home/a"}, {"XDG_CONFIG_HOME", "x"}}).path == "/home/a/.config/mqtk/config");
  const auto named = location({{"HOME", "/home/a"}, {"MQTK_CONFIG", "/etc/m"}});
  CHECK(named.path == "/etc/m");
  CHECK(named.named);
  CHECK_FALSE(location({{"HOME", "/h"}, {"MQTK_CONFIG", ""}}).named);
  const auto none = location({});
  CHECK(none.path.empty());
  CHECK(none.why_none == "$HOME is not set");
}

TEST_CASE("config file: the tool's section wins over [mqtk], the command line over both")
{
  ConfigDir d;
  const std::string text = "# defaults\n"
                           "[mqtk]\n"
                           "host = \"broker.lan\"\n"
                           "port = 1884\n"
                           "username = alice\n"
                           "\n"
                           "[mqtk-sub]\n"
                           "retained-only = true\n"
                           "topic = [\"a/#\", \"b\"]\n"
                           "port = 1999\n"
                           "[mqtk-pub]\n"
                           "port = 8883\n"
                           "qos = 1\n"
                           "json = true\n"
                           "; a comment\n"
                           "will-topic = \"gone/#\"\n"
                           "will-payload = \"a # b; c\"\n";
  d.write("xdg/mqtk/config", text);
  const std::map<std::string, std::string> env{{"XDG_CONFIG_HOME", (d.dir / "xdg").string()}, {"HOME", "/nonexistent"}};
  {
    Tool t(env);
    CHECK(t.parse("") == "");
    CHECK(t.connection.host == "broker.lan");
    CHECK(t.connection.port == 8883);
    CHECK(t.connection.username == "alice");
    CHECK(t.qos == 1);
    CHECK(t.json);
    // A '#' or ';' in a value is part of it (MQTT's wildcard).
    CHECK(t.connection.will_topic == "gone/#");
    CHECK(t.connection.will_payload == "a # b; c");
    CHECK(t.config.describe()
          == "config file " + (d.dir / "xdg/mqtk/config").string()
               + ": set [mqtk-pub] port, [mqtk-pub] qos, [mqtk-pub] json, [mqtk-pub] will-topic, [mqtk-pub] "
                 "will-payload, [mqtk] host, [mqtk] username; already given: [mqtk] port");
  }
  {
    Tool t(env);
    CHECK(t.parse("-p 1 -q 2 -h other") == "");
    CHECK(t.connection.host == "other");
    CHECK(t.connection.port == 1);
    CHECK(t.qos == 2);
    CHECK(t.connection.username == "alice");
  }
  {
    // A flag set true in the file, and false on the command line.
    Tool t(env);
    CHECK(t.parse("--json=false") == "");
    CHECK_FALSE(t.json);
  }
  {
    Tool t(env);
    CHECK(t.parse("--no-config") == "");
    CHECK(t.connection.host == "localhost");
    CHECK(t.connection.port == 0);
    CHECK(t.config.describe() == "no config file read (--no-config)");
  }
  {
    // --config names another file; MQTK_CONFIG too, which --config overrides.
    const std::string other = d.write("other", "[mqtk]\nhost = h2\n");
    auto named = env;
    named["MQTK_CONFIG"] = other;
    Tool t(named);
    CHECK(t.parse("") == "");
    CHECK(t.connection.host == "h2");
    Tool u(named);
    CHECK(u.parse("--config " + (d.dir / "xdg/mqtk/config").string()) == "");
    CHECK(u.connection.host == "broker.lan");
  }
}

TEST_CASE("config file: missing files")
{
  ConfigDir d;
  {
    // The default file may be missing.
    Tool t(Env{{"HOME", d.dir.string()}});
    CHECK(t.parse("") == "");
    CHECK(t.config.describe() == "no config file (" + (d.dir / ".config/mqtk/config").string() + " does not exist)");
  }
  {
    Tool t(Env{});
    CHECK(t.parse("") == "");
    CHECK(t.config.describe() == "no config file ($HOME is not set)");
  }
  const std::string missing = (d.dir / "nope").string();
  {
    Tool t(Env{{"HOME", d.dir.string()}});
    CHECK(t.parse("--config " + missing) == "cannot read config file " + missing + " (--config): no such file");
  }
  {
    Tool t(Env{{"HOME", d.dir.string()}, {"MQTK_CONFIG", missing}});
    CHECK(t.parse("") == "cannot read config file " + missing + " (MQTK_CONFIG): no such file");
  }
  {
    Tool t(Env{{"HOME", d.dir.string()}});
    CHECK(t.parse("--config " + d.dir.string()) == "cannot read config file " + d.dir.string()
                                                       + " (--config): it is a directory");
  }
  {
    Tool t(Env{{"HOME", d.dir.string()}});
    CHECK(t.parse("--config x --no-config") == "--config and --no-config exclude each other");
  }
}

TEST_CASE("config file: bad entries name the file, the line and the key")
{
  ConfigDir d;
  auto error = [&](const std::string& text, mqtk::ConnectionFlags flags = {}) {
    const std::string path = d.write("config", text);
    Tool t(Env{{"HOME", "/nonexistent"}}, flags);
    const std::string message = t.parse("--config " + path);
    return message.starts_with(path) ? message.substr(path.size()) : "(no file) " + message;
  };
  CHECK(error("[mqtk-pub]\n\nhots = x\n") == ":3: unknown key 'hots' in [mqtk-pub]; did you mean 'host'?");
  CHECK(error("[mqtk-pub]\nzzzzzz = 1\n") == ":2: unknown key 'zzzzzz' in [mqtk-pub] (mqtk-pub has no --zzzzzz)");
  CHECK(error("[mqtk]\njson = true\n")
        == ":2: 'json' cannot go in [mqtk], which takes the connection, TLS and reconnecting options only; put it under [mqtk-pub]");
  CHECK(error("[mqtk]\nretained-only = true\n")
        == ":2: unknown key 'retained-only' in [mqtk] (it takes the connection, TLS and reconnecting options, by their long names)");
  CHECK(error("host = x\n") == ":1: 'host' is outside any section; put it under [mqtk] or [mqtk-pub]");
  CHECK(error("[mqtk]\nhost = a\n[mqtk-sbu]\nport = 1\n")
        == ":4: unknown section [mqtk-sbu] (the sections are [mqtk], [mqtk-pub], [mqtk-sub], [mqtk-bench])");
  CHECK(error("[mqtk-pub]\nport = abc\n") == ":2: port: expected a port from 1 to 65535, not 'abc'");
  CHECK(error("[mqtk-pub]\nqos = 3\n") == ":2: qos: expected 0, 1 or 2, not '3'");
  CHECK(error("[mqtk-pub]\nqos = 1\n# x\nqos = 2\n") == ":4: 'qos' is set twice in [mqtk-pub] (first on line 2)");
  CHECK(error("[mqtk-pub]\nqos = 1\nhost = h\nqos = 2\n") == ":4: 'qos' is set twice in [mqtk-pub] (first on line 2)");
  CHECK(error("[mqtk-pub]\nconfig = other\n") == ":2: 'config' cannot be set in a config file");
  CHECK(error("[mqtk-pub]\nhost = a b\n") == ":2: host takes one value, not 2 (quote a value with spaces or commas)");
  CHECK(error("[mqtk-pub]\nwill-payload = \"ab\n") == ":2: will-payload: unterminated quote");
  CHECK(error("[mqtk-pub]\nqos = 1 # at least once\n") == ":2: qos: a comment must be on a line of its own");
  CHECK(error("[mqtk-pub]\n-p = 1\n").starts_with(":2: unknown key '-p' in [mqtk-pub]"));
  // A line without '=' is a flag set to true: a malformed line is an
  // unknown key.
  CHECK(error("[mqtk-pub]\nhost broker\n").starts_with(":2: unknown key 'host broker' in [mqtk-pub]"));
  CHECK(error("[mqtk-pub]\njson = maybe\n") == ":2: json: expected true or false, not 'maybe'");
  // A multi-line array starts on its first line.
  CHECK(error("[mqtk-pub]\nproperty = [\"publish\",\n \"content-type\",\n \"x\"]\nqos = 9\n")
        == ":5: qos: expected 0, 1 or 2, not '9'");
  // Nothing of a bad file is checked in another tool's section.
  CHECK(error("[mqtk-sub]\nanything = 1\n[mqtk-pub]\nqos = 1\n") == "(no file) ");
}

TEST_CASE("config file: a password only in a file that only its owner can read, never shown")
{
  ConfigDir d;
  const std::string text = "[mqtk]\nusername = u\npassword = \"s3cret\"\n";
  {
    const std::string path = d.write("open", text, 0644);
    Tool t(Env{{"HOME", "/nonexistent"}});
    CHECK(t.parse("--config " + path)
          == path + ":3: pw: " + path + " is readable by others (mode 0644); chmod 600 it");
    CHECK_FALSE(t.connection.password.has_value());
  }
  {
    const std::string path = d.write("group", "[mqtk-pub]\npsk = 0a\n", 0640);
    Tool t(Env{{"HOME", "/nonexistent"}});
    CHECK(t.parse("--config " + path)
          == path + ":2: psk: " + path + " is readable by its group (mode 0640); chmod 600 it");
  }
  {
    const std::string path = d.write("closed", text, 0600);
    Tool t(Env{{"HOME", "/nonexistent"}});
    CHECK(t.parse("--config " + path) == "");
    CHECK(t.connection.password == "s3cret");
    CHECK(t.config.describe().find("s3cret") == std::string::npos);
    CHECK(t.config.describe() == "config file " + path + ": set [mqtk] username, [mqtk] pw");
  }
  {
    // The password is checked wherever it is, also when -P overrides it.
    const std::string path = d.write("open2", text, 0604);
    Tool t(Env{{"HOME", "/nonexistent"}});
    CHECK(t.parse("-P x --config " + path).find("readable by others (mode 0604)") != std::string::npos);
  }
}

TEST_CASE("config file: [mqtk] keys a tool leaves out are skipped")
{
  ConfigDir d;
  const std::string path = d.write("config", "[mqtk]\nid = fixed\nhost = h\n");
  Tool t(Env{{"HOME", "/nonexistent"}}, mqtk::ConnectionFlags{.client_id = false});
  CHECK(t.parse("--config " + path) == "");
  CHECK(t.connection.host == "h");
  CHECK(t.connection.id.empty());
  CHECK(t.config.describe() == "config file " + path + ": set [mqtk] host; not options of mqtk-pub: [mqtk] id");
  // The reconnect options are shared options too (options.cpp), of the
  // tools that reconnect.
  const std::string reconnects = d.write("reconnects", "[mqtk]\nreconnect-timeout = 5\n");
  Tool r(Env{{"HOME", "/nonexistent"}}, mqtk::ConnectionFlags{.reconnects = true});
  CHECK(r.parse("--config " + reconnects) == "");
  CHECK(r.connection.reconnect_timeout == 5);
  Tool n(Env{{"HOME", "/nonexistent"}});
  CHECK(n.parse("--config " + reconnects) == "");
  CHECK(n.config.describe() == "config file " + reconnects + ": nothing set; not options of mqtk-pub: [mqtk] reconnect-timeout");
}

TEST_CASE("config file: a later check's error says where the file set the option")
{
  ConfigDir d;
  const std::string path = d.write("config", "[mqtk]\nport = 1884\n\nhost = \"\"\n");
  Tool t(Env{{"HOME", "/nonexistent"}});
  CHECK(t.parse("--config " + path) == "");
  CHECK(t.config.with_origin("-h: empty host name") == "-h: empty host name (set by " + path + ":4: host)");
  CHECK(t.config.with_origin("--port: refused") == "--port: refused (set by " + path + ":2: port)");
  CHECK(t.config.with_origin("-q: bad") == "-q: bad");
  CHECK(t.config.with_origin("no option here") == "no option here");
}

TEST_CASE("config file: -L and -h/-p/-u/-P beat each other's file entries")
{
  ConfigDir d;
  const Env env{{"HOME", "/nonexistent"}};
  const std::string url = d.write("url", "[mqtk]\nurl = \"mqtt://broker.lan:1999\"\n");
  for (const std::string& flags : {"-h other", "-p 1", "-u bob", "-P x -u bob", "--pw-file f -u bob"}) {
    Tool t(env);
    CHECK(t.parse(flags + " --config " + url) == "");
    CHECK(t.connection.url.empty());
    CHECK(t.config.describe() == "config file " + url + ": nothing set; already given: [mqtk] url");
  }
  const std::string parts = d.write("parts", "[mqtk]\nhost = h\nport = 1\nusername = u\n");
  {
    Tool t(env);
    CHECK(t.parse("-L mqtt://localhost --config " + parts) == "");
    CHECK(t.connection.port == 0);
    CHECK(t.connection.host == "localhost");
    CHECK_FALSE(t.connection.username.has_value());
  }
  {
    // The tool's section's url beats [mqtk]'s host and port too.
    const std::string both = d.write("both", "[mqtk]\nhost = h\nport = 1\n[mqtk-pub]\nurl = \"mqtt://b\"\n");
    Tool t(env);
    CHECK(t.parse("--config " + both) == "");
    CHECK(t.connection.url == "mqtt://b");
    CHECK(t.connection.port == 0);
    CHECK(t.config.describe() == "config file " + both + ": set [mqtk-pub] url; already given: [mqtk] host, [mqtk] port");
  }
}

TEST_CASE("config file: a line without '=' sets only a flag")
{
  ConfigDir d;
  const std::string path = d.write("config", "[mqtk]\nport = 1884\nhost\n");
  Tool t(Env{{"HOME", "/nonexistent"}});
  CHECK(t.parse("--config " + path) == path + ":3: 'host' has no '=': write host = VALUE (only a flag may stand alone)");
  const std::string flag = d.write("flag", "[mqtk-pub]\njson\n");
  Tool f(Env{{"HOME", "/nonexistent"}});
  CHECK(f.parse("--config " + flag) == "");
  CHECK(f.json);
}

TEST_CASE("config file: a password in a url needs a private file too")
{
  ConfigDir d;
  const std::string open = d.write("open", "[mqtk]\nurl = \"mqtt://u:s3cret@broker\"\n", 0644);
  Tool t(Env{{"HOME", "/nonexistent"}});
  const std::string message = t.parse("--config " + open);
  CHECK(message == open + ":2: url: " + open + " is readable by others (mode 0644); chmod 600 it");
  CHECK(message.find("s3cret") == std::string::npos);
  const std::string user = d.write("user", "[mqtk]\nurl = \"mqtt://u@broker/a:b\"\n", 0644);
  Tool u(Env{{"HOME", "/nonexistent"}});
  CHECK(u.parse("--config " + user) == "");
}

TEST_CASE("config file: a secret needs a file only its owner, the user running the tool, can change")
{
  ConfigDir d;
  const Env env{{"HOME", "/nonexistent"}};
  {
    const std::string path = d.write("gw", "[mqtk]\nusername = u\npw = x\n", 0620);
    Tool t(env);
    CHECK(t.parse("--config " + path) == path + ":3: pw: " + path + " is writable by its group (mode 0620); chmod 600 it");
  }
  {
    const std::string path = d.write("ow", "[mqtk-pub]\npsk = 0a\n", 0602);
    Tool t(env);
    CHECK(t.parse("--config " + path) == path + ":2: psk: " + path + " is writable by others (mode 0602); chmod 600 it");
  }
  {
    // Another tool's section is the same file.
    const std::string path = d.write("other", "[mqtk-sub]\npw = x\n[mqtk-pub]\nqos = 1\n", 0644);
    Tool t(env);
    CHECK(t.parse("--config " + path) == path + ":2: pw: " + path + " is readable by others (mode 0644); chmod 600 it");
  }
  {
    const std::string path = d.write("owner", "[mqtk]\nurl = \"mqtt://u:p@b\"\n", 0600);
    const uid_t other = ::geteuid() == 0 ? 1 : 0;
    if (::chown(path.c_str(), other, static_cast<gid_t>(-1)) == 0) { // only root may give a file away
      Tool t(env);
      CHECK(t.parse("--config " + path).find(":2: url: " + path + " belongs to user " + std::to_string(other) + ",")
            != std::string::npos);
    }
  }
}

TEST_CASE("config file: a file default does not break a command-line choice of options that exclude each other")
{
  ConfigDir d;
  const Env env{{"HOME", "/nonexistent"}};
  const std::string path = d.write("config", "[mqtk]\nid = fixed\nusername = u\npw = x\n", 0600);
  Tool t(env);
  CHECK(t.parse("-I pre --pw-file f --config " + path) == "");
  CHECK(t.connection.id.empty());
  CHECK(t.connection.id_prefix == "pre");
  CHECK_FALSE(t.connection.password.has_value());
  CHECK(t.connection.username == "u");
  CHECK(t.config.describe() == "config file " + path + ": set [mqtk] username; already given: [mqtk] id, [mqtk] pw");
}
