// Store over the XDP program's maps (layout: bpf/xdpkv_layout.h).
// Items are read by copying under their spin lock (BPF_F_LOCK) and written
// in place under it, exactly as the XDP program does. Values above the
// inline size live in immutable blobs: written before the item points to
// them, deleted after it stops.
#ifndef XDPKV_PROXY_BPF_STORE_H_
#define XDPKV_PROXY_BPF_STORE_H_

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include "proxy/store.h"
#include "proxy/store_layout.h"

namespace xdpkv {

class XdpLoader;

class BpfStore : public Store {
 public:
  // The store over `loader`'s maps (which must outlive it).
  static std::unique_ptr<BpfStore> ForLoader(const XdpLoader& loader);

  BpfStore(std::array<int, XDPKV_KEY_CLASS_COUNT> item_map_fds,
           std::array<int, XDPKV_BLOB_CLASS_COUNT> blob_map_fds, uint64_t* cas_counter,
           int cas_program_fd)
      : item_fds_(item_map_fds),
        blob_fds_(blob_map_fds),
        cas_counter_(cas_counter),
        cas_program_fd_(cas_program_fd),
        shared_(std::make_shared<Shared>()) {
    shared_->root = this;
  }

  absl::StatusOr<std::optional<StoredItem>> Get(std::string_view key) override;
  absl::StatusOr<std::optional<StoredItem>> Peek(std::string_view key) override;
  std::vector<absl::StatusOr<std::optional<StoredItem>>> GetMany(
      std::span<const std::string_view> keys, size_t max_value_bytes = SIZE_MAX) override;
  size_t WriteMany(std::span<const BatchedWrite> writes, std::span<int64_t> numbers) override;
  absl::StatusOr<uint64_t> Set(std::string_view key, std::string_view value, uint32_t flags,
                               uint64_t expires_at_ms) override;
  absl::StatusOr<bool> Delete(std::string_view key) override;
  absl::StatusOr<std::optional<uint64_t>> Mutate(std::string_view key,
                                                 const MutateFn& decide) override;
  absl::StatusOr<ScanPage> Scan(uint64_t cursor, size_t count) override;
  absl::StatusOr<bool> SetItemMeta(std::string_view key, uint64_t cas, uint32_t mc_bits,
                                   uint32_t atime_s) override;
  absl::StatusOr<size_t> Clear() override;
  absl::StatusOr<StoreUsage> Usage() override;
  absl::Status Snapshot(const SnapshotVisitor& visit) override;
  absl::StatusOr<uint64_t> Restore(std::string_view key, std::string_view value, uint32_t flags,
                                   uint64_t expires_at_ms, uint64_t cas, ValueType type) override;
  absl::StatusOr<DatabaseSizes> SnapshotCountingDatabases(const SnapshotVisitor& visit) override;
  uint64_t Writes() const override { return shared_->writes.load(std::memory_order_relaxed); }
  uint64_t ApproximateItems() override;
  MemoryReport Memory() override;
  StoreCounters Counters() override;
  absl::Status SetMemoryLimit(uint64_t bytes) override;
  void SetEvictionPolicy(EvictionPolicy policy) override;
  void SetLfuParams(const LfuParams& params) override;
  LfuParams Lfu() const;
  size_t EvictForHeadroom(size_t max) override;
  // The room EvictForHeadroom keeps free follows the kernel's need for it:
  // the chore reports how many kernel writes found the store full since
  // its last tick (XDPKV_PASS_NO_MEMORY: passed to userspace, which evicts
  // and stores them); any doubles the room (from 1/256 of the limit, up to
  // 1/16), none shrinks it by 1/16, to nothing. A store the kernel does
  // not write to (XDP off, reads only) keeps none: its whole limit holds
  // items (userspace writes evict as they need).
  void AdaptHeadroom(uint64_t kernel_writes_passed);
  uint64_t Headroom() const;
  // Redis's numbered databases: views of the same maps whose keys carry
  // the database's number (docs/architecture.md, "Databases"). This store
  // is database 0, the one the kernel path serves.
  Store* Database(int index) override;
  // Two databases other than 0 swap the numbers that name them: O(1).
  // With database 0, whose map keys the kernel path reads, every item of
  // both moves, one at a time (docs/architecture.md, "Databases").
  absl::Status SwapDatabases(int a, int b) override;

  // Deletes blobs that no item points to and that are older than
  // XDPKV_BLOB_ORPHAN_AGE_MS: left by a writer that died between writing
  // its blob and pointing its item at it (every replace or delete frees the
  // old version's blob itself). A younger blob may still be about to be
  // pointed at. Returns how many blobs it deleted.
  absl::StatusOr<size_t> SweepOrphanBlobs();

