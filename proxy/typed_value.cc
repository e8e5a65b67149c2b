#include "proxy/typed_value.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "protocol/values.h"

namespace xdpkv {
namespace {

void PutLength(std::string* out, size_t n) {
  const uint32_t v = static_cast<uint32_t>(n);
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads one length-prefixed string at *pos; false if it runs past the end.
bool GetString(std::string_view bytes, size_t* pos, std::string* out) {
  if (bytes.size() - *pos < 4) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) {
    n |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[*pos + i])) << (8 * i);
  }
  *pos += 4;
  if (bytes.size() - *pos < n) return false;
  out->assign(bytes.substr(*pos, n));
  *pos += n;
  return true;
}

void PutScore(std::string* out, double score) {
  const uint64_t v = std::bit_cast<uint64_t>(score);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool GetScore(std::string_view bytes, size_t* pos, double* score) {
  if (bytes.size() - *pos < 8) return false;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[*pos + i])) << (8 * i);
  }
  *pos += 8;
  *score = std::bit_cast<double>(v);
  return true;
}

// The elements of a list's or set's encoding from `pos` on; false if
// malformed.
template <typename Container>
bool GetStrings(std::string_view bytes, size_t pos, Container* out) {
  while (pos < bytes.size()) {
    std::string s;
    if (!GetString(bytes, &pos, &s)) return false;
    out->push_back(std::move(s));
  }
  return true;
}

template <typename Container>
void PutStrings(std::string* out, const Container& strings) {
  size_t total = out->size();
  for (const std::string& s : strings) total += 4 + s.size();
  out->reserve(total);
  for (const std::string& s : strings) {
    PutLength(out, s.size());
    out->append(s);
  }
}

// An intset's order: numeric. Both are integers (checked on entry).
bool IntLess(std::string_view a, std::string_view b) {
  return *ParseRedisInteger(a) < *ParseRedisInteger(b);
}

// Sorted sets' order: score, then the member's bytes (Redis's sdscmp).
bool EntryLess(double score_a, std::string_view a, double score_b, std::string_view b) {
  return score_a < score_b || (score_a == score_b && a < b);
}

}  // namespace

std::optional<HashValue> HashValue::Decode(std::string_view bytes) {
  HashValue hash;
  size_t pos = 0;
  while (pos < bytes.size()) {
    Field field;
    if (!GetString(bytes, &pos, &field.first) || !GetString(bytes, &pos, &field.second)) {
      return std::nullopt;
    }
    hash.fields_.push_back(std::move(field));
  }
  return hash;
}

std::string HashValue::Encode() const {
  size_t total = 0;
  for (const auto& [field, value] : fields_) total += 8 + field.size() + value.size();
  std::string out;
  out.reserve(total);
  for (const auto& [field, value] : fields_) {
    PutLength(&out, field.size());
    out.append(field);
    PutLength(&out, value.size());
    out.append(value);
  }
  return out;
}

HashValue HashValue::FromDistinct(std::vector<Field> fields) {
  HashValue hash;
  hash.fields_ = std::move(fields);
  return hash;
}

const std::string* HashValue::Find(std::string_view field) const {
  for (const auto& [name, value] : fields_) {
    if (name == field) return &value;
  }
  return nullptr;
}

bool HashValue::Set(std::string_view field, std::string_view value) {
  for (auto& [name, current] : fields_) {
    if (name == field) {
      current.assign(value);
      return false;
    }
  }
  fields_.emplace_back(std::string(field), std::string(value));
  return true;
}

bool HashValue::Erase(std::string_view field) {
  for (auto it = fields_.begin(); it != fields_.end(); ++it) {
    if (it->first == field) {
      fields_.erase(it);
      return true;
    }
  }
  return false;
}

// --- lists -------------------------------------------------------------------------

std::optional<ListValue> ListValue::Decode(std::string_view bytes) {
  ListValue list;
  if (!GetStrings(bytes, 0, &list.elements_)) return std::nullopt;
  return list;
}

std::string ListValue::Encode() const {
  std::string out;
  PutStrings(&out, elements_);
  return out;
}

// --- sets --------------------------------------------------------------------------

std::optional<SetValue> SetValue::Decode(std::string_view bytes) {
  if (bytes.empty() || static_cast<unsigned char>(bytes[0]) > 1) return std::nullopt;
  SetValue set;
  set.intset_ = bytes[0] == 0;
  if (!GetStrings(bytes, 1, &set.members_)) return std::nullopt;
  if (set.intset_) {
    if (set.members_.size() > kMaxIntsetEntries) return std::nullopt;
    for (const std::string& member : set.members_) {
      if (!ParseRedisInteger(member)) return std::nullopt;
    }
  }
  for (size_t i = 1; i < set.members_.size(); ++i) {
    const std::string& a = set.members_[i - 1];
    const std::string& b = set.members_[i];
    if (set.intset_ ? !IntLess(a, b) : !(a < b)) return std::nullopt;  // sorted, no repeats
  }
  return set;
}

std::string SetValue::Encode() const {
  std::string out(1, intset_ ? '\0' : '\1');
  PutStrings(&out, members_);
  return out;
}

