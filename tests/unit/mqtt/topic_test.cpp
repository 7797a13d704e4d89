#include <doctest/doctest.h>

#include <string>

#include "mqtk/process/error.hpp"
#include "mqtk/mqtt/topic.hpp"

using mqtk::topic_matches;
using mqtk::validate_publish_topic;
using mqtk::validate_topic_filter;

namespace {

std::string publish_error(std::string_view topic, std::string_view option = "-t")
{
  try {
    validate_publish_topic(topic, option);
  } catch (const mqtk::UsageError& e) {
    CHECK(e.code() == 1);
    return e.what();
  }
  return {};
}

std::string filter_error(std::string_view filter, std::string_view option = "-t")
{
  try {
    validate_topic_filter(filter, option);
  } catch (const mqtk::UsageError& e) {
    CHECK(e.code() == 1);
    return e.what();
  }
  return {};
}

} // namespace

TEST_CASE("publish topics: plain topics pass")
{
  for (const char* t : {"a", "a/b", "/", "/a/", "a//b", "$SYS/x", "ünï/cødé", " "}) {
    CAPTURE(t);
    CHECK(publish_error(t) == "");
  }
  CHECK(publish_error(std::string(65535, 'a')) == "");
}

TEST_CASE("publish topics: wildcards, empty, NUL and length are refused, naming the option")
{
  auto e = publish_error("a/+", "-t");
  CHECK(e.find("-t") == 0);
  CHECK(e.find("'a/+'") != std::string::npos);
  CHECK(e.find("'+'") != std::string::npos);
  CHECK(e.find("position 3") != std::string::npos);
  CHECK(publish_error("a/#").find("'#'") != std::string::npos);
  CHECK(publish_error("a+b").find("position 2") != std::string::npos);
  CHECK(publish_error("#", "--will-topic").find("--will-topic") == 0);
  CHECK(publish_error("").find("empty") != std::string::npos);
  CHECK(publish_error(std::string("a\0b", 3)).find("NUL") != std::string::npos);
  CHECK(publish_error(std::string(65536, 'a')).find("65535") != std::string::npos);
}

TEST_CASE("topic filters: valid filters pass")
{
  for (const char* f : {"#", "+", "a/#", "a/+", "+/+", "+/#", "a/+/b", "/#", "a//+", "$SYS/#", "a/b", "/+/"}) {
    CAPTURE(f);
    CHECK(filter_error(f) == "");
  }
}

TEST_CASE("topic filters: misplaced wildcards, empty and NUL are refused")
{
  auto e = filter_error("a/#/b", "-T");
  CHECK(e.find("-T") == 0);
  CHECK(e.find("'#'") != std::string::npos);
  CHECK(e.find("position 3") != std::string::npos);
  CHECK(filter_error("a#").find("'#'") != std::string::npos);
  CHECK(filter_error("#/a") != "");
  CHECK(filter_error("a/b#") != "");
  CHECK(filter_error("a+").find("'+'") != std::string::npos);
  CHECK(filter_error("+a/b") != "");
  CHECK(filter_error("a/+b") != "");
  CHECK(filter_error("a/b+/c", "-U").find("-U") == 0);
  CHECK(filter_error("").find("empty") != std::string::npos);
  CHECK(filter_error(std::string("a/\0", 3)).find("NUL") != std::string::npos);
  CHECK(filter_error(std::string(65536, 'a')) != "");
}

