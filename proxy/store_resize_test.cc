// Restarting over a pinned store with another memory limit, or a store of
// another layout (proxy/store_resize.h): every item that fits is kept with
// its value, flags, CAS and expiry; a smaller limit evicts by the policy
// and the kernel's figures end within it; what cannot be read is refused
// with a clear message. Needs BPF rights (root); skipped without them.
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bpf/bpf.h"
#include "gtest/gtest.h"
#include "proxy/bpf_store.h"
#include "proxy/store_layout.h"
#include "proxy/store_resize.h"
#include "proxy/testing/packets.h"
#include "proxy/testing/pin_dir.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {
namespace {

using testing::EveryByteValue;
using testing::PinDir;

class StoreResize : public ::testing::Test {
 protected:
  // Loads the store pinned in dir_ with `megabytes` as its limit.
  absl::Status Load(uint64_t megabytes, EvictionPolicy policy = EvictionPolicy::kAllKeysLru) {
    store_.reset();
    loader_.reset();
    XdpConfig config;
    config.pin_dir = dir_.path();
    config.memory_limit_bytes = megabytes << 20;
    config.eviction_policy = policy;
    auto loaded = XdpLoader::Load(config);
    if (!loaded.ok()) return loaded.status();
    loader_ = std::move(*loaded);
    store_ = BpfStore::ForLoader(*loader_);
    store_->SetEvictionPolicy(policy);
    return absl::OkStatus();
  }

  // Skips the test when BPF is not allowed here.
  bool LoadOrSkip(uint64_t megabytes, EvictionPolicy policy = EvictionPolicy::kAllKeysLru) {
    if (geteuid() != 0) return false;
    auto status = Load(megabytes, policy);
    EXPECT_TRUE(status.ok()) << status;
    return status.ok();
  }

  uint64_t Used() const {
    return __atomic_load_n(&loader_->memory()->used_bytes, __ATOMIC_RELAXED);
  }

  void ExpectAccountingExact(const char* when) {
    auto counted = loader_->CountElementBytes();
    ASSERT_TRUE(counted.ok()) << counted.status();
    EXPECT_EQ(Used(), *counted) << when;
  }

  // Userspace SETs of `value` under key:N until the store holds 10 MB;
  // returns how many.
  int WriteTenMegabytes(const std::string& value) {
    int n = 0;
    for (; n < 60000 && Used() < (uint64_t{10} << 20); ++n) {
      EXPECT_TRUE(store_->Set("key:" + std::to_string(n), value, 0, 0).ok());
    }
    return n;
  }

