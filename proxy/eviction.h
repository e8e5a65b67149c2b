// Which item to evict when the store is full: Redis's maxmemory policies
// (docs/protocols.md, "Memory limit and eviction"). The store samples a few
// items at random (as Redis does) and evicts the one the policy prefers.
#ifndef XDPKV_PROXY_EVICTION_H_
#define XDPKV_PROXY_EVICTION_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace xdpkv {

enum class EvictionPolicy {
  kNoEviction,      // writes past the limit get the out-of-memory error
  kAllKeysLru,      // the least recently used of the sample (memcached's way)
  kVolatileLru,     // ... among items with an expiry
  kAllKeysRandom,   // any item of the sample
  kVolatileRandom,  // ... with an expiry
  kVolatileTtl,     // the item with the nearest expiry
  kAllKeysLfu,      // the least frequently used of the sample (Redis's LFU counter)
  kVolatileLfu,     // ... among items with an expiry
};

// True for the LFU policies: hits keep the items' LFU counters.
bool IsLfu(EvictionPolicy policy);

// Redis's names ("allkeys-lru", ...); nullopt for any other.
std::optional<EvictionPolicy> ParseEvictionPolicy(std::string_view name);
std::string_view EvictionPolicyName(EvictionPolicy policy);


// Redis's LFU tunables (lfu-log-factor, lfu-decay-time), with its defaults.
struct LfuParams {
  uint32_t log_factor = 10;
  uint32_t decay_minutes = 1;  // 0: counters never decay
};

// Redis's LFUDecrAndReturn: an item's LFU counter (xdpkv_item.lfu) less one
// per `decay_minutes` it has been idle. What eviction compares, and what
// OBJECT FREQ shows.
uint32_t LfuDecayed(uint32_t counter, uint32_t idle_ms, const LfuParams& params);
// Redis's LFULogIncr: the counter after one more hit, `random` a uniform
// 32-bit draw: up by one with odds 1 / ((counter - XDPKV_LFU_INIT) *
// log_factor + 1), at most XDPKV_LFU_MAX (bpf/lib/recency.h, the kernel's).
uint32_t LfuLogIncr(uint32_t counter, uint32_t random, const LfuParams& params);

// What the choice looks at, per sampled item.
struct EvictionCandidate {
  uint32_t idle_ms = 0;        // since its last hit or write (IdleMs)
  uint64_t cas = 0;            // write order: ties go to the older write
  uint64_t expires_at_ms = 0;  // 0: no expiry
  uint32_t lfu = 0;            // its LFU counter, decayed to now (LfuDecayed)
};

// How long an item whose recency is `atime_ms` (xdpkv_item.atime_ms: boot
// milliseconds modulo 2^32) has been idle at `now_ms` (the same clock):
// the difference modulo 2^32, so the clock's wrap every 49.7 days does not
// reorder items. A recency up to a minute ahead of `now_ms` (a hit that
// read the clock after the caller did) is 0 idle, not 49.7 days.
uint32_t IdleMs(uint32_t atime_ms, uint32_t now_ms);

// The same recency in boot seconds, as StoredItem::atime_s has it (what
// memcached's meta flags, metadump and OBJECT IDLETIME show), at boot time
// `now_ms`; and a boot second back as the kernel's field holds it.
uint32_t AtimeSeconds(uint32_t atime_ms, uint64_t now_ms);
inline uint32_t AtimeMsOfSeconds(uint32_t atime_s) {
  return static_cast<uint32_t>(uint64_t{atime_s} * 1000);
}

// How stale a userspace hit may find an item's recency before it writes
// it again (each write is a run of the store program): an eighth of how
// long the last evicted item had been idle, within [10 ms, 10 s]. Recency
// then stays finer than what eviction tells apart, and an item is
// refreshed at most 8 times in the time the store takes to turn over: at
// most ~8 refreshes per eviction, and none past 1 in 10 s while nothing
// is evicted (`last_victim_idle_ms` 0: none yet).
uint32_t RecencyRefreshAfterMs(uint32_t last_victim_idle_ms);
inline constexpr uint32_t kRecencyRefreshMinMs = 10;
inline constexpr uint32_t kRecencyRefreshMaxMs = 10000;

// The index of the candidate to evict under `policy`, or nullopt if none
// qualifies (noeviction, or a volatile policy and no candidate with an
// expiry). Random policies take the first qualifying one: the sample is
// random already.
std::optional<size_t> ChooseVictim(EvictionPolicy policy,
                                   std::span<const EvictionCandidate> candidates);

// Whether `policy` may evict `candidate` at all (noeviction none, volatile
// policies only items with an expiry).
bool Evictable(EvictionPolicy policy, const EvictionCandidate& candidate);
// True if `policy` evicts `a` before `b`: the order ChooseVictim picks in
// (random policies: by idle time, their samples being random already).
bool EvictsBefore(EvictionPolicy policy, const EvictionCandidate& a, const EvictionCandidate& b);
// True for allkeys-random and volatile-random.
bool IsRandom(EvictionPolicy policy);

}  // namespace xdpkv

#endif  // XDPKV_PROXY_EVICTION_H_
