#include <doctest/doctest.h>

#include "mqtk/retain/retained_set.hpp"

#include <string>

using mqtk::MessageView;
using mqtk::RetainedSet;
using Status = RetainedSet::Status;

namespace {

MessageView retained(std::string_view topic, std::string_view payload)
{
  return MessageView{topic, payload, 0, true, 0};
}

const auto now = std::chrono::system_clock::now();

RetainedSet::Selection selection(std::vector<std::string> excludes = {}, const char* where = nullptr,
                                 bool keep = false)
{
  RetainedSet::Selection s;
  s.excludes = std::move(excludes);
  if (where != nullptr) {
    s.where = mqtk::FilterExpression::parse(where);
  }
  s.keep_payloads = keep;
  return s;
}

} // namespace

TEST_CASE("retained set: what the listing takes")
{
  RetainedSet set(selection({"lab/keep/#"}, nullptr, true));
  CHECK(set.offer_listed(retained("lab/a", "1"), now));
  CHECK_FALSE(set.offer_listed(MessageView{"lab/live", "1", 0, false, 0}, now)); // not retained
  CHECK_FALSE(set.offer_listed(retained("lab/empty", ""), now));
  CHECK_FALSE(set.offer_listed(retained("$SYS/broker/uptime", "5"), now));
  CHECK_FALSE(set.offer_listed(retained("lab/keep/x", "1"), now)); // -T
  // Overlapping filters deliver a message twice: one entry, the last wins.
  CHECK(set.offer_listed(retained("lab/a", "22"), now));
  CHECK(set.offer_listed(retained("lab/b", "333"), now));
  REQUIRE(set.entries().size() == 2);
  CHECK(set.listed_count() == 2);
  CHECK(set.listed_bytes() == 5);
  CHECK(set.entries()[0].topic == "lab/a");
  CHECK(set.entries()[0].payload == "22");
  CHECK(set.entries()[1].size == 3);
}

TEST_CASE("retained set: --where")
{
  RetainedSet set(selection({}, ".v > 5"));
  CHECK(set.offer_listed(retained("t/1", R"({"v":9})"), now));
  CHECK_FALSE(set.offer_listed(retained("t/2", R"({"v":1})"), now));
  CHECK_FALSE(set.offer_listed(retained("t/3", "not json"), now));
  CHECK(set.entries().size() == 1);
  CHECK(set.entries()[0].payload.empty()); // payloads only kept for --backup
}

TEST_CASE("retained set: verification")
{
  RetainedSet set(selection({}, ".v > 5"));
  for (auto t : {"t/ok", "t/refused", "t/same", "t/again"}) {
    set.offer_listed(retained(t, R"({"v":9})"), now);
  }
  set.refused("t/refused", 0x87, "Not authorized");
  set.refused("t/unknown", 0x87, "Not authorized"); // not listed: ignored
  set.offer_verified(retained("t/refused", R"({"v":9})"), now);
  set.offer_verified(retained("t/same", R"({"v":9})"), now);
  set.offer_verified(retained("t/again", R"({"v":1})"), now); // a cleared topic: --where does not matter
  set.offer_verified(retained("t/new", R"({"v":7})"), now);
  set.offer_verified(retained("t/other", R"({"v":1})"), now); // never selected: left alone
  set.offer_verified(MessageView{"t/live", R"({"v":7})", 0, false, 0}, now);
  set.finish_verification();
  REQUIRE(set.entries().size() == 5);
  CHECK(set.entries()[0].status == Status::verified);
  CHECK(set.entries()[1].status == Status::refused);
  CHECK(set.entries()[1].reason_code == 0x87);
  CHECK(set.entries()[2].status == Status::not_cleared);
  CHECK(set.entries()[3].status == Status::retained_again);
  CHECK(set.entries()[4].topic == "t/new");
  CHECK(set.entries()[4].status == Status::new_topic);
  const auto t = set.totals();
  CHECK(t.matched == 4);
  CHECK(t.verified == 1);
  CHECK(t.refused == 1);
  CHECK(t.not_cleared == 1);
  CHECK(t.retained_again == 1);
  CHECK(t.new_topics == 1);
  CHECK(t.not_clear() == 4);
  CHECK(mqtk::status_name(Status::new_topic) == "new");
  CHECK(mqtk::status_explanation(set.entries()[1], true) == "the broker refused the clear (reason code 0x87 Not authorized)");
  CHECK(mqtk::status_explanation(set.entries()[2], false).find("MQTT 3.1.1") != std::string::npos);
}

TEST_CASE("retained set: topics seen only while verifying go to another round")
{
  RetainedSet set(selection({}, nullptr, true));
  set.offer_listed(retained("r/a", "1"), now);
  set.offer_verified(retained("r/missed", "2"), now); // the broker left it out of the listing
  CHECK(set.entries().back().payload == "2");           // kept for --backup
  CHECK(set.take_new_topics() == 1);
  CHECK(set.entries()[1].status == Status::listed);
  CHECK(set.entries()[1].late);
  set.finish_verification();
  CHECK(set.totals().late == 1);
  CHECK(set.totals().not_clear() == 0);
  // Within --max or not: back to "new", reported.
  set.offer_verified(retained("r/third", "3"), now);
  CHECK(set.take_new_topics() == 1);
  set.restore_new_topics(2);
  CHECK(set.entries()[2].status == Status::new_topic);
  CHECK_FALSE(set.entries()[2].late);
  CHECK(set.totals().new_topics == 1);
}
