#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mqtk {

// A drawing surface of terminal cells with finer pixels: each cell is 2x4
// braille dots (U+2800..U+28FF) on a UTF-8 terminal, or, without UTF-8, 1x2
// pixels drawn as ' . : (top, bottom, both). Each cell has the colour of the
// last pixel set in it.
class BrailleCanvas
{
public:
  BrailleCanvas(int cols, int rows, bool unicode);

  int cols() const noexcept { return m_cols; }
  int rows() const noexcept { return m_rows; }
  // In pixels; y = 0 is the top row.
  int width() const noexcept { return m_cols * m_dots_x; }
  int height() const noexcept { return m_rows * m_dots_y; }

  // Sets one pixel (ignored outside the canvas).
  void set(int x, int y, int color) noexcept;
  // A straight line between two pixels, ends included (clipped).
  void line(int x0, int y0, int x1, int y1, int color) noexcept;

  // The cell's character, UTF-8 ("" when nothing is set in it), and colour.
  std::string cell(int col, int row) const;
  int cell_color(int col, int row) const noexcept;

private:
  int m_cols, m_rows;
  int m_dots_x, m_dots_y;
  bool m_unicode;
  std::vector<std::uint8_t> m_bits;
  std::vector<std::uint8_t> m_colors;
};

} // namespace mqtk
