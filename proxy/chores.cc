#include "proxy/chores.h"

#include <time.h>

#include <algorithm>
#include <cstdio>

namespace xdpkv {

bool RateLimitedLog::Report(const absl::Status& status, uint64_t now_ms) {
  if (printed_ && now_ms < last_ms_ + interval_ms_) {
    ++suppressed_;
    return false;
  }
  if (suppressed_ > 0) {
    std::fprintf(stderr, "xdpkv: %s failed: %s (and %llu more since the last report)\n",
                 what_.c_str(), std::string(status.message()).c_str(),
                 static_cast<unsigned long long>(suppressed_));
  } else {
    std::fprintf(stderr, "xdpkv: %s failed: %s\n", what_.c_str(),
                 std::string(status.message()).c_str());
  }
  printed_ = true;
  last_ms_ = now_ms;
  suppressed_ = 0;
  return true;
}

size_t ActiveExpiry::Tick(uint64_t now_ms, const std::function<uint64_t()>& clock_ms) {
  if (cursor_ == 0 && now_ms < next_pass_ms_) return 0;
  size_t removed = 0;
  const uint64_t start = clock_ms();
  uint64_t spent = 0;
  do {
    auto page = store_.Scan(cursor_, kEntriesPerStep);
    if (!page.ok()) {
      log_.Report(page.status(), now_ms);
      return removed;
    }
    removed += page->expired;
    with_ttl_in_pass_ += page->expired;
    for (const ItemMeta& meta : page->metas) with_ttl_in_pass_ += meta.expires_at_ms != 0;
    cursor_ = page->next_cursor;
    spent = clock_ms() - start;
    if (cursor_ == 0) {
      // A pass is done: pause in proportion to what it cost, and twice as
      // long after each pass in a row that met no TTL.
      pass_cost_ms_ += spent;
      ++passes_;
      passes_without_ttl_ = with_ttl_in_pass_ == 0 ? std::min(passes_without_ttl_ + 1, 16u) : 0;
      const uint64_t pause = std::max(pass_cost_ms_ * kPauseFactor, kMinPauseMs)
                             << passes_without_ttl_;
      next_pass_ms_ = now_ms + std::min(pause, kMaxPauseMs);
      pass_cost_ms_ = 0;
      with_ttl_in_pass_ = 0;
      return removed;
    }
  } while (spent < kStepBudgetMs);
  pass_cost_ms_ += spent;
  return removed;
}

}  // namespace xdpkv
