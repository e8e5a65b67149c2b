#include "proxy/store_resize.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "bpf/bpf.h"
#include "proxy/blob_io.h"

namespace xdpkv {
namespace {

constexpr char kItemPrefix[] = "xdpkv_items_k";
constexpr char kBlobPrefix[] = "xdpkv_blobs_";
// A new map pinned beside the old pin of its name, then renamed over it
// (bpffs refuses names with a dot).
constexpr char kNewSuffix[] = "__resizing";

absl::Status Incompatible(const StoreMapShape& map, const std::string& why) {
  return absl::FailedPreconditionError(absl::StrCat(
      "the pinned map ", map.name, " is not one this xdpkv can read (", why,
      "): a store from an incompatible xdpkv version needs --fresh, which drops it"));
}

// Where the old store keeps out-of-line values: its blob maps by value
// capacity (a power of two, in every version so far) and its chunk map,
// if it has one (values over 64 KiB; before it, they had classes too).
struct OldValues {
  std::vector<std::pair<size_t, int>> blobs;  // capacity, fd; smallest first
  int chunk_fd = -1;
};

absl::StatusOr<OldValues> FindOldValues(const PinnedStore& old) {
  OldValues values;
  for (size_t i = 0; i < old.maps().size(); ++i) {
    const StoreMapShape& map = old.maps()[i];
    if (!absl::StartsWith(map.name, kBlobPrefix)) continue;
    if (map.key_size == sizeof(xdpkv_chunk_key) && map.value_size == sizeof(xdpkv_chunk)) {
      values.chunk_fd = old.fd(i);
      continue;
    }
    const size_t capacity = map.value_size - sizeof(xdpkv_blob_header);
    if (map.key_size != sizeof(uint64_t) || map.value_size <= sizeof(xdpkv_blob_header) ||
        (capacity & (capacity - 1)) != 0 || capacity < 256 || capacity > XDPKV_MAX_VALUE_LEN) {
      return Incompatible(map, "not a value class this xdpkv knows");
    }
    values.blobs.emplace_back(capacity, old.fd(i));
  }
  std::sort(values.blobs.begin(), values.blobs.end());
  return values;
}

// An item's out-of-line value and its header, read from the old store
// (chunks, or else the smallest blob map that can hold it: a value written
// before values were chunked); false if it is not there whole.
absl::StatusOr<bool> ReadOldValue(const OldValues& values, const xdpkv_item& item,
                                  xdpkv_blob_header* header, std::string* value) {
  if (item.value_len > XDPKV_MAX_VALUE_LEN) return false;
  if (Chunked(item.value_len) && values.chunk_fd >= 0) {
    auto read = ReadChunks(values.chunk_fd, item, value, header);
    if (!read.ok() || *read) return read;
  }
  for (const auto& [capacity, fd] : values.blobs) {
    if (capacity >= item.value_len) return ReadClassBlob(fd, capacity, item, value, header);
  }
  return false;
}

// Writes an out-of-line value into the new store: its class's blob map,
// or chunks.
absl::Status WriteNewValue(std::span<const int> blob_fds, int chunk_fd,
                           const xdpkv_blob_header& header, const std::string& value) {
  uint32_t stranded = 0;  // the new maps are dropped whole if the copy fails
  const size_t cls = BlobClassOf(value.size());
  const int err = Chunked(value.size())
                      ? WriteChunks(chunk_fd, header, value, &stranded)
                      : WriteClassBlob(blob_fds[cls], BlobClassBytes(cls), header, value);
  return err == 0 ? absl::OkStatus()
                  : absl::ErrnoToStatus(err, "copying a value into the resized store");
}

// The candidate eviction compares, for one old item.
EvictionCandidate CandidateOf(const xdpkv_item& item, const ResizeTarget& target) {
  EvictionCandidate c;
  c.idle_ms = IdleMs(item.atime_ms, static_cast<uint32_t>(target.now_ms));
  c.cas = item.cas;
  c.expires_at_ms = item.expires_at_ms;
  c.lfu = LfuDecayed(item.lfu, c.idle_ms, target.lfu);
  return c;
}

// The item's key as the new store keys it: its class's map key bytes.
std::string NewMapKey(const std::string& old_key, uint32_t len) {
  const size_t cls = KeyClassOf(len & XDPKV_KEY_LEN_MASK);
  std::string key(sizeof(uint32_t) + kKeyClassBytes[cls], '\0');
  std::memcpy(key.data(), old_key.data(), sizeof(uint32_t) + (len & XDPKV_KEY_LEN_MASK));
  return key;
}

// Reads one item of an old map under its lock (a map without the lock in
// its BTF, as a test builds, is read plainly).
bool ReadItem(int fd, const std::string& key, xdpkv_item* item) {
  if (bpf_map_lookup_elem_flags(fd, key.data(), item, BPF_F_LOCK) == 0) return true;
  return errno == EINVAL && bpf_map_lookup_elem(fd, key.data(), item) == 0;
}

}  // namespace

bool IsStoreMapName(const std::string& name) {
  return (absl::StartsWith(name, kItemPrefix) || absl::StartsWith(name, kBlobPrefix)) &&
         !absl::EndsWith(name, kNewSuffix);
}

absl::StatusOr<PinnedStore> PinnedStore::Open(const std::string& pin_dir) {
  PinnedStore store;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(pin_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (IsStoreMapName(name)) names.push_back(name);
  }
  if (ec) return absl::ErrnoToStatus(ec.value(), absl::StrCat("listing ", pin_dir));
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string path = absl::StrCat(pin_dir, "/", name);
    const int fd = bpf_obj_get(path.c_str());
    if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("opening the pinned map ", path));
    bpf_map_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
      const int err = errno;
      close(fd);
      return absl::ErrnoToStatus(err, absl::StrCat("reading the pinned map ", path));
    }
    store.fds_.push_back(fd);
    store.maps_.push_back({name, info.key_size, info.value_size, info.max_entries});
  }
  return store;
}

