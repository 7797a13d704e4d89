#include "mqtk/mqtt/properties.hpp"

#include "mqtk/mqtt/topic.hpp"
#include "mqtk/output/json_text.hpp"
#include "mqtk/process/error.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

namespace mqtk {

namespace {

struct Known
{
  std::string_view name;
  int identifier;
  PropertyType type;
  std::uint64_t low;   // integer types: the smallest value allowed
  std::uint64_t high;  // and the largest
  // The packets a client may give it in (mosquitto 2.0's rules).
  std::initializer_list<PropertyPacket> packets;
};

using P = PropertyPacket;
using T = PropertyType;

// Every property MQTT 5 names; those with no packets are the broker's to
// send (a client giving one gets "not allowed").
const std::array<Known, 27> known{{
  {"payload-format-indicator", 1, T::byte, 0, 1, {P::publish, P::will}},
  {"message-expiry-interval", 2, T::four_byte, 0, 4294967295u, {P::publish, P::will}},
  {"content-type", 3, T::utf8, 0, 0, {P::publish, P::will}},
  {"response-topic", 8, T::utf8, 0, 0, {P::publish, P::will}},
  {"correlation-data", 9, T::binary, 0, 0, {P::publish, P::will}},
  {"subscription-identifier", 11, T::varint, 1, 268435455u, {P::subscribe}},
  {"session-expiry-interval", 17, T::four_byte, 0, 4294967295u, {P::connect, P::disconnect}},
  {"assigned-client-identifier", 18, T::utf8, 0, 0, {}},
  {"server-keep-alive", 19, T::two_byte, 0, 65535, {}},
  {"authentication-method", 21, T::utf8, 0, 0, {P::connect}},
  {"authentication-data", 22, T::binary, 0, 0, {P::connect}},
  {"request-problem-information", 23, T::byte, 0, 1, {P::connect}},
  {"will-delay-interval", 24, T::four_byte, 0, 4294967295u, {P::will}},
  {"request-response-information", 25, T::byte, 0, 1, {P::connect}},
  {"response-information", 26, T::utf8, 0, 0, {}},
  {"server-reference", 28, T::utf8, 0, 0, {P::disconnect}},
  {"reason-string", 31, T::utf8, 0, 0, {P::disconnect}},
  {"receive-maximum", 33, T::two_byte, 1, 65535, {P::connect}},
  {"topic-alias-maximum", 34, T::two_byte, 0, 65535, {P::connect}},
  {"topic-alias", 35, T::two_byte, 1, 65535, {P::publish}},
  {"maximum-qos", 36, T::byte, 0, 1, {}},
  {"retain-available", 37, T::byte, 0, 1, {}},
  {"user-property", 38, T::pair, 0, 0, {P::connect, P::publish, P::subscribe, P::unsubscribe, P::disconnect, P::will}},
  {"maximum-packet-size", 39, T::four_byte, 1, 4294967295u, {P::connect}},
  {"wildcard-subscription-available", 40, T::byte, 0, 1, {}},
  {"subscription-identifier-available", 41, T::byte, 0, 1, {}},
  {"shared-subscription-available", 42, T::byte, 0, 1, {}},
}};

constexpr std::array<std::pair<std::string_view, PropertyPacket>, 6> commands{{
  {"connect", P::connect},
  {"publish", P::publish},
  {"subscribe", P::subscribe},
  {"unsubscribe", P::unsubscribe},
  {"disconnect", P::disconnect},
  {"will", P::will},
}};

std::vector<Property>& list_of(PropertySet& set, PropertyPacket packet)
{
  switch (packet) {
  case P::connect: return set.connect;
  case P::publish: return set.publish;
  case P::subscribe: return set.subscribe;
  case P::unsubscribe: return set.unsubscribe;
  case P::disconnect: return set.disconnect;
  case P::will: return set.will;
  }
  return set.connect;
}

} // namespace

bool PropertySet::empty() const noexcept
{
  return connect.empty() && publish.empty() && subscribe.empty() && unsubscribe.empty() && disconnect.empty()
         && will.empty();
}

const std::vector<Property>& PropertySet::of(PropertyPacket packet) const noexcept
{
  return list_of(const_cast<PropertySet&>(*this), packet);
}

std::optional<std::uint16_t> PropertySet::topic_alias() const noexcept
{
  for (const Property& p : publish) {
    if (p.identifier == 35) {
      return static_cast<std::uint16_t>(p.number);
    }
  }
  return std::nullopt;
}

std::string property_name(int identifier)
{
  for (const Known& k : known) {
    if (k.identifier == identifier) {
      return std::string(k.name);
    }
  }
  return fmt::format("property {}", identifier);
}

bool MessageProperties::empty() const noexcept
{
  return !payload_format && !message_expiry && !topic_alias && !content_type && !response_topic && !correlation_data
         && user.empty() && subscription_ids.empty();
}

PropertySet parse_property_arguments(const std::vector<std::string>& words, std::string_view option)
{
  PropertySet set;
  std::size_t i = 0;
  while (i < words.size()) {
    const std::string& command = words[i];
    auto fail = [&](const std::string& why) {
      return UsageError(fmt::format("{} {}: {}", option, command, why));
    };
    const auto c = std::find_if(commands.begin(), commands.end(), [&](const auto& e) { return e.first == command; });
    if (c == commands.end()) {
      throw UsageError(fmt::format("{}: unknown command '{}' (expected connect, publish, subscribe, unsubscribe, "
                                   "disconnect or will)",
                                   option, command));
    }
    if (i + 2 >= words.size()) {
      throw fail("give a property name and its value");
    }
    const std::string& name = words[i + 1];
    const auto k = std::find_if(known.begin(), known.end(), [&](const Known& e) { return e.name == name; });
    if (k == known.end()) {
      throw fail(fmt::format("unknown property '{}'", name));
    }
    if (std::find(k->packets.begin(), k->packets.end(), c->second) == k->packets.end()) {
      throw fail(k->packets.size() == 0 ? fmt::format("{} is the broker's to send, not a client's", name)
                                        : fmt::format("{} is not allowed in {}", name, command));
    }
    Property p;
    p.identifier = k->identifier;
    p.type = k->type;
    const std::string& value = words[i + 2];
    if (k->type == T::pair) {
      if (i + 3 >= words.size()) {
        throw fail("user-property takes a name and a value");
      }
      p.text = value;
      p.value = words[i + 3];
      if (!is_valid_utf8(p.text) || !is_valid_utf8(p.value)) {
        throw fail("a user property's name and value must be UTF-8 text");
      }
      i += 4;
    } else {
      i += 3;
      switch (k->type) {
      case T::byte:
      case T::two_byte:
      case T::four_byte:
      case T::varint: {
        char* end = nullptr;
        errno = 0;
        const unsigned long long n = std::strtoull(value.c_str(), &end, 10);
        if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos || *end != '\0') {
          throw fail(fmt::format("{} '{}' is not a number ({} to {})", name, value, k->low, k->high));
        }
        if (errno == ERANGE || n < k->low || n > k->high) {
          throw fail(fmt::format("{} {} is out of range ({} to {})", name, value, k->low, k->high));
        }
        p.number = static_cast<std::uint32_t>(n);
        break;
      }
      case T::utf8:
        if (!is_valid_utf8(value)) {
          throw fail(fmt::format("{} must be UTF-8 text", name));
        }
        if (k->identifier == 8) {
          if (auto problem = publish_topic_problem(value)) {
            throw fail(fmt::format("response-topic: {}", *problem));
          }
        }
        p.text = value;
        break;
      case T::binary:
      case T::pair: p.text = value; break;
      }
    }
    std::vector<Property>& list = list_of(set, c->second);
    if (p.type != T::pair) {
      for (const Property& q : list) {
        if (q.identifier == p.identifier) {
          throw fail(fmt::format("{} given twice (only user-property may repeat)", name));
        }
      }
    }
    list.push_back(std::move(p));
  }
  return set;
}

std::string_view TopicAliases::resolve(std::string_view topic, std::optional<std::uint16_t> alias)
{
  if (!alias || *alias == 0) {
    return topic;
  }
  if (topic.empty()) {
    return *alias < m_topics.size() ? std::string_view(m_topics[*alias]) : std::string_view();
  }
  if (*alias >= m_topics.size()) {
    m_topics.resize(std::size_t{*alias} + 1);
  }
  m_topics[*alias].assign(topic);
  return topic;
}

} // namespace mqtk
