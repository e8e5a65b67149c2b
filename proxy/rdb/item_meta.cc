#include "proxy/rdb/item_meta.h"

#include <algorithm>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace xdpkv::rdb {
namespace {

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    if (shift == 63 && byte > 1) return false;  // past 64 bits
    result |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

}  // namespace

std::string EncodeItemMeta(std::span<const ItemMeta> items) {
  uint64_t base = std::numeric_limits<uint64_t>::max();
  for (const ItemMeta& item : items) base = std::min(base, item.cas);
  if (items.empty()) base = 0;
  std::string out(1, '\0');
  PutVarint(&out, items.size());
  PutVarint(&out, base);
  for (const ItemMeta& item : items) {
    PutVarint(&out, item.flags);
    PutVarint(&out, item.cas - base);
  }
  return out;
}

absl::StatusOr<std::vector<ItemMeta>> DecodeItemMeta(std::string_view value) {
  auto bad = [](const char* why) {
    return absl::InvalidArgumentError(absl::StrCat("bad xdpkv-mc field: ", why));
  };
  if (value.empty() || value[0] != '\0') return bad("unknown format");
  value.remove_prefix(1);
  uint64_t count = 0, base = 0;
  if (!GetVarint(&value, &count) || !GetVarint(&value, &base)) return bad("truncated");
  // Each entry takes at least two bytes: a count beyond that is a lie.
  if (count > value.size() / 2) return bad("more entries than bytes");
  std::vector<ItemMeta> items(count);
  for (ItemMeta& item : items) {
    uint64_t flags = 0, delta = 0;
    if (!GetVarint(&value, &flags) || !GetVarint(&value, &delta)) return bad("truncated");
    if (flags > std::numeric_limits<uint32_t>::max()) return bad("flags above 32 bits");
    if (delta > std::numeric_limits<uint64_t>::max() - base) return bad("CAS above 64 bits");
    item.flags = static_cast<uint32_t>(flags);
    item.cas = base + delta;
  }
  if (!value.empty()) return bad("bytes after the last entry");
  return items;
}

}  // namespace xdpkv::rdb
