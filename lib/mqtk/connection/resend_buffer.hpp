#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mqtk {

// The QoS 1 and 2 messages of a reconnecting connection that the broker has
// not acknowledged yet, in the order they were published: sent on the
// current connection, or waiting to be (read during an outage, or in flight
// when the previous connection broke). After a reconnect every message not
// sent on the new connection is sent again, oldest first, so nothing
// published at QoS >= 1 is lost and the order per publisher holds (a QoS 1
// message may then arrive twice, as MQTT allows). Not thread-safe: the
// connection's lock guards it.
class ResendBuffer
{
public:
  struct Entry
  {
    std::string topic;
    std::string payload;
    int qos = 1;
    bool retain = false;
    // The connection (a number counted up per connection) it was last
    // handed to; 0 while never sent.
    std::uint64_t sent_on = 0;
  };

  // Appends a message; returns its sequence number (1, 2, ...).
  std::uint64_t add(std::string_view topic, std::string_view payload, int qos, bool retain);

  // Marks message `seq` as handed to connection `epoch`.
  void mark_sent(std::uint64_t seq, std::uint64_t epoch);

  // Marks message `seq` as not sent (its send was refused at once).
  void mark_unsent(std::uint64_t seq);

  // The broker acknowledged message `seq`: it is forgotten. False when it
  // was not (or no longer) held.
  bool acknowledge(std::uint64_t seq);

  // The oldest message from sequence number `from` on that was not sent on
  // connection `epoch`, if any.
  std::optional<std::uint64_t> oldest_unsent(std::uint64_t epoch, std::uint64_t from = 0) const;

  const Entry* find(std::uint64_t seq) const;

  // The oldest message held, nullptr when none.
  const Entry* oldest() const;

  std::size_t size() const noexcept { return m_entries.size(); }
  bool empty() const noexcept { return m_entries.empty(); }

private:
  std::map<std::uint64_t, Entry> m_entries;
  std::uint64_t m_next = 1;
};

} // namespace mqtk
