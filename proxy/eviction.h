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
};

// Redis's names ("allkeys-lru", ...); nullopt for any other.
std::optional<EvictionPolicy> ParseEvictionPolicy(std::string_view name);
std::string_view EvictionPolicyName(EvictionPolicy policy);


// What the choice looks at, per sampled item.
struct EvictionCandidate {
  uint32_t atime_s = 0;        // last hit or write (boot seconds)
  uint64_t cas = 0;            // write order: ties go to the older write
  uint64_t expires_at_ms = 0;  // 0: no expiry
};

// The index of the candidate to evict under `policy`, or nullopt if none
// qualifies (noeviction, or a volatile policy and no candidate with an
// expiry). Random policies take the first qualifying one: the sample is
// random already.
std::optional<size_t> ChooseVictim(EvictionPolicy policy,
                                   std::span<const EvictionCandidate> candidates);

}  // namespace xdpkv

#endif  // XDPKV_PROXY_EVICTION_H_
