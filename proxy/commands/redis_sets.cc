// Redis's set family: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP
// SRANDMEMBER SINTER SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE
// SINTERCARD SMOVE SSCAN, with Redis 7.0's replies and errors (t_set.c). A
// set is one item of type set whose value is its encoding
// (proxy/typed_value.h: an intset in numeric order, as Redis's replies show
// it, or a hash table), read and changed through redis_typed.h: one
// Store::Mutate per key written.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "proxy/commands/redis_family.h"
#include "proxy/commands/redis_typed.h"
#include "proxy/typed_value.h"

namespace xdpkv::redis {
namespace {

std::mt19937_64& Random() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return random;
}

void AppendMembers(Call& call, const std::vector<std::string>& members) {
  resp::AppendArrayHeader(call.out, members.size());
  for (const std::string& member : members) call.Bulk(member);
}

// The sets named by `keys` as Redis's lookupKeyRead sees them (an absent
// key: nullopt, an empty set); false after an error reply (WRONGTYPE at
// the first key of another type).
bool ReadSets(Call& call, Args keys, std::vector<std::optional<SetValue>>* sets) {
  for (std::string_view key : keys) {
    bool failed;
    sets->push_back(ReadTyped<SetValue>(call, key, &failed));
    if (failed) return false;
  }
  return true;
}

// --- SINTER SUNION SDIFF, their STORE forms and SINTERCARD --------------------------

enum class Op { kInter, kUnion, kDiff };

// The result of `op` over `keys`, built as Redis builds it: an intset at
// first, each member added in turn (so the reply's order is Redis's for
// intsets). For SINTER, the members of the smallest set in its order.
std::optional<SetValue> Combine(Call& call, Op op, Args keys, uint64_t limit = 0) {
  std::vector<std::optional<SetValue>> sets;
  if (!ReadSets(call, keys, &sets)) return std::nullopt;
  SetValue result;
  if (op == Op::kUnion) {
    for (const auto& set : sets) {
      if (!set) continue;
      for (const std::string& member : set->members()) result.Add(member);
    }
    return result;
  }
  if (op == Op::kDiff) {
    if (!sets[0]) return result;
    for (size_t i = 1; i < keys.size(); ++i) {
      if (keys[i] == keys[0]) return result;  // the same set: nothing is left
    }
    for (const std::string& member : sets[0]->members()) {
      bool elsewhere = false;
      for (size_t i = 1; i < sets.size() && !elsewhere; ++i) {
        elsewhere = sets[i] && sets[i]->Contains(member);
      }
      if (!elsewhere) result.Add(member);
    }
    return result;
  }
  // Intersection: any absent key empties it.
  for (const auto& set : sets) {
    if (!set) return result;
  }
  std::vector<const SetValue*> order;
  for (const auto& set : sets) order.push_back(&*set);
  std::stable_sort(order.begin(), order.end(),
                   [](const SetValue* a, const SetValue* b) { return a->size() < b->size(); });
  for (const std::string& member : order[0]->members()) {
    bool everywhere = true;
    for (size_t i = 1; i < order.size() && everywhere; ++i) everywhere = order[i]->Contains(member);
    if (!everywhere) continue;
    result.Add(member);
    if (limit != 0 && result.size() >= limit) break;
  }
  return result;
}

// The result in its order: an intset's is Redis's; a hash table's is
// arbitrary in Redis (SINTER's follows its smallest set's), here by bytes.
void CombineReply(Call& call, Op op, Args keys) {
  auto result = Combine(call, op, keys);
  if (result) AppendMembers(call, result->members());
}

void SInter(Call& call) { CombineReply(call, Op::kInter, call.args.subspan(1)); }
void SUnion(Call& call) { CombineReply(call, Op::kUnion, call.args.subspan(1)); }
void SDiff(Call& call) { CombineReply(call, Op::kDiff, call.args.subspan(1)); }

void Store(Call& call, Op op) {
  auto result = Combine(call, op, call.args.subspan(2));
  if (!result || !StoreTyped(call, call.args[1], *result)) return;
  call.Integer(static_cast<int64_t>(result->size()));
}

void SInterStore(Call& call) { Store(call, Op::kInter); }
void SUnionStore(Call& call) { Store(call, Op::kUnion); }
void SDiffStore(Call& call) { Store(call, Op::kDiff); }

// SINTERCARD numkeys key [key ...] [LIMIT limit]
void SInterCard(Call& call) {
  const auto numkeys = ParseRedisInteger(call.args[1]);
  if (!numkeys || *numkeys < 1) return call.Error("ERR numkeys should be greater than 0");
  if (*numkeys > static_cast<int64_t>(call.args.size()) - 2) {
    return call.Error("ERR Number of keys can't be greater than number of args");
  }
  uint64_t limit = 0;
  for (size_t j = 2 + static_cast<size_t>(*numkeys); j < call.args.size(); ++j) {
    if (Is(call.args[j], "limit") && j + 1 < call.args.size()) {
      const auto n = NonNegativeArg(call, call.args[++j], "LIMIT can't be negative");
      if (!n) return;
      limit = static_cast<uint64_t>(*n);
    } else {
      return call.Error(kSyntax);
    }
  }
  auto result =
      Combine(call, Op::kInter, call.args.subspan(2, static_cast<size_t>(*numkeys)), limit);
  if (result) call.Integer(static_cast<int64_t>(result->size()));
}

// --- one set ---------------------------------------------------------------------

void SAdd(Call& call) {
  int64_t added = 0;
  const bool ok = MutateTyped<SetValue>(call, call.args[1], [&](SetValue& set) {
    added = 0;
    for (size_t i = 2; i < call.args.size(); ++i) added += set.Add(call.args[i]);
    return added > 0;
  });
  if (ok) call.Integer(added);
}

void SRem(Call& call) {
  int64_t removed = 0;
  const bool ok = MutateTyped<SetValue>(call, call.args[1], [&](SetValue& set) {
    removed = 0;
    for (size_t i = 2; i < call.args.size() && !set.empty(); ++i)
      removed += set.Remove(call.args[i]);
    return removed > 0;
  });
  if (ok) call.Integer(removed);
}

void SIsMember(Call& call) {
  bool failed;
  auto set = ReadTyped<SetValue>(call, call.args[1], &failed);
  if (!failed) call.Integer(set && set->Contains(call.args[2]));
}

void SMIsMember(Call& call) {
  bool failed;
  auto set = ReadTyped<SetValue>(call, call.args[1], &failed);
  if (failed) return;
  resp::AppendArrayHeader(call.out, call.args.size() - 2);
  for (size_t i = 2; i < call.args.size(); ++i) call.Integer(set && set->Contains(call.args[i]));
}

void SCard(Call& call) {
  bool failed;
  auto set = ReadTyped<SetValue>(call, call.args[1], &failed);
  if (!failed) call.Integer(set ? static_cast<int64_t>(set->size()) : 0);
}

void SMembers(Call& call) {
  bool failed;
  auto set = ReadTyped<SetValue>(call, call.args[1], &failed);
  if (failed) return;
  AppendMembers(call, set ? set->members() : std::vector<std::string>{});
}

// SPOP key [count] (spopCommand, spopWithCountCommand).
void SPop(Call& call) {
  if (call.args.size() > 3) return call.Error(kSyntax);
  const bool has_count = call.args.size() == 3;
  uint64_t count = 1;
  if (has_count) {
    const auto n = NonNegativeArg(call, call.args[2]);
    if (!n) return;
    count = static_cast<uint64_t>(*n);
  }
  bool existed = false;
  std::vector<std::string> popped;
  const bool ok = MutateTyped<SetValue>(call, call.args[1], [&](SetValue& set) {
    existed = !set.empty();
    popped.clear();
    if (!existed || count == 0) return false;
    if (count >= set.size()) {
      // Redis replies with the set's union with nothing (its order) and
      // deletes it.
      SetValue all;
      for (const std::string& member : set.members()) all.Add(member);
      popped = all.members();
      set = SetValue();
      return true;
    }
    for (uint64_t i = 0; i < count; ++i) {
      const size_t at = Random()() % set.size();
      popped.push_back(set.members()[at]);
      set.RemoveAt(at);
    }
    if ((set.size()) * 5 <= count) {
      // Redis keeps the few left in a set it builds anew (an intset if
      // they are all integers).
      SetValue rest;
      for (const std::string& member : set.members()) rest.Add(member);
      set = std::move(rest);
    }
    return true;
  });
  if (!ok) return;
  if (!has_count) return existed ? call.Bulk(popped[0]) : call.Null();
  AppendMembers(call, popped);
}

// SRANDMEMBER key [count] (srandmemberWithCountCommand): a negative count
// allows repeats; a count at least the size is the whole set in its order.
void SRandMember(Call& call) {
  if (call.args.size() > 3) return call.Error(kSyntax);
  std::optional<int64_t> count;
  if (call.args.size() == 3) {
    count = IntegerArg(call, call.args[2]);
    if (!count) return;
    if (*count == kInt64Min) return call.Error(kCountOutOfRange);
  }
  bool failed;
  auto set = ReadTyped<SetValue>(call, call.args[1], &failed);
  if (failed) return;
  if (!count) {
    if (!set) return call.Null();
    return call.Bulk(set->members()[Random()() % set->size()]);
  }
  if (!set || *count == 0) return resp::AppendArrayHeader(call.out, 0);
  const auto& members = set->members();
  if (*count < 0) {
    const uint64_t n = 0 - static_cast<uint64_t>(*count);
    if (n > kMaxRandomReply) return call.Error("ERR value is out of range");
    resp::AppendArrayHeader(call.out, n);
    for (uint64_t i = 0; i < n; ++i) call.Bulk(members[Random()() % members.size()]);
    return;
  }
  if (static_cast<uint64_t>(*count) >= members.size()) return AppendMembers(call, members);
  std::vector<size_t> picks(members.size());
  for (size_t i = 0; i < picks.size(); ++i) picks[i] = i;
  std::shuffle(picks.begin(), picks.end(), Random());
  picks.resize(static_cast<size_t>(*count));
  resp::AppendArrayHeader(call.out, picks.size());
  for (size_t i : picks) call.Bulk(members[i]);
}

// SMOVE source destination member: two writes (one Mutate each), not
// atomic across the two keys (docs/protocols.md).
void SMove(Call& call) {
  const std::string_view source = call.args[1], destination = call.args[2];
  const std::string_view member = call.args[3];
  bool failed;
  auto item = Read(call, source, &failed, /*count=*/false);
  if (failed) return;
  if (!item) return call.Integer(0);
  if (item->type != ValueType::kSet) return call.Error(kWrongType);
  if (DestinationRefused<SetValue>(call, destination)) return;
  if (source == destination) {
    auto set = DecodeItem<SetValue>(call, *item, &failed);
    if (!failed) call.Integer(set->Contains(member));
    return;
  }
  bool removed = false;
  const bool ok = MutateTyped<SetValue>(call, source, [&](SetValue& set) {
    removed = set.Remove(member);
    return removed;
  });
  if (!ok) return;
  if (!removed) return call.Integer(0);
  std::string out;
  Call add{call.args, call.store, call.context, call.client, &out};
  if (!MutateTyped<SetValue>(add, destination, [&](SetValue& set) { return set.Add(member); })) {
    // The destination changed type meanwhile: the member goes back.
    (void)MutateTyped<SetValue>(add, source, [&](SetValue& set) { return set.Add(member); });
    call.out->append(out);
    return;
  }
  call.Integer(1);
}

// SSCAN key cursor [MATCH pattern] [COUNT count]: a set is one value, so
// one step returns it all (cursor 0), as Redis does for an intset.
void SScan(Call& call) {
  if (!ScanCursorArg(call, call.args[2])) return;
  bool failed;
  auto set = ReadTyped<SetValue>(call, call.args[1], &failed);
  if (failed) return;
  if (!set) return EmptyScan(call);
  const auto options = ScanOptionsArgs(call, 3);
  if (!options) return;
  std::vector<std::string> matched;
  for (const std::string& member : set->members()) {
    if (ScanMatches(*options, member)) matched.push_back(member);
  }
  resp::AppendArrayHeader(call.out, 2);
  call.Bulk("0");
  AppendMembers(call, matched);
}

}  // namespace

