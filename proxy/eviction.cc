#include "proxy/eviction.h"

#include <algorithm>
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
  if (a.idle_ms != b.idle_ms) return a.idle_ms > b.idle_ms;
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

uint32_t IdleMs(uint32_t atime_ms, uint32_t now_ms) {
  constexpr uint32_t kAheadMs = 60000;
  const uint32_t idle = now_ms - atime_ms;
  return idle > UINT32_MAX - kAheadMs ? 0 : idle;
}

uint32_t AtimeSeconds(uint32_t atime_ms, uint64_t now_ms) {
  const uint64_t idle = IdleMs(atime_ms, static_cast<uint32_t>(now_ms));
  return idle > now_ms ? 0 : static_cast<uint32_t>((now_ms - idle) / 1000);
}

uint32_t RecencyRefreshAfterMs(uint32_t last_victim_idle_ms) {
  if (last_victim_idle_ms == 0) return kRecencyRefreshMaxMs;
  return std::clamp(last_victim_idle_ms / 8, kRecencyRefreshMinMs, kRecencyRefreshMaxMs);
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
