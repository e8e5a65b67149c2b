// Redis's string family: GET SET (and its options) SETNX SETEX PSETEX
// GETSET GETDEL GETEX MGET MSET MSETNX INCR DECR INCRBY DECRBY INCRBYFLOAT
// APPEND STRLEN GETRANGE SETRANGE LCS, with Redis 7's replies and errors.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "protocol/values.h"
#include "proxy/commands/redis_family.h"

namespace xdpkv::redis {
namespace {

// --- reads ---------------------------------------------------------------------

void Get(Call& call) {
  bool failed;
  auto item = ReadString(call, call.args[1], &failed);
  if (failed) return;
  item ? call.Bulk(item->value) : call.Null();
}

// MGET elements for `keys`, read together (Store::GetMany), for as many
// keys as the output bound leaves room for (at least one): the value, or
// nil when absent, of another type (as Redis's MGET), or a key that cannot
// exist. Returns how many keys it answered.
size_t AppendMGetValues(Store& store, const ServerContext& context,
                        std::span<const std::string_view> keys, size_t room, std::string* out) {
  auto items = store.GetMany(keys, room);
  for (const auto& item : items) {
    const bool hit = item.ok() && *item && (*item)->type == ValueType::kString;
    ServerStats::Add(hit ? context.stats->keyspace_hits : context.stats->keyspace_misses);
    hit ? resp::AppendBulk(out, (*item)->value) : resp::AppendNullBulk(out);
  }
  return items.size();
}

// Straight into the output: an MGET of many big values stops at the
// client's output bound and keeps the keys left for ContinueRespReply, so
// one small request cannot make the server hold gigabytes.
void MGet(Call& call) {
  resp::AppendArrayHeader(call.out, call.args.size() - 1);
  const Args keys = call.args.subspan(1);
  for (size_t done = 0; done < keys.size();) {
    if (call.out->size() > call.client.output_limit) {
      call.client.pending_mget.assign(keys.begin() + static_cast<ptrdiff_t>(done), keys.end());
      return;
    }
    const size_t room = call.client.output_limit - std::min(call.out->size(),
                                                            call.client.output_limit);
    done += AppendMGetValues(call.store, call.context, keys.subspan(done), room, call.out);
  }
}

void Strlen(Call& call) {
  bool failed;
  auto item = ReadString(call, call.args[1], &failed);
  if (!failed) call.Integer(item ? static_cast<int64_t>(item->value.size()) : 0);
}

void GetRange(Call& call) {
  const auto start_arg = ParseRedisInteger(call.args[2]);
  const auto end_arg = ParseRedisInteger(call.args[3]);
  if (!start_arg || !end_arg) return call.Error(kNotInteger);
  bool failed;
  auto item = ReadString(call, call.args[1], &failed);
  if (failed) return;
  const std::string value = item ? item->value : "";
  int64_t start = *start_arg;
  int64_t end = *end_arg;
  const int64_t len = static_cast<int64_t>(value.size());
  if (start < 0 && end < 0 && start > end) return call.Bulk("");
  if (start < 0) start += len;
  if (end < 0) end += len;
  start = std::max<int64_t>(start, 0);
  end = std::max<int64_t>(end, 0);
  if (end >= len) end = len - 1;
  if (start > end || len == 0) return call.Bulk("");
  call.Bulk(std::string_view(value).substr(start, end - start + 1));
}

// --- writes --------------------------------------------------------------------

// SET's and GETEX's options, as Redis 7's parseExtendedStringArgumentsOrReply
// accepts them (a repeated option is fine; EX after PX, or KEEPTTL with
// either, is a syntax error). The expiry argument is only checked later,
// where Redis checks it.
struct SetOptions {
  bool nx = false, xx = false, get = false, keepttl = false, persist = false;
  enum Expire { kNone, kEx, kPx, kExAt, kPxAt } expire = kNone;
  std::string_view expire_arg;
};

bool ParseSetOptions(Call& call, size_t from, bool for_set, SetOptions* o) {
  for (size_t i = from; i < call.args.size(); ++i) {
    const std::string_view opt = call.args[i];
    const bool has_next = i + 1 < call.args.size();
    const auto expire_is = [&](SetOptions::Expire allowed) {
      return !o->keepttl && !o->persist && (o->expire == SetOptions::kNone || o->expire == allowed);
    };
    SetOptions::Expire expire = SetOptions::kNone;
    if (Is(opt, "EX")) expire = SetOptions::kEx;
    if (Is(opt, "PX")) expire = SetOptions::kPx;
    if (Is(opt, "EXAT")) expire = SetOptions::kExAt;
    if (Is(opt, "PXAT")) expire = SetOptions::kPxAt;
    if (for_set && Is(opt, "NX") && !o->xx) {
      o->nx = true;
    } else if (for_set && Is(opt, "XX") && !o->nx) {
      o->xx = true;
    } else if (for_set && Is(opt, "GET")) {
      o->get = true;
    } else if (for_set && Is(opt, "KEEPTTL") && o->expire == SetOptions::kNone) {
      o->keepttl = true;
    } else if (!for_set && Is(opt, "PERSIST") && o->expire == SetOptions::kNone) {
      o->persist = true;
    } else if (expire != SetOptions::kNone && expire_is(expire) && has_next) {
      o->expire = expire;
      o->expire_arg = call.args[++i];
    } else {
      call.Error(kSyntax);
      return false;
    }
  }
  return true;
}

// The options' expiry in unix ms; nullopt after replying with the error.
std::optional<int64_t> SetOptionsExpiry(Call& call, const SetOptions& o, std::string_view command) {
  const bool seconds = o.expire == SetOptions::kEx || o.expire == SetOptions::kExAt;
  const bool absolute = o.expire == SetOptions::kExAt || o.expire == SetOptions::kPxAt;
  return ParsePositiveExpiry(call, o.expire_arg, seconds ? 1000 : 1, absolute, command);
}

void Set(Call& call) {
  // Written ahead with the pipeline's run of writes (RespSession): done.
  if (call.args.size() == 3 && call.client.write_ahead.Take(call.args[1])) return call.Ok();
  SetOptions options;
  if (!ParseSetOptions(call, 3, true, &options)) return;
  std::optional<int64_t> when;
  if (options.expire != SetOptions::kNone) {
    when = SetOptionsExpiry(call, options, "set");
    if (!when) return;
  }
  const std::string value(call.args[2]);
  std::optional<std::string> old;
  bool wrote = false, wrong_type = false;
  auto result = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    old = current ? std::optional<std::string>(current->value) : std::nullopt;
    wrote = false;
    // SET replaces a key of any type, but SET ... GET must read a string.
    wrong_type = options.get && IsOtherType(current);
    if (wrong_type) return Mutation::Keep();
    if ((options.nx && current) || (options.xx && !current)) return Mutation::Keep();
    wrote = true;
    uint64_t expires_at = 0;
    if (options.keepttl && current) expires_at = current->expires_at_ms;
    if (when) {
      // EXAT/PXAT in the past: Redis stores the key expired; nothing reads it.
      if (AlreadyExpired(*when, call.context)) return Mutation::Delete();
      expires_at = BootMsFor(*when, call.context);
    }
    return Mutation::Write(value, 0, expires_at);
  });
  if (!result.ok()) return call.StoreError(result.status());
  if (wrong_type) return call.Error(kWrongType);
  if (options.get) {
    CountLookup(call, old.has_value());
    return call.BulkOrNull(old);
  }
  wrote ? call.Ok() : call.Null();
}

