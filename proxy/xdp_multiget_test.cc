// Multi-key reads in XDP: a RESP `MGET` runs through the XDP program with
// BPF_PROG_TEST_RUN and through userspace's datagram handler
// (HandleRespDatagram) over the same store, and the kernel's reply must be
// userspace's, byte for byte; a reply that needs more than one datagram is
// passed, counted by reason. memcached's `get k1 ... kN` / `gets` always
// needs several (memcached frames each key's reply apart): XDP hands it
// over without reading it (here, without a TC tier, it is passed);
// proxy/xdp_tc_test.cc has the TC tier answer both. Needs BPF rights
// (root); without them each test is skipped and says why.
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

using testing::BuildPacket;
using testing::EveryByteValue;
using testing::ExpectedReply;
using testing::Frame;
using testing::PacketOptions;
using testing::RespCommand;
using testing::RunXdp;
using testing::kDrop;
using testing::kPass;
using testing::kTx;
using testing::Printable;
using testing::Resp;
using testing::V6;



class MultiGet : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = XdpLoader::Load(XdpConfig{});
    if (!loaded.ok()) {
      GTEST_SKIP() << "no BPF rights here, XDP not tested: " << loaded.status().message();
    }
    loader_ = std::move(*loaded);
    store_ = BpfStore::ForLoader(*loader_);
    context_.now_boot_ms = NowBootMs;
    context_.runtime = &runtime_;
    context_.stats = &stats_;
  }

  // What userspace sends for the request datagram `payload`.
  std::vector<std::string> Userspace(std::string_view payload, bool resp) {
    return resp ? HandleRespDatagram(payload, *store_, context_)
                : HandleMemcacheDatagram(payload, *store_, context_);
  }

  // The kernel answers `payload` with XDP_TX, and its one datagram is the
  // one userspace sends for it; the request is counted as a multi-get.
  void ExpectKernelAnswersAsUserspace(std::string_view payload, PacketOptions options = {}) {
    const bool resp = options.dest_port == 6379;
    const xdpkv_proto proto = resp ? XDPKV_PROTO_RESP : XDPKV_PROTO_MEMCACHE;
    const std::string request = BuildPacket(payload, options);
    const uint64_t before = Count(proto, XDPKV_MULTI_GET);
    auto result = RunXdp(loader_->program_fd(), request);
    ASSERT_EQ(result.error, 0) << std::strerror(result.error);
    ASSERT_EQ(result.verdict, kTx) << Printable(payload);
    EXPECT_EQ(Count(proto, XDPKV_MULTI_GET), before + 1);
    // Userspace second: a lazy expiry delete by either is the same delete.
    const std::vector<std::string> user = Userspace(payload, resp);
    ASSERT_EQ(user.size(), 1u) << Printable(payload);
    EXPECT_EQ(Printable(result.packet), Printable(ExpectedReply(request, user[0])))
        << Printable(payload);
  }

  // The kernel passes `payload` untouched, counted under `reason`.
  void ExpectPass(std::string_view payload, xdpkv_reason reason, PacketOptions options = {}) {
    const xdpkv_proto proto =
        options.dest_port == 6379 ? XDPKV_PROTO_RESP : XDPKV_PROTO_MEMCACHE;
    const std::string request = BuildPacket(payload, options);
    const uint64_t before = Count(proto, reason);
    auto result = RunXdp(loader_->program_fd(), request);
    ASSERT_EQ(result.error, 0) << std::strerror(result.error);
    EXPECT_EQ(result.verdict, kPass) << Printable(payload);
    EXPECT_EQ(result.packet, request) << Printable(payload);
    EXPECT_EQ(Count(proto, reason), before + 1) << Printable(payload);
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

std::string MemcacheGet(const char* verb, const std::vector<std::string>& keys) {
  std::string line = verb;
  for (const std::string& key : keys) line += " " + key;
  return line + "\r\n";
}

std::string Mget(const std::vector<std::string>& keys) {
  std::string out = "*" + std::to_string(keys.size() + 1) + "\r\n$4\r\nMGET\r\n";
  for (const std::string& key : keys) {
    out += "$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
  }
  return out;
}

TEST_F(MultiGet, HitsMissesInlineAndBlobValuesAsUserspace) {
  ASSERT_TRUE(store_->Set("a", "alpha", 1, 0).ok());
  ASSERT_TRUE(store_->Set("e", "", 0, 0).ok());
  ASSERT_TRUE(store_->Set("big", EveryByteValue(300, 7), 4294967295u, 0).ok());
  ASSERT_TRUE(store_->Set(std::string(250, 'k'), EveryByteValue(128, 3), 9, 0).ok());
  const std::vector<std::string> keys = {"a", "missing", "e", "big", "a", std::string(250, 'k')};
  uint16_t id = 1;
  for (PacketOptions options : {PacketOptions{}, V6()}) {
    ExpectKernelAnswersAsUserspace(Frame(id++) + Mget(keys), Resp(options));
    ExpectKernelAnswersAsUserspace(Frame(id++) + "*3\r\n$4\r\nmget\r\n$1\r\na\r\n$1\r\nz\r\n",
                                   Resp(options));
    // All misses; one key.
    ExpectKernelAnswersAsUserspace(Frame(id++) + Mget({"x", "y", "z"}), Resp(options));
    ExpectKernelAnswersAsUserspace(Frame(id++) + Mget({"a"}), Resp(options));
    // memcached's: handed over (passed here: no TC tier).
    ExpectPass(Frame(id++) + MemcacheGet("get", keys), XDPKV_PASS_REPLY_TOO_BIG, options);
    ExpectPass(Frame(id++) + MemcacheGet("gets", keys), XDPKV_PASS_REPLY_TOO_BIG, options);
  }
}

// The study's scan: 100 keys in one request. Misses and small values fit
// one datagram; XDP answers the MGET.
TEST_F(MultiGet, AHundredKeysInOneDatagram) {
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) {
    char key[17];
    std::snprintf(key, sizeof(key), "key%013d", i);  // 16 bytes, as the study's
    keys.push_back(key);
    if (i % 10 == 0) ASSERT_TRUE(store_->Set(key, EveryByteValue(40, i), i, 0).ok());
  }
  ExpectKernelAnswersAsUserspace(Frame(3) + Mget(keys), Resp());
}