 private:
  // Deletes blob `id` of a value of `value_len` bytes, if there is one.
  void DeleteBlob(uint64_t id, uint32_t value_len);
  // Writes the out-of-line value of `item` (its blob_id set) for `key`,
  // with the memory it takes reserved: its class's blob, or chunks.
  absl::Status WriteBlob(std::string_view key, const xdpkv_item& item, std::string_view value);
  // A new item for `value` under a fresh CAS unique, carrying `key_tag`
  // (xdpkv_key_tag of the key), its blob written first when the value is
  // not inline.
  absl::StatusOr<xdpkv_item> NewItem(std::string_view key, uint64_t key_tag,
                                     std::string_view value, uint32_t flags,
                                     uint64_t expires_at_ms);
  // Stores `item` (blob written already) over whatever version is there,
  // or as a new entry. On failure the item's blob is freed.
  absl::Status WriteItem(const xdpkv_key256& key, int fd, const xdpkv_item& item);
  // Counts a write that replaced `old`, if it was an expired version
  // (memcached's reclaimed).
  void CountReplaced(const xdpkv_item& old);
  // The item as stored, its value read (nullopt: absent). Expired items
  // are returned too: Mutate must know their CAS to replace them.
  struct RawItem {
    xdpkv_item item;
    std::string value;
  };
  absl::StatusOr<std::optional<RawItem>> ReadRaw(std::string_view key);
  // A read item's value: inline, or its blob's (false if the blob is gone
  // or changed: the item was written since it was read).
  absl::StatusOr<bool> ReadValue(const xdpkv_item& item, std::string* value);
  // What Get answers for `item`, read under its lock, and its `value`:
  // absent if expired (that version deleted), else the item, its recency
  // refreshed if `count_hit` (not where the read program counted it, nor
  // for Peek).
  std::optional<StoredItem> Live(std::string_view key, const xdpkv_item& item,
                                 std::string value, bool count_hit = true);
  // Live for an item whose value is still to read (GetMany). nullopt: the
  // value changed under us; read the key again.
  std::optional<absl::StatusOr<std::optional<StoredItem>>> Answer(std::string_view key,
                                                                  const xdpkv_item& item);
  // Runs xdpkv_store_cas: `op` on `key` only if its CAS is `expected_cas`
  // (XDPKV_CAS_ANY: any version). Returns an enum xdpkv_cas_result (never
  // BAD_REQUEST: that is an error); when it replaced or deleted, *old (if
  // given) is the version it acted on (the program freed its blob).
  absl::StatusOr<uint32_t> CompareAndSwap(const xdpkv_key256& key, uint64_t expected_cas,
                                          xdpkv_cas_op op, const xdpkv_item* item,
                                          xdpkv_item* old = nullptr);
  // Deletes `key` if it is still the item `seen` (false: it changed).
  absl::StatusOr<bool> DeleteIfUnchanged(std::string_view key, const xdpkv_item& seen);
  // Deletes `key` if it is still the item `seen` and still expired now: a
  // touch since keeps the CAS but saves the item (false: it changed).
  absl::StatusOr<bool> DeleteIfStillExpired(std::string_view key, const xdpkv_item& seen);
  // Visits the items of key class `cls` in about `count` entries from hash
  // bucket *bucket, then advances *bucket. True when the class is done.
  // Items of this store's database only, or (every_database) of all, the
  // visitor then told each item's database.
  using BatchVisitor = std::function<void(std::string_view key, const xdpkv_item& item)>;
  using AnyDatabaseVisitor =
      std::function<void(uint32_t db, std::string_view key, const xdpkv_item& item)>;
  absl::StatusOr<bool> ReadBatch(size_t cls, uint32_t* bucket, size_t count,
                                 const BatchVisitor& visit);
  absl::StatusOr<bool> ReadBatchAnyDatabase(size_t cls, uint32_t* bucket, size_t count,
                                            const AnyDatabaseVisitor& visit);
  // Snapshot's walk; counts every database's items into *sizes if given.
  absl::Status Walk(const SnapshotVisitor& visit, DatabaseSizes* sizes);
  // Visits every item of every key class of this store's database (Clear,
  // Usage).
  absl::Status ForEachItem(const BatchVisitor& visit);
  // The store whose map keys carry `physical` (this one's maps and shared
  // state); what a database number names is Shared::physical's.
  BpfStore& InPhysical(uint32_t physical);
  // Moves every item of this store into `to` (another physical database),
  // each written there before it is deleted here.
  absl::Status MoveItemsTo(BpfStore& to);