// SETEX / PSETEX key ttl value.
void SetWithTtl(Call& call, int64_t unit_ms, std::string_view command) {
  auto when = ParsePositiveExpiry(call, call.args[2], unit_ms, false, command);
  if (!when) return;
  auto set = call.store.Set(call.args[1], call.args[3], 0, BootMsFor(*when, call.context));
  set.ok() ? call.Ok() : call.StoreError(set.status());
}

void SetNx(Call& call) {
  bool wrote = false;
  const std::string value(call.args[2]);
  auto result = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    wrote = !current;
    return current ? Mutation::Keep() : Mutation::Write(value, 0, 0);
  });
  if (!result.ok()) return call.StoreError(result.status());
  call.Integer(wrote ? 1 : 0);
}

// GETSET, GETDEL: the old value, and the item replaced or deleted.
void GetAndReplace(Call& call, bool del) {
  std::optional<std::string> old;
  bool wrong_type = false;
  std::string value = del ? "" : std::string(call.args[2]);
  auto result = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    old = current ? std::optional<std::string>(current->value) : std::nullopt;
    wrong_type = IsOtherType(current);
    if (wrong_type) return Mutation::Keep();
    if (del) return current ? Mutation::Delete() : Mutation::Keep();
    return Mutation::Write(value, 0, 0);
  });
  if (!result.ok()) {
    if (KeyOutOfRange(result.status()) && del) {
      CountLookup(call, false);
      return call.Null();
    }
    return call.StoreError(result.status());
  }
  if (wrong_type) return call.Error(kWrongType);
  CountLookup(call, old.has_value());
  call.BulkOrNull(old);
}

