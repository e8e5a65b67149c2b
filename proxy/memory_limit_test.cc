// The memory limit over the real maps (docs/architecture.md, "Memory"):
// xdpkv_memory.used_bytes must equal what the kernel's own figures say the
// store's elements take, whoever wrote or deleted them (userspace through
// BpfStore, the kernel through the XDP program); a full store evicts and
// keeps storing, or (noeviction) refuses with the peers' errors and keeps
// what it has; and the kernel's accounting never passes the limit. Needs
// BPF rights (root); without them each test is skipped and says why.
#include <cstring>

#include "bpf/bpf.h"
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/bpf_store.h"
#include "proxy/store_layout.h"
#include "proxy/testing/packets.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {
namespace {

using testing::BuildPacket;
using testing::EveryByteValue;
using testing::ExpectedReply;
using testing::Frame;
using testing::Printable;
using testing::Resp;
using testing::RespCommand;
using testing::RunXdp;
using testing::kPass;
using testing::kTx;

class MemoryLimit : public ::testing::Test {
 protected:
  void Load(uint64_t limit_bytes, EvictionPolicy policy) {
    XdpConfig config;
    config.memory_limit_bytes = limit_bytes;
    auto loaded = XdpLoader::Load(config);
    if (!loaded.ok()) {
      GTEST_SKIP() << "no BPF rights here, XDP not tested: " << loaded.status().message();
    }
    loader_ = std::move(*loaded);
    store_ = BpfStore::ForLoader(*loader_);
    store_->SetEvictionPolicy(policy);
  }

  uint64_t Used() const { return __atomic_load_n(&loader_->memory()->used_bytes, __ATOMIC_RELAXED); }
  uint64_t ElementLimit() const { return loader_->memory()->limit_bytes; }

  // The kept figure equals the kernel's count of the elements at their cost.
  void ExpectAccountingExact(const char* when) {
    auto counted = loader_->CountElementBytes();
    ASSERT_TRUE(counted.ok()) << counted.status();
    EXPECT_EQ(Used(), *counted) << when;
  }

  // A kernel SET of `value` under `key`: the XDP program's verdict.
  uint32_t KernelSet(const std::string& key, const std::string& value, uint16_t id) {
    const std::string payload =
        Frame(id) + "set " + key + " 0 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\n";
    return RunXdp(loader_->program_fd(), BuildPacket(payload)).verdict;
  }

  // The one-letter key's item as stored (read under its lock).
  xdpkv_item RawItem(char key) {
    xdpkv_key16 map_key{};
    map_key.len = 1;
    map_key.bytes[0] = static_cast<__u8>(key);
    xdpkv_item item{};
    EXPECT_EQ(bpf_map_lookup_elem_flags(loader_->item_map_fds()[0], &map_key, &item, BPF_F_LOCK), 0);
    return item;
  }

  // Ages the one-letter key's recency by a minute (a raw update under the
  // item's lock).
  void AgeRecency(char key) {
    xdpkv_key16 map_key{};
    map_key.len = 1;
    map_key.bytes[0] = static_cast<__u8>(key);
    xdpkv_item item = RawItem(key);
    item.atime_ms = static_cast<__u32>(NowBootMs() - 60000);
    ASSERT_EQ(bpf_map_update_elem(loader_->item_map_fds()[0], &map_key, &item,
                                  BPF_EXIST | BPF_F_LOCK),
              0);
  }

