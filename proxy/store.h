// The store the server and the tests talk to. The server depends on this
// interface only; BpfStore is the implementation over the XDP program's
// maps (so both paths see each other's writes at once).
#ifndef XDPKV_PROXY_STORE_H_
#define XDPKV_PROXY_STORE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proxy/eviction.h"

namespace xdpkv {

// Redis's data types. A value of another type than a string is that
// type's encoding (proxy/typed_value.h); memcached sees strings only.
enum class ValueType : uint32_t { kString = 0, kHash = 1, kList = 2, kSet = 3, kZSet = 4 };

struct StoredItem {
  std::string value;
  uint32_t flags = 0;
  uint64_t cas = 0;
  uint64_t expires_at_ms = 0;  // CLOCK_BOOTTIME milliseconds; 0 = never
  ValueType type = ValueType::kString;
  // memcached's per-item flags (XDPKV_MC_* in bpf/xdpkv_layout.h) and the
  // boot second of the item's last write, kernel hit or activation: what
  // the meta protocol reports as h, l, W/X/Z (proxy/memcache_meta.cc).
  uint32_t mc_bits = 0;
  uint32_t atime_s = 0;
  // Its LFU counter, decayed to now (Redis's OBJECT FREQ): kept under an
  // LFU policy only (proxy/eviction.h).
  uint32_t lfu = 0;
};

// An item without its value: what a walk of the store reports.
struct ItemMeta {
  uint32_t value_len = 0;
  uint32_t flags = 0;
  uint64_t cas = 0;
  uint64_t expires_at_ms = 0;
  uint32_t mc_bits = 0;
  uint32_t atime_s = 0;
};

// What a read-modify-write decides, given the current item.
struct Mutation {
  // kMeta: only the item's memcached flags (mc_bits) and access time
  // change (keep_atime: it stays; else now); value, expiry and CAS stay.
  enum Kind { kKeep, kWrite, kDelete, kMeta };
  Kind kind = kKeep;
  std::string value;
  uint32_t flags = 0;
  uint64_t expires_at_ms = 0;
  // Keep the current item's CAS unique (memcached's touch changes only the
  // expiry; every other write gets a new one).
  bool keep_cas = false;
  ValueType type = ValueType::kString;
  // The written item's memcached flags (XDPKV_MC_*): none for a new value.
  uint32_t mc_bits = 0;
  // Keep the current item's atime_s (an update in place, as memcached's
  // touch or incr); else the write's time.
  bool keep_atime = false;

