// Table-driven tests of the kernel path's admission (bpf/lib/admission.h)
// through BPF_PROG_TEST_RUN: crafted packets, each one rule broken, must be
// passed (untouched, counted once under their reason, the store unchanged);
// the baseline packets they are made from must be answered. Test runs
// arrive on lo (ifindex of "lo" here); the tests describe it to the
// program as they need: as a NIC with its own MAC and addresses, or as lo.
// Needs BPF rights (root); without them each test is skipped and says why.
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/admission.h"
#include "proxy/bpf_store.h"
#include "proxy/testing/packets.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {
namespace {

using testing::FoldSum;
using testing::Frame;
using testing::RunXdp;
using testing::SumWords;

using testing::kPass;
using testing::kTx;

const std::string kServerMac("\x02\x00\x00\x00\x00\x01", 6);
const std::string kClientMac("\x02\x00\x00\x00\x00\x02", 6);

// One request packet, every field ours to break.
struct Packet {
  bool ipv6 = false;
  std::string dst_mac = kServerMac;
  std::string src_mac = kClientMac;
  std::string src = "10.0.0.2";
  std::string dst = "10.0.0.1";
  uint16_t src_port = 40000;
  uint16_t dst_port = 11211;
  std::string payload;
  // Breakages, applied after the headers and checksums are right.
  int ip_length_delta = 0;    // IPv4 total length / IPv6 payload length
  int udp_length_delta = 0;   // UDP length (the IP length follows it)
  bool bad_ip_checksum = false;
  bool bad_udp_checksum = false;
  bool zero_udp_checksum = false;
  bool partial_udp_checksum = false;  // the pseudo-header sum only (offload)
  size_t frame_padding = 0;           // zero bytes after the datagram
};

void Put16(std::string* s, size_t at, uint16_t v) {
  (*s)[at] = static_cast<char>(v >> 8);
  (*s)[at + 1] = static_cast<char>(v & 0xff);
}

std::string AddressBytes(const std::string& text, bool ipv6) {
  std::string out(ipv6 ? 16 : 4, '\0');
  EXPECT_EQ(inet_pton(ipv6 ? AF_INET6 : AF_INET, text.c_str(), out.data()), 1) << text;
  return out;
}

std::string Build(const Packet& p) {
  std::string udp(8, '\0');
  Put16(&udp, 0, p.src_port);
  Put16(&udp, 2, p.dst_port);
  udp += p.payload;
  const uint16_t udp_len = static_cast<uint16_t>(udp.size() + p.udp_length_delta);
  Put16(&udp, 4, udp_len);
  const std::string src = AddressBytes(p.src, p.ipv6), dst = AddressBytes(p.dst, p.ipv6);

  // Pseudo header: addresses, protocol, UDP length.
  uint32_t pseudo = SumWords(src + dst) + 17 + udp_len;
  const uint16_t partial = FoldSum(pseudo);
  uint16_t check = static_cast<uint16_t>(~FoldSum(SumWords(udp, pseudo)));
  if (check == 0) check = 0xffff;
  if (p.partial_udp_checksum) check = partial;
  if (p.bad_udp_checksum) check = static_cast<uint16_t>(check ^ 0x0101);
  if (p.zero_udp_checksum) check = 0;
  Put16(&udp, 6, check);

  std::string ip;
  if (p.ipv6) {
    ip.assign(40, '\0');
    ip[0] = 0x60;
    Put16(&ip, 4, static_cast<uint16_t>(udp_len + p.ip_length_delta));
    ip[6] = 17;
    ip[7] = 64;
    ip.replace(8, 16, src);
    ip.replace(24, 16, dst);
  } else {
    ip.assign(20, '\0');
    ip[0] = 0x45;
    Put16(&ip, 2, static_cast<uint16_t>(20 + udp_len + p.ip_length_delta));
    Put16(&ip, 4, 0x1234);
    Put16(&ip, 6, 0x4000);
    ip[8] = 64;
    ip[9] = 17;
    ip.replace(12, 4, src);
    ip.replace(16, 4, dst);
    uint16_t ip_check = static_cast<uint16_t>(~FoldSum(SumWords(ip)));
    if (p.bad_ip_checksum) ip_check = static_cast<uint16_t>(ip_check ^ 0x0101);
    Put16(&ip, 10, ip_check);
  }
  std::string frame = p.dst_mac + p.src_mac + (p.ipv6 ? std::string("\x86\xdd", 2)
                                                      : std::string("\x08\x00", 2));
  return frame + ip + udp + std::string(p.frame_padding, '\0');
}

Packet V6(Packet p) {
  p.ipv6 = true;
  p.src = "2001:db8::2";
  p.dst = "2001:db8::1";
  return p;
}

class Admission : public ::testing::Test {
 protected:
  void SetUp() override {
    XdpConfig config;
    config.udp_allow = {"10.0.0.0/24", "2001:db8::/64", "127.0.0.0/8", "::1/128"};
    config.other_service_ports = {12345};
    config.max_reply_bytes = 100;
    auto loaded = XdpLoader::Load(config);
    if (!loaded.ok()) {
      GTEST_SKIP() << "no BPF rights here, XDP not tested: " << loaded.status().message();
    }
    loader_ = std::move(*loaded);
    store_ = BpfStore::ForLoader(*loader_);
    lo_ = if_nametoindex("lo");
    ASSERT_NE(lo_, 0u);
    DescribeLoAsNic(0);
    ASSERT_TRUE(store_->Set("k", "old", 0, 0).ok());
  }

