// memcached's meta commands mg and ms in the kernel (bpf/lib/parse_meta.h,
// bpf/lib/reply_meta.h): seeded random differentials against userspace's
// handler (proxy/memcache_meta.cc) over the same store. Each mg line (every
// subset of v f c t k O q s, in random order, on hits, misses, inline and
// out-of-line values) runs through the XDP program with BPF_PROG_TEST_RUN,
// then, from the same item state, through HandleMemcacheDatagram: the
// kernel's datagram is userspace's, byte for byte (none for both in quiet
// mode), and both leave the item's memcached flags alike. Each ms line
// (subsets of T F C q O k c) runs through the kernel on a seeded item and
// through userspace on the same item seeded again: the same reply (the new
// CAS unique masked) and the same item. Flags the kernel does not serve,
// and items whose state it does not report, are passed untouched and
// counted. Needs BPF rights (root); without them each test is skipped and
// says why.
#include <time.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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
using testing::kDrop;
using testing::kPass;
using testing::kTx;
using testing::PacketOptions;
using testing::Printable;
using testing::RunXdp;
using testing::V6;

constexpr xdpkv_proto kMc = XDPKV_PROTO_MEMCACHE;

class KernelMeta : public ::testing::Test {
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

  struct KernelResult {
    uint32_t verdict = 0;
    std::string reply;  // the UDP payload of an XDP_TX
  };

  // Runs `payload` through the program: its verdict, and its reply, which
  // must be a well-formed reply packet; a passed packet must be untouched.
  KernelResult Kernel(std::string_view payload, PacketOptions options = {}) {
    const std::string request = BuildPacket(payload, options);
    auto result = RunXdp(loader_->program_fd(), request);
    EXPECT_EQ(result.error, 0) << std::strerror(result.error);
    KernelResult out{result.verdict, {}};
    if (result.verdict == kTx) {
      const size_t udp_at = 14 + (options.ipv6 ? 40 : 20);
      out.reply = result.packet.substr(udp_at + 8);
      EXPECT_EQ(Printable(result.packet), Printable(ExpectedReply(request, out.reply)));
    } else {
      EXPECT_EQ(result.packet, request) << Printable(payload);
    }
    return out;
  }

  std::vector<std::string> Userspace(std::string_view payload) {
    return HandleMemcacheDatagram(payload, *store_, context_);
  }

  uint64_t Count(xdpkv_reason reason) {
    auto counters = loader_->ReadCounters();
    EXPECT_TRUE(counters.ok()) << counters.status();
    return counters.ok() ? counters->Get(kMc, reason) : 0;
  }

  std::optional<StoredItem> Item(std::string_view key) {
    auto item = store_->Get(key);
    EXPECT_TRUE(item.ok()) << item.status();
    return item.ok() ? *item : std::nullopt;
  }

