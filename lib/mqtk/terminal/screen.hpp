#pragma once

#include <chrono>
#include <string_view>

namespace mqtk {

// The full-screen terminal of mqtk's live views (ncurses on stdout and
// stdin): set up on construction, restored on destruction, and by restore()
// from any other exit path (a second signal, an error). One at a time.
class Screen
{
public:
  // Throws Error when stdout is not a terminal ncurses can drive (TERM).
  Screen();
  ~Screen();
  Screen(const Screen&) = delete;
  Screen& operator=(const Screen&) = delete;

  // Leaves full-screen mode if it is on; safe to call more than once and
  // from another thread at exit.
  static void restore() noexcept;

  // For an exit path on another thread while the main one may be drawing
  // (a second signal): puts back the terminal modes saved at construction
  // and leaves the alternate screen with plain escape codes, without
  // calling ncurses, which is not thread-safe.
  static void restore_from_other_thread() noexcept;

  int rows() const noexcept;
  int cols() const noexcept;
  bool colors() const noexcept { return m_colors; }
  // Whether UTF-8 block characters can be drawn (a UTF-8 locale).
  bool unicode() const noexcept { return m_unicode; }

  // The next key pressed, without waiting; -1 when none. A resize is taken
  // here (the next draw fits the new size) and returns -1.
  int key() noexcept;

  // Drawing, clipped to the screen: text at row, column (UTF-8).
  void clear() noexcept;
  void put(int row, int col, std::string_view text, bool bold = false, int color = 0) noexcept;
  void show() noexcept; // pushes what was drawn to the terminal

  // Color pairs for put(): 0 default, 1 good (green), 2 warning (yellow),
  // 3 bad (red), 4 accent (cyan).
  enum Color { plain = 0, good = 1, warning = 2, bad = 3, accent = 4 };

private:
  bool m_colors = false;
  bool m_unicode = false;
};

} // namespace mqtk
