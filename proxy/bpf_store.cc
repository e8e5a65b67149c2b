#include "proxy/bpf_store.h"

#include <sched.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bpf/bpf.h"
#include "proxy/bpf_store_internal.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {

using namespace bpf_store_internal;  // NOLINT: BpfStore's own helpers

std::unique_ptr<BpfStore> BpfStore::ForLoader(const XdpLoader& loader) {
  auto store = std::make_unique<BpfStore>(loader.item_map_fds(), loader.blob_map_fds(),
                                          loader.cas_counter(), loader.cas_program_fd());
  store->chunk_fd_ = loader.chunk_map_fd();
  store->loader_ = &loader;
  store->memory_ = loader.memory();
  store->fixed_bytes_ = loader.fixed_bytes();
  store->item_buckets_ = loader.item_buckets();
  return store;
}

absl::StatusOr<std::optional<BpfStore::RawItem>> BpfStore::ReadRaw(std::string_view key) {
  auto map_key = MakeKey(item_fds_, db_, key);
  if (!map_key.ok()) return map_key.status();
  const uint64_t key_tag = xdpkv_key_tag(&map_key->bytes);
  for (int attempt = 0; attempt < kBlobReadAttempts; ++attempt) {
    RawItem raw{};
    if (bpf_map_lookup_elem_flags(map_key->fd, &map_key->bytes, &raw.item, BPF_F_LOCK) != 0) {
      if (errno == ENOENT) return std::nullopt;
      return MapError(errno, "store lookup");
    }
    // Being deleted, or the element was reused for another key between the
    // kernel's lookup and its copy: ours was absent meanwhile.
    if (Deleting(raw.item) || raw.item.key_tag != key_tag) return std::nullopt;
    auto read = ReadValue(raw.item, &raw.value);
    if (!read.ok()) return read.status();
    if (*read) return raw;
  }
  return absl::UnavailableError("value kept changing while being read");
}

std::optional<StoredItem> BpfStore::Live(std::string_view key, const xdpkv_item& item,
                                         std::string value, bool count_hit) {
  if (Expired(item.expires_at_ms)) {
    // Lazily, as memcached does, and only the version seen expired.
    shared_->get_expired.fetch_add(1, std::memory_order_relaxed);
    (void)DeleteIfStillExpired(key, item);
    return std::nullopt;
  }
  if (count_hit) RefreshRecency(key, item);
  const uint64_t now_ms = NowBootMs();
  return StoredItem{std::move(value),
                    item.flags,
                    item.cas,
                    item.expires_at_ms,
                    static_cast<ValueType>(item.type),
                    item.mc_bits,
                    AtimeSeconds(item.atime_ms, now_ms),
                    LfuDecayed(item.lfu, IdleMs(item.atime_ms, static_cast<uint32_t>(now_ms)), Lfu())};
}

std::optional<absl::StatusOr<std::optional<StoredItem>>> BpfStore::Answer(
    std::string_view key, const xdpkv_item& item) {
  std::string value;
  if (!Expired(item.expires_at_ms)) {  // an expired value is not worth reading
    auto read = ReadValue(item, &value);
    if (!read.ok()) return absl::StatusOr<std::optional<StoredItem>>(read.status());
    if (!*read) return std::nullopt;
  }
  // The read program touched it (bpf/lib/recency.h) as the kernel's hits do.
  return absl::StatusOr<std::optional<StoredItem>>(
      Live(key, item, std::move(value), /*count_hit=*/false));
}

