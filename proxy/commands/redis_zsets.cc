// Redis's sorted-set family: ZADD (NX XX GT LT CH INCR) ZINCRBY ZREM ZSCORE
// ZMSCORE ZCARD ZRANK ZREVRANK ZPOPMIN ZPOPMAX ZRANDMEMBER ZSCAN
// ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZUNION ZINTER ZDIFF ZINTERCARD, with
// Redis 7.0's replies and errors (t_zset.c); the range commands are in
// redis_zset_ranges.cc. A sorted set is one item of type zset whose value
// is its encoding (proxy/typed_value.h), read and changed through
// redis_typed.h: one Store::Mutate per key written.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "proxy/commands/redis_family.h"
#include "proxy/commands/redis_typed.h"
#include "proxy/commands/redis_zset.h"
#include "proxy/typed_value.h"

namespace xdpkv::redis {
namespace {

constexpr std::string_view kNotFloatScore = "ERR value is not a valid float";
constexpr std::string_view kNaN = "ERR resulting score is not a number (NaN)";

std::mt19937_64& Random() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return random;
}

// --- ZADD and ZINCRBY (zaddGenericCommand) ----------------------------------------

void Add(Call& call, bool incr) {
  bool nx = false, xx = false, gt = false, lt = false, ch = false;
  size_t at = 2;
  for (; at < call.args.size(); ++at) {
    const std::string_view opt = call.args[at];
    if (Is(opt, "nx")) {
      nx = true;
    } else if (Is(opt, "xx")) {
      xx = true;
    } else if (Is(opt, "ch")) {
      ch = true;
    } else if (Is(opt, "incr")) {
      incr = true;
    } else if (Is(opt, "gt")) {
      gt = true;
    } else if (Is(opt, "lt")) {
      lt = true;
    } else {
      break;
    }
  }
  const size_t elements = call.args.size() - at;
  if (elements == 0 || elements % 2 != 0) return call.Error(kSyntax);
  if (nx && xx) return call.Error("ERR XX and NX options at the same time are not compatible");
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    return call.Error("ERR GT, LT, and/or NX options at the same time are not compatible");
  }
  if (incr && elements > 2) {
    return call.Error("ERR INCR option supports a single increment-element pair");
  }
  std::vector<double> scores;
  for (size_t i = at; i < call.args.size(); i += 2) {
    const auto score = ParseScore(call.args[i]);
    if (!score) return call.Error(kNotFloatScore);
    scores.push_back(*score);
  }
  int64_t added = 0, updated = 0, processed = 0;
  double last = 0;
  bool nan = false;
  const bool ok = MutateTyped<ZSetValue>(call, call.args[1], [&](ZSetValue& zset) {
    added = updated = processed = 0;
    nan = false;
    if (zset.empty() && xx) return false;
    for (size_t j = 0; j < scores.size(); ++j) {
      const std::string_view member = call.args[at + 2 * j + 1];
      double score = scores[j];
      if (const auto current = zset.Score(member)) {
        if (nx) continue;
        if (incr) {
          score += *current;
          if (std::isnan(score)) {
            nan = true;
            return false;
          }
        }
        if ((lt && score >= *current) || (gt && score <= *current)) continue;
        if (score != *current) {
          zset.Set(member, Kept(score));
          ++updated;
        }
      } else if (!xx) {
        zset.Set(member, Kept(score));
        ++added;
      } else {
        continue;
      }
      last = score;
      ++processed;
    }
    return added + updated > 0;
  });
  if (!ok) return;
  if (nan) return call.Error(kNaN);
  if (!incr) return call.Integer(ch ? added + updated : added);
  processed > 0 ? AppendScore(call, last) : call.Null();
}

void ZAdd(Call& call) { Add(call, false); }
void ZIncrBy(Call& call) { Add(call, true); }

void ZRem(Call& call) {
  int64_t removed = 0;
  const bool ok = MutateTyped<ZSetValue>(call, call.args[1], [&](ZSetValue& zset) {
    removed = 0;
    for (size_t i = 2; i < call.args.size() && !zset.empty(); ++i)
      removed += zset.Erase(call.args[i]);
    return removed > 0;
  });
  if (ok) call.Integer(removed);
}

// --- reads of one sorted set --------------------------------------------------------

void ZScore(Call& call) {
  bool failed;
  auto zset = ReadTyped<ZSetValue>(call, call.args[1], &failed);
  if (failed) return;
  const auto score = zset ? zset->Score(call.args[2]) : std::nullopt;
  score ? AppendScore(call, *score) : call.Null();
}

void ZMScore(Call& call) {
  bool failed;
  auto zset = ReadTyped<ZSetValue>(call, call.args[1], &failed);
  if (failed) return;
  resp::AppendArrayHeader(call.out, call.args.size() - 2);
  for (size_t i = 2; i < call.args.size(); ++i) {
    const auto score = zset ? zset->Score(call.args[i]) : std::nullopt;
    score ? AppendScore(call, *score) : call.Null();
  }
}