  // Test runs arrive on lo: tell the program lo is a NIC with kServerMac,
  // 10.0.0.1/24 (broadcast 10.0.0.255) and 2001:db8::1.
  void DescribeLoAsNic(uint16_t flags) {
    AdmissionTable table;
    xdpkv_iface iface{};
    std::memcpy(iface.mac, kServerMac.data(), 6);
    iface.flags = flags;
    table.ifaces[lo_] = iface;
    for (const char* text : {"10.0.0.1", "2001:db8::1"}) {
      table.admit_dst.insert({lo_, *ParseIp(text)});
      table.host_addrs[*ParseIp(text)] = XDPKV_HOST_OWN;
    }
    table.host_addrs[*ParseIp("10.0.0.255")] = XDPKV_HOST_BCAST;
    ASSERT_TRUE(loader_->SetAdmissionTable(table).ok());
  }

  // lo as it is: loopback, 127.0.0.1 and ::1 admitted.
  void DescribeLoAsLoopback() {
    AdmissionTable table;
    table.ifaces[lo_] = xdpkv_iface{{}, XDPKV_IFACE_LOOPBACK | XDPKV_IFACE_CSUM_PARTIAL};
    table.admit_dst.insert({lo_, *ParseIp("127.0.0.1")});
    table.admit_dst.insert({lo_, *ParseIp("::1")});
    ASSERT_TRUE(loader_->SetAdmissionTable(table).ok());
  }

  // The packet is passed untouched, counted once under `reason`, and the
  // store still holds k = old.
  void ExpectPassed(const Packet& p, xdpkv_reason reason) {
    const std::string packet = Build(p);
    auto before = loader_->ReadCounters();
    ASSERT_TRUE(before.ok());
    auto result = RunXdp(loader_->program_fd(), packet);
    ASSERT_EQ(result.error, 0);
    EXPECT_EQ(result.verdict, kPass);
    EXPECT_EQ(result.packet, packet) << "a passed packet was modified";
    auto after = loader_->ReadCounters();
    ASSERT_TRUE(after.ok());
    for (int proto = 0; proto < XDPKV_PROTO_COUNT; ++proto) {
      for (int r = 0; r < XDPKV_REASON_COUNT; ++r) {
        const uint64_t want = proto == XDPKV_PROTO_MEMCACHE && r == reason ? 1 : 0;
        EXPECT_EQ(after->count[proto][r] - before->count[proto][r], want)
            << kProtoNames[proto] << "." << kReasonNames[r];
      }
    }
    auto item = store_->Get("k");
    ASSERT_TRUE(item.ok() && item->has_value());
    EXPECT_EQ((*item)->value, "old") << "a passed request changed the store";
  }

