#pragma once

#include <string>
#include <string_view>

namespace CLI {
class App;
}

namespace mqtk {

// --color: whether output gets ANSI colours (SGR sequences).
enum class ColorMode { automatic, always, never };

// Parses --color's value: "auto", "always" or "never". Throws UsageError
// naming the value.
ColorMode parse_color_mode(std::string_view text);

// Whether text written to `fd` is coloured: `always` yes, `never` no;
// `automatic` only on a terminal, when NO_COLOR is unset or empty
// (no-color.org) and TERM is not "dumb". --color always wins over NO_COLOR,
// as no-color.org asks of command-line flags.
bool color_enabled(ColorMode mode, int fd);

// The process's choice for stdout and stderr, set once by run_tool from
// --color (off until then).
struct ColorChoice
{
  bool out = false;
  bool err = false;
};
void set_color_choice(ColorChoice choice) noexcept;
ColorChoice color_choice() noexcept;

// The colours mqtk uses, one per meaning.
enum class Paint { topic, error, good, warning, bad, heading };

// `text` in the colour of `paint` when `on`, else `text` unchanged.
std::string painted(std::string_view text, Paint paint, bool on);

// Declares --color WHEN on `app` (every tool: run_tool does it).
void add_color_option(CLI::App& app, std::string& value);

} // namespace mqtk
