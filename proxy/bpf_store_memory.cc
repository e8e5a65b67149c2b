// BpfStore's memory limit and eviction (docs/architecture.md, "Memory"),
// its numbered databases, and userspace hits' recency.
#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"
#include "bpf/bpf.h"
#include "proxy/bpf_store.h"
#include "proxy/bpf_store_internal.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {

using namespace bpf_store_internal;  // NOLINT: BpfStore's own helpers

// ---- memory ------------------------------------------------------------------

uint64_t BpfStore::ItemCost(size_t key_len) const {
  return memory_ == nullptr ? 0 : memory_->item_cost[KeyClassOf(key_len)];
}

uint64_t BpfStore::BlobCost(uint32_t value_len) const {
  if (memory_ == nullptr || value_len > XDPKV_MAX_VALUE_LEN) return 0;
  if (Chunked(value_len)) return ChunkCount(value_len) * memory_->chunk_cost;
  return memory_->blob_cost[BlobClassOf(value_len)];
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
  // Each eviction frees at least one element, the smallest an item: as
  // many evictions as the write's cost in the smallest items, twice over
  // (a 1 MiB value over 256-byte items: ~8,700), at least 512, bound the
  // work when the store holds nothing the policy may evict. (The evictor
  // keeps no room free unless the kernel's writes need it, so a large
  // write into a store of small items evicts them all here.)
  const uint64_t smallest = memory_ == nullptr ? 0 : memory_->item_cost[0];
  const uint64_t max_evictions =
      std::max<uint64_t>(512, smallest == 0 ? 0 : 2 * cost / smallest + 1);
  for (uint64_t i = 0; i <= max_evictions; ++i) {
    if (TryReserve(cost)) return absl::OkStatus();
    if (shared_->policy.load(std::memory_order_relaxed) == EvictionPolicy::kNoEviction ||
        !EvictOne(/*direct=*/true)) {
      break;
    }
  }
  return absl::ResourceExhaustedError("out of memory storing object");
}

