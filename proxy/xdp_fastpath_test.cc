// Byte-exact tests of the XDP fast path through BPF_PROG_TEST_RUN: every
// command's hit/miss/expired/noreply case over IPv4 and IPv6, each pass
// reason, and the store shared with userspace. Needs BPF rights (root);
// without them each test is skipped and says why.
#include <atomic>
#include <cstring>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bpf/bpf.h"
#include "gtest/gtest.h"
#include "proxy/bpf_store.h"
#include "proxy/testing/packets.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {
namespace {

using testing::BuildPacket;
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


class FastPath : public ::testing::Test {
 protected:
  void SetUp() override { Load(XdpConfig{}); }

  void Load(const XdpConfig& config) {
    auto loaded = XdpLoader::Load(config);
    if (!loaded.ok()) {
      GTEST_SKIP() << "no BPF rights here, XDP not tested: " << loaded.status().message();
    }
    loader_ = std::move(*loaded);
    store_ = BpfStore::ForLoader(*loader_);
  }

  // Sends `payload` to `port` and expects `reply` back, byte for byte.
  void ExpectReply(std::string_view payload, std::string_view reply, PacketOptions options = {}) {
    const std::string request = BuildPacket(payload, options);
    auto result = RunXdp(loader_->program_fd(), request);
    ASSERT_EQ(result.error, 0) << std::strerror(result.error);
    ASSERT_EQ(result.verdict, kTx) << Printable(payload);
    EXPECT_EQ(Printable(result.packet), Printable(ExpectedReply(request, reply)))
        << Printable(payload);
  }

  // Expects the program to pass the packet on untouched.
  void ExpectPass(std::string_view payload, PacketOptions options = {}) {
    const std::string request = BuildPacket(payload, options);
    auto result = RunXdp(loader_->program_fd(), request);
    ASSERT_EQ(result.error, 0) << std::strerror(result.error);
    EXPECT_EQ(result.verdict, kPass) << Printable(payload);
    EXPECT_EQ(result.packet, request) << Printable(payload);
  }

  uint32_t Verdict(std::string_view payload, PacketOptions options = {}) {
    return RunXdp(loader_->program_fd(), BuildPacket(payload, options)).verdict;
  }

  uint64_t Count(xdpkv_proto proto, xdpkv_reason reason) {
    auto counters = loader_->ReadCounters();
    EXPECT_TRUE(counters.ok()) << counters.status();
    return counters.ok() ? counters->Get(proto, reason) : 0;
  }

  std::unique_ptr<XdpLoader> loader_;
  std::unique_ptr<BpfStore> store_;
};

// --- memcached ---------------------------------------------------------------

TEST_F(FastPath, MemcacheSetThenGet) {
  ExpectReply(Frame(7) + "set greeting 42 0 5\r\nhello\r\n", Frame(7) + "STORED\r\n");
  ExpectReply(Frame(8) + "get greeting\r\n",
              Frame(8) + "VALUE greeting 42 5\r\nhello\r\nEND\r\n");
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_SET), 1u);
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_GET_HIT), 1u);
}

TEST_F(FastPath, MemcacheGetMiss) {
  ExpectReply(Frame(1) + "get nothing\r\n", Frame(1) + "END\r\n");
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_GET_MISS), 1u);
}

TEST_F(FastPath, MemcacheGetsShowsCasThatChangesOnEveryWrite) {
  ExpectReply(Frame(1) + "set k 0 0 1\r\na\r\n", Frame(1) + "STORED\r\n");
  auto first = store_->Get("k");
  ASSERT_TRUE(first.ok() && first->has_value());
  ExpectReply(Frame(2) + "gets k\r\n",
              Frame(2) + "VALUE k 0 1 " + std::to_string((*first)->cas) + "\r\na\r\nEND\r\n");
  ExpectReply(Frame(3) + "set k 0 0 1\r\nb\r\n", Frame(3) + "STORED\r\n");
  auto second = store_->Get("k");
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_NE((*second)->cas, (*first)->cas);
  auto user_cas = store_->Set("k", "c", 0, 0);
  ASSERT_TRUE(user_cas.ok());
  EXPECT_NE(*user_cas, (*second)->cas);
  ExpectReply(Frame(4) + "gets k\r\n",
              Frame(4) + "VALUE k 0 1 " + std::to_string(*user_cas) + "\r\nc\r\nEND\r\n");
}

// memcached's -C: every CAS unique reads 0, which userspace shows; the
// kernel shows the store's, so it passes gets on.
TEST_F(FastPath, WithoutCasUniquesGetsIsPassedOn) {
  XdpConfig config;
  config.cas_enabled = false;
  Load(config);
  ExpectReply(Frame(1) + "set k 0 0 1\r\na\r\n", Frame(1) + "STORED\r\n");
  ExpectReply(Frame(2) + "get k\r\n", Frame(2) + "VALUE k 0 1\r\na\r\nEND\r\n");
  const uint64_t before = Count(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_UNSUPPORTED);
  ExpectPass(Frame(3) + "gets k\r\n");
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_UNSUPPORTED), before + 1);
}

TEST_F(FastPath, MemcacheDelete) {
  ExpectReply(Frame(1) + "set k 0 0 1\r\na\r\n", Frame(1) + "STORED\r\n");
  ExpectReply(Frame(2) + "delete k\r\n", Frame(2) + "DELETED\r\n");
  ExpectReply(Frame(3) + "delete k\r\n", Frame(3) + "NOT_FOUND\r\n");
  ExpectReply(Frame(4) + "get k\r\n", Frame(4) + "END\r\n");
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_DELETE_HIT), 1u);
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_DELETE_MISS), 1u);
}

TEST_F(FastPath, MemcacheNoreplyStoresAndSendsNothing) {
  EXPECT_EQ(Verdict(Frame(1) + "set k 3 0 2 noreply\r\nhi\r\n"), kDrop);
  auto item = store_->Get("k");
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_EQ((*item)->value, "hi");
  EXPECT_EQ((*item)->flags, 3u);
  EXPECT_EQ(Verdict(Frame(2) + "delete k noreply\r\n"), kDrop);
  item = store_->Get("k");
  ASSERT_TRUE(item.ok());
  EXPECT_FALSE(item->has_value());
}

TEST_F(FastPath, EmptyAndLargestInlineValues) {
  ExpectReply(Frame(1) + "set e 0 0 0\r\n\r\n", Frame(1) + "STORED\r\n");
  ExpectReply(Frame(2) + "get e\r\n", Frame(2) + "VALUE e 0 0\r\n\r\nEND\r\n");
  const std::string big(XDPKV_INLINE_VALUE_MAX, 'v');
  ExpectReply(Frame(3) + "set b 4294967295 0 128\r\n" + big + "\r\n", Frame(3) + "STORED\r\n");
  ExpectReply(Frame(4) + "get b\r\n",
              Frame(4) + "VALUE b 4294967295 128\r\n" + big + "\r\nEND\r\n");
}

