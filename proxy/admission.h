// Admission: who the UDP paths may answer (docs/architecture.md,
// "Admission"). Addresses as the kernel's maps hold them (IPv4 as
// IPv4-mapped IPv6), the --udp-allow list, and the tables userspace keeps
// current for the XDP program (bpf/lib/admission.h): the interfaces, the
// destinations the server listens on, and this host's own addresses.
#ifndef XDPKV_PROXY_ADMISSION_H_
#define XDPKV_PROXY_ADMISSION_H_

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "proxy/store_layout.h"

namespace xdpkv {

// 16 bytes; IPv4 as ::ffff:a.b.c.d.
using Ip16 = std::array<uint8_t, 16>;

// Reply bytes (UDP payload, frame headers included) one request datagram
// from a non-loopback source may get, by default: a minimal request, `get
// k` (15 bytes of payload, a 43-byte IP packet), gets at most a 428-byte IP
// packet back: 10x, memcached's figure for its own kernel path.
inline constexpr uint32_t kDefaultUdpMaxReplyBytes = 400;
// Sources answered over UDP by default: this host only.
inline const std::vector<std::string>& DefaultUdpAllow() {
  static const auto* list = new std::vector<std::string>{"127.0.0.0/8", "::1/128"};
  return *list;
}

// "192.0.2.1", "2001:db8::1", "[::1]".
absl::StatusOr<Ip16> ParseIp(const std::string& text);
Ip16 FromIpv4(uint32_t network_order);
// The address of an AF_INET or AF_INET6 sockaddr; nullopt-like: false if
// neither.
bool FromSockaddr(const sockaddr* address, Ip16* out);
bool IsMappedIpv4(const Ip16& address);
bool IsLoopback(const Ip16& address);
bool IsUnspecified(const Ip16& address);  // 0.0.0.0 or ::
std::string IpText(const Ip16& address);

struct Cidr {
  Ip16 address{};  // host bits zero
  int prefix = 0;  // over the 128 bits: an IPv4 /n is 96 + n
};
// "10.0.0.0/8", "2001:db8::/32", or a bare address (one host).
absl::StatusOr<Cidr> ParseCidr(const std::string& text);
bool Contains(const Cidr& cidr, const Ip16& address);

// The userspace UDP path's admission (proxy/server.cc), the same rules as
// the kernel's that apply to a socket's datagrams.
struct UdpAdmission {
  std::vector<Cidr> allow;  // sources answered
  uint32_t max_reply_bytes = kDefaultUdpMaxReplyBytes;  // non-loopback sources
  std::vector<uint16_t> service_ports;  // datagrams from these are never answered
  bool Allowed(const Ip16& source) const;
  bool IsServicePort(uint16_t port) const;
};
absl::StatusOr<UdpAdmission> MakeUdpAdmission(const std::vector<std::string>& allow,
                                              uint32_t max_reply_bytes);

// What the XDP program's admission maps should hold.
struct AdmissionTable {
  std::map<uint32_t, xdpkv_iface> ifaces;              // ifindex -> MAC, flags
  std::set<std::pair<uint32_t, Ip16>> admit_dst;       // (ifindex, destination)
  std::map<Ip16, uint32_t> host_addrs;                 // XDPKV_HOST_* flags
};

// From the host's interfaces now (getifaddrs): `interfaces` are the ones
// XDP may see packets on (missing ones are left out); `listen` the
// server's addresses, where 0.0.0.0 and :: stand for every address of
// that family of each interface (on lo: every address of this host, which
// local clients reach through lo). A listen address in the loopback range
// is admitted on loopback interfaces only (elsewhere it is martian).
absl::StatusOr<AdmissionTable> BuildAdmissionTable(const std::vector<std::string>& interfaces,
                                                   const std::vector<std::string>& listen);

}  // namespace xdpkv

#endif  // XDPKV_PROXY_ADMISSION_H_
