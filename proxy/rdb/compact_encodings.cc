#include "proxy/rdb/compact_encodings.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace xdpkv::rdb {
namespace {

constexpr uint8_t kEnd = 0xff;  // every encoding's terminator

uint64_t LittleEndian(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t BigEndian32(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// The low `bits` bits of `v` as a two's complement number.
int64_t SignExtend(uint64_t v, int bits) {
  const uint64_t sign = uint64_t{1} << (bits - 1);
  return static_cast<int64_t>((v ^ sign) - sign);
}

// Emits `v` as Redis's ll2string writes it.
void EmitInt(int64_t v, ElementFn emit) {
  char text[24];
  const auto [end, ec] = std::to_chars(text, text + sizeof(text), v);
  emit(std::string_view(text, static_cast<size_t>(end - text)));
}

absl::Status Invalid(std::string_view encoding, size_t offset, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("invalid ", std::string(encoding), " (byte ",
                                                 offset, " of it): ", std::string(what)));
}

// ---- ziplist (Redis's ziplist.c) ----
constexpr size_t kZiplistHeader = 10;  // zlbytes u32, zltail u32, zllen u16
constexpr uint8_t kZiplistBigPrevlen = 254;
constexpr uint16_t kUnknownCount = 0xffff;  // ziplist's and listpack's "count it"

}  // namespace

absl::Status DecodeZiplist(std::string_view blob, ElementFn emit) {
  auto invalid = [](size_t at, std::string_view what) { return Invalid("ziplist", at, what); };
  if (blob.size() < kZiplistHeader + 1) return invalid(0, "shorter than its header");
  const char* p = blob.data();
  if (LittleEndian(p, 4) != blob.size()) return invalid(0, "its byte count is not its size");
  const uint64_t tail = LittleEndian(p + 4, 4);
  const uint64_t header_count = LittleEndian(p + 8, 2);
  if (tail > blob.size() - 1) return invalid(4, "its tail offset is past its end");
  if (static_cast<uint8_t>(blob.back()) != kEnd) return invalid(blob.size() - 1, "no terminator");
  const size_t end = blob.size() - 1;  // the terminator's offset
  size_t pos = kZiplistHeader, prev_size = 0, last = 0;
  uint64_t count = 0;
  while (pos < end) {
    const size_t start = pos;
    // The previous entry's size: one byte, or 254 and four.
    size_t prevlen = static_cast<uint8_t>(p[pos]);
    if (prevlen == kZiplistBigPrevlen) {
      if (end - pos < 5) return invalid(pos, "an entry past the end");
      prevlen = LittleEndian(p + pos + 1, 4);
      pos += 5;
    } else {
      pos += 1;
    }
    if (prevlen != prev_size) return invalid(start, "an entry's link to the one before is wrong");
    if (pos >= end) return invalid(pos, "an entry past the end");
    const uint8_t enc = static_cast<uint8_t>(p[pos]);
    size_t header = 1, len = 0;
    int int_bytes = -1;  // -1: a string
    int64_t immediate = 0;
    switch (enc >> 6) {
      case 0:
        len = enc & 0x3f;
        break;
      case 1:
        header = 2;
        if (end - pos < 2) return invalid(pos, "an entry past the end");
        len = (size_t{enc & 0x3fu} << 8) | static_cast<uint8_t>(p[pos + 1]);
        break;
      case 2:
        header = 5;
        if (end - pos < 5) return invalid(pos, "an entry past the end");
        len = BigEndian32(p + pos + 1);
        break;
      default:
        switch (enc) {
          case 0xc0:
            int_bytes = 2;
            break;
          case 0xd0:
            int_bytes = 4;
            break;
          case 0xe0:
            int_bytes = 8;
            break;
          case 0xf0:
            int_bytes = 3;
            break;
          case 0xfe:
            int_bytes = 1;
            break;
          default:
            // 1111xxxx, xxxx in 0001..1101: the value xxxx - 1, no bytes.
            if (enc < 0xf1 || enc > 0xfd) return invalid(pos, "an unknown entry encoding");
            int_bytes = 0;
            immediate = (enc & 0x0f) - 1;
        }
        len = static_cast<size_t>(int_bytes);
    }
    if (end - pos - header < len) return invalid(pos, "an entry past the end");
    const char* data = p + pos + header;
    if (int_bytes < 0) {
      emit(std::string_view(data, len));
    } else if (int_bytes == 0) {
      EmitInt(immediate, emit);
    } else {
      EmitInt(SignExtend(LittleEndian(data, int_bytes), 8 * int_bytes), emit);
    }
    pos += header + len;
    prev_size = pos - start;
    last = start;
    ++count;
  }
  if (count > 0 && last != tail) return invalid(4, "its tail offset is not its last entry");
  if (header_count != kUnknownCount && header_count != count) {
    return invalid(8, absl::StrCat("it says ", header_count, " entries and holds ", count));
  }
  return absl::OkStatus();
}

namespace {

// ---- listpack (Redis's listpack.c) ----
constexpr size_t kListpackHeader = 6;  // total bytes u32, count u16

// The back length Redis writes after an entry of `len` bytes (lpEncodeBacklen).
size_t EncodeBacklen(uint64_t len, uint8_t out[5]) {
  size_t n = len <= 127 ? 1 : len < 16383 ? 2 : len < 2097151 ? 3 : len < 268435455 ? 4 : 5;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t bits = static_cast<uint8_t>((len >> (7 * (n - 1 - i))) & 127);
    out[i] = i == 0 ? bits : bits | 128;  // all but the first carry the continuation bit
  }
  return n;
}

}  // namespace