  static Mutation Keep() { return {}; }
  static Mutation Write(std::string value, uint32_t flags, uint64_t expires_at_ms,
                        ValueType type = ValueType::kString, uint32_t mc_bits = 0) {
    return {kWrite, std::move(value), flags, expires_at_ms, false, type, mc_bits, false};
  }
  // A new value; the item keeps its flags, expiry and type (a new item:
  // flags 0, no expiry, `type`). APPEND, INCR, SETRANGE, HSET, memcached's
  // incr and append. `in_place`: also its memcached flags and access time
  // (memcached's incr rewrites a number that still fits in place; append
  // makes a new item).
  static Mutation Rewrite(const std::optional<StoredItem>& current, std::string value,
                          ValueType type = ValueType::kString, bool in_place = false) {
    return {kWrite,
            std::move(value),
            current ? current->flags : 0u,
            current ? current->expires_at_ms : 0u,
            false,
            current ? current->type : type,
            in_place && current ? current->mc_bits : 0u,
            in_place};
  }
  static Mutation Touch(const StoredItem& current, uint64_t expires_at_ms) {
    return {kWrite, current.value, current.flags, expires_at_ms,
            true,   current.type,  current.mc_bits, true};
  }
  static Mutation Delete() { return {kDelete, {}, 0, 0, false, ValueType::kString, 0, false}; }
  static Mutation Meta(uint32_t mc_bits, bool keep_atime) {
    return {kMeta, {}, 0, 0, true, ValueType::kString, mc_bits, keep_atime};
  }
};

// One write of a batch (Store::WriteMany): Redis's plain SET (and MSET's
// pairs) and INCRBY (INCR, DECR, DECRBY).
struct BatchedWrite {
  enum Kind : uint8_t {
    // `value` over whatever is there, of any type: flags 0, no expiry.
    kSet,
    // The string's integer plus `delta`, keeping its flags and expiry; an
    // absent key becomes `delta`.
    kIncrBy,
  };
  Kind kind = kSet;
  std::string_view key;
  std::string_view value;  // kSet
  int64_t delta = 0;       // kIncrBy
  // kSet: an expired item replaced counts as a read that found it expired
  // (SET reads the key through Mutate; MSET's Set does not).
  bool counts_expired_read = false;
};

// Decides from the current item (nullopt: absent or expired). May be called
// more than once: it must not have side effects beyond its result.
using MutateFn = std::function<Mutation(const std::optional<StoredItem>& current)>;

// One step of a scan over the whole keyspace.
struct ScanPage {
  std::vector<std::string> keys;  // live keys (expired ones are dropped, and removed)
  std::vector<ItemMeta> metas;    // each key's item, without its value (same order)
  uint64_t next_cursor = 0;       // 0: the scan is complete
  size_t expired = 0;             // expired items this step removed
};

// What the store holds (live and not yet swept items alike).
struct StoreUsage {
  uint64_t items = 0;
  uint64_t bytes = 0;        // keys and values
  uint64_t with_expiry = 0;  // items that have a TTL
  uint64_t ttl_sum_ms = 0;   // their TTLs left, summed (expired ones count 0)
};

// The store's memory against its limit (docs/architecture.md, "Memory").
struct MemoryReport {
  uint64_t used_bytes = 0;      // fixed tables plus elements, as the kernel allocated them
  uint64_t limit_bytes = 0;     // -m / maxmemory; 0 = none
  uint64_t fixed_bytes = 0;     // the maps' fixed tables (bucket arrays), in used_bytes
  uint64_t kernel_memlock = 0;  // the kernel's own figure (sum of the maps' memlock)
  uint64_t evicted_keys = 0;
  EvictionPolicy policy = EvictionPolicy::kNoEviction;
  LfuParams lfu;
};

// Redis's `databases`: SELECT 0..15.
inline constexpr int kDatabases = 16;

// Called with each item of a snapshot walk; an error stops the walk and is
// returned by it.
using SnapshotVisitor = std::function<absl::Status(std::string_view key, const StoredItem& item)>;

// What the store counts as it goes, for memcached's stats (cumulative;
// a `stats reset` takes a baseline). Userspace's work only: the kernel's
// own counters are the XDP program's.
struct StoreCounters {
  uint64_t get_expired = 0;        // reads that found their item expired
  uint64_t reclaimed = 0;          // writes that replaced an expired item
  uint64_t evicted_unfetched = 0;  // evictions of items never fetched
  uint64_t evicted_active = 0;     // evictions of items fetched twice or more
  uint64_t direct_reclaims = 0;    // evictions a write made to find room itself
  uint64_t hash_buckets = 0;       // buckets of the item maps (fixed)
};

class Store {
 public:
  virtual ~Store() = default;
  // nullopt when absent or expired.
  virtual absl::StatusOr<std::optional<StoredItem>> Get(std::string_view key) = 0;
  // Get that is not a hit as eviction counts them (Redis's LOOKUP_NOTOUCH,
  // what OBJECT reads with): the item's recency and LFU counter stay.
  virtual absl::StatusOr<std::optional<StoredItem>> Peek(std::string_view key) { return Get(key); }
  // Get for the keys in order, one answer per key, for as many keys as fit
  // `max_value_bytes` of values (at least one): a caller bounding its
  // output gets no more than that plus one value, and asks again for the
  // rest. A store may read them together (BpfStore: one program run for up
  // to XDPKV_READ_BATCH keys).
  virtual std::vector<absl::StatusOr<std::optional<StoredItem>>> GetMany(
      std::span<const std::string_view> keys, size_t max_value_bytes = SIZE_MAX) {
    std::vector<absl::StatusOr<std::optional<StoredItem>>> items;
    size_t bytes = 0;
    for (std::string_view key : keys) {
      if (!items.empty() && bytes > max_value_bytes) break;
      items.push_back(Get(key));
      if (items.back().ok() && *items.back()) bytes += (*items.back())->value.size();
    }
    return items;
  }
  // Does `writes` in order, each exactly as the one-key path would
  // (Set; Mutate for kIncrBy), as far as it can together, and stops before
  // the first it cannot do that way (a store error, a value that is not an
  // integer, another type, an overflow, no room without evicting...):
  // returns how many it did, a prefix, the caller doing the rest its own
  // way. numbers[i] is a kIncrBy's new value. A store without batches does
  // none (BpfStore: one program run for up to XDPKV_WRITE_BATCH writes).
  virtual size_t WriteMany(std::span<const BatchedWrite> /*writes*/,
                           std::span<int64_t> /*numbers*/) {
    return 0;
  }
  // Creates or replaces; returns the item's new CAS unique.
  // ResourceExhausted when the store is full.
  virtual absl::StatusOr<uint64_t> Set(std::string_view key, std::string_view value,
                                       uint32_t flags, uint64_t expires_at_ms) = 0;
  // True when a live item was deleted.
  virtual absl::StatusOr<bool> Delete(std::string_view key) = 0;
  // Applies `decide` atomically with respect to every other writer, the
  // XDP program's included: if the item changes between the read and the
  // write, it reads again and decides again. Returns the new CAS unique
  // when it wrote (a kMeta: the item's, unchanged), nullopt when it kept or
  // deleted. (A kDelete is not atomic: it removes whatever is there.)
  virtual absl::StatusOr<std::optional<uint64_t>> Mutate(std::string_view key,
                                                         const MutateFn& decide) = 0;
  // Looks at about `count` stored items from `cursor` (0: the start). As
  // Redis's SCAN guarantees: a key present for a whole scan is returned at
  // least once (perhaps more), whatever else is written meanwhile.
  virtual absl::StatusOr<ScanPage> Scan(uint64_t cursor, size_t count) = 0;
  // Deletes every item; returns how many there were.
  virtual absl::StatusOr<size_t> Clear() = 0;
  // Counts by walking the store: O(items), for stats and DBSIZE.
  virtual absl::StatusOr<StoreUsage> Usage() = 0;

