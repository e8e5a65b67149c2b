// The reader's table of value types (rdb_types.cc): for each type byte,
// its name in messages and load reports, and how its value is read.
// Internal to proxy/rdb/.
#ifndef XDPKV_PROXY_RDB_RDB_TYPES_H_
#define XDPKV_PROXY_RDB_RDB_TYPES_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "proxy/rdb/rdb_reader.h"

namespace xdpkv::rdb {

struct TypeRow {
  uint8_t type;
  std::string_view name;
  // Reads the value after the key; sets *value to its alternative.
  absl::Status (*read)(Reader&, uint8_t type, Value* value);
};

// nullptr for a byte that is no type.
const TypeRow* FindType(uint8_t type);

}  // namespace xdpkv::rdb

#endif  // XDPKV_PROXY_RDB_RDB_TYPES_H_