void GetEx(Call& call) {
  SetOptions options;
  if (!ParseSetOptions(call, 2, false, &options)) return;
  // As Redis: a missing key answers nil before the expiry is checked.
  bool failed;
  if (!ReadString(call, call.args[1], &failed)) {
    if (!failed) call.Null();
    return;
  }
  std::optional<int64_t> when;
  if (options.expire != SetOptions::kNone) {
    when = SetOptionsExpiry(call, options, "getex");
    if (!when) return;
  }
  std::optional<std::string> value;
  auto result = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    value = current ? std::optional<std::string>(current->value) : std::nullopt;
    if (!current || IsOtherType(current)) return Mutation::Keep();
    if (when) {
      if (AlreadyExpired(*when, call.context)) return Mutation::Delete();
      return Mutation::Touch(*current, BootMsFor(*when, call.context));
    }
    if (options.persist && current->expires_at_ms != 0) return Mutation::Touch(*current, 0);
    return Mutation::Keep();
  });
  if (!result.ok()) {
    if (KeyOutOfRange(result.status())) return call.Null();
    return call.StoreError(result.status());
  }
  call.BulkOrNull(value);
}

void MSet(Call& call, bool only_if_none_exist) {
  if (call.args.size() % 2 != 1) {
    call.out->append(resp::WrongArityError(only_if_none_exist ? "msetnx" : "mset"));
    return;
  }
  if (only_if_none_exist) {
    // Not atomic across keys as in Redis (docs/protocols.md): checked, then set.
    for (size_t i = 1; i < call.args.size(); i += 2) {
      auto item = call.store.Get(call.args[i]);
      if (item.ok() && *item) return call.Integer(0);
    }
  }
  size_t first = 1;
  if (!only_if_none_exist) {
    // Written ahead with the pipeline's run of writes (RespSession), all
    // of it or its first pairs.
    if (auto done = call.client.write_ahead.Take(call.args[1])) first += 2 * done->writes;
  }
  for (size_t i = first; i < call.args.size(); i += 2) {
    auto set = call.store.Set(call.args[i], call.args[i + 1], 0, 0);
    if (!set.ok()) return call.StoreError(set.status());
  }
  only_if_none_exist ? call.Integer(1) : call.Ok();
}

// INCR, DECR, INCRBY, DECRBY: signed 64-bit, the item keeps its TTL.
void IncrBy(Call& call, int64_t delta) {
  // Written ahead with the pipeline's run of writes (RespSession): done.
  if (auto done = call.client.write_ahead.Take(call.args[1])) return call.Integer(done->number);
  std::string_view error;
  int64_t result = 0;
  auto mutated = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    error = {};
    int64_t value = 0;
    if (IsOtherType(current)) {
      error = kWrongType;
      return Mutation::Keep();
    }
    if (current) {
      const auto parsed = ParseRedisInteger(current->value);
      if (!parsed) {
        error = kNotInteger;
        return Mutation::Keep();
      }
      value = *parsed;
    }
    if (__builtin_add_overflow(value, delta, &result)) {
      error = "ERR increment or decrement would overflow";
      return Mutation::Keep();
    }
    return Mutation::Rewrite(current, std::to_string(result));
  });
  if (!mutated.ok()) return call.StoreError(mutated.status());
  if (!error.empty()) return call.Error(error);
  call.Integer(result);
}

