#include "proxy/snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "proxy/rdb/item_meta.h"

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

struct PendingItem {
  std::string key;
  StoredItem item;
};

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
  if (auto s = writer.SelectDb(0); !s.ok()) return s;
  if (auto s = writer.ResizeDb(store.ApproximateItems(), 0); !s.ok()) return s;

  std::vector<PendingItem> run;
  std::vector<rdb::ItemMeta> meta;
  size_t run_bytes = 0;
  auto write_run = [&]() -> absl::Status {
    if (run.empty()) return absl::OkStatus();
    meta.clear();
    for (const PendingItem& p : run) meta.push_back({p.item.flags, p.item.cas});
    if (auto s = writer.ItemMeta(meta); !s.ok()) return s;
    for (const PendingItem& p : run) {
      const int64_t expire =
          p.item.expires_at_ms == 0
              ? -1
              : static_cast<int64_t>(p.item.expires_at_ms) + options.unix_minus_boot_ms;
      if (auto s = writer.String(p.key, p.item.value, expire); !s.ok()) return s;
    }
    result.keys += run.size();
    run.clear();
    run_bytes = 0;
    return absl::OkStatus();
  };
  auto walked = store.Snapshot([&](std::string_view key, const StoredItem& item) -> absl::Status {
    if (options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed)) {
      return absl::CancelledError("the save was cancelled");
    }
    if (item.type != ValueType::kString) {
      ++result.skipped_other_types;
      return absl::OkStatus();
    }
    run.push_back({std::string(key), item});
    run_bytes += key.size() + item.value.size();
    if (run.size() >= rdb::kItemMetaRun || run_bytes >= kRunBytes) return write_run();
    return absl::OkStatus();
  });
  if (!walked.ok()) return walked;
  if (auto s = write_run(); !s.ok()) return s;
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

// One pass over the file; writes into the store only when `apply`.
absl::Status LoadPass(Store& store, rdb::ByteSource* source, const LoadOptions& options, bool apply,
                      LoadResult* result) {
  rdb::Reader reader(source);
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
    const rdb::Entry& entry = event.entry;
    std::optional<rdb::ItemMeta> item_meta;
    if (!meta.empty()) {
      item_meta = meta.front();
      meta.pop_front();
    }
    const auto* string = std::get_if<rdb::StringValue>(&entry.value);
    if (string == nullptr) continue;  // counted by the reader, by type
    if (entry.db != 0) {
      ++result->other_db;
      continue;
    }
    if (entry.expire_ms != -1 && entry.expire_ms <= options.now_unix_ms) {
      ++result->expired;
      continue;
    }
    if (entry.key.empty() || entry.key.size() > kMaxKeyBytes ||
        string->value.size() > options.max_value_bytes) {
      ++result->unfit;
      continue;
    }
    if (apply) {
      uint64_t expires_at_ms = 0;
      if (entry.expire_ms != -1) {
        expires_at_ms = static_cast<uint64_t>(
            std::max<int64_t>(entry.expire_ms - options.unix_minus_boot_ms, 1));
      }
      auto restored = store.Restore(entry.key, string->value, item_meta ? item_meta->flags : 0,
                                    expires_at_ms, item_meta ? item_meta->cas : 0);
      if (!restored.ok()) {
        return absl::Status(restored.status().code(),
                            absl::StrCat("storing key ", result->loaded + 1, " of the file: ",
                                         std::string(restored.status().message())));
      }
    }
    ++result->loaded;
    if (item_meta) ++result->with_meta;
  }
  meta_mismatches += meta.size();
  result->stats = reader.stats();
  auto& w = result->warnings;
  for (const auto& [type, count] : result->stats.skipped) {
    w.push_back(
        absl::StrCat("skipped ", count, " keys of type ", type, " (xdpkv holds strings only)"));
  }
  if (result->other_db != 0) {
    w.push_back(absl::StrCat("skipped ", result->other_db,
                             " keys of databases other than 0 (xdpkv has one)"));
  }
  if (result->unfit != 0) {
    w.push_back(absl::StrCat("skipped ", result->unfit, " keys that are empty or over ",
                             kMaxKeyBytes, " bytes, or whose value is over ",
                             options.max_value_bytes, " bytes"));
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
