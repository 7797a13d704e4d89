#include "mqtk/output/atomic_file.hpp"

#include "mqtk/process/error.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace mqtk {

void replace_file(const std::string& path, std::string_view text, std::string_view flag)
{
  const std::string temporary = fmt::format("{}.tmp.{}", path, ::getpid());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw Error(exit_code::failure, fmt::format("{}: cannot create '{}': {}", flag, temporary, std::strerror(errno)));
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      throw Error(exit_code::failure, fmt::format("{}: writing '{}' failed: {}", flag, temporary, std::strerror(e)));
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(temporary.c_str());
    throw Error(exit_code::failure, fmt::format("{}: writing '{}' failed: {}", flag, temporary, std::strerror(e)));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(temporary.c_str());
    throw Error(exit_code::failure, fmt::format("{}: cannot replace '{}': {}", flag, path, std::strerror(e)));
  }
}

std::string replace_file_problem(const std::string& path)
{
  if (path.empty()) {
    return "no file name given";
  }
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return fmt::format("'{}' is a directory", path);
  }
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (::stat(dir.c_str(), &st) != 0) {
    return fmt::format("cannot use the directory '{}': {}", dir, std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return fmt::format("'{}' is not a directory", dir);
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    return fmt::format("cannot write in the directory '{}': {}", dir, std::strerror(errno));
  }
  return {};
}

} // namespace mqtk
