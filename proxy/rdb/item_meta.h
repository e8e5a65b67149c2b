// memcached's per-item data in an RDB file: flags and CAS uniques, which
// Redis has no place for. They travel in an auxiliary field, "xdpkv-mc",
// written before each run of up to kItemMetaRun key entries and describing
// those entries in file order. Redis 7.0 ignores auxiliary fields it does
// not know, wherever they are (measured: redis-server 7.0.15 loads such a
// file, logging the field only at debug level, and redis-check-rdb prints
// it and says OK), so a dump stays loadable by Redis, which drops the
// flags and CAS.
//
// The value: a format byte (0; so redis-check-rdb, which prints aux values
// as C strings, shows ''), then LEB128 varints: the entry count N, a base
// CAS, and N times (flags, CAS - base). ~4 bytes per key.
#ifndef XDPKV_PROXY_RDB_ITEM_META_H_
#define XDPKV_PROXY_RDB_ITEM_META_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace xdpkv::rdb {

inline constexpr std::string_view kItemMetaAux = "xdpkv-mc";
inline constexpr size_t kItemMetaRun = 1024;

struct ItemMeta {
  uint32_t flags = 0;
  uint64_t cas = 0;
  bool operator==(const ItemMeta&) const = default;
};

std::string EncodeItemMeta(std::span<const ItemMeta> items);
// InvalidArgument for anything EncodeItemMeta would not have written.
absl::StatusOr<std::vector<ItemMeta>> DecodeItemMeta(std::string_view value);

}  // namespace xdpkv::rdb

#endif  // XDPKV_PROXY_RDB_ITEM_META_H_