PinnedStore::PinnedStore(PinnedStore&& other) noexcept
    : maps_(std::move(other.maps_)), fds_(std::move(other.fds_)) {
  other.fds_.clear();
}

PinnedStore& PinnedStore::operator=(PinnedStore&& other) noexcept {
  if (this != &other) {
    for (int fd : fds_) close(fd);
    maps_ = std::move(other.maps_);
    fds_ = std::move(other.fds_);
    other.fds_.clear();
  }
  return *this;
}

PinnedStore::~PinnedStore() {
  for (int fd : fds_) close(fd);
}

bool PinnedStore::Matches(std::span<const StoreMapShape> wanted) const {
  std::vector<StoreMapShape> sorted(wanted.begin(), wanted.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const StoreMapShape& a, const StoreMapShape& b) { return a.name < b.name; });
  return sorted == maps_;
}

namespace {

// Unlinks every entry of `pin_dir` whose name `doomed` accepts.
absl::Status UnlinkPins(const std::string& pin_dir,
                        const std::function<bool(const std::string&)>& doomed) {
  std::error_code ec;
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(pin_dir, ec)) {
    if (doomed(entry.path().filename().string())) paths.push_back(entry.path());
  }
  if (ec) return absl::ErrnoToStatus(ec.value(), absl::StrCat("listing ", pin_dir));
  for (const auto& path : paths) {
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return absl::ErrnoToStatus(errno, absl::StrCat("removing ", path.string()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DropPinnedStore(const std::string& pin_dir) {
  return UnlinkPins(pin_dir, [](std::string name) {
    if (absl::EndsWith(name, kNewSuffix)) name.resize(name.size() - std::strlen(kNewSuffix));
    return IsStoreMapName(name);
  });
}

absl::Status DropInterruptedPins(const std::string& pin_dir) {
  return UnlinkPins(pin_dir,
                    [](const std::string& name) { return absl::EndsWith(name, kNewSuffix); });
}

std::string ResizePlan::Summary() const {
  uint64_t kept = 0;
  for (uint64_t n : items) kept += n;
  return absl::StrCat("kept ", kept, " of ", found, " items (", bytes >> 10, " KiB); evicted ",
                      evicted, ", expired ", expired, ", without their value ", broken);
}

absl::StatusOr<ResizePlan> PlanResize(const PinnedStore& old, const ResizeTarget& target) {
  // The value maps' layouts are checked here; their contents by CopyKept
  // (reading every value twice would double a resize's I/O).
  if (auto values = FindOldValues(old); !values.ok()) return values.status();

  struct Candidate {
    ResizePlan::Keep keep;
    EvictionCandidate eviction;
    uint64_t cost = 0;
    size_t key_class = 0;
    uint32_t value_len = 0;
    bool blob = false;
  };
  std::vector<Candidate> candidates;
  absl::flat_hash_map<std::string, size_t> by_new_key;  // duplicates: an interrupted resize
  ResizePlan plan;
  for (size_t i = 0; i < old.maps().size(); ++i) {
    const StoreMapShape& map = old.maps()[i];
    if (!absl::StartsWith(map.name, kItemPrefix)) continue;
    if (map.value_size != sizeof(xdpkv_item)) return Incompatible(map, "its item size differs");
    if (map.key_size <= sizeof(uint32_t) || map.key_size > sizeof(xdpkv_key256)) {
      return Incompatible(map, "its key size is not a key class's");
    }
    std::string key(map.key_size, '\0'), next(map.key_size, '\0');
    // Bounded by the map's entries: get_next_key restarts from the first
    // key when the previous one vanished, which nothing here deletes.
    for (uint64_t n = 0; n <= map.max_entries; ++n) {
      if (bpf_map_get_next_key(old.fd(i), n == 0 ? nullptr : key.data(), next.data()) != 0) {
        if (errno == ENOENT) break;
        return absl::ErrnoToStatus(errno, absl::StrCat("walking ", map.name));
      }
      key = next;
      xdpkv_item item{};
      if (!ReadItem(old.fd(i), key, &item)) {
        return absl::ErrnoToStatus(errno, absl::StrCat("reading an item of ", map.name));
      }
      ++plan.found;
      uint32_t len = 0;
      std::memcpy(&len, key.data(), sizeof(len));
      if ((len & XDPKV_KEY_LEN_MASK) > map.key_size - sizeof(uint32_t) ||
          item.value_len > XDPKV_MAX_VALUE_LEN) {
        ++plan.broken;
        continue;
      }
      if ((item.state & XDPKV_ITEM_DELETING) != 0 ||
          (item.expires_at_ms != 0 && item.expires_at_ms <= target.now_ms)) {
        ++plan.expired;
        continue;
      }
      Candidate c;
      c.key_class = KeyClassOf(len & XDPKV_KEY_LEN_MASK);
      c.cost = target.item_cost[c.key_class];
      c.value_len = item.value_len;
      c.blob = item.blob_id != 0;
      if (item.blob_id != 0) {
        c.cost += Chunked(item.value_len) ? ChunkCount(item.value_len) * target.chunk_cost
                                          : target.blob_cost[BlobClassOf(item.value_len)];
      }
      c.keep = {static_cast<uint32_t>(i), key, c.cost};
      c.eviction = CandidateOf(item, target);
      auto [it, inserted] = by_new_key.try_emplace(NewMapKey(key, len), candidates.size());
      if (!inserted) {
        // The same key in two old maps (a resize interrupted while
        // pinning): the newer write wins.
        if (candidates[it->second].eviction.cas < c.eviction.cas) candidates[it->second] = c;
        continue;
      }
      candidates.push_back(std::move(c));
    }
  }

  uint64_t total = 0;
  for (const Candidate& c : candidates) total += c.cost;
  std::vector<bool> evict(candidates.size(), false);
  if (target.element_limit != 0 && total > target.element_limit) {
    // Evict as the policy would, first choice first, until the rest fits;
    // what the policy may not evict stays (over the limit: writes are then
    // refused, as Redis does when maxmemory drops below what it holds).
    std::vector<size_t> order;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (Evictable(target.policy, candidates[i].eviction)) order.push_back(i);
    }
    if (IsRandom(target.policy)) {
      std::shuffle(order.begin(), order.end(), std::mt19937_64(target.now_ms));
    } else {
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return EvictsBefore(target.policy, candidates[a].eviction, candidates[b].eviction);
      });
    }
    for (size_t i : order) {
      if (total <= target.element_limit) break;
      evict[i] = true;
      total -= candidates[i].cost;
      ++plan.evicted;
    }
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (evict[i]) continue;
    ++plan.items[candidates[i].key_class];
    if (candidates[i].blob && Chunked(candidates[i].value_len)) {
      plan.chunks += ChunkCount(candidates[i].value_len);
    } else if (candidates[i].blob) {
      ++plan.blobs[BlobClassOf(candidates[i].value_len)];
    }
    plan.bytes += candidates[i].cost;
    plan.keep.push_back(std::move(candidates[i].keep));
  }
  return plan;
}

absl::Status CopyKept(const PinnedStore& old, ResizePlan* plan, std::span<const int> item_fds,
                      std::span<const int> blob_fds, int chunk_fd) {
  auto values = FindOldValues(old);
  if (!values.ok()) return values.status();
  xdpkv_blob_header header{};
  std::string value;
  for (const ResizePlan::Keep& keep : plan->keep) {
    xdpkv_item item{};
    if (!ReadItem(old.fd(keep.map), keep.key, &item)) {
      return absl::ErrnoToStatus(errno, "reading an item of the old store");
    }
    uint32_t len = 0;
    std::memcpy(&len, keep.key.data(), sizeof(len));
    const size_t cls = KeyClassOf(len & XDPKV_KEY_LEN_MASK);
    if (item.blob_id != 0) {
      auto read = ReadOldValue(*values, item, &header, &value);
      if (!read.ok()) return read.status();
      if (!*read) {  // an item whose value is gone: dropped
        ++plan->broken;
        --plan->items[cls];
        plan->bytes -= keep.cost;
        continue;
      }
      if (auto status = WriteNewValue(blob_fds, chunk_fd, header, value); !status.ok()) {
        return status;
      }
    }
    const std::string new_key = NewMapKey(keep.key, len);
    if (bpf_map_update_elem(item_fds[cls], new_key.data(), &item, BPF_NOEXIST) != 0) {
      return absl::ErrnoToStatus(errno, "copying an item into the resized store");
    }
  }
  return absl::OkStatus();
}

absl::Status ReplacePins(const std::string& pin_dir,
                         std::span<const std::pair<std::string, int>> new_maps,
                         const PinnedStore& old) {
  // In the order given (the loader's: items, then values). A crash between
  // two renames leaves new item maps beside old value maps, which hold
  // every kept item's value still (the ids are kept), or the reverse, where
  // only items the plan evicted lose their values; either is a whole store
  // the next start copies again.
  for (const auto& [name, fd] : new_maps) {
    const std::string path = absl::StrCat(pin_dir, "/", name);
    const std::string beside = path + kNewSuffix;
    unlink(beside.c_str());  // left by an interrupted resize, if any
    if (bpf_obj_pin(fd, beside.c_str()) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("pinning ", beside));
    }
    if (rename(beside.c_str(), path.c_str()) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("renaming ", beside, " to ", path));
    }
  }
  for (const StoreMapShape& map : old.maps()) {
    const bool kept = std::any_of(new_maps.begin(), new_maps.end(),
                                  [&](const auto& m) { return m.first == map.name; });
    if (kept) continue;
    const std::string path = absl::StrCat(pin_dir, "/", map.name);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return absl::ErrnoToStatus(errno, absl::StrCat("removing the old layout's ", path));
    }
  }
  return absl::OkStatus();
}

}  // namespace xdpkv