  PinDir dir_{"resize-test"};
  std::unique_ptr<XdpLoader> loader_;
  std::unique_ptr<BpfStore> store_;
};

TEST_F(StoreResize, ALargerLimitKeepsEveryItemAsItWas) {
  if (!LoadOrSkip(8)) GTEST_SKIP() << "no BPF rights here";
  const uint64_t expiry = NowBootMs() + 3600 * 1000;
  std::vector<std::pair<std::string, uint64_t>> written;
  for (int i = 0; i < 300; ++i) {
    const std::string key = std::string(1 + i % 200, 'k') + std::to_string(i);  // every class
    const size_t len = i % 3 == 0 ? 3000 : i % 3 == 1 ? 100 : 5000;            // inline, blobs
    auto cas = store_->Set(key, EveryByteValue(len, i), static_cast<uint32_t>(i),
                           i % 2 == 0 ? expiry : 0);
    ASSERT_TRUE(cas.ok()) << cas.status();
    written.emplace_back(key, *cas);
  }
  ASSERT_EQ(store_->Memory().evicted_keys, 0u);
  const uint64_t used_before = Used();

  ASSERT_EQ(Load(32), absl::OkStatus());
  EXPECT_FALSE(loader_->resize_summary().empty());
  // A resized store is a kept one: a dump is not loaded over it.
  EXPECT_FALSE(loader_->store_created());
  EXPECT_NE(loader_->resize_summary().find("kept 300 of 300 items"), std::string::npos)
      << loader_->resize_summary();
  ExpectAccountingExact("after growing");
  EXPECT_EQ(Used(), used_before);
  for (int i = 0; i < 300; ++i) {
    auto item = store_->Get(written[i].first);
    ASSERT_TRUE(item.ok() && item->has_value()) << written[i].first;
    const size_t len = i % 3 == 0 ? 3000 : i % 3 == 1 ? 100 : 5000;
    EXPECT_EQ((*item)->value, EveryByteValue(len, i));
    EXPECT_EQ((*item)->flags, static_cast<uint32_t>(i));
    EXPECT_EQ((*item)->cas, written[i].second);
    EXPECT_EQ((*item)->expires_at_ms, i % 2 == 0 ? expiry : 0);
  }
  // The next start with the same limit reuses the pins as they are.
  ASSERT_EQ(Load(32), absl::OkStatus());
  EXPECT_TRUE(loader_->resize_summary().empty()) << loader_->resize_summary();
  auto item = store_->Get(written[7].first);
  ASSERT_TRUE(item.ok() && item->has_value());
}

TEST_F(StoreResize, ASmallerLimitEvictsTheLeastRecentlyUsedAndEndsWithinIt) {
  if (!LoadOrSkip(16)) GTEST_SKIP() << "no BPF rights here";
  // ~10 MB of items, then the first hundred read again: the most recent.
  const std::string value(100, 'v');
  const int n = WriteTenMegabytes(value);
  ASSERT_EQ(store_->Memory().evicted_keys, 0u);
  usleep(20 * 1000);  // the reads' recency is later than every write's
  for (int i = 0; i < 100; ++i) {
    xdpkv_key16 map_key{};
    const std::string key = "key:" + std::to_string(i);
    map_key.len = static_cast<__u32>(key.size());
    std::memcpy(map_key.bytes, key.data(), key.size());
    xdpkv_item item{};
    ASSERT_EQ(bpf_map_lookup_elem_flags(loader_->item_map_fds()[0], &map_key, &item, BPF_F_LOCK), 0);
    item.atime_ms = static_cast<__u32>(NowBootMs());
    ASSERT_EQ(bpf_map_update_elem(loader_->item_map_fds()[0], &map_key, &item,
                                  BPF_EXIST | BPF_F_LOCK),
              0);
  }

  ASSERT_EQ(Load(8), absl::OkStatus());
  EXPECT_NE(loader_->resize_summary().find("evicted"), std::string::npos);
  ExpectAccountingExact("after shrinking");
  EXPECT_LE(Used(), loader_->memory()->limit_bytes);
  auto counted = loader_->CountElementBytes();
  ASSERT_TRUE(counted.ok());
  EXPECT_LE(*counted + loader_->fixed_bytes(), uint64_t{8} << 20);
  for (int i = 0; i < 100; ++i) {
    auto item = store_->Get("key:" + std::to_string(i));
    ASSERT_TRUE(item.ok());
    EXPECT_TRUE(item->has_value()) << "key:" << i << " was read last, but evicted";
  }
  // The oldest writes after the reads were the first evicted.
  int oldest_kept = 0;
  for (int i = 100; i < 1100; ++i) {
    auto item = store_->Get("key:" + std::to_string(i));
    ASSERT_TRUE(item.ok());
    oldest_kept += item->has_value() ? 1 : 0;
  }
  EXPECT_EQ(oldest_kept, 0);
  auto newest = store_->Get("key:" + std::to_string(n - 1));
  ASSERT_TRUE(newest.ok());
  EXPECT_TRUE(newest->has_value());
  // And the store goes on: writes evict as usual.
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(store_->Set("more:" + std::to_string(i), value, 0, 0).ok());
  }
  ExpectAccountingExact("after more writes");
}

TEST_F(StoreResize, ASmallerLimitUnderNoevictionKeepsEverythingAndRefusesWrites) {
  if (!LoadOrSkip(16, EvictionPolicy::kNoEviction)) GTEST_SKIP() << "no BPF rights here";
  const std::string value(100, 'v');
  const int n = WriteTenMegabytes(value);
  ASSERT_EQ(Load(8, EvictionPolicy::kNoEviction), absl::OkStatus());
  EXPECT_NE(loader_->resize_summary().find(absl::StrCat("kept ", n, " of ", n)),
            std::string::npos)
      << loader_->resize_summary();
  ExpectAccountingExact("after shrinking");
  for (int i = 0; i < n; i += 997) {
    auto item = store_->Get("key:" + std::to_string(i));
    ASSERT_TRUE(item.ok() && item->has_value()) << i;
  }
  auto refused = store_->Set("one more", value, 0, 0);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
}

