// The stored encodings of Redis's types other than strings (the item's
// type says which; docs/architecture.md, "Redis's types"). A value is
// decoded, changed and encoded again whole by one read-modify-write of its
// item (Store::Mutate), which makes every command atomic against every
// other writer, the kernel's included, as Redis's are; the price is O(size)
// per command, as Redis's listpack encoding pays for small collections,
// and the 1 MiB value limit bounds a collection's encoding.
#ifndef XDPKV_PROXY_TYPED_VALUE_H_
#define XDPKV_PROXY_TYPED_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace xdpkv {

// A hash: its fields in insertion order (the order Redis keeps a small
// hash in, so HGETALL's replies match Redis's for them).
// Encoding: for each field, its length and bytes, then its value's
// (lengths as 4-byte little-endian).
class HashValue {
 public:
  using Field = std::pair<std::string, std::string>;

  // nullopt if `bytes` is not a hash's encoding.
  static std::optional<HashValue> Decode(std::string_view bytes);
  std::string Encode() const;
  // The hash of `fields`, whose names are distinct, in their order (a
  // snapshot's load: one pass, where Set would search each time).
  static HashValue FromDistinct(std::vector<Field> fields);

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  const std::vector<Field>& fields() const { return fields_; }
  // The field's value, or nullptr.
  const std::string* Find(std::string_view field) const;
  // Sets a field; true when it is new (appended), false when replaced in
  // place.
  bool Set(std::string_view field, std::string_view value);
  // True when the field was there.
  bool Erase(std::string_view field);

 private:
  std::vector<Field> fields_;
};

// A list: its elements, head first.
// Encoding: each element's length and bytes.
class ListValue {
 public:
  // nullopt if `bytes` is not a list's encoding.
  static std::optional<ListValue> Decode(std::string_view bytes);
  std::string Encode() const;

  size_t size() const { return elements_.size(); }
  bool empty() const { return elements_.empty(); }
  std::deque<std::string>& elements() { return elements_; }
  const std::deque<std::string>& elements() const { return elements_; }

 private:
  std::deque<std::string> elements_;
};

// A set, as Redis 7.0 keeps one: an intset while every member is an
// integer (Redis's string2ll) and there are at most 512 of them
// (set-max-intset-entries), its members in numeric order, which Redis's
// replies show; otherwise, from its first non-integer member or its 513th
// member on, and never back, a hash table, whose order Redis leaves
// arbitrary (here: by bytes, so lookups are binary searches).
// Encoding: one byte (0 intset, 1 hash table), then each member's length
// and bytes, in that order.
class SetValue {
 public:
  static constexpr size_t kMaxIntsetEntries = 512;

  // nullopt if `bytes` is not a set's encoding.
  static std::optional<SetValue> Decode(std::string_view bytes);
  std::string Encode() const;
  // The set of `members`, which are distinct, in the encoding Redis 7.0
  // loads it in from a dump (an intset if they fit one, as its
  // rdbLoadObject decides): one sort, where Add would insert each.
  static SetValue FromDistinct(std::vector<std::string> members);

  bool intset() const { return intset_; }
  size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }
  const std::vector<std::string>& members() const { return members_; }
  bool Contains(std::string_view member) const;
  // True when it is new. May turn an intset into a hash table.
  bool Add(std::string_view member);
  // True when it was there.
  bool Remove(std::string_view member);
  void RemoveAt(size_t index) { members_.erase(members_.begin() + static_cast<ptrdiff_t>(index)); }

 private:
  // Where `member` is or would go; `found` says which.
  size_t Find(std::string_view member, bool* found) const;
  void ConvertToHashtable();

  bool intset_ = true;  // an empty set is an intset, as Redis's createIntsetObject
  std::vector<std::string> members_;
};

// A sorted set: (score, member) pairs ordered by score, then by member's
// bytes, as Redis orders them; no score is NaN.
// Encoding: for each pair in that order, the score (8 bytes, IEEE 754
// little-endian), then the member's length and bytes.
class ZSetValue {
 public:
  struct Entry {
    double score;
    std::string member;
  };

  // nullopt if `bytes` is not a sorted set's encoding.
  static std::optional<ZSetValue> Decode(std::string_view bytes);
  std::string Encode() const;
  // The sorted set of `entries`, whose members are distinct and scores
  // not NaN, in any order: one sort, where Set would insert each.
  static ZSetValue FromDistinct(std::vector<Entry> entries);

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<Entry>& entries() const { return entries_; }
  std::optional<double> Score(std::string_view member) const;
  // 0-based position from the lowest, or nullopt.
  std::optional<size_t> Rank(std::string_view member) const;
  // Adds the member or moves it to `score`; true when it is new.
  bool Set(std::string_view member, double score);
  // True when it was there.
  bool Erase(std::string_view member);
  // Removes positions [from, to).
  void EraseRange(size_t from, size_t to);

 private:
  // The first position not before (score, member).
  size_t LowerBound(double score, std::string_view member) const;

  std::vector<Entry> entries_;
  absl::flat_hash_map<std::string, double> scores_;
};

}  // namespace xdpkv

#endif  // XDPKV_PROXY_TYPED_VALUE_H_