  // The kernel answers: a reply to the request's source, from our MAC.
  std::string ExpectAnswered(const Packet& p) {
    auto result = RunXdp(loader_->program_fd(), Build(p));
    EXPECT_EQ(result.error, 0);
    EXPECT_EQ(result.verdict, kTx);
    if (result.verdict != kTx) return "";
    EXPECT_EQ(result.packet.substr(0, 6), p.src_mac);
    EXPECT_EQ(result.packet.substr(6, 6), p.dst_mac);
    EXPECT_EQ(result.packet[6] & 1, 0) << "a group source MAC in a reply";
    return result.packet.substr(p.ipv6 ? 14 + 40 + 8 : 14 + 20 + 8);
  }

  uint64_t Count(xdpkv_reason reason) {
    auto counters = loader_->ReadCounters();
    return counters.ok() ? counters->Get(XDPKV_PROTO_MEMCACHE, reason) : 0;
  }

  std::unique_ptr<XdpLoader> loader_;
  std::unique_ptr<BpfStore> store_;
  uint32_t lo_ = 0;
};

// A write: if one of these were admitted, k would change.
Packet Set(Packet p = {}) {
  p.payload = Frame(1) + "set k 0 0 3\r\nnew\r\n";
  return p;
}

TEST_F(Admission, TheBaselinePacketsAreAnswered) {
  for (Packet p : {Set(), V6(Set())}) {
    SCOPED_TRACE(p.ipv6 ? "IPv6" : "IPv4");
    ASSERT_TRUE(store_->Set("k", "old", 0, 0).ok());
    EXPECT_EQ(ExpectAnswered(p), Frame(1) + "STORED\r\n");
    auto item = store_->Get("k");
    ASSERT_TRUE(item.ok() && item->has_value());
    EXPECT_EQ((*item)->value, "new");
  }
  // Zero UDP checksum over IPv4 (optional there), and Ethernet padding.
  ASSERT_TRUE(store_->Set("k", "old", 0, 0).ok());
  Packet p = Set();
  p.zero_udp_checksum = true;
  p.frame_padding = 10;
  EXPECT_EQ(ExpectAnswered(p), Frame(1) + "STORED\r\n");
}

struct Case {
  const char* name;
  std::function<void(Packet*)> breakage;
  xdpkv_reason reason;
};

void RunCases(Admission* test, const std::vector<Case>& cases, bool ipv6,
              const std::function<void(const Packet&, xdpkv_reason)>& expect) {
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(ipv6 ? "IPv6: " : "IPv4: ") + c.name);
    Packet p = ipv6 ? V6(Set()) : Set();
    c.breakage(&p);
    expect(p, c.reason);
  }
  (void)test;
}

