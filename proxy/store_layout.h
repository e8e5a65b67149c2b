// C++ view of bpf/xdpkv_layout.h: the shared structs, checked against the
// sizes and offsets the BPF side uses, and names for the counters.
#ifndef XDPKV_PROXY_STORE_LAYOUT_H_
#define XDPKV_PROXY_STORE_LAYOUT_H_

#include <linux/types.h>
#include <linux/bpf.h>

#include <cstddef>
#include <string_view>

#include "xdpkv_layout.h"

namespace xdpkv {

static_assert(sizeof(bpf_spin_lock) == 4);
static_assert(offsetof(xdpkv_item, lock) == 0);
static_assert(offsetof(xdpkv_item, value_len) == 4);
static_assert(offsetof(xdpkv_item, cas) == 8);
static_assert(offsetof(xdpkv_item, expires_at_ms) == 16);
static_assert(offsetof(xdpkv_item, flags) == 24);
static_assert(offsetof(xdpkv_item, state) == 28);
static_assert(offsetof(xdpkv_item, type) == 30);
static_assert(offsetof(xdpkv_item, mc_bits) == 31);
static_assert(offsetof(xdpkv_item, blob_id) == 32);
static_assert(offsetof(xdpkv_item, key_tag) == 40);
static_assert(offsetof(xdpkv_item, atime_ms) == 44);
static_assert(offsetof(xdpkv_item, inline_value) == 48);
static_assert(sizeof(xdpkv_item) == 48 + XDPKV_INLINE_VALUE_MAX);
// Slots sit at 8-byte strides in the mmapped array.
static_assert(sizeof(xdpkv_read_slot) % 8 == 0);
static_assert(sizeof(xdpkv_write_slot) % 8 == 0);
static_assert(sizeof(xdpkv_write_entry) == 32);
static_assert(offsetof(xdpkv_write_slot, entries) == 8);
static_assert(XDPKV_WRITE_SLOTS == XDPKV_READ_SLOTS,
              "a thread's write slot is its read slot's index");
static_assert(XDPKV_INLINE_VALUE_MAX % 8 == 0, "copied in u64 words under the lock");
static_assert(sizeof(xdpkv_key16) == 4 + 16);
static_assert(sizeof(xdpkv_key64) == 4 + 64);
static_assert(sizeof(xdpkv_key256) == 4 + XDPKV_KEY_BYTES_MAX);
static_assert(XDPKV_MAX_KEY_LEN <= XDPKV_KEY_BYTES_MAX);
static_assert(sizeof(xdpkv_counters) == 8 * XDPKV_PROTO_COUNT * XDPKV_REASON_COUNT);
static_assert(sizeof(xdpkv_config) == 12);
static_assert(sizeof(xdpkv_iface) == 8);
static_assert(sizeof(xdpkv_addr_key) == 20);
static_assert(sizeof(xdpkv_allow_key) == 20);
static_assert(sizeof(xdpkv_admission_config) == 16);

// Key-length classes, smallest first: an item lives in the first class
// whose size holds its key.
inline constexpr size_t kKeyClassBytes[XDPKV_KEY_CLASS_COUNT] = {16, 64, XDPKV_KEY_BYTES_MAX};
inline constexpr size_t KeyClassOf(size_t key_len) {
  for (size_t i = 0; i < XDPKV_KEY_CLASS_COUNT; ++i) {
    if (key_len <= kKeyClassBytes[i]) return i;
  }
  return XDPKV_KEY_CLASS_COUNT - 1;
}
static_assert(KeyClassOf(16) == 0 && KeyClassOf(17) == 1 && KeyClassOf(64) == 1 &&
              KeyClassOf(65) == 2 && KeyClassOf(250) == 2);

static_assert(offsetof(xdpkv_cas_request, key) == 16);
static_assert(sizeof(xdpkv_cas_request) == 16 + sizeof(xdpkv_key256) + 4 + sizeof(xdpkv_item),
              "key256 leaves 4 bytes of padding before the 8-aligned item");

static_assert(sizeof(xdpkv_blob_header) == 24 + XDPKV_KEY_BYTES_MAX);
static_assert(XDPKV_BLOB_CLASS_MAX ==
              (1 << (XDPKV_BLOB_MIN_SHIFT + XDPKV_BLOB_CLASS_COUNT - 1)));
static_assert(sizeof(xdpkv_chunk_key) == 16);
static_assert(sizeof(xdpkv_chunk) == sizeof(xdpkv_blob_header) + XDPKV_CHUNK_PAYLOAD);
static_assert(sizeof(xdpkv_chunk) % 8 == 0, "no padding the element would round up");
static_assert(XDPKV_MAX_CHUNKS == 17);

// Value class of an out-of-line value: the smallest power of two (>= 256)
// that holds it.
inline constexpr size_t BlobClassOf(size_t value_len) {
  size_t cls = 0;
  while ((size_t{1} << (XDPKV_BLOB_MIN_SHIFT + cls)) < value_len) ++cls;
  return cls;
}
inline constexpr size_t BlobClassBytes(size_t cls) {
  return size_t{1} << (XDPKV_BLOB_MIN_SHIFT + cls);
}
static_assert(BlobClassOf(129) == 0 && BlobClassOf(256) == 0 && BlobClassOf(257) == 1);
static_assert(BlobClassOf(XDPKV_BLOB_CLASS_MAX) == XDPKV_BLOB_CLASS_COUNT - 1);

// A value over 64 KiB is chunked (xdpkv_layout.h), in this many chunks.
inline constexpr bool Chunked(size_t value_len) { return value_len > XDPKV_BLOB_CLASS_MAX; }
inline constexpr size_t ChunkCount(size_t value_len) {
  return (value_len + XDPKV_CHUNK_PAYLOAD - 1) / XDPKV_CHUNK_PAYLOAD;
}
static_assert(ChunkCount(XDPKV_MAX_VALUE_LEN) == XDPKV_MAX_CHUNKS);

inline constexpr std::string_view kProtoNames[XDPKV_PROTO_COUNT] = {"none", "memcache", "resp"};

// Stat names for enum xdpkv_reason, in its order.
inline constexpr std::string_view kReasonNames[XDPKV_REASON_COUNT] = {
    "not_ours",          "get_hits",          "get_misses",
    "sets",              "delete_hits",       "delete_misses",
    "store_full",        "pass_malformed",    "pass_fragment",
    "pass_ip_options",   "pass_multi_datagram", "pass_unsupported",
    "pass_bad_request",  "pass_big_value",    "pass_no_room",
    "pass_busy",         "pass_deleting",     "pass_unknown_iface",
    "pass_foreign_mac",  "pass_foreign_dest", "pass_martian_source",
    "pass_self_port",    "pass_bad_length",   "pass_bad_checksum",
    "pass_not_allowed",  "pass_reply_cap",    "multi_gets",
    "pass_reply_too_big", "pass_to_tc",        "tc_replies",
    "tc_datagrams",      "tc_send_failed",    "pass_no_memory",
    "pass_wrongtype",    "meta_get_hits",     "meta_get_misses",
    "meta_sets",         "meta_cas_hits",     "meta_cas_exists",
    "meta_cas_misses",   "pass_meta_flag",    "pass_meta_item",
};
static_assert(!kReasonNames[XDPKV_REASON_COUNT - 1].empty(), "a reason has no name");

}  // namespace xdpkv

#endif  // XDPKV_PROXY_STORE_LAYOUT_H_