bool BpfStore::EvictOne(bool direct) {
  std::lock_guard lock(shared_->evict_mutex);
  const EvictionPolicy policy = shared_->policy.load(std::memory_order_relaxed);
  // A sample of about kSample items from random places, as Redis samples
  // (maxmemory-samples 5); a few tries, for classes that are empty there.
  constexpr size_t kSample = 16;
  constexpr size_t kPool = 16;
  constexpr int kTries = 8;
  std::vector<EvictionSample> sample;
  // Classes in proportion to their items (counts at most 100 ms old), so
  // a sample rarely starts in an empty one.
  const uint64_t now_ms = NowBootMs();
  if (loader_ != nullptr && now_ms >= shared_->class_items_at_ms + 100) {
    if (auto counts = loader_->ItemCounts(); counts.ok()) shared_->class_items = *counts;
    shared_->class_items_at_ms = now_ms;
  }
  uint64_t total_items = 0;
  for (uint64_t n : shared_->class_items) total_items += n;
  for (int attempt = 0; attempt < kTries && sample.size() < kSample; ++attempt) {
    // splitmix64: a cheap, well-spread sequence of sampling places.
    uint64_t z = shared_->sample_seed.fetch_add(0x9e3779b97f4a7c15ULL, std::memory_order_relaxed);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    size_t cls = z % XDPKV_KEY_CLASS_COUNT;
    if (total_items != 0) {
      uint64_t pick = (z >> 40) % total_items;
      for (cls = 0; cls + 1 < XDPKV_KEY_CLASS_COUNT && pick >= shared_->class_items[cls]; ++cls) {
        pick -= shared_->class_items[cls];
      }
    }
    uint32_t bucket = static_cast<uint32_t>((z >> 8) % std::max<uint32_t>(item_buckets_[cls], 1));
    // Every database: the memory limit is the store's.
    auto done = ReadBatchAnyDatabase(
        cls, &bucket, kSample - sample.size(),
        [&](uint32_t db, std::string_view key, const xdpkv_item& item) {
          if (Deleting(item)) return;
          sample.push_back({db, std::string(key), item});
        });
    if (!done.ok()) break;
  }
  // The pool's candidates join the sample (random policies need none: any
  // sampled item is as good as another).
  std::vector<EvictionSample>& pool = shared_->pool;
  if (IsRandom(policy)) pool.clear();
  for (EvictionSample& pooled : pool) {
    const bool sampled_again = std::any_of(sample.begin(), sample.end(), [&](const auto& s) {
      return s.db == pooled.db && s.key == pooled.key;
    });
    if (!sampled_again) sample.push_back(std::move(pooled));
  }
  pool.clear();
  const uint32_t now_ms32 = static_cast<uint32_t>(NowBootMs());
  const LfuParams lfu = Lfu();
  auto candidate = [&](const xdpkv_item& item) {
    const uint32_t idle_ms = IdleMs(item.atime_ms, now_ms32);
    return EvictionCandidate{idle_ms, item.cas, item.expires_at_ms,
                             LfuDecayed(item.lfu, idle_ms, lfu)};
  };
  std::vector<EvictionCandidate> candidates;
  for (const EvictionSample& s : sample) candidates.push_back(candidate(s.item));
  std::optional<size_t> victim = ChooseVictim(policy, candidates);
  // A pooled item may have been hit since it was sampled (a hit is not a
  // write: its CAS stays): the choice is checked against the item as it
  // is now, and made again if it changed.
  for (int check = 0; victim && check < 4; ++check) {
    auto map_key = MakeKey(item_fds_, sample[*victim].db, sample[*victim].key);
    xdpkv_item now{};
    if (!map_key.ok() ||
        bpf_map_lookup_elem_flags(map_key->fd, &map_key->bytes, &now, BPF_F_LOCK) != 0 ||
        Deleting(now)) {
      sample.erase(sample.begin() + static_cast<std::ptrdiff_t>(*victim));  // gone
      candidates.erase(candidates.begin() + static_cast<std::ptrdiff_t>(*victim));
    } else if (now.cas != sample[*victim].item.cas || now.atime_ms != sample[*victim].item.atime_ms ||
               now.lfu != sample[*victim].item.lfu) {
      sample[*victim].item = now;
      candidates[*victim] = candidate(now);
    } else {
      break;
    }
    victim = ChooseVictim(policy, candidates);
  }
  if (!victim) return false;
  // The best of the rest stay in the pool for the next eviction.
  {
    std::vector<size_t> order;
    for (size_t i = 0; i < sample.size(); ++i) {
      if (i != *victim && Evictable(policy, candidates[i])) order.push_back(i);
    }
    if (!IsRandom(policy)) {
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return EvictsBefore(policy, candidates[a], candidates[b]);
      });
      if (order.size() > kPool) order.resize(kPool);
      for (size_t i : order) pool.push_back(sample[i]);
    }
  }
  shared_->last_victim_idle_ms.store(std::max<uint32_t>(candidates[*victim].idle_ms, 1),
                                     std::memory_order_relaxed);
  // Only the version sampled: one written since is not the one the policy chose.
  auto map_key = MakeKey(item_fds_, sample[*victim].db, sample[*victim].key);
  if (!map_key.ok()) return false;
  auto result = CompareAndSwap(map_key->bytes, sample[*victim].item.cas, XDPKV_CAS_OP_DELETE,
                               nullptr);
  if (!result.ok()) return false;
  // Changed or gone since sampled: nothing freed by us, but the caller
  // tries again.
  if (*result == XDPKV_CAS_STORED) {
    shared_->evicted.fetch_add(1, std::memory_order_relaxed);
    const uint32_t bits = sample[*victim].item.mc_bits;
    if ((bits & XDPKV_MC_FETCHED) == 0) {
      shared_->evicted_unfetched.fetch_add(1, std::memory_order_relaxed);
    }
    if (bits & XDPKV_MC_ACTIVE) shared_->evicted_active.fetch_add(1, std::memory_order_relaxed);
    if (direct) shared_->direct_reclaims.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

size_t BpfStore::EvictForHeadroom(size_t max) {
  if (memory_ == nullptr || shared_->policy.load() == EvictionPolicy::kNoEviction) return 0;
  const uint64_t limit = __atomic_load_n(&memory_->limit_bytes, __ATOMIC_RELAXED);
  if (limit == 0) return 0;
  const uint64_t headroom = shared_->headroom.load(std::memory_order_relaxed);
  size_t evicted = 0;
  while (evicted < max && __atomic_load_n(&memory_->used_bytes, __ATOMIC_RELAXED) + headroom > limit) {
    const uint64_t before = shared_->evicted.load();
    if (!EvictOne()) break;
    evicted += shared_->evicted.load() - before;
  }
  return evicted;
}

void BpfStore::AdaptHeadroom(uint64_t kernel_writes_passed) {
  if (memory_ == nullptr) return;
  const uint64_t limit = __atomic_load_n(&memory_->limit_bytes, __ATOMIC_RELAXED);
  const uint64_t now = shared_->headroom.load(std::memory_order_relaxed);
  uint64_t next = 0;
  if (kernel_writes_passed != 0) {
    next = std::min(std::max(2 * now, limit / 256), limit / 16);
  } else {
    next = now - now / 16;
    if (next < 4096) next = 0;
  }
  shared_->headroom.store(next, std::memory_order_relaxed);
}

uint64_t BpfStore::Headroom() const { return shared_->headroom.load(std::memory_order_relaxed); }

MemoryReport BpfStore::Memory() {
  MemoryReport report;
  report.policy = shared_->policy.load();
  report.lfu = Lfu();
  report.evicted_keys = shared_->evicted.load();
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

Store* BpfStore::Database(int index) {
  if (index < 0 || index >= kDatabases) return nullptr;
  if (index == 0) return shared_->root;
  uint32_t physical;
  {
    std::lock_guard lock(shared_->databases_mutex);
    physical = shared_->physical[index];
  }
  return &InPhysical(physical);
}

BpfStore& BpfStore::InPhysical(uint32_t db) {
  if (db == db_) return *this;
  if (db == 0) return *shared_->root;
  std::lock_guard lock(shared_->databases_mutex);
  auto& store = shared_->databases[db];
  if (store == nullptr) {
    store = std::make_unique<BpfStore>(item_fds_, blob_fds_, cas_counter_, cas_program_fd_);
    store->chunk_fd_ = chunk_fd_;
    store->loader_ = loader_;
    store->memory_ = memory_;
    store->fixed_bytes_ = fixed_bytes_;
    store->item_buckets_ = item_buckets_;
    store->db_ = db;
    store->shared_ = shared_;
  }
  return *store;
}

StoreCounters BpfStore::Counters() {
  StoreCounters counters;
  counters.get_expired = shared_->get_expired.load(std::memory_order_relaxed);
  counters.reclaimed = shared_->reclaimed.load(std::memory_order_relaxed);
  counters.evicted_unfetched = shared_->evicted_unfetched.load(std::memory_order_relaxed);
  counters.evicted_active = shared_->evicted_active.load(std::memory_order_relaxed);
  counters.direct_reclaims = shared_->direct_reclaims.load(std::memory_order_relaxed);
  for (uint32_t buckets : item_buckets_) counters.hash_buckets += buckets;
  return counters;
}

void BpfStore::CountReplaced(const xdpkv_item& old) {
  if (Expired(old.expires_at_ms)) shared_->reclaimed.fetch_add(1, std::memory_order_relaxed);
}

absl::Status BpfStore::SwapDatabases(int a, int b) {
  if (a < 0 || a >= kDatabases || b < 0 || b >= kDatabases) {
    return absl::InvalidArgumentError("DB index is out of range");
  }
  if (a == b) return absl::OkStatus();
  Shared& shared = *shared_;
  if (a != 0 && b != 0) {
    std::lock_guard lock(shared.databases_mutex);
    std::swap(shared.physical[a], shared.physical[b]);
    return absl::OkStatus();
  }
  // Database 0's map keys must carry 0 (the kernel path reads them): its
  // items go to the spare number, the other database's come into 0, and
  // the spare becomes that database's number.
  const int other = a == 0 ? b : a;
  uint32_t other_physical, spare;
  {
    std::lock_guard lock(shared.databases_mutex);
    other_physical = shared.physical[other];
    spare = shared.spare;
  }
  BpfStore& zero = *shared.root;
  if (auto moved = zero.MoveItemsTo(InPhysical(spare)); !moved.ok()) return moved;
  if (auto moved = InPhysical(other_physical).MoveItemsTo(zero); !moved.ok()) return moved;
  std::lock_guard lock(shared.databases_mutex);
  shared.physical[other] = spare;
  shared.spare = other_physical;
  return absl::OkStatus();
}

absl::Status BpfStore::MoveItemsTo(BpfStore& to) {
  // In scan pages: one pass visits every key present all along (Scan's
  // guarantee), and only one item more than before is stored at a time.
  constexpr size_t kMovePage = 1024;
  uint64_t cursor = 0;
  do {
    auto page = Scan(cursor, kMovePage);
    if (!page.ok()) return page.status();
    for (const std::string& key : page->keys) {
      auto item = Get(key);
      if (!item.ok()) return item.status();
      if (!*item) continue;
      const StoredItem& source = **item;
      auto written = to.Mutate(key, [&](const std::optional<StoredItem>&) {
        return Mutation::Write(source.value, source.flags, source.expires_at_ms, source.type);
      });
      if (!written.ok()) return written.status();
      // Only the version moved (as RENAME): one the kernel wrote since stays.
      auto deleted = Mutate(key, [&](const std::optional<StoredItem>& current) {
        return current && current->cas == source.cas ? Mutation::Delete() : Mutation::Keep();
      });
      if (!deleted.ok()) return deleted.status();
    }
    cursor = page->next_cursor;
  } while (cursor != 0);
  return absl::OkStatus();
}

void BpfStore::SetEvictionPolicy(EvictionPolicy policy) {
  shared_->policy.store(policy);
  if (memory_ != nullptr) {
    __atomic_store_n(&memory_->evicts, policy == EvictionPolicy::kNoEviction ? 0u : 1u,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&memory_->lfu, IsLfu(policy) ? 1u : 0u, __ATOMIC_RELAXED);
  }
}

void BpfStore::SetLfuParams(const LfuParams& params) {
  shared_->lfu_log_factor.store(params.log_factor);
  shared_->lfu_decay_minutes.store(params.decay_minutes);
  if (memory_ != nullptr) {
    __atomic_store_n(&memory_->lfu_log_factor, params.log_factor, __ATOMIC_RELAXED);
    __atomic_store_n(&memory_->lfu_decay_minutes, params.decay_minutes, __ATOMIC_RELAXED);
  }
}

LfuParams BpfStore::Lfu() const {
  return {shared_->lfu_log_factor.load(std::memory_order_relaxed),
          shared_->lfu_decay_minutes.load(std::memory_order_relaxed)};
}


void BpfStore::RefreshRecency(std::string_view key, const xdpkv_item& item) {
  // Only where eviction looks at it, and only once it is staler than
  // eviction tells apart, or its LFU counter moved: each refresh is a run
  // of the store program.
  const EvictionPolicy policy = shared_->policy.load(std::memory_order_relaxed);
  if (memory_ == nullptr || policy == EvictionPolicy::kNoEviction) return;
  const uint32_t now_ms32 = static_cast<uint32_t>(NowBootMs());
  const uint32_t idle_ms = IdleMs(item.atime_ms, now_ms32);
  uint32_t lfu = item.lfu;
  if (IsLfu(policy)) {
    // The kernel's hits draw from bpf_get_prandom_u32; a cheap generator
    // of our own is as good for odds.
    thread_local absl::InsecureBitGen random;
    const LfuParams params = Lfu();
    lfu = LfuLogIncr(LfuDecayed(item.lfu, idle_ms, params), absl::Uniform<uint32_t>(random),
                     params);
  }
  if (lfu == item.lfu &&
      idle_ms < RecencyRefreshAfterMs(shared_->last_victim_idle_ms.load(std::memory_order_relaxed))) {
    return;
  }
  auto map_key = MakeKey(item_fds_, db_, key);
  if (!map_key.ok()) return;
  xdpkv_item recency{};
  recency.atime_ms = now_ms32;
  recency.lfu = static_cast<__u8>(lfu);
  (void)CompareAndSwap(map_key->bytes, XDPKV_CAS_ANY, XDPKV_CAS_OP_RECENCY, &recency);
}

}  // namespace xdpkv
