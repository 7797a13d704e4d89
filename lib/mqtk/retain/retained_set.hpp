#pragma once

#include "mqtk/mqtt/message.hpp"
#include "mqtk/rules/filter_expression.hpp"
#include "mqtk/rules/payload_value.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mqtk {

// What mqtk-retain-clear found, cleared and verified: the retained messages
// its selection matches (the broker already applied the -t filters; -T
// excludes, --where must hold, `$` topics never), one entry per topic, in
// the order the broker sent them, and what became of each. Not thread-safe.
class RetainedSet
{
public:
  struct Selection
  {
    std::vector<std::string> excludes;    // -T
    std::optional<FilterExpression> where; // --where
    bool keep_payloads = false;           // --backup needs them
  };

  enum class Status : std::uint8_t {
    listed,         // found; nothing done yet (a dry run stops here)
    verified,       // cleared, and gone when verified
    refused,        // the broker refused the clear (MQTT 5 reason code)
    not_cleared,    // still holds the same message after the clear
    retained_again, // holds a different message: retained again during the run
    new_topic,      // not there when listed; retained during the run
  };

  struct Entry
  {
    std::string topic;
    std::string payload; // only with keep_payloads
    std::uint64_t digest = 0; // of the payload, to tell "same message" when verifying
    std::size_t size = 0;
    int qos = 0;
    std::chrono::system_clock::time_point received;
    Status status = Status::listed;
    int reason_code = 0; // refused: the MQTT 5 reason code
    std::string reason;  // refused: its name
    bool late = false;   // first seen while verifying, cleared in a later round
  };

  explicit RetainedSet(Selection selection);

  // Whether a message the broker sent matches the selection: retained, not
  // empty, not a `$` topic, not excluded, and --where holds.
  bool selects(const MessageView& message) noexcept;

  // While listing: takes a message the selection matches (the last one per
  // topic wins: overlapping filters deliver a message once per filter).
  // Returns whether it was taken.
  bool offer_listed(const MessageView& message, std::chrono::system_clock::time_point received);

  // The broker refused the clear of `topic`.
  void refused(std::string_view topic, int reason_code, std::string_view reason);

  // While verifying: a retained message the broker still holds.
  void offer_verified(const MessageView& message, std::chrono::system_clock::time_point received);

  // After verifying: every cleared entry that was not seen again is verified.
  void finish_verification() noexcept;

  // After a verification: the topics seen only then (new_topic) become
  // entries to clear in one more round (late); returns how many. They are
  // the last entries.
  std::size_t take_new_topics() noexcept;

  // Entries from `first` on go back to new_topic: not cleared after all.
  void restore_new_topics(std::size_t first) noexcept;

  const std::deque<Entry>& entries() const noexcept { return m_entries; }
  std::size_t listed_count() const noexcept { return m_listed; }
  std::uint64_t listed_bytes() const noexcept { return m_listed_bytes; }

  // Totals per status.
  struct Totals
  {
    std::size_t matched = 0; // found when listing
    std::size_t verified = 0;
    std::size_t refused = 0;
    std::size_t not_cleared = 0;
    std::size_t retained_again = 0;
    std::size_t new_topics = 0;
    std::size_t late = 0; // found while verifying and cleared in a later round
    std::size_t not_clear() const noexcept { return refused + not_cleared + retained_again + new_topics; }
  };
  Totals totals() const noexcept;

private:
  Entry* find(std::string_view topic) noexcept;

  Selection m_selection;
  PayloadValue m_value{MessageView{}};
  std::deque<Entry> m_entries; // a deque: entries never move, so m_index can view their topics
  std::unordered_map<std::string_view, std::size_t> m_index;
  std::size_t m_listed = 0;
  std::uint64_t m_listed_bytes = 0;
};

// "verified", "refused", "not_cleared", "retained_again", "new", "listed":
// the status names of -j and the man page.
std::string_view status_name(RetainedSet::Status status) noexcept;

// One line explaining a status that is not clear, for stderr:
// "the broker refused the clear (0x87 Not authorized)".
std::string status_explanation(const RetainedSet::Entry& entry, bool mqtt5);

} // namespace mqtk