TEST_F(FastPath, EveryKeyClassRoundTrips) {
  for (size_t len : {1, 16, 17, 32, 33, 64, 65, 128, 129, 250}) {
    const std::string key(len, static_cast<char>('a' + len % 26));
    const std::string value = "v" + std::to_string(len);
    const std::string frame = Frame(static_cast<uint16_t>(len));
    ExpectReply(frame + "set " + key + " 0 0 " + std::to_string(value.size()) + "\r\n" + value +
                    "\r\n",
                frame + "STORED\r\n");
    ExpectReply(frame + "get " + key + "\r\n",
                frame + "VALUE " + key + " 0 " + std::to_string(value.size()) + "\r\n" + value +
                    "\r\nEND\r\n");
    auto item = store_->Get(key);
    ASSERT_TRUE(item.ok() && item->has_value()) << len;
    EXPECT_EQ((*item)->value, value);
  }
  // Keys that differ only in length are different items.
  auto a = store_->Get(std::string(15, 'q'));  // 'q' x 16 exists
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->has_value());
}

// Keys are scanned a word at a time, then byte by byte in the word where
// they end (bpf/lib/parse_memcache.h): every length around a word's edges
// and the longest, with a byte that makes the key invalid (a control
// character, DEL) or that is fine (printable, high bytes) at every place a
// word can hold it.
TEST_F(FastPath, KeysAreCheckedByteByByteAtEveryLengthAndPlace) {
  std::vector<size_t> lengths;
  for (size_t len = 1; len <= 26; ++len) lengths.push_back(len);
  for (size_t len : {31, 32, 33, 240, 247, 248, 249, 250}) lengths.push_back(len);
  uint16_t id = 1;
  for (size_t len : lengths) {
    std::vector<size_t> places;
    for (size_t p = 0; p < len; ++p) {
      if (p < 10 || p + 10 > len || p % 8 == 0 || p % 8 == 7) places.push_back(p);
    }
    for (size_t p : places) {
      for (unsigned char bad : {0x00, 0x01, 0x09, 0x0b, 0x1f, 0x7f}) {
        std::string key(len, 'k');
        key[p] = static_cast<char>(bad);
        SCOPED_TRACE(testing::Printable(key));
        ExpectPass(Frame(id++) + "get " + key + "\r\n");
      }
      for (unsigned char fine : {0x21, 0x7e, 0x80, 0xa0, 0xff}) {
        std::string key(len, 'k');
        key[p] = static_cast<char>(fine);
        SCOPED_TRACE(testing::Printable(key));
        ExpectReply(Frame(id) + "get " + key + "\r\n", Frame(id) + "END\r\n");
        ++id;
      }
    }
    // The whole key, set and read back by the kernel.
    std::string key(len, 'k');
    key[len - 1] = static_cast<char>(0xff);
    ExpectReply(Frame(id) + "set " + key + " 0 0 1\r\nv\r\n", Frame(id) + "STORED\r\n");
    ExpectReply(Frame(id) + "get " + key + "\r\n",
                Frame(id) + "VALUE " + key + " 0 1\r\nv\r\nEND\r\n");
    ++id;
  }
  // Longer than memcached's 250 bytes, whatever comes after.
  for (size_t len : {251, 255, 256, 257, 264, 300}) {
    ExpectPass(Frame(id++) + "get " + std::string(len, 'k') + "\r\n");
  }
  // A key that runs to the end of the datagram is not a request.
  for (size_t len : {1, 7, 8, 9, 16}) ExpectPass(Frame(id++) + "get " + std::string(len, 'k'));
}

// --- expiry ---------------------------------------------------------------------

TEST_F(FastPath, NegativeExptimeStoresNothingReadable) {
  ExpectReply(Frame(1) + "set k 0 0 1\r\na\r\n", Frame(1) + "STORED\r\n");
  ExpectReply(Frame(2) + "set k 0 -1 1\r\nb\r\n", Frame(2) + "STORED\r\n");
  ExpectReply(Frame(3) + "get k\r\n", Frame(3) + "END\r\n");
}

TEST_F(FastPath, ExpiredItemIsNeverReturnedAndIsRemoved) {
  ASSERT_TRUE(store_->Set("old", "stale", 0, NowBootMs() - 1).ok());
  ExpectReply(Frame(1) + "get old\r\n", Frame(1) + "END\r\n");
  ExpectReply(Frame(2) + "delete old\r\n", Frame(2) + "NOT_FOUND\r\n");
  ASSERT_TRUE(store_->Set("old", "stale", 0, NowBootMs() - 1).ok());
  ExpectReply(Frame(3) + "*2\r\n$3\r\nGET\r\n$3\r\nold\r\n", Frame(3) + "$-1\r\n", Resp());
  auto item = store_->Get("old");
  ASSERT_TRUE(item.ok());
  EXPECT_FALSE(item->has_value());
}

// An item set for N seconds lives at least N seconds: expiry is kept in
// milliseconds from the moment of the write (whole boot seconds made "EX 1"
// vanish after 0.2-0.9 s).
TEST_F(FastPath, ExptimeIsNeverShortOfTheSecondsGiven) {
  for (int i = 0; i < 20; ++i) {
    const uint64_t before = NowBootMs();
    ExpectReply(Frame(1) + "set short 0 1 1\r\na\r\n", Frame(1) + "STORED\r\n");
    auto item = store_->Get("short");
    ASSERT_TRUE(item.ok() && item->has_value());
    EXPECT_GE((*item)->expires_at_ms, before + 1000);
    EXPECT_LE((*item)->expires_at_ms, NowBootMs() + 1000);
  }
}

