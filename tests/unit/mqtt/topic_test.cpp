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
