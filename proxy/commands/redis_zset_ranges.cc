// Redis's sorted-set ranges: ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES),
// ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZREVRANGE
// ZRANGESTORE ZCOUNT ZLEXCOUNT ZREMRANGEBYRANK ZREMRANGEBYSCORE
// ZREMRANGEBYLEX, as Redis 7.0's t_zset.c (zrangeGenericCommand and the
// listpack walks it makes for small sorted sets), and the score reading and
// printing the family shares (redis_zset.h).
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "proxy/commands/redis_family.h"
#include "proxy/commands/redis_typed.h"
#include "proxy/commands/redis_zset.h"
#include "proxy/typed_value.h"

namespace xdpkv::redis {

std::optional<double> ParseScore(std::string_view text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return std::nullopt;
  const std::string s(text);
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(s.c_str(), &end);
  if (static_cast<size_t>(end - s.c_str()) != s.size() || std::isnan(value) ||
      (errno == ERANGE &&
       (value == HUGE_VAL || value == -HUGE_VAL || std::fpclassify(value) == FP_ZERO))) {
    return std::nullopt;
  }
  return value;
}

void AppendScore(Call& call, double score) {
  if (std::isinf(score)) return call.Bulk(score > 0 ? "inf" : "-inf");
  char buffer[64];
  const int n = std::snprintf(buffer, sizeof(buffer), "%.17g", score);
  call.Bulk(std::string_view(buffer, static_cast<size_t>(n)));
}

std::string ListpackScoreText(double score) {
  constexpr double kHalf = static_cast<double>(INT64_MAX / 2);
  if (score >= -kHalf && score <= kHalf &&
      score == static_cast<double>(static_cast<int64_t>(score))) {
    return std::to_string(static_cast<int64_t>(score));
  }
  if (std::isinf(score)) return score > 0 ? "inf" : "-inf";
  char buffer[64];
  const int n = std::snprintf(buffer, sizeof(buffer), "%.17g", score);
  return std::string(buffer, static_cast<size_t>(n));
}

namespace {

using Entries = std::vector<ZSetValue::Entry>;

// --- ranges: Redis's zrangespec and zlexrangespec ------------------------------------

struct ScoreRange {
  double min, max;
  bool min_exclusive = false, max_exclusive = false;
  bool GteMin(double v) const { return min_exclusive ? v > min : v >= min; }
  bool LteMax(double v) const { return max_exclusive ? v < max : v <= max; }
  bool Empty() const { return min > max || (min == max && (min_exclusive || max_exclusive)); }
};

// zslParseRange: strtod of the text (after a '(' for an exclusive bound),
// up to its end or a NUL byte; NaN is refused.
bool ParseBound(std::string_view text, double* value, bool* exclusive) {
  *exclusive = !text.empty() && text[0] == '(';
  const std::string s(text.substr(*exclusive ? 1 : 0));
  char* end = nullptr;
  *value = std::strtod(s.c_str(), &end);
  return *end == '\0' && !std::isnan(*value);
}

std::optional<ScoreRange> ParseScoreRange(Call& call, std::string_view min, std::string_view max) {
  ScoreRange range;
  if (!ParseBound(min, &range.min, &range.min_exclusive) ||
      !ParseBound(max, &range.max, &range.max_exclusive)) {
    call.Error("ERR min or max is not a float");
    return std::nullopt;
  }
  return range;
}

// One end of a lexical range: "-" (before everything), "+" (after
// everything), or "(value" / "[value".
struct LexBound {
  enum Kind { kMinusInf, kPlusInf, kValue } kind = kValue;
  std::string value;
  bool exclusive = false;
};

// sdscmplex: a member against a bound.
int CompareLex(std::string_view member, const LexBound& bound) {
  if (bound.kind == LexBound::kMinusInf) return 1;
  if (bound.kind == LexBound::kPlusInf) return -1;
  return member < bound.value ? -1 : member == bound.value ? 0 : 1;
}

struct LexRange {
  LexBound min, max;
  bool GteMin(std::string_view v) const {
    const int c = CompareLex(v, min);
    return min.exclusive ? c > 0 : c >= 0;
  }
  bool LteMax(std::string_view v) const {
    const int c = CompareLex(v, max);
    return max.exclusive ? c < 0 : c <= 0;
  }
  bool Empty() const {
    int c;
    if (min.kind == max.kind && min.kind != LexBound::kValue) {
      c = 0;
    } else if (min.kind == LexBound::kMinusInf || max.kind == LexBound::kPlusInf) {
      c = -1;
    } else if (min.kind == LexBound::kPlusInf || max.kind == LexBound::kMinusInf) {
      c = 1;
    } else {
      c = min.value < max.value ? -1 : min.value == max.value ? 0 : 1;
    }
    return c > 0 || (c == 0 && (min.exclusive || max.exclusive));
  }
};

// zslParseLexRangeItem: C-string tests, so "+" followed by a NUL is "+".
bool ParseLexBound(std::string_view text, LexBound* bound) {
  if (text.empty()) return false;
  switch (text[0]) {
    case '+':
    case '-':
      if (text.size() > 1 && text[1] != '\0') return false;
      bound->kind = text[0] == '+' ? LexBound::kPlusInf : LexBound::kMinusInf;
      bound->exclusive = true;
      return true;
    case '(':
    case '[':
      bound->kind = LexBound::kValue;
      bound->exclusive = text[0] == '(';
      bound->value = std::string(text.substr(1));
      return true;
    default:
      return false;
  }
}

std::optional<LexRange> ParseLexRange(Call& call, std::string_view min, std::string_view max) {
  LexRange range;
  if (!ParseLexBound(min, &range.min) || !ParseLexBound(max, &range.max)) {
    call.Error("ERR min or max not valid string range item");
    return std::nullopt;
  }
  return range;
}

// The listpack walks (zzlFirstInRange, zzlLastInRange and their lexical
// forms): the first position from the head (or the tail) inside the range,
// or -1. `gte_min(i)` and `lte_max(i)` test position i.
template <typename GteMin, typename LteMax>
int64_t FirstIn(size_t n, bool empty_range, bool from_tail, GteMin gte_min, LteMax lte_max) {
  if (empty_range || n == 0 || !gte_min(n - 1) || !lte_max(0)) return -1;
  if (!from_tail) {
    for (size_t i = 0; i < n; ++i) {
      if (gte_min(i)) return lte_max(i) ? static_cast<int64_t>(i) : -1;
    }
  } else {
    for (size_t i = n; i-- > 0;) {
      if (lte_max(i)) return gte_min(i) ? static_cast<int64_t>(i) : -1;
    }
  }
  return -1;
}

// The positions a score or lexical range selects, in the walk's order
// (from the tail when `reverse`), after skipping `offset`, at most `limit`
// (negative: no limit), as genericZrangebyscore/bylex walk them.
template <typename Range, typename Value>
std::vector<size_t> Select(const Entries& entries, const Range& range, Value value, bool reverse,
                           int64_t offset, int64_t limit) {
  std::vector<size_t> selected;
  const size_t n = entries.size();
  int64_t at = FirstIn(
      n, range.Empty(), reverse, [&](size_t i) { return range.GteMin(value(entries[i])); },
      [&](size_t i) { return range.LteMax(value(entries[i])); });
  const int64_t step = reverse ? -1 : 1;
  auto inside = [&](int64_t i) { return i >= 0 && i < static_cast<int64_t>(n); };
  if (offset < 0) return selected;  // Redis's walk runs off the end
  for (; inside(at) && offset > 0; --offset) at += step;
  for (; inside(at) && limit != 0; at += step, --limit) {
    const auto& entry = entries[static_cast<size_t>(at)];
    if (reverse ? !range.GteMin(value(entry)) : !range.LteMax(value(entry))) break;
    selected.push_back(static_cast<size_t>(at));
  }
  return selected;
}

double ScoreOf(const ZSetValue::Entry& e) { return e.score; }
std::string_view MemberOf(const ZSetValue::Entry& e) { return e.member; }

// Rank arithmetic (genericZrangebyrank, zremrangeGenericCommand): the
// positions [start, end] counted from the head, or empty.
std::optional<std::pair<size_t, size_t>> RankRange(int64_t start, int64_t end, size_t size) {
  const int64_t n = static_cast<int64_t>(size);
  if (start < 0) start += n;
  if (end < 0) end += n;
  if (start < 0) start = 0;
  if (start > end || start >= n) return std::nullopt;
  if (end >= n) end = n - 1;
  return std::pair{static_cast<size_t>(start), static_cast<size_t>(end)};
}

// --- ZRANGE and its forms (zrangeGenericCommand) ---------------------------------------

enum class By { kAuto, kRank, kScore, kLex };
enum class Direction { kAuto, kForward, kReverse };

// `first`: the position of the source key (1; 2 for ZRANGESTORE, whose
// destination is args[1]).
void RangeCommand(Call& call, size_t first, bool store, By by, Direction direction) {
  const Args& args = call.args;
  bool with_scores = false;
  int64_t offset = 0, limit = -1;
  for (size_t j = first + 3; j < args.size(); ++j) {
    const size_t left = args.size() - j - 1;
    if (!store && Is(args[j], "withscores")) {
      with_scores = true;
    } else if (Is(args[j], "limit") && left >= 2) {
      const auto o = IntegerArg(call, args[j + 1]);
      if (!o) return;
      const auto l = IntegerArg(call, args[j + 2]);
      if (!l) return;
      offset = *o;
      limit = *l;
      j += 2;
    } else if (direction == Direction::kAuto && Is(args[j], "rev")) {
      direction = Direction::kReverse;
    } else if (by == By::kAuto && Is(args[j], "bylex")) {
      by = By::kLex;
    } else if (by == By::kAuto && Is(args[j], "byscore")) {
      by = By::kScore;
    } else {
      return call.Error(kSyntax);
    }
  }
  if (direction == Direction::kAuto) direction = Direction::kForward;
  if (by == By::kAuto) by = By::kRank;
  if (limit != -1 && by == By::kRank) {
    return call.Error(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
  }
  if (with_scores && by == By::kLex) {
    return call.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  }
  const bool reverse = direction == Direction::kReverse;
  std::string_view min = args[first + 1], max = args[first + 2];
  if (reverse && by != By::kRank) std::swap(min, max);
  std::optional<int64_t> start, end;
  std::optional<ScoreRange> scores;
  std::optional<LexRange> lex;
  if (by == By::kRank) {
    if (!(start = IntegerArg(call, min)) || !(end = IntegerArg(call, max))) return;
  } else if (by == By::kScore) {
    if (!(scores = ParseScoreRange(call, min, max))) return;
  } else if (!(lex = ParseLexRange(call, min, max))) {
    return;
  }
  bool failed;
  auto zset = ReadTyped<ZSetValue>(call, args[first], &failed);
  if (failed) return;
  std::vector<size_t> selected;
  if (zset) {
    const Entries& entries = zset->entries();
    if (by == By::kRank) {
      if (auto range = RankRange(*start, *end, entries.size())) {
        for (size_t i = range->first; i <= range->second; ++i) {
          selected.push_back(reverse ? entries.size() - 1 - i : i);
        }
      }
    } else if (by == By::kScore) {
      selected = Select(entries, *scores, ScoreOf, reverse, offset, limit);
    } else {
      selected = Select(entries, *lex, MemberOf, reverse, offset, limit);
    }
  }
  if (store) {
    ZSetValue result;
    for (size_t i : selected) result.Set(zset->entries()[i].member, Kept(zset->entries()[i].score));
    if (StoreTyped(call, args[1], result)) call.Integer(static_cast<int64_t>(result.size()));
    return;
  }
  resp::AppendArrayHeader(call.out, with_scores ? 2 * selected.size() : selected.size());
  for (size_t i : selected) {
    call.Bulk(zset->entries()[i].member);
    if (with_scores) AppendScore(call, zset->entries()[i].score);
  }
}

void ZRange(Call& c) { RangeCommand(c, 1, false, By::kAuto, Direction::kAuto); }
void ZRangeStore(Call& c) { RangeCommand(c, 2, true, By::kAuto, Direction::kAuto); }
void ZRevRange(Call& c) { RangeCommand(c, 1, false, By::kRank, Direction::kReverse); }
void ZRangeByScore(Call& c) { RangeCommand(c, 1, false, By::kScore, Direction::kForward); }
void ZRevRangeByScore(Call& c) { RangeCommand(c, 1, false, By::kScore, Direction::kReverse); }
void ZRangeByLex(Call& c) { RangeCommand(c, 1, false, By::kLex, Direction::kForward); }
void ZRevRangeByLex(Call& c) { RangeCommand(c, 1, false, By::kLex, Direction::kReverse); }

// --- counts and removals ---------------------------------------------------------------

void ZCount(Call& call) {
  const auto range = ParseScoreRange(call, call.args[2], call.args[3]);
  if (!range) return;
  bool failed;
  auto zset = ReadTyped<ZSetValue>(call, call.args[1], &failed);
  if (failed) return;
  const size_t n = zset ? Select(zset->entries(), *range, ScoreOf, false, 0, -1).size() : 0;
  call.Integer(static_cast<int64_t>(n));
}

void ZLexCount(Call& call) {
  const auto range = ParseLexRange(call, call.args[2], call.args[3]);
  if (!range) return;
  bool failed;
  auto zset = ReadTyped<ZSetValue>(call, call.args[1], &failed);
  if (failed) return;
  const size_t n = zset ? Select(zset->entries(), *range, MemberOf, false, 0, -1).size() : 0;
  call.Integer(static_cast<int64_t>(n));
}

// Removes the positions `select(zset)` returns (a contiguous run, from the
// head); replies with how many.
template <typename Selector>
void RemoveRange(Call& call, Selector select) {
  int64_t removed = 0;
  const bool ok = MutateTyped<ZSetValue>(call, call.args[1], [&](ZSetValue& zset) {
    const std::vector<size_t> positions = zset.empty() ? std::vector<size_t>{} : select(zset);
    removed = static_cast<int64_t>(positions.size());
    if (positions.empty()) return false;
    zset.EraseRange(positions.front(), positions.back() + 1);
    return true;
  });
  if (ok) call.Integer(removed);
}

void ZRemRangeByRank(Call& call) {
  const auto start = IntegerArg(call, call.args[2]);
  if (!start) return;
  const auto end = IntegerArg(call, call.args[3]);
  if (!end) return;
  RemoveRange(call, [&](const ZSetValue& zset) {
    std::vector<size_t> positions;
    if (auto range = RankRange(*start, *end, zset.size())) {
      for (size_t i = range->first; i <= range->second; ++i) positions.push_back(i);
    }
    return positions;
  });
}

void ZRemRangeByScore(Call& call) {
  const auto range = ParseScoreRange(call, call.args[2], call.args[3]);
  if (!range) return;
  RemoveRange(call, [&](const ZSetValue& zset) {
    return Select(zset.entries(), *range, ScoreOf, false, 0, -1);
  });
}

void ZRemRangeByLex(Call& call) {
  const auto range = ParseLexRange(call, call.args[2], call.args[3]);
  if (!range) return;
  RemoveRange(call, [&](const ZSetValue& zset) {
    return Select(zset.entries(), *range, MemberOf, false, 0, -1);
  });
}

}  // namespace

void RegisterZSetRangeCommands(Registry* registry) {
  using namespace resp::CO;  // NOLINT: the flags read as Redis's
  *registry << CI{"zrange", kReadOnly, -4, 1, 1}.Handle(ZRange)
            << CI{"zrangestore", kWrite | kDenyOom, -5, 1, 2}.Handle(ZRangeStore)
            << CI{"zrevrange", kReadOnly, -4, 1, 1}.Handle(ZRevRange)
            << CI{"zrangebyscore", kReadOnly, -4, 1, 1}.Handle(ZRangeByScore)
            << CI{"zrevrangebyscore", kReadOnly, -4, 1, 1}.Handle(ZRevRangeByScore)
            << CI{"zrangebylex", kReadOnly, -4, 1, 1}.Handle(ZRangeByLex)
            << CI{"zrevrangebylex", kReadOnly, -4, 1, 1}.Handle(ZRevRangeByLex)
            << CI{"zcount", kReadOnly | kFast, 4, 1, 1}.Handle(ZCount)
            << CI{"zlexcount", kReadOnly | kFast, 4, 1, 1}.Handle(ZLexCount)
            << CI{"zremrangebyrank", kWrite, 4, 1, 1}.Handle(ZRemRangeByRank)
            << CI{"zremrangebyscore", kWrite, 4, 1, 1}.Handle(ZRemRangeByScore)
            << CI{"zremrangebylex", kWrite, 4, 1, 1}.Handle(ZRemRangeByLex);
}

}  // namespace xdpkv::redis
