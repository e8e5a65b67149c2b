#include "proxy/rdb/rdb_reader.h"

#include <lzf.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "proxy/rdb/crc64.h"
#include "proxy/rdb/rdb_types.h"

namespace xdpkv::rdb {

absl::StatusOr<size_t> MemorySource::Read(char* out, size_t size) {
  const size_t n = std::min(size, data_.size());
  std::memcpy(out, data_.data(), n);
  data_.remove_prefix(n);
  return n;
}

namespace {

// Bytes asked of the source at a time.
constexpr size_t kReadChunk = 256 * 1024;

uint64_t LittleEndian(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace

absl::Status Reader::Corrupt(std::string_view what) const {
  return absl::DataLossError(
      absl::StrCat("RDB corrupt at byte ", offset_, ": ", std::string(what)));
}

uint64_t Reader::Remaining() const {
  const uint64_t source = source_->Remaining();
  return source == UINT64_MAX ? UINT64_MAX : source + Buffered();
}

absl::Status Reader::Fill(size_t at_least) {
  if (Buffered() >= at_least) return absl::OkStatus();
  // Consumed bytes leave the buffer: fold them into the CRC first.
  crc_ = Crc64(crc_, buffer_.data() + crc_pos_, pos_ - crc_pos_);
  buffer_.erase(0, pos_);
  pos_ = crc_pos_ = 0;
  while (buffer_.size() < at_least) {
    const size_t old = buffer_.size();
    buffer_.resize(old + std::max(kReadChunk, at_least - old));
    auto got = source_->Read(buffer_.data() + old, buffer_.size() - old);
    buffer_.resize(old + (got.ok() ? *got : 0));
    if (!got.ok()) return got.status();
    if (*got == 0) {
      return absl::DataLossError(absl::StrCat("RDB truncated: the file ends at byte ",
                                              offset_ + buffer_.size(), " inside an entry"));
    }
  }
  return absl::OkStatus();
}

absl::Status Reader::ReadBytes(char* out, size_t size) {
  while (size > 0) {
    if (Buffered() == 0) {
      if (auto status = Fill(1); !status.ok()) return status;
    }
    const size_t n = std::min(size, Buffered());
    std::memcpy(out, buffer_.data() + pos_, n);
    pos_ += n;
    offset_ += n;
    out += n;
    size -= n;
  }
  return absl::OkStatus();
}

absl::Status Reader::Skip(uint64_t size) {
  while (size > 0) {
    if (Buffered() == 0) {
      if (auto status = Fill(1); !status.ok()) return status;
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(size, Buffered()));
    pos_ += n;
    offset_ += n;
    size -= n;
  }
  return absl::OkStatus();
}

absl::StatusOr<uint8_t> Reader::ReadByte() {
  char c;
  if (auto status = ReadBytes(&c, 1); !status.ok()) return status;
  return static_cast<uint8_t>(c);
}

absl::StatusOr<uint64_t> Reader::ReadLength(bool* encoded) {
  auto first = ReadByte();
  if (!first.ok()) return first.status();
  if (encoded != nullptr) *encoded = false;
  const uint8_t kind = *first >> 6;
  if (kind == kLenEncoded) {
    if (encoded == nullptr) return Corrupt("a string encoding where a length belongs");
    *encoded = true;
    return *first & 0x3f;
  }
  if (kind == kLen6Bit) return *first & 0x3f;
  if (kind == kLen14Bit) {
    auto second = ReadByte();
    if (!second.ok()) return second.status();
    return (uint64_t{*first & 0x3fu} << 8) | *second;
  }
  int bytes = 0;
  if (*first == kLen32Bit) {
    bytes = 4;
  } else if (*first == kLen64Bit) {
    bytes = 8;
  } else {
    return Corrupt(absl::StrCat("unknown length encoding 0x", absl::Hex(*first)));
  }
  char raw[8];
  if (auto status = ReadBytes(raw, bytes); !status.ok()) return status;
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(raw[i]);  // big endian
  return v;
}

absl::StatusOr<uint64_t> Reader::ReadCount(uint64_t min_bytes) {
  auto count = ReadLength();
  if (!count.ok()) return count.status();
  const uint64_t left = Remaining();
  if (left != UINT64_MAX && *count > left / std::max<uint64_t>(min_bytes, 1)) {
    return Corrupt(absl::StrCat("a count of ", *count, " with ", left, " bytes left"));
  }
  return count;
}

absl::StatusOr<std::string> Reader::ReadString() {
  bool encoded = false;
  auto len = ReadLength(&encoded);
  if (!len.ok()) return len.status();
  if (encoded) {
    if (*len == kEncInt8 || *len == kEncInt16 || *len == kEncInt32) {
      const int bytes = *len == kEncInt8 ? 1 : *len == kEncInt16 ? 2 : 4;
      char raw[4];
      if (auto status = ReadBytes(raw, bytes); !status.ok()) return status;
      const uint64_t u = LittleEndian(raw, bytes);
      const int64_t v = bytes == 1   ? static_cast<int8_t>(u)
                        : bytes == 2 ? static_cast<int16_t>(u)
                                     : static_cast<int32_t>(u);
      return std::to_string(v);
    }
    if (*len != kEncLzf) return Corrupt(absl::StrCat("unknown string encoding ", *len));
    auto compressed_len = ReadLength();
    if (!compressed_len.ok()) return compressed_len.status();
    auto plain_len = ReadLength();
    if (!plain_len.ok()) return plain_len.status();
    if (*compressed_len > Remaining()) {
      return Corrupt(absl::StrCat("LZF data of ", *compressed_len, " bytes where ", Remaining(),
                                  " are left (truncated?)"));
    }
    if (*plain_len > options_.max_string_bytes || *compressed_len > UINT32_MAX) {
      return Corrupt(absl::StrCat("a string of ", *plain_len, " bytes, over the limit of ",
                                  options_.max_string_bytes));
    }
    std::string compressed(*compressed_len, '\0');
    if (auto status = ReadBytes(compressed.data(), compressed.size()); !status.ok()) {
      return status;
    }
    std::string plain(*plain_len, '\0');
    if (plain.empty()) return plain;
    const unsigned got = lzf_decompress(compressed.data(), static_cast<unsigned>(compressed.size()),
                                        plain.data(), static_cast<unsigned>(plain.size()));
    if (got != plain.size()) return Corrupt("invalid LZF compressed string");
    return plain;
  }
  if (*len > options_.max_string_bytes) {
    return Corrupt(absl::StrCat("a string of ", *len, " bytes, over the limit of ",
                                options_.max_string_bytes));
  }
  if (const uint64_t left = Remaining(); *len > left) {
    return Corrupt(
        absl::StrCat("a string of ", *len, " bytes where ", left, " are left (truncated?)"));
  }
  std::string s(*len, '\0');
  if (auto status = ReadBytes(s.data(), s.size()); !status.ok()) return status;
  return s;
}

absl::Status Reader::SkipString() {
  bool encoded = false;
  auto len = ReadLength(&encoded);
  if (!len.ok()) return len.status();
  if (!encoded) return Skip(*len);
  switch (*len) {
    case kEncInt8:
      return Skip(1);
    case kEncInt16:
      return Skip(2);
    case kEncInt32:
      return Skip(4);
    case kEncLzf: {
      auto compressed_len = ReadLength();
      if (!compressed_len.ok()) return compressed_len.status();
      if (auto plain_len = ReadLength(); !plain_len.ok()) return plain_len.status();
      return Skip(*compressed_len);
    }
    default:
      return Corrupt(absl::StrCat("unknown string encoding ", *len));
  }
}

absl::Status Reader::SkipModuleFields() {
  for (;;) {
    auto op = ReadLength();
    if (!op.ok()) return op.status();
    absl::Status status;
    switch (*op) {
      case kModuleOpEof:
        return absl::OkStatus();
      case kModuleOpSint:
      case kModuleOpUint:
        status = ReadLength().status();
        break;
      case kModuleOpFloat:
        status = Skip(4);
        break;
      case kModuleOpDouble:
        status = Skip(8);
        break;
      case kModuleOpString:
        status = SkipString();
        break;
      default:
        return Corrupt(absl::StrCat("unknown module field type ", *op));
    }
    if (!status.ok()) return status;
  }
}

absl::Status Reader::ReadHeader() {
  char header[9];
  if (auto status = ReadBytes(header, sizeof(header)); !status.ok()) {
    return absl::DataLossError("not an RDB file: shorter than its 9-byte header");
  }
  if (std::memcmp(header, "REDIS", 5) != 0) {
    return absl::DataLossError("not an RDB file: it does not start with REDIS");
  }
  int version = 0;
  for (int i = 5; i < 9; ++i) {
    if (header[i] < '0' || header[i] > '9') {
      return absl::DataLossError("not an RDB file: bad version digits");
    }
    version = version * 10 + (header[i] - '0');
  }
  if (version < 1 || version > kMaxReadVersion) {
    return absl::DataLossError(absl::StrCat("RDB version ", version,
                                            " is not supported (this reader knows 1 to ",
                                            kMaxReadVersion, ", Redis 7.2's)"));
  }
  version_ = version;
  return absl::OkStatus();
}

absl::Status Reader::ReadEnd() {
  crc_ = Crc64(crc_, buffer_.data() + crc_pos_, pos_ - crc_pos_);  // through EOF
  crc_pos_ = pos_;
  if (version_ >= kFirstChecksumVersion) {
    char raw[8];
    if (auto status = ReadBytes(raw, 8); !status.ok()) return status;
    const uint64_t expected = LittleEndian(raw, 8);
    if (expected != 0) {
      if (expected != crc_) {
        return absl::DataLossError(absl::StrCat(
            "RDB checksum mismatch: the file says 0x", absl::Hex(expected, absl::kZeroPad16),
            ", its contents give 0x", absl::Hex(crc_, absl::kZeroPad16)));
      }
      stats_.checksum_verified = true;
    }
  }
  // Nothing may follow.
  if (Buffered() == 0) {
    char c;
    auto got = source_->Read(&c, 1);
    if (!got.ok()) return got.status();
    if (*got == 0) return absl::OkStatus();
  }
  return Corrupt("bytes after the end of the file's data");
}

absl::StatusOr<Event::Kind> Reader::Next(Event* event) {
  if (!error_.ok()) return error_;
  if (done_) return Event::kEnd;
  auto fail = [&](absl::Status status) {
    error_ = std::move(status);
    return error_;
  };
  if (version_ == 0) {
    if (auto status = ReadHeader(); !status.ok()) return fail(status);
  }
  int64_t expire_ms = -1;
  for (;;) {
    auto type = ReadByte();
    if (!type.ok()) return fail(type.status());
    switch (*type) {
      case kOpExpireTimeMs: {
        char raw[8];
        if (auto status = ReadBytes(raw, 8); !status.ok()) return fail(status);
        expire_ms = static_cast<int64_t>(LittleEndian(raw, 8));
        continue;
      }
      case kOpExpireTime: {
        char raw[4];
        if (auto status = ReadBytes(raw, 4); !status.ok()) return fail(status);
        expire_ms = int64_t{static_cast<int32_t>(LittleEndian(raw, 4))} * 1000;
        continue;
      }
      case kOpIdle:
        if (auto idle = ReadLength(); !idle.ok()) return fail(idle.status());
        continue;
      case kOpFreq:
        if (auto freq = ReadByte(); !freq.ok()) return fail(freq.status());
        continue;
      case kOpSelectDb: {
        auto db = ReadLength();
        if (!db.ok()) return fail(db.status());
        db_ = *db;
        continue;
      }
      case kOpResizeDb: {
        for (int i = 0; i < 2; ++i) {
          if (auto size = ReadLength(); !size.ok()) return fail(size.status());
        }
        continue;
      }
      case kOpAux: {
        auto key = ReadString();
        if (!key.ok()) return fail(key.status());
        auto value = ReadString();
        if (!value.ok()) return fail(value.status());
        event->kind = Event::kAux;
        event->aux_key = std::move(*key);
        event->aux_value = std::move(*value);
        return Event::kAux;
      }
      case kOpModuleAux: {
        uint64_t fields[3];
        for (uint64_t& field : fields) {
          auto len = ReadLength();
          if (!len.ok()) return fail(len.status());
          field = *len;
        }
        if (fields[1] != kModuleOpUint) {
          return fail(Corrupt("module auxiliary data without its 'when' field"));
        }
        if (auto status = SkipModuleFields(); !status.ok()) return fail(status);
        ++stats_.module_aux_skipped;
        continue;
      }
      case kOpFunction2:
        if (auto status = SkipString(); !status.ok()) return fail(status);
        ++stats_.functions_skipped;
        continue;
      case kOpFunctionPreGa:
        return fail(
            Corrupt("functions in the format of Redis 7.0's release candidates (opcode 246), which "
                    "cannot be read past safely"));
      case kOpEof:
        if (auto status = ReadEnd(); !status.ok()) return fail(status);
        done_ = true;
        event->kind = Event::kEnd;
        return Event::kEnd;
      default:
        break;
    }
    const TypeRow* row = FindType(*type);
    if (row == nullptr) return fail(Corrupt(absl::StrCat("unknown value type ", *type)));
    Entry& entry = event->entry;
    entry.db = db_;
    entry.expire_ms = expire_ms;
    entry.type = *type;
    auto key = ReadString();
    if (!key.ok()) return fail(key.status());
    entry.key = std::move(*key);
    if (auto status = row->read(*this, *type, &entry.value); !status.ok()) return fail(status);
    ++stats_.keys;
    if (std::holds_alternative<Skipped>(entry.value)) ++stats_.skipped[std::string(row->name)];
    event->kind = Event::kKey;
    return Event::kKey;
  }
}

}  // namespace xdpkv::rdb