TEST_F(FastPath, RelativeAndAbsoluteExptimes) {
  ExpectReply(Frame(1) + "set r 0 100 1\r\na\r\n", Frame(1) + "STORED\r\n");
  auto item = store_->Get("r");
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_NEAR((*item)->expires_at_ms, NowBootMs() + 100'000, 2000);

  const long absolute = static_cast<long>(time(nullptr)) + 1000;  // > 30 days: unix time
  ExpectReply(Frame(2) + "set a 0 " + std::to_string(absolute) + " 1\r\na\r\n",
              Frame(2) + "STORED\r\n");
  item = store_->Get("a");
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_NEAR((*item)->expires_at_ms, NowBootMs() + 1'000'000, 2000);

  ExpectReply(Frame(3) + "set p 0 " + std::to_string(absolute - 2000) + " 1\r\na\r\n",
              Frame(3) + "STORED\r\n");  // absolute time in the past
  ExpectReply(Frame(4) + "get p\r\n", Frame(4) + "END\r\n");
}

// --- RESP ------------------------------------------------------------------------------

TEST_F(FastPath, RespSetGetDel) {
  ExpectReply(Frame(1) + RespCommand({"SET", "k", "hello"}), Frame(1) + "+OK\r\n", Resp());
  ExpectReply(Frame(2) + RespCommand({"GET", "k"}), Frame(2) + "$5\r\nhello\r\n", Resp());
  ExpectReply(Frame(3) + RespCommand({"get", "k"}), Frame(3) + "$5\r\nhello\r\n", Resp());
  ExpectReply(Frame(4) + RespCommand({"DEL", "k"}), Frame(4) + ":1\r\n", Resp());
  ExpectReply(Frame(5) + RespCommand({"del", "k"}), Frame(5) + ":0\r\n", Resp());
  ExpectReply(Frame(6) + RespCommand({"GET", "k"}), Frame(6) + "$-1\r\n", Resp());
  EXPECT_EQ(Count(XDPKV_PROTO_RESP, XDPKV_SET), 1u);
  EXPECT_EQ(Count(XDPKV_PROTO_RESP, XDPKV_GET_HIT), 2u);
  EXPECT_EQ(Count(XDPKV_PROTO_RESP, XDPKV_GET_MISS), 1u);
  EXPECT_EQ(Count(XDPKV_PROTO_RESP, XDPKV_DELETE_HIT), 1u);
  EXPECT_EQ(Count(XDPKV_PROTO_RESP, XDPKV_DELETE_MISS), 1u);
}

TEST_F(FastPath, RespKeysAndValuesAreBinarySafe) {
  const std::string key("a b\r\n\x01", 6);
  const std::string value("\0\r\n$-1\r\n", 8);
  ExpectReply(Frame(1) + RespCommand({"SET", key, value}), Frame(1) + "+OK\r\n", Resp());
  ExpectReply(Frame(2) + RespCommand({"GET", key}), Frame(2) + "$8\r\n" + value + "\r\n", Resp());
}

TEST_F(FastPath, OneKeyspaceAcrossProtocols) {
  ExpectReply(Frame(1) + "set shared 9 0 3\r\nabc\r\n", Frame(1) + "STORED\r\n");
  ExpectReply(Frame(2) + RespCommand({"GET", "shared"}), Frame(2) + "$3\r\nabc\r\n", Resp());
  ExpectReply(Frame(3) + RespCommand({"SET", "shared", "xyz"}), Frame(3) + "+OK\r\n", Resp());
  ExpectReply(Frame(4) + "get shared\r\n", Frame(4) + "VALUE shared 0 3\r\nxyz\r\nEND\r\n");
}

// --- IPv6 -------------------------------------------------------------------------------

TEST_F(FastPath, Ipv6RepliesCarryAValidChecksum) {
  ExpectReply(Frame(1) + "set six 1 0 3\r\nv6!\r\n", Frame(1) + "STORED\r\n", V6());
  ExpectReply(Frame(2) + "get six\r\n", Frame(2) + "VALUE six 1 3\r\nv6!\r\nEND\r\n", V6());
  ExpectReply(Frame(3) + "get none\r\n", Frame(3) + "END\r\n", V6());  // odd length
  ExpectReply(Frame(4) + RespCommand({"GET", "six"}), Frame(4) + "$3\r\nv6!\r\n", Resp(V6()));
  ExpectReply(Frame(5) + "delete six\r\n", Frame(5) + "DELETED\r\n", V6());
}

// --- userspace and kernel share the store ------------------------------------------

TEST_F(FastPath, UserspaceAndKernelSeeEachOthersWrites) {
  ASSERT_TRUE(store_->Set("from-user", "u-value", 5, 0).ok());
  ExpectReply(Frame(1) + "get from-user\r\n", Frame(1) + "VALUE from-user 5 7\r\nu-value\r\nEND\r\n");
  ExpectReply(Frame(2) + RespCommand({"SET", "from-xdp", "x-value"}), Frame(2) + "+OK\r\n", Resp());
  auto item = store_->Get("from-xdp");
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_EQ((*item)->value, "x-value");
  EXPECT_EQ((*item)->flags, 0u);
  auto deleted = store_->Delete("from-xdp");
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  ExpectReply(Frame(3) + RespCommand({"GET", "from-xdp"}), Frame(3) + "$-1\r\n", Resp());
}

TEST_F(FastPath, FullStoreAnswersWithThePeersOutOfMemoryError) {
  XdpConfig config;
  config.max_items_per_class = 2;
  Load(config);
  ExpectReply(Frame(1) + "set a 0 0 1\r\na\r\n", Frame(1) + "STORED\r\n");
  ExpectReply(Frame(2) + "set b 0 0 1\r\nb\r\n", Frame(2) + "STORED\r\n");
  ExpectReply(Frame(3) + "set c 0 0 1\r\nc\r\n",
              Frame(3) + "SERVER_ERROR out of memory storing object\r\n");
  ExpectReply(Frame(4) + RespCommand({"SET", "c", "c"}),
              Frame(4) + "-OOM command not allowed when used memory > 'maxmemory'.\r\n", Resp());
  // Overwriting an existing item still works, and nothing was lost.
  ExpectReply(Frame(5) + "set a 0 0 2\r\naa\r\n", Frame(5) + "STORED\r\n");
  ExpectReply(Frame(6) + "get b\r\n", Frame(6) + "VALUE b 0 1\r\nb\r\nEND\r\n");
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_STORE_FULL), 1u);
  EXPECT_EQ(Count(XDPKV_PROTO_RESP, XDPKV_STORE_FULL), 1u);
  auto full = store_->Set("d", "d", 0, 0);
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
}

// --- out-of-line values (userspace's) -------------------------------------------------

