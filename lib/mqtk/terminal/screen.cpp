#include "mqtk/terminal/screen.hpp"

#include "mqtk/process/error.hpp"

#include <atomic>
#include <clocale>
#include <cstdio>
#include <cstring>
#include <string>

#include <curses.h>
#include <langinfo.h>
#include <termios.h>
#include <unistd.h>

namespace mqtk {

namespace {

std::atomic<bool> active{false};
SCREEN* the_screen = nullptr;
termios saved_modes{};
bool have_saved_modes = false;

} // namespace

Screen::Screen()
{
  std::setlocale(LC_ALL, "");
  have_saved_modes = ::tcgetattr(1, &saved_modes) == 0;
  const char* codeset = nl_langinfo(CODESET);
  m_unicode = codeset != nullptr && std::strcmp(codeset, "UTF-8") == 0;
  the_screen = newterm(nullptr, stdout, stdin);
  if (the_screen == nullptr) {
    throw Error(exit_code::failure, "the live view cannot drive this terminal (TERM); use --format text or json");
  }
  set_term(the_screen);
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
    m_colors = true;
  }
}

Screen::~Screen()
{
  restore();
}

void Screen::restore() noexcept
{
  if (active.exchange(false)) {
    endwin();
    std::fflush(stdout);
  }
}

void Screen::restore_from_other_thread() noexcept
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

int Screen::rows() const noexcept
{
  return LINES;
}

int Screen::cols() const noexcept
{
  return COLS;
}

int Screen::key() noexcept
{
  int c = getch();
  if (c == KEY_RESIZE) {
    return -1;
  }
  return c == ERR ? -1 : c;
}

void Screen::clear() noexcept
{
  erase();
}

void Screen::put(int row, int col, std::string_view text, bool bold, int color) noexcept
{
  if (row < 0 || row >= LINES || col >= COLS) {
    return;
  }
  attr_t attributes = bold ? A_BOLD : A_NORMAL;
  if (color != 0 && m_colors) {
    attributes |= COLOR_PAIR(color);
  }
  attron(attributes);
  // Clip by display columns: count UTF-8 lead bytes.
  std::string clipped;
  int width = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) {
      if (col + width >= COLS) {
        break;
      }
      ++width;
    }
    clipped.push_back(text[i]);
  }
  mvaddstr(row, col, clipped.c_str());
  attroff(attributes);
}

void Screen::show() noexcept
{
  refresh();
}

} // namespace mqtk
