#include "proxy/admission.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace xdpkv {
namespace {

// Driver name of an interface ("veth", "virtio_net", ...), empty if unknown.
std::string DriverOf(const std::string& name) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  ifreq request{};
  std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
  request.ifr_data = reinterpret_cast<char*>(&info);
  const bool ok = ioctl(fd, SIOCETHTOOL, &request) == 0;
  close(fd);
  return ok ? std::string(info.driver) : "";
}

}  // namespace

Ip16 FromIpv4(uint32_t network_order) {
  Ip16 out{};
  out[10] = 0xff;
  out[11] = 0xff;
  std::memcpy(&out[12], &network_order, 4);
  return out;
}

bool FromSockaddr(const sockaddr* address, Ip16* out) {
  if (address == nullptr) return false;
  if (address->sa_family == AF_INET) {
    *out = FromIpv4(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr);
    return true;
  }
  if (address->sa_family == AF_INET6) {
    std::memcpy(out->data(), &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, 16);
    return true;
  }
  return false;
}

absl::StatusOr<Ip16> ParseIp(const std::string& text) {
  std::string host(text);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return FromIpv4(v4.s_addr);
  Ip16 out{};
  if (inet_pton(AF_INET6, host.c_str(), out.data()) == 1) return out;
  return absl::InvalidArgumentError(absl::StrCat("not an IPv4 or IPv6 address: '", text, "'"));
}

bool IsMappedIpv4(const Ip16& a) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a.data(), kPrefix, 12) == 0;
}

bool IsLoopback(const Ip16& a) {
  if (IsMappedIpv4(a)) return a[12] == 127;
  static constexpr Ip16 kLoopback6 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return a == kLoopback6;
}

bool IsUnspecified(const Ip16& a) {
  if (IsMappedIpv4(a)) return a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] == 0;
  return a == Ip16{};
}

std::string IpText(const Ip16& a) {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (IsMappedIpv4(a)) {
    inet_ntop(AF_INET, &a[12], buffer, sizeof(buffer));
  } else {
    inet_ntop(AF_INET6, a.data(), buffer, sizeof(buffer));
  }
  return buffer;
}

