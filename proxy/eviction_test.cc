// The eviction choice and the memory amounts, without a store.
#include "proxy/eviction.h"

#include <vector>

#include "gtest/gtest.h"
#include "proxy/map_memory.h"

namespace xdpkv {
namespace {

TEST(EvictionPolicy, RedisNamesRoundTrip) {
  for (std::string_view name : {"noeviction", "allkeys-lru", "volatile-lru", "allkeys-random",
                                "volatile-random", "volatile-ttl"}) {
    auto policy = ParseEvictionPolicy(name);
    ASSERT_TRUE(policy.has_value()) << name;
    EXPECT_EQ(EvictionPolicyName(*policy), name);
  }
  EXPECT_EQ(ParseEvictionPolicy("ALLKEYS-LRU"), EvictionPolicy::kAllKeysLru);
  EXPECT_FALSE(ParseEvictionPolicy("allkeys-lfu").has_value());  // not (yet) ours
  EXPECT_FALSE(ParseEvictionPolicy("lru").has_value());
}

TEST(ChooseVictim, LruTakesTheOldestAccessThenTheOldestWrite) {
  const std::vector<EvictionCandidate> c = {{100, 7, 0}, {90, 9, 0}, {90, 8, 0}, {120, 1, 0}};
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kAllKeysLru, c), 2u);
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kNoEviction, c), std::nullopt);
}

TEST(ChooseVictim, VolatilePoliciesOnlyTakeItemsWithAnExpiry) {
  const std::vector<EvictionCandidate> c = {{1, 1, 0}, {50, 2, 9000}, {40, 3, 5000}, {60, 4, 0}};
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kVolatileLru, c), 2u);
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kVolatileTtl, c), 2u);
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kVolatileRandom, c), 1u);
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kAllKeysRandom, c), 0u);
  const std::vector<EvictionCandidate> persistent = {{1, 1, 0}, {2, 2, 0}};
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kVolatileLru, persistent), std::nullopt);
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kAllKeysLru, {}), std::nullopt);
}

TEST(ChooseVictim, VolatileTtlTakesTheNearestExpiry) {
  const std::vector<EvictionCandidate> c = {{1, 1, 7000}, {99, 2, 3000}, {50, 3, 4000}};
  EXPECT_EQ(ChooseVictim(EvictionPolicy::kVolatileTtl, c), 1u);
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
