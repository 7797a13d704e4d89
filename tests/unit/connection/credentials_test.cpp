#include <doctest/doctest.h>

#include "mqtk/connection/credentials.hpp"
#include "mqtk/process/error.hpp"
#include "mqtk/tools/bench.hpp"
#include "mqtk/tools/pub.hpp"
#include "mqtk/tools/sub.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>

namespace fs = std::filesystem;
using mqtk::SecretSpan;

namespace {

// An argv of writable strings, as main() gets it.
struct Argv
{
  std::vector<std::string> words;
  std::vector<char*> pointers;
  explicit Argv(std::vector<std::string> w)
    : words(std::move(w))
  {
    words.insert(words.begin(), "mqtk-test");
    for (auto& word : words) {
      pointers.push_back(word.data());
    }
    pointers.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(words.size()); }
  char** argv() { return pointers.data(); }
  // The argument as the process now shows it.
  std::string shown(int i) const { return std::string(pointers[static_cast<std::size_t>(i)]); }
};

// -d and -r are flags, -t and -m take a value, -D one then maybe more.
std::optional<int> arity(std::string_view name)
{
  static const std::map<std::string, int, std::less<>> table = {
    {"-P", 1}, {"--pw", 1}, {"-L", 1}, {"--url", 1}, {"-t", 1}, {"--topic", 1}, {"-m", 1},
    {"-d", 0}, {"-r", 0}, {"--debug", 0}, {"-D", 1},
  };
  auto it = table.find(name);
  return it == table.end() ? std::nullopt : std::optional<int>(it->second);
}

// The text of each span the scan finds.
std::vector<std::string> found(std::vector<std::string> words)
{
  Argv a(std::move(words));
  std::vector<std::string> out;
  for (const auto& s : mqtk::find_passwords(a.argc(), a.argv(), arity)) {
    out.push_back(a.words[static_cast<std::size_t>(s.index)].substr(s.offset, s.length));
  }
  return out;
}

using Words = std::vector<std::string>;

std::string usage_error(const std::function<void()>& f)
{
  try {
    f();
  } catch (const mqtk::UsageError& e) {
    CHECK(e.code() == 1);
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST_CASE("credentials: every form of -P is found")
{
  CHECK(found({"-P", "secret", "-t", "a"}) == Words{"secret"});
  CHECK(found({"-Psecret"}) == Words{"secret"});
  CHECK(found({"--pw", "secret"}) == Words{"secret"});
  CHECK(found({"--pw=secret"}) == Words{"secret"});
  CHECK(found({"--pw=", "secret"}) == Words{"secret"}); // CLI11 takes the next argument
  CHECK(found({"-P=secret"}) == Words{"=secret"});      // -P's value is "=secret"
  CHECK(found({"-dPsecret"}) == Words{"secret"});       // after a flag letter
  CHECK(found({"-drP", "secret"}) == Words{"secret"});
  CHECK(found({"-P", "first", "-P", "second"}) == Words{"first", "second"}); // the overridden one too
  CHECK(found({"-P", "-t"}) == Words{"-t"}); // a value, whatever it looks like
  Argv a({"-u", "alice", "--pw=secret"});
  CHECK(mqtk::find_passwords(a.argc(), a.argv(), arity) == std::vector<SecretSpan>{{3, 5, 6}});
}

TEST_CASE("credentials: what only looks like -P is left alone")
{
  CHECK(found({"-t", "-P", "-P", "secret"}) == Words{"secret"}); // the topic "-P"
  CHECK(found({"-tP", "x"}).empty());                             // the topic "P"
  CHECK(found({"-m", "--pw", "x"}).empty());
  CHECK(found({"--topic=-Px"}).empty());
  CHECK(found({"--", "-P", "x"}).empty());
  CHECK(found({"-zP", "x"}).empty()); // an unknown letter: CLI11 stops there
  CHECK(found({"-D", "connect", "-P", "x"}) == Words{"x"});
  CHECK(found({"-P"}).empty()); // no value: a usage error, nothing to hide
  CHECK(found({"-P", ""}).empty());
}

TEST_CASE("credentials: the password of a -L URL, and only it")
{
  CHECK(found({"-L", "mqtt://alice:secret@host:1883/a/b"}) == Words{"secret"});
  CHECK(found({"--url=mqtts://alice:s@c:r/et@host/t"}) == Words{"s"}); // as parse_broker_url: '/' ends the authority
  CHECK(found({"--url=mqtts://alice:s@c:ret@host/t@x"}) == Words{"s@c:ret"});
  CHECK(found({"-Lmqtt://alice:pw@h"}) == Words{"pw"});
  CHECK(found({"-L", "ws://bob:pw@[::1]:8080/mqtt"}) == Words{"pw"});
  CHECK(found({"-L", "mqtt://alice@host/a"}).empty());
  CHECK(found({"-L", "mqtt://alice:@host/a"}).empty());
  CHECK(found({"-L", "mqtt://host/a:b@c"}).empty());
  CHECK(found({"-t", "mqtt://alice:secret@host"}).empty());
  Argv a({"-L", "mqtt://alice:secret@host/t"});
  mqtk::blank_passwords(a.argv(), mqtk::find_passwords(a.argc(), a.argv(), arity));
  CHECK(a.shown(2) == "mqtt://alice:******@host/t");
}

TEST_CASE("credentials: the tools' own options, checked against CLI11's parse")
{
  struct Case
  {
    std::string tool;
    Words words;
    Words secrets;
  };
  const std::vector<Case> cases = {
    {"pub", {"-t", "a", "-m", "-P", "-u", "alice", "-P", "secret"}, {"secret"}},
    {"pub", {"-rdPsecret", "-u", "alice", "-t", "a", "-m", "x"}, {"secret"}},
    {"pub", {"-u", "alice", "--pw=one", "--pw", "two", "-t", "a", "-n"}, {"one", "two"}},
    {"pub", {"-L", "mqtt://alice:secret@localhost/a", "-m", "x"}, {"secret"}},
    {"sub", {"-t", "-P", "-P", "secret", "-u", "alice", "-v"}, {"secret"}},
    {"sub", {"-vdP", "secret", "-u", "alice", "-t", "a", "-C", "1"}, {"secret"}},
    {"sub", {"-x", "-1", "-u", "alice", "-Psecret", "-t", "a"}, {"secret"}},
    {"sub", {"-W", "5", "-u", "alice", "-P", "--pw", "-t", "a"}, {"--pw"}},
    {"bench", {"pub", "-u", "alice", "-P", "secret", "-n", "1"}, {"secret"}},
    {"bench", {"conn", "-c", "2", "-u", "alice", "--pw=secret"}, {"secret"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.tool);
    CAPTURE(c.words.front());
    CLI::App app;
    app.set_help_flag("--help");
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    mqtk::PubOptions pub;
    mqtk::SubOptions sub;
    mqtk::BenchOptions bench;
    if (c.tool == "pub") {
      mqtk::add_pub_options(app, pub);
    } else if (c.tool == "sub") {
      mqtk::add_sub_options(app, sub);
    } else {
      mqtk::add_bench_options(app, bench);
    }
    Argv a(c.words);
    REQUIRE_NOTHROW(app.parse(a.argc(), a.argv()));
    const auto spans = mqtk::find_passwords(app, a.argc(), a.argv());
    Words texts;
    for (const auto& s : spans) {
      texts.push_back(a.words[static_cast<std::size_t>(s.index)].substr(s.offset, s.length));
    }
    CHECK(texts == c.secrets);
    mqtk::blank_passwords(a.argv(), spans);
    for (int i = 1; i < a.argc(); ++i) {
      for (const auto& secret : c.secrets) {
        if (secret != "--pw") {
          CHECK(a.shown(i).find(secret) == std::string::npos);
        }
      }
    }
    // What was parsed is kept: CLI11 copied the arguments.
    const auto& password = c.tool == "pub" ? pub.connection.password
                           : c.tool == "sub" ? sub.connection.password
                                             : bench.plan.connection.password;
    if (c.words.front() != "-L") {
      REQUIRE(password);
      CHECK(*password == c.secrets.back());
    }
  }
}

TEST_CASE("credentials: the --psk key is found and blanked like -P")
{
  for (const Words& words : {Words{"--psk", "00aa11", "--psk-identity", "me", "-t", "a", "-m", "x"},
                             Words{"-t", "a", "--psk=00aa11", "--psk-identity=me", "-n"}}) {
    CLI::App app;
    app.set_help_flag("--help");
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    mqtk::PubOptions pub;
    mqtk::add_pub_options(app, pub);
    Argv a(words);
    REQUIRE_NOTHROW(app.parse(a.argc(), a.argv()));
    const auto spans = mqtk::find_passwords(app, a.argc(), a.argv());
    REQUIRE(spans.size() == 1);
    mqtk::blank_passwords(a.argv(), spans);
    for (int i = 1; i < a.argc(); ++i) {
      CHECK(a.shown(i).find("00aa11") == std::string::npos);
    }
    CHECK(pub.connection.psk == "00aa11");
    CHECK(pub.connection.psk_identity == "me"); // the identity is no secret
  }
}

TEST_CASE("credentials: a password the scan misses is found by its text")
{
  CLI::App app;
  app.set_help_flag("--help");
  std::optional<std::string> password;
  app.add_option("-P,--pw", password);
  Argv a({"-P", "hunter2"});
  app.parse(a.argc(), a.argv());
  // Other arguments than those parsed, where the scan sees no -P.
  Argv shifted({"x", "hunter2", "--other=hunter2"});
  const auto spans = mqtk::find_passwords(app, shifted.argc(), shifted.argv());
  mqtk::blank_passwords(shifted.argv(), spans);
  CHECK(shifted.shown(1) == "x");
  CHECK(shifted.shown(2) == "*******");
  CHECK(shifted.shown(3) == "--other=*******");
  CHECK(mqtk::follows_password(3, spans));
  CHECK(!mqtk::follows_password(2, spans));
}

TEST_CASE("credentials: flags win over the environment, -L over both")
{
  std::map<std::string, std::string> env;
  auto lookup = [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto resolved = [&](mqtk::ConnectionOptions o, std::optional<std::string> url_user = {},
                      std::optional<std::string> url_password = {}) {
    mqtk::resolve_credentials(o, url_user, url_password, lookup);
    return o;
  };
  mqtk::ConnectionOptions none;
  auto o = resolved(none);
  CHECK((!o.username && !o.password && o.username_from.empty() && o.password_from.empty()));

  env = {{"MQTK_USERNAME", "alice"}, {"MQTK_PASSWORD", "from-env"}};
  o = resolved(none);
  CHECK((o.username == "alice" && o.password == "from-env"));
  CHECK((o.username_from == "MQTK_USERNAME" && o.password_from == "MQTK_PASSWORD"));

  mqtk::ConnectionOptions flags;
  flags.username = "bob";
  flags.password = "from-flag";
  o = resolved(flags);
  CHECK((o.username == "bob" && o.password == "from-flag" && o.username_from == "-u" && o.password_from == "-P"));

  mqtk::ConnectionOptions user_only;
  user_only.username = "bob";
  o = resolved(user_only); // each taken where it is given
  CHECK((o.username == "bob" && o.password == "from-env" && o.password_from == "MQTK_PASSWORD"));

  o = resolved(flags, "carol", "from-url");
  CHECK((o.username == "carol" && o.password == "from-url" && o.username_from == "-L" && o.password_from == "-L"));
  o = resolved(none, "carol");
  CHECK((o.username == "carol" && o.password == "from-env"));

  env = {{"MQTK_USERNAME", ""}, {"MQTK_PASSWORD", ""}}; // empty: unset
  o = resolved(none);
  CHECK((!o.username && !o.password));
}

TEST_CASE("credentials: a password needs a user name, wherever it came from")
{
  std::map<std::string, std::string> env = {{"MQTK_PASSWORD", "from-env"}};
  auto lookup = [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  mqtk::ConnectionOptions o;
  CHECK(usage_error([&] { mqtk::resolve_credentials(o, {}, {}, lookup); })
        == "MQTK_PASSWORD (environment): a password needs a username (-u, or MQTK_USERNAME in the environment)");
  env.clear();
  o.password = "x";
  CHECK(usage_error([&] { mqtk::resolve_credentials(o, {}, {}, lookup); })
        == "-P: a password needs a username (-u, or MQTK_USERNAME in the environment)");
  o.password_file = "/nonexistent/pw";
  CHECK(usage_error([&] { mqtk::resolve_credentials(o, {}, {}, lookup); })
        == "-P and --pw-file cannot be used together; give the password once");
  o.password.reset();
  CHECK(usage_error([&] { mqtk::resolve_credentials(o, {}, {}, lookup); })
        == "--pw-file: cannot read '/nonexistent/pw': No such file or directory");
}

TEST_CASE("credentials: --pw-file takes the first line")
{
  char pattern[] = "/tmp/mqtk-credentials-XXXXXX";
  REQUIRE(::mkdtemp(pattern) != nullptr);
  const fs::path dir = pattern;
  auto file = [&](const std::string& name, const std::string& text) {
    const std::string path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  };
  CHECK(mqtk::read_password_file(file("lf", "s3cret\nsecond line\n")) == "s3cret");
  CHECK(mqtk::read_password_file(file("crlf", "s3cret\r\nsecond\r\n")) == "s3cret");
  CHECK(mqtk::read_password_file(file("bare", "with spaces and # \t")) == "with spaces and # \t");
  CHECK(mqtk::read_password_file(file("long", std::string(65535, 'x'))) == std::string(65535, 'x'));

  const std::string empty = file("empty", "");
  CHECK(usage_error([&] { mqtk::read_password_file(empty); })
        == "--pw-file: '" + empty + "' is empty (the password is its first line)");
  const std::string blank = file("blank", "\r\nsecret\n");
  CHECK(usage_error([&] { mqtk::read_password_file(blank); })
        == "--pw-file: the first line of '" + blank + "' is empty (the password is the first line)");
  const std::string huge = file("huge", std::string(70000, 'x') + "\n");
  CHECK(usage_error([&] { mqtk::read_password_file(huge); })
        == "--pw-file: the first line of '" + huge + "' is longer than 65535 bytes (MQTT's limit for a password)");
  CHECK(usage_error([&] { mqtk::read_password_file(dir.string()); })
        == "--pw-file: cannot read '" + dir.string() + "': Is a directory");
  const std::string hidden = file("hidden", "x\n");
  fs::permissions(hidden, fs::perms::none);
  if (::geteuid() != 0) {
    CHECK(usage_error([&] { mqtk::read_password_file(hidden); })
          == "--pw-file: cannot read '" + hidden + "': Permission denied");
  }
  fs::remove_all(dir);

  // A pipe is read no further than the first line.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const std::string text = "piped\nleft for stdin";
  REQUIRE(::write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fds[1]);
  CHECK(mqtk::read_password_file("/dev/fd/" + std::to_string(fds[0])) == "piped");
  char rest[64] = {};
  CHECK(::read(fds[0], rest, sizeof rest) == 14);
  CHECK(std::string(rest) == "left for stdin");
  ::close(fds[0]);
}

TEST_CASE("credentials: a refusal says which credentials were refused")
{
  mqtk::ConnectionOptions o;
  o.mqtt_version = 4;
  CHECK(mqtk::credentials_refused_note(o, 5)
        == "; no credentials were given (-u and -P, or MQTK_USERNAME and MQTK_PASSWORD)");
  o.username = "alice";
  o.username_from = "-u";
  CHECK(mqtk::credentials_refused_note(o, 4) == "; credentials refused: user 'alice' (from -u), no password");
  o.password = "secret";
  o.password_from = "MQTK_PASSWORD";
  CHECK(mqtk::credentials_refused_note(o, 5)
        == "; credentials refused: user 'alice' (from -u), the password from MQTK_PASSWORD");
  for (int code : {0, 1, 2, 3, 27, 134, 135}) {
    CHECK(mqtk::credentials_refused_note(o, code).empty());
  }
  o.mqtt_version = 5;
  CHECK(mqtk::credentials_refused_note(o, 135).find("credentials refused") != std::string::npos);
  CHECK(mqtk::credentials_refused_note(o, 134).find("credentials refused") != std::string::npos);
  CHECK(mqtk::credentials_refused_note(o, 5).empty());
  CHECK(mqtk::credentials_refused_note(o, 1).empty());
}