void IncrByArg(Call& call, bool decrement) {
  const auto delta = ParseRedisInteger(call.args[2]);
  if (!delta) return call.Error(kNotInteger);
  if (decrement && *delta == std::numeric_limits<int64_t>::min()) {
    return call.Error("ERR decrement would overflow");
  }
  IncrBy(call, decrement ? -*delta : *delta);
}

void IncrByFloat(Call& call) {
  const auto delta = ParseRedisFloat(call.args[2]);
  if (!delta) return call.Error(kNotFloat);
  std::string_view error;
  std::string result;
  auto mutated = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    error = {};
    long double value = 0;
    if (IsOtherType(current)) {
      error = kWrongType;
      return Mutation::Keep();
    }
    if (current) {
      const auto parsed = ParseRedisFloat(current->value);
      if (!parsed) {
        error = kNotFloat;
        return Mutation::Keep();
      }
      value = *parsed;
    }
    value += *delta;
    if (std::isnan(value) || std::isinf(value)) {
      error = "ERR increment would produce NaN or Infinity";
      return Mutation::Keep();
    }
    result = FormatRedisFloat(value);
    return Mutation::Rewrite(current, result);
  });
  if (!mutated.ok()) return call.StoreError(mutated.status());
  if (!error.empty()) return call.Error(error);
  call.Bulk(result);
}

void Append(Call& call) {
  size_t length = 0;
  bool too_big = false, wrong_type = false;
  const std::string_view suffix = call.args[2];
  auto mutated = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    wrong_type = IsOtherType(current);
    if (wrong_type) return Mutation::Keep();
    const std::string_view base = current ? std::string_view(current->value) : "";
    too_big = base.size() + suffix.size() > call.context.max_item_size;
    if (too_big) return Mutation::Keep();
    std::string value = absl::StrCat(std::string(base), std::string(suffix));
    length = value.size();
    return Mutation::Rewrite(current, std::move(value));
  });
  if (!mutated.ok()) return call.StoreError(mutated.status());
  if (wrong_type) return call.Error(kWrongType);
  if (too_big) return call.Error(kTooBig);
  call.Integer(static_cast<int64_t>(length));
}

void SetRange(Call& call) {
  const auto offset = ParseRedisInteger(call.args[2]);
  if (!offset) return call.Error(kNotInteger);
  if (*offset < 0) return call.Error("ERR offset is out of range");
  const std::string_view patch = call.args[3];
  std::string_view error;
  size_t length = 0;
  auto mutated = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    error = {};
    if (IsOtherType(current)) {
      error = kWrongType;
      return Mutation::Keep();
    }
    length = current ? current->value.size() : 0;
    if (patch.empty()) return Mutation::Keep();  // Redis neither creates nor grows
    if (static_cast<uint64_t>(*offset) + patch.size() > call.context.max_item_size) {
      error = kTooBig;
      return Mutation::Keep();
    }
    std::string value = current ? current->value : "";
    if (value.size() < *offset + patch.size()) value.resize(*offset + patch.size(), '\0');
    value.replace(static_cast<size_t>(*offset), patch.size(), patch);
    length = value.size();
    return Mutation::Rewrite(current, std::move(value));
  });
  if (!mutated.ok()) return call.StoreError(mutated.status());
  if (!error.empty()) return call.Error(error);
  call.Integer(static_cast<int64_t>(length));
}

