// The loader's store maps: sizing them for the memory limit, reusing or
// resizing a pinned store (proxy/store_resize.h), pinning, and counting
// what they hold from the kernel's figures.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bpf/bpf.h"
#include "bpf/libbpf.h"
#include "proxy/store_layout.h"
#include "proxy/xdp_loader.h"
#include "proxy/xdp_loader_internal.h"
#include "xdpkv.skel.h"

namespace xdpkv {
namespace loader_internal {

absl::Status ErrnoStatus(int err, const std::string& what) {
  return absl::ErrnoToStatus(err < 0 ? -err : err, what);
}

std::array<bpf_map*, XDPKV_KEY_CLASS_COUNT> ItemMaps(xdpkv_bpf* skeleton) {
  return {skeleton->maps.xdpkv_items_k16, skeleton->maps.xdpkv_items_k64,
          skeleton->maps.xdpkv_items_k256};
}

std::array<bpf_map*, XDPKV_BLOB_CLASS_COUNT> BlobMaps(xdpkv_bpf* skeleton) {
  auto& m = skeleton->maps;
  return {m.xdpkv_blobs_256, m.xdpkv_blobs_512,  m.xdpkv_blobs_1k,   m.xdpkv_blobs_2k,
          m.xdpkv_blobs_4k,  m.xdpkv_blobs_8k,   m.xdpkv_blobs_16k,  m.xdpkv_blobs_32k,
          m.xdpkv_blobs_64k};
}

// Every map that holds data and so is pinned.
std::vector<bpf_map*> StoreMaps(xdpkv_bpf* skeleton) {
  std::vector<bpf_map*> maps;
  for (bpf_map* map : ItemMaps(skeleton)) maps.push_back(map);
  for (bpf_map* map : BlobMaps(skeleton)) maps.push_back(map);
  maps.push_back(skeleton->maps.xdpkv_blobs_chunked);
  return maps;
}

// The store maps as this load will create them.
std::vector<StoreMapShape> WantedShapes(xdpkv_bpf* skeleton) {
  std::vector<StoreMapShape> shapes;
  for (bpf_map* map : StoreMaps(skeleton)) {
    shapes.push_back({bpf_map__name(map), bpf_map__key_size(map), bpf_map__value_size(map),
                      bpf_map__max_entries(map)});
  }
  return shapes;
}

}  // namespace loader_internal

using namespace loader_internal;  // NOLINT: the loader's own helpers

absl::Status XdpLoader::SizeStoreMaps(const XdpConfig& config, const HtabModel& model) {
  auto& memory = skeleton_->bss->xdpkv_memory;
  const auto item_maps = ItemMaps(skeleton_);
  const auto blob_maps = BlobMaps(skeleton_);
  for (size_t cls = 0; cls < item_maps.size(); ++cls) {
    memory.item_cost[cls] = static_cast<__u32>(
        model.ElementBytes(sizeof(__u32) + kKeyClassBytes[cls], sizeof(xdpkv_item)));
  }
  for (size_t cls = 0; cls < blob_maps.size(); ++cls) {
    memory.blob_cost[cls] = static_cast<__u32>(
        model.ElementBytes(sizeof(__u64), sizeof(xdpkv_blob_header) + BlobClassBytes(cls)));
  }
  memory.chunk_cost =
      static_cast<__u32>(model.ElementBytes(sizeof(xdpkv_chunk_key), sizeof(xdpkv_chunk)));
  if (memory.chunk_cost > XDPKV_BLOB_CLASS_MAX) {
    // A kernel whose element header is larger than this one's: still
    // right, but each chunk takes twice its size.
    std::fprintf(stderr, "xdpkv: a value chunk takes %u bytes on this kernel, not 64 KiB\n",
                 memory.chunk_cost);
  }
  if (config.memory_limit_bytes != 0) {
    // Room for the limit's worth of each class's elements: no class runs
    // out of entries before the store runs out of memory.
    auto size_for_limit = [&](bpf_map* map, uint64_t cost, uint64_t floor) {
      const uint64_t entries =
          std::clamp<uint64_t>(config.memory_limit_bytes / cost, floor, uint64_t{1} << 24);
      return bpf_map__set_max_entries(map, static_cast<__u32>(entries));
    };
    for (size_t cls = 0; cls < item_maps.size(); ++cls) {
      if (int err = size_for_limit(item_maps[cls], memory.item_cost[cls], 64); err != 0) {
        return ErrnoStatus(err, "sizing the store maps");
      }
    }
    for (size_t cls = 0; cls < blob_maps.size(); ++cls) {
      if (int err = size_for_limit(blob_maps[cls], memory.blob_cost[cls], 8); err != 0) {
        return ErrnoStatus(err, "sizing the store maps");
      }
    }
    if (int err = size_for_limit(skeleton_->maps.xdpkv_blobs_chunked, memory.chunk_cost,
                                 XDPKV_MAX_CHUNKS);
        err != 0) {
      return ErrnoStatus(err, "sizing the store maps");
    }
  }

  if (config.max_items_per_class != 0) {
    for (bpf_map* map : StoreMaps(skeleton_)) {
      if (int err = bpf_map__set_max_entries(map, config.max_items_per_class); err != 0) {
        return ErrnoStatus(err, "sizing the store maps");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status XdpLoader::OpenPinnedStore(const XdpConfig& config, const HtabModel& model,
                                        std::optional<PinnedStore>* resize_from,
                                        std::optional<ResizePlan>* resize_plan) {
  auto& memory = skeleton_->bss->xdpkv_memory;
  const auto item_maps = ItemMaps(skeleton_);
  // What is pinned already: reused as it is when its maps are the ones
  // this start creates; copied into them when they are not (another -m,
  // another version's key classes: proxy/store_resize.h).
  if (!config.pin_dir.empty()) {
    if (config.fresh) {
      if (auto status = DropPinnedStore(config.pin_dir); !status.ok()) return status;
    }
    if (auto status = DropInterruptedPins(config.pin_dir); !status.ok()) return status;
    auto pinned = PinnedStore::Open(config.pin_dir);
    if (!pinned.ok()) return pinned.status();
    store_created_ = pinned->empty();
    const std::vector<StoreMapShape> wanted = WantedShapes(skeleton_);
    if (!pinned->empty() && !pinned->Matches(wanted)) {
      // Part of a store is not a store: serving it would lose keys
      // silently (an item whose blob map was recreated empty fails on
      // every read). A store of another layout has other names.
      std::vector<std::string> missing;
      bool other_layout = false;
      for (const StoreMapShape& map : wanted) {
        if (std::none_of(pinned->maps().begin(), pinned->maps().end(),
                         [&](const StoreMapShape& m) { return m.name == map.name; })) {
          missing.push_back(map.name);
        }
      }
      for (const StoreMapShape& map : pinned->maps()) {
        if (std::none_of(wanted.begin(), wanted.end(),
                         [&](const StoreMapShape& m) { return m.name == map.name; })) {
          other_layout = true;
        }
      }
      if (!missing.empty() && !other_layout) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the store in ", config.pin_dir, " is incomplete (missing ",
            absl::StrJoin(missing, ", "), "): refusing to serve part of it; --fresh drops it"));
      }
      ResizeTarget target;
      for (size_t cls = 0; cls < XDPKV_KEY_CLASS_COUNT; ++cls) {
        target.item_cost[cls] = memory.item_cost[cls];
      }
      for (size_t cls = 0; cls < XDPKV_BLOB_CLASS_COUNT; ++cls) {
        target.blob_cost[cls] = memory.blob_cost[cls];
      }
      target.chunk_cost = memory.chunk_cost;
      uint64_t fixed = 0;
      for (bpf_map* map : StoreMaps(skeleton_)) fixed += model.FixedBytes(bpf_map__max_entries(map));
      // Refused before anything is copied (Load says the same otherwise).
      if (config.memory_limit_bytes != 0 && config.memory_limit_bytes <= fixed) {
        return absl::InvalidArgumentError(absl::StrCat(
            "a memory limit of ", config.memory_limit_bytes >> 20,
            " MiB leaves nothing for items: the store's fixed tables take ",
            (fixed + (1 << 20) - 1) >> 20, " MiB of it"));
      }
      target.element_limit =
          config.memory_limit_bytes > fixed ? config.memory_limit_bytes - fixed : 0;
      target.policy = config.eviction_policy;
      target.lfu = config.lfu;
      target.now_ms = NowBootMs();
      auto plan = PlanResize(*pinned, target);
      if (!plan.ok()) return plan.status();
      // What the policy may not evict stays, over the limit if it must:
      // the maps hold all of it.
      auto hold = [](bpf_map* map, uint64_t entries) {
        if (entries <= bpf_map__max_entries(map)) return 0;
        return bpf_map__set_max_entries(map, static_cast<__u32>(entries));
      };
      const auto blob_maps = BlobMaps(skeleton_);
      int err = hold(skeleton_->maps.xdpkv_blobs_chunked, plan->chunks);
      for (size_t cls = 0; cls < item_maps.size() && err == 0; ++cls) {
        err = hold(item_maps[cls], plan->items[cls]);
      }
      for (size_t cls = 0; cls < blob_maps.size() && err == 0; ++cls) {
        err = hold(blob_maps[cls], plan->blobs[cls]);
      }
      if (err != 0) return ErrnoStatus(err, "sizing the store maps");
      *resize_plan = std::move(*plan);
      *resize_from = std::move(*pinned);
    }
  } else {
    store_created_ = true;
  }
  if (!config.pin_dir.empty() && !*resize_from) {
    // A new store may stay unpinned until PinStore (a snapshot is loaded
    // into it first); an existing one is reused through its pins.
    const bool defer = store_created_ && config.defer_pinning_new_store;
    for (bpf_map* map : StoreMaps(skeleton_)) {
      const std::string path = absl::StrCat(config.pin_dir, "/", bpf_map__name(map));
      if (defer) {
        deferred_pins_.push_back(path);
      } else if (int err = bpf_map__set_pin_path(map, path.c_str()); err != 0) {
        return ErrnoStatus(err, absl::StrCat("pin path ", path));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status XdpLoader::FinishResize(const XdpConfig& config, const PinnedStore& old,
                                     ResizePlan* plan) {
  const auto item_maps = ItemMaps(skeleton_);
  const auto blob_maps = BlobMaps(skeleton_);
  // Copied, then pinned over the old maps, before anything can write.
  std::vector<int> item_fds, blob_fds;
  for (bpf_map* map : item_maps) item_fds.push_back(bpf_map__fd(map));
  for (bpf_map* map : blob_maps) blob_fds.push_back(bpf_map__fd(map));
  if (auto status = CopyKept(old, plan, item_fds, blob_fds,
                             bpf_map__fd(skeleton_->maps.xdpkv_blobs_chunked));
      !status.ok()) {
    return status;
  }
  std::vector<std::pair<std::string, int>> new_maps;
  for (bpf_map* map : StoreMaps(skeleton_)) new_maps.emplace_back(bpf_map__name(map), bpf_map__fd(map));
  if (auto status = ReplacePins(config.pin_dir, new_maps, old); !status.ok()) {
    return status;
  }
  std::fprintf(stderr, "xdpkv: the store in %s was sized for another memory limit or layout: %s\n",
               config.pin_dir.c_str(), plan->Summary().c_str());
  resize_summary_ = plan->Summary();
  return absl::OkStatus();
}

absl::Status XdpLoader::PinStore() {
  const std::vector<bpf_map*> maps = StoreMaps(skeleton_);
  if (deferred_pins_.size() != maps.size()) return absl::OkStatus();  // pinned at load, or never
  for (size_t i = 0; i < maps.size(); ++i) {
    if (int err = bpf_map__pin(maps[i], deferred_pins_[i].c_str()); err != 0) {
      // All or nothing: a part of a store pinned would be refused next time.
      for (size_t j = 0; j < i; ++j) bpf_map__unpin(maps[j], deferred_pins_[j].c_str());
      return ErrnoStatus(err, absl::StrCat("pinning ", deferred_pins_[i]));
    }
  }
  deferred_pins_.clear();
  return absl::OkStatus();
}

std::array<int, XDPKV_KEY_CLASS_COUNT> XdpLoader::item_map_fds() const {
  std::array<int, XDPKV_KEY_CLASS_COUNT> fds{};
  const auto maps = ItemMaps(skeleton_);
  for (size_t i = 0; i < maps.size(); ++i) fds[i] = bpf_map__fd(maps[i]);
  return fds;
}

std::array<int, XDPKV_BLOB_CLASS_COUNT> XdpLoader::blob_map_fds() const {
  std::array<int, XDPKV_BLOB_CLASS_COUNT> fds{};
  const auto maps = BlobMaps(skeleton_);
  for (size_t i = 0; i < maps.size(); ++i) fds[i] = bpf_map__fd(maps[i]);
  return fds;
}

int XdpLoader::chunk_map_fd() const { return bpf_map__fd(skeleton_->maps.xdpkv_blobs_chunked); }

xdpkv_memory* XdpLoader::memory() const { return &skeleton_->bss->xdpkv_memory; }

absl::StatusOr<uint64_t> XdpLoader::CountElementBytes() const {
  const auto& memory = skeleton_->bss->xdpkv_memory;
  uint64_t used = 0;
  auto count = [&](bpf_map* map, uint64_t key_size, uint64_t value_size,
                   uint64_t cost) -> absl::Status {
    auto memlock = MapMemlock(bpf_map__fd(map));
    if (!memlock.ok()) return memlock.status();
    used += model_.Elements(*memlock, key_size, value_size, bpf_map__max_entries(map)) * cost;
    return absl::OkStatus();
  };
  const auto item_maps = ItemMaps(skeleton_);
  for (size_t cls = 0; cls < item_maps.size(); ++cls) {
    if (auto s = count(item_maps[cls], sizeof(__u32) + kKeyClassBytes[cls], sizeof(xdpkv_item),
                       memory.item_cost[cls]);
        !s.ok()) {
      return s;
    }
  }
  const auto blob_maps = BlobMaps(skeleton_);
  for (size_t cls = 0; cls < blob_maps.size(); ++cls) {
    if (auto s = count(blob_maps[cls], sizeof(__u64),
                       sizeof(xdpkv_blob_header) + BlobClassBytes(cls), memory.blob_cost[cls]);
        !s.ok()) {
      return s;
    }
  }
  if (auto s = count(skeleton_->maps.xdpkv_blobs_chunked, sizeof(xdpkv_chunk_key),
                     sizeof(xdpkv_chunk), memory.chunk_cost);
      !s.ok()) {
    return s;
  }
  return used;
}

absl::StatusOr<std::array<uint64_t, XDPKV_KEY_CLASS_COUNT>> XdpLoader::ItemCounts() const {
  std::array<uint64_t, XDPKV_KEY_CLASS_COUNT> counts{};
  const auto maps = ItemMaps(skeleton_);
  for (size_t cls = 0; cls < maps.size(); ++cls) {
    auto memlock = MapMemlock(bpf_map__fd(maps[cls]));
    if (!memlock.ok()) return memlock.status();
    counts[cls] = model_.Elements(*memlock, sizeof(__u32) + kKeyClassBytes[cls],
                                  sizeof(xdpkv_item), bpf_map__max_entries(maps[cls]));
  }
  return counts;
}

absl::StatusOr<uint64_t> XdpLoader::KernelMemlock() const {
  uint64_t total = 0;
  for (bpf_map* map : StoreMaps(skeleton_)) {
    auto memlock = MapMemlock(bpf_map__fd(map));
    if (!memlock.ok()) return memlock.status();
    total += *memlock;
  }
  return total;
}

std::array<uint32_t, XDPKV_KEY_CLASS_COUNT> XdpLoader::item_buckets() const {
  std::array<uint32_t, XDPKV_KEY_CLASS_COUNT> buckets{};
  const auto maps = ItemMaps(skeleton_);
  for (size_t cls = 0; cls < maps.size(); ++cls) {
    uint32_t n = 1;
    while (n < bpf_map__max_entries(maps[cls])) n <<= 1;
    buckets[cls] = n;
  }
  return buckets;
}

}  // namespace xdpkv