  // The kernel passes `payload` untouched, counted under `reason`; userspace
  // answers it.
  void ExpectPass(std::string_view payload, xdpkv_reason reason, PacketOptions options = {}) {
    const uint64_t before = Count(reason);
    EXPECT_EQ(Kernel(payload, options).verdict, kPass) << Printable(payload);
    EXPECT_EQ(Count(reason), before + 1)
        << Printable(payload) << " not counted as " << kReasonNames[reason];
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

  std::unique_ptr<XdpLoader> loader_;
  std::unique_ptr<BpfStore> store_;
  ServerStats stats_;
  RuntimeConfig runtime_;
  ServerContext context_;
};

// An opaque token: 'O' and up to 31 bytes, any but space, CR and LF.
std::string Opaque(std::mt19937& rng) {
  static const std::string kBytes = "abcXYZ0189-_.:/\t\x01\x7f\x80\xff!~";
  std::string token = "O";
  const size_t len = rng() % 32;
  for (size_t i = 0; i < len; ++i) token += kBytes[rng() % kBytes.size()];
  return token;
}

// A random subset of `letters`, in random order, as flag tokens (an O
// token with its opaque).
std::vector<std::string> Flags(std::mt19937& rng, std::string_view letters) {
  std::vector<std::string> flags;
  for (char letter : letters) {
    if (rng() % 2 == 0) continue;
    flags.push_back(letter == 'O' ? Opaque(rng) : std::string(1, letter));
  }
  std::shuffle(flags.begin(), flags.end(), rng);
  return flags;
}

std::string Join(const std::vector<std::string>& flags) {
  std::string out;
  for (const std::string& flag : flags) out += " " + flag;
  return out;
}

// --- mg ------------------------------------------------------------------------

// The items the mg differential reads: every value place and size, flags,
// TTLs (a half second over whole seconds, so both sides round alike),
// and keys of every class.
struct MgItem {
  std::string key;
  std::string value;
  uint32_t flags;
  int64_t ttl_ms;  // 0: none
};

std::vector<MgItem> MgItems() {
  return {
      {"a", "hello", 0, 0},
      {"empty", "", 7, 0},
      {"inline128", EveryByteValue(128, 1), 4294967295u, 100'500},
      {"blob129", EveryByteValue(129, 2), 1, 0},
      {std::string(40, 'm'), EveryByteValue(700, 3), 12345, 5'000'500},
      {std::string(250, 'L'), EveryByteValue(1000, 4), 2, 60'500},
      {"big", EveryByteValue(1390, 5), 3, 0},  // VA's line pushes it past a datagram
      {"k\x80\xff", "high bytes", 9, 0},
  };
}

TEST_F(KernelMeta, MgAsUserspaceForEveryFlagSubsetInRandomOrder) {
  const std::vector<MgItem> items = MgItems();
  for (const MgItem& item : items) {
    const uint64_t expires = item.ttl_ms == 0 ? 0 : NowBootMs() + item.ttl_ms;
    ASSERT_TRUE(store_->Set(item.key, item.value, item.flags, expires).ok());
  }
  // Misses: absent, expired, and of another type (not there to memcached).
  ASSERT_TRUE(store_->Set("expired", "x", 0, NowBootMs() - 1).ok());
  ASSERT_TRUE(store_
                  ->Mutate("hash",
                           [](const std::optional<StoredItem>&) {
                             return Mutation::Write("h", 0, 0, ValueType::kHash);
                           })
                  .ok());
  std::vector<std::string> keys = {"absent", "expired", "hash"};
  for (const MgItem& item : items) keys.push_back(item.key);

  const uint64_t hits_before = Count(XDPKV_META_GET_HIT);
  const uint64_t misses_before = Count(XDPKV_META_GET_MISS);
  uint64_t hits = 0, misses = 0, too_big = 0;
  std::mt19937 rng(1618);
  for (int i = 0; i < 3000; ++i) {
    const std::string& key = keys[rng() % keys.size()];
    const std::vector<std::string> flags = Flags(rng, "vfctkOqs");
    const std::string payload =
        Frame(static_cast<uint16_t>(i)) + "mg " + key + Join(flags) + "\r\n";
    const PacketOptions options = i % 4 == 0 ? V6() : PacketOptions{};
    SCOPED_TRACE(Printable(payload));
    // The item's memcached flags before: both sides start from them.
    const std::optional<StoredItem> before = Item(key);
    const uint64_t passed_before = Count(XDPKV_PASS_REPLY_TOO_BIG);
    const KernelResult kernel = Kernel(payload, options);
    const std::optional<StoredItem> after_kernel = Item(key);
    if (before) {
      ASSERT_TRUE(store_->SetItemMeta(key, before->cas, before->mc_bits, before->atime_s).ok());
    }
    const std::vector<std::string> user = Userspace(payload);
    const std::optional<StoredItem> after_user = Item(key);
    ASSERT_EQ(after_kernel.has_value(), after_user.has_value());
    if (after_kernel) {
      EXPECT_EQ(after_kernel->mc_bits, after_user->mc_bits) << "fetched/active as userspace";
      EXPECT_EQ(after_kernel->cas, after_user->cas);
    }
    if (kernel.verdict == kPass) {
      // Only a reply past one datagram: userspace sends it in several.
      EXPECT_EQ(Count(XDPKV_PASS_REPLY_TOO_BIG), passed_before + 1);
      EXPECT_GE(user.size(), 2u);
      ++too_big;
      continue;
    }
    if (kernel.verdict == kDrop) {
      EXPECT_TRUE(user.empty()) << "q: no EN, no datagram";
      ++misses;
      continue;
    }
    ASSERT_EQ(kernel.verdict, kTx);
    ASSERT_EQ(user.size(), 1u);
    EXPECT_EQ(Printable(kernel.reply), Printable(user[0]));
    (kernel.reply.compare(8, 2, "EN") == 0 ? misses : hits)++;
  }
  EXPECT_EQ(Count(XDPKV_META_GET_HIT), hits_before + hits);
  EXPECT_EQ(Count(XDPKV_META_GET_MISS), misses_before + misses);
  EXPECT_GT(hits, 1000u);
  EXPECT_GT(misses, 500u);
  EXPECT_GT(too_big, 0u);
}

// memcached's mg marks an item fetched on its first hit and active on its
// second (userspace's FetchedBits); the kernel's mg does the same, and
// only to the version it read.
TEST_F(KernelMeta, MgMarksItemsFetchedThenActive) {
  ASSERT_TRUE(store_->Set("f", "v", 0, 0).ok());
  KernelResult r = Kernel(Frame(1) + "mg f v\r\n");
  ASSERT_EQ(r.verdict, kTx);
  EXPECT_EQ(r.reply, Frame(1) + "VA 1\r\nv\r\n");
  EXPECT_EQ(Item("f")->mc_bits, XDPKV_MC_FETCHED);
  ASSERT_EQ(Kernel(Frame(2) + "mg f\r\n").verdict, kTx);
  EXPECT_EQ(Item("f")->mc_bits, XDPKV_MC_FETCHED | XDPKV_MC_ACTIVE);
  ASSERT_EQ(Kernel(Frame(3) + "mg f\r\n").verdict, kTx);
  EXPECT_EQ(Item("f")->mc_bits, XDPKV_MC_FETCHED | XDPKV_MC_ACTIVE);
  // What userspace then reports (h) is what memcached would.
  const std::vector<std::string> user = Userspace(Frame(4) + "mg f h\r\n");
  ASSERT_EQ(user.size(), 1u);
  EXPECT_EQ(user[0], Frame(4) + "HD h1\r\n");
  // A miss marks nothing; a write clears the marks (the kernel's ms too).
  ASSERT_EQ(Kernel(Frame(5) + "ms f 1\r\nw\r\n").verdict, kTx);
  EXPECT_EQ(Item("f")->mc_bits, 0u);
}

// What the kernel does not answer: flags it does not serve, forms of them
// it does not parse, malformed lines, items whose state it does not
// report. Each is passed untouched, counted by reason, and answered by
// userspace.
TEST_F(KernelMeta, OtherFlagsAndItemStatesAreUserspaces) {
  ASSERT_TRUE(store_->Set("k", "v", 0, 0).ok());
  struct Case {
    std::string line;
    xdpkv_reason reason;
  };
  const std::vector<Case> cases = {
      {"mg k h", XDPKV_PASS_META_FLAG},
      {"mg k l", XDPKV_PASS_META_FLAG},
      {"mg k u v", XDPKV_PASS_META_FLAG},
      {"mg k v N30", XDPKV_PASS_META_FLAG},
      {"mg k R30", XDPKV_PASS_META_FLAG},
      {"mg k T30 v", XDPKV_PASS_META_FLAG},
      {"mg k E99", XDPKV_PASS_META_FLAG},
      {"mg aw== b v", XDPKV_PASS_META_FLAG},
      {"mg k P", XDPKV_PASS_META_FLAG},
      {"mg k C5", XDPKV_PASS_META_FLAG},
      {"mg k z", XDPKV_PASS_META_FLAG},
      {"mg k vx", XDPKV_PASS_META_FLAG},
      {"mg k v v", XDPKV_PASS_BAD_REQUEST},
      {"mg k O" + std::string(32, 'o'), XDPKV_PASS_BAD_REQUEST},
      {"mg k O" + std::string(40, 'o'), XDPKV_PASS_BAD_REQUEST},
      {"mg k  v", XDPKV_PASS_BAD_REQUEST},
      {"mg k v ", XDPKV_PASS_BAD_REQUEST},
      {"mg " + std::string(251, 'k') + " v", XDPKV_PASS_BAD_REQUEST},
      {"mg k\x01 v", XDPKV_PASS_BAD_REQUEST},
      {"mg k v q s t f c k O1 O2", XDPKV_PASS_BAD_REQUEST},
      {"ms k 1 MS\r\nv", XDPKV_PASS_META_FLAG},
      {"ms k 1 I\r\nv", XDPKV_PASS_META_FLAG},
      {"ms aw== 1 b\r\nv", XDPKV_PASS_META_FLAG},
      {"ms k 1 v\r\nv", XDPKV_PASS_META_FLAG},
      {"ms k 1 C0\r\nv", XDPKV_PASS_META_FLAG},
      {"ms k 1 F+1\r\nv", XDPKV_PASS_META_FLAG},
      {"ms k 1 F4294967296\r\nv", XDPKV_PASS_META_FLAG},
      {"ms k 1 T\r\nv", XDPKV_PASS_BAD_REQUEST},
      {"ms k 1 T2147483648\r\nv", XDPKV_PASS_BAD_REQUEST},
      {"ms k 1 T-2147483649\r\nv", XDPKV_PASS_BAD_REQUEST},
      {"ms k 1 C99999999999999999999\r\nv", XDPKV_PASS_BAD_REQUEST},
      {"ms k 2\r\nv", XDPKV_PASS_BAD_REQUEST},
      {"ms k\r\nv", XDPKV_PASS_BAD_REQUEST},
      {"ms k -1\r\nv", XDPKV_PASS_BAD_REQUEST},
      {"ms k 2049\r\n" + std::string(2049, 'v'), XDPKV_PASS_BIG_VALUE},
      {"mg k v\r\nmn", XDPKV_PASS_UNSUPPORTED},
      {"ms k 1\r\nv\r\nmn", XDPKV_PASS_UNSUPPORTED},
  };
  uint16_t id = 1;
  for (const Case& c : cases) {
    const std::string payload = Frame(id++) + c.line + "\r\n";
    SCOPED_TRACE(Printable(payload));
    ExpectPass(payload, c.reason);
    EXPECT_EQ(Item("k")->value, "v");  // the kernel wrote nothing
    EXPECT_FALSE(Userspace(payload).empty());
    ASSERT_TRUE(store_->Set("k", "v", 0, 0).ok());
  }
  // md, ma, me, mn: userspace's.
  for (std::string line : {"md k", "ma k", "me k", "mn"}) {
    ExpectPass(Frame(id++) + line + "\r\n", XDPKV_PASS_UNSUPPORTED);
  }
  // Stale, or with a recache win handed out: X, W, Z are userspace's. A
  // key written through base64: its k is, the rest is the kernel's.
  auto cas = store_->Set("stale", "v", 0, 0);
  ASSERT_TRUE(cas.ok() && store_->SetItemMeta("stale", *cas, XDPKV_MC_STALE, 0).ok());
  cas = store_->Set("won", "v", 0, 0);
  ASSERT_TRUE(cas.ok() && store_->SetItemMeta("won", *cas, XDPKV_MC_TOKEN_SENT, 0).ok());
  cas = store_->Set("bin", "v", 0, 0);
  ASSERT_TRUE(cas.ok() && store_->SetItemMeta("bin", *cas, XDPKV_MC_KEY_BINARY, 0).ok());
  ExpectPass(Frame(id++) + "mg stale v\r\n", XDPKV_PASS_META_ITEM);
  ExpectPass(Frame(id++) + "mg won\r\n", XDPKV_PASS_META_ITEM);
  ExpectPass(Frame(id++) + "mg bin v k\r\n", XDPKV_PASS_META_ITEM);
  const std::string bin = Frame(id++) + "mg bin v s\r\n";
  const KernelResult r = Kernel(bin);
  ASSERT_EQ(r.verdict, kTx);
  EXPECT_EQ(r.reply, Frame(id - 1) + "VA 1 s1\r\nv\r\n");
}

// -C: CAS uniques read 0 (userspace's); what shows or compares one passes.
TEST_F(KernelMeta, WithoutCasUniquesCFlagsAreUserspaces) {
  XdpConfig config;
  config.cas_enabled = false;
  Load(config);
  context_.memcache.cas_enabled = false;
  ASSERT_TRUE(store_->Set("k", "v", 0, 0).ok());
  ExpectPass(Frame(1) + "mg k c v\r\n", XDPKV_PASS_META_FLAG);
  ExpectPass(Frame(2) + "ms k 1 c\r\nw\r\n", XDPKV_PASS_META_FLAG);
  ExpectPass(Frame(3) + "ms k 1 C123\r\nw\r\n", XDPKV_PASS_META_FLAG);
  const std::string mg = Frame(4) + "mg k v f s\r\n";
  const KernelResult r = Kernel(mg);
  ASSERT_EQ(r.verdict, kTx);
  EXPECT_EQ(Printable(r.reply), Printable(Userspace(mg).at(0)));
}

// --- ms ------------------------------------------------------------------------

// What an ms finds: nothing, a string (inline or out of line, with or
// without a TTL), an expired item, or another type.
enum class Seed { kAbsent, kInline, kBlob, kWithTtl, kExpired, kHash };

struct MsCase {
  std::string key;
  Seed seed;
  std::string value;
  std::vector<std::string> flags;  // "C=" compares with the seeded CAS, "C+" with another
};

TEST_F(KernelMeta, MsAsUserspaceForFlagSubsetsOnEveryKindOfItem) {
  const int64_t unix_now = time(nullptr);
  // Seeds an item of `kind` under `key`: its CAS, 0 if none.
  auto seed = [&](const std::string& key, Seed kind) -> uint64_t {
    (void)store_->Delete(key);
    absl::StatusOr<uint64_t> cas = uint64_t{0};
    switch (kind) {
      case Seed::kAbsent:
        return 0;
      case Seed::kInline:
        cas = store_->Set(key, "old", 5, 0);
        break;
      case Seed::kBlob:
        cas = store_->Set(key, EveryByteValue(600, 9), 6, 0);
        break;
      case Seed::kWithTtl:
        cas = store_->Set(key, "old", 7, NowBootMs() + 50'000);
        break;
      case Seed::kExpired:
        cas = store_->Set(key, "old", 8, NowBootMs() - 1);
        break;
      case Seed::kHash: {
        auto mutated = store_->Mutate(key, [](const std::optional<StoredItem>&) {
          return Mutation::Write("h", 0, 0, ValueType::kHash);
        });
        EXPECT_TRUE(mutated.ok() && mutated->has_value());
        return mutated.ok() && mutated->has_value() ? **mutated : 0;
      }
    }
    EXPECT_TRUE(cas.ok()) << cas.status();
    return cas.ok() ? *cas : 0;
  };
  // The line for a seeded CAS: C= is that CAS, C+ another.
  auto line = [](const MsCase& c, uint64_t seeded_cas, uint16_t id) {
    std::string out = Frame(id) + "ms " + c.key + " " + std::to_string(c.value.size());
    for (const std::string& flag : c.flags) {
      if (flag == "C=") {
        out += " C" + std::to_string(seeded_cas == 0 ? 12345 : seeded_cas);
      } else if (flag == "C+") {
        out += " C" + std::to_string(seeded_cas + 1000);
      } else {
        out += " " + flag;
      }
    }
    return out + "\r\n" + c.value + "\r\n";
  };
  // The reply with the CAS unique the write gave masked.
  auto masked = [](std::string reply, const std::optional<StoredItem>& item) {
    if (!item) return reply;
    const std::string cas = " c" + std::to_string(item->cas);
    const size_t at = reply.find(cas);
    if (at != std::string::npos) reply.replace(at, cas.size(), " c<new>");
    return reply;
  };

  std::mt19937 rng(2718);
  const std::vector<std::string> keys = {"s", std::string(20, 's'), std::string(200, 'S')};
  const std::vector<size_t> sizes = {0, 1, 5, 128, 129, 700, 2048};
  const std::vector<std::string> ttls = {"T0",
                                         "T100",
                                         "T-1",
                                         "T2592000",
                                         "T" + std::to_string(unix_now + 86'400 * 40),
                                         "T" + std::to_string(unix_now - 60)};
  const std::vector<std::string> client_flags = {"F0", "F42", "F4294967295"};
  std::map<xdpkv_reason, uint64_t> counted;
  for (int i = 0; i < 1500; ++i) {
    MsCase c;
    c.key = keys[rng() % keys.size()];
    c.seed = static_cast<Seed>(rng() % 6);
    c.value = EveryByteValue(sizes[rng() % sizes.size()], i);
    for (std::string flag : Flags(rng, "TFCqOkc")) {
      if (flag == "T") flag = ttls[rng() % ttls.size()];
      if (flag == "F") flag = client_flags[rng() % client_flags.size()];
      if (flag == "C") flag = rng() % 3 == 0 ? "C+" : "C=";
      c.flags.push_back(flag);
    }
    const uint16_t id = static_cast<uint16_t>(i);
    const std::string kernel_line = line(c, seed(c.key, c.seed), id);
    SCOPED_TRACE(Printable(kernel_line.substr(0, 120)));
    const PacketOptions options = i % 5 == 0 ? V6() : PacketOptions{};
    const auto counters_before = loader_->ReadCounters();
    ASSERT_TRUE(counters_before.ok());
    const KernelResult kernel = Kernel(kernel_line, options);
    const auto counters_after = loader_->ReadCounters();
    ASSERT_TRUE(counters_after.ok());
    const std::optional<StoredItem> kernel_item = Item(c.key);
    const size_t kernel_blobs = CountBlobs();

    const std::string user_line = line(c, seed(c.key, c.seed), id);
    const std::vector<std::string> user = Userspace(user_line);
    const std::optional<StoredItem> user_item = Item(c.key);

    ASSERT_NE(kernel.verdict, kPass) << "every ms here is the kernel's";
    if (kernel.verdict == kDrop) {
      EXPECT_TRUE(user.empty()) << "q: no HD, no datagram";
    } else {
      ASSERT_EQ(user.size(), 1u);
      EXPECT_EQ(Printable(masked(kernel.reply, kernel_item)),
                Printable(masked(user[0], user_item)));
    }
    ASSERT_EQ(kernel_item.has_value(), user_item.has_value());
    if (kernel_item) {
      EXPECT_EQ(Printable(kernel_item->value), Printable(user_item->value));
      EXPECT_EQ(kernel_item->flags, user_item->flags);
      EXPECT_EQ(kernel_item->type, user_item->type);
      EXPECT_EQ(kernel_item->mc_bits, user_item->mc_bits);
      EXPECT_EQ(kernel_item->expires_at_ms == 0, user_item->expires_at_ms == 0);
      const int64_t apart = static_cast<int64_t>(user_item->expires_at_ms) -
                            static_cast<int64_t>(kernel_item->expires_at_ms);
      EXPECT_LE(std::abs(apart), 1000) << apart;
    }
    EXPECT_EQ(CountBlobs(), kernel_blobs) << "each side freed what it replaced";
    // One outcome counted per request.
    uint64_t outcomes = 0;
    for (int r = 0; r < XDPKV_REASON_COUNT; ++r) {
      const uint64_t delta = counters_after->Get(kMc, static_cast<xdpkv_reason>(r)) -
                             counters_before->Get(kMc, static_cast<xdpkv_reason>(r));
      if (delta != 0) counted[static_cast<xdpkv_reason>(r)] += delta;
      outcomes += delta;
    }
    EXPECT_EQ(outcomes, 1u);
  }
  // Every outcome came up.
  for (xdpkv_reason r :
       {XDPKV_META_SET, XDPKV_META_CAS_HIT, XDPKV_META_CAS_EXISTS, XDPKV_META_CAS_MISS}) {
    EXPECT_GT(counted[r], 10u) << kReasonNames[r];
  }
  EXPECT_EQ(counted.size(), 4u);
}

TEST_F(KernelMeta, MsRepliesAndWhatItStores) {
  struct Case {
    std::string line;
    std::string reply;  // after the frame header; empty: none
  };
  const std::vector<Case> cases = {
      {"ms a 2\r\nhi", "HD"},
      {"ms a 2 q\r\nhi", ""},
      {"ms a 2 O123 k\r\nhi", "HD O123 ka"},
      {"ms a 0 k O\r\n", "HD ka O"},
      {"ms a 2 T-1 c\r\nhi", "HD c0"},  // stored and already expired
      {"ms a 2 C1 k c\r\nhi", "NF ka c0"},
  };
  uint16_t id = 1;
  for (const Case& c : cases) {
    const std::string payload = Frame(id) + c.line + "\r\n";
    SCOPED_TRACE(Printable(payload));
    const KernelResult r = Kernel(payload);
    if (c.reply.empty()) {
      EXPECT_EQ(r.verdict, kDrop);
    } else {
      ASSERT_EQ(r.verdict, kTx);
      EXPECT_EQ(Printable(r.reply), Printable(Frame(id) + c.reply + "\r\n"));
    }
    ++id;
  }
  // A compare-and-swap: HD with the new CAS, then EX for the old one.
  auto cas = store_->Set("c", "v", 0, 0);
  ASSERT_TRUE(cas.ok());
  KernelResult r =
      Kernel(Frame(id++) + "ms c 3 C" + std::to_string(*cas) + " c F9 T100\r\nnew\r\n");
  ASSERT_EQ(r.verdict, kTx);
  auto item = Item("c");
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(r.reply, Frame(id - 1) + "HD c" + std::to_string(item->cas) + "\r\n");
  EXPECT_EQ(item->value, "new");
  EXPECT_EQ(item->flags, 9u);
  EXPECT_NE(item->expires_at_ms, 0u);
  r = Kernel(Frame(id++) + "ms c 1 C" + std::to_string(*cas) + " q\r\nx\r\n");
  ASSERT_EQ(r.verdict, kTx);
  EXPECT_EQ(r.reply, Frame(id - 1) + "EX\r\n");
  EXPECT_EQ(Item("c")->value, "new");
  // A value out of line, read back by the kernel's mg.
  const std::string value = EveryByteValue(1000, 7);
  r = Kernel(Frame(id++) + "ms blob 1000 F3\r\n" + value + "\r\n");
  ASSERT_EQ(r.verdict, kTx);
  EXPECT_EQ(CountBlobs(), 1u);
  r = Kernel(Frame(id++) + "mg blob s v f\r\n");
  ASSERT_EQ(r.verdict, kTx);
  EXPECT_EQ(r.reply, Frame(id - 1) + "VA 1000 s1000 f3\r\n" + value + "\r\n");
  r = Kernel(Frame(id++) + "ms blob 1\r\nx\r\n");
  ASSERT_EQ(r.verdict, kTx);
  EXPECT_EQ(CountBlobs(), 0u);
}

TEST_F(KernelMeta, MsIntoAFullStoreAnswersAsSet) {
  XdpConfig config;
  config.max_items_per_class = 2;
  Load(config);
  ASSERT_EQ(Kernel(Frame(1) + "ms a 1\r\na\r\n").verdict, kTx);
  ASSERT_EQ(Kernel(Frame(2) + "ms b 1\r\nb\r\n").verdict, kTx);
  const std::string third = Frame(3) + "ms c 1 q\r\nc\r\n";
  const KernelResult r = Kernel(third);
  ASSERT_EQ(r.verdict, kTx);
  EXPECT_EQ(r.reply, Frame(3) + "SERVER_ERROR out of memory storing object\r\n");
  EXPECT_EQ(Count(XDPKV_STORE_FULL), 1u);
  EXPECT_EQ(Printable(Userspace(third).at(0)), Printable(r.reply));
}

// memcached's `stats` counts the kernel's mg as gets and its ms as sets
// (and cas with C), as userspace's; userspace's own counts stay.
TEST_F(KernelMeta, StatsCountTheKernelsMetaCommands) {
  context_.xdp_counters = [this] {
    NamedCounters out;
    auto counters = loader_->ReadCounters();
    if (!counters.ok()) return out;
    for (int r = 0; r < XDPKV_REASON_COUNT; ++r) {
      out.emplace_back(absl::StrCat("xdp_memcache_", std::string(kReasonNames[r])),
                       counters->Get(kMc, static_cast<xdpkv_reason>(r)));
    }
    return out;
  };
  auto cas = store_->Set("k", "v", 0, 0);
  ASSERT_TRUE(cas.ok());
  ASSERT_EQ(Kernel(Frame(1) + "mg k v\r\n").verdict, kTx);
  ASSERT_EQ(Kernel(Frame(2) + "mg nope\r\n").verdict, kTx);
  ASSERT_EQ(Kernel(Frame(3) + "ms k 1\r\nw\r\n").verdict, kTx);
  ASSERT_EQ(Kernel(Frame(4) + "ms k 1 C1\r\nw\r\n").verdict, kTx);
  ASSERT_EQ(Kernel(Frame(5) + "ms nope 1 C1\r\nw\r\n").verdict, kTx);
  const std::vector<std::string> stats = Userspace(Frame(6) + "stats\r\n");
  std::string text;
  for (const std::string& datagram : stats) text += datagram.substr(8);
  auto stat = [&](const std::string& name) {
    const size_t at = text.find("STAT " + name + " ");
    EXPECT_NE(at, std::string::npos) << name;
    return at == std::string::npos ? -1 : std::stoll(text.substr(at + name.size() + 6));
  };
  EXPECT_EQ(stat("cmd_get"), 2);
  EXPECT_EQ(stat("get_hits"), 1);
  EXPECT_EQ(stat("get_misses"), 1);
  EXPECT_EQ(stat("cmd_set"), 3);
  EXPECT_EQ(stat("cas_badval"), 1);
  EXPECT_EQ(stat("cas_misses"), 1);
  EXPECT_EQ(stat("total_items"), 1);
  EXPECT_EQ(stat("userspace_cmd_get"), 0);
  EXPECT_EQ(stat("userspace_cmd_set"), 0);
  EXPECT_EQ(stat("xdp_memcache_meta_get_hits"), 1);
  EXPECT_EQ(stat("xdp_memcache_meta_cas_misses"), 1);
}

}  // namespace
}  // namespace xdpkv
