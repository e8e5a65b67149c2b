// Snapshots over the real maps (BpfStore): every item, inline or in a
// blob, written by userspace or by the XDP program, goes through an RDB
// into another store with its flags, CAS and expiry; each key is saved in
// one version while writers (the kernel's included) keep writing; a new
// store's pinning waits for PinStore. Needs BPF rights (root); without
// them each test is skipped and says why.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "proxy/bpf_store.h"
#include "proxy/snapshot.h"
#include "proxy/testing/packets.h"
#include "proxy/typed_value.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {
namespace {

using testing::BuildPacket;
using testing::Frame;
using testing::kTx;
using testing::RunXdp;

struct Loaded {
  std::unique_ptr<XdpLoader> loader;
  std::unique_ptr<BpfStore> store;
};

absl::StatusOr<Loaded> Load(XdpConfig config = {}) {
  if (config.memory_limit_bytes == 0) config.memory_limit_bytes = uint64_t{256} << 20;
  auto loader = XdpLoader::Load(config);
  if (!loader.ok()) return loader.status();
  Loaded loaded{std::move(*loader), nullptr};
  loaded.store = BpfStore::ForLoader(*loaded.loader);
  loaded.store->SetEvictionPolicy(EvictionPolicy::kNoEviction);
  return loaded;
}

#define LOAD_OR_SKIP(var, ...)                                                         \
  auto var##_or = Load(__VA_ARGS__);                                                   \
  if (!var##_or.ok()) {                                                                \
    GTEST_SKIP() << "no BPF rights here, not tested: " << var##_or.status().message(); \
  }                                                                                    \
  Loaded var = std::move(*var##_or)

uint32_t KernelSet(const XdpLoader& loader, const std::string& key, uint32_t flags,
                   const std::string& value, uint16_t id) {
  const std::string payload = Frame(id) + "set " + key + " " + std::to_string(flags) + " 0 " +
                              std::to_string(value.size()) + "\r\n" + value + "\r\n";
  return RunXdp(loader.program_fd(), BuildPacket(payload)).verdict;
}

std::map<std::string, StoredItem> Items(Store& store) {
  std::map<std::string, StoredItem> items;
  const absl::Status walked = store.Snapshot([&](std::string_view key, const StoredItem& item) {
    EXPECT_TRUE(items.emplace(std::string(key), item).second) << "seen twice: " << key;
    return absl::OkStatus();
  });
  EXPECT_TRUE(walked.ok()) << walked;
  return items;
}

SourceFactory Bytes(const std::string& data) {
  return [&data]() -> absl::StatusOr<std::unique_ptr<rdb::ByteSource>> {
    return std::make_unique<rdb::MemorySource>(data);
  };
}

TEST(BpfSnapshot, EveryItemOfBothPathsSurvivesARoundTrip) {
  LOAD_OR_SKIP(a);
  const uint64_t now = NowBootMs();
  for (int i = 0; i < 400; ++i) {
    const std::string key = "u" + std::to_string(i);
    // Inline (<= 128), each blob class, and the largest value.
    const size_t len = i == 0 ? (1 << 20) : static_cast<size_t>((i * 997) % 70000);
    std::string value(len, static_cast<char>('a' + i % 26));
    if (len > 10) value.replace(0, key.size(), key);
    ASSERT_TRUE(
        a.store->Set(key, value, static_cast<uint32_t>(i), i % 3 ? 0 : now + 3'600'000 + i).ok());
  }
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(KernelSet(*a.loader, "k" + std::to_string(i), 1000 + i,
                        std::string(static_cast<size_t>(i * 20), 'k'), static_cast<uint16_t>(i)),
              kTx);
  }
  const auto want = Items(*a.store);
  ASSERT_EQ(want.size(), 500u);

  rdb::StringSink sink;
  SaveOptions save;
  save.unix_minus_boot_ms = UnixMinusBootMs();
  auto saved = WriteRdb(*a.store, &sink, save);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->keys, 500u);