// --- LCS ---------------------------------------------------------------------------

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN], as Redis
// 7.0's lcsCommand: the dynamic-programming table of both strings, its
// size bounded by proto-max-bulk-len (here the largest value, -I), then
// one walk back from its end for the string or the matching ranges.
void Lcs(Call& call) {
  bool failed;
  auto a_item = Read(call, call.args[1], &failed);
  if (failed) return;
  auto b_item = Read(call, call.args[2], &failed);
  if (failed) return;
  if (IsOtherType(a_item) || IsOtherType(b_item)) {
    return call.Error("ERR The specified keys must contain string values");
  }
  const std::string a = a_item ? std::move(a_item->value) : "";
  const std::string b = b_item ? std::move(b_item->value) : "";
  bool get_len = false, get_idx = false, with_match_len = false;
  int64_t min_match_len = 0;
  for (size_t j = 3; j < call.args.size(); ++j) {
    const std::string_view opt = call.args[j];
    if (Is(opt, "IDX")) {
      get_idx = true;
    } else if (Is(opt, "LEN")) {
      get_len = true;
    } else if (Is(opt, "WITHMATCHLEN")) {
      with_match_len = true;
    } else if (Is(opt, "MINMATCHLEN") && j + 1 < call.args.size()) {
      const auto n = ParseRedisInteger(call.args[++j]);
      if (!n) return call.Error(kNotInteger);
      min_match_len = std::max<int64_t>(*n, 0);
    } else {
      return call.Error(kSyntax);
    }
  }
  if (get_idx && get_len) {
    return call.Error("ERR If you want both the length and indexes, please just use IDX.");
  }
  const size_t rows = a.size() + 1, columns = b.size() + 1;
  if (rows * columns * sizeof(uint32_t) > call.context.max_item_size) {
    return call.Error(
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
  }
  // lcs[i * columns + j]: the LCS length of a[0, i) and b[0, j).
  std::vector<uint32_t> lcs(rows * columns, 0);
  const auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * columns + j]; };
  for (size_t i = 1; i < rows; ++i) {
    for (size_t j = 1; j < columns; ++j) {
      at(i, j) = a[i - 1] == b[j - 1] ? at(i - 1, j - 1) + 1 : std::max(at(i - 1, j), at(i, j - 1));
    }
  }
  const uint32_t length = at(a.size(), b.size());
  if (get_len) return call.Integer(length);
  // Walking back: the string from its end, and the ranges of a and b that
  // match, each emitted when it cannot grow further back.
  std::string result(length, '\0');
  std::string matches;
  size_t match_count = 0;
  const size_t unset = a.size();
  size_t a_start = unset, a_end = 0, b_start = 0, b_end = 0;
  size_t idx = length;
  for (size_t i = a.size(), j = b.size(); i > 0 && j > 0;) {
    bool emit = false;
    if (a[i - 1] == b[j - 1]) {
      result[--idx] = a[i - 1];
      if (a_start == unset) {
        a_start = a_end = i - 1;
        b_start = b_end = j - 1;
      } else if (a_start == i && b_start == j) {
        --a_start;
        --b_start;
      } else {
        emit = true;
      }
      if (a_start == 0 || b_start == 0) emit = true;
      --i;
      --j;
    } else {
      at(i - 1, j) > at(i, j - 1) ? --i : --j;
      if (a_start != unset) emit = true;
    }
    if (!emit) continue;
    const size_t match_len = a_end - a_start + 1;
    if (get_idx && (min_match_len == 0 || static_cast<int64_t>(match_len) >= min_match_len)) {
      resp::AppendArrayHeader(&matches, with_match_len ? 3 : 2);
      resp::AppendArrayHeader(&matches, 2);
      resp::AppendInteger(&matches, static_cast<int64_t>(a_start));
      resp::AppendInteger(&matches, static_cast<int64_t>(a_end));
      resp::AppendArrayHeader(&matches, 2);
      resp::AppendInteger(&matches, static_cast<int64_t>(b_start));
      resp::AppendInteger(&matches, static_cast<int64_t>(b_end));
      if (with_match_len) resp::AppendInteger(&matches, static_cast<int64_t>(match_len));
      ++match_count;
    }
    a_start = unset;
  }
  if (!get_idx) return call.Bulk(result);
  // RESP2's form of Redis's map: matches, then len.
  resp::AppendArrayHeader(call.out, 4);
  call.Bulk("matches");
  resp::AppendArrayHeader(call.out, match_count);
  call.out->append(matches);
  call.Bulk("len");
  call.Integer(length);
}

