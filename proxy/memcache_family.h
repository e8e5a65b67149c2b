// What memcached's command families share (internal to proxy/memcache_*.cc):
// the data commands are in memcache_handlers.cc, the admin commands (stats
// and its subcommands, shutdown, cache_memlimit, watch, lru_crawler) in
// memcache_admin.cc, the meta commands in memcache_meta.cc, the binary
// protocol's commands in memcache_binary.cc.
#ifndef XDPKV_PROXY_MEMCACHE_FAMILY_H_
#define XDPKV_PROXY_MEMCACHE_FAMILY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/memcache_text.h"
#include "proxy/handlers.h"

namespace xdpkv::memcache_family {

// --- memcached's item geometry -------------------------------------------------
//
// xdpkv has no slab allocator, but memcached's tools read item sizes and
// slab classes (`me`, metadump's size= and cls=, stats items/slabs). They
// are computed as memcached 1.6.18 computes them with its defaults (item
// header 48 bytes, -f 1.25, -n 48, slab_chunk_max 512k, 1 MiB pages), so a
// memcached holding the same items would report the same figures.

// ITEM_ntotal: header, key and its NUL, the flags if any, the value and its
// \r\n, the CAS unique unless -C.
uint32_t ItemTotalSize(size_t key_len, size_t value_len, uint32_t flags, bool cas_enabled);
// The slab class memcached would keep such an item in (its header's class
// for an item over slab_chunk_max, as memcached chunks those).
uint32_t SlabClassOf(size_t key_len, size_t value_len, uint32_t flags, bool cas_enabled);
// A class's chunk size and chunks per 1 MiB page.
uint32_t SlabChunkSize(uint32_t cls);
uint32_t SlabChunksPerPage(uint32_t cls);
// memcached has no types: an item of another Redis type (a hash) is not
// there for it, and its writes replace it as Redis's SET does.
inline std::optional<StoredItem> StringOnly(const std::optional<StoredItem>& item) {
  if (item && item->type != ValueType::kString) return std::nullopt;
  return item;
}

inline constexpr uint32_t kMaxSlabClasses = 64;  // MAX_NUMBER_OF_SLAB_CLASSES

// --- per-item flags on a fetch -------------------------------------------------

// memcached's bump of an item a read hit (do_item_bump, segmented LRU):
// the first hit marks it fetched, the second active, and only then does
// its access time move (*activates); later hits change nothing. The flags
// (XDPKV_MC_*) after this hit.
uint32_t FetchedBits(uint32_t mc_bits, bool* activates);
// Writes that bump (only on an item's first two hits: a cheap write of its
// flags, not its value).
void MarkFetched(Store& store, std::string_view key, const StoredItem& item,
                 const ServerContext& context);

// --- stats detail -------------------------------------------------------------

// Records a get (hit or miss), a set or a delete of `key` for `stats
// detail dump`, when detail is on and the key has the prefix delimiter.
enum class PrefixOp { kGetHit, kGetMiss, kSet, kDelete };
void RecordPrefix(const ServerContext& context, std::string_view key, PrefixOp op);

// --- admin commands -----------------------------------------------------------

// What an admin command needs of its connection.
struct Connection {
  // memcached's resp_has_stack: replies read with this request and not
  // yet sent (watch and metadump refuse to follow them).
  bool has_unsent_replies = false;
};

void Statistics(const memcache::Command& command, Store& store, const ServerContext& context,
                std::string* out);
// shutdown: memcached's refusals, or the server stops (the connection
// closes without a reply).
AfterReply Shutdown(const memcache::Command& command, const ServerContext& context,
                    std::string* out);
void CacheMemlimit(const memcache::Command& command, Store& store, std::string* out);
// watch: memcached's reply; kBecomeWatcher when the connection now only
// watches (xdpkv logs nothing to it: docs/protocols.md).
AfterReply Watch(const memcache::Command& command, const ServerContext& context,
                 const Connection& connection, std::string* out);

// lru_crawler metadump streams the store's items: what is left of it.
struct Metadump {
  uint64_t cursor = 0;
  uint64_t classes = 0;  // bit per slab class; all set for "all"/"hash"
};
// lru_crawler <sub> ...: answered at once, or a metadump to stream
// (*dump set; ContinueMetadump writes it).
void LruCrawler(const memcache::Command& command, const ServerContext& context,
                const Connection& connection, std::string* out, std::optional<Metadump>* dump);
// Writes what is left of `dump`, stopping once out->size() exceeds
// `out_limit`; true when done (its END written).
bool ContinueMetadump(Metadump& dump, Store& store, const ServerContext& context,
                      std::string* out, size_t out_limit);

// --- data commands (memcache_handlers.cc) ---------------------------------------
//
// What the text and the binary protocol share: each outcome is an enum,
// mapped to each protocol's words by its caller (text: memcache_handlers.cc,
// binary: memcache_binary.cc). The counters memcached keeps for them are
// kept here, where both protocols count alike.

// One key read as memcached's get (the item marked fetched, then active)
// or, with `touch`, as its touch and gat (the expiry set to `expires_at`;
// nullopt: expired now), recorded for stats detail. nullopt: a miss, or an
// item of another Redis type (memcached has no types). Counts nothing else.
// `read`: the plain read's result when the caller has it already (a batch).
absl::StatusOr<std::optional<StoredItem>> ReadItem(Store& store, std::string_view key, bool touch,
                                                   std::optional<uint64_t> expires_at,
                                                   const ServerContext& context,
                                                   std::optional<ReadAhead::Item> read = std::nullopt);

enum class StoreMode : uint8_t { kSet, kAdd, kReplace, kAppend, kPrepend };
struct StoreRequest {
  StoreMode mode = StoreMode::kSet;
  std::string_view key;
  std::string_view data;
  uint32_t flags = 0;
  int64_t exptime = 0;  // as sent: memcached's rules (proxy/expiry.h)
  // Stored only over an item with this CAS unique: set, add and replace
  // act as memcached's cas (NOT_FOUND on a miss; with -C nothing matches),
  // append and prepend compare it first.
  std::optional<uint64_t> compare_cas;
};
enum class StoreOutcome : uint8_t {
  kStored,
  kNotStored,  // add over an item, replace/append/prepend of none
  kExists,     // the CAS did not match
  kNotFound,   // a cas of no item
  kTooLarge,   // an append/prepend past the item size limit
  kNoMemory,   // the store is full (the old value of a set is unlinked)
  kFailed,     // another store error: `status`
};
struct StoreResult {
  StoreOutcome outcome = StoreOutcome::kNotStored;
  uint64_t cas = 0;  // kStored: the new CAS unique
  absl::Status status;
};
// set, add, replace, append, prepend, cas; counts cmd_set, cas_*,
// total_items and the refusals.
StoreResult StoreValue(const StoreRequest& request, Store& store, const ServerContext& context);

struct DeltaRequest {
  std::string_view key;
  bool incr = true;
  uint64_t delta = 0;
  std::optional<uint64_t> compare_cas;  // binary: applied only over this CAS unique
  // Binary: a missing item is created holding `initial`, with this exptime.
  struct Create {
    uint64_t initial = 0;
    int64_t exptime = 0;
  };
  std::optional<Create> create;
};
enum class DeltaOutcome : uint8_t {
  kDone,        // `value` is the result
  kCreated,     // `value` is the initial value, now stored
  kNotFound,
  kExists,      // the CAS did not match
  kNonNumeric,  // memcached's "cannot increment or decrement non-numeric value"
  kNotStored,   // not created: the key holds another Redis type
  kFailed,      // a store error: `status`
};
struct DeltaResult {
  DeltaOutcome outcome = DeltaOutcome::kNotFound;
  uint64_t value = 0;
  uint64_t cas = 0;  // kDone, kCreated: the item's new CAS unique
  absl::Status status;
};
// incr, decr: unsigned 64-bit, incr wraps, decr stops at 0; counts
// incr_*/decr_* hits and misses and new items.
DeltaResult ApplyDelta(const DeltaRequest& request, Store& store, const ServerContext& context);

enum class DeleteOutcome : uint8_t { kDeleted, kNotFound, kExists, kFailed };
// delete, with a CAS to compare (binary) or none; counts delete_hits and
// delete_misses. kFailed: *status says why.
DeleteOutcome DeleteItem(std::string_view key, std::optional<uint64_t> compare_cas, Store& store,
                         const ServerContext& context, absl::Status* status);

// flush_all's work, once allowed and counted: every item now, or with a
// positive delay (an exptime) when it is up.
absl::Status FlushItems(int64_t delay, Store& store, const ServerContext& context);

// The CAS unique memcached shows for an item: 0 with -C.
inline uint64_t ShownCas(uint64_t cas, const ServerContext& context) {
  return context.memcache.cas_enabled ? cas : 0;
}

// --- meta commands (memcache_meta.cc) -------------------------------------------

// mg ms md ma mn me, as memcached 1.6.18 answers them.
AfterReply Meta(const memcache::Command& command, Store& store, const ServerContext& context,
                std::string* out);

}  // namespace xdpkv::memcache_family

#endif  // XDPKV_PROXY_MEMCACHE_FAMILY_H_
