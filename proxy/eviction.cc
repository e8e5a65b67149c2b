#include "proxy/eviction.h"

#include <array>
#include <cstdint>
#include <string>
#include <utility>

namespace xdpkv {
namespace {

constexpr std::array<std::pair<std::string_view, EvictionPolicy>, 6> kPolicies = {{
    {"noeviction", EvictionPolicy::kNoEviction},
    {"allkeys-lru", EvictionPolicy::kAllKeysLru},
    {"volatile-lru", EvictionPolicy::kVolatileLru},
    {"allkeys-random", EvictionPolicy::kAllKeysRandom},
    {"volatile-random", EvictionPolicy::kVolatileRandom},
    {"volatile-ttl", EvictionPolicy::kVolatileTtl},
}};

bool Volatile(EvictionPolicy policy) {
  return policy == EvictionPolicy::kVolatileLru || policy == EvictionPolicy::kVolatileRandom ||
         policy == EvictionPolicy::kVolatileTtl;
}

// True if a should go before b.
bool Prefer(EvictionPolicy policy, const EvictionCandidate& a, const EvictionCandidate& b) {
  if (policy == EvictionPolicy::kVolatileTtl && a.expires_at_ms != b.expires_at_ms) {
    return a.expires_at_ms < b.expires_at_ms;
  }
  if (a.atime_s != b.atime_s) return a.atime_s < b.atime_s;
  return a.cas < b.cas;
}

}  // namespace

std::optional<EvictionPolicy> ParseEvictionPolicy(std::string_view name) {
  for (const auto& [policy_name, policy] : kPolicies) {
    if (name.size() != policy_name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i) {
      same = (name[i] | 0x20) == policy_name[i] || name[i] == policy_name[i];
    }
    if (same) return policy;
  }
  return std::nullopt;
}

std::string_view EvictionPolicyName(EvictionPolicy policy) {
  for (const auto& [name, p] : kPolicies) {
    if (p == policy) return name;
  }
  return "noeviction";
}

std::optional<size_t> ChooseVictim(EvictionPolicy policy,
                                   std::span<const EvictionCandidate> candidates) {
  if (policy == EvictionPolicy::kNoEviction) return std::nullopt;
  std::optional<size_t> best;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (Volatile(policy) && candidates[i].expires_at_ms == 0) continue;
    if (policy == EvictionPolicy::kAllKeysRandom || policy == EvictionPolicy::kVolatileRandom) {
      return i;
    }
    if (!best || Prefer(policy, candidates[i], candidates[*best])) best = i;
  }
  return best;
}

}  // namespace xdpkv
