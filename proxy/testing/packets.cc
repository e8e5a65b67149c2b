#include "proxy/testing/packets.h"

#include <arpa/inet.h>
#include <linux/types.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "bpf/bpf.h"

namespace xdpkv::testing {
namespace {

constexpr size_t kEth = 14;

void Put16(std::string* s, size_t at, uint16_t host) {
  (*s)[at] = static_cast<char>(host >> 8);
  (*s)[at + 1] = static_cast<char>(host & 0xff);
}

uint16_t Fold(uint32_t sum) { return static_cast<uint16_t>(~FoldSum(sum) & 0xffff); }

std::string Ipv4Header(size_t udp_total, const PacketOptions& options) {
  std::string ip(options.ipv4_options ? 24 : 20, '\0');
  ip[0] = static_cast<char>(options.ipv4_options ? 0x46 : 0x45);
  Put16(&ip, 2, static_cast<uint16_t>(ip.size() + udp_total));
  Put16(&ip, 4, 0x1234);                             // id
  Put16(&ip, 6, options.ipv4_fragment ? 0x2000 : 0x4000);  // MF or DF
  ip[8] = 64;
  ip[9] = static_cast<char>(options.ip_protocol);
  const uint32_t loopback = htonl(INADDR_LOOPBACK);
  const uint32_t source = options.ipv4_source != 0 ? options.ipv4_source : loopback;
  const uint32_t dest = options.ipv4_dest != 0 ? options.ipv4_dest : loopback;
  std::memcpy(&ip[12], &source, 4);
  std::memcpy(&ip[16], &dest, 4);
  if (options.ipv4_options) ip[20] = 1;  // NOP options
  if (options.ipv4_options) ip[21] = 1;
  Put16(&ip, 10, Fold(SumWords(ip)));
  return ip;
}

std::string Ipv6Header(size_t udp_total, const PacketOptions& options) {
  std::string ip(40, '\0');
  ip[0] = 0x60;
  Put16(&ip, 4, static_cast<uint16_t>(udp_total));
  ip[6] = static_cast<char>(options.ip_protocol);
  ip[7] = 64;
  ip[23] = 1;  // ::1
  ip[39] = 1;  // ::1
  return ip;
}

uint16_t Udp6Checksum(std::string_view ip6, std::string_view udp_and_payload) {
  uint32_t sum = SumWords(ip6.substr(8, 32));  // addresses
  sum += static_cast<uint32_t>(udp_and_payload.size() >> 16);
  sum += static_cast<uint32_t>(udp_and_payload.size() & 0xffff);
  sum += 17;
  sum = SumWords(udp_and_payload, sum);
  const uint16_t check = Fold(sum);
  return check == 0 ? 0xffff : check;
}

}  // namespace

uint16_t Get16(std::string_view s, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(s[at]) << 8) | static_cast<uint8_t>(s[at + 1]));
}

uint32_t SumWords(std::string_view bytes, uint32_t sum) {
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) sum += Get16(bytes, i);
  if (bytes.size() % 2) sum += static_cast<uint8_t>(bytes.back()) << 8;
  return sum;
}

uint16_t FoldSum(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

std::string BuildPacket(std::string_view payload, const PacketOptions& options) {
  std::string udp(8, '\0');
  Put16(&udp, 0, options.source_port);
  Put16(&udp, 2, options.dest_port);
  Put16(&udp, 4, static_cast<uint16_t>(8 + payload.size()));
  udp.append(payload);

  std::string eth = (options.dest_mac.size() == 6 ? options.dest_mac
                                                  : std::string("\x02\x00\x00\x00\x00\x01", 6)) +
                    (options.source_mac.size() == 6 ? options.source_mac
                                                    : std::string("\x02\x00\x00\x00\x00\x02", 6));
  if (options.vlan) eth += std::string("\x81\x00\x00\x07", 4);
  eth += options.ipv6 ? std::string("\x86\xdd", 2) : std::string("\x08\x00", 2);

  std::string ip = options.ipv6 ? Ipv6Header(udp.size(), options) : Ipv4Header(udp.size(), options);
  if (options.ipv6) Put16(&udp, 6, Udp6Checksum(ip, udp));
  return eth + ip + udp;
}

std::string ExpectedReply(std::string_view request, std::string_view reply_payload) {
  const bool ipv6 = Get16(request, 12) == 0x86dd;
  const size_t ip_len = ipv6 ? 40 : 20;
  std::string eth(request.substr(0, kEth));
  std::string ip(request.substr(kEth, ip_len));
  std::string udp(request.substr(kEth + ip_len, 8));

  std::swap_ranges(eth.begin(), eth.begin() + 6, eth.begin() + 6);
  std::swap_ranges(udp.begin(), udp.begin() + 2, udp.begin() + 2);
  Put16(&udp, 4, static_cast<uint16_t>(8 + reply_payload.size()));
  Put16(&udp, 6, 0);
  if (ipv6) {
    std::swap_ranges(ip.begin() + 8, ip.begin() + 24, ip.begin() + 24);
    Put16(&ip, 4, static_cast<uint16_t>(8 + reply_payload.size()));
    ip[7] = 64;
    const std::string datagram = udp + std::string(reply_payload);
    Put16(&udp, 6, Udp6Checksum(ip, datagram));
  } else {
    std::swap_ranges(ip.begin() + 12, ip.begin() + 16, ip.begin() + 16);
    Put16(&ip, 2, static_cast<uint16_t>(20 + 8 + reply_payload.size()));
    ip[8] = 64;
    Put16(&ip, 10, 0);
    Put16(&ip, 10, Fold(SumWords(ip)));
  }
  return eth + ip + udp + std::string(reply_payload);
}

std::string Frame(uint16_t request_id, uint16_t sequence, uint16_t count) {
  std::string frame(8, '\0');
  Put16(&frame, 0, request_id);
  Put16(&frame, 2, sequence);
  Put16(&frame, 4, count);
  return frame;
}

RunResult RunXdp(int prog_fd, std::string_view packet) {
  std::string in(packet);
  std::string out(4096, '\0');
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(),
              .data_out = out.data(), .data_size_in = static_cast<__u32>(in.size()),
              .data_size_out = static_cast<__u32>(out.size()), .repeat = 1);
  RunResult result;
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
    result.error = errno;
    return result;
  }
  result.verdict = opts.retval;
  out.resize(opts.data_size_out);
  result.packet = std::move(out);
  return result;
}

std::string RespCommand(std::initializer_list<std::string_view> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (std::string_view arg : args) {
    out += "$" + std::to_string(arg.size()) + "\r\n";
    out.append(arg);
    out += "\r\n";
  }
  return out;
}

PacketOptions Resp(PacketOptions options) {
  options.dest_port = 6379;
  return options;
}

PacketOptions V6(PacketOptions options) {
  options.ipv6 = true;
  return options;
}

std::string Printable(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::string EveryByteValue(size_t len, int seed) {
  std::string value(len, '\0');
  for (size_t i = 0; i < len; ++i) value[i] = static_cast<char>(i * 31 + seed);
  return value;
}

}  // namespace xdpkv::testing
