#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "mqtk/connection/options.hpp"
#include "mqtk/process/error.hpp"
#include "mqtk/tools/pub.hpp"
#include "mqtk/tools/sub.hpp"

using mqtk::ConnectionOptions;
using mqtk::parse_protocol_version;
using mqtk::parse_session_expiry;

namespace {

template <typename F>
std::string usage_error(F&& f)
{
  try {
    f();
  } catch (const mqtk::UsageError& e) {
    CHECK(e.code() == 1);
    return e.what();
  }
  return {};
}

// Parses a command line the way run_tool does (help flag "--help" only,
// scalar options take the last value) and resolves the connection options.
struct PubCli
{
  mqtk::PubOptions o;
  CLI::App app;
  explicit PubCli(const std::string& args)
  {
    app.set_help_flag("--help");
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    mqtk::add_pub_options(app, o);
    app.parse(args, false);
  }
  explicit PubCli(std::vector<std::string> argv)
  {
    app.set_help_flag("--help");
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    mqtk::add_pub_options(app, o);
    std::reverse(argv.begin(), argv.end()); // CLI11 takes them last first
    app.parse(argv);
  }
};

struct SubCli
{
  mqtk::SubOptions o;
  CLI::App app;
  explicit SubCli(const std::string& args)
  {
    app.set_help_flag("--help");
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    mqtk::add_sub_options(app, o);
    app.parse(args, false);
  }
  explicit SubCli(std::vector<std::string> argv)
  {
    app.set_help_flag("--help");
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    mqtk::add_sub_options(app, o);
    std::reverse(argv.begin(), argv.end());
    app.parse(argv);
  }
};

template <typename Args>
std::string pub_error(const Args& args)
{
  PubCli cli(args);
  return usage_error([&] {
    mqtk::resolve(cli.o.connection, "mqtk-pub");
    mqtk::validate(cli.o);
  });
}

template <typename Args>
std::string sub_error(const Args& args)
{
  SubCli cli(args);
  return usage_error([&] {
    mqtk::resolve(cli.o.connection, "mqtk-sub");
    mqtk::validate(cli.o);
  });
}

bool contains(const std::string& haystack, std::string_view needle)
{
  return haystack.find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("parse_protocol_version")
{
  CHECK(parse_protocol_version("31") == 3);
  CHECK(parse_protocol_version("mqttv31") == 3);
  CHECK(parse_protocol_version("311") == 4);
  CHECK(parse_protocol_version("mqttv311") == 4);
  CHECK(parse_protocol_version("5") == 5);
  CHECK(parse_protocol_version("mqttv5") == 5);
  for (const char* bad : {"", "3", "4", "50", "v5", "MQTTV5", "3.1.1", " 5"}) {
    CAPTURE(bad);
    auto e = usage_error([&] { parse_protocol_version(bad); });
    CHECK(e.find("-V") == 0);
  }
}

TEST_CASE("parse_session_expiry: numbers and the never-expires spellings")
{
  CHECK(parse_session_expiry("0") == 0u);
  CHECK(parse_session_expiry("60") == 60u);
  CHECK(parse_session_expiry("4294967294") == 4294967294u);
  CHECK(parse_session_expiry("4294967295") == 4294967295u);
  CHECK(parse_session_expiry("-1") == 4294967295u);
  CHECK(parse_session_expiry("∞") == 4294967295u);
  // mosquitto parses with strtol(…, 0): hex, octal, a sign and leading space.
  CHECK(parse_session_expiry("0x10") == 16u);
  CHECK(parse_session_expiry("010") == 8u);
  CHECK(parse_session_expiry("+5") == 5u);
  CHECK(parse_session_expiry(" 5") == 5u);
  CHECK(parse_session_expiry("-0x1") == 4294967295u);
}

TEST_CASE("parse_session_expiry: junk and out-of-range values")
{
  for (const char* junk : {"", "abc", "10abc", "1.5", "∞∞", "5 "}) {
    CAPTURE(junk);
    auto e = usage_error([&] { parse_session_expiry(junk); });
    CHECK(e.find("-x") == 0);
    CHECK(contains(e, "not a number"));
  }
  for (const char* big : {"4294967296", "-2", "99999999999999999999", "-99999999999999999999"}) {
    CAPTURE(big);
    auto e = usage_error([&] { parse_session_expiry(big); });
    CHECK(e.find("-x") == 0);
    CHECK(contains(e, "out of range"));
  }
  CHECK(usage_error([] { parse_session_expiry(std::string_view("5\0", 2)); }) != "");
}

TEST_CASE("resolve: defaults")
{
  ConnectionOptions o;
  mqtk::resolve(o, "mqtk-pub");
  CHECK(o.host == "localhost");
  CHECK(o.port == 1883);
  CHECK(o.mqtt_version == 4);
  CHECK(o.transport == mqtk::Transport::mqtt);
  CHECK_FALSE(o.tls);
  CHECK(o.id.rfind("mqtk-pub-", 0) == 0);
  CHECK_FALSE(o.session_expiry_seconds.has_value());
  CHECK(mqtk::server_uri(o) == "tcp://localhost:1883");
  CHECK(mqtk::endpoint_text(o) == "localhost:1883");
}

TEST_CASE("resolve: -L fills host, port, credentials and the topic; -I makes prefix+pid")
{
  PubCli cli("-L mqtts://u:pw@[::1]:8884/a/b -I pre- -V mqttv5 -x 30 -m x");
  mqtk::resolve(cli.o.connection, "mqtk-pub");
  const auto& o = cli.o.connection;
  CHECK(o.host == "::1");
  CHECK(o.port == 8884);
  CHECK(o.tls);
  CHECK(*o.username == "u");
  CHECK(*o.password == "pw");
  CHECK(*o.url_topic == "a/b");
  CHECK(o.id.rfind("pre-", 0) == 0);
  CHECK(o.id.size() > 4);
  CHECK(o.mqtt_version == 5);
  CHECK(*o.session_expiry_seconds == 30u);
  CHECK(mqtk::endpoint_text(o) == "[::1]:8884");
  CHECK(mqtk::server_uri(o) == "ssl://[::1]:8884");
  mqtk::validate(cli.o);
  CHECK(cli.o.topic == "a/b");

  ConnectionOptions ws;
  ws.url = "ws://h:8080/mqtt";
  mqtk::resolve(ws, "mqtk-sub");
  CHECK(mqtk::server_uri(ws) == "ws://h:8080/mqtt");
  ConnectionOptions wss;
  wss.url = "wss://h/";
  mqtk::resolve(wss, "mqtk-sub");
  CHECK(mqtk::server_uri(wss) == "wss://h:443/");
}

TEST_CASE("resolve: --cafile turns TLS on with port 8883")
{
  ConnectionOptions o;
  o.cafile = "/dev/null";
  mqtk::resolve(o, "mqtk-sub");
  CHECK(o.tls);
  CHECK(o.port == 8883);
}

TEST_CASE("resolve: --psk and --psk-identity")
{
  CHECK(pub_error("-t a -m x --psk 00ff --psk-identity me") == "");
  CHECK(pub_error("-t a -m x --psk 00ff") == "--psk needs --psk-identity (the identity the broker knows the key by)");
  CHECK(pub_error("-t a -m x --psk-identity me") == "--psk-identity needs --psk (the key in hex)");
  CHECK(pub_error("-t a -m x --psk 0g --psk-identity me")
        == "--psk: character 2 of the key is not a hex digit (0-9, a-f)");
  CHECK(contains(pub_error("-t a -m x --psk 00ff --psk-identity me --cafile /dev/null"),
                 "--psk cannot be used with --cafile, --capath or --tls-use-os-certs"));
  CHECK(contains(pub_error("-t a -m x --psk 00ff --psk-identity me --tls-use-os-certs"), "--tls-use-os-certs"));
  CHECK(contains(pub_error("-t a -m x --psk 00ff --psk-identity me --cert /dev/null --key /dev/null"),
                 "--cert and --key"));
  CHECK(pub_error("-L mqtt://h/t -m x --psk 00ff --psk-identity me")
        == "--psk needs TLS, not mqtt (use mqtts:// or wss://, or leave -L out)");
  CHECK(contains(pub_error("-t a -m x --psk 00ff --psk-identity " + std::string(256, 'i')), "255 bytes"));
  CHECK(contains(pub_error("-t a -m x --psk " + std::string(1026, 'a') + " --psk-identity me"), "at most 512"));

  PubCli cli("-t a -m x --psk 0A0b --psk-identity me");
  mqtk::resolve(cli.o.connection, "mqtk-pub");
  CHECK(cli.o.connection.tls); // a key turns TLS on, port 8883, as in mosquitto
  CHECK(cli.o.connection.port == 8883);
  CHECK(cli.o.connection.psk_key == std::string("\x0a\x0b", 2));
}

TEST_CASE("parse_psk: the bytes mosquitto makes of the same hex")
{
  using mqtk::parse_psk;
  CHECK(parse_psk("00ff") == std::string("\x00\xff", 2));
  CHECK(parse_psk("ABcd") == "\xab\xcd");
  CHECK(parse_psk("abc") == std::string("\x0a\xbc", 2)); // an odd length takes a leading 0
  CHECK(parse_psk("000abc") == std::string("\x00\x0a\xbc", 3));
  CHECK(parse_psk("0000") == std::string(2, '\0'));
  CHECK(parse_psk("000") == std::string(1, '\0')); // as mosquitto__hex2bin: one leading pair, then the value 0
  CHECK(parse_psk("0a00") == std::string("\x0a\x00", 2));
  CHECK(parse_psk(std::string(1024, 'f')).size() == 512);
  CHECK(contains(usage_error([] { parse_psk(""); }), "empty key"));
  CHECK(usage_error([] { parse_psk("12-4"); }) == "--psk: character 3 of the key is not a hex digit (0-9, a-f)");
}

TEST_CASE("resolve: TLS files must be readable, checked before connecting")
{
  CHECK(pub_error("-t a -m x --cafile /nonexistent/ca.pem")
        == "--cafile: cannot read '/nonexistent/ca.pem': No such file or directory");
  CHECK(pub_error("-t a -m x --cafile /") == "--cafile: '/' is a directory");
  CHECK(pub_error("-t a -m x --capath /dev/null") == "--capath: '/dev/null' is not a directory");
  CHECK(pub_error("-t a -m x --capath /") == "");
  CHECK(pub_error("-t a -m x --cert /nonexistent/c --key /dev/null")
        == "--cert: cannot read '/nonexistent/c': No such file or directory");
  CHECK(pub_error("-t a -m x --cert /dev/null --key /nonexistent/k")
        == "--key: cannot read '/nonexistent/k': No such file or directory");
}

TEST_CASE("resolve: client id rules")
{
  CHECK(contains(pub_error("-t a -m x -c"), "-c"));
  CHECK(contains(pub_error("-t a -m x -c -I pre"), "-i"));
  CHECK(pub_error("-t a -m x -c -i me") == "");
  CHECK(contains(pub_error("-t a -m x -i me -I pre"), "-i and -I"));
  CHECK(contains(pub_error("-t a -m x -i " + std::string(65536, 'x')), "65535"));
  // MQTT 5 with a session that never expires needs -i, as in mosquitto.
  CHECK(contains(pub_error("-t a -m x -V 5 -x -1"), "client id"));
  CHECK(contains(pub_error("-t a -m x -V 5 -x 4294967295 -I pre"), "client id"));
  CHECK(contains(pub_error("-t a -m x -V 5 -c"), "client id"));
  CHECK(pub_error("-t a -m x -V 5 -x -1 -i me") == "");
  CHECK(pub_error("-t a -m x -V 5 -x 60") == "");
  // -x matters only with MQTT 5.
  CHECK(pub_error("-t a -m x -x -1") == "");
}

TEST_CASE("resolve: will flags need --will-topic; the will topic has no wildcards")
{
  CHECK(contains(pub_error("-t a -m x --will-payload bye"), "--will-topic"));
  CHECK(contains(pub_error("-t a -m x --will-retain"), "--will-topic"));
  CHECK(contains(pub_error("-t a -m x --will-qos 1"), "--will-topic"));
  CHECK(contains(pub_error("-t a -m x --will-topic w/# --will-payload bye"), "--will-topic"));
  CHECK(pub_error("-t a -m x --will-topic w --will-payload bye --will-qos 2 --will-retain") == "");
}

TEST_CASE("resolve: other checks")
{
  CHECK(contains(pub_error("-t a -m x -P secret"), "-u"));
  CHECK(contains(pub_error(std::vector<std::string>{"-t", "a", "-m", "x", "-h", ""}), "-h"));
  CHECK(contains(pub_error("-t a -m x --tls-version tlsv9"), "--tls-version"));
  CHECK(contains(pub_error("-t a -m x --cert c.pem"), "--key"));
  CHECK(contains(pub_error("-t a -m x -V 7"), "-V"));
  CHECK(contains(pub_error("-t a -m x -x junk -V 5"), "-x"));
  CHECK(contains(pub_error("-m x -L foo://h/t"), "-L"));
}

TEST_CASE("resolve: the password never appears in an error")
{
  for (const char* args : {"-t a -m x -P hunter2", "-t a -m x -u u -P hunter2 -i a -I b",
                           "-m x -L mqtt://u:hunter2@h:port/t", "-m x -L mqtt://u:hunter2@/t",
                           "-t a -m x -u u -P hunter2 -V 9", "-t 'a/#' -m x -u u -P hunter2"}) {
    CAPTURE(args);
    auto e = pub_error(args);
    CHECK(e != "");
    CHECK_FALSE(contains(e, "hunter2"));
  }
}

TEST_CASE("unsupported flags are refused with 'not supported'")
{
  for (const char* args : {"-A 127.0.0.1", "--unix /tmp/sock", "--proxy socks5h://h:1080", "--tls-engine e",
                           "--tls-engine-kpass-sha1 abc", "--keyform engine"}) {
    CAPTURE(args);
    auto e = pub_error(std::string("-t a -m x ") + args);
    CHECK(contains(e, "not supported"));
    auto s = sub_error(std::string("-t a ") + args);
    CHECK(contains(s, "not supported"));
  }
  CHECK(pub_error("-t a -m x --keyform pem") == "");
}

TEST_CASE("resolve: -D implies MQTT 5, is refused with an explicit older -V, and its session expiry is -x's")
{
  PubCli five("-t a -m x -D publish message-expiry-interval 10 --property publish user-property k v");
  mqtk::resolve(five.o.connection, "mqtk-pub");
  CHECK(five.o.connection.mqtt_version == 5);
  REQUIRE(five.o.connection.property_set.publish.size() == 2);
  CHECK(five.o.connection.property_set.publish[1].value == "v");
  PubCli plain("-t a -m x");
  mqtk::resolve(plain.o.connection, "mqtk-pub");
  CHECK(plain.o.connection.mqtt_version == 4);
  CHECK(pub_error("-t a -m x -V 311 -D publish message-expiry-interval 10")
        == "-D: properties need MQTT 5, not -V 311 (leave -V out or give -V 5)");
  CHECK(pub_error("-t a -m x -V 5 -D publish bogus 1") == "-D publish: unknown property 'bogus'");
  CHECK(pub_error("-t a -m x -x 10 -D connect session-expiry-interval 5")
        == "-x and -D connect session-expiry-interval: give one");
  PubCli expiry("-t a -m x -D connect session-expiry-interval 5 -D connect receive-maximum 5");
  mqtk::resolve(expiry.o.connection, "mqtk-pub");
  CHECK(expiry.o.connection.session_expiry_seconds == 5u);
  CHECK(expiry.o.connection.property_set.connect.size() == 1);
}

TEST_CASE("CLI: range checks happen while parsing")
{
  auto parse_fails = [](const std::string& args) {
    try {
      PubCli cli(args);
    } catch (const CLI::ParseError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(contains(parse_fails("-q 3 -t a -m x"), "qos"));
  CHECK(contains(parse_fails("-q -1 -t a -m x"), "qos"));
  CHECK(contains(parse_fails("-k 0 -t a -m x"), "keepalive"));
  CHECK(contains(parse_fails("-k 4 -t a -m x"), "keepalive"));
  CHECK(contains(parse_fails("-k 65536 -t a -m x"), "keepalive"));
  CHECK(contains(parse_fails("-p 0 -t a -m x"), "port"));
  CHECK(contains(parse_fails("-p 70000 -t a -m x"), "port"));
  CHECK(contains(parse_fails("-p abc -t a -m x"), "port"));
  CHECK(contains(parse_fails("--will-qos 3 -t a -m x"), "will-qos"));
  CHECK(contains(parse_fails("--repeat 0 -t a -m x"), "repeat"));
  CHECK(contains(parse_fails("--repeat-delay -1 -t a -m x"), "repeat-delay"));
  CHECK(contains(parse_fails("--bogus -t a -m x"), "--bogus"));
  CHECK(parse_fails("-q 2 -k 5 -p 65535 -t a -m x") == "");
  // Scalar options take the last value, as in mosquitto.
  PubCli last("-q 1 -q 2 -t a -t b -m x");
  CHECK(last.o.qos == 2);
  CHECK(last.o.topic == "b");
}

TEST_CASE("pub validation: topic and message sources")
{
  CHECK(contains(pub_error("-m x"), "-t"));
  CHECK(contains(pub_error("-t a"), "-m"));
  CHECK(contains(pub_error("-t a/+ -m x"), "-t"));
  CHECK(contains(pub_error("-t a/# -m x"), "'#'"));
  CHECK(contains(pub_error("-t a -m x -f file"), "only one"));
  CHECK(contains(pub_error("-t a -m x -s"), "only one"));
  CHECK(contains(pub_error("-t a -m x -l"), "only one"));
  CHECK(contains(pub_error("-t a -m x -n"), "only one"));
  CHECK(contains(pub_error("-t a -s -l"), "only one"));
  CHECK(contains(pub_error("-t a -l --repeat 2"), "--repeat"));
  CHECK(pub_error("-t a -n") == "");
  CHECK(pub_error(std::vector<std::string>{"-t", "a", "-m", ""}) == "");
  CHECK(contains(pub_error(std::vector<std::string>{"-t", "", "-m", "x"}), "-t"));
  CHECK(pub_error("-t a -l") == "");
}

TEST_CASE("sub validation: filters and combinations")
{
  CHECK(contains(sub_error(""), "-t"));
  CHECK(contains(sub_error("-t a/#/b"), "-t"));
  CHECK(contains(sub_error("-t a -t b+"), "-t"));
  CHECK(contains(sub_error("-t a -T x/#/y"), "-T"));
  CHECK(contains(sub_error("-t a -U a+"), "-U"));
  CHECK(contains(sub_error(std::vector<std::string>{"-t", ""}), "empty"));
  CHECK(contains(sub_error("-t a -R --retained-only"), "-R"));
  CHECK(contains(sub_error("-t a -j -F %t"), "-j"));
  CHECK(sub_error("-t a -t b/# -T b/+ -U c") == "");
  CHECK(sub_error("-U a") == "");
  SubCli cli("-t a -t b -T c -T d");
  CHECK(cli.o.topics == std::vector<std::string>{"a", "b"});
  CHECK(cli.o.filter_out == std::vector<std::string>{"c", "d"});
}
