// Restarting over a pinned store whose maps are not the ones this start
// creates: sized for another memory limit (-m), or laid out in another
// version's key classes. Its items are copied into new maps sized for this
// start, keeping what fits the new limit by the eviction policy, and the new
// maps are pinned in place of the old (docs/architecture.md, "Resizing").
#ifndef XDPKV_PROXY_STORE_RESIZE_H_
#define XDPKV_PROXY_STORE_RESIZE_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proxy/eviction.h"
#include "proxy/store_layout.h"

namespace xdpkv {

// A store map: items (xdpkv_items_k<N>) or out-of-line values
// (xdpkv_blobs_<class>), as pinned or as this start would create it.
struct StoreMapShape {
  std::string name;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  bool operator==(const StoreMapShape&) const = default;
};

// True for the pin names the store's maps have (items and blobs).
bool IsStoreMapName(const std::string& name);

// Every store map pinned in a directory, opened (the fds are owned).
class PinnedStore {
 public:
  static absl::StatusOr<PinnedStore> Open(const std::string& pin_dir);
  PinnedStore(PinnedStore&& other) noexcept;
  PinnedStore& operator=(PinnedStore&& other) noexcept;
  ~PinnedStore();

  bool empty() const { return maps_.empty(); }
  const std::vector<StoreMapShape>& maps() const { return maps_; }
  int fd(size_t i) const { return fds_[i]; }
  // True if the pinned maps are exactly `wanted` (then they are reused).
  bool Matches(std::span<const StoreMapShape> wanted) const;

 private:
  PinnedStore() = default;
  std::vector<StoreMapShape> maps_;
  std::vector<int> fds_;
};

// Removes every store map pinned in `pin_dir` (--fresh), whatever its
// layout, and what an interrupted resize left beside them.
absl::Status DropPinnedStore(const std::string& pin_dir);

// Removes the pins a resize interrupted between pinning a new map beside
// its old one and renaming it over it (each a whole map no store uses).
absl::Status DropInterruptedPins(const std::string& pin_dir);

// The store this start creates: what its elements cost and its limit.
struct ResizeTarget {
  std::array<uint64_t, XDPKV_KEY_CLASS_COUNT> item_cost{};
  std::array<uint64_t, XDPKV_BLOB_CLASS_COUNT> blob_cost{};
  uint64_t chunk_cost = 0;
  uint64_t element_limit = 0;  // bytes for elements; 0: none
  EvictionPolicy policy = EvictionPolicy::kAllKeysLru;
  LfuParams lfu;
  uint64_t now_ms = 0;  // CLOCK_BOOTTIME, as item expiry and recency
};

// What a resize keeps: every live item of the old store, less what the
// policy evicts to fit the new limit.
struct ResizePlan {
  struct Keep {
    uint32_t map = 0;   // index in PinnedStore::maps()
    std::string key;    // the old map's key bytes
    uint64_t cost = 0;  // what the item and its value take in the new store
  };
  std::vector<Keep> keep;
  std::array<uint64_t, XDPKV_KEY_CLASS_COUNT> items{};  // kept, per new key class
  std::array<uint64_t, XDPKV_BLOB_CLASS_COUNT> blobs{};  // their values, per value class
  uint64_t chunks = 0;                                   // and chunks
  uint64_t bytes = 0;    // what the kept elements take in the new store
  uint64_t found = 0;    // items in the old store
  uint64_t expired = 0;  // dropped: past their expiry, or being deleted
  uint64_t evicted = 0;  // dropped by the policy to fit the limit
  uint64_t broken = 0;   // dropped: an out-of-line value missing (found by CopyKept)
  std::string Summary() const;
};

absl::StatusOr<ResizePlan> PlanResize(const PinnedStore& old, const ResizeTarget& target);

// Writes what `plan` keeps into the new maps (by key class and value
// class, or chunks for values over 64 KiB, whatever the old store kept
// them in), items after their values, so no item points to a missing one.
// An item whose value is missing is dropped, and taken out of `plan`'s
// counts (ResizePlan::broken).
absl::Status CopyKept(const PinnedStore& old, ResizePlan* plan, std::span<const int> item_fds,
                      std::span<const int> blob_fds, int chunk_fd);

// Pins each new map (name, fd) over the old pin of that name, each beside
// it first and then renamed over it, so a crash leaves every pin a whole
// map; then removes the old store's pins the new layout has no map for.
absl::Status ReplacePins(const std::string& pin_dir,
                         std::span<const std::pair<std::string, int>> new_maps,
                         const PinnedStore& old);

}  // namespace xdpkv

#endif  // XDPKV_PROXY_STORE_RESIZE_H_
