// What proxy/bpf_store.cc and proxy/bpf_store_memory.cc share: map keys,
// item states and the retry bounds. Internal to BpfStore.
#ifndef XDPKV_PROXY_BPF_STORE_INTERNAL_H_
#define XDPKV_PROXY_BPF_STORE_INTERNAL_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "proxy/store.h"
#include "proxy/store_layout.h"
#include "proxy/xdp_loader.h"

namespace xdpkv::bpf_store_internal {

static_assert(static_cast<uint32_t>(ValueType::kString) == XDPKV_TYPE_STRING &&
              static_cast<uint32_t>(ValueType::kHash) == XDPKV_TYPE_HASH &&
              static_cast<uint32_t>(ValueType::kList) == XDPKV_TYPE_LIST &&
              static_cast<uint32_t>(ValueType::kSet) == XDPKV_TYPE_SET &&
              static_cast<uint32_t>(ValueType::kZSet) == XDPKV_TYPE_ZSET);

// A key in the form of its class's map key: length, then zero-padded bytes.
struct MapKey {
  xdpkv_key256 bytes{};
  int fd = -1;
};

// A map key's `len` word: the key's length, and above it the number of the
// Redis database the key is in (0 for every key the kernel path sees, so
// its map keys are unchanged).
// (XDPKV_KEY_LEN_MASK, XDPKV_KEY_DB_SHIFT in xdpkv_layout.h).
constexpr uint32_t LengthWord(uint32_t db, size_t key_len) {
  return static_cast<uint32_t>(key_len) | db << XDPKV_KEY_DB_SHIFT;
}
constexpr uint32_t KeyLength(uint32_t len_word) { return len_word & XDPKV_KEY_LEN_MASK; }
constexpr uint32_t DatabaseOf(uint32_t len_word) { return len_word >> XDPKV_KEY_DB_SHIFT; }

inline absl::StatusOr<MapKey> MakeKey(const std::array<int, XDPKV_KEY_CLASS_COUNT>& fds, uint32_t db,
                               std::string_view key) {
  if (key.empty() || key.size() > XDPKV_MAX_KEY_LEN) {
    return absl::InvalidArgumentError(
        absl::StrCat("key length ", key.size(), " outside 1..", XDPKV_MAX_KEY_LEN));
  }
  MapKey map_key;
  map_key.bytes.len = LengthWord(db, key.size());
  std::memcpy(map_key.bytes.bytes, key.data(), key.size());
  map_key.fd = fds[KeyClassOf(key.size())];
  return map_key;
}

inline bool Expired(uint64_t expires_at_ms) { return expires_at_ms != 0 && expires_at_ms <= NowBootMs(); }

// Readers treat an item being deleted as gone (xdpkv_layout.h).
inline bool Deleting(const xdpkv_item& item) { return (item.state & XDPKV_ITEM_DELETING) != 0; }

inline absl::Status MapError(int err, const char* what) {
  return absl::Status(absl::ErrnoToStatusCode(err), absl::StrCat(what, ": ", std::strerror(err)));
}

inline bool Inline(size_t value_len) { return value_len <= XDPKV_INLINE_VALUE_MAX; }

// A blob's bytes: header, then the value, sized for its class.
inline std::vector<uint8_t> BlobBuffer(size_t cls) {
  return std::vector<uint8_t>(sizeof(xdpkv_blob_header) + BlobClassBytes(cls));
}

// A reader may lose a race with a writer that replaced the blob it was
// about to read; it then reads the item again, this many times at most.
constexpr int kBlobReadAttempts = 8;
// Mutate reads, decides and retries on a conflicting write this many times.
constexpr int kMutateAttempts = 64;
// A write that finds its key's entry being deleted waits for the deleter
// (inside one BPF program run: microseconds) this many yields at most.
constexpr int kWriteAttempts = 1000;

}  // namespace xdpkv::bpf_store_internal

#endif  // XDPKV_PROXY_BPF_STORE_INTERNAL_H_