  // ---- snapshots (proxy/snapshot.h) ----
  // Visits every live item once (not expired, not being deleted), each
  // read atomically: its value, flags, CAS and expiry are one version,
  // also against the XDP program's writes. Not a point in time: writes
  // during the walk may or may not be seen, each key in the version it
  // had when the walk reached it. Safe alongside every other method.
  virtual absl::Status Snapshot(const SnapshotVisitor& visit) = 0;
  // Creates or replaces `key` as a snapshot had it, of `type` (its value
  // that type's encoding, proxy/typed_value.h, as the handlers write it),
  // keeping its CAS unique (0: a fresh one, as Set) and raising the CAS
  // counter above it, so no later write reuses it. Memory is reserved
  // (evicting as the policy allows) as for any write. Not counted in
  // Writes().
  virtual absl::StatusOr<uint64_t> Restore(std::string_view key, std::string_view value,
                                           uint32_t flags, uint64_t expires_at_ms, uint64_t cas,
                                           ValueType type) = 0;
  // Keys in each database (index: the database), and how many of them
  // have a TTL (expired ones not yet swept included).
  struct DatabaseSize {
    uint64_t keys = 0;
    uint64_t expires = 0;
    bool operator==(const DatabaseSize&) const = default;
  };
  using DatabaseSizes = std::array<DatabaseSize, kDatabases>;
  // Snapshot, and every database's size (this one's included) as the walk
  // found them, counted in the same walk where a store can (BpfStore: its
  // databases share the maps it walks): a dump learns which other
  // databases to walk at no extra cost for the common case of one.
  virtual absl::StatusOr<DatabaseSizes> SnapshotCountingDatabases(const SnapshotVisitor& visit) {
    if (auto status = Snapshot(visit); !status.ok()) return status;
    DatabaseSizes sizes{};
    for (int db = 0; db < kDatabases; ++db) {
      Store* store = Database(db);
      if (store == nullptr) continue;
      auto usage = store->Usage();
      if (!usage.ok()) return usage.status();
      sizes[db] = {usage->items, usage->with_expiry};
    }
    return sizes;
  }
  // Writes through this store since it was made: every Set, delete of a
  // live key, Mutate that wrote or deleted, and each item Clear removed
  // (Redis's dirty counter, for the save schedule; the XDP program's
  // writes are counted by its own counters).
  virtual uint64_t Writes() const { return 0; }
  // About how many items the store holds, cheaply (a hint for RDB's
  // RESIZEDB); 0 when unknown.
  virtual uint64_t ApproximateItems() { return 0; }

  // Sets only the item's memcached flags and access time (XDPKV_MC_*,
  // atime_s), if it is still the version `cas`: value, expiry and CAS
  // stay. False when the item changed or went meanwhile. Reads use it
  // (memcached marks an item fetched on its first hit).
  virtual absl::StatusOr<bool> SetItemMeta(std::string_view key, uint64_t cas, uint32_t mc_bits,
                                           uint32_t atime_s) = 0;

  // Memory and eviction. A store without a limit (the default here) reports
  // nothing and refuses a limit.
  virtual MemoryReport Memory() { return {}; }
  virtual StoreCounters Counters() { return {}; }
  virtual absl::Status SetMemoryLimit(uint64_t /*bytes*/) {
    return absl::UnimplementedError("this store has no memory limit");
  }
  virtual void SetEvictionPolicy(EvictionPolicy /*policy*/) {}
  // Redis's lfu-log-factor and lfu-decay-time.
  virtual void SetLfuParams(const LfuParams& /*params*/) {}
  // Evicts until the store has some room below its limit, at most `max`
  // items; returns how many it evicted (the server's chore calls it, so
  // writes, the kernel's included, rarely find the store full).
  virtual size_t EvictForHeadroom(size_t /*max*/) { return 0; }
  // Redis's numbered databases (0..kDatabases-1), each a keyspace of its
  // own in the same store: this store for 0, nullptr where there are none.
  virtual Store* Database(int index) { return index == 0 ? this : nullptr; }
  // Redis's SWAPDB: from now on database `a` is what `b` was and the
  // reverse, for every store of this family (both valid, a != b). The
  // caller keeps every other user of the two databases out meanwhile.
  virtual absl::Status SwapDatabases(int /*a*/, int /*b*/) {
    return absl::UnimplementedError("this store has one database");
  }
};

}  // namespace xdpkv

#endif  // XDPKV_PROXY_STORE_H_