  std::unique_ptr<XdpLoader> loader_;
  std::unique_ptr<BpfStore> store_;
};

TEST_F(MemoryLimit, UsedBytesAreWhatTheKernelAllocatedWhoeverWrote) {
  Load(0, EvictionPolicy::kNoEviction);
  EXPECT_EQ(Used(), 0u);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(store_->Set("u" + std::to_string(i), EveryByteValue(i * 40, i), 0, 0).ok());
    ASSERT_EQ(KernelSet("k" + std::to_string(i), std::string(i * 30, 'k'), 1), kTx);
  }
  ExpectAccountingExact("after inserts");
  EXPECT_GT(Used(), 100u * 256);
  // Overwrites change blobs (new class, or none); deletes by both paths.
  for (int i = 0; i < 50; i += 2) {
    ASSERT_TRUE(store_->Set("k" + std::to_string(i), "small", 0, 0).ok());
    ASSERT_EQ(KernelSet("u" + std::to_string(i), std::string(1500, 'x'), 2), kTx);
  }
  ExpectAccountingExact("after overwrites");
  for (int i = 0; i < 50; i += 3) {
    ASSERT_TRUE(store_->Delete("u" + std::to_string(i)).ok());
    const std::string del = Frame(3) + "delete k" + std::to_string(i) + "\r\n";
    ASSERT_EQ(RunXdp(loader_->program_fd(), BuildPacket(del)).verdict, kTx);
  }
  ExpectAccountingExact("after deletes");
  ASSERT_TRUE(store_->Clear().ok());
  ExpectAccountingExact("after a flush");
  EXPECT_EQ(Used(), 0u);
}

// A short key's item with an inline value fits the kernel's 256-byte class:
// 8 bytes more in xdpkv_item took 512 (half the items in the same memory,
// docs/bench/eviction.md).
TEST_F(MemoryLimit, AShortKeysItemCostsTheKernels256ByteClass) {
  Load(0, EvictionPolicy::kNoEviction);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(store_->Set("key" + std::to_string(i), std::string(128, 'v'), 0, 0).ok());
  }
  ExpectAccountingExact("after inserts");
  EXPECT_EQ(loader_->memory()->item_cost[0], 256u);
  EXPECT_EQ(Used(), 1000u * 256);
}

// Filling the store with ten times its limit, inline and out-of-line values
// from both paths: every write is stored, the newest stay readable, and the
// kernel's figures never pass the limit.
TEST_F(MemoryLimit, AFullStoreEvictsAndKeepsStoringTheNewest) {
  Load(uint64_t{8} << 20, EvictionPolicy::kAllKeysLru);
  const uint64_t limit = ElementLimit();
  ASSERT_GT(limit, 0u);
  uint64_t written = 0;
  std::vector<std::string> recent;
  for (int i = 0; written < 10 * limit && i < 200000; ++i) {
    const std::string key = "fill:" + std::to_string(i);
    const size_t len = i % 5 == 0 ? 900 : 100;  // blobs and inline values
    const std::string value = EveryByteValue(len, i);
    if (i % 2 == 0) {
      const uint32_t verdict = KernelSet(key, value, static_cast<uint16_t>(i));
      // Full: passed up, and the server writes it as userspace (evicting).
      if (verdict == kPass) ASSERT_TRUE(store_->Set(key, value, 0, 0).ok()) << key;
      else ASSERT_EQ(verdict, kTx);
    } else {
      auto stored = store_->Set(key, value, 0, 0);
      ASSERT_TRUE(stored.ok()) << key << ": " << stored.status();
    }
    written += len + key.size();
    ASSERT_LE(Used(), limit) << "after " << key;
    if (i % 1000 == 0) {
      store_->EvictForHeadroom(100000);  // the server's chore
      auto counted = loader_->CountElementBytes();
      ASSERT_TRUE(counted.ok());
      ASSERT_LE(*counted, limit) << "the kernel's figures past the limit after " << key;
    }
    recent.push_back(key);
    if (recent.size() > 20) recent.erase(recent.begin());
  }
  EXPECT_GT(store_->Memory().evicted_keys, 0u);
  for (const std::string& key : recent) {
    auto item = store_->Get(key);
    ASSERT_TRUE(item.ok());
    EXPECT_TRUE(item->has_value()) << key << " was evicted though among the newest";
  }
  ExpectAccountingExact("after filling ten times over");
}

