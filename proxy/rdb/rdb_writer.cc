#include "proxy/rdb/rdb_writer.h"

#include <lzf.h>

#include <bit>
#include <charconv>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "proxy/rdb/crc64.h"

namespace xdpkv::rdb {
namespace {

// The buffer goes to the sink once it holds this much.
constexpr size_t kFlushBytes = 256 * 1024;

void PutLittleEndian(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

bool CanonicalInt32(std::string_view s, int32_t* value) {
  // Redis tries only strings of up to 11 bytes (the longest int32 text).
  if (s.empty() || s.size() > 11) return false;
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
    return false;
  }
  // Canonical: Redis's string2ll refuses leading zeros and "-0"
  // (from_chars refuses '+' and spaces already).
  if (std::to_string(v) != s) return false;
  *value = static_cast<int32_t>(v);
  return true;
}

void Writer::PutLength(uint64_t length) {
  if (length < (1 << 6)) {
    PutByte(static_cast<uint8_t>(length) | (kLen6Bit << 6));
  } else if (length < (1 << 14)) {
    PutByte(static_cast<uint8_t>(length >> 8) | (kLen14Bit << 6));
    PutByte(static_cast<uint8_t>(length & 0xff));
  } else if (length <= std::numeric_limits<uint32_t>::max()) {
    PutByte(kLen32Bit);
    for (int shift = 24; shift >= 0; shift -= 8) PutByte(static_cast<uint8_t>(length >> shift));
  } else {
    PutByte(kLen64Bit);
    for (int shift = 56; shift >= 0; shift -= 8) PutByte(static_cast<uint8_t>(length >> shift));
  }
}

void Writer::PutString(std::string_view s) {
  int32_t number;
  if (CanonicalInt32(s, &number)) {
    const uint8_t enc = number >= -128 && number <= 127       ? kEncInt8
                        : number >= -32768 && number <= 32767 ? kEncInt16
                                                              : kEncInt32;
    PutByte(static_cast<uint8_t>((kLenEncoded << 6) | enc));
    PutLittleEndian(&buffer_, static_cast<uint32_t>(number),
                    enc == kEncInt8    ? 1
                    : enc == kEncInt16 ? 2
                                       : 4);
    return;
  }
  // As Redis: worth it only for more than 20 bytes, and only if it saves
  // at least 4 (lzf_compress answers 0 when the output does not fit).
  if (options_.compress && s.size() > 20 && s.size() <= std::numeric_limits<unsigned>::max()) {
    lzf_scratch_.resize(s.size() - 4);
    const unsigned compressed =
        lzf_compress(s.data(), static_cast<unsigned>(s.size()), lzf_scratch_.data(),
                     static_cast<unsigned>(lzf_scratch_.size()));
    if (compressed != 0) {
      PutByte(static_cast<uint8_t>((kLenEncoded << 6) | kEncLzf));
      PutLength(compressed);
      PutLength(s.size());
      buffer_.append(lzf_scratch_.data(), compressed);
      return;
    }
  }
  PutLength(s.size());
  buffer_.append(s);
}

void Writer::PutDouble(double v) { PutLittleEndian(&buffer_, std::bit_cast<uint64_t>(v), 8); }

absl::Status Writer::MaybeFlush(bool force) {
  if (!error_.ok()) return error_;
  if (buffer_.empty() || (!force && buffer_.size() < kFlushBytes)) return absl::OkStatus();
  crc_ = Crc64(crc_, buffer_.data(), buffer_.size());
  error_ = sink_->Write(buffer_);
  flushed_ += buffer_.size();
  buffer_.clear();
  return error_;
}

absl::Status Writer::Header() {
  buffer_.append(absl::StrCat("REDIS", absl::Dec(kWriteVersion, absl::kZeroPad4)));
  return MaybeFlush();
}

absl::Status Writer::Aux(std::string_view key, std::string_view value) {
  PutByte(kOpAux);
  PutString(key);
  PutString(value);
  return MaybeFlush();
}

absl::Status Writer::SelectDb(uint64_t db) {
  PutByte(kOpSelectDb);
  PutLength(db);
  return MaybeFlush();
}

absl::Status Writer::ResizeDb(uint64_t keys, uint64_t expires) {
  PutByte(kOpResizeDb);
  PutLength(keys);
  PutLength(expires);
  return MaybeFlush();
}

absl::Status Writer::ItemMeta(std::span<const rdb::ItemMeta> items) {
  return Aux(kItemMetaAux, EncodeItemMeta(items));
}

void Writer::WriteKeyPrefix(int64_t expire_ms, Type type, std::string_view key) {
  if (expire_ms != -1) {
    PutByte(kOpExpireTimeMs);
    PutLittleEndian(&buffer_, static_cast<uint64_t>(expire_ms), 8);
  }
  PutByte(type);
  PutString(key);
}

absl::Status Writer::String(std::string_view key, std::string_view value, int64_t expire_ms) {
  WriteKeyPrefix(expire_ms, kTypeString, key);
  PutString(value);
  return MaybeFlush();
}

absl::Status Writer::Finish() {
  PutByte(kOpEof);
  // The checksum covers every byte before it, EOF included.
  if (auto status = MaybeFlush(/*force=*/true); !status.ok()) return status;
  std::string checksum;
  PutLittleEndian(&checksum, crc_, 8);
  error_ = sink_->Write(checksum);
  flushed_ += checksum.size();
  return error_;
}

}  // namespace xdpkv::rdb
