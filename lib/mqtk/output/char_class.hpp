#pragma once

namespace mqtk {

// ASCII character classes for the small hand-written parsers (expressions,
// paths, JSON), independent of the C locale.

inline bool is_digit(char c) noexcept
{
  return c >= '0' && c <= '9';
}

// First character of an identifier or a bare path key: a letter or '_'.
inline bool is_ident_start(char c) noexcept
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

inline bool is_ident_char(char c) noexcept
{
  return is_ident_start(c) || is_digit(c);
}

// The value of a hex digit (either case), or -1.
inline int hex_digit_value(char c) noexcept
{
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

} // namespace mqtk
