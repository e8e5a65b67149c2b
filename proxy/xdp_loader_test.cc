// Runs the real XDP program: through BPF_PROG_TEST_RUN on crafted packets,
// and attached to lo in generic mode with a real UDP socket. Needs root (BPF
// rights); without them each test is skipped and says why.
#include "proxy/xdp_loader.h"

#include <arpa/inet.h>
#include <linux/types.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "linux/bpf.h"
#include "proxy/bpf_store.h"
#include "proxy/store_layout.h"
#include "proxy/testing/packets.h"

namespace xdpkv {
namespace {

std::unique_ptr<XdpLoader> LoadOrSkipReason(std::string* why) {
  auto loader = XdpLoader::Load(XdpConfig{});
  if (!loader.ok()) {
    *why = std::string(loader.status().message());
    return nullptr;
  }
  return std::move(*loader);
}

#define LOAD_OR_SKIP(loader)                                                       \
  std::string skip_reason;                                                         \
  auto loader = LoadOrSkipReason(&skip_reason);                                    \
  if (!loader) GTEST_SKIP() << "no BPF rights here, XDP not tested: " << skip_reason

uint32_t RunOnce(int prog_fd, const std::string& packet) {
  const testing::RunResult result = testing::RunXdp(prog_fd, packet);
  EXPECT_EQ(result.error, 0) << std::strerror(result.error);
  return result.verdict;
}

std::string UdpPacket(uint16_t dest_port, std::string_view payload, uint8_t protocol = 17) {
  testing::PacketOptions options;
  options.dest_port = dest_port;
  options.ip_protocol = protocol;
  return testing::BuildPacket(payload, options);
}

TEST(XdpProgram, CountsWhatItPasses) {
  LOAD_OR_SKIP(loader);
  const int fd = loader->program_fd();
  EXPECT_EQ(RunOnce(fd, UdpPacket(11211, "get k\r\n")), XDP_PASS);
  EXPECT_EQ(RunOnce(fd, UdpPacket(6379, "x")), XDP_PASS);
  EXPECT_EQ(RunOnce(fd, UdpPacket(53, "dns")), XDP_PASS);
  EXPECT_EQ(RunOnce(fd, UdpPacket(11211, "tcp?", /*protocol=*/6)), XDP_PASS);
  // Ethernet says IPv4 but the IP header is cut short.
  EXPECT_EQ(RunOnce(fd, UdpPacket(11211, "").substr(0, 14 + 10)), XDP_PASS);

  auto counters = loader->ReadCounters();
  ASSERT_TRUE(counters.ok()) << counters.status();
  EXPECT_EQ(counters->Get(XDPKV_PROTO_NONE, XDPKV_NOT_OURS), 3u);
  EXPECT_EQ(counters->Get(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_BAD_REQUEST), 1u);
  EXPECT_EQ(counters->Get(XDPKV_PROTO_RESP, XDPKV_PASS_BAD_REQUEST), 1u);
}

TEST(XdpProgram, AttachesToLoopbackInGenericMode) {
  LOAD_OR_SKIP(loader);
  ASSERT_TRUE(loader->Attach("lo", XdpMode::kGeneric).ok());

  // A UDP datagram to our port over lo goes through the attached program.
  const int sock = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(11211);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::string request = "get k\r\n";
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(sendto(sock, request.data(), request.size(), 0,
                     reinterpret_cast<sockaddr*>(&to), sizeof(to)),
              static_cast<ssize_t>(request.size()));
  }
  close(sock);
  auto counters = loader->ReadCounters();
  ASSERT_TRUE(counters.ok()) << counters.status();
  // No frame header: passed on as a bad request, which counts the packet.
  EXPECT_GE(counters->Get(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_BAD_REQUEST), 3u);
}

TEST(XdpProgram, AttachToMissingInterfaceIsAClearError) {
  LOAD_OR_SKIP(loader);
  absl::Status status = loader->Attach("xdpkv-nosuch0", XdpMode::kGeneric);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("xdpkv-nosuch0"), std::string::npos);
}

}  // namespace
}  // namespace xdpkv

namespace xdpkv {
namespace {

// A bpffs directory only this test process uses, removed afterwards.
class PinDir {
 public:
  PinDir() : path_("/sys/fs/bpf/xdpkv-test-" + std::to_string(getpid())) {}
  ~PinDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(XdpLoaderPinning, ARestartServesThePinnedStoreAndFreshDropsIt) {
  PinDir dir;
  XdpConfig config;
  config.pin_dir = dir.path();
  uint64_t first_cas = 0;
  {
    auto loader = XdpLoader::Load(config);
    if (!loader.ok()) GTEST_SKIP() << "no BPF rights here, XDP not tested: " << loader.status().message();
    auto store_owner = BpfStore::ForLoader(**loader);
    BpfStore& store = *store_owner;
    auto cas = store.Set("survivor", "still here", 7, 0);
    ASSERT_TRUE(cas.ok()) << cas.status();
    first_cas = *cas;
  }
  {
    auto loader = XdpLoader::Load(config);
    ASSERT_TRUE(loader.ok()) << loader.status();
    auto store_owner = BpfStore::ForLoader(**loader);
    BpfStore& store = *store_owner;
    auto item = store.Get("survivor");
    ASSERT_TRUE(item.ok() && item->has_value());
    EXPECT_EQ((*item)->value, "still here");
    EXPECT_EQ((*item)->flags, 7u);
    EXPECT_EQ((*item)->cas, first_cas);
    // CAS uniques keep growing across the restart.
    auto cas = store.Set("survivor", "again", 7, 0);
    ASSERT_TRUE(cas.ok());
    EXPECT_GT(*cas, first_cas);
  }
  config.fresh = true;
  auto loader = XdpLoader::Load(config);
  ASSERT_TRUE(loader.ok()) << loader.status();
  auto store_owner = BpfStore::ForLoader(**loader);
  BpfStore& store = *store_owner;
  auto item = store.Get("survivor");
  ASSERT_TRUE(item.ok());
  EXPECT_FALSE(item->has_value());
}

}  // namespace
}  // namespace xdpkv