size_t CountBlobs(const XdpLoader& loader) {
  size_t count = 0;
  for (int fd : loader.blob_map_fds()) {
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

// Chunks of values over 64 KiB.
size_t CountChunks(const XdpLoader& loader) {
  size_t count = 0;
  xdpkv_chunk_key key{}, next{};
  for (const void* cursor = nullptr;
       bpf_map_get_next_key(loader.chunk_map_fd(), cursor, &next) == 0; cursor = &key) {
    ++count;
    key = next;
  }
  return count;
}

TEST_F(FastPath, ValuesOfEverySizeUpToOneMebibyteAreStored) {
  for (size_t len : {129, 256, 257, 1000, 4096, 65537, 1 << 20}) {
    const std::string key = "big" + std::to_string(len);
    std::string value(len, '\0');
    for (size_t i = 0; i < len; ++i) value[i] = static_cast<char>(i * 7 + len);
    ASSERT_TRUE(store_->Set(key, value, 3, 0).ok()) << len;
    auto item = store_->Get(key);
    ASSERT_TRUE(item.ok() && item->has_value()) << len << " " << item.status();
    EXPECT_EQ((*item)->value, value) << len;
    EXPECT_EQ((*item)->flags, 3u);
    // The kernel answers those whose reply fits one datagram of 1400
    // bytes and leaves the others to userspace.
    const std::string reply =
        Frame(1) + "VALUE " + key + " 3 " + std::to_string(len) + "\r\n" + value + "\r\nEND\r\n";
    if (reply.size() <= 1400) {
      ExpectReply(Frame(1) + "get " + key + "\r\n", reply);
    } else {
      ExpectPass(Frame(1) + "get " + key + "\r\n");
    }
  }
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_GET_HIT), 4u);
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_BIG_VALUE), 3u);
  EXPECT_EQ(CountBlobs(*loader_), 5u);
  EXPECT_EQ(CountChunks(*loader_), 2u + 17u);  // 65537 bytes and 1 MiB
  EXPECT_EQ(store_->Set("huge", std::string((1 << 20) + 1, 'h'), 0, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- out-of-line values from the kernel ------------------------------------------

// The value bytes of a test value: every byte value, so a shifted or torn
// copy cannot go unnoticed.
std::string BlobValue(size_t len, int seed) {
  std::string value(len, '\0');
  for (size_t i = 0; i < len; ++i) value[i] = static_cast<char>(i * 31 + seed);
  return value;
}

TEST_F(FastPath, BlobValuesThatFitOneDatagramAreAnsweredByTheKernel) {
  uint16_t id = 1;
  for (size_t len : {129, 256, 257, 512, 513, 1024, 1025, 1300}) {
    SCOPED_TRACE(len);
    const std::string key = "blob" + std::to_string(len);
    const std::string value = BlobValue(len, static_cast<int>(len));
    auto cas = store_->Set(key, value, 77, 0);
    ASSERT_TRUE(cas.ok()) << cas.status();
    const std::string line = key + " 77 " + std::to_string(len);
    for (PacketOptions options : {PacketOptions{}, V6()}) {
      ExpectReply(Frame(id) + "get " + key + "\r\n",
                  Frame(id) + "VALUE " + line + "\r\n" + value + "\r\nEND\r\n", options);
      ++id;
      ExpectReply(Frame(id) + "gets " + key + "\r\n",
                  Frame(id) + "VALUE " + line + " " + std::to_string(*cas) + "\r\n" + value +
                      "\r\nEND\r\n",
                  options);
      ++id;
      ExpectReply(Frame(id) + RespCommand({"GET", key}),
                  Frame(id) + "$" + std::to_string(len) + "\r\n" + value + "\r\n",
                  Resp(options));
      ++id;
    }
  }
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_GET_HIT), 32u);
  EXPECT_EQ(Count(XDPKV_PROTO_RESP, XDPKV_GET_HIT), 16u);
}

// A reply of exactly 1400 bytes (frame header included) is the kernel's; one
// byte more and it is userspace's, as memcached splits it in two datagrams.
TEST_F(FastPath, TheLargestKernelReplyIsOneDatagramOf1400Bytes) {
  const std::string head = Frame(1) + "VALUE edge 0 1366\r\n";
  const std::string tail = "\r\nEND\r\n";
  ASSERT_EQ(head.size() + 1366 + tail.size(), 1400u);
  ASSERT_TRUE(store_->Set("edge", BlobValue(1366, 1), 0, 0).ok());
  ExpectReply(Frame(1) + "get edge\r\n", head + BlobValue(1366, 1) + tail);
  ASSERT_TRUE(store_->Set("edge", BlobValue(1367, 2), 0, 0).ok());
  ExpectPass(Frame(2) + "get edge\r\n");
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_BIG_VALUE), 1u);

  // RESP: "$1383\r\n" + value + "\r\n" after the frame header.
  ASSERT_TRUE(store_->Set("redge", BlobValue(1383, 3), 0, 0).ok());
  ExpectReply(Frame(3) + RespCommand({"GET", "redge"}),
              Frame(3) + "$1383\r\n" + BlobValue(1383, 3) + "\r\n", Resp());
  ASSERT_TRUE(store_->Set("redge", BlobValue(1384, 4), 0, 0).ok());
  ExpectPass(Frame(4) + RespCommand({"GET", "redge"}), Resp());
  EXPECT_EQ(Count(XDPKV_PROTO_RESP, XDPKV_PASS_BIG_VALUE), 1u);
}

// The blob's header must name the version of the item the kernel read:
// blob id and value length. Otherwise (the blob was replaced, or its map
// element reused) the kernel passes and userspace reads again.
TEST_F(FastPath, ABlobThatDoesNotMatchItsItemIsPassed) {
  ASSERT_TRUE(store_->Set("torn", BlobValue(300, 5), 0, 0).ok());
  auto item = store_->Get("torn");
  ASSERT_TRUE(item.ok() && item->has_value());
  const int fd = loader_->blob_map_fds()[BlobClassOf(300)];
  uint64_t blob_id = 0;
  ASSERT_EQ(bpf_map_get_next_key(fd, nullptr, &blob_id), 0);
  std::vector<uint8_t> blob(sizeof(xdpkv_blob_header) + BlobClassBytes(BlobClassOf(300)));
  ASSERT_EQ(bpf_map_lookup_elem(fd, &blob_id, blob.data()), 0);
  xdpkv_blob_header header;
  std::memcpy(&header, blob.data(), sizeof(header));
  ASSERT_EQ(header.value_len, 300u);

  // The header says another length.
  header.value_len = 299;
  std::memcpy(blob.data(), &header, sizeof(header));
  ASSERT_EQ(bpf_map_update_elem(fd, &blob_id, blob.data(), BPF_EXIST), 0);
  ExpectPass(Frame(1) + "get torn\r\n");
  // Another blob's id.
  header.value_len = 300;
  header.blob_id = blob_id + 1;
  std::memcpy(blob.data(), &header, sizeof(header));
  ASSERT_EQ(bpf_map_update_elem(fd, &blob_id, blob.data(), BPF_EXIST), 0);
  ExpectPass(Frame(2) + RespCommand({"GET", "torn"}), Resp());
  // Gone.
  ASSERT_EQ(bpf_map_delete_elem(fd, &blob_id), 0);
  ExpectPass(Frame(3) + "gets torn\r\n", V6());
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_BUSY), 2u);
  EXPECT_EQ(Count(XDPKV_PROTO_RESP, XDPKV_PASS_BUSY), 1u);

  // Its header right again: answered.
  header.blob_id = blob_id;
  std::memcpy(blob.data(), &header, sizeof(header));
  ASSERT_EQ(bpf_map_update_elem(fd, &blob_id, blob.data(), BPF_NOEXIST), 0);
  ExpectReply(Frame(4) + "get torn\r\n",
              Frame(4) + "VALUE torn 0 300\r\n" + BlobValue(300, 5) + "\r\nEND\r\n");
}

