#include <doctest/doctest.h>

#include "mqtk/plot/braille_canvas.hpp"

using mqtk::BrailleCanvas;

TEST_CASE("braille canvas: 2x4 dots per cell on UTF-8 terminals")
{
  BrailleCanvas c(3, 2, true);
  CHECK(c.width() == 6);
  CHECK(c.height() == 8);
  CHECK(c.cell(0, 0).empty());
  c.set(0, 0, 4);
  CHECK(c.cell(0, 0) == "\u2801"); // dot 1
  c.set(1, 3, 5);
  CHECK(c.cell(0, 0) == "\u2881"); // dots 1 and 8
  CHECK(c.cell_color(0, 0) == 5);  // the last pixel's colour
  c.line(0, 4, 0, 7, 1);           // a column down the left of cell (0, 1)
  CHECK(c.cell(0, 1) == "\u2847"); // dots 1 2 3 7
  c.set(-1, 0, 1);                 // outside: ignored
  c.set(6, 0, 1);
  c.set(0, 8, 1);
  CHECK(c.cell(2, 0).empty());
  c.line(0, 0, 5, 0, 2); // a row across the top of every cell
  CHECK(c.cell(1, 0) == "\u2809");
  CHECK(c.cell(2, 0) == "\u2809");
}

TEST_CASE("braille canvas: without UTF-8, two pixels per cell in ASCII")
{
  BrailleCanvas c(2, 1, false);
  CHECK(c.width() == 2);
  CHECK(c.height() == 2);
  c.set(0, 0, 1);
  CHECK(c.cell(0, 0) == "'");
  c.set(1, 1, 1);
  CHECK(c.cell(1, 0) == ".");
  c.set(0, 1, 1);
  CHECK(c.cell(0, 0) == ":");
}

TEST_CASE("braille canvas: lines are continuous in both directions")
{
  BrailleCanvas c(10, 5, true);
  c.line(19, 0, 0, 19, 1);
  int set = 0;
  for (int row = 0; row < 5; ++row) {
    for (int col = 0; col < 10; ++col) {
      set += c.cell(col, row).empty() ? 0 : 1;
    }
  }
  CHECK(set >= 10); // one cell in each column at least
}
