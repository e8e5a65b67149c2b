// Snapshots over the in-memory store (no BPF rights needed): the store's
// items through an RDB and back, what a load drops and reports, refusals
// that leave the store untouched, the save schedule, and the commands.
#include "proxy/snapshot.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "proxy/handlers.h"
#include "proxy/persistence.h"
#include "proxy/rdb/rdb_writer.h"
#include "proxy/testing/memory_store.h"

namespace xdpkv {
namespace {

constexpr int64_t kUnixMinusBoot = 1'700'000'000'000;  // the tests' clock offset

SourceFactory Bytes(const std::string& data) {
  return [&data]() -> absl::StatusOr<std::unique_ptr<rdb::ByteSource>> {
    return std::make_unique<rdb::MemorySource>(data);
  };
}

std::string Save(Store& store, bool compress = true) {
  rdb::StringSink sink;
  SaveOptions options;
  options.compress = compress;
  options.unix_minus_boot_ms = kUnixMinusBoot;
  options.version = "test";
  auto saved = WriteRdb(store, &sink, options);
  EXPECT_TRUE(saved.ok()) << saved.status();
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

TEST(Snapshot, ItemsFlagsCasAndExpiriesSurviveARoundTrip) {
  testing::MemoryStore from;
  from.max_items = 10000;
  std::map<std::string, StoredItem> want;
  for (int i = 0; i < 3000; ++i) {
    const std::string key = "key:" + std::to_string(i);
    std::string value = i % 3 == 0 ? std::to_string(i * 7919 - 5000)  // integers
                        : i % 3 == 1
                            ? std::string(static_cast<size_t>(i % 300), 'a')  // compressible
                            : key + ":" + std::to_string(i * i);
    const uint64_t expiry = i % 4 == 0 ? 2'000'000 + static_cast<uint64_t>(i) : 0;
    ASSERT_TRUE(from.Set(key, value, static_cast<uint32_t>(i * 31), expiry).ok());
  }
  ASSERT_TRUE(from.Set("big", std::string(1 << 20, 'z'), 0xffffffff, 0).ok());
  ASSERT_TRUE(from.Set("empty", "", 0, 0).ok());
  want = Items(from);
  for (bool compress : {true, false}) {
    const std::string file = Save(from, compress);
    testing::MemoryStore to;
    to.max_items = 10000;
    auto loaded = LoadRdb(to, Bytes(file), At(1'000'000));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(loaded->loaded, want.size());
    EXPECT_EQ(loaded->with_meta, want.size());
    EXPECT_TRUE(loaded->warnings.empty()) << loaded->warnings[0];
    EXPECT_TRUE(loaded->stats.checksum_verified);
    const auto got = Items(to);
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
    // A write after the load never reuses a restored CAS.
    auto cas = to.Set("after", "x", 0, 0);
    ASSERT_TRUE(cas.ok());
    EXPECT_GT(*cas, max_cas);
    EXPECT_EQ(to.Writes(), 1u);  // restores are not writes
  }
}

TEST(Snapshot, ExpiredKeysAreDroppedOnLoad) {
  testing::MemoryStore from;
  ASSERT_TRUE(from.Set("soon", "1", 0, 1'500'000).ok());
  ASSERT_TRUE(from.Set("later", "2", 0, 2'500'000).ok());
  ASSERT_TRUE(from.Set("never", "3", 0, 0).ok());
  const std::string file = Save(from);
  testing::MemoryStore to;
  auto loaded = LoadRdb(to, Bytes(file), At(2'000'000));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->loaded, 2u);
  EXPECT_EQ(loaded->expired, 1u);
  EXPECT_FALSE(to.Get("soon")->has_value());
  EXPECT_TRUE(to.Get("later")->has_value());
}

TEST(Snapshot, ACorruptFileLeavesTheStoreUntouched) {
  testing::MemoryStore from;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(from.Set("k" + std::to_string(i), "v", 0, 0).ok());
  const std::string file = Save(from);
  for (size_t cut : {size_t{0}, size_t{9}, file.size() / 2, file.size() - 1}) {
    testing::MemoryStore to;
    const std::string truncated = file.substr(0, cut);
    EXPECT_FALSE(LoadRdb(to, Bytes(truncated), At(1'000'000)).ok()) << cut;
    EXPECT_EQ(to.ApproximateItems(), 0u) << cut;
  }
  std::string flipped = file;
  flipped[file.size() / 2] ^= 0x10;
  testing::MemoryStore to;
  auto loaded = LoadRdb(to, Bytes(flipped), At(1'000'000));
  EXPECT_FALSE(loaded.ok());
  EXPECT_EQ(to.ApproximateItems(), 0u);
}

TEST(Snapshot, AFullStoreFailsTheLoad) {
  testing::MemoryStore from;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(from.Set("k" + std::to_string(i), "v", 0, 0).ok());
  const std::string file = Save(from);
  testing::MemoryStore to;
  to.max_items = 2;
  auto loaded = LoadRdb(to, Bytes(file), At(1'000'000));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(loaded.status().message(), "storing key 3 of the file"));
}

// redis-server 7.0.15's dump (proxy/rdb/fuzz_corpus): every key loads,
// each into its database as its type, but the stream, counted and named.
TEST(Snapshot, ARedisDumpLoadsEveryTypeAndNamesTheRest) {
  std::ifstream in(std::string(XDPKV_RDB_CORPUS_DIR) + "/redis7-all-types.rdb", std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string file = bytes.str();
  testing::MemoryStore to;
  to.has_databases = true;
  LoadOptions options = At(0);
  options.now_unix_ms = 1'795'663'000'000;  // when the file was written (its keys' TTLs run)
  auto loaded = LoadRdb(to, Bytes(file), options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->loaded, 10u);  // s1 n1 big neg h1 l1 si ss z1, and otherdb in database 2
  EXPECT_EQ(loaded->no_database, 0u);
  EXPECT_EQ(loaded->with_meta, 0u);
  EXPECT_EQ((*to.Get("n1"))->value, "12345");
  EXPECT_EQ((*to.Get("neg"))->value, "-7");
  EXPECT_NE((*to.Get("s1"))->expires_at_ms, 0u);
  EXPECT_EQ((*to.Get("h1"))->type, ValueType::kHash);
  EXPECT_EQ((*to.Get("z1"))->type, ValueType::kZSet);
  EXPECT_FALSE(to.Get("otherdb")->has_value());
  EXPECT_EQ((*to.Database(2)->Get("otherdb"))->value, "x");
  const std::string all = [&] {
    std::string text;
    for (const std::string& w : loaded->warnings) text += w + "\n";
    return text;
  }();
  EXPECT_EQ(all,
            "skipped 1 keys of type stream (xdpkv holds strings, hashes, lists, sets and sorted "
            "sets)\nskipped 1 function libraries\n");
}

TEST(Snapshot, ItemMetaThatDescribesMoreKeysIsWarnedAbout) {
  rdb::StringSink sink;
  rdb::Writer writer(&sink);
  ASSERT_TRUE(writer.Header().ok());
  const rdb::ItemMeta meta[] = {{5, 100}, {6, 101}};
  ASSERT_TRUE(writer.ItemMeta(meta).ok());
  ASSERT_TRUE(writer.String("a", "1", -1).ok());
  ASSERT_TRUE(writer.Finish().ok());
  testing::MemoryStore to;
  auto loaded = LoadRdb(to, Bytes(sink.data), At(1'000'000));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*to.Get("a"))->flags, 5u);
  EXPECT_EQ((*to.Get("a"))->cas, 100u);
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_TRUE(absl::StrContains(loaded->warnings[0], "described 1 more keys"));
}

