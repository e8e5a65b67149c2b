// CRC-64 as Redis computes it over RDB files (src/crc64.c): the Jones
// polynomial 0xad93d23594c935a9, reflected in and out, initial value 0, no
// final xor. crc64("123456789") = 0xe9c6d914c4b8d9ca (Redis's own check).
//
// Debian packages no CRC library with this polynomial (libcrcutil is a
// generic engine from an abandoned project); the tables are 8 KiB built
// once, checked against Redis's value and against redis-server's files
// (proxy/rdb/rdb_test.cc, compat-tests/rdb_interop.py).
#ifndef XDPKV_PROXY_RDB_CRC64_H_
#define XDPKV_PROXY_RDB_CRC64_H_

#include <cstddef>
#include <cstdint>

namespace xdpkv::rdb {

// Continues `crc` over `size` bytes (start with 0). Slicing by 8.
uint64_t Crc64(uint64_t crc, const void* data, size_t size);

}  // namespace xdpkv::rdb

#endif  // XDPKV_PROXY_RDB_CRC64_H_
