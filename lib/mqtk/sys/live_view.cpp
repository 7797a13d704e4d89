#include "mqtk/sys/live_view.hpp"

#include "mqtk/process/error.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace mqtk {

namespace {

std::optional<double> value_of(const BrokerModel& m, std::string_view topic)
{
  const auto i = find_sys_metric(topic);
  return i && m.value(*i).present ? std::optional(m.value(*i).value) : std::nullopt;
}

std::optional<double> rate_of(const BrokerModel& m, std::string_view topic)
{
  const auto i = find_sys_metric(topic);
  return i ? m.rate(*i) : std::nullopt;
}

// A value as the view shows it: the number, or "-" when not published.
std::string num(const BrokerModel& m, std::string_view topic)
{
  const auto v = value_of(m, topic);
  return v ? fmt::format("{}", *v) : std::string("-");
}

std::string bytes_of(const BrokerModel& m, std::string_view topic)
{
  const auto v = value_of(m, topic);
  return v ? human_bytes(*v) : std::string("-");
}

std::string rate_text(std::optional<double> r)
{
  return r ? fmt::format("{:.1f}", *r) : std::string("-");
}

} // namespace

std::string human_bytes(double bytes)
{
  if (bytes < 1000) {
    return fmt::format("{:.0f} B", bytes);
  }
  if (bytes < 1e6) {
    return fmt::format("{:.1f} kB", bytes / 1e3);
  }
  if (bytes < 1e9) {
    return fmt::format("{:.1f} MB", bytes / 1e6);
  }
  return fmt::format("{:.1f} GB", bytes / 1e9);
}

std::string human_duration(double seconds)
{
  const auto s = static_cast<long long>(seconds);
  if (s >= 86400) {
    return fmt::format("{}d {:02}h", s / 86400, (s % 86400) / 3600);
  }
  if (s >= 3600) {
    return fmt::format("{}h {:02}m", s / 3600, (s % 3600) / 60);
  }
  if (s >= 60) {
    return fmt::format("{}m {:02}s", s / 60, s % 60);
  }
  return fmt::format("{}s", s);
}

std::string sparkline(const std::deque<double>& values, std::size_t width, bool unicode)
{
  static const char* blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"};
  static const char ascii[] = "_.-:=+*#";
  std::string out;
  const std::size_t n = std::min(values.size(), width);
  double top = 0;
  for (std::size_t i = values.size() - n; i < values.size(); ++i) {
    top = std::max(top, values[i]);
  }
  for (std::size_t i = values.size() - n; i < values.size(); ++i) {
    int level = top > 0 ? static_cast<int>(std::lround(values[i] / top * 7)) : 0;
    level = std::clamp(level, 0, 7);
    if (unicode) {
      out += blocks[level];
    } else {
      out.push_back(ascii[level]);
    }
  }
  return out;
}

LiveView::LiveView(const ConnectionOptions& connection, int)
  : m_endpoint(endpoint_text(connection))
{
  try {
    m_screen = open_screen();
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("{}; use --format text or json", e.what()));
  }
  m_screen->clear();
  m_screen->put(0, 0, fmt::format("mqtk-sys-monitor  {}  waiting for $SYS...", m_endpoint), true);
  m_screen->show();
}

bool LiveView::quit_requested() noexcept
{
  for (int c = m_screen->key(); c != -1; c = m_screen->key()) {
    if (c == 'q' || c == 'Q' || c == 27) {
      m_quit = true;
    }
  }
  return m_quit;
}

