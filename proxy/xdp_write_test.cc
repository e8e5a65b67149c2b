// Writes of values up to a datagram in the kernel: memcached `set` and RESP
// `SET` whose value is over the inline bytes are stored by the XDP program
// as out-of-line blobs (blob first, then the item; the replaced version's
// blob freed; XDPKV_ITEM_DELETING honoured), with flags, CAS, TTL and the
// full-store errors as userspace. Each write's reply and what it stored
// are compared with what userspace's HandleMemcacheDatagram /
// HandleRespDatagram answer and store for the same datagram. Needs BPF
// rights (root); without them each test is skipped and says why.
#include <time.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bpf/bpf.h"
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



std::string McSet(const std::string& key, const std::string& value, uint32_t flags = 0,
                  int64_t exptime = 0, bool noreply = false) {
  return "set " + key + " " + std::to_string(flags) + " " + std::to_string(exptime) + " " +
         std::to_string(value.size()) + (noreply ? " noreply" : "") + "\r\n" + value + "\r\n";
}

class KernelWrites : public ::testing::Test {
 protected:
  void SetUp() override { Load(XdpConfig{}); }

  void Load(const XdpConfig& config) {
    auto loaded = XdpLoader::Load(config);
    if (!loaded.ok()) {
      GTEST_SKIP() << "no BPF rights here, XDP not tested: " << loaded.status().message();
    }
    loader_ = std::move(*loaded);
    store_ = BpfStore::ForLoader(*loader_);
    context_.now_boot_ms = NowBootMs;
    // As the server keeps it (and the loader told the program).
    timespec real{}, boot{};
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_BOOTTIME, &boot);
    context_.unix_minus_boot_ms = (int64_t{real.tv_sec} - boot.tv_sec) * 1000 +
                                  (int64_t{real.tv_nsec} - boot.tv_nsec) / 1'000'000;
    context_.runtime = &runtime_;
    context_.stats = &stats_;
  }

  // Runs `payload` through the program: its verdict and reply payload.
  uint32_t Kernel(std::string_view payload, PacketOptions options, std::string* reply) {
    const std::string request = BuildPacket(payload, options);
    auto result = RunXdp(loader_->program_fd(), request);
    EXPECT_EQ(result.error, 0) << std::strerror(result.error);
    if (result.verdict == kTx) {
      const size_t udp_at = 14 + (options.ipv6 ? 40 : 20);
      *reply = result.packet.substr(udp_at + 8);
      EXPECT_EQ(Printable(result.packet), Printable(ExpectedReply(request, *reply)));
    }
    return result.verdict;
  }

  std::vector<std::string> Userspace(std::string_view payload, PacketOptions options) {
    return options.dest_port == 6379 ? HandleRespDatagram(payload, *store_, context_)
                                     : HandleMemcacheDatagram(payload, *store_, context_);
  }

  // The kernel answers the write `payload` of `key` itself (XDP_TX, counted
  // as `reason`), and both its reply and what it stored are what userspace
  // answers and stores for the same datagram.
  void ExpectKernelWritesAsUserspace(const std::string& key, std::string_view payload,
                                     PacketOptions options = {},
                                     xdpkv_reason reason = XDPKV_SET) {
    const xdpkv_proto proto =
        options.dest_port == 6379 ? XDPKV_PROTO_RESP : XDPKV_PROTO_MEMCACHE;
    const uint64_t before = Count(proto, reason);
    std::string kernel_reply;
    ASSERT_EQ(Kernel(payload, options, &kernel_reply), kTx) << Printable(payload);
    EXPECT_EQ(Count(proto, reason), before + 1);
    auto kernel_item = store_->Get(key);
    ASSERT_TRUE(kernel_item.ok()) << kernel_item.status();
    const size_t kernel_blobs = CountBlobs();

    const std::vector<std::string> user = Userspace(payload, options);
    ASSERT_EQ(user.size(), 1u);
    EXPECT_EQ(Printable(kernel_reply), Printable(user[0])) << Printable(payload);
    auto user_item = store_->Get(key);
    ASSERT_TRUE(user_item.ok()) << user_item.status();
    ASSERT_EQ(kernel_item->has_value(), user_item->has_value());
    if (kernel_item->has_value()) {
      EXPECT_EQ((*kernel_item)->value, (*user_item)->value);
      EXPECT_EQ((*kernel_item)->flags, (*user_item)->flags);
      EXPECT_NE((*kernel_item)->cas, (*user_item)->cas);
      // Expiry from the same exptime, a moment apart (an absolute one
      // through two readings of the clock offset, a millisecond apart).
      EXPECT_EQ((*kernel_item)->expires_at_ms == 0, (*user_item)->expires_at_ms == 0);
      const int64_t apart = static_cast<int64_t>((*user_item)->expires_at_ms) -
                            static_cast<int64_t>((*kernel_item)->expires_at_ms);
      EXPECT_LE(std::abs(apart), 1000) << apart;
    }
    // Userspace replaced the kernel's version and freed its blob.
    EXPECT_EQ(CountBlobs(), kernel_blobs);
  }

  size_t CountBlobs() {
    size_t count = 0;
    for (int fd : loader_->blob_map_fds()) {
      uint64_t key = 0, next = 0;
      const void* cursor = nullptr;
      while (bpf_map_get_next_key(fd, cursor, &next) == 0) {
        ++count;
        key = next;
        cursor = &key;
      }
    }
    return count;
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

TEST_F(KernelWrites, ValuesOfEveryBlobClassAKernelWriteCanHold) {
  uint16_t id = 1;
  for (size_t len : {129, 256, 257, 512, 513, 1000, 1024, 1025, 1366, 2048}) {
    SCOPED_TRACE(len);
    const std::string key = "w" + std::to_string(len);
    const std::string value = EveryByteValue(len, static_cast<int>(len));
    ExpectKernelWritesAsUserspace(key, Frame(id++) + McSet(key, value, 4294967295u));
    ExpectKernelWritesAsUserspace(key, Frame(id++) + McSet(key, value, 7), V6());
    ExpectKernelWritesAsUserspace(key, Frame(id++) + RespCommand({"SET", key, value}), Resp());
    EXPECT_EQ(CountBlobs(), 1u);
    // The kernel's own write read back by the kernel (one datagram or not).
    std::string reply;
    ASSERT_EQ(Kernel(Frame(id++) + McSet(key, value, 9), {}, &reply), kTx);
    const std::string get = Frame(id++) + "get " + key + "\r\n";
    const std::vector<std::string> user = Userspace(get, {});
    const uint32_t verdict = Kernel(get, {}, &reply);
    if (user.size() == 1) {
      ASSERT_EQ(verdict, kTx);
      EXPECT_EQ(Printable(reply), Printable(user[0]));
    } else {
      EXPECT_EQ(verdict, kPass);
    }
    ASSERT_TRUE(store_->Delete(key).ok());
    EXPECT_EQ(CountBlobs(), 0u);
  }
}

TEST_F(KernelWrites, EachOverwriteAndDeleteFreesTheReplacedBlob) {
  std::string reply;
  ASSERT_TRUE(store_->Set("k", EveryByteValue(700, 1), 0, 0).ok());  // userspace's blob
  ASSERT_EQ(Kernel(Frame(1) + McSet("k", EveryByteValue(300, 2)), {}, &reply), kTx);
  EXPECT_EQ(reply, Frame(1) + "STORED\r\n");
  EXPECT_EQ(CountBlobs(), 1u);
  ASSERT_EQ(Kernel(Frame(2) + McSet("k", EveryByteValue(1200, 3)), {}, &reply), kTx);
  EXPECT_EQ(CountBlobs(), 1u);
  auto item = store_->Get("k");
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_EQ((*item)->value, EveryByteValue(1200, 3));
  // Inline over a blob: the blob goes.
  ASSERT_EQ(Kernel(Frame(3) + McSet("k", "small"), {}, &reply), kTx);
  EXPECT_EQ(CountBlobs(), 0u);
  ASSERT_EQ(Kernel(Frame(4) + RespCommand({"SET", "k", EveryByteValue(900, 4)}), Resp(), &reply), kTx);
  EXPECT_EQ(reply, Frame(4) + "+OK\r\n");
  EXPECT_EQ(CountBlobs(), 1u);
  ASSERT_EQ(Kernel(Frame(5) + "delete k\r\n", {}, &reply), kTx);
  EXPECT_EQ(reply, Frame(5) + "DELETED\r\n");
  EXPECT_EQ(CountBlobs(), 0u);
  // A negative exptime stores nothing readable and frees the old blob.
  ASSERT_EQ(Kernel(Frame(6) + McSet("k", EveryByteValue(900, 5)), {}, &reply), kTx);
  ExpectKernelWritesAsUserspace("k", Frame(7) + McSet("k", EveryByteValue(900, 6), 0, -1));
  EXPECT_EQ(CountBlobs(), 0u);
}

TEST_F(KernelWrites, FlagsCasAndTtlAsUserspace) {
  ExpectKernelWritesAsUserspace("t", Frame(1) + McSet("t", EveryByteValue(500, 1), 12345, 100));
  auto item = store_->Get("t");
  ASSERT_TRUE(item.ok() && item->has_value());
  const uint64_t now = NowBootMs();
  EXPECT_GE((*item)->expires_at_ms, now + 99'000);
  EXPECT_LE((*item)->expires_at_ms, now + 100'000);
  // Absolute exptime (seconds since the epoch), a day from now.
  const int64_t tomorrow = time(nullptr) + 86'400 + 31LL * 86'400;
  ExpectKernelWritesAsUserspace("t", Frame(2) + McSet("t", EveryByteValue(500, 2), 1, tomorrow));
  // Every kernel write gets a new CAS, shown by gets.
  std::string reply;
  ASSERT_EQ(Kernel(Frame(3) + McSet("t", EveryByteValue(300, 3), 5), {}, &reply), kTx);
  auto first = store_->Get("t");
  ASSERT_EQ(Kernel(Frame(4) + McSet("t", EveryByteValue(300, 3), 5), {}, &reply), kTx);
  auto second = store_->Get("t");
  ASSERT_TRUE(first.ok() && first->has_value() && second.ok() && second->has_value());
  EXPECT_NE((*first)->cas, (*second)->cas);
  const std::string gets = Frame(5) + "gets t\r\n";
  ASSERT_EQ(Kernel(gets, {}, &reply), kTx);
  EXPECT_EQ(Printable(reply), Printable(Userspace(gets, {})[0]));
  EXPECT_NE(reply.find(" " + std::to_string((*second)->cas) + "\r\n"), std::string::npos);
  // An expired blob value is never returned.
  ASSERT_TRUE(store_->Set("x", EveryByteValue(400, 1), 0, NowBootMs() - 1).ok());
  ASSERT_EQ(Kernel(Frame(6) + "get x\r\n", {}, &reply), kTx);
  EXPECT_EQ(reply, Frame(6) + "END\r\n");
}

TEST_F(KernelWrites, NoreplyStoresAndSendsNothing) {
  std::string reply;
  EXPECT_EQ(Kernel(Frame(1) + McSet("q", EveryByteValue(600, 1), 3, 0, true), {}, &reply), kDrop);
  auto item = store_->Get("q");
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_EQ((*item)->value, EveryByteValue(600, 1));
  EXPECT_EQ((*item)->flags, 3u);
  EXPECT_EQ(CountBlobs(), 1u);
}

// A write that meets an item being deleted is userspace's (which waits for
// the deleter); the blob it wrote first is deleted again.
TEST_F(KernelWrites, AnItemBeingDeletedIsNotWrittenAndLeavesNoBlob) {
  ASSERT_TRUE(store_->Set("d", "v", 0, 0).ok());
  xdpkv_key16 key{};
  key.len = 1;
  key.bytes[0] = 'd';
  xdpkv_item item{};
  ASSERT_EQ(bpf_map_lookup_elem_flags(loader_->item_map_fds()[0], &key, &item, BPF_F_LOCK), 0);
  item.state |= XDPKV_ITEM_DELETING;
  ASSERT_EQ(bpf_map_update_elem(loader_->item_map_fds()[0], &key, &item, BPF_EXIST | BPF_F_LOCK),
            0);
  std::string reply;
  const uint64_t before = Count(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_DELETING);
  EXPECT_EQ(Kernel(Frame(1) + McSet("d", EveryByteValue(300, 1)), {}, &reply), kPass);
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_DELETING), before + 1);
  EXPECT_EQ(CountBlobs(), 0u);
}

TEST_F(KernelWrites, AFullBlobClassAnswersThePeersErrors) {
  XdpConfig config;
  config.max_items_per_class = 2;  // items per key class and blobs per value class
  Load(config);
  std::string reply;
  ASSERT_EQ(Kernel(Frame(1) + McSet("a", EveryByteValue(300, 1)), {}, &reply), kTx);
  ASSERT_EQ(Kernel(Frame(2) + McSet("b", EveryByteValue(300, 2)), {}, &reply), kTx);
  EXPECT_EQ(CountBlobs(), 2u);
  // A third 512-class blob does not fit: the peers' errors, and for
  // memcached the key's old value is unlinked, as userspace and memcached do.
  const std::string set_a = Frame(3) + McSet("a", EveryByteValue(400, 3));
  ASSERT_EQ(Kernel(set_a, {}, &reply), kTx);
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_STORE_FULL), 1u);
  auto gone = store_->Get("a");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  EXPECT_EQ(CountBlobs(), 1u);
  // Userspace, from the same state, says and does the same.
  ASSERT_TRUE(store_->Set("a", EveryByteValue(300, 1), 0, 0).ok());
  EXPECT_EQ(Printable(Userspace(set_a, {})[0]), Printable(reply));
  EXPECT_EQ(reply, Frame(3) + "SERVER_ERROR out of memory storing object\r\n");
  gone = store_->Get("a");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  EXPECT_EQ(CountBlobs(), 1u);
  // RESP keeps the old value, as Redis does.
  ASSERT_EQ(Kernel(Frame(4) + McSet("c", EveryByteValue(300, 4)), {}, &reply), kTx);
  EXPECT_EQ(CountBlobs(), 2u);
  const std::string set_b = Frame(5) + RespCommand({"SET", "b", EveryByteValue(400, 5)});
  ASSERT_EQ(Kernel(set_b, Resp(), &reply), kTx);
  EXPECT_EQ(reply, Frame(5) + "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
  EXPECT_EQ(Printable(Userspace(set_b, Resp())[0]), Printable(reply));
  auto kept = store_->Get("b");
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_EQ((*kept)->value, EveryByteValue(300, 2));
  // Nothing half-written was left behind.
  EXPECT_EQ(CountBlobs(), 2u);
}

