// The per-type readers, a row each in kTypes. Every encoding of a type
// xdpkv holds comes back as that type's Value (as Redis 7.0's
// rdbLoadObject reads it); streams and module values are read past.
#include "proxy/rdb/rdb_types.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "proxy/rdb/compact_encodings.h"

namespace xdpkv::rdb {
namespace {

uint64_t LittleEndian(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// One collection's elements as they are read: kept while they fit
// ReaderOptions::max_collection_bytes, then only counted.
class Elements {
 public:
  explicit Elements(const Reader& r) : max_bytes_(r.options().max_collection_bytes) {}

  void Add(std::string_view s) {
    ++count_;
    if (Fits(s.size() + kElementOverhead)) strings_.emplace_back(s);
  }
  void Add(std::string&& s) {
    ++count_;
    if (Fits(s.size() + kElementOverhead)) strings_.push_back(std::move(s));
  }
  void AddScore(double score) {
    if (Fits(8)) scores_.push_back(score);
  }
  // For the compact encodings' decoders.
  auto Adder() {
    return [this](std::string_view s) { Add(s); };
  }

  bool oversized() const { return oversized_; }
  uint64_t count() const { return count_; }  // strings, kept or not
  std::vector<std::string>& strings() { return strings_; }
  std::vector<double>& scores() { return scores_; }

 private:
  bool Fits(uint64_t bytes) {
    bytes_ += bytes;
    if (!oversized_ && bytes_ > max_bytes_) {
      oversized_ = true;
      std::vector<std::string>().swap(strings_);
      std::vector<double>().swap(scores_);
    }
    return !oversized_;
  }

  uint64_t max_bytes_;
  uint64_t bytes_ = 0;
  uint64_t count_ = 0;
  bool oversized_ = false;
  std::vector<std::string> strings_;
  std::vector<double> scores_;
};

// The index of the first string repeated in `strings` at `stride` (0:
// every one; 2, first: every other one from `first`), or -1.
int64_t FirstRepeat(const std::vector<std::string>& strings, size_t first = 0, size_t stride = 1) {
  absl::flat_hash_set<std::string_view> seen;
  seen.reserve(strings.size() / stride + 1);
  for (size_t i = first; i < strings.size(); i += stride) {
    if (!seen.insert(strings[i]).second) return static_cast<int64_t>(i);
  }
  return -1;
}

absl::Status MakeList(Elements& e, Value* value) {
  if (e.oversized()) {
    *value = Oversized{};
  } else {
    *value = ListValue{std::move(e.strings())};
  }
  return absl::OkStatus();
}

// Redis refuses a set with a repeated member ("Duplicate set members
// detected"), and so a file holding one.
absl::Status MakeSet(Reader& r, Elements& e, Value* value) {
  if (e.oversized()) {
    *value = Oversized{};
    return absl::OkStatus();
  }
  if (FirstRepeat(e.strings()) >= 0) return r.Corrupt("a set with a repeated member");
  *value = SetValue{std::move(e.strings())};
  return absl::OkStatus();
}

// Fields and values alternately.
absl::Status MakeHash(Reader& r, Elements& e, Value* value) {
  if (e.count() % 2 != 0) return r.Corrupt("a hash with a field without its value");
  if (e.oversized()) {
    *value = Oversized{};
    return absl::OkStatus();
  }
  std::vector<std::string>& s = e.strings();
  if (FirstRepeat(s, 0, 2) >= 0) return r.Corrupt("a hash with a repeated field");
  HashValue hash;
  hash.fields.reserve(s.size() / 2);
  for (size_t i = 0; i + 1 < s.size(); i += 2) {
    hash.fields.emplace_back(std::move(s[i]), std::move(s[i + 1]));
  }
  *value = std::move(hash);
  return absl::OkStatus();
}

// Members, then (scores empty) their scores as text alternately with them,
// as ziplists and listpacks hold them; else e.scores() holds them.
absl::Status MakeZset(Reader& r, Elements& e, bool text_scores, Value* value) {
  if (text_scores && e.count() % 2 != 0) return r.Corrupt("a sorted set member without its score");
  if (e.oversized()) {
    *value = Oversized{};
    return absl::OkStatus();
  }
  std::vector<std::string>& s = e.strings();
  const size_t stride = text_scores ? 2 : 1;
  if (FirstRepeat(s, 0, stride) >= 0) return r.Corrupt("a sorted set with a repeated member");
  ZsetValue zset;
  zset.entries.reserve(s.size() / stride);
  for (size_t i = 0; i < s.size(); i += stride) {
    double score;
    if (text_scores) {
      // Redis's zzlStrtod: strtod over at most 127 bytes, nothing checked.
      const std::string text = s[i + 1].substr(0, 127);
      score = std::strtod(text.c_str(), nullptr);
    } else {
      score = e.scores()[i];
    }
    if (std::isnan(score)) return r.Corrupt("a sorted set score that is NaN");
    zset.entries.push_back({std::move(s[i]), score});
  }
  *value = std::move(zset);
  return absl::OkStatus();
}

// A compact encoding's blob, decoded into `e`.
absl::Status ReadBlob(Reader& r, absl::Status (*decode)(std::string_view, ElementFn), Elements& e) {
  auto blob = r.ReadString();
  if (!blob.ok()) return blob.status();
  if (auto status = decode(*blob, e.Adder()); !status.ok())
    return r.Corrupt(std::string(status.message()));
  return absl::OkStatus();
}

// `per` strings for each of a count.
absl::Status ReadStrings(Reader& r, int per, Elements& e) {
  auto count = r.ReadCount(per);
  if (!count.ok()) return count.status();
  for (uint64_t i = 0; i < *count * per; ++i) {
    auto s = r.ReadString();
    if (!s.ok()) return s.status();
    e.Add(std::move(*s));
  }
  return absl::OkStatus();
}

// ---- the per-type readers ----

absl::Status ReadStringType(Reader& r, uint8_t, Value* value) {
  auto s = r.ReadString();
  if (!s.ok()) return s.status();
  *value = StringValue{std::move(*s)};
  return absl::OkStatus();
}

absl::Status ReadList(Reader& r, uint8_t type, Value* value) {
  Elements e(r);
  const absl::Status read =
      type == kTypeList ? ReadStrings(r, 1, e) : ReadBlob(r, DecodeZiplist, e);  // list-ziplist
  if (!read.ok()) return read;
  return MakeList(e, value);
}

absl::Status ReadSet(Reader& r, uint8_t type, Value* value) {
  Elements e(r);
  const absl::Status read = type == kTypeSet         ? ReadStrings(r, 1, e)
                            : type == kTypeSetIntset ? ReadBlob(r, DecodeIntset, e)
                                                     : ReadBlob(r, DecodeListpack, e);
  if (!read.ok()) return read;
  return MakeSet(r, e, value);
}

absl::Status ReadHash(Reader& r, uint8_t type, Value* value) {
  Elements e(r);
  const absl::Status read = type == kTypeHash          ? ReadStrings(r, 2, e)
                            : type == kTypeHashZipmap  ? ReadBlob(r, DecodeZipmap, e)
                            : type == kTypeHashZiplist ? ReadBlob(r, DecodeZiplist, e)
                                                       : ReadBlob(r, DecodeListpack, e);
  if (!read.ok()) return read;
  return MakeHash(r, e, value);
}

// Sorted sets in ziplists and listpacks: member, score as text.
absl::Status ReadZsetCompact(Reader& r, uint8_t type, Value* value) {
  Elements e(r);
  const absl::Status read =
      ReadBlob(r, type == kTypeZsetZiplist ? DecodeZiplist : DecodeListpack, e);
  if (!read.ok()) return read;
  return MakeZset(r, e, /*text_scores=*/true, value);
}

// Sorted sets in their plain encodings: member, then the score, a binary
// double (ZSET_2), or before RDB 8 as text with a one-byte length (253
// NaN, 254 +inf, 255 -inf carry no text).
absl::Status ReadZset(Reader& r, uint8_t type, Value* value) {
  Elements e(r);
  auto count = r.ReadCount(type == kTypeZset2 ? 9 : 2);
  if (!count.ok()) return count.status();
  for (uint64_t i = 0; i < *count; ++i) {
    auto member = r.ReadString();
    if (!member.ok()) return member.status();
    e.Add(std::move(*member));
    double score;
    if (type == kTypeZset2) {
      char raw[8];
      if (auto status = r.ReadBytes(raw, 8); !status.ok()) return status;
      const uint64_t bits = LittleEndian(raw, 8);
      std::memcpy(&score, &bits, sizeof(score));
    } else {
      auto len = r.ReadByte();
      if (!len.ok()) return len.status();
      if (*len == 253) return r.Corrupt("a sorted set score that is NaN");
      if (*len >= 254) {
        score = *len == 254 ? INFINITY : -INFINITY;
      } else {
        char text[256];
        if (auto status = r.ReadBytes(text, *len); !status.ok()) return status;
        text[*len] = '\0';
        char* end = nullptr;
        score = std::strtod(text, &end);  // Redis: sscanf "%lg"
        if (end == text) return r.Corrupt("a sorted set score that is not a number");
      }
    }
    e.AddScore(score);
  }
  return MakeZset(r, e, /*text_scores=*/false, value);
}

// Quicklists: nodes of ziplists (v1) or, v2, each a listpack (PACKED) or
// one element (PLAIN, Redis 7's large elements). Empty nodes are left out,
// as Redis does.
absl::Status ReadQuicklist(Reader& r, uint8_t type, Value* value) {
  constexpr uint64_t kPlain = 1, kPacked = 2;
  Elements e(r);
  auto nodes = r.ReadCount(type == kTypeListQuicklist ? 1 : 2);
  if (!nodes.ok()) return nodes.status();
  for (uint64_t i = 0; i < *nodes; ++i) {
    uint64_t container = kPacked;
    if (type == kTypeListQuicklist2) {
      auto read = r.ReadLength();
      if (!read.ok()) return read.status();
      container = *read;
      if (container != kPlain && container != kPacked) {
        return r.Corrupt(absl::StrCat("a quicklist node of unknown container ", container));
      }
    }
    if (container == kPlain) {
      auto element = r.ReadString();
      if (!element.ok()) return element.status();
      e.Add(std::move(*element));
      continue;
    }
    const absl::Status read =
        ReadBlob(r, type == kTypeListQuicklist ? DecodeZiplist : DecodeListpack, e);
    if (!read.ok()) return read;
  }
  return MakeList(e, value);
}

// Module values of the module-2 format: the module id, then typed fields
// up to their EOF; readable without the module.
absl::Status SkipModule2(Reader& r, uint8_t, Value* value) {
  *value = Skipped{};
  if (auto id = r.ReadLength(); !id.ok()) return id.status();
  return r.SkipModuleFields();
}

absl::Status RefuseModulePreGa(Reader& r, uint8_t, Value*) {
  return r.Corrupt(
      "a module value in the pre-GA module format (type 6), which cannot be read without its "
      "module");
}

// Streams (Redis 5 to 7.2, three layouts): listpacks keyed by node ID,
// the stream's counters, then consumer groups with their pending entries
// and consumers, as rdbLoadObject reads them.
absl::Status SkipStream(Reader& r, uint8_t type, Value* value) {
  *value = Skipped{};
  const bool v2 = type >= kTypeStreamListpacks2, v3 = type >= kTypeStreamListpacks3;
  auto lens = [&](int n) -> absl::Status {
    for (int i = 0; i < n; ++i) {
      if (auto len = r.ReadLength(); !len.ok()) return len.status();
    }
    return absl::OkStatus();
  };
  auto nodes = r.ReadCount(2);
  if (!nodes.ok()) return nodes.status();
  for (uint64_t i = 0; i < *nodes * 2; ++i) {
    if (auto status = r.SkipString(); !status.ok()) return status;
  }
  // length, last id; v2: first id, max deleted id, entries added.
  if (auto status = lens(v2 ? 8 : 3); !status.ok()) return status;
  auto groups = r.ReadCount(3);
  if (!groups.ok()) return groups.status();
  for (uint64_t g = 0; g < *groups; ++g) {
    if (auto status = r.SkipString(); !status.ok()) return status;
    if (auto status = lens(v2 ? 3 : 2); !status.ok()) return status;  // last id, entries read
    auto pending = r.ReadCount(16 + 8 + 1);
    if (!pending.ok()) return pending.status();
    for (uint64_t p = 0; p < *pending; ++p) {
      if (auto status = r.Skip(16 + 8); !status.ok()) return status;  // id, delivery time
      if (auto status = lens(1); !status.ok()) return status;         // delivery count
    }
    auto consumers = r.ReadCount(1 + 8 + 1);
    if (!consumers.ok()) return consumers.status();
    for (uint64_t c = 0; c < *consumers; ++c) {
      if (auto status = r.SkipString(); !status.ok()) return status;
      if (auto status = r.Skip(v3 ? 16 : 8); !status.ok()) return status;  // seen (active) time
      auto owned = r.ReadCount(16);
      if (!owned.ok()) return owned.status();
      if (auto status = r.Skip(*owned * 16); !status.ok()) return status;
    }
  }
  return absl::OkStatus();
}

// Every value type: how it is read. A type xdpkv learns to hold gets a
// decoder here in place of its skipper (and a Value alternative).
constexpr TypeRow kTypes[] = {
    {kTypeString, "string", ReadStringType},
    {kTypeList, "list", ReadList},
    {kTypeSet, "set", ReadSet},
    {kTypeZset, "zset", ReadZset},
    {kTypeHash, "hash", ReadHash},
    {kTypeZset2, "zset", ReadZset},
    {kTypeModulePreGa, "module-pre-ga", RefuseModulePreGa},
    {kTypeModule2, "module", SkipModule2},
    {kTypeHashZipmap, "hash-zipmap", ReadHash},
    {kTypeListZiplist, "list-ziplist", ReadList},
    {kTypeSetIntset, "set-intset", ReadSet},
    {kTypeZsetZiplist, "zset-ziplist", ReadZsetCompact},
    {kTypeHashZiplist, "hash-ziplist", ReadHash},
    {kTypeListQuicklist, "list-quicklist", ReadQuicklist},
    {kTypeStreamListpacks, "stream", SkipStream},
    {kTypeHashListpack, "hash-listpack", ReadHash},
    {kTypeZsetListpack, "zset-listpack", ReadZsetCompact},
    {kTypeListQuicklist2, "list-quicklist", ReadQuicklist},
    {kTypeStreamListpacks2, "stream", SkipStream},
    {kTypeSetListpack, "set-listpack", ReadSet},
    {kTypeStreamListpacks3, "stream", SkipStream},
};

}  // namespace

const TypeRow* FindType(uint8_t type) {
  for (const TypeRow& row : kTypes) {
    if (row.type == type) return &row;
  }
  return nullptr;
}

std::string_view TypeName(uint8_t type) {
  const TypeRow* row = FindType(type);
  return row == nullptr ? std::string_view() : row->name;
}

}  // namespace xdpkv::rdb