void LiveView::draw(const BrokerModel& m, bool connected, BrokerModel::Clock::time_point now)
{
  if (m.rounds() != m_rounds_seen) {
    m_rounds_seen = m.rounds();
    if (auto r = rate_of(m, "publish/messages/received")) {
      m_history.push_back(*r);
      while (m_history.size() > 512) {
        m_history.pop_front();
      }
    }
  }
  Screen& s = *m_screen;
  s.clear();
  const int cols = s.cols();
  int row = 0;
  const bool stale = m.stale(now);
  std::string state = !connected ? "DISCONNECTED" : !m.any() ? "waiting for $SYS" : stale ? "STALE" : "live";
  const int state_color = !connected || stale ? Screen::bad : !m.any() ? Screen::warning : Screen::good;
  s.put(row, 0, fmt::format("mqtk-sys-monitor  {}", m_endpoint), true);
  s.put(row, std::max(0, cols - static_cast<int>(state.size()) - 1), state, true, state_color);
  ++row;
  std::string who = m.version().value_or("broker");
  if (auto u = m.uptime_seconds()) {
    who += fmt::format("   up {}", human_duration(*u));
  }
  if (auto i = m.interval_seconds()) {
    who += fmt::format("   updates every {} s", *i);
  }
  if (auto since = m.seconds_since_update(now); since && stale) {
    who += fmt::format("   last update {} ago", human_duration(*since));
  }
  if (m.restarts() > 0) {
    who += fmt::format("   restarts seen: {}", m.restarts());
  }
  s.put(row++, 0, who);
  ++row;
  s.put(row, 0, "Clients", true, Screen::accent);
  s.put(row++, 15, fmt::format("connected {}   disconnected {}   total {}   maximum {}   expired {}",
                               num(m, "clients/connected"), num(m, "clients/disconnected"), num(m, "clients/total"),
                               num(m, "clients/maximum"), num(m, "clients/expired")));
  s.put(row, 0, "Subscriptions", true, Screen::accent);
  s.put(row++, 15, fmt::format("{} (shared {})   retained messages {}   stored {} ({})",
                               num(m, "subscriptions/count"), num(m, "shared_subscriptions/count"),
                               num(m, "retained messages/count"), num(m, "store/messages/count"),
                               bytes_of(m, "store/messages/bytes")));
  s.put(row, 0, "PUBLISH/s", true, Screen::accent);
  const auto dropped = rate_of(m, "publish/messages/dropped");
  const std::string publish = fmt::format("in {}   out {}   dropped ", rate_text(rate_of(m, "publish/messages/received")),
                                          rate_text(rate_of(m, "publish/messages/sent")));
  s.put(row, 15, publish);
  s.put(row++, 15 + static_cast<int>(publish.size()), rate_text(dropped), dropped && *dropped > 0,
        dropped && *dropped > 0 ? Screen::bad : 0);
  s.put(row, 0, "Packets/s", true, Screen::accent);
  s.put(row++, 15, fmt::format("in {}   out {}", rate_text(rate_of(m, "messages/received")),
                               rate_text(rate_of(m, "messages/sent"))));
  const auto bin = rate_of(m, "bytes/received");
  const auto bout = rate_of(m, "bytes/sent");
  s.put(row, 0, "Bytes/s", true, Screen::accent);
  s.put(row++, 15, fmt::format("in {}   out {}", bin ? human_bytes(*bin) : "-", bout ? human_bytes(*bout) : "-"));
  if (value_of(m, "heap/current")) {
    s.put(row, 0, "Heap", true, Screen::accent);
    s.put(row++, 15, fmt::format("{} (maximum {})", bytes_of(m, "heap/current"), bytes_of(m, "heap/maximum")));
  }
  ++row;
  const int spark_width = std::max(10, cols - 16);
  s.put(row, 0, "PUBLISH in/s", true, Screen::accent);
  if (m_history.empty()) {
    s.put(row++, 15, "(a rate needs two rounds)");
  } else {
    const double top = *std::max_element(m_history.end() - std::min<std::ptrdiff_t>(m_history.size(), spark_width),
                                         m_history.end());
    s.put(row++, 15, sparkline(m_history, static_cast<std::size_t>(spark_width), s.unicode()), false, Screen::good);
    s.put(row++, 15, fmt::format("last {} rounds, peak {:.1f}/s", std::min<std::size_t>(m_history.size(), spark_width),
                                 top));
  }
  ++row;
  if (!m.loads().empty() && row < s.rows() - 2) {
    s.put(row++, 0, "Broker load (1 / 5 / 15 min averages, per minute)", true, Screen::accent);
    for (const auto& l : m.loads()) {
      if (row >= s.rows() - 2) {
        break;
      }
      auto f = [](const std::optional<double>& v) { return v ? fmt::format("{:.2f}", *v) : std::string("-"); };
      s.put(row++, 2, fmt::format("{:<20} {:>10} {:>10} {:>10}", l.name, f(l.m1), f(l.m5), f(l.m15)));
    }
  }
  for (const auto& [name, state_value] : m.bridges()) {
    if (row >= s.rows() - 2) {
      break;
    }
    s.put(row++, 0, fmt::format("Bridge {}: {}", name, state_value == 1 ? "connected" : "DOWN"), false,
          state_value == 1 ? Screen::good : Screen::bad);
  }
  if (!m.other().empty() && row < s.rows() - 2) {
    s.put(row++, 0,
          m.other_dropped() > 0
            ? fmt::format("Other $SYS topics ({} kept; {} messages on more topics not kept)", m.other().size(),
                          m.other_dropped())
            : fmt::format("Other $SYS topics ({})", m.other().size()),
          true, Screen::accent);
    for (const auto& [topic, text] : m.other()) {
      if (row >= s.rows() - 1) {
        break;
      }
      s.put(row++, 2, fmt::format("{} {}", topic, text));
    }
  }
  s.put(s.rows() - 1, 0, "q quit");
  if (!m_check.empty()) {
    s.put(s.rows() - 1, 8, fmt::format("{} holds", m_check), true,
          m_check.rfind("--alert-when", 0) == 0 ? Screen::bad : Screen::warning);
  }
  s.show();
}

} // namespace mqtk