TEST_F(KernelWrites, ValuesOverTheKernelsLimitAreUserspaces) {
  std::string reply;
  const uint64_t before = Count(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_BIG_VALUE);
  EXPECT_EQ(Kernel(Frame(1) + McSet("big", EveryByteValue(2049, 1)), {}, &reply), kPass);
  EXPECT_EQ(Kernel(Frame(2) + RespCommand({"SET", "big", EveryByteValue(2049, 1)}), Resp(), &reply),
            kPass);
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_BIG_VALUE), before + 1);
  EXPECT_EQ(Count(XDPKV_PROTO_RESP, XDPKV_PASS_BIG_VALUE), 1u);
  // A data chunk shorter or longer than declared is userspace's error.
  EXPECT_EQ(Kernel(Frame(3) + "set big 0 0 300\r\n" + EveryByteValue(299, 1) + "\r\n", {}, &reply),
            kPass);
  EXPECT_EQ(CountBlobs(), 0u);
}

TEST_F(KernelWrites, ValuesOverDashIAreUserspacesToRefuse) {
  // memcached -I 1024: userspace refuses 1025 bytes in memcached's words,
  // so the kernel must not store them (set, ms and RESP SET alike).
  XdpConfig config;
  config.max_value_len = 1024;
  Load(config);
  std::string reply;
  EXPECT_EQ(Kernel(Frame(1) + McSet("big", EveryByteValue(1025, 1)), {}, &reply), kPass);
  EXPECT_EQ(Kernel(Frame(2) + "ms big 1025\r\n" + EveryByteValue(1025, 1) + "\r\n", {}, &reply),
            kPass);
  EXPECT_EQ(Kernel(Frame(3) + RespCommand({"SET", "big", EveryByteValue(1025, 1)}), Resp(), &reply),
            kPass);
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_BIG_VALUE), 2u);
  EXPECT_EQ(Count(XDPKV_PROTO_RESP, XDPKV_PASS_BIG_VALUE), 1u);
  EXPECT_EQ(Kernel(Frame(4) + McSet("fits", EveryByteValue(1024, 1)), {}, &reply), kTx);
  EXPECT_EQ(reply.substr(8), "STORED\r\n");  // after the frame header
}

}  // namespace
}  // namespace xdpkv
