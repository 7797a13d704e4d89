#pragma once

#include "mqtk/connection/options.hpp"
#include "mqtk/sys/broker_model.hpp"
#include "mqtk/terminal/screen.hpp"

#include <deque>
#include <memory>
#include <string>

namespace mqtk {

// mqtk-sys-monitor's full-screen view of a BrokerModel, on the shared
// terminal layer (terminal/screen): the broker's identity and state, clients,
// subscriptions, retained and stored messages, rates, load, heap, bridges,
// other $SYS topics, and a sparkline of the PUBLISH rate over the last
// rounds. Fits 80x24 and follows resizes; `q` quits.
class LiveView
{
public:
  LiveView(const ConnectionOptions& connection, int stop_fd);

  // Redraws (called at most a few times a second, and after each round).
  void draw(const BrokerModel& model, bool connected, BrokerModel::Clock::time_point now);

  // The check that holds now ("--alert-when EXPR"), or "": shown on the
  // last line, in red.
  void set_check(std::string text) { m_check = std::move(text); }

  // True once `q` (or Q, or Escape) was pressed.
  bool quit_requested() noexcept;

  // For exit paths that cannot unwind (a second signal).
  static void restore_terminal() noexcept { restore_screen(); }
  static void restore_terminal_from_other_thread() noexcept { restore_screen_from_other_thread(); }

private:
  std::unique_ptr<Screen> m_screen;
  std::string m_endpoint;
  std::deque<double> m_history; // PUBLISH messages received per second, one per round
  std::uint64_t m_rounds_seen = 0;
  bool m_quit = false;
  std::string m_check;
};

// A sparkline of `values` scaled to their maximum, `width` cells wide (the
// newest at the right), with Unicode blocks or, without, ASCII.
std::string sparkline(const std::deque<double>& values, std::size_t width, bool unicode);

// "1.2 kB", "340 B", "3.4 MB".
std::string human_bytes(double bytes);

// "1d 02h", "3h 04m", "5m 06s", "42s".
std::string human_duration(double seconds);

} // namespace mqtk
