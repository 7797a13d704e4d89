#include "mqtk/rules/alert_rule.hpp"
#include "mqtk/output/timestamp.hpp"

#include <cmath>
#include <ctime>
#include <iterator>

#include <fmt/format.h>

#include "mqtk/process/error.hpp"
#include "mqtk/output/json_text.hpp"

namespace mqtk {

AlertRule::AlertRule(FilterExpression when, std::optional<FilterExpression> rearm, bool edge,
                     std::chrono::duration<double> cooldown, bool shared)
  : m_when(std::move(when)),
    m_rearm(std::move(rearm)),
    m_edge(edge),
    m_cooldown(cooldown),
    m_shared(shared)
{
  if (!std::isfinite(cooldown.count()) || cooldown.count() < 0.0) {
    throw UsageError(fmt::format("--cooldown: expected a number of seconds >= 0, got {}", cooldown.count()));
  }
}

AlertRule::State& AlertRule::state_of(std::string_view topic)
{
  if (m_shared) {
    return m_state;
  }
  // The common case first: the topic of the last message.
  if (!m_recent.empty() && m_recent.front().first == topic) {
    return m_recent.front().second;
  }
  if (auto it = m_topics.find(topic); it != m_topics.end()) {
    m_recent.splice(m_recent.begin(), m_recent, it->second);
    return m_recent.front().second;
  }
  if (m_topics.size() >= max_topics) {
    m_topics.erase(m_recent.back().first);
    m_recent.pop_back();
    ++m_forgotten;
  }
  m_recent.emplace_front(std::string(topic), State{});
  try {
    m_topics.emplace(m_recent.front().first, m_recent.begin());
  } catch (...) {
    m_recent.pop_front(); // keep the list and the index in step
    throw;
  }
  return m_recent.front().second;
}

bool AlertRule::should_alert(PayloadValue& value, std::chrono::steady_clock::time_point now)
{
  const bool holds = m_when.matches(value);
  // Level alerts without a cooldown keep no state at all.
  if (!m_rearm && !m_edge && m_cooldown.count() == 0.0) {
    if (holds) {
      ++m_alerts;
    }
    return holds;
  }
  State& st = state_of(value.message().topic);
  if (!st.armed) {
    // The rearm expression is only evaluated while it can matter.
    if (m_rearm) {
      st.armed = m_rearm->matches(value);
    } else if (m_edge) {
      st.armed = !holds;
    }
  }
  if (!st.armed || !holds) {
    return false;
  }
  // Compared in double seconds so that a huge --cooldown cannot overflow.
  if (st.alerted && std::chrono::duration<double>(now - st.last_alert) < m_cooldown) {
    ++m_suppressed;
    if (!st.held_back) {
      st.held_back = true;
      ++m_suppressed_topics;
    }
    return false;
  }
  st.alerted = true;
  st.last_alert = now;
  ++m_alerts;
  if (m_rearm || m_edge) {
    st.armed = false;
  }
  return true;
}


AlertTemplate AlertTemplate::parse(std::string_view text, std::string_view option_name)
{
  AlertTemplate t;
  const auto fail = [&](std::string what, std::size_t pos) {
    throw UsageError(detail::syntax_message(option_name, detail::SyntaxError{std::move(what), pos}, text));
  };
  const auto literal = [&t]() -> std::string& {
    if (t.m_parts.empty() || t.m_parts.back().kind != Part::Kind::literal) {
      t.m_parts.emplace_back();
    }
    return t.m_parts.back().literal;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        literal().push_back('}');
        i += 2;
        continue;
      }
      fail("unmatched '}' (write '}}' for a literal brace)", i);
    }
    if (c != '{') {
      const std::size_t next = text.find_first_of("{}", i);
      literal().append(text.substr(i, next == std::string_view::npos ? text.npos : next - i));
      i = next == std::string_view::npos ? text.size() : next;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      literal().push_back('{');
      i += 2;
      continue;
    }
    const std::size_t open = i++;
    Part part;
    if (i < text.size() && text[i] == '.') {
      part.kind = Part::Kind::path;
      if (auto error = detail::parse_path_at(text, i, part.path)) {
        fail(std::move(error->what), error->pos);
      }
      if (i >= text.size() || text[i] != '}') {
        fail("expected '}' after the path", i);
      }
    } else {
      const std::size_t close = text.find('}', i);
      if (close == std::string_view::npos) {
        fail("unterminated placeholder (write '{{' for a literal brace)", open);
      }
      const std::string_view name = text.substr(i, close - i);
      if (name == "topic") {
        part.kind = Part::Kind::topic;
      } else if (name == "payload") {
        part.kind = Part::Kind::payload;
      } else if (name == "tst") {
        part.kind = Part::Kind::tst;
      } else {
        fail(fmt::format("unknown placeholder '{{{}}}' (expected {{topic}}, {{payload}}, {{tst}} or a path such as "
                         "{{.a.b}}; write '{{{{' for a literal brace)",
                         name),
             open);
      }
      i = close;
    }
    ++i; // the closing '}'
    t.m_parts.push_back(std::move(part));
  }
  return t;
}

AlertTemplate AlertTemplate::json_object(std::string_view alert_text)
{
  AlertTemplate t;
  t.m_json = true;
  t.m_alert_text = "{\"alert\":";
  if (is_valid_utf8(alert_text)) {
    append_json_string(t.m_alert_text, alert_text);
  } else {
    // Command-line text that is not UTF-8 cannot go into JSON as it is.
    t.m_alert_text.push_back('"');
    append_base64(t.m_alert_text, alert_text);
    t.m_alert_text.push_back('"');
  }
  t.m_alert_text.append(",\"topic\":");
  return t;
}

void AlertTemplate::render(PayloadValue& value, std::chrono::system_clock::time_point tst, std::string& out) const
{
  const MessageView& m = value.message();
  if (m_json) {
    out.append(m_alert_text);
    append_json_string(out, m.topic);
    out.append(",\"tst\":\"");
    append_iso8601_utc(out, tst);
    out.append("\",");
    append_payload_member(out, m.payload);
    out.push_back('}');
    return;
  }
  for (const Part& part : m_parts) {
    switch (part.kind) {
    case Part::Kind::literal: out.append(part.literal); break;
    case Part::Kind::topic: out.append(m.topic); break;
    case Part::Kind::payload: out.append(m.payload); break;
    case Part::Kind::tst: append_iso8601_utc(out, tst); break;
    case Part::Kind::path:
      if (auto text = value.lookup_text(part.path)) {
        out.append(*text);
      }
      break;
    }
  }
}

} // namespace mqtk