absl::StatusOr<std::optional<StoredItem>> BpfStore::Get(std::string_view key) {
  auto raw = ReadRaw(key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::nullopt;
  return Live(key, (*raw)->item, std::move((*raw)->value));
}

absl::StatusOr<std::optional<StoredItem>> BpfStore::Peek(std::string_view key) {
  auto raw = ReadRaw(key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::nullopt;
  return Live(key, (*raw)->item, std::move((*raw)->value), /*count_hit=*/false);
}

std::vector<absl::StatusOr<std::optional<StoredItem>>> BpfStore::GetMany(
    std::span<const std::string_view> keys, size_t max_value_bytes) {
  std::vector<absl::StatusOr<std::optional<StoredItem>>> out;
  out.reserve(keys.size());
  const int slot_index = loader_ != nullptr ? loader_->ReadSlotForThisThread() : -1;
  if (slot_index < 0 || keys.size() < 2) return Store::GetMany(keys, max_value_bytes);
  xdpkv_read_slot& slot = loader_->read_slots()[slot_index];
  size_t bytes = 0;
  for (size_t start = 0; start < keys.size(); start += XDPKV_READ_BATCH) {
    const size_t n = std::min<size_t>(XDPKV_READ_BATCH, keys.size() - start);
    std::array<bool, XDPKV_READ_BATCH> valid{};
    for (size_t i = 0; i < n; ++i) {
      auto map_key = MakeKey(item_fds_, db_, keys[start + i]);
      valid[i] = map_key.ok();
      slot.keys[i] = valid[i] ? map_key->bytes : xdpkv_key256{};
    }
    slot.count = static_cast<__u32>(n);
    xdpkv_read_request request{};
    request.slot = static_cast<__u32>(slot_index);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = &request,
                .data_size_in = sizeof(request), .repeat = 1);
    const bool ran = bpf_prog_test_run_opts(loader_->read_program_fd(), &opts) == 0 &&
                     opts.retval == XDPKV_CAS_STORED;
    for (size_t i = 0; i < n; ++i) {
      const std::string_view key = keys[start + i];
      if (!out.empty() && bytes > max_value_bytes) return out;  // the caller's bound
      if (!ran || !valid[i]) {
        out.push_back(Get(key));  // the one-key path answers (or errs) as always
        if (out.back().ok() && *out.back()) bytes += (*out.back())->value.size();
        continue;
      }
      if (!slot.found[i]) {
        out.push_back(std::nullopt);
        continue;
      }
      xdpkv_item item;
      std::memcpy(&item, slot.items[i], sizeof(item));
      if (Deleting(item) || item.key_tag != xdpkv_key_tag(&slot.keys[i])) {
        out.push_back(std::nullopt);
        continue;
      }
      auto answer = Answer(key, item);
      out.push_back(answer ? std::move(*answer) : Get(key));  // changed: read it alone
      if (out.back().ok() && *out.back()) bytes += (*out.back())->value.size();
    }
  }
  return out;
}

absl::StatusOr<xdpkv_item> BpfStore::NewItem(std::string_view key, uint64_t key_tag,
                                             std::string_view value, uint32_t flags,
                                             uint64_t expires_at_ms) {
  if (value.size() > XDPKV_MAX_VALUE_LEN) {
    return absl::InvalidArgumentError("object too large for cache");
  }
  xdpkv_item item{};
  item.value_len = static_cast<__u32>(value.size());
  item.flags = flags;
  item.expires_at_ms = expires_at_ms;
  item.cas = __atomic_fetch_add(cas_counter_, 1, __ATOMIC_RELAXED);
  item.key_tag = key_tag;
  item.atime_ms = static_cast<__u32>(NowBootMs());
  item.lfu = XDPKV_LFU_INIT;  // a rewrite keeps the old version's (replace_locked)
  if (Inline(value.size())) {
    std::memcpy(item.inline_value, value.data(), value.size());
    return item;
  }
  // The blob first, under an id no one else will ever use (the CAS).
  item.blob_id = item.cas;
  if (auto status = WriteBlob(key, item, value); !status.ok()) return status;
  return item;
}

absl::Status BpfStore::WriteItem(const xdpkv_key256& key, int fd, const xdpkv_item& item) {
  for (int attempt = 0; attempt < kWriteAttempts; ++attempt) {
    // Over a live entry, in place under its lock (the program frees the
    // replaced version's blob)...
    xdpkv_item old{};
    auto replaced = CompareAndSwap(key, XDPKV_CAS_ANY, XDPKV_CAS_OP_REPLACE, &item, &old);
    if (!replaced.ok()) {
      DeleteBlob(item.blob_id, item.value_len);
      return replaced.status();
    }
    if (*replaced == XDPKV_CAS_STORED) {
      CountReplaced(old);
      return absl::OkStatus();
    }
    // ...else as a new entry. EEXIST: someone inserted first, or a deleter
    // has not removed its entry yet; go round again.
    const uint64_t cost = ItemCost(KeyLength(key.len));
    if (auto room = Reserve(cost); !room.ok()) {
      DeleteBlob(item.blob_id, item.value_len);
      return room;
    }
    if (bpf_map_update_elem(fd, &key, &item, BPF_NOEXIST | BPF_F_LOCK) == 0) {
      return absl::OkStatus();
    }
    const int err = errno;
    Release(cost);
    if (err == EEXIST) {
      if (attempt > 0) sched_yield();
      continue;
    }
    DeleteBlob(item.blob_id, item.value_len);
    if (err == E2BIG || err == ENOMEM) {
      return absl::ResourceExhaustedError("out of memory storing object");
    }
    return MapError(err, "store insert");
  }
  DeleteBlob(item.blob_id, item.value_len);
  return absl::UnavailableError("too much contention on this key");
}

absl::StatusOr<uint64_t> BpfStore::Set(std::string_view key, std::string_view value,
                                       uint32_t flags, uint64_t expires_at_ms) {
  auto map_key = MakeKey(item_fds_, db_, key);
  if (!map_key.ok()) return map_key.status();
  auto item = NewItem(key, xdpkv_key_tag(&map_key->bytes), value, flags, expires_at_ms);
  if (!item.ok()) return item.status();
  if (auto status = WriteItem(map_key->bytes, map_key->fd, *item); !status.ok()) return status;
  shared_->writes.fetch_add(1, std::memory_order_relaxed);
  return item->cas;
}

size_t BpfStore::WriteMany(std::span<const BatchedWrite> writes, std::span<int64_t> numbers) {
  const int slot_index = loader_ != nullptr ? loader_->ReadSlotForThisThread() : -1;
  if (slot_index < 0 || loader_->write_slots() == nullptr) return 0;
  xdpkv_write_slot& slot = loader_->write_slots()[slot_index];
  size_t done = 0;
  while (done < writes.size()) {
    const size_t n = std::min<size_t>(XDPKV_WRITE_BATCH, writes.size() - done);
    // The slot's writes, up to the first the one-key path must do (a key
    // that cannot exist, a value it refuses): the program stops there too.
    size_t filled = 0;
    for (; filled < n; ++filled) {
      const BatchedWrite& write = writes[done + filled];
      auto map_key = MakeKey(item_fds_, db_, write.key);
      if (!map_key.ok()) break;
      xdpkv_write_entry& entry = slot.entries[filled];
      entry = {};
      if (write.kind == BatchedWrite::kSet) {
        // As Set: the blob, if any, written first under a fresh id.
        auto item = NewItem(write.key, xdpkv_key_tag(&map_key->bytes), write.value, 0, 0);
        if (!item.ok()) break;
        entry.op = XDPKV_WRITE_OP_SET;
        std::memcpy(slot.items[filled], &*item, sizeof(*item));
      } else {
        entry.op = XDPKV_WRITE_OP_INCRBY;
        entry.number = write.delta;
      }
      slot.keys[filled] = map_key->bytes;
    }
    if (filled == 0) break;
    slot.count = static_cast<__u32>(filled);
    xdpkv_write_request request{};
    request.slot = static_cast<__u32>(slot_index);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = &request, .data_size_in = sizeof(request),
                .repeat = 1);
    const bool ran = bpf_prog_test_run_opts(loader_->write_program_fd(), &opts) == 0 &&
                     opts.retval == XDPKV_CAS_STORED;
    const size_t applied = ran ? std::min<size_t>(slot.done, filled) : 0;
    for (size_t i = 0; i < filled; ++i) {
      const xdpkv_write_entry& entry = slot.entries[i];
      const BatchedWrite& write = writes[done + i];
      if (i >= applied) {
        // Not done, so nothing points at its blob: the caller's own path
        // writes it again.
        if (entry.op == XDPKV_WRITE_OP_SET) {
          xdpkv_item item;
          std::memcpy(&item, slot.items[i], sizeof(item));
          DeleteBlob(item.blob_id, item.value_len);
        }
        continue;
      }
      shared_->writes.fetch_add(1, std::memory_order_relaxed);
      if (write.kind == BatchedWrite::kIncrBy) numbers[done + i] = entry.number;
      // What the one-key path counts of a replaced version (the program
      // freed its blob).
      if (entry.outcome == XDPKV_WRITE_REPLACED && Expired(entry.old_expires_at_ms)) {
        if (write.counts_expired_read) {
          shared_->get_expired.fetch_add(1, std::memory_order_relaxed);
        }
        shared_->reclaimed.fetch_add(1, std::memory_order_relaxed);
      }
    }
    done += applied;
    if (applied < n) break;
  }
  return done;
}

