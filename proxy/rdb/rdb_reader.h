// Reads an RDB file from a ByteSource, one event at a time (an auxiliary
// field, a key entry, the end): pure code, no files or sockets.
//
// Everything redis-server 7.0 writes is understood: every length and
// string encoding (integers, LZF), SELECTDB, RESIZEDB, both expiry
// opcodes, IDLE/FREQ, functions, module auxiliary data, and every value
// type. Each type has a row in one table (rdb_types.cc, kTypes): strings,
// hashes, lists, sets and sorted sets are decoded into their Value
// alternative from every encoding Redis has written them in (plain,
// ziplist, listpack, intset, zipmap, quicklist v1 and v2; Redis 7.2's set
// listpack; proxy/rdb/compact_encodings.h); streams and module values are
// read past and come back as Skipped so the caller counts them: nothing
// is dropped silently. What cannot be read past safely (pre-GA module
// values, 7.0-rc functions, unknown types) is an error, and so is what
// Redis refuses to load: a repeated hash field, set member or sorted set
// member, a NaN score.
//
// Errors name the byte offset. Nothing an input says is trusted: lengths
// are checked against what is left and against max_string_bytes before
// anything is allocated, counts are bounded by the bytes that must follow,
// a collection is kept only up to max_collection_bytes (past that it is
// read to its end, checked, and comes back as Oversized), and the CRC-64
// is checked at the end (files written with rdbchecksum no carry 0 and
// are not checked, as in Redis).
#ifndef XDPKV_PROXY_RDB_RDB_READER_H_
#define XDPKV_PROXY_RDB_RDB_READER_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proxy/rdb/rdb_format.h"

namespace xdpkv::rdb {

// Where a reader's bytes come from.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to `size` bytes into `out`; 0 at the end.
  virtual absl::StatusOr<size_t> Read(char* out, size_t size) = 0;
  // Bytes left, if known (a file's size less what was read): lets the
  // reader refuse a length no file this size can hold.
  virtual uint64_t Remaining() const { return UINT64_MAX; }
};

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  absl::StatusOr<size_t> Read(char* out, size_t size) override;
  uint64_t Remaining() const override { return data_.size(); }

 private:
  std::string_view data_;
};

// ---- values, one alternative per type xdpkv holds ----
struct StringValue {
  std::string value;
  bool operator==(const StringValue&) const = default;
};
// Fields in the file's order (a listpack's: Redis's insertion order).
struct HashValue {
  std::vector<std::pair<std::string, std::string>> fields;
  bool operator==(const HashValue&) const = default;
};
struct ListValue {
  std::vector<std::string> elements;  // head first
  bool operator==(const ListValue&) const = default;
};
struct SetValue {
  std::vector<std::string> members;  // in the file's order
  bool operator==(const SetValue&) const = default;
};
struct ZsetEntry {
  std::string member;
  double score;  // never NaN
  bool operator==(const ZsetEntry&) const = default;
};
struct ZsetValue {
  std::vector<ZsetEntry> entries;  // in the file's order
  bool operator==(const ZsetValue&) const = default;
};
// A type xdpkv does not hold, read past.
struct Skipped {
  bool operator==(const Skipped&) const = default;
};
// A collection over ReaderOptions::max_collection_bytes: read past whole
// (and checked), not kept.
struct Oversized {
  bool operator==(const Oversized&) const = default;
};
using Value =
    std::variant<Skipped, StringValue, HashValue, ListValue, SetValue, ZsetValue, Oversized>;

struct Entry {
  uint64_t db = 0;
  std::string key;
  int64_t expire_ms = -1;  // unix ms; -1: none
  uint8_t type = kTypeString;
  Value value;
};

struct Event {
  enum Kind { kAux, kKey, kEnd };
  Kind kind = kEnd;
  std::string aux_key, aux_value;  // kAux
  Entry entry;                     // kKey
};

struct ReaderOptions {
  // The longest string the reader allocates (Redis's proto-max-bulk-len).
  uint64_t max_string_bytes = uint64_t{512} << 20;
  // The largest collection the reader keeps, its elements counted as
  // their bytes plus kElementOverhead each (8 more per score): the least
  // any xdpkv encoding of them takes (proxy/typed_value.h), so a caller
  // whose store holds values up to N bytes passes N and loses nothing it
  // could have stored. Bounds memory against a file of countless elements.
  uint64_t max_collection_bytes = uint64_t{512} << 20;
};
inline constexpr uint64_t kElementOverhead = 4;

struct ReadStats {
  uint64_t keys = 0;                        // key entries of every type
  std::map<std::string, uint64_t> skipped;  // type name -> keys read past
  uint64_t functions_skipped = 0;           // function libraries
  uint64_t module_aux_skipped = 0;          // module auxiliary data
  bool checksum_verified = false;           // false: version < 5 or written without
};

class Reader {
 public:
  explicit Reader(ByteSource* source, ReaderOptions options = {})
      : source_(source), options_(options) {}

  // The next event; kEnd once EOF and the checksum were read and checked
  // and nothing follows them. An error is final.
  absl::StatusOr<Event::Kind> Next(Event* event);

  int version() const { return version_; }
  const ReaderOptions& options() const { return options_; }
  uint64_t offset() const { return offset_; }
  const ReadStats& stats() const { return stats_; }

  // ---- primitives, used by the per-type readers ----
  absl::Status ReadBytes(char* out, size_t size);
  absl::Status Skip(uint64_t size);
  absl::StatusOr<uint8_t> ReadByte();
  // A length; *encoded set when it is a special string encoding instead.
  absl::StatusOr<uint64_t> ReadLength(bool* encoded = nullptr);
  absl::StatusOr<std::string> ReadString();
  absl::Status SkipString();
  // A count of things that each take at least `min_bytes` bytes.
  absl::StatusOr<uint64_t> ReadCount(uint64_t min_bytes);
  absl::Status SkipModuleFields();
  absl::Status Corrupt(std::string_view what) const;

 private:
  absl::Status ReadHeader();
  absl::Status ReadEnd();
  // Bytes buffered but not consumed.
  size_t Buffered() const { return buffer_.size() - pos_; }
  absl::Status Fill(size_t at_least);
  uint64_t Remaining() const;

  ByteSource* source_;
  ReaderOptions options_;
  std::string buffer_;
  size_t pos_ = 0;
  uint64_t offset_ = 0;  // bytes consumed
  uint64_t crc_ = 0;     // over the consumed bytes (buffer_[0, pos_) not yet added)
  size_t crc_pos_ = 0;   // buffer_ bytes already in crc_
  int version_ = 0;
  uint64_t db_ = 0;
  bool done_ = false;
  absl::Status error_;
  ReadStats stats_;
};

}  // namespace xdpkv::rdb

#endif  // XDPKV_PROXY_RDB_RDB_READER_H_
