#include "mqtk/bench/payload_stamp.hpp"

namespace mqtk {

namespace {

void put(std::string& out, std::size_t at, std::uint64_t v, int bytes) noexcept
{
  for (int i = 0; i < bytes; ++i) {
    out[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  }
}

std::uint64_t get(std::string_view in, std::size_t at, int bytes) noexcept
{
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)])) << (8 * i);
  }
  return v;
}

} // namespace

void PayloadStamp::write(std::string& payload) const
{
  if (payload.size() < size) {
    payload.resize(size);
  }
  payload[0] = 'M';
  payload[1] = 'Q';
  payload[2] = 'B';
  payload[3] = static_cast<char>('0' + (warmup ? 1 : 0) + (realtime ? 2 : 0));
  put(payload, 4, publisher, 4);
  put(payload, 8, sequence, 8);
  put(payload, 16, due_ns, 8);
}

std::optional<PayloadStamp> PayloadStamp::read(std::string_view payload) noexcept
{
  if (payload.size() < size || payload.substr(0, 3) != "MQB" || payload[3] < '0' || payload[3] > '3') {
    return std::nullopt;
  }
  PayloadStamp s;
  s.warmup = ((payload[3] - '0') & 1) != 0;
  s.realtime = ((payload[3] - '0') & 2) != 0;
  s.publisher = static_cast<std::uint32_t>(get(payload, 4, 4));
  s.sequence = get(payload, 8, 8);
  s.due_ns = get(payload, 16, 8);
  return s;
}

} // namespace mqtk
