// Active expiry and the chores' log, on the in-memory store with a
// simulated clock: deterministic, no sleeping, nothing timed for real.
#include "proxy/chores.h"

#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "proxy/testing/memory_store.h"

namespace xdpkv {
namespace {

constexpr uint64_t kTickMs = 100;

// `n` keys k0.. that never expire, in a store with room for twice as many.
void AddKeysWithoutTtl(testing::MemoryStore* store, int n) {
  store->max_items = 2 * static_cast<size_t>(n);
  for (int i = 0; i < n; ++i) ASSERT_TRUE(store->Set("k" + std::to_string(i), "v", 0, 0).ok());
}

// Expired keys leave within about a second or two of expiring (Redis's
// adaptive cycle), not after a fixed pause between passes (it was 30 s).
TEST(ActiveExpiry, ExpiredKeysAreRemovedWithinSecondsOfExpiring) {
  testing::MemoryStore store;
  store.max_items = 100000;
  uint64_t now = 1'000'000;
  store.now_ms = now;
  constexpr int kKeys = 20000;
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(store.Set("k" + std::to_string(i), "v", 0, now + 1000).ok());
  }
  ASSERT_TRUE(store.Set("forever", "v", 0, 0).ok());
  ActiveExpiry expiry(store);
  auto clock = [&] { return now; };
  // A pass before anything has expired.
  for (int tick = 0; tick < 10; ++tick, now += kTickMs) {
    store.now_ms = now;
    expiry.Tick(now, clock);
  }
  ASSERT_EQ(store.Usage()->items, uint64_t{kKeys} + 1);
  // Everything expires; count the simulated time until the store is clean.
  const uint64_t expired_at = now;
  uint64_t removed = 0;
  while (store.Usage()->items > 1 && now < expired_at + 60'000) {
    now += kTickMs;
    store.now_ms = now;
    removed += expiry.Tick(now, clock);
  }
  std::printf("active-expiry: %d expired keys removed %llu ms after expiring\n", kKeys,
              static_cast<unsigned long long>(now - expired_at));
  EXPECT_EQ(removed, uint64_t{kKeys});
  EXPECT_EQ(store.Usage()->items, 1u);
  EXPECT_LE(now - expired_at, ActiveExpiry::kMinPauseMs + 20 * kTickMs);
}

// Passes are paced by what they cost: a pass that costs C ms of CPU is
// followed by a pause of kPauseFactor * C, so the sweep takes at most about
// 1/kPauseFactor of a CPU however big (and empty) the maps are.
TEST(ActiveExpiry, PassesArePacedByTheirCost) {
  testing::MemoryStore store;
  AddKeysWithoutTtl(&store, 50000);
  ActiveExpiry expiry(store);
  uint64_t now = 1'000'000;
  uint64_t busy_ms = 0;
  // Each look at the clock inside a tick costs 10 ms of simulated CPU.
  auto clock = [&] {
    busy_ms += 10;
    return now + busy_ms;
  };
  const uint64_t start = now;
  for (; now < start + 600'000; now += kTickMs) {
    busy_ms = 0;
    expiry.Tick(now, clock);
    now += busy_ms;
  }
  const double passes_per_minute = expiry.passes() / 10.0;
  std::printf("active-expiry: %llu passes in 10 simulated minutes\n",
              static_cast<unsigned long long>(expiry.passes()));
  // A pass here is 13 steps of 10 ms over 5 ticks: a pause of 2.6 s after
  // each, so about 19 passes a minute (back to back it would be 120).
  EXPECT_GT(expiry.passes(), 0u);
  EXPECT_LE(passes_per_minute, 22.0);
}

// A store without TTLs is walked less and less often (each pass that met
// none doubles the pause, to kMaxPauseMs); the first key with a TTL brings
// the pace back, and still leaves within kMaxPauseMs and a pass of expiring.
TEST(ActiveExpiry, AStoreWithoutTtlsIsWalkedRarely) {
  testing::MemoryStore store;
  AddKeysWithoutTtl(&store, 50000);
  ActiveExpiry expiry(store);
  uint64_t now = 1'000'000;
  auto clock = [&] { return now; };  // passes cost no time: the minimum pause
  const uint64_t start = now;
  for (; now < start + 600'000; now += kTickMs) {
    store.now_ms = now;
    expiry.Tick(now, clock);
  }
  std::printf("active-expiry: %llu passes in 10 simulated minutes without TTLs\n",
              static_cast<unsigned long long>(expiry.passes()));
  // Back to back at the minimum pause it would be ~1,000; at kMaxPauseMs, 60.
  EXPECT_LE(expiry.passes(), 70u);
  ASSERT_TRUE(store.Set("ttl", "v", 0, now + 1000).ok());
  const uint64_t expires_at = now + 1000;
  while (store.Usage()->items > 50000 && now < expires_at + 60'000) {
    now += kTickMs;
    store.now_ms = now;
    expiry.Tick(now, clock);
  }
  EXPECT_EQ(store.Usage()->items, 50000u);
  EXPECT_LE(now - expires_at, ActiveExpiry::kMaxPauseMs + 20 * kTickMs);
}

TEST(RateLimitedLog, PrintsOncePerInterval) {
  RateLimitedLog log("test chore", 1000);
  const absl::Status failure = absl::UnavailableError("map gone");
  EXPECT_TRUE(log.Report(failure, 5000));
  EXPECT_FALSE(log.Report(failure, 5100));
  EXPECT_FALSE(log.Report(failure, 5999));
  EXPECT_TRUE(log.Report(failure, 6000));
}

}  // namespace
}  // namespace xdpkv
