#pragma once

#include <string>

namespace mqtk {

// The directory of the running executable, with a trailing '/'; empty when
// /proc cannot tell. mqtk's run-time modules live there.
std::string executable_directory();

// Loads the module `file_name` from the executable's directory (once per
// process; it stays loaded) and returns the address of `symbol` in it, or
// nullptr with `error` set to dlerror()'s text, which names the file. RTLD_NOW | RTLD_LOCAL: a missing
// symbol shows here, and the module's names stay out of the global scope.
void* load_module_symbol(const char* file_name, const char* symbol, std::string& error);

} // namespace mqtk
