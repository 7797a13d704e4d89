#include "mqtk/mqtt/properties.hpp"

#include "mqtk/process/error.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using mqtk::parse_property_arguments;
using mqtk::Property;
using mqtk::PropertyPacket;
using mqtk::PropertyType;

namespace {

std::string error_of(const std::vector<std::string>& words)
{
  try {
    parse_property_arguments(words, "-D");
  } catch (const mqtk::UsageError& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("-D: properties by packet, in order, user properties with a name and a value")
{
  const auto set = parse_property_arguments({"publish", "content-type", "text/plain", "publish", "user-property", "a",
                                             "1", "connect", "receive-maximum", "10", "publish", "user-property", "a",
                                             "2", "will", "will-delay-interval", "30", "subscribe",
                                             "subscription-identifier", "268435455", "publish", "topic-alias", "3"});
  REQUIRE(set.publish.size() == 4);
  CHECK(set.publish[0] == Property{3, PropertyType::utf8, 0, "text/plain", ""});
  CHECK(set.publish[1] == Property{38, PropertyType::pair, 0, "a", "1"});
  CHECK(set.publish[2] == Property{38, PropertyType::pair, 0, "a", "2"}); // names may repeat
  CHECK(set.connect == std::vector<Property>{{33, PropertyType::two_byte, 10, "", ""}});
  CHECK(set.will == std::vector<Property>{{24, PropertyType::four_byte, 30, "", ""}});
  CHECK(set.subscribe[0].number == 268435455u);
  CHECK(set.topic_alias() == 3);
  CHECK(set.of(PropertyPacket::unsubscribe).empty());
  CHECK_FALSE(set.empty());
  CHECK(parse_property_arguments({}).empty());
  CHECK(parse_property_arguments({"publish", "correlation-data", "\xff\x01"}).publish[0].text == "\xff\x01");
  CHECK(parse_property_arguments({"publish", "message-expiry-interval", "4294967295"}).publish[0].number
        == 4294967295u);
}

TEST_CASE("-D: what mosquitto's clients refuse is a usage error naming the argument")
{
  CHECK(error_of({"bogus", "content-type", "x"})
        == "-D: unknown command 'bogus' (expected connect, publish, subscribe, unsubscribe, disconnect or will)");
  CHECK(error_of({"publish", "foo", "1"}) == "-D publish: unknown property 'foo'");
  CHECK(error_of({"connect", "content-type", "x"}) == "-D connect: content-type is not allowed in connect");
  CHECK(error_of({"publish", "subscription-identifier", "5"})
        == "-D publish: subscription-identifier is not allowed in publish");
  CHECK(error_of({"connect", "maximum-qos", "1"}) == "-D connect: maximum-qos is the broker's to send, not a client's");
  CHECK(error_of({"publish", "payload-format-indicator", "256"})
        == "-D publish: payload-format-indicator 256 is out of range (0 to 1)");
  CHECK(error_of({"publish", "payload-format-indicator", "-1"})
        == "-D publish: payload-format-indicator '-1' is not a number (0 to 1)");
  CHECK(error_of({"publish", "payload-format-indicator", "abc"})
        == "-D publish: payload-format-indicator 'abc' is not a number (0 to 1)");
  CHECK(error_of({"publish", "message-expiry-interval", "4294967296"})
        == "-D publish: message-expiry-interval 4294967296 is out of range (0 to 4294967295)");
  CHECK(error_of({"publish", "message-expiry-interval", "99999999999999999999999"}).find("out of range")
        != std::string::npos);
  CHECK(error_of({"publish", "topic-alias", "0"}) == "-D publish: topic-alias 0 is out of range (1 to 65535)");
  CHECK(error_of({"connect", "receive-maximum", "0"}) == "-D connect: receive-maximum 0 is out of range (1 to 65535)");
  CHECK(error_of({"subscribe", "subscription-identifier", "268435456"}).find("out of range") != std::string::npos);
  CHECK(error_of({"publish", "correlation-data", "x", "publish", "correlation-data", "y"})
        == "-D publish: correlation-data given twice (only user-property may repeat)");
  CHECK(error_of({"publish", "user-property", "a"}) == "-D publish: user-property takes a name and a value");
  CHECK(error_of({"publish", "content-type"}) == "-D publish: give a property name and its value");
  CHECK(error_of({"publish", "response-topic", "a/+"}).rfind("-D publish: response-topic: ", 0) == 0);
  CHECK(error_of({"publish", "content-type", "\xff"}) == "-D publish: content-type must be UTF-8 text");
  CHECK(mqtk::property_name(3) == "content-type");
  CHECK(mqtk::property_name(99) == "property 99");
}

TEST_CASE("topic aliases: set with a topic, used alone, reset per connection")
{
  mqtk::TopicAliases aliases;
  CHECK(aliases.resolve("plain/topic", std::nullopt) == "plain/topic");
  CHECK(aliases.resolve("", 3) == ""); // never set: no topic to give
  CHECK(aliases.resolve("lab/1/accel", 3) == "lab/1/accel");
  CHECK(aliases.resolve("", 3) == "lab/1/accel");
  CHECK(aliases.resolve("lab/2/accel", 3) == "lab/2/accel"); // set anew
  CHECK(aliases.resolve("", 3) == "lab/2/accel");
  CHECK(aliases.resolve("", 65535) == "");
  aliases.clear();
  CHECK(aliases.resolve("", 3) == "");
}
