#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mqtk {

// MQTT 5 properties, independent of Paho: those given with -D/--property
// (mosquitto's syntax and rules) and those a received message carries.

// The packets -D can give properties to.
enum class PropertyPacket { connect, publish, subscribe, unsubscribe, disconnect, will };

// How a property's value is encoded on the wire.
enum class PropertyType { byte, two_byte, four_byte, varint, utf8, binary, pair };

// One property to send. `number` holds the integer types; `text` the
// string, binary data or a pair's name; `value` a pair's value.
struct Property
{
  int identifier = 0; // the MQTT 5 identifier (3 = content type, ...)
  PropertyType type = PropertyType::byte;
  std::uint32_t number = 0;
  std::string text;
  std::string value;

  bool operator==(const Property&) const = default;
};

// The -D properties, by the packet they go in, in the order given.
struct PropertySet
{
  std::vector<Property> connect;
  std::vector<Property> publish;
  std::vector<Property> subscribe;
  std::vector<Property> unsubscribe;
  std::vector<Property> disconnect;
  std::vector<Property> will;

  bool empty() const noexcept;
  const std::vector<Property>& of(PropertyPacket packet) const noexcept;
  // The publish topic alias, if -D publish topic-alias was given.
  std::optional<std::uint16_t> topic_alias() const noexcept;
};

// Parses the words of every -D/--property in the order given: COMMAND NAME
// VALUE, or COMMAND user-property NAME VALUE. Commands: connect, publish,
// subscribe, unsubscribe, disconnect, will; names and what each command
// takes as mosquitto 2.0's clients take them; integer values in range (a
// topic alias, receive maximum, maximum packet size and subscription
// identifier from 1); no property twice in one packet except
// user-property. Throws UsageError naming the -D argument and what is
// wrong (`option`: "-D/--property" or "--property").
PropertySet parse_property_arguments(const std::vector<std::string>& words, std::string_view option = "-D");

// The name of property `identifier` as -D spells it ("content-type"), or
// "property N".
std::string property_name(int identifier);

// The properties of a received PUBLISH, as views of the receiver's buffers
// (valid while the message is).
struct MessageProperties
{
  std::optional<std::uint8_t> payload_format;    // 1: UTF-8 text
  std::optional<std::uint32_t> message_expiry;   // seconds left
  std::optional<std::uint16_t> topic_alias;
  std::optional<std::string_view> content_type;
  std::optional<std::string_view> response_topic;
  std::optional<std::string_view> correlation_data;
  std::vector<std::pair<std::string_view, std::string_view>> user; // in order; names may repeat
  std::vector<std::uint32_t> subscription_ids;

  bool empty() const noexcept;
};

// The topic aliases a broker set on one connection (MQTT 5): a PUBLISH
// with a topic and an alias sets the alias; one with the alias alone (an
// empty topic) means the topic it was set to. Not synchronised: the
// receiving thread's.
class TopicAliases
{
public:
  // The topic of a received PUBLISH: `topic`, or the aliased topic when
  // `topic` is empty ("" when the alias was never set: a protocol error of
  // the broker's). Records the alias when both are given.
  std::string_view resolve(std::string_view topic, std::optional<std::uint16_t> alias);
  // A new connection starts with none.
  void clear() noexcept { m_topics.clear(); }

private:
  std::vector<std::string> m_topics; // by alias; "" unset
};

} // namespace mqtk