// The same with out-of-line and chunked values: the new maps hold them all
// (sized for -m 8, the chunk map had room for 128 chunks, not 160).
TEST_F(StoreResize, NoevictionKeepsLargeValuesOverASmallerLimitToo) {
  if (!LoadOrSkip(16, EvictionPolicy::kNoEviction)) GTEST_SKIP() << "no BPF rights here";
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) {
    keys.push_back("chunked:" + std::to_string(i));
    ASSERT_TRUE(store_->Set(keys.back(), EveryByteValue(200 << 10, i), 0, 0).ok());
    keys.push_back("blob:" + std::to_string(i));
    ASSERT_TRUE(store_->Set(keys.back(), EveryByteValue(5000, i), 0, 0).ok());
  }
  ASSERT_EQ(Load(8, EvictionPolicy::kNoEviction), absl::OkStatus());
  ExpectAccountingExact("after shrinking");
  EXPECT_GT(Used(), loader_->memory()->limit_bytes);
  for (size_t i = 0; i < keys.size(); ++i) {
    auto item = store_->Get(keys[i]);
    ASSERT_TRUE(item.ok() && item->has_value()) << keys[i];
    EXPECT_EQ((*item)->value,
              EveryByteValue(i % 2 == 0 ? 200 << 10 : 5000, static_cast<int>(i / 2)));
  }
}

// A limit below the new maps' fixed tables is refused before anything is
// copied, and a map a resize pinned beside its old one but did not rename
// (a crash between the two) is removed by the next start.
TEST_F(StoreResize, RefusedAndInterruptedResizesLeaveTheStoreAsItWas) {
  if (!LoadOrSkip(8)) GTEST_SKIP() << "no BPF rights here";
  ASSERT_TRUE(store_->Set("kept", "yes", 0, 0).ok());
  store_.reset();
  loader_.reset();
  XdpConfig tiny;
  tiny.pin_dir = dir_.path();
  tiny.memory_limit_bytes = 8 << 10;
  auto refused = XdpLoader::Load(tiny);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("fixed tables"), std::string::npos)
      << refused.status();

  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
  const int stray = bpf_map_create(BPF_MAP_TYPE_HASH, "stray", 8, 8, 8, &opts);
  ASSERT_GE(stray, 0) << std::strerror(errno);
  const std::string stray_pin = dir_.path() + "/xdpkv_items_k16__resizing";
  ASSERT_EQ(bpf_obj_pin(stray, stray_pin.c_str()), 0) << std::strerror(errno);
  close(stray);

  ASSERT_EQ(Load(8), absl::OkStatus());
  EXPECT_TRUE(loader_->resize_summary().empty()) << "the refused start resized the store";
  EXPECT_FALSE(std::filesystem::exists(stray_pin));
  auto item = store_->Get("kept");
  ASSERT_TRUE(item.ok() && item->has_value());
}

