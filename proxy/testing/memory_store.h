// An in-memory Store for tests of code above the store (handlers, server):
// the same contract as BpfStore, without BPF rights.
#ifndef XDPKV_PROXY_TESTING_MEMORY_STORE_H_
#define XDPKV_PROXY_TESTING_MEMORY_STORE_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "proxy/store.h"

namespace xdpkv::testing {

class MemoryStore : public Store {
 public:
  // Expiry is judged against this clock (CLOCK_BOOTTIME ms in BpfStore);
  // database 0's serve all.
  uint64_t now_ms = 1'000'000;
  size_t max_items = 1000;  // per database
  // Redis's 16 databases, as BpfStore has them; off: database 0 only, as
  // a store without them.
  bool has_databases = false;

  absl::StatusOr<std::optional<StoredItem>> Get(std::string_view key) override {
    ++store_calls;
    return GetOne(key);
  }

  // One store call for many keys, as BpfStore's batched read.
  std::vector<absl::StatusOr<std::optional<StoredItem>>> GetMany(
      std::span<const std::string_view> keys, size_t max_value_bytes = SIZE_MAX) override {
    ++store_calls;
    std::vector<absl::StatusOr<std::optional<StoredItem>>> items;
    size_t bytes = 0;
    for (std::string_view key : keys) {
      if (!items.empty() && bytes > max_value_bytes) break;
      items.push_back(GetOne(key));
      if (items.back().ok() && *items.back()) bytes += (*items.back())->value.size();
    }
    return items;
  }

  // Reads made through Get and GetMany, one each: what a BpfStore pays a
  // syscall for.
  std::atomic<uint64_t> store_calls{0};

  absl::StatusOr<std::optional<StoredItem>> GetOne(std::string_view key) {
    std::lock_guard lock(mu_);
    if (auto status = CheckKey(key); !status.ok()) return status;
    auto it = items_.find(std::string(key));
    if (it == items_.end()) return std::nullopt;
    if (it->second.expires_at_ms != 0 && it->second.expires_at_ms <= root_->now_ms) {
      items_.erase(it);
      return std::nullopt;
    }
    return it->second;
  }

  absl::StatusOr<uint64_t> Set(std::string_view key, std::string_view value, uint32_t flags,
                               uint64_t expires_at_ms) override {
    std::lock_guard lock(mu_);
    if (auto status = CheckKey(key); !status.ok()) return status;
    if (value.size() > (1 << 20)) return absl::InvalidArgumentError("object too large for cache");
    if (!items_.count(std::string(key)) && items_.size() >= root_->max_items) {
      return absl::ResourceExhaustedError("out of memory storing object");
    }
    StoredItem& item = items_[std::string(key)];
    item = StoredItem{std::string(value), flags, ++root_->next_cas_, expires_at_ms,
                      ValueType::kString, 0, NowS()};
    ++root_->writes_;
    return item.cas;
  }

  absl::StatusOr<bool> SetItemMeta(std::string_view key, uint64_t cas, uint32_t mc_bits,
                                   uint32_t atime_s) override {
    std::lock_guard lock(mu_);
    auto it = items_.find(std::string(key));
    if (it == items_.end() || it->second.cas != cas) return false;
    it->second.mc_bits = mc_bits;
    it->second.atime_s = atime_s;
    return true;
  }

  absl::StatusOr<std::optional<uint64_t>> Mutate(std::string_view key,
                                                 const MutateFn& decide) override {
    std::lock_guard lock(mu_);
    if (auto status = CheckKey(key); !status.ok()) return status;
    auto it = items_.find(std::string(key));
    std::optional<StoredItem> current;
    if (it != items_.end() &&
        (it->second.expires_at_ms == 0 || it->second.expires_at_ms > root_->now_ms)) {
      current = it->second;
    }
    Mutation m = decide(current);
    if (m.kind == Mutation::kKeep) return std::nullopt;
    if (m.kind == Mutation::kMeta) {
      if (!current) return std::nullopt;
      it->second.mc_bits = m.mc_bits;
      if (!m.keep_atime) it->second.atime_s = NowS();
      return it->second.cas;
    }
    if (m.kind == Mutation::kDelete) {
      if (it != items_.end()) {
        items_.erase(it);
        ++root_->writes_;
      }
      return std::nullopt;
    }
    if (m.value.size() > (1 << 20)) return absl::InvalidArgumentError("object too large for cache");
    if (it == items_.end() && items_.size() >= root_->max_items) {
      return absl::ResourceExhaustedError("out of memory storing object");
    }
    StoredItem& item = items_[std::string(key)];
    const uint64_t cas = m.keep_cas && current ? current->cas : ++root_->next_cas_;
    const uint32_t atime = m.keep_atime && current ? current->atime_s : NowS();
    item = StoredItem{std::move(m.value), m.flags, cas, m.expires_at_ms, m.type, m.mc_bits, atime};
    ++root_->writes_;
    return item.cas;
  }