TEST_F(MemoryLimit, NoEvictionRefusesWithThePeersErrorsAndKeepsTheData) {
  Load(uint64_t{4} << 20, EvictionPolicy::kNoEviction);
  int stored = 0;
  absl::Status refused;
  for (int i = 0; i < 100000; ++i) {
    auto result = store_->Set("keep:" + std::to_string(i), std::string(100, 'v'), 0, 0);
    if (!result.ok()) {
      refused = result.status();
      break;
    }
    ++stored;
  }
  ASSERT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_EQ(refused.message(), "out of memory storing object");
  EXPECT_LE(Used(), ElementLimit());
  // The kernel's writes are refused as the peers refuse them, not passed.
  auto reply = RunXdp(loader_->program_fd(), BuildPacket(Frame(1) + "set nk 0 0 1\r\nx\r\n"));
  EXPECT_EQ(reply.verdict, kTx);
  EXPECT_EQ(Printable(reply.packet),
            Printable(ExpectedReply(BuildPacket(Frame(1) + "set nk 0 0 1\r\nx\r\n"),
                                    Frame(1) + "SERVER_ERROR out of memory storing object\r\n")));
  const std::string resp_set = Frame(2) + RespCommand({"SET", "nk", "x"});
  reply = RunXdp(loader_->program_fd(), BuildPacket(resp_set, Resp()));
  EXPECT_EQ(Printable(reply.packet),
            Printable(ExpectedReply(
                BuildPacket(resp_set, Resp()),
                Frame(2) + "-OOM command not allowed when used memory > 'maxmemory'.\r\n")));
  // Nothing stored before was lost.
  for (int i = 0; i < stored; i += stored / 50 + 1) {
    auto item = store_->Get("keep:" + std::to_string(i));
    ASSERT_TRUE(item.ok());
    EXPECT_TRUE(item->has_value()) << i;
  }
  // Room again after a delete: the write that was refused is stored.
  ASSERT_TRUE(store_->Delete("keep:0").ok());
  EXPECT_TRUE(store_->Set("after-delete", "v", 0, 0).ok());
  ExpectAccountingExact("after refusals");
}

TEST_F(MemoryLimit, ALimitBelowTheFixedTablesIsAClearError) {
  XdpConfig config;
  config.memory_limit_bytes = 8 << 10;  // the 18 maps alone take more
  auto loaded = XdpLoader::Load(config);
  if (!loaded.ok() && loaded.status().code() == absl::StatusCode::kPermissionDenied) {
    GTEST_SKIP() << "no BPF rights here";
  }
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("fixed tables"), std::string::npos)
      << loaded.status();
}

// A hit refreshes the item's recency; the kernel writes it only when it
// changed.
TEST_F(MemoryLimit, HitsRefreshRecency) {
  Load(0, EvictionPolicy::kAllKeysLru);
  ASSERT_TRUE(store_->Set("r", "v", 0, 0).ok());
  AgeRecency('r');
  auto hit = RunXdp(loader_->program_fd(), BuildPacket(Frame(1) + "get r\r\n"));
  ASSERT_EQ(hit.verdict, kTx);
  EXPECT_LT(IdleMs(RawItem('r').atime_ms, static_cast<uint32_t>(NowBootMs())), 1000u);
}

// A userspace hit refreshes an item's recency too, once it is
// RecencyRefreshAfterMs old (each refresh is a run of the store program).
TEST_F(MemoryLimit, UserspaceHitsRefreshStaleRecency) {
  Load(0, EvictionPolicy::kAllKeysLru);
  ASSERT_TRUE(store_->Set("u", "v", 0, 0).ok());
  AgeRecency('u');
  auto hit = store_->Get("u");
  ASSERT_TRUE(hit.ok() && hit->has_value());
  const xdpkv_item item = RawItem('u');
  EXPECT_LT(IdleMs(item.atime_ms, static_cast<uint32_t>(NowBootMs())), 1000u);
  EXPECT_EQ((*hit)->cas, item.cas);  // a recency refresh is not a write
}

}  // namespace
}  // namespace xdpkv
