#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mqtk {

// The `--fields ax,ay,az` conversion of mqtk-pub: each input line holds
// one value per name, separated by commas and/or whitespace, and becomes
// the one-line JSON object {"ax":1.5,"ay":-0.25,"az":"n/a"}. Immutable once
// parsed; to_json() never throws except std::bad_alloc.
class LineFields
{
public:
  // What to_json() made of a line. empty (nothing but whitespace) is meant to
  // be skipped silently; wrong_count and invalid_utf8 to be skipped with a
  // warning built from problem().
  enum class Result { ok, empty, wrong_count, invalid_utf8 };

  // Parses the names, separated as a line's values are (commas, with
  // optional whitespace around them, or runs of spaces and tabs: `ax,ay,az`,
  // `ax ay az`); each must be non-empty, unique, valid UTF-8 and free of
  // control characters. Throws UsageError naming option_name and the problem
  // ("--fields: duplicate field name 'ax'"). Also reads a --header line.
  static LineFields parse(std::string_view spec, std::string_view option_name = "--fields");

  // Converts one line (a trailing '\r', as in CRLF input, is ignored) into
  // `out`, which is overwritten, and sets got_fields to the number of fields
  // found. Fields are separated by a comma (with optional whitespace around
  // it; two commas in a row enclose an empty field) or by a run of spaces and
  // tabs. A field that is a JSON number is copied as written ("1.50" stays
  // 1.50); anything else ("nan", ".5", "+1", "007", "") becomes a JSON string.
  // Unless the result is ok, `out` is left empty.
  Result to_json(std::string_view line, std::string& out, std::size_t& got_fields) const;

  // The warning text for a result other than ok, without line number or
  // program name: "expected 3 fields (ax,ay,az), got 2" or "not valid UTF-8".
  std::string problem(Result result, std::size_t got_fields) const;

  // The field names in order.
  const std::vector<std::string>& names() const noexcept { return m_names; }

private:
  std::vector<std::string> m_names;
  // `{"ax":` for the first name, `,"ay":` for the others: the JSON text that
  // precedes each value, escaped once at parse time.
  std::vector<std::string> m_prefixes;
  std::string m_spec; // names joined with ',' for messages
};

// Whether text is a JSON number (RFC 8259 grammar, -?int[.frac][exp]) whose
// value fits a double; "1e400" and ".5" are not.
bool is_json_number(std::string_view text) noexcept;

} // namespace mqtk