  // ---- memory (struct xdpkv_memory, shared with the kernel) ----
  // Takes `cost` bytes of the limit for an element about to be inserted,
  // evicting first as the policy allows; ResourceExhausted if it cannot.
  absl::Status Reserve(uint64_t cost);
  bool TryReserve(uint64_t cost);
  void Release(uint64_t cost);
  uint64_t ItemCost(size_t key_len) const;
  uint64_t BlobCost(uint32_t value_len) const;
  // Samples items from a random place and deletes the one the policy
  // prefers. False if it found none to evict. `direct`: for a write that
  // found no room (memcached's direct_reclaims), not the chore.
  bool EvictOne(bool direct = false);
  // A userspace hit's recency for eviction (the kernel's hits write their
  // own): written when the item's is RecencyRefreshAfterMs old or more.
  void RefreshRecency(std::string_view key, const xdpkv_item& item);

  std::array<int, XDPKV_KEY_CLASS_COUNT> item_fds_;
  std::array<int, XDPKV_BLOB_CLASS_COUNT> blob_fds_;
  int chunk_fd_ = -1;  // values over 64 KiB (xdpkv_blobs_chunked); -1: none
  uint64_t* cas_counter_;
  int cas_program_fd_;
  const XdpLoader* loader_ = nullptr;  // memory figures, batched reads
  xdpkv_memory* memory_ = nullptr;     // null: no accounting (no loader)
  uint64_t fixed_bytes_ = 0;
  std::array<uint32_t, XDPKV_KEY_CLASS_COUNT> item_buckets_{};
  uint32_t db_ = 0;  // the database number this store's map keys carry (physical)

  // An item an eviction sampled, as it was then.
  struct EvictionSample {
    uint32_t db = 0;
    std::string key;
    xdpkv_item item{};
  };

  // What every database's store shares.
  struct Shared {
    std::atomic<EvictionPolicy> policy{EvictionPolicy::kNoEviction};
    std::atomic<uint32_t> lfu_log_factor{LfuParams{}.log_factor};
    std::atomic<uint32_t> lfu_decay_minutes{LfuParams{}.decay_minutes};
    std::atomic<uint64_t> evicted{0};
    std::atomic<uint64_t> headroom{0};  // bytes EvictForHeadroom keeps free (AdaptHeadroom)
    // memcached's stats (StoreCounters).
    std::atomic<uint64_t> evicted_unfetched{0};
    std::atomic<uint64_t> evicted_active{0};
    std::atomic<uint64_t> direct_reclaims{0};
    std::atomic<uint64_t> get_expired{0};
    std::atomic<uint64_t> reclaimed{0};
    std::atomic<uint64_t> writes{0};  // Writes()
    std::atomic<uint64_t> sample_seed{0x9e3779b97f4a7c15ULL};
    // How long the last item evicted had been idle (0: none yet): how
    // fresh userspace hits keep recency (RecencyRefreshAfterMs).
    std::atomic<uint32_t> last_victim_idle_ms{0};
    std::mutex evict_mutex;  // one evictor at a time: they would pick the same victims
    // Items per key class (a sample starts in a class in proportion), as
    // of class_items_at_ms; under evict_mutex.
    std::array<uint64_t, XDPKV_KEY_CLASS_COUNT> class_items{};
    uint64_t class_items_at_ms = 0;
    // Redis's eviction pool: the best candidates of earlier samples, kept
    // for the next eviction (each picks from its own sample and these),
    // so the choice is as good as a much larger sample's; under
    // evict_mutex.
    std::vector<EvictionSample> pool;
    // Mutates of one key from this process take turns (striped by key
    // hash): optimistic retries alone let one thread starve another.
    // Writers outside (the XDP program, plain Sets) are still caught by the
    // kernel-side CAS.
    std::array<std::mutex, 64> mutate_stripes;
    // Stores by the database number their map keys carry (0 is `root`,
    // the store ForLoader made; the others made on first use). A Redis
    // database number names physical[n] (SWAPDB swaps them); database 0 is
    // always 0, the kernel path's, and `spare` is the one number no
    // database names, for moving database 0's items through.
    BpfStore* root = nullptr;
    std::mutex databases_mutex;
    std::array<std::unique_ptr<BpfStore>, kDatabases + 1> databases;
    std::array<uint32_t, kDatabases> physical = [] {
      std::array<uint32_t, kDatabases> identity{};
      for (uint32_t i = 0; i < kDatabases; ++i) identity[i] = i;
      return identity;
    }();
    uint32_t spare = kDatabases;
  };
  std::shared_ptr<Shared> shared_;
};

}  // namespace xdpkv

#endif  // XDPKV_PROXY_BPF_STORE_H_