TEST(SavePoints, ParsedAsRedis) {
  EXPECT_EQ(ParseSavePoints("3600 1 300 100"), (std::vector<SavePoint>{{3600, 1}, {300, 100}}));
  EXPECT_EQ(ParseSavePoints(""), std::vector<SavePoint>{});
  EXPECT_EQ(ParseSavePoints("60 0"), (std::vector<SavePoint>{{60, 0}}));
  for (const char* bad : {"1", "0 1", "1 -1", "a 1", "1 2 3", "1.5 2"}) {
    EXPECT_FALSE(ParseSavePoints(bad).has_value()) << bad;
  }
  EXPECT_EQ(FormatSavePoints({{3600, 1}, {300, 100}}), "3600 1 300 100");
}

// A directory of its own under /tmp, removed afterwards.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/xdpkv-snapshot-test-XXXXXX";
    path_ = mkdtemp(name);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// Waits (bounded) for a BGSAVE to finish.
bool WaitForBackgroundSave(Persistence& persistence) {
  for (int i = 0; i < 1000; ++i) {
    persistence.Tick(0);
    if (!persistence.GetInfo().bgsave_in_progress) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(Persistence, SaveBgsaveAndAFailedSaveThatKeepsThePreviousFile) {
  TempDir dir;
  testing::MemoryStore store;
  ASSERT_TRUE(store.Set("k", "v", 3, 0).ok());
  PersistenceConfig config;
  config.dir = dir.path();
  Persistence persistence(
      store, config, [&] { return store.Writes(); }, [] { return kUnixMinusBoot; });
  EXPECT_EQ(persistence.GetInfo().changes_since_last_save, 0u);
  ASSERT_TRUE(store.Set("k2", "v", 0, 0).ok());
  EXPECT_EQ(persistence.GetInfo().changes_since_last_save, 1u);
  ASSERT_TRUE(persistence.Save().ok());
  const std::string path = dir.path() + "/dump.rdb";
  const std::string first = ReadFile(path);
  ASSERT_FALSE(first.empty());
  Persistence::Info info = persistence.GetInfo();
  EXPECT_EQ(info.changes_since_last_save, 0u);
  EXPECT_TRUE(info.last_bgsave_ok);
  EXPECT_EQ(info.last_save_keys, 2u);
  EXPECT_EQ(info.saves, 1u);

  ASSERT_TRUE(store.Set("k3", "v", 0, 0).ok());
  ASSERT_TRUE(persistence.StartBackgroundSave().ok());
  ASSERT_TRUE(WaitForBackgroundSave(persistence));
  EXPECT_EQ(persistence.GetInfo().last_save_keys, 3u);
  const std::string second = ReadFile(path);

  // The temporary file's name taken by a directory: the save fails and
  // says so, and the dump stays as it was.
  std::filesystem::create_directory(dir.path() + "/temp-" + std::to_string(getpid()) + ".rdb");
  ASSERT_TRUE(store.Set("k4", "v", 0, 0).ok());
  EXPECT_FALSE(persistence.Save().ok());
  ASSERT_TRUE(persistence.StartBackgroundSave().ok());
  ASSERT_TRUE(WaitForBackgroundSave(persistence));
  info = persistence.GetInfo();
  EXPECT_FALSE(info.last_bgsave_ok);
  EXPECT_FALSE(info.last_error.empty());
  EXPECT_EQ(info.changes_since_last_save, 1u);
  EXPECT_EQ(ReadFile(path), second);
  testing::MemoryStore loaded;
  ASSERT_TRUE(LoadRdbFile(loaded, path, At(1'000'000)).ok());
  EXPECT_EQ(loaded.ApproximateItems(), 3u);
}

TEST(Persistence, TheScheduleSavesWhenAPointIsDue) {
  TempDir dir;
  testing::MemoryStore store;
  PersistenceConfig config;
  config.dir = dir.path();
  config.save = {{100, 2}};
  Persistence persistence(
      store, config, [&] { return store.Writes(); }, [] { return kUnixMinusBoot; });
  const int64_t start = time(nullptr);
  ASSERT_TRUE(store.Set("a", "1", 0, 0).ok());
  persistence.Tick(start + 1000);  // one change: not enough
  EXPECT_FALSE(persistence.GetInfo().bgsave_in_progress);
  EXPECT_EQ(persistence.GetInfo().saves, 0u);
  ASSERT_TRUE(store.Set("b", "1", 0, 0).ok());
  persistence.Tick(start + 50);  // two changes, but too soon
  EXPECT_EQ(persistence.GetInfo().saves, 0u);
  persistence.Tick(start + 1000);
  ASSERT_TRUE(WaitForBackgroundSave(persistence));
  EXPECT_EQ(persistence.GetInfo().saves, 1u);
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/dump.rdb"));
}

// The commands, through the RESP handlers.
class Commands : public ::testing::Test {
 protected:
  Commands()
      : persistence_(
            store_, Config(dir_.path()), [this] { return store_.Writes(); },
            [] { return kUnixMinusBoot; }) {
    context_.now_boot_ms = [] { return uint64_t{1'000'000}; };
    context_.unix_minus_boot_ms = kUnixMinusBoot;
    context_.runtime = &runtime_;
    context_.stats = &stats_;
    context_.persistence = &persistence_;
    context_.request_shutdown = [this](ShutdownSave save) { shutdown_ = save; };
  }
  static PersistenceConfig Config(const std::string& dir) {
    PersistenceConfig config;
    config.dir = dir;
    return config;
  }
  std::string Run(std::vector<std::string_view> args) {
    RespClient client;
    std::string out;
    HandleResp(args, store_, context_, client, &out);
    return out;
  }

  TempDir dir_;
  testing::MemoryStore store_;
  ServerStats stats_;
  RuntimeConfig runtime_;
  ServerContext context_;
  Persistence persistence_;
  std::optional<ShutdownSave> shutdown_;
};

TEST_F(Commands, SaveBgsaveLastsave) {
  EXPECT_EQ(Run({"SAVE"}), "+OK\r\n");
  EXPECT_EQ(Run({"SAVE", "x"}), "-ERR wrong number of arguments for 'save' command\r\n");
  EXPECT_EQ(Run({"BGSAVE", "x"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"BGSAVE"}), "+Background saving started\r\n");
  ASSERT_TRUE(WaitForBackgroundSave(persistence_));
  EXPECT_EQ(Run({"LASTSAVE"}),
            ":" + std::to_string(persistence_.GetInfo().last_save_time) + "\r\n");
  const std::string info = Run({"INFO", "persistence"});
  EXPECT_TRUE(absl::StrContains(info, "rdb_last_bgsave_status:ok\r\n")) << info;
  EXPECT_TRUE(absl::StrContains(info, "rdb_saves:2\r\n")) << info;
}

TEST_F(Commands, ConfigDirDbfilenameSave) {
  EXPECT_EQ(
      Run({"CONFIG", "GET", "dir"}),
      "*2\r\n$3\r\ndir\r\n$" + std::to_string(dir_.path().size()) + "\r\n" + dir_.path() + "\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "dir", "/tmp"}),
            "-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected "
            "config\r\n");
  context_.protected_configs_enabled = true;
  EXPECT_EQ(Run({"CONFIG", "SET", "dir", "/nonexistent-xdpkv"}),
            "-ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or "
            "directory\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "dbfilename", "a/b"}),
            "-ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename "
            "can't be a path, just a filename\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "dbfilename", "other.rdb"}), "+OK\r\n");
  EXPECT_EQ(persistence_.path(), dir_.path() + "/other.rdb");
  EXPECT_EQ(Run({"CONFIG", "SET", "save", "0 1"}),
            "-ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save "
            "parameters\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "save", "3600 1 300 100"}), "+OK\r\n");
  EXPECT_EQ(Run({"CONFIG", "GET", "save"}), "*2\r\n$4\r\nsave\r\n$14\r\n3600 1 300 100\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "save", ""}), "+OK\r\n");
  EXPECT_EQ(Run({"CONFIG", "GET", "save"}), "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
}

TEST_F(Commands, Shutdown) {
  EXPECT_EQ(Run({"SHUTDOWN", "ABORT"}), "-ERR No shutdown in progress.\r\n");
  EXPECT_EQ(Run({"SHUTDOWN", "NOSAVE", "SAVE"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"SHUTDOWN", "ABORT", "NOW"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"SHUTDOWN", "FOO"}), "-ERR syntax error\r\n");
  // No save points: no save, no reply.
  EXPECT_EQ(Run({"SHUTDOWN"}), "");
  EXPECT_EQ(shutdown_, ShutdownSave::kNo);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/dump.rdb"));
  shutdown_.reset();
  EXPECT_EQ(Run({"SHUTDOWN", "SAVE"}), "");
  EXPECT_EQ(shutdown_, ShutdownSave::kIfChanged);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/dump.rdb"));
  // A save that fails keeps the server running, unless FORCE.
  shutdown_.reset();
  std::filesystem::create_directory(dir_.path() + "/temp-" + std::to_string(getpid()) + ".rdb");
  EXPECT_EQ(Run({"SHUTDOWN", "SAVE"}), "-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
  EXPECT_FALSE(shutdown_.has_value());
  EXPECT_EQ(Run({"SHUTDOWN", "SAVE", "FORCE"}), "");
  EXPECT_TRUE(shutdown_.has_value());
}

}  // namespace
}  // namespace xdpkv