TEST_F(Admission, IPv4RequestsTheStackWouldNotAcceptArePassed) {
  const std::vector<Case> cases = {
      {"foreign destination MAC", [](Packet* p) { p->dst_mac = std::string("\x02\0\0\0\0\x09", 6); },
       XDPKV_PASS_FOREIGN_MAC},
      {"broadcast MAC", [](Packet* p) { p->dst_mac = std::string(6, '\xff'); },
       XDPKV_PASS_FOREIGN_MAC},
      {"multicast MAC", [](Packet* p) { p->dst_mac = std::string("\x01\x00\x5e\0\0\x01", 6); },
       XDPKV_PASS_FOREIGN_MAC},
      {"multicast source MAC", [](Packet* p) { p->src_mac = std::string("\x03\0\0\0\0\x02", 6); },
       XDPKV_PASS_MARTIAN_SOURCE},
      {"foreign destination IP", [](Packet* p) { p->dst = "10.0.0.7"; }, XDPKV_PASS_FOREIGN_DEST},
      {"subnet broadcast destination", [](Packet* p) { p->dst = "10.0.0.255"; },
       XDPKV_PASS_FOREIGN_DEST},
      {"limited broadcast destination", [](Packet* p) { p->dst = "255.255.255.255"; },
       XDPKV_PASS_FOREIGN_DEST},
      {"multicast destination", [](Packet* p) { p->dst = "224.0.0.1"; }, XDPKV_PASS_FOREIGN_DEST},
      {"loopback destination off lo", [](Packet* p) { p->dst = "127.0.0.1"; },
       XDPKV_PASS_FOREIGN_DEST},
      {"loopback source off lo", [](Packet* p) { p->src = "127.0.0.1"; },
       XDPKV_PASS_MARTIAN_SOURCE},
      {"source 0.0.0.0/8", [](Packet* p) { p->src = "0.1.2.3"; }, XDPKV_PASS_MARTIAN_SOURCE},
      {"multicast source", [](Packet* p) { p->src = "224.0.0.5"; }, XDPKV_PASS_MARTIAN_SOURCE},
      {"broadcast source", [](Packet* p) { p->src = "255.255.255.255"; },
       XDPKV_PASS_MARTIAN_SOURCE},
      {"subnet broadcast source", [](Packet* p) { p->src = "10.0.0.255"; },
       XDPKV_PASS_MARTIAN_SOURCE},
      {"our own address as source", [](Packet* p) { p->src = "10.0.0.1"; },
       XDPKV_PASS_MARTIAN_SOURCE},
      {"from our memcached port", [](Packet* p) { p->src_port = 11211; }, XDPKV_PASS_SELF_PORT},
      {"from our RESP port", [](Packet* p) { p->src_port = 6379; }, XDPKV_PASS_SELF_PORT},
      {"from our TCP port", [](Packet* p) { p->src_port = 12345; }, XDPKV_PASS_SELF_PORT},
      {"from port 0", [](Packet* p) { p->src_port = 0; }, XDPKV_PASS_SELF_PORT},
      {"source outside --udp-allow", [](Packet* p) { p->src = "10.0.1.2"; },
       XDPKV_PASS_NOT_ALLOWED},
      {"IP total length too long", [](Packet* p) { p->ip_length_delta = 1; },
       XDPKV_PASS_BAD_LENGTH},
      {"IP total length too short", [](Packet* p) { p->ip_length_delta = -1; },
       XDPKV_PASS_BAD_LENGTH},
      {"UDP length short of the IP length",
       [](Packet* p) {
         p->udp_length_delta = -1;
         p->ip_length_delta = 1;
       },
       XDPKV_PASS_BAD_LENGTH},
      {"IP header checksum", [](Packet* p) { p->bad_ip_checksum = true; },
       XDPKV_PASS_BAD_CHECKSUM},
      {"UDP checksum", [](Packet* p) { p->bad_udp_checksum = true; }, XDPKV_PASS_BAD_CHECKSUM},
      {"offload's partial UDP checksum on a NIC", [](Packet* p) { p->partial_udp_checksum = true; },
       XDPKV_PASS_BAD_CHECKSUM},
  };
  RunCases(this, cases, false, [this](const Packet& p, xdpkv_reason r) { ExpectPassed(p, r); });
}

