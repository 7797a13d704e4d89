// The ncurses side of the terminal layer (screen.hpp), built into the module
// mqtk-terminal.so only: linking ncurses into every tool would cost each start
// about 0.4 ms and the memory of two more libraries (measured on an empty
// program: 4.2 against 3.8 ms), for a view most runs never open.
#include "mqtk/terminal/screen.hpp"

#include <atomic>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include <curses.h>
#include <term.h>
#include <langinfo.h>
#include <termios.h>
#include <unistd.h>

namespace mqtk {

namespace {

std::atomic<bool> active{false};
termios saved_modes{};
bool have_saved_modes = false;

void restore() noexcept
{
  if (active.exchange(false)) {
    endwin();
    std::fflush(stdout);
  }
}

void restore_from_other_thread() noexcept
{
  if (active.exchange(false)) {
    if (have_saved_modes) {
      ::tcsetattr(1, TCSANOW, &saved_modes);
    }
    // Normal screen, cursor shown, attributes off.
    static constexpr char reset[] = "\033[?1049l\033[?25h\033[0m\r\n";
    [[maybe_unused]] auto n = ::write(1, reset, sizeof reset - 1);
  }
}

class CursesScreen final : public Screen
{
public:
  // Returns false when ncurses cannot drive the terminal.
  bool start()
  {
    std::setlocale(LC_ALL, "");
    have_saved_modes = ::tcgetattr(1, &saved_modes) == 0;
    const char* codeset = nl_langinfo(CODESET);
    m_unicode = codeset != nullptr && std::strcmp(codeset, "UTF-8") == 0;
    m_screen = newterm(nullptr, stdout, stdin);
    if (m_screen == nullptr) {
      return false;
    }
    set_term(m_screen);
    active.store(true);
    cbreak();
    noecho();
    nodelay(stdscr, TRUE);
    keypad(stdscr, TRUE);
    curs_set(0);
    if (has_colors()) {
      start_color();
      use_default_colors();
      init_pair(good, COLOR_GREEN, -1);
      init_pair(warning, COLOR_YELLOW, -1);
      init_pair(bad, COLOR_RED, -1);
      init_pair(accent, COLOR_CYAN, -1);
      init_pair(magenta, COLOR_MAGENTA, -1);
      init_pair(blue, COLOR_BLUE, -1);
      init_pair(white, COLOR_WHITE, -1);
      m_colors = true;
    }
    return true;
  }

  ~CursesScreen() override
  {
    restore();
    if (m_screen != nullptr) {
      delscreen(m_screen);
    }
  }

  int rows() const noexcept override { return LINES; }
  int cols() const noexcept override { return COLS; }
  bool colors() const noexcept override { return m_colors; }
  bool unicode() const noexcept override { return m_unicode; }

  int key() noexcept override
  {
    int c = getch();
    return c == KEY_RESIZE || c == ERR ? -1 : c;
  }

  void clear() noexcept override { erase(); }

  void put(int row, int col, std::string_view text, bool bold, int color) noexcept override
  {
    if (row < 0 || row >= LINES || col >= COLS) {
      return;
    }
    attr_t attributes = bold ? A_BOLD : A_NORMAL;
    if (color > 0 && color < color_count && m_colors) {
      attributes |= COLOR_PAIR(color);
    }
    attron(attributes);
    // Clip by display columns: count UTF-8 lead bytes.
    m_clipped.clear();
    int width = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if ((c & 0xC0) != 0x80) {
        if (col + width >= COLS) {
          break;
        }
        ++width;
      }
      m_clipped.push_back(text[i]);
    }
    mvaddstr(row, col, m_clipped.c_str());
    attroff(attributes);
  }

  void show() noexcept override { refresh(); }

private:
  SCREEN* m_screen = nullptr;
  bool m_colors = false;
  bool m_unicode = false;
  std::string m_clipped;
};

void say_cannot_drive(char* error, std::size_t error_size)
{
  const char* term = std::getenv("TERM");
  std::snprintf(error, error_size, "cannot drive this terminal (TERM=%s)", term != nullptr ? term : "");
}

bool check(char* error, std::size_t error_size)
{
  if (::isatty(1) == 0) {
    std::snprintf(error, error_size, "stdout is not a terminal");
    return false;
  }
  int status = 0;
  if (setupterm(nullptr, 1, &status) != OK) {
    say_cannot_drive(error, error_size);
    return false;
  }
  del_curterm(cur_term);
  return true;
}

Screen* open(char* error, std::size_t error_size)
{
  try {
    auto* screen = new CursesScreen;
    if (!screen->start()) {
      delete screen;
      say_cannot_drive(error, error_size);
      return nullptr;
    }
    return screen;
  } catch (const std::exception& e) {
    std::snprintf(error, error_size, "%s", e.what());
    return nullptr;
  }
}

} // namespace

} // namespace mqtk

extern "C" __attribute__((visibility("default"))) void mqtk_screen_module(mqtk::ScreenModule* out)
{
  out->open = mqtk::open;
  out->check = mqtk::check;
  out->restore = mqtk::restore;
  out->restore_from_other_thread = mqtk::restore_from_other_thread;
}
