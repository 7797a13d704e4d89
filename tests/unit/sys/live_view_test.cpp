#include <doctest/doctest.h>

#include "mqtk/sys/live_view.hpp"
#include "mqtk/sys/metrics_server.hpp"
#include "mqtk/process/error.hpp"

TEST_CASE("live view: sparkline, sizes and durations")
{
  std::deque<double> v{0, 1, 2, 3, 4, 5, 6, 7};
  CHECK(mqtk::sparkline(v, 8, false) == "_.-:=+*#");
  CHECK(mqtk::sparkline(v, 3, false) == "+*#"); // the newest, at the right
  CHECK(mqtk::sparkline(v, 2, true) == "\u2587\u2588");
  CHECK(mqtk::sparkline({0, 0}, 5, false) == "__"); // all zero: flat, no division by zero
  CHECK(mqtk::sparkline({}, 5, true).empty());
  CHECK(mqtk::human_bytes(340) == "340 B");
  CHECK(mqtk::human_bytes(1234) == "1.2 kB");
  CHECK(mqtk::human_bytes(3.4e6) == "3.4 MB");
  CHECK(mqtk::human_duration(42) == "42s");
  CHECK(mqtk::human_duration(306) == "5m 06s");
  CHECK(mqtk::human_duration(3 * 3600 + 4 * 60) == "3h 04m");
  CHECK(mqtk::human_duration(86400 + 2 * 3600) == "1d 02h");
}

TEST_CASE("metrics server: --listen addresses")
{
  auto a = mqtk::parse_listen_address("9234");
  CHECK(a.host == "127.0.0.1"); // loopback unless told otherwise
  CHECK(a.port == 9234);
  a = mqtk::parse_listen_address("0.0.0.0:80");
  CHECK((a.host == "0.0.0.0" && a.port == 80));
  a = mqtk::parse_listen_address("[::1]:9234");
  CHECK((a.host == "::1" && a.port == 9234));
  CHECK_THROWS_AS(mqtk::parse_listen_address("http"), mqtk::UsageError);
  CHECK_THROWS_AS(mqtk::parse_listen_address(":80"), mqtk::UsageError);
  CHECK_THROWS_AS(mqtk::parse_listen_address("host:0"), mqtk::UsageError);
  CHECK_THROWS_AS(mqtk::parse_listen_address("host:65536"), mqtk::UsageError);
  CHECK_THROWS_AS(mqtk::parse_listen_address("host:12x"), mqtk::UsageError);
}
