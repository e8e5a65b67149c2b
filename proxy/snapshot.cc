#include "proxy/snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>
#include <type_traits>
#include <variant>

#include "absl/strings/str_cat.h"
#include "proxy/rdb/item_meta.h"
#include "proxy/typed_value.h"

namespace xdpkv {
namespace {

// Keys xdpkv can hold (proxy/store_layout.h's classes).
constexpr size_t kMaxKeyBytes = 250;
// A run of items the writer holds before writing them (their xdpkv-mc
// field goes first): at most kItemMetaRun items or this many value bytes.
constexpr size_t kRunBytes = 4 << 20;

absl::Status ErrnoError(int err, std::string_view what) {
  return absl::Status(absl::ErrnoToStatusCode(err),
                      absl::StrCat(std::string(what), ": ", std::strerror(err)));
}

class FdSink : public rdb::ByteSink {
 public:
  FdSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  absl::Status Write(std::string_view bytes) override {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError(errno, absl::StrCat("writing ", name_));
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

 private:
  int fd_;
  std::string name_;
};

class FdSource : public rdb::ByteSource {
 public:
  static absl::StatusOr<std::unique_ptr<rdb::ByteSource>> Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError(errno, absl::StrCat("opening ", path));
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      const int err = errno;
      close(fd);
      return ErrnoError(err, absl::StrCat("reading ", path));
    }
    return std::unique_ptr<rdb::ByteSource>(
        new FdSource(fd, path, static_cast<uint64_t>(st.st_size)));
  }
  ~FdSource() override { close(fd_); }
  absl::StatusOr<size_t> Read(char* out, size_t size) override {
    for (;;) {
      const ssize_t n = ::read(fd_, out, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError(errno, absl::StrCat("reading ", path_));
      left_ -= std::min<uint64_t>(left_, static_cast<uint64_t>(n));
      return static_cast<size_t>(n);
    }
  }
  uint64_t Remaining() const override { return left_; }

 private:
  FdSource(int fd, std::string path, uint64_t size)
      : fd_(fd), path_(std::move(path)), left_(size) {}
  int fd_;
  std::string path_;
  uint64_t left_;
};

// An item of a run, its collection decoded (monostate: a string).
struct PendingItem {
  std::string key;
  StoredItem item;
  std::variant<std::monostate, HashValue, ListValue, SetValue, ZSetValue> collection;
};

// The collection `item` holds, decoded into `pending` (false: its value
// is not its type's encoding).
bool DecodeCollection(const StoredItem& item, PendingItem* pending) {
  auto decode = [&](auto decoded) {
    if (!decoded) return false;
    pending->collection = std::move(*decoded);
    return true;
  };
  switch (item.type) {
    case ValueType::kString:
      return true;
    case ValueType::kHash:
      return decode(HashValue::Decode(item.value));
    case ValueType::kList:
      return decode(ListValue::Decode(item.value));
    case ValueType::kSet:
      return decode(SetValue::Decode(item.value));
    case ValueType::kZSet:
      return decode(ZSetValue::Decode(item.value));
  }
  return false;
}

// A vector's elements last first, for the writer (std::views::reverse
// does not build with clang over libstdc++ 12).
template <typename T>
struct Reversed {
  const std::vector<T>& v;
  auto begin() const { return v.rbegin(); }
  auto end() const { return v.rend(); }
  size_t size() const { return v.size(); }
};
template <typename T>
Reversed(const std::vector<T>&) -> Reversed<T>;

absl::Status WriteItem(rdb::Writer& writer, const PendingItem& p, int64_t expire) {
  return std::visit(
      [&](const auto& c) -> absl::Status {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, std::monostate>) {
          return writer.String(p.key, p.item.value, expire);
        } else if constexpr (std::is_same_v<C, HashValue>) {
          return writer.Hash(p.key, c.fields(), expire);
        } else if constexpr (std::is_same_v<C, ListValue>) {
          return writer.List(p.key, c.elements(), expire);
        } else if constexpr (std::is_same_v<C, SetValue>) {
          return writer.Set(p.key, c.members(), expire);
        } else {
          // Greatest first, as Redis writes them (its load then inserts at
          // the head of its skiplist).
          return writer.Zset(p.key, Reversed{c.entries()}, expire);
        }
      },
      p.collection);
}

}  // namespace