SetValue SetValue::FromDistinct(std::vector<std::string> members) {
  SetValue set;
  set.intset_ = members.size() <= kMaxIntsetEntries &&
                std::all_of(members.begin(), members.end(),
                            [](const std::string& m) { return ParseRedisInteger(m).has_value(); });
  set.members_ = std::move(members);
  if (set.intset_) {
    std::sort(set.members_.begin(), set.members_.end(), IntLess);
  } else {
    std::sort(set.members_.begin(), set.members_.end());
  }
  return set;
}

size_t SetValue::Find(std::string_view member, bool* found) const {
  auto it = members_.begin();
  if (intset_) {
    const auto n = ParseRedisInteger(member);
    if (!n) {
      *found = false;
      return members_.size();
    }
    it = std::lower_bound(members_.begin(), members_.end(), *n,
                          [](const std::string& m, int64_t v) { return *ParseRedisInteger(m) < v; });
  } else {
    it = std::lower_bound(members_.begin(), members_.end(), member,
                          [](const std::string& m, std::string_view v) { return m < v; });
  }
  *found = it != members_.end() && *it == member;
  return static_cast<size_t>(it - members_.begin());
}

bool SetValue::Contains(std::string_view member) const {
  bool found;
  Find(member, &found);
  return found;
}

bool SetValue::Add(std::string_view member) {
  if (intset_ && !ParseRedisInteger(member)) ConvertToHashtable();
  bool found;
  const size_t at = Find(member, &found);
  if (found) return false;
  members_.insert(members_.begin() + static_cast<ptrdiff_t>(at), std::string(member));
  if (intset_ && members_.size() > kMaxIntsetEntries) ConvertToHashtable();
  return true;
}

bool SetValue::Remove(std::string_view member) {
  bool found;
  const size_t at = Find(member, &found);
  if (found) RemoveAt(at);
  return found;
}

void SetValue::ConvertToHashtable() {
  intset_ = false;
  std::sort(members_.begin(), members_.end());
}

// --- sorted sets -------------------------------------------------------------------

std::optional<ZSetValue> ZSetValue::Decode(std::string_view bytes) {
  ZSetValue zset;
  size_t pos = 0;
  while (pos < bytes.size()) {
    Entry entry;
    if (!GetScore(bytes, &pos, &entry.score) || std::isnan(entry.score) ||
        !GetString(bytes, &pos, &entry.member)) {
      return std::nullopt;
    }
    if (!zset.entries_.empty()) {
      const Entry& last = zset.entries_.back();
      if (!EntryLess(last.score, last.member, entry.score, entry.member)) return std::nullopt;
    }
    if (!zset.scores_.emplace(entry.member, entry.score).second) return std::nullopt;
    zset.entries_.push_back(std::move(entry));
  }
  return zset;
}

std::string ZSetValue::Encode() const {
  size_t total = 0;
  for (const Entry& entry : entries_) total += 12 + entry.member.size();
  std::string out;
  out.reserve(total);
  for (const Entry& entry : entries_) {
    PutScore(&out, entry.score);
    PutLength(&out, entry.member.size());
    out.append(entry.member);
  }
  return out;
}

ZSetValue ZSetValue::FromDistinct(std::vector<Entry> entries) {
  ZSetValue zset;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return EntryLess(a.score, a.member, b.score, b.member);
  });
  zset.scores_.reserve(entries.size());
  for (const Entry& entry : entries) zset.scores_.emplace(entry.member, entry.score);
  zset.entries_ = std::move(entries);
  return zset;
}

std::optional<double> ZSetValue::Score(std::string_view member) const {
  auto it = scores_.find(absl::string_view(member.data(), member.size()));
  if (it == scores_.end()) return std::nullopt;
  return it->second;
}

size_t ZSetValue::LowerBound(double score, std::string_view member) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), std::pair{score, member},
                             [](const Entry& e, const std::pair<double, std::string_view>& v) {
                               return EntryLess(e.score, e.member, v.first, v.second);
                             });
  return static_cast<size_t>(it - entries_.begin());
}

std::optional<size_t> ZSetValue::Rank(std::string_view member) const {
  const auto score = Score(member);
  if (!score) return std::nullopt;
  return LowerBound(*score, member);
}

bool ZSetValue::Set(std::string_view member, double score) {
  const auto current = Score(member);
  if (current) {
    const size_t at = LowerBound(*current, member);
    entries_.erase(entries_.begin() + static_cast<ptrdiff_t>(at));
  }
  const size_t at = LowerBound(score, member);
  entries_.insert(entries_.begin() + static_cast<ptrdiff_t>(at), Entry{score, std::string(member)});
  scores_.insert_or_assign(std::string(member), score);
  return !current;
}

bool ZSetValue::Erase(std::string_view member) {
  const auto current = Score(member);
  if (!current) return false;
  entries_.erase(entries_.begin() + static_cast<ptrdiff_t>(LowerBound(*current, member)));
  scores_.erase(scores_.find(absl::string_view(member.data(), member.size())));
  return true;
}

void ZSetValue::EraseRange(size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) scores_.erase(scores_.find(entries_[i].member));
  entries_.erase(entries_.begin() + static_cast<ptrdiff_t>(from),
                 entries_.begin() + static_cast<ptrdiff_t>(to));
}

}  // namespace xdpkv