// Kernel SETs and DELETEs of a key whose value is out of line, then GETs:
// whatever the kernel answers is the current version.
TEST_F(FastPath, KernelWritesOverABlobValueAreSeenByKernelGets) {
  ASSERT_TRUE(store_->Set("mix", BlobValue(700, 6), 1, 0).ok());
  ExpectReply(Frame(1) + "get mix\r\n",
              Frame(1) + "VALUE mix 1 700\r\n" + BlobValue(700, 6) + "\r\nEND\r\n");
  ExpectReply(Frame(2) + "set mix 2 0 3\r\nnew\r\n", Frame(2) + "STORED\r\n");
  ExpectReply(Frame(3) + "get mix\r\n", Frame(3) + "VALUE mix 2 3\r\nnew\r\nEND\r\n");
  EXPECT_EQ(CountBlobs(*loader_), 0u);
  ASSERT_TRUE(store_->Set("mix", BlobValue(200, 7), 3, 0).ok());
  ExpectReply(Frame(4) + RespCommand({"GET", "mix"}),
              Frame(4) + "$200\r\n" + BlobValue(200, 7) + "\r\n", Resp());
  ExpectReply(Frame(5) + "delete mix\r\n", Frame(5) + "DELETED\r\n");
  ExpectReply(Frame(6) + "get mix\r\n", Frame(6) + "END\r\n");
  EXPECT_EQ(CountBlobs(*loader_), 0u);
}

TEST_F(FastPath, ExpiredBlobValuesAreNotReturned) {
  ASSERT_TRUE(store_->Set("gone", BlobValue(500, 8), 0, NowBootMs() - 1).ok());
  ExpectReply(Frame(1) + "get gone\r\n", Frame(1) + "END\r\n");
  ExpectReply(Frame(2) + RespCommand({"GET", "gone"}), Frame(2) + "$-1\r\n", Resp());
  EXPECT_EQ(CountBlobs(*loader_), 0u);
}

TEST_F(FastPath, OverwritesAndDeletesFreeTheirBlobs) {
  ASSERT_TRUE(store_->Set("k", std::string(1000, 'a'), 0, 0).ok());
  ASSERT_TRUE(store_->Set("k", std::string(5000, 'b'), 0, 0).ok());
  EXPECT_EQ(CountBlobs(*loader_), 1u);
  ASSERT_TRUE(store_->Set("k", "small", 0, 0).ok());
  EXPECT_EQ(CountBlobs(*loader_), 0u);
  ASSERT_TRUE(store_->Set("k", std::string(300, 'c'), 0, 0).ok());
  auto deleted = store_->Delete("k");
  ASSERT_TRUE(deleted.ok() && *deleted);
  EXPECT_EQ(CountBlobs(*loader_), 0u);
  ASSERT_TRUE(store_->Set("k", std::string(300, 'c'), 0, NowBootMs() - 1).ok());
  auto expired = store_->Get("k");
  ASSERT_TRUE(expired.ok());
  EXPECT_FALSE(expired->has_value());
  EXPECT_EQ(CountBlobs(*loader_), 0u);
}

TEST_F(FastPath, EveryReplaceAndDeleteFreesTheOldBlob) {
  ASSERT_TRUE(store_->Set("k", std::string(1000, 'a'), 0, 0).ok());
  ASSERT_TRUE(store_->Set("live", std::string(1000, 'l'), 0, 0).ok());
  ASSERT_TRUE(store_->Set("user", std::string(300, 'u'), 0, 0).ok());
  EXPECT_EQ(CountBlobs(*loader_), 3u);
  ExpectReply(Frame(1) + "set k 0 0 2\r\nhi\r\n", Frame(1) + "STORED\r\n");  // kernel overwrite
  ExpectReply(Frame(2) + "get k\r\n", Frame(2) + "VALUE k 0 2\r\nhi\r\nEND\r\n");
  EXPECT_EQ(CountBlobs(*loader_), 2u);
  ASSERT_TRUE(store_->Set("user", std::string(5000, 'v'), 0, 0).ok());  // userspace overwrite
  EXPECT_EQ(CountBlobs(*loader_), 2u);
  auto live = store_->Get("live");
  ASSERT_TRUE(live.ok() && live->has_value());
  EXPECT_EQ((*live)->value, std::string(1000, 'l'));
  ExpectReply(Frame(3) + RespCommand({"DEL", "live"}), Frame(3) + ":1\r\n", Resp());  // kernel delete
  EXPECT_EQ(CountBlobs(*loader_), 1u);
  ASSERT_TRUE(store_->Delete("user").ok());  // userspace delete
  EXPECT_EQ(CountBlobs(*loader_), 0u);
}

// A blob no item points to is swept only once it is older than a writer
// can take between writing it and pointing its item at it.
TEST_F(FastPath, OrphanSweepLeavesYoungBlobsAlone) {
  auto write_blob = [&](uint64_t id, uint64_t created_ms) {
    std::vector<uint8_t> blob(sizeof(xdpkv_blob_header) + BlobClassBytes(0));
    xdpkv_blob_header header{};
    header.blob_id = id;
    header.value_len = 200;
    header.key_len = 5;
    header.created_ms = created_ms;
    std::memcpy(header.key, "owner", 5);
    std::memcpy(blob.data(), &header, sizeof(header));
    ASSERT_EQ(bpf_map_update_elem(loader_->blob_map_fds()[0], &id, blob.data(), BPF_NOEXIST), 0);
  };
  const uint64_t now = NowBootMs();
  write_blob(1, now);                                   // a writer mid-way, however slow
  write_blob(2, now - XDPKV_BLOB_ORPHAN_AGE_MS - 1000);  // left by a writer that died
  for (int sweep = 0; sweep < 3; ++sweep) ASSERT_TRUE(store_->SweepOrphanBlobs().ok());
  EXPECT_EQ(CountBlobs(*loader_), 1u);
  uint64_t id = 1;
  std::vector<uint8_t> out(sizeof(xdpkv_blob_header) + BlobClassBytes(0));
  EXPECT_EQ(bpf_map_lookup_elem(loader_->blob_map_fds()[0], &id, out.data()), 0);
}

// --- read-modify-write (Mutate) ----------------------------------------------------