absl::StatusOr<SaveResult> WriteRdb(Store& store, rdb::ByteSink* sink, const SaveOptions& options) {
  rdb::Writer writer(sink, {.compress = options.compress});
  SaveResult result;
  if (auto s = writer.Header(); !s.ok()) return s;
  // What Redis 7.0 writes first (rdbSaveInfoAuxFields), then ours.
  const std::pair<std::string, std::string> aux[] = {
      {"redis-ver", "7.0.0"},
      {"redis-bits", "64"},
      {"ctime", std::to_string(options.now_unix_s)},
      {"used-mem", std::to_string(store.Memory().used_bytes)},
      {"aof-base", "0"},
      {"xdpkv-ver", options.version},
  };
  for (const auto& [key, value] : aux) {
    if (auto s = writer.Aux(key, value); !s.ok()) return s;
  }
  // Each database's SELECTDB and RESIZEDB go before its first run.
  int db = 0;
  Store::DatabaseSize db_size;
  bool db_started = false;
  std::vector<PendingItem> run;
  std::vector<rdb::ItemMeta> meta;
  size_t run_bytes = 0;
  auto write_run = [&]() -> absl::Status {
    if (run.empty()) return absl::OkStatus();
    if (!db_started) {
      if (auto s = writer.SelectDb(db); !s.ok()) return s;
      if (auto s = writer.ResizeDb(db_size.keys, db_size.expires); !s.ok()) return s;
      db_started = true;
    }
    meta.clear();
    for (const PendingItem& p : run) meta.push_back({p.item.flags, p.item.cas});
    if (auto s = writer.ItemMeta(meta); !s.ok()) return s;
    for (const PendingItem& p : run) {
      const int64_t expire =
          p.item.expires_at_ms == 0
              ? -1
              : static_cast<int64_t>(p.item.expires_at_ms) + options.unix_minus_boot_ms;
      if (auto s = WriteItem(writer, p, expire); !s.ok()) return s;
    }
    result.keys += run.size();
    run.clear();
    run_bytes = 0;
    return absl::OkStatus();
  };
  auto visit = [&](std::string_view key, const StoredItem& item) -> absl::Status {
    if (options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed)) {
      return absl::CancelledError("the save was cancelled");
    }
    PendingItem pending{std::string(key), item, {}};
    if (!DecodeCollection(item, &pending)) {
      ++result.corrupt;
      return absl::OkStatus();
    }
    if (pending.collection.index() != 0) pending.item.value.clear();  // decoded: not needed
    run.push_back(std::move(pending));
    run_bytes += key.size() + item.value.size();
    if (run.size() >= rdb::kItemMetaRun || run_bytes >= kRunBytes) return write_run();
    return absl::OkStatus();
  };
  // Database 0 first, its RESIZEDB a hint from the store's item count;
  // the same walk counts the other databases, and only those with keys
  // are walked then, each with its exact sizes.
  db_size = {store.ApproximateItems(), 0};
  auto sizes = store.SnapshotCountingDatabases(visit);
  if (!sizes.ok()) return sizes.status();
  if (auto s = write_run(); !s.ok()) return s;  // a run stays in its database
  for (db = 1; db < kDatabases; ++db) {
    Store* database = store.Database(db);
    if (database == nullptr || (*sizes)[db].keys == 0) continue;
    db_size = (*sizes)[db];
    db_started = false;
    if (auto walked = database->Snapshot(visit); !walked.ok()) return walked;
    if (auto s = write_run(); !s.ok()) return s;
  }
  if (auto s = writer.Finish(); !s.ok()) return s;
  result.bytes = writer.bytes();
  return result;
}

