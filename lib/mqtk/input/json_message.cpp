#include "mqtk/input/json_message.hpp"

#include "mqtk/mqtt/topic.hpp"
#include "mqtk/output/json_text.hpp"

#include <fmt/format.h>

#include <optional>

namespace mqtk {

JsonMessageReader::JsonMessageReader(std::string default_topic, int default_qos, bool default_retain)
  : m_default_topic(std::move(default_topic)),
    m_default_qos(default_qos),
    m_default_retain(default_retain),
    m_topic_path(parse_path(".topic")),
    m_payload_path(parse_path(".payload")),
    m_base64_path(parse_path(".payload_base64")),
    m_qos_path(parse_path(".qos")),
    m_retain_path(parse_path(".retain"))
{
}

JsonMessageReader::Result JsonMessageReader::bad(std::string text)
{
  m_problem = std::move(text);
  return Result::bad;
}

JsonMessageReader::Result JsonMessageReader::parse(std::string_view line, Message& out)
{
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
    return Result::empty;
  }
  m_line.reset(MessageView{{}, line, 0, false, 0});
  if (!m_line.is_json()) {
    return bad("not valid JSON");
  }
  if (line[line.find_first_not_of(" \t\r")] != '{') {
    return bad("not a JSON object");
  }
  using Kind = FieldValue::Kind;

  const FieldValue topic = m_line.lookup(m_topic_path);
  if (topic.kind == Kind::undefined) {
    if (m_default_topic.empty()) {
      return bad("no \"topic\" (and no -t for lines without one)");
    }
    out.topic = m_default_topic;
  } else if (topic.kind != Kind::string) {
    return bad("\"topic\" must be a string");
  } else {
    out.topic = topic.text;
  }
  if (auto problem = publish_topic_problem(out.topic)) {
    return bad(fmt::format("\"topic\": {}", *problem));
  }

  // exists(): a number beyond a double's range (1e400) is there, though
  // lookup() calls it undefined; it is published as written.
  const FieldValue payload = m_line.lookup(m_payload_path);
  const FieldValue base64 = m_line.lookup(m_base64_path);
  // exists() scans again: only asked when lookup() found nothing.
  const bool has_payload = payload.kind != Kind::undefined || m_line.exists(m_payload_path);
  const bool has_base64 = base64.kind != Kind::undefined || m_line.exists(m_base64_path);
  if (has_payload && has_base64) {
    return bad("both \"payload\" and \"payload_base64\"; give one");
  }
  if (has_base64) {
    m_payload.clear();
    if (base64.kind != Kind::string || !append_base64_decoded(m_payload, base64.text)) {
      return bad("\"payload_base64\" is not base64");
    }
    out.payload = m_payload;
  } else if (payload.kind == Kind::string || payload.kind == Kind::compound) {
    out.payload = payload.text;
  } else if (payload.kind == Kind::null) {
    out.payload = {}; // mosquitto_sub -F %j writes an empty payload as null
  } else if (has_payload) {
    // A number or boolean: its text as written (1.50 stays 1.50).
    m_payload = m_line.lookup_text(m_payload_path).value_or(std::string());
    out.payload = m_payload;
  } else {
    return bad("no \"payload\" or \"payload_base64\"");
  }

  // The text of a member for a message: strings with their quotes.
  auto shown = [this](const JsonPath& path, const FieldValue& v) {
    std::string text = m_line.lookup_text(path).value_or(std::string());
    if (v.kind == Kind::string) {
      text = "\"" + text + "\"";
    }
    if (text.size() > 24) {
      text = text.substr(0, 20) + "...";
    }
    return text;
  };
  const FieldValue qos = m_line.lookup(m_qos_path);
  if (qos.kind == Kind::undefined && !m_line.exists(m_qos_path)) {
    out.qos = m_default_qos;
  } else if (qos.kind == Kind::number && (qos.number == 0 || qos.number == 1 || qos.number == 2)) {
    out.qos = static_cast<int>(qos.number);
  } else {
    return bad(fmt::format("\"qos\" must be 0, 1 or 2, not {}", shown(m_qos_path, qos)));
  }

  const FieldValue retain = m_line.lookup(m_retain_path);
  if (retain.kind == Kind::undefined && !m_line.exists(m_retain_path)) {
    out.retain = m_default_retain;
  } else if (retain.kind == Kind::boolean) {
    out.retain = retain.boolean;
  } else if (retain.kind == Kind::number && (retain.number == 0 || retain.number == 1)) {
    out.retain = retain.number == 1; // mosquitto_sub -F %j writes 0 and 1
  } else {
    return bad(fmt::format("\"retain\" must be true or false, not {}", shown(m_retain_path, retain)));
  }
  return Result::ok;
}

} // namespace mqtk
