// The eviction choice and the memory amounts, without a store.
#include "proxy/eviction.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/map_memory.h"

namespace xdpkv {
namespace {

TEST(EvictionPolicy, RedisNamesRoundTrip) {
  for (std::string_view name : {"noeviction", "allkeys-lru", "volatile-lru", "allkeys-random",
                                "volatile-random", "volatile-ttl", "allkeys-lfu", "volatile-lfu"}) {
    auto policy = ParseEvictionPolicy(name);
    ASSERT_TRUE(policy.has_value()) << name;
    EXPECT_EQ(EvictionPolicyName(*policy), name);
  }
  EXPECT_EQ(ParseEvictionPolicy("ALLKEYS-LRU"), EvictionPolicy::kAllKeysLru);
  EXPECT_TRUE(IsLfu(*ParseEvictionPolicy("volatile-lfu")));
  EXPECT_FALSE(IsLfu(EvictionPolicy::kAllKeysLru));
  EXPECT_FALSE(ParseEvictionPolicy("lru").has_value());
}

TEST(ChooseVictim, LruTakesTheLongestIdleThenTheOldestWrite) {
  const std::vector<EvictionCandidate> c = {{20, 7, 0}, {30, 9, 0}, {30, 8, 0}, {0, 1, 0}};
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kAllKeysLru, c), 2u);
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kNoEviction, c), std::nullopt);
}

TEST(ChooseVictim, VolatilePoliciesOnlyTakeItemsWithAnExpiry) {
  const std::vector<EvictionCandidate> c = {{99, 1, 0}, {10, 2, 9000}, {20, 3, 5000}, {0, 4, 0}};
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kVolatileLru, c), 2u);
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kVolatileTtl, c), 2u);
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kVolatileRandom, c), 1u);
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kAllKeysRandom, c), 0u);
  const std::vector<EvictionCandidate> persistent = {{1, 1, 0}, {2, 2, 0}};
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kVolatileLru, persistent), std::nullopt);
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kAllKeysLru, {}), std::nullopt);
}

TEST(ChooseVictim, LfuTakesTheLowestCounterThenTheLongestIdle) {
  // {idle_ms, cas, expires_at_ms, lfu}
  const std::vector<EvictionCandidate> c = {
      {90, 1, 0, 7}, {10, 2, 5000, 5}, {30, 3, 0, 5}, {99, 4, 0, 9}};
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kAllKeysLfu, c), 2u);
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kVolatileLfu, c), 1u);  // the only one with an expiry
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kAllKeysLru, c), 3u);   // LRU ignores the counter
}