  absl::StatusOr<bool> Delete(std::string_view key) override {
    std::lock_guard lock(mu_);
    if (auto status = CheckKey(key); !status.ok()) return status;
    auto it = items_.find(std::string(key));
    if (it == items_.end()) return false;
    const bool live = it->second.expires_at_ms == 0 || it->second.expires_at_ms > root_->now_ms;
    items_.erase(it);
    if (live) ++root_->writes_;
    return live;
  }

  // The cursor is an ordinal in key order: exact while nothing is deleted,
  // which is all the tests above the store need.
  absl::StatusOr<ScanPage> Scan(uint64_t cursor, size_t count) override {
    std::lock_guard lock(mu_);
    ScanPage page;
    auto it = items_.begin();
    std::advance(it, std::min<size_t>(cursor, items_.size()));
    size_t looked = 0;
    for (; it != items_.end() && looked < count; ++looked) {
      if (it->second.expires_at_ms != 0 && it->second.expires_at_ms <= root_->now_ms) {
        it = items_.erase(it);
        ++page.expired;
        continue;
      }
      page.keys.push_back(it->first);
      const StoredItem& item = it->second;
      page.metas.push_back({static_cast<uint32_t>(item.value.size()), item.flags, item.cas,
                            item.expires_at_ms, item.mc_bits, item.atime_s});
      ++it;
    }
    page.next_cursor =
        it == items_.end() ? 0 : static_cast<uint64_t>(std::distance(items_.begin(), it));
    return page;
  }

  absl::StatusOr<size_t> Clear() override {
    std::lock_guard lock(mu_);
    const size_t n = items_.size();
    items_.clear();
    root_->writes_ += n;
    return n;
  }

  absl::StatusOr<StoreUsage> Usage() override {
    std::lock_guard lock(mu_);
    StoreUsage usage;
    for (const auto& [key, item] : items_) {
      ++usage.items;
      usage.bytes += key.size() + item.value.size();
      if (item.expires_at_ms != 0) {
        ++usage.with_expiry;
        if (item.expires_at_ms > root_->now_ms)
          usage.ttl_sum_ms += item.expires_at_ms - root_->now_ms;
      }
    }
    return usage;
  }

  absl::Status Snapshot(const SnapshotVisitor& visit) override {
    std::map<std::string, StoredItem> items;
    {
      std::lock_guard lock(mu_);
      items = items_;
    }
    for (const auto& [key, item] : items) {
      if (item.expires_at_ms != 0 && item.expires_at_ms <= root_->now_ms) continue;
      if (auto status = visit(key, item); !status.ok()) return status;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Restore(std::string_view key, std::string_view value, uint32_t flags,
                                   uint64_t expires_at_ms, uint64_t cas, ValueType type) override {
    std::lock_guard lock(mu_);
    if (auto status = CheckKey(key); !status.ok()) return status;
    if (value.size() > (1 << 20)) return absl::InvalidArgumentError("object too large for cache");
    if (!items_.count(std::string(key)) && items_.size() >= root_->max_items) {
      return absl::ResourceExhaustedError("out of memory storing object");
    }
    if (cas == 0) cas = ++root_->next_cas_;
    uint64_t next = root_->next_cas_.load();
    while (next < cas && !root_->next_cas_.compare_exchange_weak(next, cas)) {
    }
    items_[std::string(key)] = StoredItem{std::string(value), flags, cas, expires_at_ms, type};
    return cas;
  }

  uint64_t Writes() const override { return root_->writes_; }
  // Every database's items.
  uint64_t ApproximateItems() override {
    uint64_t items = 0;
    {
      std::lock_guard lock(mu_);
      items = items_.size();
    }
    if (root_ != this) return items;
    std::lock_guard lock(databases_mu_);
    for (const auto& db : databases_) {
      if (db != nullptr) items += db->ApproximateItems();
    }
    return items;
  }

  // Databases 1.. are stores of their own sharing this one's clock,
  // item limit (per database), CAS counter and write count.
  Store* Database(int index) override {
    if (index < 0 || index >= kDatabases) return nullptr;
    if (index == 0) return root_;
    if (root_ != this) return root_->Database(index);
    if (!has_databases) return nullptr;
    std::lock_guard lock(databases_mu_);
    auto& db = databases_[index];
    if (db == nullptr) {
      db = std::make_unique<MemoryStore>();
      db->root_ = this;
    }
    return db.get();
  }

 private:
  uint32_t NowS() const { return static_cast<uint32_t>(root_->now_ms / 1000); }
  static absl::Status CheckKey(std::string_view key) {
    if (key.empty() || key.size() > 250) return absl::InvalidArgumentError("key length");
    return absl::OkStatus();
  }
  std::mutex mu_;
  std::map<std::string, StoredItem> items_;
  MemoryStore* root_ = this;  // database 0
  std::atomic<uint64_t> next_cas_{0};
  std::atomic<uint64_t> writes_{0};
  std::mutex databases_mu_;
  std::array<std::unique_ptr<MemoryStore>, kDatabases> databases_;
};

}  // namespace xdpkv::testing

#endif  // XDPKV_PROXY_TESTING_MEMORY_STORE_H_
