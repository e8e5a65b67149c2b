// Snapshots of every type in every database, over the in-memory store:
// round trips of hashes, lists, sets and sorted sets with their TTLs,
// flags and CAS; Redis's old encodings loaded and served by the commands
// (WRONGTYPE included); what a load leaves out (too large, empty) and a
// save leaves out (a corrupt stored value), each counted.
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "proxy/handlers.h"
#include "proxy/rdb/rdb_reader.h"
#include "proxy/snapshot.h"
#include "proxy/testing/memory_store.h"
#include "proxy/typed_value.h"

namespace xdpkv {
namespace {

constexpr int64_t kUnixMinusBoot = 1'700'000'000'000;

SourceFactory Bytes(const std::string& data) {
  return [&data]() -> absl::StatusOr<std::unique_ptr<rdb::ByteSource>> {
    return std::make_unique<rdb::MemorySource>(data);
  };
}

std::string Save(Store& store, SaveResult* result = nullptr) {
  rdb::StringSink sink;
  SaveOptions options;
  options.unix_minus_boot_ms = kUnixMinusBoot;
  auto saved = WriteRdb(store, &sink, options);
  EXPECT_TRUE(saved.ok()) << saved.status();
  if (result != nullptr && saved.ok()) *result = *saved;
  return sink.data;
}

LoadOptions At(uint64_t boot_ms) {
  LoadOptions options;
  options.unix_minus_boot_ms = kUnixMinusBoot;
  options.now_unix_ms = static_cast<int64_t>(boot_ms) + kUnixMinusBoot;
  return options;
}

std::map<std::string, StoredItem> Items(Store& store) {
  std::map<std::string, StoredItem> items;
  EXPECT_TRUE(store
                  .Snapshot([&](std::string_view key, const StoredItem& item) {
                    items[std::string(key)] = item;
                    return absl::OkStatus();
                  })
                  .ok());
  return items;
}

void Put(Store& store, const std::string& key, std::string encoded, ValueType type,
         uint64_t expires_at_ms) {
  ASSERT_TRUE(store
                  .Mutate(key,
                          [&](const std::optional<StoredItem>&) {
                            return Mutation::Write(encoded, 0, expires_at_ms, type);
                          })
                  .ok());
}

// Collections of each type, of 1 to ~600 elements (intsets and hash-table
// sets, integers and text, empty strings), in four databases.
TEST(TypedSnapshot, EveryTypeInEveryDatabaseSurvivesARoundTrip) {
  testing::MemoryStore from;
  from.max_items = 10000;
  from.has_databases = true;
  for (int db : {0, 1, 7, 15}) {
    Store& store = *from.Database(db);
    for (int i = 0; i < 200; ++i) {
      const std::string n = absl::StrCat(db, ":", i);
      const size_t size = 1 + static_cast<size_t>((i * 37) % 600);
      const uint64_t expiry = i % 3 == 0 ? 2'000'000 + static_cast<uint64_t>(i) : 0;
      HashValue hash;
      ListValue list;
      SetValue set;
      ZSetValue zset;
      for (size_t e = 0; e < size; ++e) {
        hash.Set(absl::StrCat("f", e), e % 5 == 0 ? "" : std::string(e % 90, 'v'));
        list.elements().push_back(e % 2 ? std::to_string(e) : std::string(e % 70, 'l'));
        set.Add(i % 2 ? std::to_string(e * 7 - 100) : absl::StrCat("m", e));
        zset.Set(absl::StrCat("z", e), e % 7 == 0 ? -1.0 / 3 : static_cast<double>(e % 11));
      }
      Put(store, "h" + n, hash.Encode(), ValueType::kHash, expiry);
      Put(store, "l" + n, list.Encode(), ValueType::kList, expiry);
      Put(store, "s" + n, set.Encode(), ValueType::kSet, expiry);
      Put(store, "z" + n, zset.Encode(), ValueType::kZSet, expiry);
      ASSERT_TRUE(store.Set("str" + n, n, static_cast<uint32_t>(i), expiry).ok());
    }
  }
  const std::string file = Save(from);
  // One SELECTDB per database that has keys, each key in its own.
  rdb::MemorySource source(file);
  rdb::Reader reader(&source);
  std::map<uint64_t, size_t> keys_per_db;
  for (rdb::Event event; *reader.Next(&event) != rdb::Event::kEnd;) {
    if (event.kind == rdb::Event::kKey) ++keys_per_db[event.entry.db];
  }
  EXPECT_EQ(keys_per_db, (std::map<uint64_t, size_t>{{0, 1000}, {1, 1000}, {7, 1000}, {15, 1000}}));

  testing::MemoryStore to;
  to.max_items = 10000;
  to.has_databases = true;
  auto loaded = LoadRdb(to, Bytes(file), At(1'000'000));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->loaded, 4000u);
  EXPECT_EQ(loaded->with_meta, 4000u);
  EXPECT_TRUE(loaded->warnings.empty()) << loaded->warnings[0];
  for (int db = 0; db < kDatabases; ++db) {
    const auto want = Items(*from.Database(db));
    const auto got = Items(*to.Database(db));
    ASSERT_EQ(got.size(), want.size()) << db;
    for (const auto& [key, item] : want) {
      const StoredItem& other = got.at(key);
      EXPECT_EQ(other.type, item.type) << key;
      EXPECT_EQ(other.value, item.value) << key;  // the same encoding, byte for byte
      EXPECT_EQ(other.flags, item.flags) << key;
      EXPECT_EQ(other.cas, item.cas) << key;
      EXPECT_EQ(other.expires_at_ms, item.expires_at_ms) << key;
    }
  }
  // Expired by the time of a later load: dropped, whatever the type.
  testing::MemoryStore later;
  later.max_items = 10000;
  later.has_databases = true;
  loaded = LoadRdb(later, Bytes(file), At(3'000'000));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->expired, 4u * 5 * 67);
}

