#include "proxy/bpf_store.h"

#include <sched.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bpf/bpf.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {
namespace {

// A key in the form of its class's map key: length, then zero-padded bytes.
struct MapKey {
  xdpkv_key256 bytes{};
  int fd = -1;
};

absl::StatusOr<MapKey> MakeKey(const std::array<int, XDPKV_KEY_CLASS_COUNT>& fds,
                               std::string_view key) {
  if (key.empty() || key.size() > XDPKV_MAX_KEY_LEN) {
    return absl::InvalidArgumentError(
        absl::StrCat("key length ", key.size(), " outside 1..", XDPKV_MAX_KEY_LEN));
  }
  MapKey map_key;
  map_key.bytes.len = static_cast<__u32>(key.size());
  std::memcpy(map_key.bytes.bytes, key.data(), key.size());
  map_key.fd = fds[KeyClassOf(key.size())];
  return map_key;
}

bool Expired(uint64_t expires_at_ms) { return expires_at_ms != 0 && expires_at_ms <= NowBootMs(); }

// Readers treat an item being deleted as gone (xdpkv_layout.h).
bool Deleting(const xdpkv_item& item) { return (item.state & XDPKV_ITEM_DELETING) != 0; }

absl::Status MapError(int err, const char* what) {
  return absl::Status(absl::ErrnoToStatusCode(err), absl::StrCat(what, ": ", std::strerror(err)));
}

bool Inline(size_t value_len) { return value_len <= XDPKV_INLINE_VALUE_MAX; }

// A blob's bytes: header, then the value, sized for its class.
std::vector<uint8_t> BlobBuffer(size_t cls) {
  return std::vector<uint8_t>(sizeof(xdpkv_blob_header) + BlobClassBytes(cls));
}

// A reader may lose a race with a writer that replaced the blob it was
// about to read; it then reads the item again, this many times at most.
constexpr int kBlobReadAttempts = 8;
// Mutate reads, decides and retries on a conflicting write this many times.
constexpr int kMutateAttempts = 64;
// A write that finds its key's entry being deleted waits for the deleter
// (inside one BPF program run: microseconds) this many yields at most.
constexpr int kWriteAttempts = 1000;

}  // namespace

std::unique_ptr<BpfStore> BpfStore::ForLoader(const XdpLoader& loader) {
  auto store = std::make_unique<BpfStore>(loader.item_map_fds(), loader.blob_map_fds(),
                                          loader.cas_counter(), loader.cas_program_fd());
  store->loader_ = &loader;
  store->memory_ = loader.memory();
  store->fixed_bytes_ = loader.fixed_bytes();
  store->item_buckets_ = loader.item_buckets();
  return store;
}

// ---- memory ------------------------------------------------------------------

uint64_t BpfStore::ItemCost(size_t key_len) const {
  return memory_ == nullptr ? 0 : memory_->item_cost[KeyClassOf(key_len)];
}

uint64_t BpfStore::BlobCost(uint32_t value_len) const {
  return memory_ == nullptr || value_len > XDPKV_MAX_VALUE_LEN
             ? 0
             : memory_->blob_cost[BlobClassOf(value_len)];
}

bool BpfStore::TryReserve(uint64_t cost) {
  if (memory_ == nullptr) return true;
  const uint64_t limit = __atomic_load_n(&memory_->limit_bytes, __ATOMIC_RELAXED);
  const uint64_t before = __atomic_fetch_add(&memory_->used_bytes, cost, __ATOMIC_RELAXED);
  if (limit != 0 && before + cost > limit) {
    __atomic_fetch_sub(&memory_->used_bytes, cost, __ATOMIC_RELAXED);
    return false;
  }
  return true;
}

void BpfStore::Release(uint64_t cost) {
  if (memory_ != nullptr) __atomic_fetch_sub(&memory_->used_bytes, cost, __ATOMIC_RELAXED);
}