void ZCard(Call& call) {
  bool failed;
  auto zset = ReadTyped<ZSetValue>(call, call.args[1], &failed);
  if (!failed) call.Integer(zset ? static_cast<int64_t>(zset->size()) : 0);
}

void Rank(Call& call, bool reverse) {
  bool failed;
  auto zset = ReadTyped<ZSetValue>(call, call.args[1], &failed);
  if (failed) return;
  const auto rank = zset ? zset->Rank(call.args[2]) : std::nullopt;
  if (!rank) return call.Null();
  call.Integer(static_cast<int64_t>(reverse ? zset->size() - 1 - *rank : *rank));
}

void ZRank(Call& call) { Rank(call, false); }
void ZRevRank(Call& call) { Rank(call, true); }

// ZPOPMIN/ZPOPMAX key [count] (genericZpopCommand): (member, score) pairs,
// an empty array for an absent key.
void Pop(Call& call, bool max) {
  if (call.args.size() > 3) return call.Error(kSyntax);
  uint64_t count = 1;
  if (call.args.size() == 3) {
    const auto n = NonNegativeArg(call, call.args[2]);
    if (!n) return;
    count = static_cast<uint64_t>(*n);
  }
  std::vector<ZSetValue::Entry> popped;
  const bool ok = MutateTyped<ZSetValue>(call, call.args[1], [&](ZSetValue& zset) {
    popped.clear();
    const size_t n = static_cast<size_t>(std::min<uint64_t>(count, zset.size()));
    if (n == 0) return false;
    const auto& entries = zset.entries();
    for (size_t i = 0; i < n; ++i) popped.push_back(entries[max ? entries.size() - 1 - i : i]);
    max ? zset.EraseRange(entries.size() - n, entries.size()) : zset.EraseRange(0, n);
    return true;
  });
  if (!ok) return;
  resp::AppendArrayHeader(call.out, 2 * popped.size());
  for (const auto& entry : popped) {
    call.Bulk(entry.member);
    AppendScore(call, entry.score);
  }
}

void ZPopMin(Call& call) { Pop(call, false); }
void ZPopMax(Call& call) { Pop(call, true); }

// ZRANDMEMBER key [count [WITHSCORES]] (zrandmemberCommand): a negative
// count allows repeats; a count at least the size is the whole set, from
// the highest (Redis walks it from its tail).
void ZRandMember(Call& call) {
  std::optional<int64_t> count;
  bool with_scores = false;
  if (call.args.size() >= 3) {
    count = ParseRedisInteger(call.args[2]);
    if (!count) return call.Error(kNotInteger);
    if (*count == kInt64Min) return call.Error(kCountOutOfRange);
    if (call.args.size() > 4 || (call.args.size() == 4 && !Is(call.args[3], "withscores"))) {
      return call.Error(kSyntax);
    }
    with_scores = call.args.size() == 4;
    if (with_scores && (*count < -(kInt64Max / 2) || *count > kInt64Max / 2)) {
      return call.Error("ERR value is out of range");
    }
  }
  bool failed;
  auto zset = ReadTyped<ZSetValue>(call, call.args[1], &failed);
  if (failed) return;
  if (!count) {
    if (!zset) return call.Null();
    return call.Bulk(zset->entries()[Random()() % zset->size()].member);
  }
  if (!zset || *count == 0) return resp::AppendArrayHeader(call.out, 0);
  const auto& entries = zset->entries();
  std::vector<size_t> picks;
  if (*count < 0 || *count == 1) {
    const uint64_t n = *count < 0 ? 0 - static_cast<uint64_t>(*count) : 1;
    if (n > kMaxRandomReply) return call.Error("ERR value is out of range");
    for (uint64_t i = 0; i < n; ++i) picks.push_back(Random()() % entries.size());
  } else if (static_cast<uint64_t>(*count) >= entries.size()) {
    for (size_t i = entries.size(); i-- > 0;) picks.push_back(i);
  } else {
    for (size_t i = 0; i < entries.size(); ++i) picks.push_back(i);
    std::shuffle(picks.begin(), picks.end(), Random());
    picks.resize(static_cast<size_t>(*count));
  }
  resp::AppendArrayHeader(call.out, with_scores ? 2 * picks.size() : picks.size());
  for (size_t i : picks) {
    call.Bulk(entries[i].member);
    if (with_scores) AppendScore(call, entries[i].score);
  }
}

