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

std::optional<uint64_t> ParseMemoryAmount(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 19) return std::nullopt;
  uint64_t value = 0;
  for (size_t i = 0; i < digits; ++i) value = value * 10 + static_cast<uint64_t>(text[i] - '0');
  std::string unit;
  for (char c : text.substr(digits)) unit.push_back(static_cast<char>(c | 0x20));
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1},          {"b", 1},          {"k", 1000},       {"kb", 1024},
      {"m", 1000000},   {"mb", 1 << 20},   {"g", 1000000000}, {"gb", uint64_t{1} << 30},
  };
  for (const auto& [name, scale] : kUnits) {
    if (unit != name) continue;
    if (value > UINT64_MAX / scale) return std::nullopt;
    return value * scale;
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