// The table's rows for commands that share an implementation.
void SetEx(Call& c) { SetWithTtl(c, 1000, "setex"); }
void PSetEx(Call& c) { SetWithTtl(c, 1, "psetex"); }
void GetSet(Call& c) { GetAndReplace(c, false); }
void GetDel(Call& c) { GetAndReplace(c, true); }
void MSetAll(Call& c) { MSet(c, false); }
void MSetNx(Call& c) { MSet(c, true); }
void Incr(Call& c) { IncrBy(c, 1); }
void Decr(Call& c) { IncrBy(c, -1); }
void IncrByCommand(Call& c) { IncrByArg(c, false); }
void DecrByCommand(Call& c) { IncrByArg(c, true); }

}  // namespace

void RegisterStringFamily(Registry* registry) {
  using namespace resp::CO;  // NOLINT: the flags read as Redis's
  *registry
      << CI{"get", kReadOnly | kFast, 2, 1, 1}.Handle(Get)
      << CI{"mget", kReadOnly | kFast, -2, 1, -1}.Handle(MGet)
      << CI{"strlen", kReadOnly | kFast, 2, 1, 1}.Handle(Strlen)
      << CI{"getrange", kReadOnly, 4, 1, 1}.Handle(GetRange)
      << CI{"set", kWrite | kDenyOom, -3, 1, 1}.Handle(Set)
      << CI{"setex", kWrite | kDenyOom, 4, 1, 1}.Handle(SetEx)
      << CI{"psetex", kWrite | kDenyOom, 4, 1, 1}.Handle(PSetEx)
      << CI{"setnx", kWrite | kDenyOom | kFast, 3, 1, 1}.Handle(SetNx)
      << CI{"getset", kWrite | kDenyOom | kFast, 3, 1, 1}.Handle(GetSet)
      << CI{"getdel", kWrite | kFast, 2, 1, 1}.Handle(GetDel)
      << CI{"getex", kWrite | kFast, -2, 1, 1}.Handle(GetEx)
      << CI{"mset", kWrite | kDenyOom, -3, 1, -1}.Handle(MSetAll)
      << CI{"msetnx", kWrite | kDenyOom, -3, 1, -1}.Handle(MSetNx)
      << CI{"incr", kWrite | kDenyOom | kFast, 2, 1, 1}.Handle(Incr)
      << CI{"decr", kWrite | kDenyOom | kFast, 2, 1, 1}.Handle(Decr)
      << CI{"incrby", kWrite | kDenyOom | kFast, 3, 1, 1}.Handle(IncrByCommand)
      << CI{"decrby", kWrite | kDenyOom | kFast, 3, 1, 1}.Handle(DecrByCommand)
      << CI{"incrbyfloat", kWrite | kDenyOom | kFast, 3, 1, 1}.Handle(IncrByFloat)
      << CI{"append", kWrite | kDenyOom | kFast, 3, 1, 1}.Handle(Append)
      << CI{"setrange", kWrite | kDenyOom, 4, 1, 1}.Handle(SetRange)
      << CI{"lcs", kReadOnly, -3, 1, 2}.Handle(Lcs);
}

}  // namespace xdpkv::redis

namespace xdpkv {

bool ContinueRespReply(Store& store, const ServerContext& context, RespClient& client,
                       std::string* out) {
  std::vector<std::string_view> keys(client.pending_mget.begin(), client.pending_mget.end());
  size_t done = 0;
  while (done < keys.size() && out->size() <= client.output_limit) {
    const size_t room = client.output_limit - out->size();
    done += redis::AppendMGetValues(store, context, std::span(keys).subspan(done), room, out);
  }
  client.pending_mget.erase(client.pending_mget.begin(),
                            client.pending_mget.begin() + static_cast<ptrdiff_t>(done));
  return client.pending_mget.empty();
}

}  // namespace xdpkv