  LOAD_OR_SKIP(b);
  LoadOptions load;
  load.unix_minus_boot_ms = save.unix_minus_boot_ms;
  load.now_unix_ms = static_cast<int64_t>(NowBootMs()) + load.unix_minus_boot_ms;
  auto loaded = LoadRdb(*b.store, Bytes(sink.data), load);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->loaded, 500u);
  const auto got = Items(*b.store);
  ASSERT_EQ(got.size(), want.size());
  uint64_t max_cas = 0;
  for (const auto& [key, item] : want) {
    const StoredItem& other = got.at(key);
    EXPECT_EQ(other.value, item.value) << key;
    EXPECT_EQ(other.flags, item.flags) << key;
    EXPECT_EQ(other.cas, item.cas) << key;
    EXPECT_EQ(other.expires_at_ms, item.expires_at_ms) << key;
    max_cas = std::max(max_cas, item.cas);
  }
  EXPECT_EQ(b.store->Writes(), 0u);
  // Writes after the load, by either path, get CAS uniques above every
  // restored one.
  auto cas = b.store->Set("after", "x", 0, 0);
  ASSERT_TRUE(cas.ok());
  EXPECT_GT(*cas, max_cas);
  ASSERT_EQ(KernelSet(*b.loader, "kafter", 0, "y", 1), kTx);
  EXPECT_GT((*b.store->Get("kafter"))->cas, max_cas);
}

// The value a writer puts under `key` in generation `gen`: its length and
// bytes follow from (key, gen), and the flags are gen, so a saved item
// mixing two versions shows.
std::string VersionValue(const std::string& key, uint32_t gen) {
  std::string value = absl::StrCat(key, "|", gen, "|");
  const size_t len = std::max<size_t>(value.size(), 8 + (gen * 131) % 3000);  // inline and blobs
  for (size_t i = value.size(); i < len; ++i) value += static_cast<char>('a' + (gen + i) % 26);
  return value;
}

TEST(BpfSnapshot, EachKeyIsSavedInOneVersionWhileWritersRun) {
  LOAD_OR_SKIP(a);
  constexpr int kKeys = 300;
  for (int k = 0; k < kKeys; ++k) {
    const std::string key = "c" + std::to_string(k);
    ASSERT_TRUE(a.store->Set(key, VersionValue(key, 0), 0, 0).ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> writes{0}, kernel_writes{0};
  // Userspace writers and one writer through the XDP program (values up
  // to 2048 bytes: the kernel's write limit).
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([&, t] {
      for (uint32_t gen = 1; !stop.load() && gen < 1'000'000; ++gen) {
        const std::string key = "c" + std::to_string((gen * 7 + t) % kKeys);
        if (t == 1 && gen % 2 == 0) {
          std::string value = VersionValue(key, gen);
          if (value.size() <= 2048) {
            if (KernelSet(*a.loader, key, gen, value, static_cast<uint16_t>(gen)) == kTx) {
              kernel_writes.fetch_add(1);
            }
          }
        } else {
          (void)a.store->Set(key, VersionValue(key, gen), gen, 0);
        }
        writes.fetch_add(1);
      }
    });
  }
  for (int round = 0; round < 20; ++round) {
    const auto items = Items(*a.store);
    EXPECT_EQ(items.size(), static_cast<size_t>(kKeys));
    for (const auto& [key, item] : items) {
      ASSERT_EQ(item.value, VersionValue(key, item.flags))
          << key << " saved with flags " << item.flags << " and another version's value";
    }
  }
  stop = true;
  for (std::thread& w : writers) w.join();
  EXPECT_GT(writes.load(), 0u);
  EXPECT_GT(kernel_writes.load(), 0u);
}

TEST(BpfSnapshot, WritesCountsWhatRedisCountsAsDirty) {
  LOAD_OR_SKIP(a);
  ASSERT_TRUE(a.store->Set("a", "1", 0, 0).ok());
  ASSERT_TRUE(a.store->Set("b", "1", 0, 0).ok());
  ASSERT_TRUE(*a.store->Delete("a"));
  ASSERT_FALSE(*a.store->Delete("a"));  // nothing deleted: not a write
  ASSERT_TRUE(
      a.store
          ->Mutate("b", [](const std::optional<StoredItem>&) { return Mutation::Write("2", 0, 0); })
          .ok());
  ASSERT_TRUE(
      a.store->Mutate("b", [](const std::optional<StoredItem>&) { return Mutation::Keep(); }).ok());
  ASSERT_TRUE(
      a.store->Restore("r", "1", 0, 0, 77, ValueType::kString).ok());  // a load: not a write
  ASSERT_TRUE(a.store->Restore("r", std::string(5000, 'r'), 5, 0, 78, ValueType::kString)
                  .ok());  // over a key
  auto r = a.store->Get("r");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->value, std::string(5000, 'r'));
  EXPECT_EQ((*r)->flags, 5u);
  EXPECT_EQ((*r)->cas, 78u);
  EXPECT_EQ(a.store->Writes(), 4u);
  EXPECT_EQ(*a.store->Clear(), 2u);
  EXPECT_EQ(a.store->Writes(), 6u);
}