TEST_F(Admission, IPv6RequestsTheStackWouldNotAcceptArePassed) {
  const std::vector<Case> cases = {
      {"foreign destination MAC", [](Packet* p) { p->dst_mac = std::string("\x02\0\0\0\0\x09", 6); },
       XDPKV_PASS_FOREIGN_MAC},
      {"multicast MAC", [](Packet* p) { p->dst_mac = std::string("\x33\x33\0\0\0\x01", 6); },
       XDPKV_PASS_FOREIGN_MAC},
      {"foreign destination IP", [](Packet* p) { p->dst = "2001:db8::7"; },
       XDPKV_PASS_FOREIGN_DEST},
      {"multicast destination", [](Packet* p) { p->dst = "ff02::1"; }, XDPKV_PASS_FOREIGN_DEST},
      {"loopback destination off lo", [](Packet* p) { p->dst = "::1"; }, XDPKV_PASS_FOREIGN_DEST},
      {"loopback source off lo", [](Packet* p) { p->src = "::1"; }, XDPKV_PASS_MARTIAN_SOURCE},
      {"unspecified source", [](Packet* p) { p->src = "::"; }, XDPKV_PASS_MARTIAN_SOURCE},
      {"multicast source", [](Packet* p) { p->src = "ff02::1"; }, XDPKV_PASS_MARTIAN_SOURCE},
      {"IPv4-mapped source", [](Packet* p) { p->src = "::ffff:10.0.0.2"; },
       XDPKV_PASS_MARTIAN_SOURCE},
      {"our own address as source", [](Packet* p) { p->src = "2001:db8::1"; },
       XDPKV_PASS_MARTIAN_SOURCE},
      {"from our memcached port", [](Packet* p) { p->src_port = 11211; }, XDPKV_PASS_SELF_PORT},
      {"source outside --udp-allow", [](Packet* p) { p->src = "2001:db8:1::2"; },
       XDPKV_PASS_NOT_ALLOWED},
      {"payload length too long", [](Packet* p) { p->ip_length_delta = 1; },
       XDPKV_PASS_BAD_LENGTH},
      {"payload length too short", [](Packet* p) { p->ip_length_delta = -2; },
       XDPKV_PASS_BAD_LENGTH},
      {"UDP checksum", [](Packet* p) { p->bad_udp_checksum = true; }, XDPKV_PASS_BAD_CHECKSUM},
      {"no UDP checksum (mandatory over IPv6)", [](Packet* p) { p->zero_udp_checksum = true; },
       XDPKV_PASS_BAD_CHECKSUM},
  };
  RunCases(this, cases, true, [this](const Packet& p, xdpkv_reason r) { ExpectPassed(p, r); });
}

TEST_F(Admission, AnInterfaceTheLoaderDidNotDescribeIsNeverAnswered) {
  ASSERT_TRUE(loader_->SetAdmissionTable(AdmissionTable{}).ok());
  ExpectPassed(Set(), XDPKV_PASS_UNKNOWN_IFACE);
  ExpectPassed(V6(Set()), XDPKV_PASS_UNKNOWN_IFACE);
}

TEST_F(Admission, OffloadsPartialChecksumIsAcceptedWhereTheInterfaceSaysSo) {
  DescribeLoAsNic(XDPKV_IFACE_CSUM_PARTIAL);
  for (Packet p : {Set(), V6(Set())}) {
    SCOPED_TRACE(p.ipv6 ? "IPv6" : "IPv4");
    ASSERT_TRUE(store_->Set("k", "old", 0, 0).ok());
    p.partial_udp_checksum = true;
    EXPECT_EQ(ExpectAnswered(p), Frame(1) + "STORED\r\n");
    ASSERT_TRUE(store_->Set("k", "old", 0, 0).ok());
    p.partial_udp_checksum = false;
    p.bad_udp_checksum = true;
    ExpectPassed(p, XDPKV_PASS_BAD_CHECKSUM);
  }
}

TEST_F(Admission, OnLoopbackOwnAddressesAndAnyUnicastMacAreLocalTraffic) {
  DescribeLoAsLoopback();
  for (Packet p : {Set(), V6(Set())}) {
    SCOPED_TRACE(p.ipv6 ? "IPv6" : "IPv4");
    p.src = p.dst = p.ipv6 ? "::1" : "127.0.0.1";
    p.dst_mac = std::string(6, '\0');
    ASSERT_TRUE(store_->Set("k", "old", 0, 0).ok());
    EXPECT_EQ(ExpectAnswered(p), Frame(1) + "STORED\r\n");
    ASSERT_TRUE(store_->Set("k", "old", 0, 0).ok());
    p.dst_mac = std::string(6, '\xff');  // a broadcast MAC even on lo: no
    ExpectPassed(p, XDPKV_PASS_FOREIGN_MAC);
    p.dst_mac = std::string(6, '\0');
    p.src_port = 11211;  // the loop's spoofed packet: 127.0.0.1:11211 -> :11211
    ExpectPassed(p, XDPKV_PASS_SELF_PORT);
  }
}