absl::Status BpfStore::Reserve(uint64_t cost) {
  // Each eviction frees at least one element; a few hundred cover any one
  // write (a 1 MiB value over small items), and bound the work if the
  // store holds nothing the policy may evict.
  constexpr int kMaxEvictions = 512;
  for (int i = 0; i <= kMaxEvictions; ++i) {
    if (TryReserve(cost)) return absl::OkStatus();
    if (policy_.load(std::memory_order_relaxed) == EvictionPolicy::kNoEviction ||
        !EvictOne(/*direct=*/true)) {
      break;
    }
  }
  return absl::ResourceExhaustedError("out of memory storing object");
}

bool BpfStore::EvictOne(bool direct) {
  std::lock_guard lock(evict_mutex_);
  const EvictionPolicy policy = policy_.load(std::memory_order_relaxed);
  // A sample of about kSample items from random places, as Redis samples
  // (maxmemory-samples 5); a few tries, for classes that are empty there.
  constexpr size_t kSample = 16;
  constexpr int kTries = 8;
  struct Sampled {
    std::string key;
    xdpkv_item item;
  };
  std::vector<Sampled> sample;
  std::vector<EvictionCandidate> candidates;
  // Classes in proportion to their items (counts at most 100 ms old), so
  // a sample rarely starts in an empty one.
  const uint64_t now_ms = NowBootMs();
  if (loader_ != nullptr && now_ms >= class_items_at_ms_ + 100) {
    if (auto counts = loader_->ItemCounts(); counts.ok()) class_items_ = *counts;
    class_items_at_ms_ = now_ms;
  }
  uint64_t total_items = 0;
  for (uint64_t n : class_items_) total_items += n;
  for (int attempt = 0; attempt < kTries && sample.size() < kSample; ++attempt) {
    // splitmix64: a cheap, well-spread sequence of sampling places.
    uint64_t z = sample_seed_.fetch_add(0x9e3779b97f4a7c15ULL, std::memory_order_relaxed);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    size_t cls = z % XDPKV_KEY_CLASS_COUNT;
    if (total_items != 0) {
      uint64_t pick = (z >> 40) % total_items;
      for (cls = 0; cls + 1 < XDPKV_KEY_CLASS_COUNT && pick >= class_items_[cls]; ++cls) {
        pick -= class_items_[cls];
      }
    }
    uint32_t bucket = static_cast<uint32_t>((z >> 8) % std::max<uint32_t>(item_buckets_[cls], 1));
    auto done = ReadBatch(cls, &bucket, kSample - sample.size(),
                          [&](std::string_view key, const xdpkv_item& item) {
                            if (Deleting(item)) return;
                            sample.push_back({std::string(key), item});
                          });
    if (!done.ok()) break;
  }
  for (const Sampled& s : sample) {
    candidates.push_back({s.item.atime_s, s.item.cas, s.item.expires_at_ms});
  }
  const std::optional<size_t> victim = ChooseVictim(policy, candidates);
  if (!victim) return false;
  // Only the version sampled: one written since is not the one the policy chose.
  auto map_key = MakeKey(item_fds_, sample[*victim].key);
  if (!map_key.ok()) return false;
  auto result = CompareAndSwap(map_key->bytes, sample[*victim].item.cas, XDPKV_CAS_OP_DELETE,
                               nullptr);
  if (!result.ok()) return false;
  // Changed or gone since sampled: nothing freed by us, but the caller
  // tries again.
  if (*result == XDPKV_CAS_STORED) {
    evicted_.fetch_add(1, std::memory_order_relaxed);
    const uint32_t bits = sample[*victim].item.mc_bits;
    if ((bits & XDPKV_MC_FETCHED) == 0) evicted_unfetched_.fetch_add(1, std::memory_order_relaxed);
    if (bits & XDPKV_MC_ACTIVE) evicted_active_.fetch_add(1, std::memory_order_relaxed);
    if (direct) direct_reclaims_.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

size_t BpfStore::EvictForHeadroom(size_t max) {
  if (memory_ == nullptr || policy_.load() == EvictionPolicy::kNoEviction) return 0;
  const uint64_t limit = __atomic_load_n(&memory_->limit_bytes, __ATOMIC_RELAXED);
  if (limit == 0) return 0;
  // Keep 1/64 of the limit (at least a few large items' worth) free, so
  // the kernel's writes find room without passing to us.
  const uint64_t headroom = std::max<uint64_t>(limit / 64, 4 * BlobCost(XDPKV_MAX_VALUE_LEN) / 16);
  size_t evicted = 0;
  while (evicted < max && __atomic_load_n(&memory_->used_bytes, __ATOMIC_RELAXED) + headroom > limit) {
    const uint64_t before = evicted_.load();
    if (!EvictOne()) break;
    evicted += evicted_.load() - before;
  }
  return evicted;
}

StoreCounters BpfStore::Counters() {
  StoreCounters counters;
  counters.get_expired = get_expired_.load(std::memory_order_relaxed);
  counters.reclaimed = reclaimed_.load(std::memory_order_relaxed);
  counters.evicted_unfetched = evicted_unfetched_.load(std::memory_order_relaxed);
  counters.evicted_active = evicted_active_.load(std::memory_order_relaxed);
  counters.direct_reclaims = direct_reclaims_.load(std::memory_order_relaxed);
  for (uint32_t buckets : item_buckets_) counters.hash_buckets += buckets;
  return counters;
}

void BpfStore::CountReplaced(const xdpkv_item& old) {
  if (Expired(old.expires_at_ms)) reclaimed_.fetch_add(1, std::memory_order_relaxed);
}

MemoryReport BpfStore::Memory() {
  MemoryReport report;
  report.policy = policy_.load();
  report.evicted_keys = evicted_.load();
  if (memory_ == nullptr) return report;
  report.fixed_bytes = fixed_bytes_;
  report.used_bytes = fixed_bytes_ + __atomic_load_n(&memory_->used_bytes, __ATOMIC_RELAXED);
  const uint64_t limit = __atomic_load_n(&memory_->limit_bytes, __ATOMIC_RELAXED);
  report.limit_bytes = limit == 0 ? 0 : limit + fixed_bytes_;
  if (loader_ != nullptr) {
    auto memlock = loader_->KernelMemlock();
    if (memlock.ok()) report.kernel_memlock = *memlock;
  }
  return report;
}

absl::Status BpfStore::SetMemoryLimit(uint64_t bytes) {
  if (memory_ == nullptr) return absl::UnimplementedError("this store has no memory limit");
  if (bytes != 0 && bytes <= fixed_bytes_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the store's fixed tables take ", fixed_bytes_, " bytes: a limit must be above that"));
  }
  __atomic_store_n(&memory_->limit_bytes, bytes == 0 ? 0 : bytes - fixed_bytes_,
                   __ATOMIC_RELAXED);
  return absl::OkStatus();
}

void BpfStore::SetEvictionPolicy(EvictionPolicy policy) {
  policy_.store(policy);
  if (memory_ != nullptr) {
    __atomic_store_n(&memory_->evicts, policy == EvictionPolicy::kNoEviction ? 0u : 1u,
                     __ATOMIC_RELAXED);
  }
}

absl::StatusOr<std::optional<BpfStore::RawItem>> BpfStore::ReadRaw(std::string_view key) {
  auto map_key = MakeKey(item_fds_, key);
  if (!map_key.ok()) return map_key.status();
  const uint64_t key_tag = xdpkv_key_tag(&map_key->bytes);
  for (int attempt = 0; attempt < kBlobReadAttempts; ++attempt) {
    RawItem raw{};
    if (bpf_map_lookup_elem_flags(map_key->fd, &map_key->bytes, &raw.item, BPF_F_LOCK) != 0) {
      if (errno == ENOENT) return std::nullopt;
      return MapError(errno, "store lookup");
    }
    const xdpkv_item& item = raw.item;
    // Being deleted, or the element was reused for another key between the
    // kernel's lookup and its copy: ours was absent meanwhile.
    if (Deleting(item) || item.key_tag != key_tag) return std::nullopt;
    if (item.blob_id == 0) {
      raw.value.assign(reinterpret_cast<const char*>(item.inline_value),
                       std::min<size_t>(item.value_len, XDPKV_INLINE_VALUE_MAX));
      return raw;
    }
    if (item.value_len > XDPKV_MAX_VALUE_LEN) return absl::DataLossError("bad value length");
    const size_t cls = BlobClassOf(item.value_len);
    std::vector<uint8_t> blob = BlobBuffer(cls);
    if (bpf_map_lookup_elem(blob_fds_[cls], &item.blob_id, blob.data()) != 0) {
      if (errno == ENOENT) continue;  // replaced since we read the item
      return MapError(errno, "blob lookup");
    }
    xdpkv_blob_header header;
    std::memcpy(&header, blob.data(), sizeof(header));
    if (header.blob_id != item.blob_id || header.value_len != item.value_len) continue;
    raw.value.assign(reinterpret_cast<const char*>(blob.data() + sizeof(header)), item.value_len);
    return raw;
  }
  return absl::UnavailableError("value kept changing while being read");
}

absl::StatusOr<std::optional<StoredItem>> BpfStore::Get(std::string_view key) {
  auto raw = ReadRaw(key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::nullopt;
  const xdpkv_item& item = (*raw)->item;
  if (Expired(item.expires_at_ms)) {
    // Lazily, as memcached does, and only the version seen expired.
    get_expired_.fetch_add(1, std::memory_order_relaxed);
    (void)DeleteIfStillExpired(key, item);
    return std::nullopt;
  }
  return StoredItem{std::move((*raw)->value), item.flags,   item.cas,
                    item.expires_at_ms,         item.mc_bits, item.atime_s};
}

absl::StatusOr<xdpkv_item> BpfStore::NewItem(std::string_view key, uint64_t key_tag,
                                             std::string_view value, uint32_t flags,
                                             uint64_t expires_at_ms) {
  if (value.size() > XDPKV_MAX_VALUE_LEN) {
    return absl::InvalidArgumentError("object too large for cache");
  }
  xdpkv_item item{};
  item.value_len = static_cast<__u32>(value.size());
  item.flags = flags;
  item.expires_at_ms = expires_at_ms;
  item.cas = __atomic_fetch_add(cas_counter_, 1, __ATOMIC_RELAXED);
  item.key_tag = key_tag;
  item.atime_s = static_cast<__u32>(NowBootMs() / 1000);
  if (Inline(value.size())) {
    std::memcpy(item.inline_value, value.data(), value.size());
    return item;
  }
  // The blob first, under an id no one else will ever use (the CAS).
  item.blob_id = item.cas;
  const size_t cls = BlobClassOf(value.size());
  std::vector<uint8_t> blob = BlobBuffer(cls);
  xdpkv_blob_header header{};
  header.blob_id = item.blob_id;
  header.value_len = item.value_len;
  header.key_len = static_cast<__u32>(key.size());
  header.created_ms = NowBootMs();
  std::memcpy(header.key, key.data(), key.size());
  std::memcpy(blob.data(), &header, sizeof(header));
  std::memcpy(blob.data() + sizeof(header), value.data(), value.size());
  const uint64_t cost = BlobCost(item.value_len);
  if (auto room = Reserve(cost); !room.ok()) return room;
  if (bpf_map_update_elem(blob_fds_[cls], &item.blob_id, blob.data(), BPF_NOEXIST) != 0) {
    const int err = errno;
    Release(cost);
    if (err == E2BIG || err == ENOMEM) {
      return absl::ResourceExhaustedError("out of memory storing object");
    }
    return MapError(err, "blob update");
  }
  return item;
}

absl::Status BpfStore::WriteItem(const xdpkv_key256& key, int fd, const xdpkv_item& item) {
  for (int attempt = 0; attempt < kWriteAttempts; ++attempt) {
    // Over a live entry, in place under its lock (the program frees the
    // replaced version's blob)...
    xdpkv_item old{};
    auto replaced = CompareAndSwap(key, XDPKV_CAS_ANY, XDPKV_CAS_OP_REPLACE, &item, &old);
    if (!replaced.ok()) {
      DeleteBlob(item.blob_id, item.value_len);
      return replaced.status();
    }
    if (*replaced == XDPKV_CAS_STORED) {
      CountReplaced(old);
      return absl::OkStatus();
    }
    // ...else as a new entry. EEXIST: someone inserted first, or a deleter
    // has not removed its entry yet; go round again.
    const uint64_t cost = ItemCost(key.len);
    if (auto room = Reserve(cost); !room.ok()) {
      DeleteBlob(item.blob_id, item.value_len);
      return room;
    }
    if (bpf_map_update_elem(fd, &key, &item, BPF_NOEXIST | BPF_F_LOCK) == 0) {
      return absl::OkStatus();
    }
    const int err = errno;
    Release(cost);
    if (err == EEXIST) {
      if (attempt > 0) sched_yield();
      continue;
    }
    DeleteBlob(item.blob_id, item.value_len);
    if (err == E2BIG || err == ENOMEM) {
      return absl::ResourceExhaustedError("out of memory storing object");
    }
    return MapError(err, "store insert");
  }
  DeleteBlob(item.blob_id, item.value_len);
  return absl::UnavailableError("too much contention on this key");
}

absl::StatusOr<uint64_t> BpfStore::Set(std::string_view key, std::string_view value,
                                       uint32_t flags, uint64_t expires_at_ms) {
  auto map_key = MakeKey(item_fds_, key);
  if (!map_key.ok()) return map_key.status();
  auto item = NewItem(key, xdpkv_key_tag(&map_key->bytes), value, flags, expires_at_ms);
  if (!item.ok()) return item.status();
  if (auto status = WriteItem(map_key->bytes, map_key->fd, *item); !status.ok()) return status;
  return item->cas;
}

absl::StatusOr<std::optional<uint64_t>> BpfStore::Mutate(std::string_view key,
                                                         const MutateFn& decide) {
  auto map_key = MakeKey(item_fds_, key);
  if (!map_key.ok()) return map_key.status();
  const uint64_t key_tag = xdpkv_key_tag(&map_key->bytes);
  std::lock_guard stripe(
      mutate_stripes_[std::hash<std::string_view>{}(key) % mutate_stripes_.size()]);
  for (int attempt = 0; attempt < kMutateAttempts; ++attempt) {
    auto raw = ReadRaw(key);
    if (!raw.ok()) return raw.status();
    std::optional<StoredItem> current;
    if (attempt == 0 && raw->has_value() && Expired((*raw)->item.expires_at_ms)) {
      get_expired_.fetch_add(1, std::memory_order_relaxed);
    }
    if (raw->has_value() && !Expired((*raw)->item.expires_at_ms)) {
      const xdpkv_item& item = (*raw)->item;
      current = StoredItem{(*raw)->value,      item.flags,   item.cas,
                           item.expires_at_ms, item.mc_bits, item.atime_s};
    }
    Mutation m = decide(current);
    if (m.kind == Mutation::kKeep) return std::nullopt;
    if (m.kind == Mutation::kMeta) {
      if (!current) return std::nullopt;
      const uint32_t atime = m.keep_atime ? current->atime_s : static_cast<uint32_t>(NowBootMs() / 1000);
      xdpkv_item meta{};
      meta.mc_bits = m.mc_bits;
      meta.atime_s = atime;
      auto result = CompareAndSwap(map_key->bytes, current->cas, XDPKV_CAS_OP_SET_META, &meta);
      if (!result.ok()) return result.status();
      if (*result == XDPKV_CAS_STORED) return current->cas;
      continue;  // changed in between: decide again
    }
    if (m.kind == Mutation::kDelete) {
      if (!raw->has_value()) return std::nullopt;
      auto deleted = DeleteIfUnchanged(key, (*raw)->item);
      if (!deleted.ok()) return deleted.status();
      if (*deleted) return std::nullopt;
      continue;  // changed in between: decide again
    }
    auto item = NewItem(key, key_tag, m.value, m.flags, m.expires_at_ms);
    if (!item.ok()) return item.status();
    // (The blob, if any, keeps the fresh id NewItem gave it.)
    if (m.keep_cas && current) item->cas = current->cas;
    item->mc_bits = m.mc_bits;
    if (m.keep_atime && current) item->atime_s = current->atime_s;
    if (!raw->has_value()) {
      // Absent: insert only if still absent.
      const uint64_t cost = ItemCost(key.size());
      if (auto room = Reserve(cost); !room.ok()) {
        DeleteBlob(item->blob_id, item->value_len);
        return room;
      }
      if (bpf_map_update_elem(map_key->fd, &map_key->bytes, &*item, BPF_NOEXIST | BPF_F_LOCK) ==
          0) {
        return item->cas;
      }
      const int err = errno;
      Release(cost);
      DeleteBlob(item->blob_id, item->value_len);
      if (err == EEXIST) {  // someone else created it, or is deleting it: decide again
        if (attempt > 0) sched_yield();
        continue;
      }
      if (err == E2BIG || err == ENOMEM) {
        return absl::ResourceExhaustedError("out of memory storing object");
      }
      return MapError(err, "store insert");
    }
    // Present (perhaps expired): replace only the version we read.
    auto result = CompareAndSwap(map_key->bytes, (*raw)->item.cas, XDPKV_CAS_OP_REPLACE, &*item);
    if (result.ok() && *result == XDPKV_CAS_STORED) {  // old blob freed
      CountReplaced((*raw)->item);
      return item->cas;
    }
    DeleteBlob(item->blob_id, item->value_len);
    if (!result.ok()) return result.status();
    // EXISTS or NOT_FOUND: someone wrote in between; decide again.
  }
  return absl::UnavailableError("too much contention on this key");
}

absl::StatusOr<bool> BpfStore::Delete(std::string_view key) {
  auto map_key = MakeKey(item_fds_, key);
  if (!map_key.ok()) return map_key.status();
  xdpkv_item old{};
  auto result = CompareAndSwap(map_key->bytes, XDPKV_CAS_ANY, XDPKV_CAS_OP_DELETE, nullptr, &old);
  if (!result.ok()) return result.status();
  // NOT_FOUND also when someone else is deleting it: it is gone for us.
  return *result == XDPKV_CAS_STORED && !Expired(old.expires_at_ms);
}

absl::StatusOr<uint32_t> BpfStore::CompareAndSwap(const xdpkv_key256& key, uint64_t expected_cas,
                                                  xdpkv_cas_op op, const xdpkv_item* item,
                                                  xdpkv_item* old) {
  xdpkv_cas_request request{};
  request.expected_cas = expected_cas;
  request.op = op;
  request.key = key;
  if (item != nullptr) request.item = *item;
  xdpkv_cas_request reply{};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = &request, .data_out = &reply,
              .data_size_in = sizeof(request), .data_size_out = sizeof(reply), .repeat = 1);
  if (bpf_prog_test_run_opts(cas_program_fd_, &opts) != 0) {
    return MapError(errno, "compare-and-set");
  }
  if (opts.retval == XDPKV_CAS_BAD_REQUEST) return absl::InternalError("compare-and-set refused");
  if (opts.retval == XDPKV_CAS_BUSY) return absl::UnavailableError("store busy, try again");
  if (old != nullptr && opts.retval == XDPKV_CAS_STORED) *old = reply.item;
  return opts.retval;
}

absl::StatusOr<bool> BpfStore::DeleteIfStillExpired(std::string_view key,
                                                    const xdpkv_item& seen) {
  auto map_key = MakeKey(item_fds_, key);
  if (!map_key.ok()) return map_key.status();
  xdpkv_item now{};
  now.expires_at_ms = NowBootMs();
  auto result =
      CompareAndSwap(map_key->bytes, seen.cas, XDPKV_CAS_OP_DELETE_EXPIRED, &now, nullptr);
  if (!result.ok()) return result.status();
  return *result != XDPKV_CAS_EXISTS;
}

absl::StatusOr<bool> BpfStore::SetItemMeta(std::string_view key, uint64_t cas, uint32_t mc_bits,
                                           uint32_t atime_s) {
  auto map_key = MakeKey(item_fds_, key);
  if (!map_key.ok()) return map_key.status();
  xdpkv_item meta{};
  meta.mc_bits = mc_bits;
  meta.atime_s = atime_s;
  auto result = CompareAndSwap(map_key->bytes, cas, XDPKV_CAS_OP_SET_META, &meta);
  if (!result.ok()) return result.status();
  return *result == XDPKV_CAS_STORED;
}

absl::StatusOr<bool> BpfStore::DeleteIfUnchanged(std::string_view key, const xdpkv_item& seen) {
  auto map_key = MakeKey(item_fds_, key);
  if (!map_key.ok()) return map_key.status();
  auto result = CompareAndSwap(map_key->bytes, seen.cas, XDPKV_CAS_OP_DELETE, nullptr);
  if (!result.ok()) return result.status();
  // STORED: deleted by us (the program freed the blob). NOT_FOUND: by
  // someone before us. EXISTS: rewritten since; left alone.
  return *result != XDPKV_CAS_EXISTS;
}

absl::StatusOr<bool> BpfStore::ReadBatch(size_t cls, uint32_t* bucket, size_t count,
                                         const BatchVisitor& visit) {
  const size_t key_size = sizeof(__u32) + kKeyClassBytes[cls];
  uint32_t capacity = static_cast<uint32_t>(std::clamp<size_t>(count, 1, 1 << 16));
  for (;;) {
    std::vector<uint8_t> keys(capacity * key_size);
    std::vector<xdpkv_item> items(capacity);
    uint32_t next_bucket = 0;
    uint32_t got = capacity;
    LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_F_LOCK);
    const int rc = bpf_map_lookup_batch(item_fds_[cls], bucket, &next_bucket, keys.data(),
                                        items.data(), &got, &opts);
    const int err = rc == 0 ? 0 : errno;
    if (err == ENOSPC && got == 0) {
      capacity *= 2;  // one hash bucket holds more items than asked for
      continue;
    }
    if (err != 0 && err != ENOENT) return MapError(err, "store batch lookup");
    for (uint32_t i = 0; i < got; ++i) {
      const uint8_t* key = keys.data() + i * key_size;
      __u32 len;
      std::memcpy(&len, key, sizeof(len));
      if (len == 0 || len > kKeyClassBytes[cls]) continue;
      visit(std::string_view(reinterpret_cast<const char*>(key + sizeof(len)), len), items[i]);
    }
    if (err == ENOENT) return true;  // the class is done
    *bucket = next_bucket;
    return false;
  }
}

absl::StatusOr<ScanPage> BpfStore::Scan(uint64_t cursor, size_t count) {
  // Cursor: key class in the high 32 bits, the hash map's batch token (a
  // bucket index) in the low ones. Items never move between buckets, so a
  // key present all along is in a bucket the scan reaches.
  size_t cls = cursor >> 32;
  uint32_t bucket = static_cast<uint32_t>(cursor);
  ScanPage page;
  std::vector<std::pair<std::string, xdpkv_item>> expired;
  size_t looked = 0;
  while (cls < XDPKV_KEY_CLASS_COUNT && looked < count) {
    auto done = ReadBatch(cls, &bucket, count - looked,
                          [&](std::string_view key, const xdpkv_item& item) {
                            ++looked;
                            if (Deleting(item)) return;
                            if (Expired(item.expires_at_ms)) {
                              expired.emplace_back(std::string(key), item);
                            } else {
                              page.keys.emplace_back(key);
                              page.metas.push_back({item.value_len, item.flags, item.cas,
                                                    item.expires_at_ms, item.mc_bits,
                                                    item.atime_s});
                            }
                          });
    if (!done.ok()) return done.status();
    if (*done) {
      ++cls;
      bucket = 0;
    }
  }
  for (const auto& [key, item] : expired) {
    auto deleted = DeleteIfStillExpired(key, item);
    if (deleted.ok() && *deleted) ++page.expired;
  }
  page.next_cursor = cls >= XDPKV_KEY_CLASS_COUNT ? 0 : (uint64_t{cls} << 32 | bucket);
  return page;
}

absl::Status BpfStore::ForEachItem(const BatchVisitor& visit) {
  for (size_t cls = 0; cls < XDPKV_KEY_CLASS_COUNT; ++cls) {
    uint32_t bucket = 0;
    for (bool done = false; !done;) {
      auto batch = ReadBatch(cls, &bucket, 4096, visit);
      if (!batch.ok()) return batch.status();
      done = *batch;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> BpfStore::Clear() {
  // Collected first: deleting while the batch walk runs would move its
  // buckets under it.
  std::vector<std::pair<std::string, xdpkv_item>> items;
  auto walked = ForEachItem([&](std::string_view key, const xdpkv_item& item) {
    items.emplace_back(std::string(key), item);
  });
  if (!walked.ok()) return walked;
  size_t cleared = 0;
  for (const auto& [key, item] : items) {
    auto map_key = MakeKey(item_fds_, key);
    if (!map_key.ok()) continue;
    // Any version: a flush removes what is there, through the same
    // delete protocol as every other delete.
    auto result = CompareAndSwap(map_key->bytes, XDPKV_CAS_ANY, XDPKV_CAS_OP_DELETE, nullptr);
    if (!result.ok()) return result.status();
    if (*result == XDPKV_CAS_STORED) ++cleared;
  }
  return cleared;
}

absl::StatusOr<StoreUsage> BpfStore::Usage() {
  StoreUsage usage;
  const uint64_t now = NowBootMs();
  auto walked = ForEachItem([&](std::string_view key, const xdpkv_item& item) {
    if (Deleting(item)) return;
    ++usage.items;
    usage.bytes += key.size() + item.value_len;
    if (item.expires_at_ms != 0) {
      ++usage.with_expiry;
      if (item.expires_at_ms > now) usage.ttl_sum_ms += item.expires_at_ms - now;
    }
  });
  if (!walked.ok()) return walked;
  return usage;
}

void BpfStore::DeleteBlob(uint64_t id, uint32_t value_len) {
  if (id == 0 || value_len > XDPKV_MAX_VALUE_LEN) return;
  if (bpf_map_delete_elem(blob_fds_[BlobClassOf(value_len)], &id) == 0) {
    Release(BlobCost(value_len));
  }
}

absl::StatusOr<size_t> BpfStore::SweepOrphanBlobs() {
  size_t deleted = 0;
  const uint64_t now = NowBootMs();
  for (size_t cls = 0; cls < XDPKV_BLOB_CLASS_COUNT; ++cls) {
    std::vector<uint8_t> blob = BlobBuffer(cls);
    uint64_t id = 0;
    uint64_t next = 0;
    const void* cursor = nullptr;  // first key
    std::vector<uint64_t> ids;
    while (bpf_map_get_next_key(blob_fds_[cls], cursor, &next) == 0) {
      ids.push_back(next);
      id = next;
      cursor = &id;
    }
    for (uint64_t blob_id : ids) {
      if (bpf_map_lookup_elem(blob_fds_[cls], &blob_id, blob.data()) != 0) continue;
      xdpkv_blob_header header;
      std::memcpy(&header, blob.data(), sizeof(header));
      // Young blobs may belong to a write in progress (or to a writer whose
      // clock read came just after ours).
      if (header.created_ms + XDPKV_BLOB_ORPHAN_AGE_MS > now) continue;
      bool owned = false;
      if (header.key_len >= 1 && header.key_len <= XDPKV_MAX_KEY_LEN) {
        auto map_key = MakeKey(
            item_fds_, std::string_view(reinterpret_cast<const char*>(header.key), header.key_len));
        xdpkv_item item{};
        owned = map_key.ok() &&
                bpf_map_lookup_elem_flags(map_key->fd, &map_key->bytes, &item, BPF_F_LOCK) == 0 &&
                item.blob_id == blob_id;
      }
      if (owned) continue;
      if (bpf_map_delete_elem(blob_fds_[cls], &blob_id) == 0) {
        ++deleted;
        if (memory_ != nullptr) Release(memory_->blob_cost[cls]);
      }
    }
  }
  return deleted;
}

}  // namespace xdpkv