TEST_CASE("topic filters: shared subscriptions need a group and a filter")
{
  for (const char* f : {"$share/g/#", "$share/group-1/lab/+/accel", "$share/g/a/b", "$share"}) {
    CAPTURE(f);
    CHECK(filter_error(f) == "");
  }
  CHECK(mqtk::is_shared_subscription("$share/g/a"));
  CHECK_FALSE(mqtk::is_shared_subscription("$share"));
  CHECK_FALSE(mqtk::is_shared_subscription("a/$share/g"));
  CHECK(filter_error("$share//a") ==
        "-t: invalid shared subscription '$share//a': the group name is empty (write $share/GROUP/FILTER)");
  CHECK(filter_error("$share/g") ==
        "-t: invalid shared subscription '$share/g': no topic filter after the group name (write $share/GROUP/FILTER)");
  CHECK(filter_error("$share/g/") != "");
  CHECK(filter_error("$share/g+/a") ==
        "-t: invalid shared subscription '$share/g+/a': the group name 'g+' may not contain '+' or '#'");
  CHECK(filter_error("$share/#") != "");
  CHECK(filter_error("$share/g/a#").find("'#' at position 11") != std::string::npos);
}

TEST_CASE("topic_matches: exact levels and '+'")
{
  CHECK(topic_matches("a/b", "a/b"));
  CHECK_FALSE(topic_matches("a/b", "a/c"));
  CHECK_FALSE(topic_matches("a/b", "a/b/c"));
  CHECK_FALSE(topic_matches("a/b/c", "a/b"));
  CHECK(topic_matches("a/+", "a/b"));
  CHECK(topic_matches("a/+", "a/"));
  CHECK_FALSE(topic_matches("a/+", "a"));
  CHECK_FALSE(topic_matches("a/+", "a/b/c"));
  CHECK(topic_matches("+/+", "/x"));
  CHECK(topic_matches("+", "a"));
  CHECK_FALSE(topic_matches("+", "/a"));
  CHECK(topic_matches("f/+", "f/x"));
  CHECK_FALSE(topic_matches("f/+", "f/a/b"));
  CHECK(topic_matches("a//b", "a//b"));
  CHECK(topic_matches("a/+/b", "a//b"));
}

TEST_CASE("topic_matches: '#'")
{
  CHECK(topic_matches("#", "a"));
  CHECK(topic_matches("#", "a/b/c"));
  CHECK(topic_matches("#", "/"));
  CHECK(topic_matches("a/#", "a/b"));
  CHECK(topic_matches("a/#", "a/b/c"));
  CHECK(topic_matches("a/#", "a"));   // the parent level too
  CHECK(topic_matches("a/#", "a/"));
  CHECK_FALSE(topic_matches("a/#", "ab"));
  CHECK_FALSE(topic_matches("a/#", "b/a"));
  CHECK(topic_matches("a/+/#", "a/b"));
  CHECK(topic_matches("a/+/#", "a/b/c/d"));
  CHECK_FALSE(topic_matches("a/+/#", "a"));
  CHECK(topic_matches("+/#", "a"));
}

TEST_CASE("topic_matches: wildcards at the first level do not match $ topics")
{
  CHECK_FALSE(topic_matches("#", "$SYS/broker/uptime"));
  CHECK_FALSE(topic_matches("+/broker/uptime", "$SYS/broker/uptime"));
  CHECK_FALSE(topic_matches("+", "$x"));
  CHECK(topic_matches("$SYS/#", "$SYS/broker/uptime"));
  CHECK(topic_matches("$SYS/+/uptime", "$SYS/broker/uptime"));
  CHECK(topic_matches("a/#", "a/$b"));
  CHECK(topic_matches("a/+", "a/$b"));
}