absl::StatusOr<uint64_t> BpfStore::Restore(std::string_view key, std::string_view value,
                                           uint32_t flags, uint64_t expires_at_ms, uint64_t cas,
                                           ValueType type) {
  auto map_key = MakeKey(item_fds_, db_, key);
  if (!map_key.ok()) return map_key.status();
  if (cas != XDPKV_CAS_ANY) {
    // Above the restored CAS first, so no write from now on (the kernel's
    // included) can be given it.
    uint64_t next = __atomic_load_n(cas_counter_, __ATOMIC_RELAXED);
    while (next <= cas && !__atomic_compare_exchange_n(cas_counter_, &next, cas + 1, false,
                                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
  }
  auto item = NewItem(key, xdpkv_key_tag(&map_key->bytes), value, flags, expires_at_ms);
  if (!item.ok()) return item.status();
  // The blob keeps the fresh id NewItem gave it (ids are never reused; the
  // restored CAS might be another blob's id in a store that was not empty).
  if (cas != XDPKV_CAS_ANY) item->cas = cas;
  item->type = static_cast<__u32>(type);
  // Loads go into new stores: try a plain insert first (one syscall), and
  // only over an existing key take the replacing path.
  const uint64_t cost = ItemCost(key.size());
  if (auto room = Reserve(cost); !room.ok()) {
    DeleteBlob(item->blob_id, item->value_len);
    return room;
  }
  if (bpf_map_update_elem(map_key->fd, &map_key->bytes, &*item, BPF_NOEXIST | BPF_F_LOCK) == 0) {
    return item->cas;
  }
  const int err = errno;
  Release(cost);
  if (err != EEXIST) {
    DeleteBlob(item->blob_id, item->value_len);
    if (err == E2BIG || err == ENOMEM) {
      return absl::ResourceExhaustedError("out of memory storing object");
    }
    return MapError(err, "store insert");
  }
  if (auto status = WriteItem(map_key->bytes, map_key->fd, *item); !status.ok()) return status;
  return item->cas;
}

absl::StatusOr<std::optional<uint64_t>> BpfStore::Mutate(std::string_view key,
                                                         const MutateFn& decide) {
  auto map_key = MakeKey(item_fds_, db_, key);
  if (!map_key.ok()) return map_key.status();
  const uint64_t key_tag = xdpkv_key_tag(&map_key->bytes);
  std::lock_guard stripe(
      shared_->mutate_stripes[std::hash<std::string_view>{}(key) % shared_->mutate_stripes.size()]);
  for (int attempt = 0; attempt < kMutateAttempts; ++attempt) {
    auto raw = ReadRaw(key);
    if (!raw.ok()) return raw.status();
    std::optional<StoredItem> current;
    if (attempt == 0 && raw->has_value() && Expired((*raw)->item.expires_at_ms)) {
      shared_->get_expired.fetch_add(1, std::memory_order_relaxed);
    }
    if (raw->has_value() && !Expired((*raw)->item.expires_at_ms)) {
      const xdpkv_item& item = (*raw)->item;
      current = StoredItem{(*raw)->value,      item.flags,   item.cas,
                           item.expires_at_ms, static_cast<ValueType>(item.type),
                           item.mc_bits,       AtimeSeconds(item.atime_ms, NowBootMs())};
    }
    Mutation m = decide(current);
    if (m.kind == Mutation::kKeep) return std::nullopt;
    if (m.kind == Mutation::kMeta) {
      if (!current) return std::nullopt;
      xdpkv_item meta{};
      meta.mc_bits = m.mc_bits;
      meta.atime_ms =
          m.keep_atime ? (*raw)->item.atime_ms : static_cast<uint32_t>(NowBootMs());
      auto result = CompareAndSwap(map_key->bytes, current->cas, XDPKV_CAS_OP_SET_META, &meta);
      if (!result.ok()) return result.status();
      if (*result == XDPKV_CAS_STORED) return current->cas;
      continue;  // changed in between: decide again
    }
    if (m.kind == Mutation::kDelete) {
      if (!raw->has_value()) return std::nullopt;
      auto deleted = DeleteIfUnchanged(key, (*raw)->item);
      if (!deleted.ok()) return deleted.status();
      if (*deleted) {
        shared_->writes.fetch_add(1, std::memory_order_relaxed);
        return std::nullopt;
      }
      continue;  // changed in between: decide again
    }
    auto item = NewItem(key, key_tag, m.value, m.flags, m.expires_at_ms);
    if (!item.ok()) return item.status();
    item->type = static_cast<__u32>(m.type);
    // (The blob, if any, keeps the fresh id NewItem gave it.)
    if (m.keep_cas && current) item->cas = current->cas;
    item->mc_bits = m.mc_bits;
    if (m.keep_atime && current) item->atime_ms = (*raw)->item.atime_ms;
    if (!raw->has_value()) {
      // Absent: insert only if still absent.
      const uint64_t cost = ItemCost(key.size());
      if (auto room = Reserve(cost); !room.ok()) {
        DeleteBlob(item->blob_id, item->value_len);
        return room;
      }
      if (bpf_map_update_elem(map_key->fd, &map_key->bytes, &*item, BPF_NOEXIST | BPF_F_LOCK) ==
          0) {
        shared_->writes.fetch_add(1, std::memory_order_relaxed);
        return item->cas;
      }
      const int err = errno;
      Release(cost);
      DeleteBlob(item->blob_id, item->value_len);
      if (err == EEXIST) {  // someone else created it, or is deleting it: decide again
        if (attempt > 0) sched_yield();
        continue;
      }
      if (err == E2BIG || err == ENOMEM) {
        return absl::ResourceExhaustedError("out of memory storing object");
      }
      return MapError(err, "store insert");
    }
    // Present (perhaps expired): replace only the version we read.
    auto result = CompareAndSwap(map_key->bytes, (*raw)->item.cas, XDPKV_CAS_OP_REPLACE, &*item);
    if (result.ok() && *result == XDPKV_CAS_STORED) {  // old blob freed
      shared_->writes.fetch_add(1, std::memory_order_relaxed);
      CountReplaced((*raw)->item);
      return item->cas;
    }
    DeleteBlob(item->blob_id, item->value_len);
    if (!result.ok()) return result.status();
    // EXISTS or NOT_FOUND: someone wrote in between; decide again.
  }
  return absl::UnavailableError("too much contention on this key");
}

absl::StatusOr<bool> BpfStore::Delete(std::string_view key) {
  auto map_key = MakeKey(item_fds_, db_, key);
  if (!map_key.ok()) return map_key.status();
  xdpkv_item old{};
  auto result = CompareAndSwap(map_key->bytes, XDPKV_CAS_ANY, XDPKV_CAS_OP_DELETE, nullptr, &old);
  if (!result.ok()) return result.status();
  // NOT_FOUND also when someone else is deleting it: it is gone for us.
  const bool deleted = *result == XDPKV_CAS_STORED && !Expired(old.expires_at_ms);
  if (deleted) shared_->writes.fetch_add(1, std::memory_order_relaxed);
  return deleted;
}

absl::StatusOr<uint32_t> BpfStore::CompareAndSwap(const xdpkv_key256& key, uint64_t expected_cas,
                                                  xdpkv_cas_op op, const xdpkv_item* item,
                                                  xdpkv_item* old) {
  xdpkv_cas_request request{};
  request.expected_cas = expected_cas;
  request.op = op;
  request.key = key;
  if (item != nullptr) request.item = *item;
  xdpkv_cas_request reply{};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = &request, .data_out = &reply,
              .data_size_in = sizeof(request), .data_size_out = sizeof(reply), .repeat = 1);
  if (bpf_prog_test_run_opts(cas_program_fd_, &opts) != 0) {
    return MapError(errno, "compare-and-set");
  }
  if (opts.retval == XDPKV_CAS_BAD_REQUEST) return absl::InternalError("compare-and-set refused");
  if (opts.retval == XDPKV_CAS_BUSY) return absl::UnavailableError("store busy, try again");
  if (old != nullptr && opts.retval == XDPKV_CAS_STORED) *old = reply.item;
  return opts.retval;
}

absl::StatusOr<bool> BpfStore::DeleteIfStillExpired(std::string_view key,
                                                    const xdpkv_item& seen) {
  auto map_key = MakeKey(item_fds_, db_, key);
  if (!map_key.ok()) return map_key.status();
  xdpkv_item now{};
  now.expires_at_ms = NowBootMs();
  auto result =
      CompareAndSwap(map_key->bytes, seen.cas, XDPKV_CAS_OP_DELETE_EXPIRED, &now, nullptr);
  if (!result.ok()) return result.status();
  return *result != XDPKV_CAS_EXISTS;
}

absl::StatusOr<bool> BpfStore::SetItemMeta(std::string_view key, uint64_t cas, uint32_t mc_bits,
                                           uint32_t atime_s) {
  auto map_key = MakeKey(item_fds_, db_, key);
  if (!map_key.ok()) return map_key.status();
  xdpkv_item meta{};
  meta.mc_bits = mc_bits;
  // The kernel keeps milliseconds: this second's, exactly, when it is now
  // (an activation); else its start.
  const uint64_t now_ms = NowBootMs();
  meta.atime_ms = atime_s == now_ms / 1000 ? static_cast<uint32_t>(now_ms)
                                           : AtimeMsOfSeconds(atime_s);
  auto result = CompareAndSwap(map_key->bytes, cas, XDPKV_CAS_OP_SET_META, &meta);
  if (!result.ok()) return result.status();
  return *result == XDPKV_CAS_STORED;
}

absl::StatusOr<bool> BpfStore::DeleteIfUnchanged(std::string_view key, const xdpkv_item& seen) {
  auto map_key = MakeKey(item_fds_, db_, key);
  if (!map_key.ok()) return map_key.status();
  auto result = CompareAndSwap(map_key->bytes, seen.cas, XDPKV_CAS_OP_DELETE, nullptr);
  if (!result.ok()) return result.status();
  // STORED: deleted by us (the program freed the blob). NOT_FOUND: by
  // someone before us. EXISTS: rewritten since; left alone.
  return *result != XDPKV_CAS_EXISTS;
}

absl::StatusOr<bool> BpfStore::ReadBatch(size_t cls, uint32_t* bucket, size_t count,
                                         const BatchVisitor& visit) {
  return ReadBatchAnyDatabase(cls, bucket, count,
                              [&](uint32_t db, std::string_view key, const xdpkv_item& item) {
                                if (db == db_) visit(key, item);
                              });
}

absl::StatusOr<bool> BpfStore::ReadBatchAnyDatabase(size_t cls, uint32_t* bucket, size_t count,
                                                    const AnyDatabaseVisitor& visit) {
  const size_t key_size = sizeof(__u32) + kKeyClassBytes[cls];
  uint32_t capacity = static_cast<uint32_t>(std::clamp<size_t>(count, 1, 1 << 16));
  for (;;) {
    std::vector<uint8_t> keys(capacity * key_size);
    std::vector<xdpkv_item> items(capacity);
    uint32_t next_bucket = 0;
    uint32_t got = capacity;
    LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_F_LOCK);
    const int rc = bpf_map_lookup_batch(item_fds_[cls], bucket, &next_bucket, keys.data(),
                                        items.data(), &got, &opts);
    const int err = rc == 0 ? 0 : errno;
    if (err == ENOSPC && got == 0) {
      capacity *= 2;  // one hash bucket holds more items than asked for
      continue;
    }
    if (err != 0 && err != ENOENT) return MapError(err, "store batch lookup");
    for (uint32_t i = 0; i < got; ++i) {
      const uint8_t* key = keys.data() + i * key_size;
      __u32 len_word;
      std::memcpy(&len_word, key, sizeof(len_word));
      const uint32_t len = KeyLength(len_word);
      if (len == 0 || len > kKeyClassBytes[cls]) continue;
      visit(DatabaseOf(len_word),
            std::string_view(reinterpret_cast<const char*>(key + sizeof(len_word)), len), items[i]);
    }
    if (err == ENOENT) return true;  // the class is done
    *bucket = next_bucket;
    return false;
  }
}