// Redis's LFUDecrAndReturn: one less per lfu-decay-time minutes idle.
TEST(Lfu, IdleMinutesDecayTheCounter) {
  const LfuParams every_minute{10, 1}, every_ten{10, 10}, never{10, 0};
  EXPECT_EQ(LfuDecayed(20, 59'999, every_minute), 20u);
  EXPECT_EQ(LfuDecayed(20, 60'000, every_minute), 19u);
  EXPECT_EQ(LfuDecayed(20, 3 * 60'000 + 5, every_minute), 17u);
  EXPECT_EQ(LfuDecayed(20, 25 * 60'000, every_ten), 18u);
  EXPECT_EQ(LfuDecayed(3, 60 * 60'000, every_minute), 0u);  // not below zero
  EXPECT_EQ(LfuDecayed(20, 600 * 60'000, never), 20u);
}

// Redis's LFULogIncr: odds 1 / ((counter - 5) * lfu-log-factor + 1), read
// off the 32-bit draw exactly as bpf/lib/recency.h reads it.
TEST(Lfu, HitsRaiseTheCounterLogarithmically) {
  const LfuParams factor10{10, 1}, factor0{0, 1};
  EXPECT_EQ(LfuLogIncr(5, UINT32_MAX, factor10), 6u);  // odds 1 at or below the start
  EXPECT_EQ(LfuLogIncr(0, UINT32_MAX, factor10), 1u);
  // At 15: odds 1 in 101, so draws below 2^32 / 101 win.
  EXPECT_EQ(LfuLogIncr(15, 42'524'428, factor10), 16u);
  EXPECT_EQ(LfuLogIncr(15, 42'524'429, factor10), 15u);
  EXPECT_EQ(LfuLogIncr(200, UINT32_MAX, factor0), 201u);  // factor 0: every hit
  EXPECT_EQ(LfuLogIncr(255, 0, factor0), 255u);           // the ceiling
  // A huge factor: the odds are never won, and nothing overflows.
  EXPECT_EQ(LfuLogIncr(255 - 1, 0, LfuParams{INT32_MAX, 1}), 255u);
  EXPECT_EQ(LfuLogIncr(100, 2, LfuParams{INT32_MAX, 1}), 100u);
}

TEST(ChooseVictim, VolatileTtlTakesTheNearestExpiry) {
  const std::vector<EvictionCandidate> c = {{1, 1, 7000}, {99, 2, 3000}, {50, 3, 4000}};
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kVolatileTtl, c), 1u);
}

// Recency is milliseconds (docs/bench/eviction.md: a seconds clock made
// eviction first-in first-out among everything touched in the last second,
// 3 points of hit ratio at 8 MB).
TEST(IdleMs, MillisecondsAcrossTheClocksWrap) {
  EXPECT_EQ(IdleMs(1000, 1250), 250u);
  EXPECT_EQ(IdleMs(UINT32_MAX - 5, 10), 16u);  // the 32-bit clock wrapped
  EXPECT_EQ(IdleMs(1005, 1000), 0u);           // a hit that read the clock after us
  // Idle nearly the clock's whole period still reads as idle.
  EXPECT_EQ(IdleMs(0, UINT32_MAX - 60000), UINT32_MAX - 60000);
}

TEST(ChooseVictim, LruOrdersItemsTouchedWithinOneSecondAndAcrossTheWrap) {
  const uint32_t now = 100;
  const std::vector<EvictionCandidate> c = {
      {IdleMs(now - 300, now), 1, 0},        // 300 ms ago
      {IdleMs(UINT32_MAX - 99, now), 9, 0},  // 200 ms ago, before the wrap
      {IdleMs(now - 900, now), 5, 0},        // 900 ms ago: the one to go
      {IdleMs(now - 10, now), 2, 0}};
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kAllKeysLru, c), 2u);
}

TEST(RecencyRefresh, AnEighthOfTheLastVictimsIdleTimeWithinBounds) {
  EXPECT_EQ(RecencyRefreshAfterMs(0), kRecencyRefreshMaxMs);  // nothing evicted yet
  EXPECT_EQ(RecencyRefreshAfterMs(800), 100u);
  EXPECT_EQ(RecencyRefreshAfterMs(40), kRecencyRefreshMinMs);
  EXPECT_EQ(RecencyRefreshAfterMs(3600 * 1000), kRecencyRefreshMaxMs);
}

// SLUB's kmalloc sizes, then whole power-of-two page blocks.
TEST(KmallocBytes, RoundsAsTheKernelAllocates) {
  EXPECT_EQ(KmallocBytes(1), 8u);
  EXPECT_EQ(KmallocBytes(65), 96u);
  EXPECT_EQ(KmallocBytes(97), 128u);
  EXPECT_EQ(KmallocBytes(129), 192u);
  EXPECT_EQ(KmallocBytes(248), 256u);
  EXPECT_EQ(KmallocBytes(600), 1024u);
  EXPECT_EQ(KmallocBytes(8192), 8192u);
  EXPECT_EQ(KmallocBytes(8193), 16384u);
  EXPECT_EQ(KmallocBytes(12289), 16384u);
  EXPECT_EQ(KmallocBytes((1 << 20) + 400), 2u << 20);  // a 1 MiB value takes 2 MiB
}

}  // namespace
}  // namespace xdpkv
