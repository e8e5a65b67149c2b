// The RDB file format's constants, as Redis 7.0 defines them (src/rdb.h),
// with Redis 7.2's additions, which the reader reads (set listpack) or
// reads past (stream v3).
//
// A file: "REDIS" + 4-digit version, then opcodes and key entries, then
// EOF (0xff) and, from version 5, the CRC-64 of everything before it
// (little endian; 0 = the writer had rdbchecksum off). A key entry is
// [EXPIRETIME_MS t] [IDLE n | FREQ b] type key value.
#ifndef XDPKV_PROXY_RDB_RDB_FORMAT_H_
#define XDPKV_PROXY_RDB_RDB_FORMAT_H_

#include <cstdint>
#include <string_view>

namespace xdpkv::rdb {

// What the writer writes: Redis 7.0's version, so redis-server 7.0 loads it.
inline constexpr int kWriteVersion = 10;
// The newest version the reader accepts: Redis 7.2's (its set listpack is
// read as a set; stream v3, like every stream, is read past). Redis 7.4
// (12) adds hash field expiry, not read yet.
inline constexpr int kMaxReadVersion = 11;
// Redis has written the CRC since version 5.
inline constexpr int kFirstChecksumVersion = 5;

// Value types (the byte before a key).
enum Type : uint8_t {
  kTypeString = 0,
  kTypeList = 1,
  kTypeSet = 2,
  kTypeZset = 3,
  kTypeHash = 4,
  kTypeZset2 = 5,
  kTypeModulePreGa = 6,
  kTypeModule2 = 7,
  kTypeHashZipmap = 9,
  kTypeListZiplist = 10,
  kTypeSetIntset = 11,
  kTypeZsetZiplist = 12,
  kTypeHashZiplist = 13,
  kTypeListQuicklist = 14,
  kTypeStreamListpacks = 15,
  kTypeHashListpack = 16,
  kTypeZsetListpack = 17,
  kTypeListQuicklist2 = 18,
  kTypeStreamListpacks2 = 19,
  kTypeSetListpack = 20,       // Redis 7.2
  kTypeStreamListpacks3 = 21,  // Redis 7.2
};

// Opcodes, in the type byte's place.
enum Opcode : uint8_t {
  kOpFunction2 = 245,      // a function library's code
  kOpFunctionPreGa = 246,  // 7.0 release candidates' function format
  kOpModuleAux = 247,
  kOpIdle = 248,  // LRU idle seconds of the next key
  kOpFreq = 249,  // LFU counter of the next key
  kOpAux = 250,
  kOpResizeDb = 251,
  kOpExpireTimeMs = 252,
  kOpExpireTime = 253,  // seconds, before RDB 3
  kOpSelectDb = 254,
  kOpEof = 255,
};

// Length encoding: the top two bits of the first byte.
inline constexpr uint8_t kLen6Bit = 0;
inline constexpr uint8_t kLen14Bit = 1;
inline constexpr uint8_t kLenEncoded = 3;  // a special encoding follows (below)
inline constexpr uint8_t kLen32Bit = 0x80;
inline constexpr uint8_t kLen64Bit = 0x81;

// Special string encodings (the low six bits when the top two are 11).
inline constexpr uint8_t kEncInt8 = 0;
inline constexpr uint8_t kEncInt16 = 1;
inline constexpr uint8_t kEncInt32 = 2;
inline constexpr uint8_t kEncLzf = 3;

// Module values (RDB_MODULE_OPCODE_*): typed fields up to EOF.
inline constexpr uint8_t kModuleOpEof = 0;
inline constexpr uint8_t kModuleOpSint = 1;
inline constexpr uint8_t kModuleOpUint = 2;
inline constexpr uint8_t kModuleOpFloat = 3;
inline constexpr uint8_t kModuleOpDouble = 4;
inline constexpr uint8_t kModuleOpString = 5;

// "string", "list-quicklist-2", ... for messages and load reports; "" for
// a byte that is no type.
std::string_view TypeName(uint8_t type);

}  // namespace xdpkv::rdb

#endif  // XDPKV_PROXY_RDB_RDB_FORMAT_H_
