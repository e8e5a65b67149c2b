// Test helpers: build Ethernet/IP/UDP packets, build the reply packet the
// XDP program must produce for one (independently of the program), and run
// packets through the program with BPF_PROG_TEST_RUN.
#ifndef XDPKV_PROXY_TESTING_PACKETS_H_
#define XDPKV_PROXY_TESTING_PACKETS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace xdpkv::testing {

struct PacketOptions {
  bool ipv6 = false;
  uint16_t source_port = 40000;
  uint16_t dest_port = 11211;
  uint8_t ip_protocol = 17;  // UDP
  bool ipv4_options = false;   // adds 4 bytes of options (IHL 6)
  bool ipv4_fragment = false;  // sets "more fragments"
  bool vlan = false;           // 802.1Q tag before the IP header
  // IPv4 addresses (network order) and MACs; 0 / empty: 127.0.0.1 and the
  // fixed test MACs. For packets that must pass admission on a real
  // interface (bench/xdp_gen.cc).
  uint32_t ipv4_source = 0;
  uint32_t ipv4_dest = 0;
  std::string source_mac;
  std::string dest_mac;
};

// XDP verdicts as BPF_PROG_TEST_RUN reports them.
inline constexpr uint32_t kDrop = 1;  // XDP_DROP
inline constexpr uint32_t kPass = 2;  // XDP_PASS
inline constexpr uint32_t kTx = 3;    // XDP_TX

// `options` for a RESP request (to port 6379), or over IPv6.
PacketOptions Resp(PacketOptions options = {});
PacketOptions V6(PacketOptions options = {});

// Bytes as text for test messages: printable ASCII as is, the rest \xNN.
std::string Printable(std::string_view bytes);

// `len` value bytes in which every byte value appears (CR and LF too), so
// a reply that drops, moves or escapes one is caught.
std::string EveryByteValue(size_t len, int seed);

// A request packet carrying `payload` as its UDP payload. Loopback
// addresses (127.0.0.1 / ::1) and fixed test MACs unless options say.
std::string BuildPacket(std::string_view payload, const PacketOptions& options = {});

// The reply the program must send for `request` (built by BuildPacket,
// IPv4 or IPv6 without options): MACs, addresses and ports swapped, TTL 64,
// lengths fixed, IPv4 header checksum, UDP checksum 0 (IPv4) or computed
// (IPv6), `reply_payload` as the UDP payload.
std::string ExpectedReply(std::string_view request, std::string_view reply_payload);

// memcached UDP frame header: request id, sequence, count, reserved.
std::string Frame(uint16_t request_id, uint16_t sequence = 0, uint16_t count = 1);

struct RunResult {
  uint32_t verdict = 0;
  std::string packet;
  int error = 0;  // errno of BPF_PROG_TEST_RUN, 0 on success
};
RunResult RunXdp(int prog_fd, std::string_view packet);

// Internet checksum pieces: big-endian 16-bit read, the one's-complement
// sum of 16-bit words (odd tail zero-padded), and its fold to 16 bits
// (0xffff over data that carries a correct checksum).
uint16_t Get16(std::string_view bytes, size_t at);
uint32_t SumWords(std::string_view bytes, uint32_t sum = 0);
uint16_t FoldSum(uint32_t sum);

// RESP multibulk request from its arguments.
std::string RespCommand(std::initializer_list<std::string_view> args);

}  // namespace xdpkv::testing

#endif  // XDPKV_PROXY_TESTING_PACKETS_H_
