#pragma once

#include "mqtk/mqtt/properties.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mqtk {

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates,
// nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

// `text` as UTF-8 text: each byte that does not start a well-formed
// sequence becomes U+FFFD; at most `max_bytes` long, cut before the
// character that would not fit (never inside one).
std::string valid_utf8(std::string_view text, std::size_t max_bytes = std::string_view::npos);

// Appends `text` as a quoted JSON string. `text` must be valid UTF-8;
// control characters are escaped, everything else is copied as is.
void append_json_string(std::string& out, std::string_view text);

// Appends the standard base64 encoding (with padding) of `bytes`.
void append_base64(std::string& out, std::string_view bytes);

// Appends the bytes that standard base64 `text` (with padding, no line
// breaks) encodes and returns true; on malformed text leaves `out` as it
// was and returns false.
bool append_base64_decoded(std::string& out, std::string_view text);

// Advances `i` over one or more ASCII digits; false when there is none.
bool scan_digits(std::string_view text, std::size_t& i) noexcept;

// Advances `i` over an optional exponent ([eE][+-]?digits), as JSON and
// plain numbers write it; false when an 'e' is not followed by digits.
bool scan_exponent(std::string_view text, std::size_t& i) noexcept;

// Advances `i` over the JSON number (RFC 8259: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?)
// starting at text[i]; false when there is none (`i` is then unspecified).
bool scan_json_number(std::string_view text, std::size_t& i) noexcept;

// Appends a message payload as a JSON object member: `"payload":` with the
// payload's JSON value when it is JSON (numbers kept as written), else its
// text when it is UTF-8; otherwise `"payload_base64":"..."`.
void append_payload_member(std::string& out, std::string_view payload);

// As append_payload_member, but read back by mqtk-pub --json-lines it gives
// the payload byte for byte: the JSON value only when the payload is JSON
// other than a string, already written without insignificant whitespace;
// else the payload as a string when it is UTF-8; else payload_base64.
// `json_allowed`: the reader's own JSON check (rules/payload_value, which is
// stricter than the minifier about lone surrogate escapes) accepts it.
void append_exact_payload_member(std::string& out, std::string_view payload, bool json_allowed = true);

// Appends MQTT 5 user properties as a JSON array of [name, value] pairs,
// in order (names may repeat).
void append_user_properties_json(std::string& out,
                                 const std::vector<std::pair<std::string_view, std::string_view>>& user);

// Appends `"properties":{...}` for a message's MQTT 5 properties:
// payload_format_indicator, message_expiry_interval, content_type,
// response_topic, correlation_data (text when UTF-8, else
// correlation_data_base64), user_properties (a list of [name, value] pairs,
// in order, since names may repeat), subscription_identifiers, topic_alias;
// each only when present.
void append_properties_member(std::string& out, const MessageProperties& properties);

// Deepest array/object nesting accepted by append_minified_json: cJSON's
// limit, so whatever mosquitto_sub prints as JSON, mqtk does too.
inline constexpr std::size_t max_json_depth = 1000;

// When `text` is one complete JSON value (RFC 8259, UTF-8, surrounding
// whitespace allowed, nesting at most max_json_depth) appends it without
// insignificant whitespace, keeping numbers exactly as written, and returns
// true. Otherwise leaves `out` unchanged and returns false. Never throws
// except std::bad_alloc.
bool append_minified_json(std::string& out, std::string_view text);

} // namespace mqtk