// A store laid out in other key classes (a key class this version does not
// have; the same key left in two maps by a resize interrupted while pinning)
// is copied into this version's classes, the newer write of a key winning.
TEST_F(StoreResize, AnotherLayoutsItemsMoveToThisLayoutsClasses) {
  if (!LoadOrSkip(8)) GTEST_SKIP() << "no BPF rights here";
  ASSERT_TRUE(store_->Set("in a class of its own", "old layout", 5, 0).ok());
  auto older = store_->Set("twice", "older", 0, 0);
  ASSERT_TRUE(older.ok());
  auto newer = store_->Set("twice", "newer", 0, 0);
  ASSERT_TRUE(newer.ok());
  ASSERT_GT(*newer, *older);
  // A map named as no class of this version, with a 48-byte key class,
  // holding the first key (moved out of its class) and the older "twice".
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
  const int other = bpf_map_create(BPF_MAP_TYPE_HASH, "xdpkv_items_k48", 4 + 48,
                                   sizeof(xdpkv_item), 64, &opts);
  ASSERT_GE(other, 0) << std::strerror(errno);
  auto move_key = [&](const std::string& key, bool delete_from_class, uint64_t cas) {
    const size_t cls = KeyClassOf(key.size());
    std::string class_key(4 + kKeyClassBytes[cls], '\0'), other_key(4 + 48, '\0');
    const uint32_t len = static_cast<uint32_t>(key.size());
    std::memcpy(class_key.data(), &len, 4);
    std::memcpy(class_key.data() + 4, key.data(), key.size());
    std::memcpy(other_key.data(), class_key.data(), 4 + key.size());
    xdpkv_item item{};
    ASSERT_EQ(bpf_map_lookup_elem(loader_->item_map_fds()[cls], class_key.data(), &item), 0);
    item.cas = cas;
    ASSERT_EQ(bpf_map_update_elem(other, other_key.data(), &item, BPF_NOEXIST), 0);
    if (delete_from_class) {
      ASSERT_EQ(bpf_map_delete_elem(loader_->item_map_fds()[cls], class_key.data()), 0);
    }
  };
  move_key("in a class of its own", true, *newer + 1);
  move_key("twice", false, *older);
  // A value over 64 KiB as versions before chunks kept it: one blob in a
  // 1 MiB class.
  const std::string big = EveryByteValue(300 << 10, 3);
  ASSERT_TRUE(store_->Set("big", big, 0, 0).ok());
  auto big_item = store_->Get("big");
  ASSERT_TRUE(big_item.ok() && big_item->has_value());
  const int old_blobs = bpf_map_create(BPF_MAP_TYPE_HASH, "xdpkv_blobs_1m", 8,
                                       sizeof(xdpkv_blob_header) + (1 << 20), 8, &opts);
  ASSERT_GE(old_blobs, 0) << std::strerror(errno);
  {
    auto chunk = std::make_unique<xdpkv_chunk>();
    xdpkv_chunk_key first{(*big_item)->cas, 0, 0};  // a fresh value's blob id is its CAS
    ASSERT_EQ(bpf_map_lookup_elem(loader_->chunk_map_fd(), &first, chunk.get()), 0);
    std::vector<uint8_t> blob(sizeof(xdpkv_blob_header) + (1 << 20));
    std::memcpy(blob.data(), &chunk->header, sizeof(chunk->header));
    std::memcpy(blob.data() + sizeof(chunk->header), big.data(), big.size());
    ASSERT_EQ(bpf_map_update_elem(old_blobs, &first.blob_id, blob.data(), BPF_NOEXIST), 0);
    for (uint32_t i = 0; i < ChunkCount(big.size()); ++i) {
      const xdpkv_chunk_key key{first.blob_id, i, 0};
      ASSERT_EQ(bpf_map_delete_elem(loader_->chunk_map_fd(), &key), 0);
    }
  }
  const std::string old_blobs_pin = dir_.path() + "/xdpkv_blobs_1m";
  ASSERT_EQ(bpf_obj_pin(old_blobs, old_blobs_pin.c_str()), 0) << std::strerror(errno);
  close(old_blobs);
  const std::string other_pin = dir_.path() + "/xdpkv_items_k48";
  ASSERT_EQ(bpf_obj_pin(other, other_pin.c_str()), 0) << std::strerror(errno);
  close(other);

  ASSERT_EQ(Load(8), absl::OkStatus());
  EXPECT_NE(loader_->resize_summary().find("kept 3 of 4 items"), std::string::npos)
      << loader_->resize_summary();
  EXPECT_FALSE(std::filesystem::exists(other_pin)) << "the old layout's map is still pinned";
  EXPECT_FALSE(std::filesystem::exists(old_blobs_pin));
  auto chunked = store_->Get("big");
  ASSERT_TRUE(chunked.ok() && chunked->has_value());
  EXPECT_EQ((*chunked)->value, big);
  ExpectAccountingExact("after the move");
  auto moved = store_->Get("in a class of its own");
  ASSERT_TRUE(moved.ok() && moved->has_value());
  EXPECT_EQ((*moved)->value, "old layout");
  EXPECT_EQ((*moved)->flags, 5u);
  auto twice = store_->Get("twice");
  ASSERT_TRUE(twice.ok() && twice->has_value());
  EXPECT_EQ((*twice)->value, "newer");
  EXPECT_EQ((*twice)->cas, *newer);
}

TEST_F(StoreResize, AnUnreadableStoreIsRefusedAndFreshDropsItWhole) {
  if (!LoadOrSkip(8)) GTEST_SKIP() << "no BPF rights here";
  ASSERT_TRUE(store_->Set("kept?", "no", 0, 0).ok());
  store_.reset();
  loader_.reset();
  // An item map of another item size: not something this version can read.
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
  const int other = bpf_map_create(BPF_MAP_TYPE_HASH, "xdpkv_items_k8", 4 + 8, 200, 64, &opts);
  ASSERT_GE(other, 0) << std::strerror(errno);
  const std::string other_pin = dir_.path() + "/xdpkv_items_k8";
  ASSERT_EQ(bpf_obj_pin(other, other_pin.c_str()), 0) << std::strerror(errno);
  close(other);
  auto status = Load(8);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("xdpkv_items_k8"), std::string::npos) << status;
  EXPECT_NE(status.message().find("--fresh"), std::string::npos) << status;
  EXPECT_TRUE(std::filesystem::exists(other_pin)) << "a refused start changed the store";

  XdpConfig config;
  config.pin_dir = dir_.path();
  config.memory_limit_bytes = uint64_t{8} << 20;
  config.fresh = true;
  auto loaded = XdpLoader::Load(config);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_FALSE(std::filesystem::exists(other_pin)) << "--fresh left the old layout's map";
  auto store = BpfStore::ForLoader(**loaded);
  auto item = store->Get("kept?");
  ASSERT_TRUE(item.ok());
  EXPECT_FALSE(item->has_value());
}

}  // namespace
}  // namespace xdpkv
