// The server's background chores, run once per tick on the main thread,
// off the request path: the clock offset for memcached's absolute
// exptimes, a delayed flush_all, the orphan-blob sweep, and active expiry.
#ifndef XDPKV_PROXY_CHORES_H_
#define XDPKV_PROXY_CHORES_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "proxy/handlers.h"
#include "proxy/store.h"

namespace xdpkv {

// Prints a chore's failure to stderr at most once per `interval_ms` per
// chore, with the count of failures it did not print.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(std::string what, uint64_t interval_ms = 60'000)
      : what_(std::move(what)), interval_ms_(interval_ms) {}
  // True when it printed.
  bool Report(const absl::Status& status, uint64_t now_ms);

 private:
  std::string what_;
  uint64_t interval_ms_;
  uint64_t last_ms_ = 0;
  uint64_t suppressed_ = 0;
  bool printed_ = false;
};

// Active expiry over the store's scan. A pass walks every hash bucket, the
// empty ones too, so passes are paced by their own cost: after a pass of C
// ms of CPU the next one starts kPauseFactor * C later (at least
// kMinPauseMs, at most kMaxPauseMs), so active expiry costs at most about
// 1 / kPauseFactor of a CPU, and an expired key waits about one pass plus
// one pause before it is removed (documented in docs/architecture.md).
// A pass that met no item with a TTL doubles the pause (up to kMaxPauseMs):
// Redis's cycle looks only at keys with a TTL, so a store without any
// costs it nothing, where a walk of ours still costs its every bucket
// (measured: 12% of the server's CPU under redis-benchmark with 100k keys
// and no TTL). Reads never see an expired item either way.
class ActiveExpiry {
 public:
  static constexpr size_t kEntriesPerStep = 4096;
  static constexpr uint64_t kStepBudgetMs = 25;  // per tick, as Redis's slow cycle
  static constexpr uint64_t kPauseFactor = 20;
  static constexpr uint64_t kMinPauseMs = 500;
  static constexpr uint64_t kMaxPauseMs = 10'000;

  explicit ActiveExpiry(Store& store) : store_(store), log_("active expiry") {}
  // Runs for at most kStepBudgetMs of this tick. Returns the items it
  // removed.
  size_t Tick(uint64_t now_ms, const std::function<uint64_t()>& clock_ms);

  uint64_t passes() const { return passes_; }

 private:
  Store& store_;
  RateLimitedLog log_;
  uint64_t cursor_ = 0;
  uint64_t next_pass_ms_ = 0;
  uint64_t pass_cost_ms_ = 0;  // CPU so far in the current pass
  uint64_t passes_ = 0;
  uint64_t with_ttl_in_pass_ = 0;  // items with a TTL the current pass met
  uint32_t passes_without_ttl_ = 0;  // in a row, ending with the last
};

}  // namespace xdpkv

#endif  // XDPKV_PROXY_CHORES_H_
