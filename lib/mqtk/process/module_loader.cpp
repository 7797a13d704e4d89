#include "mqtk/process/module_loader.hpp"

#include <climits>
#include <string_view>

#include <dlfcn.h>
#include <unistd.h>

namespace mqtk {

std::string executable_directory()
{
  char path[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) {
    return {};
  }
  std::string_view full(path, static_cast<std::size_t>(n));
  auto slash = full.rfind('/');
  return slash == std::string_view::npos ? std::string{} : std::string(full.substr(0, slash + 1));
}

void* load_module_symbol(const char* file_name, const char* symbol, std::string& error)
{
  const std::string path = executable_directory() + file_name;
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  void* entry = handle != nullptr ? ::dlsym(handle, symbol) : nullptr;
  if (entry == nullptr) {
    const char* why = ::dlerror();
    // dlerror() names the file.
    error = why != nullptr ? why : path + ": unknown error";
  }
  return entry;
}

} // namespace mqtk