absl::StatusOr<ScanPage> BpfStore::Scan(uint64_t cursor, size_t count) {
  // Cursor: key class in the high 32 bits, the hash map's batch token (a
  // bucket index) in the low ones. Items never move between buckets, so a
  // key present all along is in a bucket the scan reaches.
  size_t cls = cursor >> 32;
  uint32_t bucket = static_cast<uint32_t>(cursor);
  ScanPage page;
  std::vector<std::pair<std::string, xdpkv_item>> expired;
  size_t looked = 0;
  while (cls < XDPKV_KEY_CLASS_COUNT && looked < count) {
    auto done = ReadBatch(cls, &bucket, count - looked,
                          [&](std::string_view key, const xdpkv_item& item) {
                            ++looked;
                            if (Deleting(item)) return;
                            if (Expired(item.expires_at_ms)) {
                              expired.emplace_back(std::string(key), item);
                            } else {
                              page.keys.emplace_back(key);
                              page.metas.push_back({item.value_len, item.flags, item.cas,
                                                    item.expires_at_ms, item.mc_bits,
                                                    AtimeSeconds(item.atime_ms, NowBootMs())});
                            }
                          });
    if (!done.ok()) return done.status();
    if (*done) {
      ++cls;
      bucket = 0;
    }
  }
  for (const auto& [key, item] : expired) {
    auto deleted = DeleteIfStillExpired(key, item);
    if (deleted.ok() && *deleted) ++page.expired;
  }
  page.next_cursor = cls >= XDPKV_KEY_CLASS_COUNT ? 0 : (uint64_t{cls} << 32 | bucket);
  return page;
}