// Collections (inline and in blobs) in several databases, through a dump
// into another store: each in its database, its type, its TTL; the
// kernel then treats a loaded hash as a hash (userspace's WRONGTYPE), and
// the loaded store's memory is accounted as the first one's.
TEST(BpfSnapshot, EveryTypeInEveryDatabaseSurvivesARoundTrip) {
  LOAD_OR_SKIP(a);
  const uint64_t now = NowBootMs();
  for (int db : {0, 5, 15}) {
    Store& store = *a.store->Database(db);
    for (int i = 0; i < 50; ++i) {
      const std::string n = absl::StrCat(db, ":", i);
      const size_t size = 1 + static_cast<size_t>(i * i % 400);  // inline to blobs
      HashValue hash;
      ListValue list;
      SetValue set;
      ZSetValue zset;
      for (size_t e = 0; e < size; ++e) {
        hash.Set(absl::StrCat("f", e), std::string(e % 30, 'v'));
        list.elements().push_back(std::to_string(e));
        set.Add(i % 2 ? std::to_string(e) : absl::StrCat("m", e));
        zset.Set(absl::StrCat("z", e), static_cast<double>(e % 9) / 4);
      }
      const uint64_t expiry = i % 2 ? now + 3'600'000 : 0;
      const std::pair<std::string, ValueType> values[] = {{hash.Encode(), ValueType::kHash},
                                                          {list.Encode(), ValueType::kList},
                                                          {set.Encode(), ValueType::kSet},
                                                          {zset.Encode(), ValueType::kZSet}};
      for (const auto& value : values) {
        const std::string& encoded = value.first;
        const ValueType type = value.second;
        const std::string key = absl::StrCat(static_cast<int>(type), ":", n);
        ASSERT_TRUE(store
                        .Mutate(key,
                                [&](const std::optional<StoredItem>&) {
                                  return Mutation::Write(encoded, 0, expiry, type);
                                })
                        .ok());
      }
    }
  }
  ASSERT_EQ(KernelSet(*a.loader, "k", 7, "kernel", 1), kTx);
  size_t db0_keys = 0;
  auto sizes = a.store->SnapshotCountingDatabases([&](std::string_view, const StoredItem&) {
    ++db0_keys;
    return absl::OkStatus();
  });
  ASSERT_TRUE(sizes.ok()) << sizes.status();
  EXPECT_EQ(db0_keys, 201u);
  EXPECT_EQ((*sizes)[0].keys, 201u);
  EXPECT_EQ((*sizes)[5].keys, 200u);
  EXPECT_EQ((*sizes)[5].expires, 100u);
  EXPECT_EQ((*sizes)[1].keys, 0u);

  rdb::StringSink sink;
  SaveOptions save;
  save.unix_minus_boot_ms = UnixMinusBootMs();
  auto saved = WriteRdb(*a.store, &sink, save);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->keys, 601u);

  LOAD_OR_SKIP(b);
  const uint64_t empty_store_bytes = b.store->Memory().used_bytes;
  LoadOptions load;
  load.unix_minus_boot_ms = save.unix_minus_boot_ms;
  load.now_unix_ms = static_cast<int64_t>(NowBootMs()) + load.unix_minus_boot_ms;
  auto loaded = LoadRdb(*b.store, Bytes(sink.data), load);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->loaded, 601u);
  for (int db : {0, 5, 15}) {
    const auto want = Items(*a.store->Database(db));
    const auto got = Items(*b.store->Database(db));
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [key, item] : want) {
      const StoredItem& other = got.at(key);
      EXPECT_EQ(other.type, item.type) << key;
      EXPECT_EQ(other.value, item.value) << key;
      EXPECT_EQ(other.cas, item.cas) << key;
      EXPECT_EQ(other.expires_at_ms, item.expires_at_ms) << key;
    }
  }
  EXPECT_EQ(b.store->Memory().used_bytes - empty_store_bytes,
            a.store->Memory().used_bytes - empty_store_bytes);
  const std::string get =
      BuildPacket(Frame(2) + testing::RespCommand({"GET", "1:0:3"}), testing::Resp());
  EXPECT_EQ(RunXdp(b.loader->program_fd(), get).verdict, testing::kPass);  // a hash: WRONGTYPE
}

