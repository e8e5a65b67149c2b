// The TC tier (bpf/xdpkv_tc.bpf.c) end to end: XDP and TC attached to the
// loopback interface of a network namespace of the test's own, real UDP
// sockets sending requests whose replies XDP cannot send (memcached
// multi-key gets, values over one datagram, big MGETs). Nothing listens on
// the ports, so a reply can only come from the kernel; it must be the
// datagrams userspace sends for the same request over the same store
// (HandleMemcacheDatagram / HandleRespDatagram, themselves compared with
// memcached -U by compat-tests/udp_framing_diff.py), byte for byte, and be
// counted as a TC reply. Over IPv6 the receiving stack checks the UDP
// checksum. Needs root; skipped, saying why, without it.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/bpf_store.h"
#include "proxy/session.h"
#include "proxy/store_layout.h"
#include "proxy/testing/packets.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {
namespace {

using testing::EveryByteValue;
using testing::Frame;
using testing::Printable;

constexpr uint16_t kMemcachePort = 11211;
constexpr uint16_t kRespPort = 6379;

// A network namespace of this process's own with lo up: nothing else can
// attach to its lo or send to its ports. Each test runs as its own process.
absl::Status EnterPrivateLoopback() {
  if (unshare(CLONE_NEWNET) != 0) {
    return absl::ErrnoToStatusCode(errno) == absl::StatusCode::kOk
               ? absl::InternalError("unshare")
               : absl::Status(absl::ErrnoToStatusCode(errno),
                              std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
  }
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return absl::InternalError(std::string("socket: ") + std::strerror(errno));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  const int err = errno;
  close(fd);
  if (rc != 0) return absl::InternalError(std::string("bringing lo up: ") + std::strerror(err));
  return absl::OkStatus();
}

class TcTier : public ::testing::Test {
 protected:
  void SetUp() override {
    if (absl::Status s = EnterPrivateLoopback(); !s.ok()) {
      GTEST_SKIP() << "no private network namespace here, TC not tested: " << s.message();
    }
    XdpConfig config;
    config.memcache_udp_port = kMemcachePort;
    config.resp_udp_port = kRespPort;
    auto loaded = XdpLoader::Load(config);
    if (!loaded.ok()) {
      GTEST_SKIP() << "no BPF rights here, XDP not tested: " << loaded.status().message();
    }
    loader_ = std::move(*loaded);
    ASSERT_TRUE(loader_->Attach("lo", XdpMode::kGeneric).ok());
    ASSERT_EQ(loader_->tc_interfaces(), std::vector<std::string>{"lo"})
        << "the TC tier did not attach (kernel without tcx?)";
    store_ = BpfStore::ForLoader(*loader_);
    context_.now_boot_ms = NowBootMs;
    context_.runtime = &runtime_;
    context_.stats = &stats_;
  }

  // Sends `payload` to the kernel over `family` and returns every datagram
  // that comes back, in arrival order (loopback keeps it), until none has
  // come for 200 ms; at most 1000.
  std::vector<std::string> AskKernel(std::string_view payload, uint16_t port, int family) {
    const int sock = socket(family, SOCK_DGRAM, 0);
    EXPECT_GE(sock, 0) << std::strerror(errno);
    if (sock < 0) return {};
    timeval timeout{0, 200 * 1000};
    EXPECT_EQ(setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)), 0);
    // The whole reply arrives at once, and each datagram the kernel sends
    // is charged a page of the receive buffer (docs/protocols.md): the
    // default buffer holds about 48 of them.
    const int rcvbuf = 8 << 20;
    EXPECT_EQ(setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)), 0);
    sockaddr_storage to{};
    socklen_t to_len;
    if (family == AF_INET6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&to);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(port);
      in6->sin6_addr = in6addr_loopback;
      to_len = sizeof(*in6);
    } else {
      auto* in = reinterpret_cast<sockaddr_in*>(&to);
      in->sin_family = AF_INET;
      in->sin_port = htons(port);
      in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      to_len = sizeof(*in);
    }
    EXPECT_EQ(sendto(sock, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     to_len),
              static_cast<ssize_t>(payload.size()));
    std::vector<std::string> datagrams;
    for (int i = 0; i < 1000; ++i) {
      std::string datagram(65536, '\0');
      const ssize_t got = recv(sock, datagram.data(), datagram.size(), 0);
      if (got < 0) break;
      datagram.resize(static_cast<size_t>(got));
      datagrams.push_back(std::move(datagram));
    }
    close(sock);
    return datagrams;
  }

  // The kernel answers `payload` (TC tier: one reply, no pass to userspace)
  // with exactly the datagrams userspace sends for it.
  void ExpectTcAnswersAsUserspace(std::string_view payload, bool resp, int family) {
    const xdpkv_proto proto = resp ? XDPKV_PROTO_RESP : XDPKV_PROTO_MEMCACHE;
    const uint64_t replies = Count(proto, XDPKV_TC_REPLY);
    const std::vector<std::string> kernel =
        AskKernel(payload, resp ? kRespPort : kMemcachePort, family);
    EXPECT_EQ(Count(proto, XDPKV_TC_REPLY), replies + 1) << Printable(payload.substr(0, 80));
    const std::vector<std::string> user =
        resp ? HandleRespDatagram(payload, *store_, context_)
             : HandleMemcacheDatagram(payload, *store_, context_);
    ASSERT_EQ(kernel.size(), user.size()) << Printable(payload.substr(0, 80));
    for (size_t i = 0; i < user.size(); ++i) {
      EXPECT_EQ(Printable(kernel[i]), Printable(user[i])) << "datagram " << i;
    }
  }

  uint64_t Count(xdpkv_proto proto, xdpkv_reason reason) {
    auto counters = loader_->ReadCounters();
    EXPECT_TRUE(counters.ok()) << counters.status();
    return counters.ok() ? counters->Get(proto, reason) : 0;
  }

  std::unique_ptr<XdpLoader> loader_;
  std::unique_ptr<BpfStore> store_;
  ServerStats stats_;
  RuntimeConfig runtime_;
  ServerContext context_;
};