absl::StatusOr<SaveResult> SaveRdbFile(Store& store, const std::string& path,
                                       const SaveOptions& options) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  const std::string temp = (dir / absl::StrCat("temp-", getpid(), ".rdb")).string();
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(errno, absl::StrCat("opening the temporary file ", temp));
  auto fail = [&](absl::Status status) {
    close(fd);
    unlink(temp.c_str());
    return status;
  };
  FdSink sink(fd, temp);
  auto result = WriteRdb(store, &sink, options);
  if (!result.ok()) return fail(result.status());
  if (fsync(fd) != 0) return fail(ErrnoError(errno, absl::StrCat("fsync of ", temp)));
  if (close(fd) != 0) {
    const int err = errno;
    unlink(temp.c_str());
    return ErrnoError(err, absl::StrCat("closing ", temp));
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    unlink(temp.c_str());
    return ErrnoError(err, absl::StrCat("renaming ", temp, " to ", path));
  }
  // The rename is durable once the directory is.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return ErrnoError(errno, absl::StrCat("opening ", dir.string()));
  const int synced = fsync(dir_fd);
  const int err = errno;
  close(dir_fd);
  if (synced != 0) return ErrnoError(err, absl::StrCat("fsync of ", dir.string()));
  return result;
}

namespace {

// What an entry's value is stored as: its type and encoding (nullopt: a
// type xdpkv does not hold, or an Oversized collection).
struct Stored {
  ValueType type;
  std::string value;
  size_t elements;  // 0: an empty collection, which is not stored
};

std::optional<Stored> ToStored(rdb::Value& value) {
  return std::visit(
      [](auto& v) -> std::optional<Stored> {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, rdb::StringValue>) {
          return Stored{ValueType::kString, std::move(v.value), 1};
        } else if constexpr (std::is_same_v<V, rdb::HashValue>) {
          const size_t n = v.fields.size();
          return Stored{ValueType::kHash, HashValue::FromDistinct(std::move(v.fields)).Encode(), n};
        } else if constexpr (std::is_same_v<V, rdb::ListValue>) {
          ListValue list;
          for (std::string& e : v.elements) list.elements().push_back(std::move(e));
          return Stored{ValueType::kList, list.Encode(), list.size()};
        } else if constexpr (std::is_same_v<V, rdb::SetValue>) {
          const size_t n = v.members.size();
          return Stored{ValueType::kSet, SetValue::FromDistinct(std::move(v.members)).Encode(), n};
        } else if constexpr (std::is_same_v<V, rdb::ZsetValue>) {
          std::vector<ZSetValue::Entry> entries;
          entries.reserve(v.entries.size());
          for (rdb::ZsetEntry& e : v.entries) entries.push_back({e.score, std::move(e.member)});
          const size_t n = entries.size();
          return Stored{ValueType::kZSet, ZSetValue::FromDistinct(std::move(entries)).Encode(), n};
        } else {
          return std::nullopt;  // Skipped (counted by the reader), Oversized
        }
      },
      value);
}

