#include "proxy/eviction.h"

#include "proxy/store_layout.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <utility>

namespace xdpkv {
namespace {

constexpr std::array<std::pair<std::string_view, EvictionPolicy>, 8> kPolicies = {{
    {"noeviction", EvictionPolicy::kNoEviction},
    {"allkeys-lru", EvictionPolicy::kAllKeysLru},
    {"volatile-lru", EvictionPolicy::kVolatileLru},
    {"allkeys-random", EvictionPolicy::kAllKeysRandom},
    {"volatile-random", EvictionPolicy::kVolatileRandom},
    {"volatile-ttl", EvictionPolicy::kVolatileTtl},
    {"allkeys-lfu", EvictionPolicy::kAllKeysLfu},
    {"volatile-lfu", EvictionPolicy::kVolatileLfu},
}};

bool Volatile(EvictionPolicy policy) {
  return policy == EvictionPolicy::kVolatileLru || policy == EvictionPolicy::kVolatileRandom ||
         policy == EvictionPolicy::kVolatileTtl || policy == EvictionPolicy::kVolatileLfu;
}

}  // namespace

bool EvictsBefore(EvictionPolicy policy, const EvictionCandidate& a, const EvictionCandidate& b) {
  if (policy == EvictionPolicy::kVolatileTtl && a.expires_at_ms != b.expires_at_ms) {
    return a.expires_at_ms < b.expires_at_ms;
  }
  if (IsLfu(policy) && a.lfu != b.lfu) return a.lfu < b.lfu;
  if (a.idle_ms != b.idle_ms) return a.idle_ms > b.idle_ms;
  return a.cas < b.cas;
}

bool Evictable(EvictionPolicy policy, const EvictionCandidate& candidate) {
  if (policy == EvictionPolicy::kNoEviction) return false;
  return !Volatile(policy) || candidate.expires_at_ms != 0;
}

bool IsRandom(EvictionPolicy policy) {
  return policy == EvictionPolicy::kAllKeysRandom || policy == EvictionPolicy::kVolatileRandom;
}

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

bool IsLfu(EvictionPolicy policy) {
  return policy == EvictionPolicy::kAllKeysLfu || policy == EvictionPolicy::kVolatileLfu;
}

uint32_t LfuDecayed(uint32_t counter, uint32_t idle_ms, const LfuParams& params) {
  if (params.decay_minutes == 0) return counter;
  const uint32_t periods = idle_ms / 60000 / params.decay_minutes;
  return periods >= counter ? 0 : counter - periods;
}

uint32_t LfuLogIncr(uint32_t counter, uint32_t random, const LfuParams& params) {
  if (counter >= XDPKV_LFU_MAX) return XDPKV_LFU_MAX;
  const uint64_t base = counter > XDPKV_LFU_INIT ? counter - XDPKV_LFU_INIT : 0;
  // Odds past 2^31 are never won in 2^32 draws anyway; capped, the
  // product cannot overflow (as the kernel's).
  const uint64_t odds = std::min<uint64_t>(base * params.log_factor + 1, uint64_t{1} << 31);
  return uint64_t{random} * odds < (uint64_t{1} << 32) ? counter + 1 : counter;
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
  std::optional<size_t> best;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (!Evictable(policy, candidates[i])) continue;
    if (IsRandom(policy)) return i;
    if (!best || EvictsBefore(policy, candidates[i], candidates[*best])) best = i;
  }
  return best;
}

}  // namespace xdpkv