absl::StatusOr<Cidr> ParseCidr(const std::string& text) {
  const size_t slash = text.find('/');
  auto address = ParseIp(text.substr(0, slash));
  if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not a CIDR (ADDRESS[/BITS]): '", text, "'"));
  }
  const bool v4 = IsMappedIpv4(*address);
  int bits = v4 ? 32 : 128;
  if (slash != std::string_view::npos &&
      (!absl::SimpleAtoi(text.substr(slash + 1), &bits) || bits < 0 || bits > (v4 ? 32 : 128))) {
    return absl::InvalidArgumentError(absl::StrCat("bad prefix length in '", text, "'"));
  }
  Cidr cidr;
  cidr.prefix = v4 ? 96 + bits : bits;
  cidr.address = *address;
  for (int bit = cidr.prefix; bit < 128; ++bit) {
    cidr.address[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  return cidr;
}

bool Contains(const Cidr& cidr, const Ip16& address) {
  for (int bit = 0; bit < cidr.prefix; ++bit) {
    const uint8_t mask = static_cast<uint8_t>(0x80u >> (bit % 8));
    if ((cidr.address[bit / 8] & mask) != (address[bit / 8] & mask)) return false;
  }
  return true;
}

bool UdpAdmission::Allowed(const Ip16& source) const {
  return std::any_of(allow.begin(), allow.end(),
                     [&](const Cidr& cidr) { return Contains(cidr, source); });
}

bool UdpAdmission::IsServicePort(uint16_t port) const {
  return port == 0 ||
         std::find(service_ports.begin(), service_ports.end(), port) != service_ports.end();
}

absl::StatusOr<UdpAdmission> MakeUdpAdmission(const std::vector<std::string>& allow,
                                              uint32_t max_reply_bytes) {
  UdpAdmission admission;
  admission.max_reply_bytes = max_reply_bytes;
  for (const std::string& text : allow) {
    auto cidr = ParseCidr(text);
    if (!cidr.ok()) return cidr.status();
    admission.allow.push_back(*cidr);
  }
  return admission;
}

absl::StatusOr<AdmissionTable> BuildAdmissionTable(const std::vector<std::string>& interfaces,
                                                   const std::vector<std::string>& listen) {
  std::vector<Ip16> listen_addresses;
  bool any_v4 = false, any_v6 = false;
  for (const std::string& text : listen) {
    auto address = ParseIp(text);
    if (!address.ok()) return address.status();
    if (IsUnspecified(*address)) {
      (IsMappedIpv4(*address) ? any_v4 : any_v6) = true;
    } else {
      listen_addresses.push_back(*address);
    }
  }

  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return absl::Status(absl::ErrnoToStatusCode(errno),
                        absl::StrCat("listing interfaces: ", std::strerror(errno)));
  }
  AdmissionTable table;
  // Interfaces first (AF_PACKET entries carry the MAC), then addresses.
  for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_PACKET) continue;
    const std::string name = entry->ifa_name;
    if (std::find(interfaces.begin(), interfaces.end(), name) == interfaces.end()) continue;
    const auto* link = reinterpret_cast<const sockaddr_ll*>(entry->ifa_addr);
    xdpkv_iface iface{};
    if (link->sll_halen == 6) std::memcpy(iface.mac, link->sll_addr, 6);
    if (entry->ifa_flags & IFF_LOOPBACK) iface.flags |= XDPKV_IFACE_LOOPBACK;
    // Local senders leave UDP checksums to offload on these (their frames
    // carry the pseudo-header sum only); a NIC's frames carry full ones.
    if ((entry->ifa_flags & IFF_LOOPBACK) || DriverOf(name) == "veth") {
      iface.flags |= XDPKV_IFACE_CSUM_PARTIAL;
    }
    table.ifaces[static_cast<uint32_t>(link->sll_ifindex)] = iface;
  }
  for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    Ip16 address{};
    if (!FromSockaddr(entry->ifa_addr, &address)) continue;
    table.host_addrs[address] |= XDPKV_HOST_OWN;
    // glibc fills ifa_broadaddr with the address itself when the address
    // has no broadcast (`ip addr add` without `brd`): not a broadcast.
    Ip16 broadcast{};
    if ((entry->ifa_flags & IFF_BROADCAST) && entry->ifa_broadaddr != nullptr &&
        FromSockaddr(entry->ifa_broadaddr, &broadcast) && IsMappedIpv4(broadcast) &&
        broadcast != address) {
      table.host_addrs[broadcast] |= XDPKV_HOST_BCAST;
    }
    const unsigned ifindex = if_nametoindex(entry->ifa_name);
    if (ifindex == 0 || table.ifaces.count(ifindex) == 0) continue;
    if (IsMappedIpv4(address) ? any_v4 : any_v6) table.admit_dst.insert({ifindex, address});
  }
  freeifaddrs(list);
  // This host's clients reach every address of ours through lo: with a
  // wildcard, lo admits them all, as the stack does.
  for (const auto& [ifindex, iface] : table.ifaces) {
    if (!(iface.flags & XDPKV_IFACE_LOOPBACK)) continue;
    for (const auto& [address, flags] : table.host_addrs) {
      if ((flags & XDPKV_HOST_OWN) && (IsMappedIpv4(address) ? any_v4 : any_v6)) {
        table.admit_dst.insert({ifindex, address});
      }
    }
  }
  for (const auto& [ifindex, iface] : table.ifaces) {
    const bool loopback = iface.flags & XDPKV_IFACE_LOOPBACK;
    for (const Ip16& address : listen_addresses) {
      if (IsLoopback(address) && !loopback) continue;  // martian off lo
      table.admit_dst.insert({ifindex, address});
    }
  }
  // A subnet broadcast is never an address of ours to answer from.
  for (auto it = table.admit_dst.begin(); it != table.admit_dst.end();) {
    const auto host = table.host_addrs.find(it->second);
    it = host != table.host_addrs.end() && (host->second & XDPKV_HOST_BCAST)
             ? table.admit_dst.erase(it)
             : std::next(it);
  }
  return table;
}

}  // namespace xdpkv