void RegisterSetFamily(Registry* registry) {
  using namespace resp::CO;  // NOLINT: the flags read as Redis's
  *registry << CI{"sadd", kWrite | kDenyOom | kFast, -3, 1, 1}.Handle(SAdd)
            << CI{"srem", kWrite | kFast, -3, 1, 1}.Handle(SRem)
            << CI{"smembers", kReadOnly, 2, 1, 1}.Handle(SMembers)
            << CI{"sismember", kReadOnly | kFast, 3, 1, 1}.Handle(SIsMember)
            << CI{"smismember", kReadOnly | kFast, -3, 1, 1}.Handle(SMIsMember)
            << CI{"scard", kReadOnly | kFast, 2, 1, 1}.Handle(SCard)
            << CI{"spop", kWrite | kFast, -2, 1, 1}.Handle(SPop)
            << CI{"srandmember", kReadOnly, -2, 1, 1}.Handle(SRandMember)
            << CI{"sinter", kReadOnly, -2, 1, -1}.Handle(SInter)
            << CI{"sunion", kReadOnly, -2, 1, -1}.Handle(SUnion)
            << CI{"sdiff", kReadOnly, -2, 1, -1}.Handle(SDiff)
            << CI{"sinterstore", kWrite | kDenyOom, -3, 1, -1}.Handle(SInterStore)
            << CI{"sunionstore", kWrite | kDenyOom, -3, 1, -1}.Handle(SUnionStore)
            << CI{"sdiffstore", kWrite | kDenyOom, -3, 1, -1}.Handle(SDiffStore)
            << CI{"sintercard", kReadOnly, -3, 0, 0}.Handle(SInterCard)
            << CI{"smove", kWrite | kFast, 4, 1, 2}.Handle(SMove)
            << CI{"sscan", kReadOnly, -3, 1, 1}.Handle(SScan);
}

}  // namespace xdpkv::redis
