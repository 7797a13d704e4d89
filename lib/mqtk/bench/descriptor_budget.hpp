#pragma once

#include <cstdint>
#include <string>

namespace mqtk {

// Open files and local ports for mqtk-bench's many connections.

// Raises the soft open-files limit to the hard one; returns the limit now
// in force.
std::uint64_t raise_open_files_limit();

// The descriptors `connections` clients need besides those already open:
// one socket each (NoNewDescriptors keeps libmosquitto from opening more)
// and a margin for the loop, stdio and files.
std::uint64_t descriptors_needed(std::uint64_t connections);

// Why `connections` connections to one broker address cannot be made on
// this machine, or "" when they can: the open-files limit (after raising
// it), or a local port range (/proc/sys/net/ipv4/ip_local_port_range)
// smaller than the number of connections. `flag` names the option in the
// message ("-c 30000").
std::string connection_limit_problem(std::uint64_t connections, const std::string& flag);

// While one exists, no new descriptor can be opened in this process (the
// soft open-files limit is put at the lowest free descriptor).
// MosquittoClient calls mosquitto_new() under one: mosquitto_new() opens a
// socketpair per client for a threaded loop mqtk-bench never runs, and
// carries on without it, so each connection costs one descriptor instead
// of three. Single-threaded use only; restores the limit when destroyed.
class NoNewDescriptors
{
public:
  NoNewDescriptors();
  ~NoNewDescriptors();
  NoNewDescriptors(const NoNewDescriptors&) = delete;
  NoNewDescriptors& operator=(const NoNewDescriptors&) = delete;

private:
  std::uint64_t m_soft = 0;
  bool m_lowered = false;
};

} // namespace mqtk