TEST_F(FastPath, MutateInsertsReplacesAndKeeps) {
  auto append_x = [](const std::optional<StoredItem>& current) {
    return Mutation::Write((current ? current->value : "") + "x", 9, 0);
  };
  auto first = store_->Mutate("m", append_x);
  ASSERT_TRUE(first.ok() && first->has_value()) << first.status();
  auto second = store_->Mutate("m", append_x);
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_NE(**first, **second);
  ExpectReply(Frame(1) + "gets m\r\n",
              Frame(1) + "VALUE m 9 2 " + std::to_string(**second) + "\r\nxx\r\nEND\r\n");
  auto kept = store_->Mutate("m", [](const auto&) { return Mutation::Keep(); });
  ASSERT_TRUE(kept.ok());
  EXPECT_FALSE(kept->has_value());
  // Inline to blob and back: the old blob is freed each time.
  ASSERT_TRUE(store_->Mutate("m", [](const auto&) {
    return Mutation::Write(std::string(3000, 'b'), 0, 0);
  }).ok());
  ASSERT_TRUE(store_->Mutate("m", [](const auto&) {
    return Mutation::Write(std::string(4000, 'c'), 0, 0);
  }).ok());
  EXPECT_EQ(CountBlobs(*loader_), 1u);
  ASSERT_TRUE(store_->Mutate("m", [](const auto&) { return Mutation::Delete(); }).ok());
  EXPECT_EQ(CountBlobs(*loader_), 0u);
  auto gone = store_->Get("m");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(FastPath, MutateDecidesAgainWhenTheKernelWroteInBetween) {
  ASSERT_TRUE(store_->Set("n", "1", 0, 0).ok());
  int calls = 0;
  auto result = store_->Mutate("n", [&](const std::optional<StoredItem>& current) {
    if (++calls == 1) {
      // A SET answered by XDP lands between our read and our write.
      ExpectReply(Frame(1) + "set n 0 0 2\r\n10\r\n", Frame(1) + "STORED\r\n");
    }
    return Mutation::Write(std::to_string(std::stoi(current->value) + 1), 0, 0);
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(calls, 2);
  ExpectReply(Frame(2) + "get n\r\n", Frame(2) + "VALUE n 0 2\r\n11\r\nEND\r\n");
}

TEST_F(FastPath, MutateSeesACreateThatRacedItsInsert) {
  int calls = 0;
  auto result = store_->Mutate("fresh", [&](const std::optional<StoredItem>& current) {
    if (++calls == 1) {
      EXPECT_FALSE(current.has_value());
      ExpectReply(Frame(1) + "set fresh 0 0 1\r\nk\r\n", Frame(1) + "STORED\r\n");
      return Mutation::Write("u", 0, 0);
    }
    return Mutation::Keep();  // like add: it exists now
  });
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->has_value());
  EXPECT_EQ(calls, 2);
  ExpectReply(Frame(2) + "get fresh\r\n", Frame(2) + "VALUE fresh 0 1\r\nk\r\nEND\r\n");
}

TEST_F(FastPath, ConcurrentMutatesLoseNoIncrement) {
  constexpr int kThreads = 2;
  constexpr int kEach = 5000;
  auto increment = [](const std::optional<StoredItem>& current) {
    const uint64_t n = current ? std::stoull(current->value) : 0;
    return Mutation::Write(std::to_string(n + 1), 0, 0);
  };
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        auto result = store_->Mutate("counter", increment);
        if (!result.ok()) {
          ADD_FAILURE() << result.status();
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto item = store_->Get("counter");
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_EQ((*item)->value, std::to_string(kThreads * kEach));
}

// --- scanning and clearing ---------------------------------------------------------

std::set<std::string> ScanAll(Store& store, size_t count, const std::function<void()>& between) {
  std::set<std::string> seen;
  uint64_t cursor = 0;
  for (int steps = 0; steps < 100000; ++steps) {
    auto page = store.Scan(cursor, count);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    seen.insert(page->keys.begin(), page->keys.end());
    cursor = page->next_cursor;
    if (cursor == 0) break;
    between();
  }
  EXPECT_EQ(cursor, 0u) << "scan did not finish";
  return seen;
}

TEST_F(FastPath, ScanReturnsEveryKeyPresentThroughoutWhateverIsWritten) {
  std::set<std::string> stable;
  for (int i = 0; i < 3000; ++i) {
    // Every key class, inline and blob values.
    const std::string key = std::string(1 + i % 200, 'k') + std::to_string(i);
    ASSERT_TRUE(store_->Set(key, i % 50 == 0 ? std::string(500, 'v') : "v", 0, 0).ok());
    stable.insert(key.substr(0, 250));
  }
  int churn = 0;
  auto seen = ScanAll(*store_, 100, [&] {
    // Keys come and go during the scan; they may or may not be returned.
    for (int j = 0; j < 20; ++j, ++churn) {
      ASSERT_TRUE(store_->Set("churn" + std::to_string(churn), "c", 0, 0).ok());
      if (churn >= 10) ASSERT_TRUE(store_->Delete("churn" + std::to_string(churn - 10)).ok());
    }
  });
  for (const std::string& key : stable) EXPECT_TRUE(seen.count(key)) << key;
}

TEST_F(FastPath, ScanDropsAndRemovesExpiredItems) {
  ASSERT_TRUE(store_->Set("live", "v", 0, 0).ok());
  ASSERT_TRUE(store_->Set("dead", std::string(1000, 'd'), 0, NowBootMs() - 1).ok());
  auto seen = ScanAll(*store_, 10, [] {});
  EXPECT_EQ(seen, std::set<std::string>{"live"});
  EXPECT_EQ(CountBlobs(*loader_), 0u);
  ExpectReply(Frame(1) + "get dead\r\n", Frame(1) + "END\r\n");
}

TEST_F(FastPath, ClearDeletesItemsAndTheirBlobs) {
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(store_->Set("key" + std::to_string(i), std::string(i, 'x'), 0, 0).ok());
  }
  auto cleared = store_->Clear();
  ASSERT_TRUE(cleared.ok()) << cleared.status();
  EXPECT_EQ(*cleared, 500u);
  EXPECT_EQ(CountBlobs(*loader_), 0u);
  EXPECT_TRUE(ScanAll(*store_, 100, [] {}).empty());
  ExpectReply(Frame(1) + "get key1\r\n", Frame(1) + "END\r\n");
}

TEST_F(FastPath, MutateDeletesOnlyTheVersionItDecidedOn) {
  ASSERT_TRUE(store_->Set("d", "old", 0, 0).ok());
  int calls = 0;
  auto result = store_->Mutate("d", [&](const std::optional<StoredItem>& current) {
    if (++calls == 1) {
      ExpectReply(Frame(1) + "set d 0 0 3\r\nnew\r\n", Frame(1) + "STORED\r\n");
      return Mutation::Delete();  // decided on "old"
    }
    return current->value == "new" ? Mutation::Keep() : Mutation::Delete();
  });
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(calls, 2);
  ExpectReply(Frame(2) + "get d\r\n", Frame(2) + "VALUE d 0 3\r\nnew\r\nEND\r\n");
}

// --- what the kernel passes on ------------------------------------------------------------

struct PassCase {
  const char* name;
  std::string payload;
  PacketOptions options;
  xdpkv_proto proto;
  xdpkv_reason reason;
};

TEST_F(FastPath, PassesEverythingElseUntouchedAndCountsWhy) {
  PacketOptions v4_options;
  v4_options.ipv4_options = true;
  PacketOptions fragment;
  fragment.ipv4_fragment = true;
  PacketOptions vlan;
  vlan.vlan = true;
  PacketOptions other_port;
  other_port.dest_port = 53;
  PacketOptions tcp;
  tcp.ip_protocol = 6;
  const std::string get = Frame(1) + "get k\r\n";
  const std::vector<PassCase> cases = {
      // memcached frames each key's reply apart: XDP hands multi-key gets
      // to the TC tier (none here: passed as needing several datagrams),
      // which looks at the keys (proxy/xdp_tc_test.cc).
      {"multi-key get, two spaces", Frame(1) + "get a  b\r\n", {}, XDPKV_PROTO_MEMCACHE,
       XDPKV_PASS_REPLY_TOO_BIG},
      {"RESP MGET, two keys, one empty", Frame(1) + RespCommand({"MGET", "a", ""}), Resp(),
       XDPKV_PROTO_RESP, XDPKV_PASS_UNSUPPORTED},
      {"incr", Frame(1) + "incr n 1\r\n", {}, XDPKV_PROTO_MEMCACHE, XDPKV_PASS_UNSUPPORTED},
      {"gat", Frame(1) + "gat 1 k\r\n", {}, XDPKV_PROTO_MEMCACHE, XDPKV_PASS_UNSUPPORTED},
      {"two commands", get + "get k\r\n", {}, XDPKV_PROTO_MEMCACHE, XDPKV_PASS_UNSUPPORTED},
      {"multi-datagram", Frame(1, 0, 2) + "get k\r\n", {}, XDPKV_PROTO_MEMCACHE,
       XDPKV_PASS_MULTI_DATAGRAM},
      {"second datagram", Frame(1, 1, 2) + "get k\r\n", {}, XDPKV_PROTO_MEMCACHE,
       XDPKV_PASS_MULTI_DATAGRAM},
      {"value beyond a kernel write", Frame(1) + "set k 0 0 2049\r\n" + std::string(2049, 'x') +
       "\r\n", {}, XDPKV_PROTO_MEMCACHE, XDPKV_PASS_BIG_VALUE},
      {"bad data chunk", Frame(1) + "set k 0 0 1\r\nab\r\n", {}, XDPKV_PROTO_MEMCACHE,
       XDPKV_PASS_BAD_REQUEST},
      {"key too long", Frame(1) + "get " + std::string(251, 'k') + "\r\n", {},
       XDPKV_PROTO_MEMCACHE, XDPKV_PASS_BAD_REQUEST},
      {"control character", Frame(1) + "get a\x01z\r\n", {}, XDPKV_PROTO_MEMCACHE,
       XDPKV_PASS_BAD_REQUEST},
      {"flags overflow", Frame(1) + "set k 4294967296 0 1\r\na\r\n", {}, XDPKV_PROTO_MEMCACHE,
       XDPKV_PASS_BAD_REQUEST},
      {"no frame", "get", {}, XDPKV_PROTO_MEMCACHE, XDPKV_PASS_BAD_REQUEST},
      {"600-byte key", Frame(1) + "get " + std::string(600, 'k') + "\r\n", {},
       XDPKV_PROTO_MEMCACHE, XDPKV_PASS_BAD_REQUEST},
      {"SET with options", Frame(1) + RespCommand({"SET", "k", "v", "EX", "10"}), Resp(),
       XDPKV_PROTO_RESP, XDPKV_PASS_UNSUPPORTED},
      {"MGET of no key", Frame(1) + RespCommand({"MGET"}), Resp(), XDPKV_PROTO_RESP,
       XDPKV_PASS_UNSUPPORTED},
      {"inline command", Frame(1) + "GET k\r\n", Resp(), XDPKV_PROTO_RESP, XDPKV_PASS_UNSUPPORTED},
      {"RESP empty key", Frame(1) + RespCommand({"GET", ""}), Resp(), XDPKV_PROTO_RESP,
       XDPKV_PASS_UNSUPPORTED},
      {"RESP big value", Frame(1) + RespCommand({"SET", "k", std::string(2049, 'v')}), Resp(),
       XDPKV_PROTO_RESP, XDPKV_PASS_BIG_VALUE},
      {"RESP bad length", Frame(1) + "*2\r\n$3\r\nGET\r\n$9\r\nk\r\n", Resp(), XDPKV_PROTO_RESP,
       XDPKV_PASS_BAD_REQUEST},
      {"IPv4 options", get, v4_options, XDPKV_PROTO_NONE, XDPKV_PASS_IP_OPTIONS},
      {"IPv4 fragment", get, fragment, XDPKV_PROTO_NONE, XDPKV_PASS_FRAGMENT},
      {"VLAN tag", get, vlan, XDPKV_PROTO_NONE, XDPKV_NOT_OURS},
      {"other port", get, other_port, XDPKV_PROTO_NONE, XDPKV_NOT_OURS},
      {"TCP", get, tcp, XDPKV_PROTO_NONE, XDPKV_NOT_OURS},
  };
  for (const PassCase& c : cases) {
    SCOPED_TRACE(c.name);
    const uint64_t before = Count(c.proto, c.reason);
    ExpectPass(c.payload, c.options);
    EXPECT_EQ(Count(c.proto, c.reason), before + 1);
  }
}

// Every exit of the program is counted, once, under a reason that fits
// its verdict.
TEST_F(FastPath, EveryPacketIsCountedExactlyOnce) {
  struct Case {
    std::string payload;
    PacketOptions options;
    uint32_t verdict;
    xdpkv_proto proto;
    xdpkv_reason reason;
  };
  PacketOptions other_port;
  other_port.dest_port = 53;
  PacketOptions fragment;
  fragment.ipv4_fragment = true;
  const std::vector<Case> cases = {
      {Frame(1) + "set k 0 0 1\r\na\r\n", {}, kTx, XDPKV_PROTO_MEMCACHE, XDPKV_SET},
      {Frame(2) + "set k 0 0 1 noreply\r\nb\r\n", {}, kDrop, XDPKV_PROTO_MEMCACHE, XDPKV_SET},
      {Frame(3) + "get k\r\n", {}, kTx, XDPKV_PROTO_MEMCACHE, XDPKV_GET_HIT},
      {Frame(4) + "gets nothing\r\n", V6(), kTx, XDPKV_PROTO_MEMCACHE, XDPKV_GET_MISS},
      {Frame(5) + "delete k\r\n", {}, kTx, XDPKV_PROTO_MEMCACHE, XDPKV_DELETE_HIT},
      {Frame(6) + "delete k noreply\r\n", {}, kDrop, XDPKV_PROTO_MEMCACHE, XDPKV_DELETE_MISS},
      {Frame(7) + RespCommand({"SET", "r", "v"}), Resp(), kTx, XDPKV_PROTO_RESP, XDPKV_SET},
      {Frame(8) + RespCommand({"GET", "r"}), Resp(V6()), kTx, XDPKV_PROTO_RESP, XDPKV_GET_HIT},
      {Frame(9) + RespCommand({"DEL", "r"}), Resp(), kTx, XDPKV_PROTO_RESP, XDPKV_DELETE_HIT},
      {Frame(10) + RespCommand({"MGET", "a"}), Resp(), kTx, XDPKV_PROTO_RESP, XDPKV_MULTI_GET},
      {Frame(11) + "get a b\r\n", {}, kPass, XDPKV_PROTO_MEMCACHE, XDPKV_PASS_REPLY_TOO_BIG},
      {Frame(12, 0, 2) + "get k\r\n", {}, kPass, XDPKV_PROTO_MEMCACHE,
       XDPKV_PASS_MULTI_DATAGRAM},
      {"get", {}, kPass, XDPKV_PROTO_MEMCACHE, XDPKV_PASS_BAD_REQUEST},
      {Frame(13) + "get k\r\n", fragment, kPass, XDPKV_PROTO_NONE, XDPKV_PASS_FRAGMENT},
      {Frame(14) + "get k\r\n", other_port, kPass, XDPKV_PROTO_NONE, XDPKV_NOT_OURS},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(Printable(c.payload));
    auto before = loader_->ReadCounters();
    ASSERT_TRUE(before.ok());
    EXPECT_EQ(Verdict(c.payload, c.options), c.verdict);
    auto after = loader_->ReadCounters();
    ASSERT_TRUE(after.ok());
    for (int p = 0; p < XDPKV_PROTO_COUNT; ++p) {
      for (int r = 0; r < XDPKV_REASON_COUNT; ++r) {
        const uint64_t want = (p == c.proto && r == c.reason) ? 1 : 0;
        EXPECT_EQ(after->count[p][r] - before->count[p][r], want)
            << kProtoNames[p] << "." << kReasonNames[r];
      }
    }
  }
}

TEST_F(FastPath, TruncatedUdpIsPassedAsMalformed) {
  std::string packet = BuildPacket(Frame(1) + "get k\r\n");
  packet.resize(packet.size() - 3);  // UDP length now exceeds the packet
  auto result = RunXdp(loader_->program_fd(), packet);
  ASSERT_EQ(result.error, 0);
  EXPECT_EQ(result.verdict, kPass);
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_MALFORMED), 1u);
}