TEST_F(Admission, RepliesOverTheCapGoToUserspaceExceptForLoopbackSources) {
  const std::string value(90, 'v');
  ASSERT_TRUE(store_->Set("big", value, 0, 0).ok());
  Packet get;
  get.payload = Frame(2) + "get big\r\n";
  // "VALUE big 0 90\r\n" + 90 + "\r\nEND\r\n" + the frame: 121 > 100.
  for (Packet p : {get, V6(get)}) {
    SCOPED_TRACE(p.ipv6 ? "IPv6" : "IPv4");
    const uint64_t before = Count(XDPKV_PASS_REPLY_CAP);
    auto result = RunXdp(loader_->program_fd(), Build(p));
    EXPECT_EQ(result.verdict, kPass);
    EXPECT_EQ(Count(XDPKV_PASS_REPLY_CAP), before + 1);
    p.payload = Frame(3) + "get k\r\n";  // 30 bytes of reply: under the cap
    EXPECT_EQ(ExpectAnswered(p), Frame(3) + "VALUE k 0 3\r\nold\r\nEND\r\n");
  }
  DescribeLoAsLoopback();
  for (Packet p : {get, V6(get)}) {
    p.src = p.dst = p.ipv6 ? "::1" : "127.0.0.1";
    EXPECT_EQ(ExpectAnswered(p), Frame(2) + "VALUE big 0 90\r\n" + value + "\r\nEND\r\n");
  }
}

// The first finding: listening on 127.0.0.1 only, the kernel
// answered ::1 too. The loader's own tables (from lo as it is) follow -l.
TEST(AdmissionTables, TheKernelAnswersOnlyTheAddressesListenedOn) {
  XdpConfig config;
  config.listen_addresses = {"127.0.0.1"};
  auto loaded = XdpLoader::Load(config);
  if (!loaded.ok()) GTEST_SKIP() << "no BPF rights here: " << loaded.status().message();
  auto store = BpfStore::ForLoader(**loaded);
  ASSERT_TRUE(store->Set("k", "old", 0, 0).ok());
  Packet p = Set();
  p.src = p.dst = "127.0.0.1";
  EXPECT_EQ(RunXdp((*loaded)->program_fd(), Build(p)).verdict, kTx);
  p = V6(Set());
  p.src = p.dst = "::1";
  auto before = (*loaded)->ReadCounters();
  EXPECT_EQ(RunXdp((*loaded)->program_fd(), Build(p)).verdict, kPass);
  auto after = (*loaded)->ReadCounters();
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(after->Get(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_FOREIGN_DEST) -
                before->Get(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_FOREIGN_DEST),
            1u);
}

// -l 0.0.0.0 follows the interface's addresses as they change (main calls
// RefreshAdmission once a second). In a network namespace of this thread's
// own (unshare(CLONE_NEWNET) is per thread; test runs and the `ip`
// commands forked from here see it; it goes when the thread ends).
TEST(AdmissionTables, ARefreshFollowsAddressChanges) {
  std::string failure;
  std::thread([&failure] {
    if (unshare(CLONE_NEWNET) != 0) {
      failure = "skip: unshare(CLONE_NEWNET): " + std::string(std::strerror(errno));
      return;
    }
    if (std::system("ip link set lo up && ip addr add 10.9.0.1/32 dev lo") != 0) {
      failure = "skip: ip could not set up lo";
      return;
    }
    XdpConfig config;
    config.listen_addresses = {"0.0.0.0"};
    config.udp_allow = {"10.9.0.0/24"};
    auto loaded = XdpLoader::Load(config);
    if (!loaded.ok()) {
      failure = "skip: " + std::string(loaded.status().message());
      return;
    }
    auto verdict_to = [&](const char* dst) {
      Packet p;
      p.payload = Frame(1) + "get k\r\n";
      p.src = "10.9.0.5";  // an address of ours would be fine on lo; this one is not
      p.dst = dst;
      return RunXdp((*loaded)->program_fd(), Build(p)).verdict;
    };
    std::vector<std::string> steps;
    auto expect = [&](const char* dst, uint32_t want, const char* when) {
      const uint32_t got = verdict_to(dst);
      if (got != want) {
        steps.push_back(std::string(when) + ": to " + dst + " verdict " + std::to_string(got));
      }
    };
    expect("10.9.0.1", kTx, "at load");
    expect("10.9.0.2", kPass, "at load");
    if (std::system("ip addr del 10.9.0.1/32 dev lo && ip addr add 10.9.0.2/32 dev lo") != 0) {
      failure = "ip addr change failed";
      return;
    }
    expect("10.9.0.1", kTx, "changed, not yet refreshed");  // the tables lag until then
    if (auto status = (*loaded)->RefreshAdmission(); !status.ok()) {
      failure = "RefreshAdmission: " + std::string(status.message());
      return;
    }
    expect("10.9.0.1", kPass, "refreshed");
    expect("10.9.0.2", kTx, "refreshed");
    for (const std::string& step : steps) failure += step + "; ";
  }).join();
  if (failure.rfind("skip: ", 0) == 0) GTEST_SKIP() << failure;
  EXPECT_EQ(failure, "");
}