absl::Status BpfStore::ForEachItem(const BatchVisitor& visit) {
  for (size_t cls = 0; cls < XDPKV_KEY_CLASS_COUNT; ++cls) {
    uint32_t bucket = 0;
    for (bool done = false; !done;) {
      auto batch = ReadBatch(cls, &bucket, 4096, visit);
      if (!batch.ok()) return batch.status();
      done = *batch;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> BpfStore::Clear() {
  // Collected first: deleting while the batch walk runs would move its
  // buckets under it.
  std::vector<std::pair<std::string, xdpkv_item>> items;
  auto walked = ForEachItem([&](std::string_view key, const xdpkv_item& item) {
    items.emplace_back(std::string(key), item);
  });
  if (!walked.ok()) return walked;
  size_t cleared = 0;
  for (const auto& [key, item] : items) {
    auto map_key = MakeKey(item_fds_, db_, key);
    if (!map_key.ok()) continue;
    // Any version: a flush removes what is there, through the same
    // delete protocol as every other delete.
    auto result = CompareAndSwap(map_key->bytes, XDPKV_CAS_ANY, XDPKV_CAS_OP_DELETE, nullptr);
    if (!result.ok()) return result.status();
    if (*result == XDPKV_CAS_STORED) ++cleared;
  }
  shared_->writes.fetch_add(cleared, std::memory_order_relaxed);
  return cleared;
}

absl::StatusOr<StoreUsage> BpfStore::Usage() {
  StoreUsage usage;
  const uint64_t now = NowBootMs();
  auto walked = ForEachItem([&](std::string_view key, const xdpkv_item& item) {
    if (Deleting(item)) return;
    ++usage.items;
    usage.bytes += key.size() + item.value_len;
    if (item.expires_at_ms != 0) {
      ++usage.with_expiry;
      if (item.expires_at_ms > now) usage.ttl_sum_ms += item.expires_at_ms - now;
    }
  });
  if (!walked.ok()) return walked;
  return usage;
}

absl::Status BpfStore::Snapshot(const SnapshotVisitor& visit) { return Walk(visit, nullptr); }

absl::StatusOr<Store::DatabaseSizes> BpfStore::SnapshotCountingDatabases(
    const SnapshotVisitor& visit) {
  DatabaseSizes sizes{};
  if (auto status = Walk(visit, &sizes); !status.ok()) return status;
  return sizes;
}

absl::Status BpfStore::Walk(const SnapshotVisitor& visit, DatabaseSizes* sizes) {
  // Map keys carry a physical number; sizes go by the database number that
  // names it (SWAPDB changes which). -1: the spare, no database's.
  std::array<int, kDatabases + 1> database_of;
  database_of.fill(-1);
  if (sizes != nullptr) {
    std::lock_guard lock(shared_->databases_mutex);
    for (int db = 0; db < kDatabases; ++db) database_of[shared_->physical[db]] = db;
  }
  // Hash bucket by hash bucket: an item never moves between buckets and
  // each bucket is read once, so each key comes at most once.
  std::vector<std::pair<std::string, xdpkv_item>> batch;
  for (size_t cls = 0; cls < XDPKV_KEY_CLASS_COUNT; ++cls) {
    uint32_t bucket = 0;
    for (bool done = false; !done;) {
      batch.clear();
      auto read = ReadBatchAnyDatabase(
          cls, &bucket, 1024, [&](uint32_t db, std::string_view key, const xdpkv_item& item) {
            if (Deleting(item)) return;
            if (sizes != nullptr && db < database_of.size() && database_of[db] >= 0) {
              DatabaseSize& size = (*sizes)[database_of[db]];
              ++size.keys;
              if (item.expires_at_ms != 0) ++size.expires;
            }
            if (db == db_) batch.emplace_back(std::string(key), item);
          });
      if (!read.ok()) return read.status();
      done = *read;
      for (const auto& [key, item] : batch) {
        if (Expired(item.expires_at_ms)) continue;
        StoredItem stored{{}, item.flags, item.cas, item.expires_at_ms,
                          static_cast<ValueType>(item.type)};
        bool have = false;
        if (item.blob_id == 0) {
          stored.value.assign(reinterpret_cast<const char*>(item.inline_value),
                              std::min<size_t>(item.value_len, XDPKV_INLINE_VALUE_MAX));
          have = true;
        } else {
          auto read = ReadValue(item, &stored.value);
          if (!read.ok()) return read.status();
          have = *read;
        }
        if (!have) {
          // Replaced since the batch was read: the version there now.
          auto raw = ReadRaw(key);
          if (!raw.ok()) return raw.status();
          if (!raw->has_value() || Expired((*raw)->item.expires_at_ms)) continue;
          const xdpkv_item& now_item = (*raw)->item;
          stored = StoredItem{std::move((*raw)->value), now_item.flags, now_item.cas,
                              now_item.expires_at_ms, static_cast<ValueType>(now_item.type)};
        }
        if (auto status = visit(key, stored); !status.ok()) return status;
      }
    }
  }
  return absl::OkStatus();
}

uint64_t BpfStore::ApproximateItems() {
  if (loader_ == nullptr) return 0;
  auto counts = loader_->ItemCounts();
  if (!counts.ok()) return 0;
  uint64_t total = 0;
  for (uint64_t n : *counts) total += n;
  return total;
}

}  // namespace xdpkv
