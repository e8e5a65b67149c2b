// Redis's list family: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE
// LINDEX LSET LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH, with Redis 7.0's
// replies and errors (t_list.c). A list is one item of type list whose
// value is its encoding (proxy/typed_value.h), read and changed through
// redis_typed.h: one Store::Mutate per key written. The blocking commands
// (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP) and LMPOP are redis_blocking.cc's.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "proxy/commands/redis_family.h"
#include "proxy/commands/redis_typed.h"
#include "proxy/typed_value.h"

namespace xdpkv::redis {
namespace {

enum class End { kLeft, kRight };

// Redis's index arithmetic (addListRangeReply, ltrimCommand): negative
// counts from the end; the range [start, end] clipped to the list, or
// empty (start > end).
struct Range {
  int64_t start, end;
  bool empty() const { return start > end; }
};
Range Clip(int64_t start, int64_t end, int64_t size) {
  if (start < 0) start += size;
  if (end < 0) end += size;
  if (start < 0) start = 0;
  if (start > end || start >= size) return {1, 0};
  if (end >= size) end = size - 1;
  return {start, end};
}

// An index into a list of `size` (negative from the end), or nullopt
// when outside it.
std::optional<size_t> Index(int64_t index, size_t size) {
  const int64_t n = static_cast<int64_t>(size);
  if (index < 0) index += n;
  if (index < 0 || index >= n) return std::nullopt;
  return static_cast<size_t>(index);
}

std::string PopEnd(ListValue& list, End end) {
  auto& elements = list.elements();
  std::string value;
  if (end == End::kLeft) {
    value = std::move(elements.front());
    elements.pop_front();
  } else {
    value = std::move(elements.back());
    elements.pop_back();
  }
  return value;
}

void PushEnd(ListValue& list, End end, std::string value) {
  end == End::kLeft ? list.elements().push_front(std::move(value))
                    : list.elements().push_back(std::move(value));
}

// --- writes ----------------------------------------------------------------------

// LPUSH RPUSH LPUSHX RPUSHX (pushGenericCommand); `only_existing`: the X
// forms.
void Push(Call& call, End end, bool only_existing) {
  int64_t length = 0;
  const bool ok = MutateTyped<ListValue>(call, call.args[1], [&](ListValue& list) {
    length = 0;
    if (only_existing && list.empty()) return false;
    for (size_t i = 2; i < call.args.size(); ++i) PushEnd(list, end, std::string(call.args[i]));
    length = static_cast<int64_t>(list.size());
    return true;
  });
  if (ok) call.Integer(length);
}

// LPOP RPOP key [count] (popGenericCommand): without a count one element
// or nil; with one an array (nil when the key is absent).
void Pop(Call& call, End end) {
  if (call.args.size() > 3) {
    return call.Error(absl::StrCat("ERR wrong number of arguments for '",
                                   end == End::kLeft ? "lpop" : "rpop", "' command"));
  }
  const bool has_count = call.args.size() == 3;
  int64_t count = 1;
  if (has_count) {
    const auto n = NonNegativeArg(call, call.args[2]);
    if (!n) return;
    count = *n;
  }
  bool existed = false;
  std::vector<std::string> popped;
  const bool ok = MutateTyped<ListValue>(call, call.args[1], [&](ListValue& list) {
    existed = !list.empty();
    popped.clear();
    while (!list.empty() && static_cast<int64_t>(popped.size()) < count) {
      popped.push_back(PopEnd(list, end));
    }
    return !popped.empty();
  });
  if (!ok) return;
  if (!existed) return has_count ? resp::AppendNullArray(call.out) : call.Null();
  if (!has_count) return call.Bulk(popped[0]);
  resp::AppendArrayHeader(call.out, popped.size());
  for (const std::string& value : popped) call.Bulk(value);
}

void LSet(Call& call) {
  const auto index = ParseRedisInteger(call.args[2]);
  enum { kSet, kNoKey, kNotInteger, kOutOfRange } outcome = kSet;
  const bool ok = MutateTyped<ListValue>(call, call.args[1], [&](ListValue& list) {
    // Redis looks the key up before it reads the index.
    outcome = list.empty() ? kNoKey : !index ? kNotInteger : kSet;
    if (outcome != kSet) return false;
    const auto at = Index(*index, list.size());
    if (!at) {
      outcome = kOutOfRange;
      return false;
    }
    list.elements()[*at] = std::string(call.args[3]);
    return true;
  });
  if (!ok) return;
  switch (outcome) {
    case kSet:
      return call.Ok();
    case kNoKey:
      return call.Error("ERR no such key");
    case kNotInteger:
      return call.Error(redis::kNotInteger);
    case kOutOfRange:
      return call.Error("ERR index out of range");
  }
}

void LInsert(Call& call) {
  bool after;
  if (Is(call.args[2], "after")) {
    after = true;
  } else if (Is(call.args[2], "before")) {
    after = false;
  } else {
    return call.Error(kSyntax);
  }
  int64_t reply = 0;
  const bool ok = MutateTyped<ListValue>(call, call.args[1], [&](ListValue& list) {
    reply = 0;
    if (list.empty()) return false;
    auto& elements = list.elements();
    for (auto it = elements.begin(); it != elements.end(); ++it) {
      if (*it == call.args[3]) {
        elements.insert(after ? it + 1 : it, std::string(call.args[4]));
        reply = static_cast<int64_t>(elements.size());
        return true;
      }
    }
    reply = -1;
    return false;
  });
  if (ok) call.Integer(reply);
}

// LREM key count element: count > 0 from the head, < 0 from the tail, 0
// all.
void LRem(Call& call) {
  const auto count = IntegerArg(call, call.args[2]);
  if (!count) return;
  int64_t removed = 0;
  const bool ok = MutateTyped<ListValue>(call, call.args[1], [&](ListValue& list) {
    removed = 0;
    auto& elements = list.elements();
    // |count| without overflow for INT64_MIN (any count that large is all).
    const uint64_t limit =
        *count < 0 ? 0 - static_cast<uint64_t>(*count) : static_cast<uint64_t>(*count);
    std::deque<std::string> kept;
    const size_t n = elements.size();
    for (size_t k = 0; k < n; ++k) {
      const size_t i = *count < 0 ? n - 1 - k : k;
      const bool remove =
          elements[i] == call.args[3] && (limit == 0 || static_cast<uint64_t>(removed) < limit);
      if (remove) {
        ++removed;
      } else {
        *count < 0 ? kept.push_front(std::move(elements[i]))
                   : kept.push_back(std::move(elements[i]));
      }
    }
    elements = std::move(kept);
    return removed > 0;
  });
  if (ok) call.Integer(removed);
}

void LTrim(Call& call) {
  const auto start = IntegerArg(call, call.args[2]);
  if (!start) return;
  const auto end = IntegerArg(call, call.args[3]);
  if (!end) return;
  const bool ok = MutateTyped<ListValue>(call, call.args[1], [&](ListValue& list) {
    if (list.empty()) return false;
    auto& elements = list.elements();
    const Range range = Clip(*start, *end, static_cast<int64_t>(elements.size()));
    if (range.empty()) {
      elements.clear();
    } else {
      elements.erase(elements.begin() + range.end + 1, elements.end());
      elements.erase(elements.begin(), elements.begin() + range.start);
    }
    return true;
  });
  if (ok) call.Ok();
}

// LMOVE source destination LEFT|RIGHT LEFT|RIGHT, and RPOPLPUSH. Source
// and destination are two writes (one Mutate each): not atomic across the
// two keys (docs/protocols.md).
void Move(Call& call, End from, End to) {
  const std::string_view source = call.args[1], destination = call.args[2];
  std::optional<std::string> moved;
  if (source == destination) {
    const bool ok = MutateTyped<ListValue>(call, source, [&](ListValue& list) {
      moved.reset();
      if (list.empty()) return false;
      moved = PopEnd(list, from);
      PushEnd(list, to, *moved);
      return true;
    });
    if (ok) call.BulkOrNull(moved);
    return;
  }
  // Redis's order: an absent source is nil, then both keys' types.
  bool failed;
  auto item = Read(call, source, &failed, /*count=*/false);
  if (failed) return;
  if (!item) return call.Null();
  if (item->type != ValueType::kList) return call.Error(kWrongType);
  if (DestinationRefused<ListValue>(call, destination)) return;
  const bool popped = MutateTyped<ListValue>(call, source, [&](ListValue& list) {
    moved.reset();
    if (list.empty()) return false;
    moved = PopEnd(list, from);
    return true;
  });
  if (!popped) return;
  if (!moved) return call.Null();  // emptied by another client meanwhile
  std::string out;
  Call push{call.args, call.store, call.context, call.client, &out};
  const bool pushed = MutateTyped<ListValue>(push, destination, [&](ListValue& list) {
    PushEnd(list, to, *moved);
    return true;
  });
  if (!pushed) {
    // The destination changed type meanwhile: the element goes back where
    // it was, as Redis's BLMOVE undoes its pop.
    (void)MutateTyped<ListValue>(push, source, [&](ListValue& list) {
      PushEnd(list, from, *moved);
      return true;
    });
    call.out->append(out);
    return;
  }
  call.Bulk(*moved);
}

std::optional<End> EndArg(Call& call, std::string_view arg) {
  if (Is(arg, "left")) return End::kLeft;
  if (Is(arg, "right")) return End::kRight;
  call.Error(kSyntax);
  return std::nullopt;
}

void LMove(Call& call) {
  const auto from = EndArg(call, call.args[3]);
  if (!from) return;
  const auto to = EndArg(call, call.args[4]);
  if (!to) return;
  Move(call, *from, *to);
}

// --- reads -----------------------------------------------------------------------

void LLen(Call& call) {
  bool failed;
  auto list = ReadTyped<ListValue>(call, call.args[1], &failed);
  if (!failed) call.Integer(list ? static_cast<int64_t>(list->size()) : 0);
}

void LIndex(Call& call) {
  bool failed;
  auto list = ReadTyped<ListValue>(call, call.args[1], &failed);
  if (failed) return;
  if (!list) return call.Null();
  const auto index = IntegerArg(call, call.args[2]);
  if (!index) return;
  const auto at = Index(*index, list->size());
  at ? call.Bulk(list->elements()[*at]) : call.Null();
}

void LRange(Call& call) {
  const auto start = IntegerArg(call, call.args[2]);
  if (!start) return;
  const auto end = IntegerArg(call, call.args[3]);
  if (!end) return;
  bool failed;
  auto list = ReadTyped<ListValue>(call, call.args[1], &failed);
  if (failed) return;
  const Range range = Clip(*start, *end, list ? static_cast<int64_t>(list->size()) : 0);
  if (range.empty()) return resp::AppendArrayHeader(call.out, 0);
  resp::AppendArrayHeader(call.out, static_cast<size_t>(range.end - range.start + 1));
  for (int64_t i = range.start; i <= range.end; ++i) call.Bulk(list->elements()[i]);
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
void LPos(Call& call) {
  int64_t rank = 1, count = -1, maxlen = 0;  // count -1: not given
  for (size_t j = 3; j < call.args.size(); ++j) {
    const bool more = j + 1 < call.args.size();
    if (more && Is(call.args[j], "rank")) {
      const auto n = IntegerArg(call, call.args[++j]);
      if (!n) return;
      if (*n == 0) {
        return call.Error(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
            "or use negative to start from the end of the list");
      }
      rank = *n;
    } else if (more && Is(call.args[j], "count")) {
      const auto n = NonNegativeArg(call, call.args[++j], "COUNT can't be negative");
      if (!n) return;
      count = *n;
    } else if (more && Is(call.args[j], "maxlen")) {
      const auto n = NonNegativeArg(call, call.args[++j], "MAXLEN can't be negative");
      if (!n) return;
      maxlen = *n;
    } else {
      return call.Error(kSyntax);
    }
  }
  const bool from_tail = rank < 0;
  // |rank|; INT64_MIN's is out of reach, so its first match counts (as in
  // Redis, whose negation leaves it negative).
  const uint64_t skip = rank == kInt64Min ? 1 : static_cast<uint64_t>(rank < 0 ? -rank : rank);
  bool failed;
  auto list = ReadTyped<ListValue>(call, call.args[1], &failed);
  if (failed) return;
  std::vector<int64_t> found;
  if (list) {
    const auto& elements = list->elements();
    const size_t n = elements.size();
    uint64_t matches = 0;
    for (size_t k = 0; k < n && (maxlen == 0 || static_cast<int64_t>(k) < maxlen); ++k) {
      const size_t i = from_tail ? n - 1 - k : k;
      if (elements[i] != call.args[2] || ++matches < skip) continue;
      found.push_back(static_cast<int64_t>(i));
      if (count == -1 || (count > 0 && static_cast<int64_t>(found.size()) >= count)) break;
    }
  }
  if (count == -1) return found.empty() ? call.Null() : call.Integer(found[0]);
  resp::AppendArrayHeader(call.out, found.size());
  for (int64_t i : found) call.Integer(i);
}

// The table's rows for commands that share an implementation.
void LPush(Call& c) { Push(c, End::kLeft, false); }
void RPush(Call& c) { Push(c, End::kRight, false); }
void LPushX(Call& c) { Push(c, End::kLeft, true); }
void RPushX(Call& c) { Push(c, End::kRight, true); }
void LPop(Call& c) { Pop(c, End::kLeft); }
void RPop(Call& c) { Pop(c, End::kRight); }
void RPopLPush(Call& c) { Move(c, End::kRight, End::kLeft); }

}  // namespace

void ListMove(Call& call, bool from_left, bool to_left) {
  Move(call, from_left ? End::kLeft : End::kRight, to_left ? End::kLeft : End::kRight);
}

void RegisterListFamily(Registry* registry) {
  using namespace resp::CO;  // NOLINT: the flags read as Redis's
  *registry << CI{"lpush", kWrite | kDenyOom | kFast, -3, 1, 1}.Handle(LPush)
            << CI{"rpush", kWrite | kDenyOom | kFast, -3, 1, 1}.Handle(RPush)
            << CI{"lpushx", kWrite | kDenyOom | kFast, -3, 1, 1}.Handle(LPushX)
            << CI{"rpushx", kWrite | kDenyOom | kFast, -3, 1, 1}.Handle(RPushX)
            << CI{"lpop", kWrite | kFast, -2, 1, 1}.Handle(LPop)
            << CI{"rpop", kWrite | kFast, -2, 1, 1}.Handle(RPop)
            << CI{"llen", kReadOnly | kFast, 2, 1, 1}.Handle(LLen)
            << CI{"lrange", kReadOnly, 4, 1, 1}.Handle(LRange)
            << CI{"lindex", kReadOnly, 3, 1, 1}.Handle(LIndex)
            << CI{"lset", kWrite | kDenyOom, 4, 1, 1}.Handle(LSet)
            << CI{"linsert", kWrite | kDenyOom, 5, 1, 1}.Handle(LInsert)
            << CI{"lrem", kWrite, 4, 1, 1}.Handle(LRem)
            << CI{"ltrim", kWrite, 4, 1, 1}.Handle(LTrim)
            << CI{"lpos", kReadOnly, -3, 1, 1}.Handle(LPos)
            << CI{"lmove", kWrite | kDenyOom, 5, 1, 2}.Handle(LMove)
            << CI{"rpoplpush", kWrite | kDenyOom, 3, 1, 2}.Handle(RPopLPush);
}

}  // namespace xdpkv::redis
