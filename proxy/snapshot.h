// RDB snapshots of a Store: what a dump holds and how it is written and
// read (docs/protocols.md, "Persistence"). The format itself is
// proxy/rdb/ (pure); this file joins it to the Store and to files.
//
// A snapshot is per key atomic, not a point in time: the store is walked
// bucket by bucket while clients and the XDP program keep writing
// (Store::Snapshot), so each key is saved in one version it had during the
// save, and a key written while the save runs may be saved before or
// after that write, or, if created or deleted meanwhile, be there or not.
// Each key is saved once. Expired keys are not saved. Databases are walked
// one after another (database 0's walk says which others have keys): a
// database that gets its first key while database 0 is walked may be left
// out.
//
// Loading reads the file twice: first whole, checking everything (every
// entry's encoding, the CRC-64 at the end), writing nothing; only a file
// that passes is read again into the store, so a corrupt or truncated
// file leaves the store as it was.
#ifndef XDPKV_PROXY_SNAPSHOT_H_
#define XDPKV_PROXY_SNAPSHOT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proxy/rdb/rdb_reader.h"
#include "proxy/rdb/rdb_writer.h"
#include "proxy/store.h"

namespace xdpkv {

struct SaveOptions {
  bool compress = true;            // Redis's rdbcompression
  int64_t unix_minus_boot_ms = 0;  // the store's CLOCK_BOOTTIME expiry -> unix ms
  int64_t now_unix_s = 0;          // the ctime field
  std::string version;             // xdpkv's, in the xdpkv-ver field
  // Checked between items: once set, the save stops with Cancelled.
  const std::atomic<bool>* cancel = nullptr;
};

struct SaveResult {
  uint64_t keys = 0;
  uint64_t bytes = 0;
  // Keys whose stored value is not its type's encoding (proxy/typed_value.h):
  // left out of the dump, counted, never written as something else.
  uint64_t corrupt = 0;
};

// The RDB of `store` into `sink`: header and aux fields (redis-ver 7.0.0,
// redis-bits, ctime, used-mem, aof-base, xdpkv-ver), then each database
// that has keys (SELECTDB, RESIZEDB) with every key of every type and its
// expiry (strings as strings; hashes, lists, sets and sorted sets in
// Redis's plain encodings, proxy/rdb/rdb_writer.h), memcached's flags and
// CAS in xdpkv-mc fields (proxy/rdb/item_meta.h), EOF and the CRC-64.
absl::StatusOr<SaveResult> WriteRdb(Store& store, rdb::ByteSink* sink, const SaveOptions& options);

// WriteRdb to `path` as Redis writes its dump: into temp-<pid>.rdb in the
// same directory, fsynced, renamed over `path`, the directory fsynced. On
// any failure the temporary file is removed and `path` is untouched.
absl::StatusOr<SaveResult> SaveRdbFile(Store& store, const std::string& path,
                                       const SaveOptions& options);

struct LoadOptions {
  int64_t now_unix_ms = 0;         // keys that expired by then are dropped
  int64_t unix_minus_boot_ms = 0;  // unix ms expiry -> the store's clock
  size_t max_value_bytes = 1 << 20;
};

struct LoadResult {
  uint64_t loaded = 0;       // keys written into the store
  uint64_t expired = 0;      // dropped: expired before the load
  uint64_t no_database = 0;  // dropped: in a database the store does not have (16 and above)
  // Dropped: key empty or over 250 bytes, or value over the limit (a
  // collection: its encoding, or its elements as the reader counts them).
  uint64_t unfit = 0;
  uint64_t empty = 0;      // dropped: a collection of no elements (as Redis skips them)
  uint64_t with_meta = 0;  // loaded with memcached flags and CAS from xdpkv-mc
  uint64_t evicted = 0;    // evicted by the memory limit while loading
  uint64_t bytes = 0;      // the file's size
  rdb::ReadStats stats;    // keys of types xdpkv does not hold, functions, ...
  // Every key that was in the file and is not in the store, by reason:
  // one line each, for the log ("skipped 3 keys of type stream").
  std::vector<std::string> warnings;
};

// Opens a fresh source over the same bytes for each of the two passes.
using SourceFactory = std::function<absl::StatusOr<std::unique_ptr<rdb::ByteSource>>()>;

// Checks the whole input, then writes it into `store` (see the top), each
// key into its database (Store::Database) as its type, through
// Store::Restore. An error in the first pass leaves the store untouched;
// an error from the store in the second (a full store under noeviction)
// leaves what was written so far: the caller wipes it.
absl::StatusOr<LoadResult> LoadRdb(Store& store, const SourceFactory& open,
                                   const LoadOptions& options);
absl::StatusOr<LoadResult> LoadRdbFile(Store& store, const std::string& path,
                                       const LoadOptions& options);

}  // namespace xdpkv

#endif  // XDPKV_PROXY_SNAPSHOT_H_