TEST(AdmissionTables, WildcardsStandForTheInterfacesAddressesOfTheirFamily) {
  const uint32_t lo = if_nametoindex("lo");
  const auto v4 = *ParseIp("127.0.0.1"), v6 = *ParseIp("::1");
  auto only_v4 = BuildAdmissionTable({"lo"}, {"0.0.0.0"});
  ASSERT_TRUE(only_v4.ok()) << only_v4.status();
  EXPECT_TRUE(only_v4->admit_dst.count({lo, v4}));
  EXPECT_FALSE(only_v4->admit_dst.count({lo, v6}));
  ASSERT_TRUE(only_v4->ifaces.count(lo));
  EXPECT_TRUE(only_v4->ifaces[lo].flags & XDPKV_IFACE_LOOPBACK);
  auto only_v6 = BuildAdmissionTable({"lo"}, {"::"});
  ASSERT_TRUE(only_v6.ok());
  EXPECT_FALSE(only_v6->admit_dst.count({lo, v4}));
  EXPECT_TRUE(only_v6->admit_dst.count({lo, v6}));
  auto exact = BuildAdmissionTable({"lo"}, {"127.0.0.1"});
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->admit_dst.size(), 1u);
  EXPECT_TRUE(exact->host_addrs.count(v4) && exact->host_addrs.count(v6));
  EXPECT_FALSE(BuildAdmissionTable({"lo"}, {"not-an-address"}).ok());
}

TEST(AdmissionCidr, ParsesBothFamiliesAndMatchesByPrefix) {
  auto net = ParseCidr("10.1.0.0/16");
  ASSERT_TRUE(net.ok());
  EXPECT_EQ(net->prefix, 96 + 16);
  EXPECT_TRUE(Contains(*net, *ParseIp("10.1.255.3")));
  EXPECT_FALSE(Contains(*net, *ParseIp("10.2.0.1")));
  EXPECT_FALSE(Contains(*net, *ParseIp("::ffff:a02:1")));
  EXPECT_TRUE(Contains(*ParseCidr("10.1.2.3/8"), *ParseIp("10.9.9.9")));  // host bits dropped
  auto host6 = ParseCidr("2001:db8::2");
  ASSERT_TRUE(host6.ok());
  EXPECT_EQ(host6->prefix, 128);
  EXPECT_TRUE(Contains(*host6, *ParseIp("2001:db8::2")));
  EXPECT_FALSE(Contains(*host6, *ParseIp("2001:db8::3")));
  EXPECT_TRUE(Contains(*ParseCidr("::/0"), *ParseIp("192.0.2.1")));
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0.0/x", "example.com", "10.0.0/8"}) {
    EXPECT_FALSE(ParseCidr(bad).ok()) << bad;
  }
  UdpAdmission admission = *MakeUdpAdmission(DefaultUdpAllow(), 400);
  EXPECT_TRUE(admission.Allowed(*ParseIp("127.0.0.9")));
  EXPECT_TRUE(admission.Allowed(*ParseIp("::1")));
  EXPECT_FALSE(admission.Allowed(*ParseIp("198.18.0.2")));
}

}  // namespace
}  // namespace xdpkv