// One pass over the file; reads only (the first pass: every check is the
// reader's), or stores each key (`apply`).
absl::Status LoadPass(Store& store, rdb::ByteSource* source, const LoadOptions& options, bool apply,
                      LoadResult* result) {
  rdb::Reader reader(source, {.max_collection_bytes = options.max_value_bytes});
  std::deque<rdb::ItemMeta> meta;  // for the next entries, in order
  uint64_t meta_mismatches = 0;
  for (;;) {
    rdb::Event event;
    auto kind = reader.Next(&event);
    if (!kind.ok()) return kind.status();
    if (*kind == rdb::Event::kEnd) break;
    if (*kind == rdb::Event::kAux) {
      if (event.aux_key != rdb::kItemMetaAux) continue;
      auto decoded = rdb::DecodeItemMeta(event.aux_value);
      if (!decoded.ok()) return absl::DataLossError(std::string(decoded.status().message()));
      meta_mismatches += meta.size();  // a run that described more keys than followed
      meta.assign(decoded->begin(), decoded->end());
      continue;
    }
    rdb::Entry& entry = event.entry;
    std::optional<rdb::ItemMeta> item_meta;
    if (!meta.empty()) {
      item_meta = meta.front();
      meta.pop_front();
    }
    if (!apply || std::holds_alternative<rdb::Skipped>(entry.value)) continue;
    Store* database = entry.db < kDatabases ? store.Database(static_cast<int>(entry.db)) : nullptr;
    if (database == nullptr) {
      ++result->no_database;
      continue;
    }
    if (entry.expire_ms != -1 && entry.expire_ms <= options.now_unix_ms) {
      ++result->expired;
      continue;
    }
    std::optional<Stored> stored = ToStored(entry.value);
    if (stored && stored->elements == 0) {
      ++result->empty;
      continue;
    }
    if (!stored || entry.key.empty() || entry.key.size() > kMaxKeyBytes ||
        stored->value.size() > options.max_value_bytes) {
      ++result->unfit;
      continue;
    }
    uint64_t expires_at_ms = 0;
    if (entry.expire_ms != -1) {
      expires_at_ms =
          static_cast<uint64_t>(std::max<int64_t>(entry.expire_ms - options.unix_minus_boot_ms, 1));
    }
    auto restored = database->Restore(entry.key, stored->value, item_meta ? item_meta->flags : 0,
                                      expires_at_ms, item_meta ? item_meta->cas : 0, stored->type);
    if (!restored.ok()) {
      return absl::Status(restored.status().code(),
                          absl::StrCat("storing key ", result->loaded + 1,
                                       " of the file: ", std::string(restored.status().message())));
    }
    ++result->loaded;
    if (item_meta) ++result->with_meta;
  }
  meta_mismatches += meta.size();
  result->stats = reader.stats();
  auto& w = result->warnings;
  for (const auto& [type, count] : result->stats.skipped) {
    w.push_back(absl::StrCat("skipped ", count, " keys of type ", type,
                             " (xdpkv holds strings, hashes, lists, sets and sorted sets)"));
  }
  if (result->no_database != 0) {
    w.push_back(absl::StrCat("skipped ", result->no_database,
                             " keys of databases the store does not have (xdpkv's: 0 to ",
                             kDatabases - 1, ")"));
  }
  if (result->unfit != 0) {
    w.push_back(absl::StrCat("skipped ", result->unfit, " keys that are empty or over ",
                             kMaxKeyBytes, " bytes, or whose value is over ",
                             options.max_value_bytes,
                             " bytes (a collection: as xdpkv encodes it; -I)"));
  }
  if (result->empty != 0) {
    w.push_back(absl::StrCat("skipped ", result->empty,
                             " empty collections (Redis skips them on load too)"));
  }
  if (result->stats.functions_skipped != 0) {
    w.push_back(absl::StrCat("skipped ", result->stats.functions_skipped, " function libraries"));
  }
  if (result->stats.module_aux_skipped != 0) {
    w.push_back(
        absl::StrCat("skipped ", result->stats.module_aux_skipped, " modules' auxiliary data"));
  }
  if (meta_mismatches != 0) {
    w.push_back(absl::StrCat("xdpkv-mc fields described ", meta_mismatches,
                             " more keys than followed them (flags and CAS ignored there)"));
  }
  if (!result->stats.checksum_verified && reader.version() >= rdb::kFirstChecksumVersion) {
    w.push_back("the file was written without a checksum (rdbchecksum no): not verified");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LoadResult> LoadRdb(Store& store, const SourceFactory& open,
                                   const LoadOptions& options) {
  LoadResult checked;
  {
    auto source = open();
    if (!source.ok()) return source.status();
    checked.bytes = (*source)->Remaining();
    if (auto status = LoadPass(store, source->get(), options, /*apply=*/false, &checked);
        !status.ok()) {
      return status;
    }
  }
  auto source = open();
  if (!source.ok()) return source.status();
  LoadResult result;
  result.bytes = checked.bytes;
  const uint64_t evicted_before = store.Memory().evicted_keys;
  if (auto status = LoadPass(store, source->get(), options, /*apply=*/true, &result);
      !status.ok()) {
    return status;
  }
  result.evicted = store.Memory().evicted_keys - evicted_before;
  if (result.evicted != 0) {
    result.warnings.push_back(
        absl::StrCat(result.evicted,
                     " keys were evicted while loading: the data is larger than the memory "
                     "limit (-m / maxmemory) allows"));
  }
  return result;
}

absl::StatusOr<LoadResult> LoadRdbFile(Store& store, const std::string& path,
                                       const LoadOptions& options) {
  auto result = LoadRdb(
      store, [&] { return FdSource::Open(path); }, options);
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        absl::StrCat(path, ": ", std::string(result.status().message())));
  }
  return result;
}

}  // namespace xdpkv
