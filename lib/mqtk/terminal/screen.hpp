#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace mqtk {

// The full-screen terminal of mqtk's live views (mqtk-sys-monitor's view,
// mqtk-sub --plot): ncurses on stdout and stdin, in the module
// `screen_module_name` next to the executables, loaded by open_screen() so
// that a tool which never draws never loads ncurses. One at a time;
// restored when destroyed, and by restore_screen() from other exit paths.
class Screen
{
public:
  virtual ~Screen() = default;

  virtual int rows() const noexcept = 0;
  virtual int cols() const noexcept = 0;
  // Whether the terminal has colours.
  virtual bool colors() const noexcept = 0;
  // Whether UTF-8 characters (blocks, braille) can be drawn: a UTF-8 locale.
  virtual bool unicode() const noexcept = 0;

  // The next key pressed, without waiting; -1 when none. A resize is taken
  // here (the next draw fits the new size) and returns -1.
  virtual int key() noexcept = 0;

  // Drawing, clipped to the screen: text at row, column (UTF-8, one column
  // per character).
  virtual void clear() noexcept = 0;
  virtual void put(int row, int col, std::string_view text, bool bold = false, int color = 0) noexcept = 0;
  virtual void show() noexcept = 0; // pushes what was drawn to the terminal

  // Colours for put(): 0 default, then the status colours, then the series
  // colours of charts (series_color()).
  enum Color { plain = 0, good = 1, warning = 2, bad = 3, accent = 4, magenta = 5, blue = 6, white = 7 };
  static constexpr int color_count = 8;
};

// The colour of a chart's i-th series: cyan, yellow, magenta, green, blue,
// white, then round again. Red (bad) is kept for alerts.
int series_color(std::size_t i) noexcept;

// The module's file name (lib/CMakeLists.txt builds it).
inline constexpr const char* screen_module_name = "mqtk-terminal.so";

// Loads the module (once) and takes over the terminal. Throws Error (exit
// 1) when the module cannot be loaded or stdout is not a terminal ncurses
// can drive.
std::unique_ptr<Screen> open_screen();

// Why open_screen() would fail (the module cannot be loaded, stdout is not
// a terminal, TERM names a terminal ncurses does not know), without taking
// over the terminal; "" when it would not. For a check before connecting.
std::string screen_problem();

// Leaves full-screen mode if it is on; safe more than once and when no
// screen was opened. For the main thread's exit paths (an error).
void restore_screen() noexcept;

// For an exit path on another thread while the main one may be drawing (a
// second signal): puts back the terminal modes saved when the screen was
// opened and leaves the alternate screen with plain escape codes, without
// calling ncurses, which is not thread-safe.
void restore_screen_from_other_thread() noexcept;

// What the module hands over (screen_module.hpp's entry fills it).
struct ScreenModule
{
  // Returns the screen, or nullptr with the reason in error (NUL-ended).
  Screen* (*open)(char* error, std::size_t error_size);
  // Returns false with the reason in error when open would fail.
  bool (*check)(char* error, std::size_t error_size);
  void (*restore)();
  void (*restore_from_other_thread)();
};

} // namespace mqtk

// The module's one exported function.
extern "C" void mqtk_screen_module(mqtk::ScreenModule* out);
