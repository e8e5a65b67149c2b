// Writes an RDB file (version 10, Redis 7.0's) to a ByteSink: pure code,
// no files or sockets. One method per value type, so each type xdpkv
// learns to hold gets its own writer next to String(); every entry starts
// with WriteKeyPrefix (expiry, type, key), shared by all types.
//
// Collections are written in Redis's plain encodings (RDB_TYPE_HASH,
// _LIST, _SET, _ZSET_2), the simplest ones redis-server 7.0 loads: it
// converts each to its compact encoding on load when small enough, as it
// does for its own hash-table-encoded values (measured: redis-server and
// redis-check-rdb 7.0.15 load all four; compat-tests/rdb_interop.py).
//
// A file is: Header(), Aux()..., SelectDb(), ResizeDb(), entries (with
// ItemMeta() before runs of them, for memcached's flags and CAS), then
// Finish() (EOF and the CRC-64). Strings are encoded as Redis's
// rdbSaveRawString encodes them: an integer encoding for canonical
// decimals that fit 32 bits (at most 11 bytes), LZF for longer than 20
// bytes when compression is on and saves at least 4 bytes, else raw.
#ifndef XDPKV_PROXY_RDB_RDB_WRITER_H_
#define XDPKV_PROXY_RDB_RDB_WRITER_H_

#include <cstdint>
#include <iterator>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "proxy/rdb/item_meta.h"
#include "proxy/rdb/rdb_format.h"

namespace xdpkv::rdb {

// Where a writer's bytes go, in order.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual absl::Status Write(std::string_view bytes) = 0;
};

// Keeps the bytes (tests, fuzzing).
class StringSink : public ByteSink {
 public:
  absl::Status Write(std::string_view bytes) override {
    data.append(bytes);
    return absl::OkStatus();
  }
  std::string data;
};

struct WriterOptions {
  // Redis's rdbcompression: LZF for strings over 20 bytes.
  bool compress = true;
};

class Writer {
 public:
  explicit Writer(ByteSink* sink, WriterOptions options = {}) : sink_(sink), options_(options) {}

  // "REDIS0010".
  absl::Status Header();
  // An auxiliary field; the value is encoded as any string (Redis writes
  // redis-bits and ctime integer-encoded this way).
  absl::Status Aux(std::string_view key, std::string_view value);
  absl::Status SelectDb(uint64_t db);
  // Hash table sizes for the database's keys and keys with a TTL (a hint).
  absl::Status ResizeDb(uint64_t keys, uint64_t expires);
  // memcached's flags and CAS for the next `items.size()` key entries
  // (proxy/rdb/item_meta.h); an auxiliary field, ignored by Redis.
  absl::Status ItemMeta(std::span<const rdb::ItemMeta> items);

  // ---- one writer per value type; expire_ms: unix ms, -1 for none ----
  absl::Status String(std::string_view key, std::string_view value, int64_t expire_ms);
  // `fields`: pairs (.first the field, .second its value), in the order
  // given (Redis keeps it in a small hash: HGETALL shows it).
  template <typename Fields>
  absl::Status Hash(std::string_view key, const Fields& fields, int64_t expire_ms) {
    WriteKeyPrefix(expire_ms, kTypeHash, key);
    PutLength(std::size(fields));
    for (const auto& [field, value] : fields) {
      PutString(field);
      PutString(value);
    }
    return MaybeFlush();
  }
  // Elements head first (RDB_TYPE_LIST: Redis 7.0 loads it into a quicklist).
  template <typename Elements>
  absl::Status List(std::string_view key, const Elements& elements, int64_t expire_ms) {
    return StringsEntry(kTypeList, key, elements, expire_ms);
  }
  template <typename Members>
  absl::Status Set(std::string_view key, const Members& members, int64_t expire_ms) {
    return StringsEntry(kTypeSet, key, members, expire_ms);
  }
  // `entries`: each with .member and .score (not NaN), in the order given
  // (Redis writes the greatest first, which makes its load's inserts O(1)).
  template <typename Entries>
  absl::Status Zset(std::string_view key, const Entries& entries, int64_t expire_ms) {
    WriteKeyPrefix(expire_ms, kTypeZset2, key);
    PutLength(std::size(entries));
    for (const auto& entry : entries) {
      PutString(entry.member);
      PutDouble(entry.score);
    }
    return MaybeFlush();
  }

  // EOF, the checksum, and everything still buffered to the sink.
  absl::Status Finish();

  // Bytes produced so far (buffered ones included).
  uint64_t bytes() const { return flushed_ + buffer_.size(); }

 private:
  // [EXPIRETIME_MS] type key: what every key entry starts with.
  void WriteKeyPrefix(int64_t expire_ms, Type type, std::string_view key);
  void PutByte(uint8_t byte) { buffer_.push_back(static_cast<char>(byte)); }
  void PutLength(uint64_t length);
  void PutString(std::string_view s);
  void PutDouble(double v);  // 8 bytes, IEEE 754 little endian (rdbSaveBinaryDoubleValue)
  // A list's or set's entry: the count, then each string.
  template <typename Range>
  absl::Status StringsEntry(Type type, std::string_view key, const Range& strings,
                            int64_t expire_ms) {
    WriteKeyPrefix(expire_ms, type, key);
    PutLength(std::size(strings));
    for (const auto& s : strings) PutString(s);
    return MaybeFlush();
  }
  // Sends the buffer to the sink once it is large (always when `force`).
  absl::Status MaybeFlush(bool force = false);

  ByteSink* sink_;
  WriterOptions options_;
  std::string buffer_;
  std::string lzf_scratch_;
  uint64_t crc_ = 0;
  uint64_t flushed_ = 0;
  absl::Status error_;  // the first sink error: every later call returns it
};

// Redis's rdbTryIntegerEncoding: the value when `s` is a canonical decimal
// ("12", "-7"; not "007", "+1", "-0", " 1") that fits the 32-bit integer
// encodings; false otherwise.
bool CanonicalInt32(std::string_view s, int32_t* value);

}  // namespace xdpkv::rdb

#endif  // XDPKV_PROXY_RDB_RDB_WRITER_H_