// ZSCAN key cursor [MATCH pattern] [COUNT count]: one step returns the
// whole sorted set (cursor 0), as Redis does for a listpack, scores as a
// listpack holds them.
void ZScan(Call& call) {
  if (!ScanCursorArg(call, call.args[2])) return;
  bool failed;
  auto zset = ReadTyped<ZSetValue>(call, call.args[1], &failed);
  if (failed) return;
  if (!zset) return EmptyScan(call);
  const auto options = ScanOptionsArgs(call, 3);
  if (!options) return;
  std::vector<const ZSetValue::Entry*> matched;
  for (const auto& entry : zset->entries()) {
    if (ScanMatches(*options, entry.member)) matched.push_back(&entry);
  }
  resp::AppendArrayHeader(call.out, 2);
  call.Bulk("0");
  resp::AppendArrayHeader(call.out, 2 * matched.size());
  for (const auto* entry : matched) {
    call.Bulk(entry->member);
    call.Bulk(ListpackScoreText(entry->score));
  }
}

// --- ZUNION ZINTER ZDIFF, their STORE forms, ZINTERCARD ------------------------------
// (zunionInterDiffGenericCommand). Sources may be sets (each member
// scored 1).

enum class Op { kUnion, kInter, kDiff };
enum class Aggregate { kSum, kMin, kMax };

struct Source {
  ZSetValue zset;  // a set's members at score 1
  double weight = 1;
};

void AggregateInto(double* target, double value, Aggregate aggregate) {
  if (aggregate == Aggregate::kSum) {
    *target += value;
    if (std::isnan(*target)) *target = 0;
  } else if (aggregate == Aggregate::kMin) {
    *target = value < *target ? value : *target;
  } else {
    *target = value > *target ? value : *target;
  }
}

// `numkeys_at`: where numkeys is (2 with a destination, else 1).
void Combine(Call& call, Op op, bool store, bool cardinality_only) {
  const size_t numkeys_at = store ? 2 : 1;
  const auto numkeys = IntegerArg(call, call.args[numkeys_at]);
  if (!numkeys) return;
  if (*numkeys < 1) {
    return call.Error(absl::StrCat("ERR at least 1 input key is needed for '",
                                   absl::AsciiStrToLower(Str(call.args[0])), "' command"));
  }
  if (*numkeys > static_cast<int64_t>(call.args.size() - numkeys_at - 1)) {
    return call.Error(kSyntax);
  }
  const size_t n = static_cast<size_t>(*numkeys);
  std::vector<Source> sources(n);
  for (size_t i = 0; i < n; ++i) {
    bool failed;
    auto item = Read(call, call.args[numkeys_at + 1 + i], &failed);
    if (failed) return;
    if (!item) continue;
    if (item->type == ValueType::kZSet) {
      auto zset = DecodeItem<ZSetValue>(call, *item, &failed);
      if (failed) return;
      sources[i].zset = std::move(*zset);
    } else if (item->type == ValueType::kSet) {
      auto set = DecodeItem<SetValue>(call, *item, &failed);
      if (failed) return;
      for (const std::string& member : set->members()) sources[i].zset.Set(member, 1);
    } else {
      return call.Error(kWrongType);
    }
  }
  Aggregate aggregate = Aggregate::kSum;
  bool with_scores = false;
  uint64_t limit = 0;
  for (size_t j = numkeys_at + 1 + n; j < call.args.size();) {
    const size_t remaining = call.args.size() - j;
    const std::string_view opt = call.args[j];
    if (op != Op::kDiff && !cardinality_only && remaining >= n + 1 && Is(opt, "weights")) {
      for (size_t i = 0; i < n; ++i) {
        const auto weight = ParseScore(call.args[j + 1 + i]);
        if (!weight) return call.Error("ERR weight value is not a float");
        sources[i].weight = *weight;
      }
      j += n + 1;
    } else if (op != Op::kDiff && !cardinality_only && remaining >= 2 && Is(opt, "aggregate")) {
      const std::string_view how = call.args[j + 1];
      if (Is(how, "sum")) {
        aggregate = Aggregate::kSum;
      } else if (Is(how, "min")) {
        aggregate = Aggregate::kMin;
      } else if (Is(how, "max")) {
        aggregate = Aggregate::kMax;
      } else {
        return call.Error(kSyntax);
      }
      j += 2;
    } else if (!store && !cardinality_only && Is(opt, "withscores")) {
      with_scores = true;
      j += 1;
    } else if (cardinality_only && remaining >= 2 && Is(opt, "limit")) {
      const auto l = NonNegativeArg(call, call.args[j + 1], "LIMIT can't be negative");
      if (!l) return;
      limit = static_cast<uint64_t>(*l);
      j += 2;
    } else {
      return call.Error(kSyntax);
    }
  }
  if (op != Op::kDiff) {
    std::stable_sort(sources.begin(), sources.end(), [](const Source& a, const Source& b) {
      return a.zset.size() < b.zset.size();
    });
  }
  ZSetValue result;
  uint64_t cardinality = 0;
  if (op == Op::kInter) {
    for (const auto& entry : sources[0].zset.entries()) {
      double score = sources[0].weight * entry.score;
      if (std::isnan(score)) score = 0;
      size_t j = 1;
      for (; j < n; ++j) {
        const auto value = sources[j].zset.Score(entry.member);
        if (!value) break;
        AggregateInto(&score, *value * sources[j].weight, aggregate);
      }
      if (j < n) continue;
      if (cardinality_only) {
        if (++cardinality == limit) break;
      } else {
        result.Set(entry.member, score);
      }
    }
  } else if (op == Op::kUnion) {
    for (const Source& source : sources) {
      for (const auto& entry : source.zset.entries()) {
        double score = source.weight * entry.score;
        if (std::isnan(score)) score = 0;
        if (const auto existing = result.Score(entry.member)) {
          double accumulated = *existing;
          AggregateInto(&accumulated, score, aggregate);
          score = accumulated;
        }
        result.Set(entry.member, score);
      }
    }
  } else {
    for (const auto& entry : sources[0].zset.entries()) {
      bool elsewhere = false;
      for (size_t j = 1; j < n && !elsewhere; ++j) {
        elsewhere = call.args[numkeys_at + 1 + j] == call.args[numkeys_at + 1] ||
                    sources[j].zset.Score(entry.member).has_value();
      }
      if (!elsewhere) result.Set(entry.member, entry.score);
    }
  }
  if (cardinality_only) return call.Integer(static_cast<int64_t>(cardinality));
  if (store) {
    ZSetValue kept;
    for (const auto& entry : result.entries()) kept.Set(entry.member, Kept(entry.score));
    if (StoreTyped(call, call.args[1], kept)) call.Integer(static_cast<int64_t>(kept.size()));
    return;
  }
  resp::AppendArrayHeader(call.out, with_scores ? 2 * result.size() : result.size());
  for (const auto& entry : result.entries()) {
    call.Bulk(entry.member);
    if (with_scores) AppendScore(call, entry.score);
  }
}