std::string Resp(Store& store, std::vector<std::string_view> args) {
  ServerStats stats;
  RuntimeConfig runtime;
  ServerContext context;
  context.now_boot_ms = [] { return uint64_t{1'000'000}; };
  context.unix_minus_boot_ms = kUnixMinusBoot;
  context.runtime = &runtime;
  context.stats = &stats;
  RespClient client;
  std::string out;
  HandleResp(args, store, context, client, &out);
  return out;
}

// make_encodings_rdb.py's file of Redis's old and compact encodings:
// the commands answer from it as redis-server does from the same file.
TEST(TypedSnapshot, RedisEncodingsLoadAsTheCommandsTypes) {
  std::ifstream in(std::string(XDPKV_RDB_CORPUS_DIR) + "/old-encodings.rdb", std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string file = bytes.str();
  testing::MemoryStore store;
  auto loaded = LoadRdb(store, Bytes(file), At(1'000'000));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->loaded, 12u);
  EXPECT_EQ(Resp(store, {"TYPE", "hash-zipmap"}), "+hash\r\n");
  EXPECT_EQ(Resp(store, {"GET", "hash-zipmap"}),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  EXPECT_EQ(Resp(store, {"HGET", "hash-ziplist", "neg"}), "$6\r\n-70000\r\n");
  EXPECT_EQ(Resp(store, {"HGETALL", "hash-zipmap"}),
            "*6\r\n$2\r\nf1\r\n$2\r\nv1\r\n$4\r\nlong\r\n$300\r\n" + std::string(300, 'L') +
                "\r\n$1\r\nn\r\n$0\r\n\r\n");
  EXPECT_EQ(Resp(store, {"LRANGE", "list-quicklist1", "0", "-1"}),
            "*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
  EXPECT_EQ(Resp(store, {"LINDEX", "list-ziplist", "-2"}), "$3\r\n007\r\n");
  EXPECT_EQ(Resp(store, {"SMEMBERS", "set-intset16"}),
            "*3\r\n$2\r\n-5\r\n$1\r\n3\r\n$5\r\n32767\r\n");
  EXPECT_EQ(Resp(store, {"ZRANGE", "zset-text", "0", "-1", "WITHSCORES"}),
            "*6\r\n$1\r\nc\r\n$4\r\n-inf\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nb\r\n$3\r\ninf\r\n");
  EXPECT_EQ(Resp(store, {"ZSCORE", "zset-listpack", "m4"}), "$11\r\n10000000000\r\n");
  EXPECT_EQ(Resp(store, {"PTTL", "list-quicklist2"}),
            absl::StrCat(":", 4102444800000 - kUnixMinusBoot - 1'000'000, "\r\n"));
}

// A collection too large for the store (-I) and an empty one are left
// out and counted; a stored value that is not its type's encoding is left
// out of a save and counted, the keys around it keeping their flags.
TEST(TypedSnapshot, WhatIsLeftOutIsCounted) {
  testing::MemoryStore from;
  ListValue big, small;
  for (int i = 0; i < 2000; ++i) big.elements().push_back(std::string(60, 'x'));
  small.elements().push_back("x");
  Put(from, "big", big.Encode(), ValueType::kList, 0);
  Put(from, "small", small.Encode(), ValueType::kList, 0);
  Put(from, "empty", HashValue().Encode(), ValueType::kHash, 0);
  Put(from, "corrupt", "\x05", ValueType::kZSet, 0);
  ASSERT_TRUE(from.Set("a", "1", 11, 0).ok());
  ASSERT_TRUE(from.Set("b", "2", 22, 0).ok());
  SaveResult saved;
  const std::string file = Save(from, &saved);
  EXPECT_EQ(saved.keys, 5u);
  EXPECT_EQ(saved.corrupt, 1u);
  testing::MemoryStore to;
  LoadOptions options = At(1'000'000);
  options.max_value_bytes = 100'000;  // big's elements take 128000
  auto loaded = LoadRdb(to, Bytes(file), options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->loaded, 3u);
  EXPECT_EQ(loaded->unfit, 1u);
  EXPECT_EQ(loaded->empty, 1u);
  ASSERT_EQ(loaded->warnings.size(), 2u);
  EXPECT_EQ((*to.Get("a"))->flags, 11u);
  EXPECT_EQ((*to.Get("b"))->flags, 22u);
  EXPECT_EQ((*to.Get("small"))->type, ValueType::kList);
  EXPECT_FALSE(to.Get("big")->has_value());
}

}  // namespace
}  // namespace xdpkv