TEST_F(FastPath, PassedRequestsLeaveTheStoreAlone) {
  ExpectPass(Frame(1) + "set k 0 0 1\r\nab\r\n");
  ExpectPass(Frame(1) + RespCommand({"SET", "k", "v", "NX"}), Resp());
  auto item = store_->Get("k");
  ASSERT_TRUE(item.ok());
  EXPECT_FALSE(item->has_value());
}


// The expiry delete of a version seen expired leaves it alone if it was
// touched since: memcached's touch and Redis's EXPIRE keep the CAS unique,
// so "same CAS" alone would delete a touched item.
TEST_F(FastPath, AnExpiryDeleteSparesAnItemTouchedSinceItWasSeen) {
  auto delete_expired = [&](std::string_view key, uint64_t cas, uint64_t now_ms) {
    xdpkv_cas_request request{};
    request.expected_cas = cas;
    request.op = XDPKV_CAS_OP_DELETE_EXPIRED;
    request.key.len = static_cast<__u32>(key.size());
    std::memcpy(request.key.bytes, key.data(), key.size());
    request.item.expires_at_ms = now_ms;
    xdpkv_cas_request reply{};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = &request, .data_out = &reply,
                .data_size_in = sizeof(request), .data_size_out = sizeof(reply), .repeat = 1);
    EXPECT_EQ(bpf_prog_test_run_opts(loader_->cas_program_fd(), &opts), 0);
    return opts.retval;
  };
  const uint64_t expires = NowBootMs() + 100'000;
  for (bool touched : {false, true}) {
    ASSERT_TRUE(store_->Set("t", "v", 0, expires).ok());
    auto seen = store_->Get("t");
    ASSERT_TRUE(seen.ok() && seen->has_value());
    if (touched) {
      ASSERT_TRUE(store_->Mutate("t", [&](const std::optional<StoredItem>& current) {
                    return Mutation::Touch(*current, expires + 1'000'000);
                  }).ok());
    }
    // As a reader that saw version `cas` expired at expires + 1 would ask.
    const uint32_t result = delete_expired("t", (*seen)->cas, expires + 1);
    auto after = store_->Get("t");
    ASSERT_TRUE(after.ok());
    if (touched) {
      EXPECT_EQ(result, XDPKV_CAS_EXISTS);
      EXPECT_TRUE(after->has_value()) << "the touched item was deleted";
    } else {
      EXPECT_EQ(result, XDPKV_CAS_STORED);
      EXPECT_FALSE(after->has_value());
    }
  }
}


