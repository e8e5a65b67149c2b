// Redis's popping commands over several keys and their blocking forms:
// BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP LMPOP BZPOPMIN BZPOPMAX BZMPOP ZMPOP,
// with Redis 7.0's replies and errors (t_list.c, t_zset.c, blocked.c).
// A blocking command that finds nothing parks its client (BlockOn,
// proxy/blocking.h); a write to one of its keys runs it again, with
// call.blocking kRetry, until it finds something: then its reply is the
// one it would have given at once. Inside EXEC it answers as a timeout
// does, as Redis's CLIENT_DENY_BLOCKING.
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "protocol/values.h"
#include "proxy/commands/redis_family.h"
#include "proxy/commands/redis_typed.h"
#include "proxy/commands/redis_zset.h"
#include "proxy/typed_value.h"

namespace xdpkv::redis {

std::optional<uint64_t> TimeoutArg(Call& call, std::string_view arg) {
  const auto seconds = ParseRedisFloat(arg);
  if (!seconds) {
    call.Error("ERR timeout is not a float or out of range");
    return std::nullopt;
  }
  // As Redis's (long long)(seconds * 1000.0): truncated, and out of
  // range (inf, 1e300) the x86 conversion's INT64_MIN.
  const long double ms = *seconds * 1000.0L;
  const int64_t timeout = ms > -9223372036854775808.0L && ms < 9223372036854775808.0L
                              ? static_cast<int64_t>(ms)
                              : kInt64Min;
  if (timeout < 0) {
    call.Error("ERR timeout is negative");
    return std::nullopt;
  }
  if (timeout > 0 && timeout > kInt64Max - NowUnixMs(call.context)) {
    call.Error("ERR timeout is out of range");
    return std::nullopt;
  }
  return static_cast<uint64_t>(timeout);
}

void BlockOn(Call& call, Args keys, uint64_t timeout_ms, std::string_view deny_reply) {
  if (call.blocking == Blocking::kDeny) call.out->append(deny_reply);
  if (call.blocking != Blocking::kPark) return;
  auto parked = std::make_shared<ParkedClient>();
  parked->db = call.client.db;
  parked->command.assign(call.args.begin(), call.args.end());
  parked->keys.assign(keys.begin(), keys.end());
  parked->deadline_ms = timeout_ms == 0 ? 0 : call.now_ms() + timeout_ms;
  parked->wake = call.client.wake;
  call.context.blocking->Park(parked);
  call.client.parked = std::move(parked);
}

void Written(Call& call, int db, std::string_view key) {
  call.client.written.emplace_back(db, std::string(key));
}

namespace {

// A key to pop from: nullopt when absent, or (run again for a parked
// client) of another type, which Redis's serving skips; WRONGTYPE answered
// otherwise (*failed).
template <typename Value>
bool Poppable(Call& call, std::string_view key, bool* failed) {
  auto item = Read(call, key, failed, /*count=*/false);
  if (*failed || !item) return false;
  if (item->type == TypeOf<Value>::kType) return true;
  if (call.blocking != Blocking::kRetry) {
    *failed = true;
    call.Error(kWrongType);
  }
  return false;
}

// Pops up to `count` elements from the first list of `keys` that has any
// and answers: BLPOP's [key, element] (`nested` false), or LMPOP's [key,
// [elements]]. False (nothing answered) when none has any.
bool PopFirstList(Call& call, Args keys, bool left, int64_t count, bool nested) {
  for (std::string_view key : keys) {
    bool failed;
    if (!Poppable<ListValue>(call, key, &failed)) {
      if (failed) return true;
      continue;
    }
    std::vector<std::string> popped;
    const bool ok = MutateTyped<ListValue>(call, key, [&](ListValue& list) {
      popped.clear();
      auto& elements = list.elements();
      while (!elements.empty() && static_cast<int64_t>(popped.size()) < count) {
        popped.push_back(std::move(left ? elements.front() : elements.back()));
        left ? elements.pop_front() : elements.pop_back();
      }
      return !popped.empty();
    });
    if (!ok) return true;
    if (popped.empty()) continue;  // emptied by another client meanwhile
    resp::AppendArrayHeader(call.out, 2);
    call.Bulk(key);
    if (nested) resp::AppendArrayHeader(call.out, popped.size());
    for (const std::string& element : popped) call.Bulk(element);
    return true;
  }
  return false;
}

// As PopFirstList for sorted sets: BZPOPMIN's [key, member, score], or
// ZMPOP's [key, [[member, score], ...]].
bool PopFirstZSet(Call& call, Args keys, bool min, int64_t count, bool nested) {
  for (std::string_view key : keys) {
    bool failed;
    if (!Poppable<ZSetValue>(call, key, &failed)) {
      if (failed) return true;
      continue;
    }
    std::vector<ZSetValue::Entry> popped;
    const bool ok = MutateTyped<ZSetValue>(call, key, [&](ZSetValue& zset) {
      popped.clear();
      const size_t n = static_cast<size_t>(std::min<uint64_t>(count, zset.size()));
      if (n == 0) return false;
      const auto& entries = zset.entries();
      for (size_t i = 0; i < n; ++i) popped.push_back(entries[min ? i : entries.size() - 1 - i]);
      min ? zset.EraseRange(0, n) : zset.EraseRange(entries.size() - n, entries.size());
      return true;
    });
    if (!ok) return true;
    if (popped.empty()) continue;
    if (!nested) {
      resp::AppendArrayHeader(call.out, 3);
      call.Bulk(key);
      call.Bulk(popped[0].member);
      AppendScore(call, popped[0].score);
      return true;
    }
    resp::AppendArrayHeader(call.out, 2);
    call.Bulk(key);
    resp::AppendArrayHeader(call.out, popped.size());
    for (const auto& entry : popped) {
      resp::AppendArrayHeader(call.out, 2);
      call.Bulk(entry.member);
      AppendScore(call, entry.score);
    }
    return true;
  }
  return false;
}

// BLPOP BRPOP BZPOPMIN BZPOPMAX key [key ...] timeout.
void BlockingPop(Call& call, bool zset, bool left_or_min) {
  const auto timeout = TimeoutArg(call, call.args.back());
  if (!timeout) return;
  const Args keys = call.args.subspan(1, call.args.size() - 2);
  const bool answered = zset ? PopFirstZSet(call, keys, left_or_min, 1, false)
                             : PopFirstList(call, keys, left_or_min, 1, false);
  if (!answered) BlockOn(call, keys, *timeout, resp::reply::kNullArray);
}

// LMPOP/ZMPOP's arguments from numkeys on (lmpopGenericCommand,
// zmpopGenericCommand): the keys, the end, the count.
struct MultiPop {
  Args keys;
  bool left_or_min;
  int64_t count = 1;
};
std::optional<MultiPop> MultiPopArgs(Call& call, size_t numkeys_index, bool zset) {
  const auto numkeys = ParseRedisInteger(call.args[numkeys_index]);
  if (!numkeys || *numkeys < 1) {
    call.Error("ERR numkeys should be greater than 0");
    return std::nullopt;
  }
  const size_t where = numkeys_index + 1 + static_cast<size_t>(*numkeys);
  if (*numkeys >= static_cast<int64_t>(call.args.size()) || where >= call.args.size()) {
    call.Error(kSyntax);
    return std::nullopt;
  }
  MultiPop pop{call.args.subspan(numkeys_index + 1, static_cast<size_t>(*numkeys)), false};
  const std::string_view end = call.args[where];
  if (Is(end, zset ? "min" : "left")) {
    pop.left_or_min = true;
  } else if (!Is(end, zset ? "max" : "right")) {
    call.Error(kSyntax);
    return std::nullopt;
  }
  bool counted = false;
  for (size_t j = where + 1; j < call.args.size(); ++j) {
    if (!counted && Is(call.args[j], "count") && j + 1 < call.args.size()) {
      const auto count = ParseRedisInteger(call.args[++j]);
      if (!count || *count < 1) {
        call.Error("ERR count should be greater than 0");
        return std::nullopt;
      }
      pop.count = *count;
      counted = true;
    } else {
      call.Error(kSyntax);
      return std::nullopt;
    }
  }
  return pop;
}

// LMPOP ZMPOP numkeys key [key ...] end [COUNT count]; BLMPOP BZMPOP
// timeout numkeys ... (`blocking`).
void MultiPopCommand(Call& call, bool zset, bool blocking) {
  const auto pop = MultiPopArgs(call, blocking ? 2 : 1, zset);
  if (!pop) return;
  std::optional<uint64_t> timeout;
  if (blocking) {
    timeout = TimeoutArg(call, call.args[1]);
    if (!timeout) return;
  }
  const bool answered = zset ? PopFirstZSet(call, pop->keys, pop->left_or_min, pop->count, true)
                             : PopFirstList(call, pop->keys, pop->left_or_min, pop->count, true);
  if (answered) return;
  if (!blocking) return resp::AppendNullArray(call.out);
  BlockOn(call, pop->keys, *timeout, resp::reply::kNullArray);
}

// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout, BRPOPLPUSH
// source destination timeout: LMOVE once the source has an element.
void BlockingMove(Call& call, bool from_left, bool to_left, std::string_view timeout_arg) {
  const auto timeout = TimeoutArg(call, timeout_arg);
  if (!timeout) return;
  bool failed;
  if (Poppable<ListValue>(call, call.args[1], &failed)) {
    std::string moved;
    Call move{call.args, call.store, call.context, call.client, &moved};
    ListMove(move, from_left, to_left);
    // Nil: another client emptied the source between the look and the move.
    if (moved != resp::reply::kNullBulk) {
      call.out->append(moved);
      return;
    }
  } else if (failed) {
    return;
  }
  BlockOn(call, call.args.subspan(1, 1), *timeout, resp::reply::kNullBulk);
}

std::optional<bool> LeftArg(Call& call, std::string_view arg) {
  if (Is(arg, "left")) return true;
  if (Is(arg, "right")) return false;
  call.Error(kSyntax);
  return std::nullopt;
}

void BLMove(Call& call) {
  const auto from = LeftArg(call, call.args[3]);
  if (!from) return;
  const auto to = LeftArg(call, call.args[4]);
  if (!to) return;
  BlockingMove(call, *from, *to, call.args[5]);
}

// The table's rows for commands that share an implementation.
void BLPop(Call& c) { BlockingPop(c, false, true); }
void BRPop(Call& c) { BlockingPop(c, false, false); }
void BZPopMin(Call& c) { BlockingPop(c, true, true); }
void BZPopMax(Call& c) { BlockingPop(c, true, false); }
void BRPopLPush(Call& c) { BlockingMove(c, false, true, c.args[3]); }
void LMPop(Call& c) { MultiPopCommand(c, false, false); }
void ZMPop(Call& c) { MultiPopCommand(c, true, false); }
void BLMPop(Call& c) { MultiPopCommand(c, false, true); }
void BZMPop(Call& c) { MultiPopCommand(c, true, true); }

}  // namespace

void RegisterBlockingFamily(Registry* registry) {
  using namespace resp::CO;  // NOLINT: the flags read as Redis's
  *registry << CI{"blpop", kWrite | kBlocking, -3, 1, -2}.Handle(BLPop)
            << CI{"brpop", kWrite | kBlocking, -3, 1, -2}.Handle(BRPop)
            << CI{"blmove", kWrite | kDenyOom | kBlocking, 6, 1, 2}.Handle(BLMove)
            << CI{"brpoplpush", kWrite | kDenyOom | kBlocking, 4, 1, 2}.Handle(BRPopLPush)
            << CI{"blmpop", kWrite | kBlocking, -5}.Handle(BLMPop)
            << CI{"lmpop", kWrite, -4}.Handle(LMPop)
            << CI{"bzpopmin", kWrite | kFast | kBlocking, -3, 1, -2}.Handle(BZPopMin)
            << CI{"bzpopmax", kWrite | kFast | kBlocking, -3, 1, -2}.Handle(BZPopMax)
            << CI{"bzmpop", kWrite | kBlocking, -5}.Handle(BZMPop)
            << CI{"zmpop", kWrite, -4}.Handle(ZMPop);
}

}  // namespace xdpkv::redis
