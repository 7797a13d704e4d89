#include "mqtk/process/module_loader.hpp"

#include <climits>
#include <filesystem>

#include <dlfcn.h>
#include <unistd.h>

#include <fmt/format.h>

// Set by CMake from GNUInstallDirs: the modules' install directory relative
// to the executables' ("../lib/x86_64-linux-gnu/mqtk").
#ifndef MQTK_MODULE_DIR_FROM_BINARY
#define MQTK_MODULE_DIR_FROM_BINARY "../lib/mqtk"
#endif

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

std::vector<std::string> module_paths(std::string_view directory, std::string_view file_name)
{
  const std::filesystem::path dir(directory);
  const std::filesystem::path installed = dir / MQTK_MODULE_DIR_FROM_BINARY / file_name;
  return {(dir / file_name).lexically_normal().string(), installed.lexically_normal().string()};
}

void* load_module_symbol(const char* file_name, const char* symbol, std::string& error)
{
  const std::vector<std::string> paths = module_paths(executable_directory(), file_name);
  const std::string* path = nullptr;
  for (const std::string& candidate : paths) {
    if (::access(candidate.c_str(), F_OK) == 0) {
      path = &candidate;
      break;
    }
  }
  if (path == nullptr) {
    error = fmt::format("{}: no such file (nor {})", paths.front(), paths.back());
    return nullptr;
  }
  void* handle = ::dlopen(path->c_str(), RTLD_NOW | RTLD_LOCAL);
  void* entry = handle != nullptr ? ::dlsym(handle, symbol) : nullptr;
  if (entry == nullptr) {
    const char* why = ::dlerror();
    // dlerror() names the file.
    error = why != nullptr ? why : *path + ": unknown error";
  }
  return entry;
}

} // namespace mqtk
