#include "mqtk/bench/descriptor_budget.hpp"

#include <fstream>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fmt/format.h>

namespace mqtk {

std::uint64_t raise_open_files_limit()
{
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return 0;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
    }
  }
  return limit.rlim_cur;
}

std::uint64_t descriptors_needed(std::uint64_t connections)
{
  return connections + 32;
}

std::string connection_limit_problem(std::uint64_t connections, const std::string& flag)
{
  const std::uint64_t limit = raise_open_files_limit();
  const std::uint64_t needed = descriptors_needed(connections);
  if (limit != 0 && needed > limit) {
    return fmt::format("{} needs {} open files and this process may have {} (the hard limit, ulimit -Hn): "
                       "raise it (LimitNOFILE=, /etc/security/limits.conf) or split the clients over "
                       "processes with --id-offset and merge their results",
                       flag, needed, limit);
  }
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  std::uint64_t low = 0;
  std::uint64_t high = 0;
  if (range >> low >> high && high >= low && high - low + 1 < connections) {
    return fmt::format("{} needs {} local ports to one broker address and "
                       "/proc/sys/net/ipv4/ip_local_port_range allows {} ({} to {}): widen it "
                       "(sysctl net.ipv4.ip_local_port_range) or split the clients over machines",
                       flag, connections, high - low + 1, low, high);
  }
  return {};
}

NoNewDescriptors::NoNewDescriptors()
{
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return;
  }
  // The lowest free descriptor: below it every number is taken, so a
  // limit there admits no new one.
  const int lowest = ::fcntl(0, F_DUPFD_CLOEXEC, 0);
  if (lowest < 0) {
    return;
  }
  ::close(lowest);
  m_soft = limit.rlim_cur;
  rlimit lowered = limit;
  lowered.rlim_cur = static_cast<rlim_t>(lowest);
  m_lowered = ::setrlimit(RLIMIT_NOFILE, &lowered) == 0;
}

NoNewDescriptors::~NoNewDescriptors()
{
  if (m_lowered) {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = static_cast<rlim_t>(m_soft);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

} // namespace mqtk