void ZUnionStore(Call& c) { Combine(c, Op::kUnion, true, false); }
void ZInterStore(Call& c) { Combine(c, Op::kInter, true, false); }
void ZDiffStore(Call& c) { Combine(c, Op::kDiff, true, false); }
void ZUnion(Call& c) { Combine(c, Op::kUnion, false, false); }
void ZInter(Call& c) { Combine(c, Op::kInter, false, false); }
void ZDiff(Call& c) { Combine(c, Op::kDiff, false, false); }
void ZInterCard(Call& c) { Combine(c, Op::kInter, false, true); }

}  // namespace

void RegisterZSetFamily(Registry* registry) {
  using namespace resp::CO;  // NOLINT: the flags read as Redis's
  *registry << CI{"zadd", kWrite | kDenyOom | kFast, -4, 1, 1}.Handle(ZAdd)
            << CI{"zincrby", kWrite | kDenyOom | kFast, 4, 1, 1}.Handle(ZIncrBy)
            << CI{"zrem", kWrite | kFast, -3, 1, 1}.Handle(ZRem)
            << CI{"zscore", kReadOnly | kFast, 3, 1, 1}.Handle(ZScore)
            << CI{"zmscore", kReadOnly | kFast, -3, 1, 1}.Handle(ZMScore)
            << CI{"zcard", kReadOnly | kFast, 2, 1, 1}.Handle(ZCard)
            << CI{"zrank", kReadOnly | kFast, 3, 1, 1}.Handle(ZRank)
            << CI{"zrevrank", kReadOnly | kFast, 3, 1, 1}.Handle(ZRevRank)
            << CI{"zpopmin", kWrite | kFast, -2, 1, 1}.Handle(ZPopMin)
            << CI{"zpopmax", kWrite | kFast, -2, 1, 1}.Handle(ZPopMax)
            << CI{"zrandmember", kReadOnly, -2, 1, 1}.Handle(ZRandMember)
            << CI{"zscan", kReadOnly, -3, 1, 1}.Handle(ZScan)
            << CI{"zunionstore", kWrite | kDenyOom, -4, 1, 1}.Handle(ZUnionStore)
            << CI{"zinterstore", kWrite | kDenyOom, -4, 1, 1}.Handle(ZInterStore)
            << CI{"zdiffstore", kWrite | kDenyOom, -4, 1, 1}.Handle(ZDiffStore)
            << CI{"zunion", kReadOnly, -3, 0, 0}.Handle(ZUnion)
            << CI{"zinter", kReadOnly, -3, 0, 0}.Handle(ZInter)
            << CI{"zdiff", kReadOnly, -3, 0, 0}.Handle(ZDiff)
            << CI{"zintercard", kReadOnly, -3, 0, 0}.Handle(ZInterCard);
  RegisterZSetRangeCommands(registry);
}

}  // namespace xdpkv::redis