absl::Status DecodeListpack(std::string_view blob, ElementFn emit) {
  auto invalid = [](size_t at, std::string_view what) { return Invalid("listpack", at, what); };
  if (blob.size() < kListpackHeader + 1) return invalid(0, "shorter than its header");
  const char* p = blob.data();
  if (LittleEndian(p, 4) != blob.size()) return invalid(0, "its byte count is not its size");
  const uint64_t header_count = LittleEndian(p + 4, 2);
  if (static_cast<uint8_t>(blob.back()) != kEnd) return invalid(blob.size() - 1, "no terminator");
  const size_t end = blob.size() - 1;
  size_t pos = kListpackHeader;
  uint64_t count = 0;
  while (pos < end) {
    const uint8_t enc = static_cast<uint8_t>(p[pos]);
    const size_t left = end - pos;
    size_t header = 1, len = 0;
    int int_bytes = -1;  // -1: a string
    int64_t value = 0;
    if ((enc & 0x80) == 0) {  // 7-bit unsigned
      int_bytes = 0;
      value = enc & 0x7f;
    } else if ((enc & 0xc0) == 0x80) {  // string, 6-bit length
      len = enc & 0x3f;
    } else if ((enc & 0xe0) == 0xc0) {  // 13-bit signed
      if (left < 2) return invalid(pos, "an entry past the end");
      header = 2;
      int_bytes = 0;
      value = SignExtend((uint64_t{enc & 0x1fu} << 8) | static_cast<uint8_t>(p[pos + 1]), 13);
    } else if ((enc & 0xf0) == 0xe0) {  // string, 12-bit length
      if (left < 2) return invalid(pos, "an entry past the end");
      header = 2;
      len = (size_t{enc & 0x0fu} << 8) | static_cast<uint8_t>(p[pos + 1]);
    } else if (enc == 0xf0) {  // string, 32-bit length
      if (left < 5) return invalid(pos, "an entry past the end");
      header = 5;
      len = LittleEndian(p + pos + 1, 4);
    } else if (enc >= 0xf1 && enc <= 0xf4) {  // 16, 24, 32, 64-bit signed
      int_bytes = enc == 0xf1 ? 2 : enc == 0xf2 ? 3 : enc == 0xf3 ? 4 : 8;
      len = static_cast<size_t>(int_bytes);
    } else {
      return invalid(pos, "an unknown entry encoding");
    }
    if (left - header < len) return invalid(pos, "an entry past the end");
    const size_t entry_len = header + len;
    uint8_t backlen[5];
    const size_t backlen_size = EncodeBacklen(entry_len, backlen);
    if (left - entry_len < backlen_size ||
        std::memcmp(p + pos + entry_len, backlen, backlen_size) != 0) {
      return invalid(pos + entry_len, "an entry's back length is wrong");
    }
    const char* data = p + pos + header;
    if (int_bytes < 0) {
      emit(std::string_view(data, len));
    } else if (int_bytes == 0) {
      EmitInt(value, emit);
    } else {
      EmitInt(SignExtend(LittleEndian(data, int_bytes), 8 * int_bytes), emit);
    }
    pos += entry_len + backlen_size;
    ++count;
  }
  if (header_count != kUnknownCount && header_count != count) {
    return invalid(4, absl::StrCat("it says ", header_count, " entries and holds ", count));
  }
  return absl::OkStatus();
}