// After SWAPDB the map keys carry other numbers than the databases'
// (database 0's items moved through the spare): a dump still holds each
// key under the database number that names it.
TEST(BpfSnapshot, SwappedDatabasesAreSavedUnderTheirNumbers) {
  LOAD_OR_SKIP(a);
  for (int db : {0, 1, 2, 3}) {
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(a.store->Database(db)->Set(absl::StrCat("k", db, ":", i), "v", 0, 0).ok());
    }
  }
  ASSERT_TRUE(a.store->SwapDatabases(1, 5).ok());  // 1 empty now, 5 holds k1:*
  ASSERT_TRUE(a.store->SwapDatabases(0, 2).ok());  // moves items through the spare
  ASSERT_TRUE(a.store->SwapDatabases(2, 3).ok());
  rdb::StringSink sink;
  SaveOptions save;
  save.unix_minus_boot_ms = UnixMinusBootMs();
  auto saved = WriteRdb(*a.store, &sink, save);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->keys, 80u);
  LOAD_OR_SKIP(b);
  LoadOptions load;
  load.unix_minus_boot_ms = save.unix_minus_boot_ms;
  load.now_unix_ms = static_cast<int64_t>(NowBootMs()) + load.unix_minus_boot_ms;
  ASSERT_TRUE(LoadRdb(*b.store, Bytes(sink.data), load).ok());
  for (int db = 0; db < kDatabases; ++db) {
    const auto want = Items(*a.store->Database(db));
    const auto got = Items(*b.store->Database(db));
    EXPECT_EQ(got.size(), want.size()) << db;
    for (const auto& [key, item] : want) EXPECT_TRUE(got.contains(key)) << db << " " << key;
  }
  EXPECT_EQ(Items(*b.store->Database(5)).size(), 20u);
  EXPECT_TRUE(Items(*b.store->Database(5)).contains("k1:0"));
  EXPECT_TRUE(Items(*b.store).contains("k2:0"));
  EXPECT_TRUE(Items(*b.store->Database(2)).contains("k3:0"));
  EXPECT_TRUE(Items(*b.store->Database(3)).contains("k0:0"));
}

TEST(BpfSnapshot, ANewStoreIsPinnedOnlyByPinStore) {
  const std::string dir = absl::StrCat("/sys/fs/bpf/xdpkv-rdb-test-", getpid());
  XdpConfig config;
  config.pin_dir = dir;
  config.defer_pinning_new_store = true;
  {
    LOAD_OR_SKIP(a, config);
    EXPECT_TRUE(a.loader->store_created());
    EXPECT_FALSE(std::filesystem::exists(dir + "/xdpkv_items_k16"));
    ASSERT_TRUE(a.store->Set("kept", "1", 0, 0).ok());
    ASSERT_TRUE(a.loader->PinStore().ok());
    EXPECT_TRUE(std::filesystem::exists(dir + "/xdpkv_items_k16"));
  }
  {
    LOAD_OR_SKIP(b, config);
    EXPECT_FALSE(b.loader->store_created());
    EXPECT_TRUE((*b.store->Get("kept")).has_value());
  }
  {
    // Dropped with fresh and never pinned: the next load finds no store.
    config.fresh = true;
    LOAD_OR_SKIP(c, config);
    EXPECT_TRUE(c.loader->store_created());
  }
  config.fresh = false;
  {
    LOAD_OR_SKIP(d, config);
    EXPECT_TRUE(d.loader->store_created());
    EXPECT_FALSE((*d.store->Get("kept")).has_value());
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace xdpkv
