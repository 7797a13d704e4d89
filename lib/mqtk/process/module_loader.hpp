#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mqtk {

// The directory of the running executable, with a trailing '/'; empty when
// /proc cannot tell. mqtk's run-time modules live there in a build tree.
std::string executable_directory();

// Where the module `file_name` is looked for, in order: beside the
// executable in `directory` (a build tree), then in the modules' directory of
// an installation relative to it (bin/../lib/<triplet>/mqtk on Debian, from
// the build's install directories), as normalised absolute paths.
std::vector<std::string> module_paths(std::string_view directory, std::string_view file_name);

// Loads the module `file_name` from the first of module_paths() that exists
// (once per process; it stays loaded) and returns the address of `symbol` in
// it, or nullptr with `error` set to dlerror()'s text, which names the file,
// or, when no candidate exists, to a text naming them all. RTLD_NOW |
// RTLD_LOCAL: a missing symbol shows here, and the module's names stay out of
// the global scope.
void* load_module_symbol(const char* file_name, const char* symbol, std::string& error);

} // namespace mqtk