TEST_CASE("topics and filters: UTF-8 as mosquitto checks it, naming the byte's position")
{
  // Well-formed, including the largest code point and U+00A0 (not a control).
  for (const char* t : {"caf\xc3\xa9", "\xc2\xa0", "\xf4\x8f\xbf\xbd", "\xe2\x82\xac/\xf0\x9f\x98\x80", "\xef\xbf\xbd"}) {
    CAPTURE(t);
    CHECK(publish_error(t) == "");
    CHECK(filter_error(t) == "");
  }
  CHECK(publish_error("a/\xff") == "-t: topic is not valid UTF-8: byte 0xFF at position 3 is a byte that is never in UTF-8");
  CHECK(filter_error("\x80/#", "-T") ==
        "-T: topic filter is not valid UTF-8: byte 0x80 at position 1 is a continuation byte that continues nothing");
  CHECK(publish_error("ab\xe2\x82") == "-t: topic is not valid UTF-8: byte 0xE2 at position 3 is a character cut short");
  CHECK(publish_error("\xe2\x82x").find("cut short") != std::string::npos);
  // Overlong forms: "/" as C0 AF, E0 80 AF, F0 80 80 AF.
  for (const char* t : {"a\xc0\xaf", "a\xe0\x80\xaf", "a\xf0\x80\x80\xaf"}) {
    CAPTURE(t);
    CHECK(publish_error(t).find("position 2 is an overlong encoding") != std::string::npos);
  }
  CHECK(publish_error("\xed\xa0\x80") == "-t: topic is not valid UTF-8: byte 0xED at position 1 is a UTF-16 surrogate");
  CHECK(filter_error("a/\xed\xbf\xbf").find("surrogate") != std::string::npos);
  CHECK(publish_error("\xf4\x90\x80\x80").find("beyond U+10FFFF") != std::string::npos);
  CHECK(publish_error("\xf5\x80\x80\x80").find("never in UTF-8") != std::string::npos);
  CHECK(publish_error(std::string("ab\0", 3), "--alert-topic") == "--alert-topic: topic contains a NUL character at position 3");
}

TEST_CASE("topics and filters: control characters and noncharacters are refused, as mosquitto refuses them")
{
  // MQTT 1.5.4 allows U+0001..U+001F and U+007F..U+009F (SHOULD NOT), but
  // mosquitto_pub/mosquitto_sub refuse them ("Malformed UTF-8", exit 1) and
  // mosquitto's broker disconnects a client that sends one; mqtk refuses them
  // before connecting. The noncharacters likewise.
  CHECK(publish_error("a\x01") == "-t: topic holds the control character U+0001 at position 2, which brokers refuse");
  CHECK(publish_error("a\tb").find("U+0009 at position 2") != std::string::npos);
  CHECK(filter_error("a/\x1f", "-U").find("-U: topic filter holds the control character U+001F") == 0);
  CHECK(publish_error("\x7f").find("U+007F at position 1") != std::string::npos);
  CHECK(publish_error("x\xc2\x80").find("U+0080 at position 2") != std::string::npos);
  CHECK(publish_error("x\xc2\x9f").find("U+009F") != std::string::npos);
  CHECK(publish_error("\xef\xbf\xbf") == "-t: topic holds the noncharacter U+FFFF at position 1, which brokers refuse");
  CHECK(publish_error("\xef\xbf\xbe").find("U+FFFE") != std::string::npos);
  CHECK(filter_error("a/\xef\xb7\x90").find("U+FDD0 at position 3") != std::string::npos);
  CHECK(publish_error("\xf0\x9f\xbf\xbf").find("U+1FFFF") != std::string::npos);
}

TEST_CASE("topics and filters: empty levels are valid, the length counts bytes")
{
  for (const char* t : {"/", "//", "a//b", "/a", "a/"}) {
    CAPTURE(t);
    CHECK(publish_error(t) == "");
    CHECK(filter_error(t) == "");
  }
  CHECK(filter_error("//#") == "");
  CHECK(filter_error("+//+") == "");
  // 65535 bytes of two-byte characters and one more byte: not the characters.
  std::string wide;
  for (int i = 0; i < 32767; ++i) {
    wide += "\xc3\xa9";
  }
  wide += "a";
  CHECK(publish_error(wide) == "");
  CHECK(filter_error(wide + "b") == "-t: topic filter is 65536 bytes long; MQTT allows at most 65535");
  CHECK(publish_error(std::string(65536, 'a'), "--marker-topic") ==
        "--marker-topic: topic is 65536 bytes long; MQTT allows at most 65535");
}
