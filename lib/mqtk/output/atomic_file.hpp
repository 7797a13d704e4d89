#pragma once

#include <string>
#include <string_view>

namespace mqtk {

// Writes `text` to `path` through a temporary file beside it
// ("PATH.tmp.PID", mode 0644 less the umask) renamed over the old one, so
// a reader never sees half a file. Throws Error (exit 1) naming `flag`,
// the file and the system's reason; the temporary file is removed then.
void replace_file(const std::string& path, std::string_view text, std::string_view flag);

// Why `path` could not be written by replace_file() (its directory is
// missing, not a directory or not writable, or path is a directory), for a
// usage check before a run; "" when it looks writable.
std::string replace_file_problem(const std::string& path);

} // namespace mqtk