TEST_F(MultiGet, ExpiredAndDeletedItemsAreMisses) {
  ASSERT_TRUE(store_->Set("live", "v", 0, 0).ok());
  ASSERT_TRUE(store_->Set("old", "stale", 0, NowBootMs() - 1).ok());
  ASSERT_TRUE(store_->Set("oldblob", EveryByteValue(500, 1), 0, NowBootMs() - 1).ok());
  ASSERT_TRUE(store_->Set("gone", "v", 0, 0).ok());
  ASSERT_TRUE(store_->Delete("gone").ok());
  ExpectKernelAnswersAsUserspace(Frame(1) + Mget({"live", "old", "oldblob", "gone"}), Resp());
  // The kernel removed the expired items (and the blob) as it read them.
  auto old = store_->Get("old");
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(old->has_value());
  ASSERT_TRUE(store_->Set("old", "stale", 0, NowBootMs() - 1).ok());
  ExpectKernelAnswersAsUserspace(Frame(2) + Mget({"old", "live", "gone"}), Resp());
}

// The whole reply must fit one datagram of 1400 bytes, frame header
// included: at 1400 XDP answers, one byte more and it is handed over.
TEST_F(MultiGet, TheReplyFitsOneDatagramOrIsPassed) {
  // The frame header (8), "*2\r\n" (4), "$600\r\n" + 600 + 2 (608),
  // then "$772\r\n" + 772 + 2 (780): 1400 bytes.
  ASSERT_TRUE(store_->Set("a", EveryByteValue(600, 1), 0, 0).ok());
  ASSERT_TRUE(store_->Set("b", EveryByteValue(772, 2), 0, 0).ok());
  ASSERT_TRUE(store_->Set("c", EveryByteValue(773, 3), 0, 0).ok());
  ExpectKernelAnswersAsUserspace(Frame(1) + Mget({"a", "b"}), Resp());
  ExpectPass(Frame(2) + Mget({"a", "c"}), XDPKV_PASS_REPLY_TOO_BIG, Resp());
  // RESP's nulls take room: "*N\r\n" + N * "$-1\r\n" after the frame.
  std::vector<std::string> nulls(280, "n");  // 8 + 6 + 1400
  ExpectPass(Frame(5) + Mget(nulls), XDPKV_PASS_REPLY_TOO_BIG, Resp());
  nulls.resize(270);  // 8 + 6 + 1350
  ExpectKernelAnswersAsUserspace(Frame(6) + Mget(nulls), Resp());
}

TEST_F(MultiGet, AnythingUnusualIsUserspacesAndCounted) {
  ASSERT_TRUE(store_->Set("a", "v", 0, 0).ok());
  ExpectPass(Frame(6) + "*1\r\n$4\r\nMGET\r\n", XDPKV_PASS_UNSUPPORTED, Resp());
  ExpectPass(Frame(7) + "*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$0\r\n\r\n", XDPKV_PASS_UNSUPPORTED,
             Resp());
  ExpectPass(Frame(8) + "*03\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n", XDPKV_PASS_UNSUPPORTED,
             Resp());
  ExpectPass(Frame(9) + Mget({"a", "b"}) + Mget({"a"}), XDPKV_PASS_UNSUPPORTED, Resp());
  ExpectPass(Frame(10) + "*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$5\r\nb\r\n", XDPKV_PASS_BAD_REQUEST,
             Resp());
  ExpectPass(Frame(11) + Mget({"a", std::string(251, 'k')}), XDPKV_PASS_UNSUPPORTED, Resp());
}

}  // namespace
}  // namespace xdpkv