absl::Status DecodeIntset(std::string_view blob, ElementFn emit) {
  auto invalid = [](size_t at, std::string_view what) { return Invalid("intset", at, what); };
  if (blob.size() < 8) return invalid(0, "shorter than its header");
  const uint64_t width = LittleEndian(blob.data(), 4);
  const uint64_t count = LittleEndian(blob.data() + 4, 4);
  if (width != 2 && width != 4 && width != 8) return invalid(0, "an unknown integer width");
  if (count == 0) return invalid(4, "empty");
  if ((blob.size() - 8) / width != count || (blob.size() - 8) % width != 0) {
    return invalid(4, "its count does not match its size");
  }
  int64_t previous = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const size_t at = 8 + i * width;
    const int64_t v = SignExtend(LittleEndian(blob.data() + at, static_cast<int>(width)),
                                 8 * static_cast<int>(width));
    if (i > 0 && v <= previous) return invalid(at, "members out of order or repeated");
    previous = v;
    EmitInt(v, emit);
  }
  return absl::OkStatus();
}

absl::Status DecodeZipmap(std::string_view blob, ElementFn emit) {
  auto invalid = [](size_t at, std::string_view what) { return Invalid("zipmap", at, what); };
  constexpr uint8_t kBigLen = 254;  // a length byte: four more follow; as zmlen: count unknown
  if (blob.size() < 2) return invalid(0, "shorter than its header");
  const char* p = blob.data();
  const uint8_t header_count = static_cast<uint8_t>(p[0]);
  const size_t end = blob.size() - 1;
  if (static_cast<uint8_t>(p[end]) != kEnd) return invalid(end, "no terminator");
  size_t pos = 1;
  uint64_t count = 0;
  // A length at `pos` (not the terminator); false if it runs past the end.
  auto length = [&](size_t* len) {
    const uint8_t first = static_cast<uint8_t>(p[pos]);
    if (first < kBigLen) {
      *len = first;
      pos += 1;
      return true;
    }
    if (first != kBigLen || end - pos < 5) return false;
    *len = LittleEndian(p + pos + 1, 4);
    pos += 5;
    return true;
  };
  while (pos < end) {
    size_t key_len = 0, value_len = 0;
    if (!length(&key_len) || end - pos < key_len) return invalid(pos, "a field past the end");
    const std::string_view key(p + pos, key_len);
    pos += key_len;
    if (pos >= end || !length(&value_len)) return invalid(pos, "a value past the end");
    if (pos >= end) return invalid(pos, "a value past the end");
    const size_t free = static_cast<uint8_t>(p[pos]);  // unused bytes after the value
    pos += 1;
    if (end - pos < value_len || end - pos - value_len < free) {
      return invalid(pos, "a value past the end");
    }
    emit(key);
    emit(std::string_view(p + pos, value_len));
    pos += value_len + free;
    ++count;
  }
  if (count == 0) return invalid(0, "empty");
  if (header_count < kBigLen && header_count != count) {
    return invalid(0, absl::StrCat("it says ", header_count, " entries and holds ", count));
  }
  return absl::OkStatus();
}

}  // namespace xdpkv::rdb
