#include "mqtk/plot/braille_canvas.hpp"

#include <algorithm>
#include <cstdlib>

namespace mqtk {

namespace {

// The braille bit of dot (x, y) in a 2x4 cell (Unicode's dot numbering:
// 1 2 3 7 down the left column, 4 5 6 8 down the right).
constexpr std::uint8_t braille_bit[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};

} // namespace

BrailleCanvas::BrailleCanvas(int cols, int rows, bool unicode)
  : m_cols(std::max(cols, 0)),
    m_rows(std::max(rows, 0)),
    m_dots_x(unicode ? 2 : 1),
    m_dots_y(unicode ? 4 : 2),
    m_unicode(unicode),
    m_bits(static_cast<std::size_t>(m_cols) * static_cast<std::size_t>(m_rows), 0),
    m_colors(m_bits.size(), 0)
{
}

void BrailleCanvas::set(int x, int y, int color) noexcept
{
  if (x < 0 || y < 0 || x >= width() || y >= height()) {
    return;
  }
  const auto i = static_cast<std::size_t>(y / m_dots_y) * static_cast<std::size_t>(m_cols)
                 + static_cast<std::size_t>(x / m_dots_x);
  const int dx = x % m_dots_x;
  const int dy = y % m_dots_y;
  m_bits[i] |= m_unicode ? braille_bit[dx][dy] : static_cast<std::uint8_t>(1u << dy);
  m_colors[i] = static_cast<std::uint8_t>(color);
}

void BrailleCanvas::line(int x0, int y0, int x1, int y1, int color) noexcept
{
  // Bresenham, stepping over every pixel of the longer axis.
  const int dx = std::abs(x1 - x0);
  const int dy = -std::abs(y1 - y0);
  const int sx = x0 < x1 ? 1 : -1;
  const int sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (;;) {
    set(x0, y0, color);
    if (x0 == x1 && y0 == y1) {
      return;
    }
    const int e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
}

std::string BrailleCanvas::cell(int col, int row) const
{
  if (col < 0 || row < 0 || col >= m_cols || row >= m_rows) {
    return {};
  }
  const std::uint8_t bits = m_bits[static_cast<std::size_t>(row) * static_cast<std::size_t>(m_cols)
                                   + static_cast<std::size_t>(col)];
  if (bits == 0) {
    return {};
  }
  if (!m_unicode) {
    return bits == 1 ? "'" : bits == 2 ? "." : ":";
  }
  // U+2800 + bits in UTF-8: E2, A0 + (bits >> 6), 80 + (bits & 0x3F).
  std::string out(3, '\0');
  out[0] = static_cast<char>(0xE2);
  out[1] = static_cast<char>(0xA0 | (bits >> 6));
  out[2] = static_cast<char>(0x80 | (bits & 0x3F));
  return out;
}

int BrailleCanvas::cell_color(int col, int row) const noexcept
{
  if (col < 0 || row < 0 || col >= m_cols || row >= m_rows) {
    return 0;
  }
  return m_colors[static_cast<std::size_t>(row) * static_cast<std::size_t>(m_cols) + static_cast<std::size_t>(col)];
}

} // namespace mqtk