// An element reused for another key (a deleted element handed to a new
// insert while a program still holds it) shows an item whose key_tag is not
// its key's. Every locked section must see that and leave it alone: here
// the entry of "mine" carries the tag of "other", as a reused one would.
TEST_F(FastPath, AnItemOfAnotherKeyIsNeverReadWrittenOrDeleted) {
  auto map_key = [](std::string_view key) {
    xdpkv_key256 k{};
    k.len = static_cast<__u32>(key.size());
    std::memcpy(k.bytes, key.data(), key.size());
    return k;
  };
  const xdpkv_key256 mine = map_key("mine"), other = map_key("other");
  xdpkv_item foreign{};
  foreign.value_len = 5;
  foreign.cas = 77;
  foreign.key_tag = xdpkv_key_tag(&other);
  std::memcpy(foreign.inline_value, "thing", 5);
  const int fd = loader_->item_map_fds()[KeyClassOf(4)];
  ASSERT_EQ(bpf_map_update_elem(fd, &mine, &foreign, BPF_NOEXIST), 0);

  ExpectReply(Frame(1) + "get mine\r\n", Frame(1) + "END\r\n");
  ExpectReply(Frame(2) + "*2\r\n$3\r\nGET\r\n$4\r\nmine\r\n", Frame(2) + "$-1\r\n", Resp());
  ExpectReply(Frame(3) + "delete mine\r\n", Frame(3) + "NOT_FOUND\r\n");
  const uint64_t busy = Count(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_BUSY);
  EXPECT_EQ(Verdict(Frame(4) + "set mine 0 0 3\r\nnew\r\n"), kPass);  // not written into it
  EXPECT_EQ(Count(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_BUSY), busy + 1);
  auto got = store_->Get("mine");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_FALSE(store_->Delete("mine").value());

  xdpkv_item after{};
  ASSERT_EQ(bpf_map_lookup_elem_flags(fd, &mine, &after, BPF_F_LOCK), 0);
  EXPECT_EQ(after.cas, 77u);  // untouched: not overwritten, not marked, not deleted
  EXPECT_EQ(after.state, 0u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(after.inline_value), 5), "thing");
}

}  // namespace
}  // namespace xdpkv