std::string Mget(const std::vector<std::string>& keys) {
  std::string out = "*" + std::to_string(keys.size() + 1) + "\r\n$4\r\nMGET\r\n";
  for (const std::string& key : keys) {
    out += "$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
  }
  return out;
}

// The study's scan: 100 keys of 128-byte values in one request, some
// missing; memcached frames each key's reply apart.
TEST_F(TcTier, AHundredKeyGetAndMget) {
  std::vector<std::string> keys;
  std::string get = "get", gets = "gets";
  for (int i = 0; i < 100; ++i) {
    keys.push_back("scan:" + std::to_string(i));
    if (i % 7 != 3) {
      ASSERT_TRUE(store_->Set(keys.back(), EveryByteValue(128, i), static_cast<uint32_t>(i), 0).ok());
    }
    get += " " + keys.back();
    gets += " " + keys.back();
  }
  uint16_t id = 1;
  for (int family : {AF_INET, AF_INET6}) {
    SCOPED_TRACE(family == AF_INET ? "IPv4" : "IPv6");
    ExpectTcAnswersAsUserspace(Frame(id++) + get + "\r\n", false, family);
    ExpectTcAnswersAsUserspace(Frame(id++) + gets + "\r\n", false, family);
    ExpectTcAnswersAsUserspace(Frame(id++) + Mget(keys), true, family);
  }
}

// Values over one datagram, up to the TC tier's 64 KiB: cut into datagrams
// of at most 1400 bytes; odd lengths exercise the IPv6 checksum's tail.
TEST_F(TcTier, ValuesOverOneDatagram) {
  uint16_t id = 1;
  for (size_t len : {1389, 1392, 1393, 2047, 3000, 5001, 65000}) {
    SCOPED_TRACE(len);
    const std::string key = "big" + std::to_string(len);
    ASSERT_TRUE(store_->Set(key, EveryByteValue(len, static_cast<int>(len)), 7, 0).ok());
    for (int family : {AF_INET, AF_INET6}) {
      ExpectTcAnswersAsUserspace(Frame(id++) + "get " + key + "\r\n", false, family);
      if (2 * len < 64000) {  // twice must fit the TC tier's 64 KiB
        ExpectTcAnswersAsUserspace(Frame(id++) + "gets " + key + " nope " + key + "\r\n", false,
                                   family);
      }
      ExpectTcAnswersAsUserspace(
          Frame(id++) + "*2\r\n$3\r\nGET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n",
          true, family);
    }
  }
}

// Misses only: memcached sends every key's empty reply object as a bare
// frame header that counts 0 datagrams, and END on the last.
TEST_F(TcTier, MissesAreEmptyObjects) {
  ExpectTcAnswersAsUserspace(Frame(3) + "get x y z\r\n", false, AF_INET);
  ExpectTcAnswersAsUserspace(Frame(4) + "gets x y\r\n", false, AF_INET6);
}

// A reply the TC tier cannot carry (over 64 KiB) is passed to userspace,
// counted, and nothing is sent from the kernel.
TEST_F(TcTier, RepliesOverItsBufferArePassed) {
  std::string get = "get";
  for (int i = 0; i < 3; ++i) {
    const std::string key = "huge" + std::to_string(i);
    ASSERT_TRUE(store_->Set(key, std::string(30000, 'h'), 0, 0).ok());
    get += " " + key;
  }
  const uint64_t passed = Count(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_REPLY_TOO_BIG);
  const uint64_t replies = Count(XDPKV_PROTO_MEMCACHE, XDPKV_TC_REPLY);
  EXPECT_TRUE(AskKernel(Frame(5) + get + "\r\n", kMemcachePort, AF_INET).empty());
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_REPLY_TOO_BIG), passed + 1);
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_TC_REPLY), replies);
}

// What the kernel does not serve is userspace's, counted by reason, and
// the kernel sends nothing for it.
TEST_F(TcTier, AnythingUnusualIsUserspacesAndCounted) {
  ASSERT_TRUE(store_->Set("a", "v", 0, 0).ok());
  struct Case {
    std::string payload;
    xdpkv_reason reason;
  };
  const std::vector<Case> cases = {
      {Frame(1) + "get a  a\r\n", XDPKV_PASS_UNSUPPORTED},            // two spaces
      {Frame(2) + "get a a \r\n", XDPKV_PASS_UNSUPPORTED},            // trailing space
      {Frame(3) + "get a a\r\nget a\r\n", XDPKV_PASS_UNSUPPORTED},    // two commands
      {Frame(4) + "get a " + std::string(251, 'k') + "\r\n", XDPKV_PASS_BAD_REQUEST},
      {Frame(5) + "get a b\x01\r\n", XDPKV_PASS_BAD_REQUEST},
  };
  for (const Case& c : cases) {
    const uint64_t before = Count(XDPKV_PROTO_MEMCACHE, c.reason);
    EXPECT_TRUE(AskKernel(c.payload, kMemcachePort, AF_INET).empty()) << Printable(c.payload);
    EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, c.reason), before + 1) << Printable(c.payload);
  }
}

}  // namespace
}  // namespace xdpkv
