#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

namespace mqtk {

// Checks for option values whose failures read in plain words and name
// what the option takes ("--qos: expected 0, 1 or 2, not 'one'"), and which
// add nothing to --help (the option's type_name says what it takes:
// SECONDS, QOS, PORT).

// An integer from lo to hi; `what` describes it ("0, 1 or 2", "a port from
// 1 to 65535").
CLI::Validator integer_in(long long lo, long long hi, std::string what);

// A finite number from lo to hi (above lo when `above_lo`); `what`
// describes it ("seconds above 0").
CLI::Validator number_in(double lo, double hi, std::string what, bool above_lo = false);

// One of `choices` ("live, text, json or prometheus" in the message).
CLI::Validator one_of(std::vector<std::string> choices);

// Refuses, for every option that takes a value except free text (a
// message, a password, a template), a value that is exactly one of the
// app's option names (`--where -W 0.2` would take -W as the expression),
// saying so. Installed by run_tool once all options are declared.
void refuse_option_names_as_values(CLI::App& app);

// The message for a CLI11 parse error, in plain words: an unknown option
// with the nearest known one ("unknown option '--qso'; did you mean
// --qos?"), a missing value, a value given twice to an option that takes
// one, a stray argument. `app` is the parsed app (for the option names).
std::string plain_parse_error(const CLI::ParseError& e, CLI::App& app);

// The option names of `app` and its option groups ("-q", "--qos", ...).
std::vector<std::string> option_names(const CLI::App& app);

// The name among `names` nearest to `given` (an edit distance of at most a
// third of its length, at least 1; or a unique name it is a prefix of), or
// "".
std::string nearest_name(std::string_view given, const std::vector<std::string>& names);

} // namespace mqtk
