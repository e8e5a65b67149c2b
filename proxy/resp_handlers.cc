// Redis's string and keyspace commands over the Store, with Redis 7's
// replies and error wording. Expiry is kept in milliseconds, as Redis does.
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>
#include <optional>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "protocol/glob.h"
#include "protocol/redis_commands.h"
#include "protocol/resp.h"
#include "protocol/values.h"
#include "proxy/handlers.h"

namespace xdpkv {
namespace {

using Args = std::span<const std::string_view>;

constexpr std::string_view kOom = "OOM command not allowed when used memory > 'maxmemory'.";
constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
constexpr std::string_view kNotFloat = "ERR value is not a valid float";
constexpr std::string_view kSyntax = "ERR syntax error";
constexpr std::string_view kTooBig =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

std::string Str(std::string_view s) { return std::string(s); }

// An argument that names an option or subcommand, in any case.
bool Is(std::string_view arg, std::string_view name) { return resp::EqualsIgnoreCase(arg, name); }

// One command being answered.
struct Call {
  Args args;
  Store& store;
  const ServerContext& context;
  RespClient& client;
  std::string* out;
  bool close = false;

  uint64_t now_ms() const { return context.now_boot_ms(); }
  void Ok() { out->append(resp::reply::kOk); }
  void Error(std::string_view message) { resp::AppendError(out, message); }
  void Integer(int64_t n) { resp::AppendInteger(out, n); }
  void Bulk(std::string_view s) { resp::AppendBulk(out, s); }
  void Null() { resp::AppendNullBulk(out); }
  void BulkOrNull(const std::optional<std::string>& s) { s ? Bulk(*s) : Null(); }
  void StoreError(const absl::Status& status) {
    if (status.code() == absl::StatusCode::kResourceExhausted) {
      Error(kOom);
    } else {
      // Also a key or value outside what xdpkv stores (docs/protocols.md).
      Error(absl::StrCat("ERR ", std::string(status.message())));
    }
  }
};

// A key xdpkv cannot hold (empty, or above 250 bytes) cannot exist: reads
// of it see nothing rather than an error.
bool KeyOutOfRange(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument;
}

// --- expiry ------------------------------------------------------------------
//
// Redis's arithmetic, in Redis's units: an expiry is a unix time in
// milliseconds (`when`), checked for overflow exactly where Redis checks it
// (expire.c's expireGenericCommand, t_string.c's getExpireMillisecondsOrReply),
// so every input gets Redis's reply. Only then is it converted to the
// store's CLOCK_BOOTTIME milliseconds, with the context's fixed offset, so a
// PEXPIREAT reads back unchanged from PEXPIRETIME.

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

int64_t NowUnixMs(const ServerContext& context) {
  return static_cast<int64_t>(context.now_boot_ms()) + context.unix_minus_boot_ms;
}

// The store's expires_at_ms for an expiry `when` (unix ms) in the future.
uint64_t BootMsFor(int64_t when, const ServerContext& context) {
  int64_t at;
  // Saturates: an expiry near 2^63 ms is "never" either way.
  if (__builtin_sub_overflow(when, context.unix_minus_boot_ms, &at)) at = kInt64Max;
  return at > 0 ? static_cast<uint64_t>(at) : 1;
}

// An item's expiry as Redis keeps it: unix ms (-1 without one).
int64_t UnixExpiry(const StoredItem& item, const ServerContext& context) {
  if (item.expires_at_ms == 0) return -1;
  const int64_t at = static_cast<int64_t>(std::min<uint64_t>(item.expires_at_ms, kInt64Max));
  int64_t when;
  if (__builtin_add_overflow(at, context.unix_minus_boot_ms, &when)) {
    when = context.unix_minus_boot_ms > 0 ? kInt64Max : kInt64Min;
  }
  return when;
}

std::string InvalidExpireTime(std::string_view command) {
  return absl::StrCat("ERR invalid expire time in '", Str(command), "' command");
}

// SET's EX/PX/EXAT/PXAT, GETEX's, SETEX's and PSETEX's argument, as
// getExpireMillisecondsOrReply: a positive count of `unit_ms`, relative to
// now unless `absolute`. Replies with Redis's error and returns nullopt on
// bad input; else the expiry in unix ms.
std::optional<int64_t> ParsePositiveExpiry(Call& call, std::string_view arg, int64_t unit_ms,
                                           bool absolute, std::string_view command) {
  const auto n = ParseRedisInteger(arg);
  if (!n) {
    call.Error(kNotInteger);
    return std::nullopt;
  }
  int64_t when = *n;
  if (when <= 0 || when > kInt64Max / unit_ms) {
    call.Error(InvalidExpireTime(command));
    return std::nullopt;
  }
  when *= unit_ms;
  // Redis adds now and checks the sum is still positive (its overflow).
  if (!absolute && __builtin_add_overflow(when, NowUnixMs(call.context), &when)) {
    call.Error(InvalidExpireTime(command));
    return std::nullopt;
  }
  return when;
}

// EXPIRE's family's argument, as expireGenericCommand: any integer of
// `unit_ms`, plus now unless `absolute`; overflow of either step is an
// error. Returns the expiry in unix ms (perhaps far in the past).
std::optional<int64_t> ParseAnyExpiry(Call& call, std::string_view arg, int64_t unit_ms,
                                      bool absolute, std::string_view command) {
  const auto n = ParseRedisInteger(arg);
  if (!n) {
    call.Error(kNotInteger);
    return std::nullopt;
  }
  int64_t when = *n;
  if (when > kInt64Max / unit_ms || when < kInt64Min / unit_ms) {
    call.Error(InvalidExpireTime(command));
    return std::nullopt;
  }
  when *= unit_ms;
  const int64_t basetime = absolute ? 0 : NowUnixMs(call.context);
  if (when > kInt64Max - basetime) {
    call.Error(InvalidExpireTime(command));
    return std::nullopt;
  }
  return when + basetime;
}

// Redis's checkAlreadyExpired: an expiry at or before now deletes the key.
bool AlreadyExpired(int64_t when, const ServerContext& context) {
  return when <= NowUnixMs(context);
}

// Milliseconds left (0 when due); -1 without a TTL.
int64_t TtlMs(const StoredItem& item, uint64_t now_ms) {
  if (item.expires_at_ms == 0) return -1;
  if (item.expires_at_ms <= now_ms) return 0;
  return static_cast<int64_t>(std::min<uint64_t>(item.expires_at_ms - now_ms, kInt64Max));
}

// Redis's rounding of milliseconds to seconds: to the nearest, computed
// without overflow (Redis's own (ms+500)/1000 reads 9223372036854776 for
// 2^63-1 ms, as here).
int64_t RoundToSeconds(int64_t ms) {
  return static_cast<int64_t>((static_cast<uint64_t>(ms) + 500) / 1000);
}

// --- reads ---------------------------------------------------------------------

// Redis's keyspace_hits/keyspace_misses: lookups for reading count (GET,
// MGET, EXISTS, TTL, TYPE, GETSET, SET ... GET, ...); lookups for writing
// (INCR, APPEND, EXPIRE, RENAME, ...) do not.
void CountLookup(Call& call, bool hit) {
  ServerStats::Add(hit ? call.context.stats->keyspace_hits : call.context.stats->keyspace_misses);
}

// A read lookup: the item, or nullopt when absent (counted as a miss) or
// on a store error (replied, and *failed set). `count`: false for lookups
// Redis makes for writing.
std::optional<StoredItem> Read(Call& call, std::string_view key, bool* failed, bool count = true) {
  auto item = call.store.Get(key);
  *failed = false;
  if (!item.ok()) {
    if (KeyOutOfRange(item.status())) {
      if (count) CountLookup(call, false);
      return std::nullopt;
    }
    call.StoreError(item.status());
    *failed = true;
    return std::nullopt;
  }
  if (count) CountLookup(call, item->has_value());
  return std::move(*item);
}

void Get(Call& call) {
  bool failed;
  auto item = Read(call, call.args[1], &failed);
  if (failed) return;
  item ? call.Bulk(item->value) : call.Null();
}

void MGet(Call& call) {
  std::string reply;
  resp::AppendArrayHeader(&reply, call.args.size() - 1);
  for (size_t i = 1; i < call.args.size(); ++i) {
    auto item = call.store.Get(call.args[i]);
    CountLookup(call, item.ok() && *item);
    if (item.ok() && *item) {
      resp::AppendBulk(&reply, (*item)->value);
    } else {
      resp::AppendNullBulk(&reply);  // absent, or a key that cannot exist
    }
  }
  call.out->append(reply);
}

void Strlen(Call& call) {
  bool failed;
  auto item = Read(call, call.args[1], &failed);
  if (!failed) call.Integer(item ? static_cast<int64_t>(item->value.size()) : 0);
}

void Type(Call& call) {
  bool failed;
  auto item = Read(call, call.args[1], &failed);
  if (!failed) resp::AppendSimpleString(call.out, item ? "string" : "none");
}

void GetRange(Call& call) {
  const auto start_arg = ParseRedisInteger(call.args[2]);
  const auto end_arg = ParseRedisInteger(call.args[3]);
  if (!start_arg || !end_arg) return call.Error(kNotInteger);
  bool failed;
  auto item = Read(call, call.args[1], &failed);
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

void Exists(Call& call) {
  int64_t count = 0;
  for (size_t i = 1; i < call.args.size(); ++i) {
    auto item = call.store.Get(call.args[i]);
    CountLookup(call, item.ok() && *item);
    if (item.ok() && *item) ++count;
  }
  call.Integer(count);
}

// TTL, PTTL, EXPIRETIME, PEXPIRETIME (Redis's ttlGenericCommand).
void Ttl(Call& call, bool millis, bool absolute) {
  bool failed;
  auto item = Read(call, call.args[1], &failed);
  if (failed) return;
  if (!item) return call.Integer(-2);
  if (item->expires_at_ms == 0) return call.Integer(-1);
  int64_t ms = absolute ? UnixExpiry(*item, call.context) : TtlMs(*item, call.now_ms());
  if (ms < 0) ms = 0;
  call.Integer(millis ? ms : RoundToSeconds(ms));
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
  SetOptions options;
  if (!ParseSetOptions(call, 3, true, &options)) return;
  std::optional<int64_t> when;
  if (options.expire != SetOptions::kNone) {
    when = SetOptionsExpiry(call, options, "set");
    if (!when) return;
  }
  const std::string value(call.args[2]);
  std::optional<std::string> old;
  bool wrote = false;
  auto result = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    old = current ? std::optional<std::string>(current->value) : std::nullopt;
    wrote = false;
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
  std::string value = del ? "" : std::string(call.args[2]);
  auto result = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    old = current ? std::optional<std::string>(current->value) : std::nullopt;
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
  CountLookup(call, old.has_value());
  call.BulkOrNull(old);
}

void GetEx(Call& call) {
  SetOptions options;
  if (!ParseSetOptions(call, 2, false, &options)) return;
  // As Redis: a missing key answers nil before the expiry is checked.
  bool failed;
  if (!Read(call, call.args[1], &failed)) {
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
    if (!current) return Mutation::Keep();
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
  for (size_t i = 1; i < call.args.size(); i += 2) {
    auto set = call.store.Set(call.args[i], call.args[i + 1], 0, 0);
    if (!set.ok()) return call.StoreError(set.status());
  }
  only_if_none_exist ? call.Integer(1) : call.Ok();
}

void Del(Call& call) {
  int64_t count = 0;
  for (size_t i = 1; i < call.args.size(); ++i) {
    auto deleted = call.store.Delete(call.args[i]);
    if (deleted.ok() && *deleted) ++count;
  }
  call.Integer(count);
}

// INCR, DECR, INCRBY, DECRBY: signed 64-bit, the item keeps its TTL.
void IncrBy(Call& call, int64_t delta) {
  std::string_view error;
  int64_t result = 0;
  auto mutated = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    error = {};
    int64_t value = 0;
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
  bool too_big = false;
  const std::string_view suffix = call.args[2];
  auto mutated = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    const std::string_view base = current ? std::string_view(current->value) : "";
    too_big = base.size() + suffix.size() > call.context.max_item_size;
    if (too_big) return Mutation::Keep();
    std::string value = absl::StrCat(std::string(base), std::string(suffix));
    length = value.size();
    return Mutation::Rewrite(current, std::move(value));
  });
  if (!mutated.ok()) return call.StoreError(mutated.status());
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

// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT key time [NX|XX|GT|LT], as Redis's
// expireGenericCommand: options, then the number, then the key.
void Expire(Call& call, int64_t unit_ms, bool absolute, std::string_view command) {
  bool nx = false, xx = false, gt = false, lt = false;
  for (size_t i = 3; i < call.args.size(); ++i) {
    const std::string_view opt = call.args[i];
    if (Is(opt, "NX")) {
      nx = true;
    } else if (Is(opt, "XX")) {
      xx = true;
    } else if (Is(opt, "GT")) {
      gt = true;
    } else if (Is(opt, "LT")) {
      lt = true;
    } else {
      return call.Error(absl::StrCat("ERR Unsupported option ", Str(opt)));
    }
  }
  if (nx && (xx || gt || lt)) {
    return call.Error("ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if (gt && lt) return call.Error("ERR GT and LT options at the same time are not compatible");
  const auto when = ParseAnyExpiry(call, call.args[2], unit_ms, absolute, command);
  if (!when) return;
  bool set = false;
  auto mutated = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    set = false;
    if (!current) return Mutation::Keep();
    // Compared in Redis's unit, unix ms; -1: no TTL, an infinite one.
    const int64_t current_expire = UnixExpiry(*current, call.context);
    if ((nx && current_expire != -1) || (xx && current_expire == -1) ||
        (gt && (current_expire == -1 || *when <= current_expire)) ||
        (lt && current_expire != -1 && *when >= current_expire)) {
      return Mutation::Keep();
    }
    set = true;
    if (AlreadyExpired(*when, call.context)) return Mutation::Delete();
    return Mutation::Touch(*current, BootMsFor(*when, call.context));
  });
  if (!mutated.ok()) {
    if (KeyOutOfRange(mutated.status())) return call.Integer(0);
    return call.StoreError(mutated.status());
  }
  call.Integer(set ? 1 : 0);
}

void Persist(Call& call) {
  bool removed = false;
  auto mutated = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    removed = current && current->expires_at_ms != 0;
    return removed ? Mutation::Touch(*current, 0) : Mutation::Keep();
  });
  if (!mutated.ok() && !KeyOutOfRange(mutated.status())) {
    return call.StoreError(mutated.status());
  }
  call.Integer(removed ? 1 : 0);
}

void Rename(Call& call, bool only_if_new) {
  bool failed;
  auto source = Read(call, call.args[1], &failed, /*count=*/false);
  if (failed) return;
  if (!source) return call.Error("ERR no such key");
  if (call.args[1] == call.args[2]) return only_if_new ? call.Integer(0) : call.Ok();
  // Not atomic across the two keys as in Redis (docs/protocols.md).
  bool wrote = false;
  auto result = call.store.Mutate(call.args[2], [&](const std::optional<StoredItem>& current) {
    wrote = !(only_if_new && current);
    if (!wrote) return Mutation::Keep();
    return Mutation::Write(source->value, source->flags, source->expires_at_ms);
  });
  if (!result.ok()) return call.StoreError(result.status());
  if (wrote) (void)call.store.Delete(call.args[1]);
  only_if_new ? call.Integer(wrote ? 1 : 0) : call.Ok();
}

// --- keyspace ----------------------------------------------------------------------

void Keys(Call& call) {
  std::vector<std::string> matched;
  uint64_t cursor = 0;
  do {
    auto page = call.store.Scan(cursor, 4096);
    if (!page.ok()) return call.StoreError(page.status());
    for (std::string& key : page->keys) {
      if (resp::GlobMatch(call.args[1], key)) matched.push_back(std::move(key));
    }
    cursor = page->next_cursor;
  } while (cursor != 0);
  // A key seen twice (moved buckets while scanned) is listed once.
  std::sort(matched.begin(), matched.end());
  matched.erase(std::unique(matched.begin(), matched.end()), matched.end());
  resp::AppendArrayHeader(call.out, matched.size());
  for (const std::string& key : matched) resp::AppendBulk(call.out, key);
}

void ScanCommand(Call& call) {
  // Redis's cursor is an unsigned 64-bit decimal.
  uint64_t cursor = 0;
  const std::string_view text = call.args[1];
  if (text.empty() || text.size() > 20 ||
      text.find_first_not_of("0123456789") != std::string_view::npos) {
    return call.Error("ERR invalid cursor");
  }
  for (char c : text) {
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (cursor > (UINT64_MAX - digit) / 10) return call.Error("ERR invalid cursor");
    cursor = cursor * 10 + digit;
  }
  std::optional<std::string_view> pattern;
  std::optional<std::string_view> type;
  int64_t count = 10;
  for (size_t i = 2; i < call.args.size(); i += 2) {
    if (i + 1 >= call.args.size()) return call.Error(kSyntax);
    const std::string_view value = call.args[i + 1];
    if (Is(call.args[i], "MATCH")) {
      pattern = value;
    } else if (Is(call.args[i], "COUNT")) {
      const auto n = ParseRedisInteger(value);
      if (!n) return call.Error(kNotInteger);
      if (*n < 1) return call.Error(kSyntax);
      count = *n;
    } else if (Is(call.args[i], "TYPE")) {
      type = value;
    } else {
      return call.Error(kSyntax);
    }
  }
  auto page = call.store.Scan(cursor, static_cast<size_t>(std::min<int64_t>(count, 1 << 20)));
  if (!page.ok()) return call.StoreError(page.status());
  std::vector<std::string_view> keys;
  for (const std::string& key : page->keys) {
    if (type && !Is(*type, "STRING")) continue;  // every xdpkv value is a string
    if (pattern && !resp::GlobMatch(*pattern, key)) continue;
    keys.push_back(key);
  }
  resp::AppendArrayHeader(call.out, 2);
  call.Bulk(std::to_string(page->next_cursor));
  resp::AppendArrayHeader(call.out, keys.size());
  for (std::string_view key : keys) call.Bulk(key);
}

void RandomKey(Call& call) {
  // One pass over the keyspace, keeping a uniformly chosen key (reservoir
  // sampling): O(items), as the store has no random access.
  static thread_local std::mt19937_64 random{std::random_device{}()};
  std::optional<std::string> chosen;
  uint64_t seen = 0;
  uint64_t cursor = 0;
  do {
    auto page = call.store.Scan(cursor, 4096);
    if (!page.ok()) return call.StoreError(page.status());
    for (std::string& key : page->keys) {
      if (random() % ++seen == 0) chosen = std::move(key);
    }
    cursor = page->next_cursor;
  } while (cursor != 0);
  call.BulkOrNull(chosen);
}

void DbSize(Call& call) {
  auto usage = call.store.Usage();
  if (!usage.ok()) return call.StoreError(usage.status());
  call.Integer(static_cast<int64_t>(usage->items));
}

void Flush(Call& call) {
  if (call.args.size() > 2 || (call.args.size() == 2 && !Is(call.args[1], "ASYNC") &&
                               !Is(call.args[1], "SYNC"))) {
    return call.Error(kSyntax);
  }
  auto cleared = call.store.Clear();
  cleared.ok() ? call.Ok() : call.StoreError(cleared.status());
}

// --- connection and server -------------------------------------------------------

void Ping(Call& call) {
  if (call.args.size() == 1) {
    call.out->append(resp::reply::kPong);
  } else if (call.args.size() == 2) {
    call.Bulk(call.args[1]);
  } else {
    call.out->append(resp::WrongArityError("ping"));
  }
}

void Select(Call& call) {
  const auto db = ParseRedisInteger(call.args[1]);
  if (!db) return call.Error(kNotInteger);
  if (*db != 0) return call.Error("ERR DB index is out of range");
  call.Ok();
}

void Time(Call& call) {
  timeval tv;
  gettimeofday(&tv, nullptr);
  resp::AppendArrayHeader(call.out, 2);
  call.Bulk(std::to_string(tv.tv_sec));
  call.Bulk(std::to_string(tv.tv_usec));
}

// INFO keyspace's db0 line. Redis keeps these counts; xdpkv walks the
// store (Store::Scan, then one lookup per key for its expiry): O(items)
// map lookups, about a second per million keys, on the calling thread.
// avg_ttl is the exact mean of the TTLs left, in ms (Redis: an estimate).
void AppendKeyspaceLine(Call& call, std::string* info) {
  uint64_t keys = 0, expires = 0, ttl_sum_ms = 0;
  uint64_t cursor = 0;
  do {
    auto page = call.store.Scan(cursor, 4096);
    if (!page.ok()) return;
    for (const std::string& key : page->keys) {
      auto item = call.store.Get(key);
      if (!item.ok() || !*item) continue;  // gone since the scan saw it
      ++keys;
      if ((*item)->expires_at_ms != 0) {
        ++expires;
        ttl_sum_ms += static_cast<uint64_t>(TtlMs(**item, call.now_ms()));
      }
    }
    cursor = page->next_cursor;
  } while (cursor != 0);
  if (keys == 0) return;
  absl::StrAppend(info, "db0:keys=", keys, ",expires=", expires,
                  ",avg_ttl=", expires ? ttl_sum_ms / expires : 0, "\r\n");
}

void AppendInfoSection(Call& call, std::string_view section, std::string* info) {
  const ServerStats& s = *call.context.stats;
  const int64_t now = time(nullptr);
  auto line = [info](std::string_view name, const auto& value) {
    absl::StrAppend(info, Str(name), ":", value, "\r\n");
  };
  if (section == "server") {
    info->append("# Server\r\n");
    line("redis_version", "7.0.0");
    line("xdpkv_version", call.context.version);
    line("redis_mode", "standalone");
    line("os", "Linux");
    line("arch_bits", 64);
    line("process_id", static_cast<int64_t>(getpid()));
    line("tcp_port", call.context.tcp_port);
    line("uptime_in_seconds", now - call.context.started_unix);
    line("uptime_in_days", (now - call.context.started_unix) / 86400);
  } else if (section == "clients") {
    info->append("# Clients\r\n");
    line("connected_clients", ServerStats::Read(s.curr_connections));
  } else if (section == "memory") {
    info->append("# Memory\r\n");
    auto usage = call.store.Usage();
    line("used_memory", usage.ok() ? usage->bytes : 0);
    line("maxmemory", 0);
    line("maxmemory_policy", "noeviction");
  } else if (section == "stats") {
    // Counts since the last CONFIG RESETSTAT, of both tiers: what userspace
    // served plus what the kernel answered itself (xdp_resp_*; every GET,
    // SET and DEL it answers is a command; its GETs are hits or misses).
    info->append("# Stats\r\n");
    const NamedCounters raw = ResettableCounters(call.context);
    auto since = [&](std::string_view name) {
      return s.resp_baseline.Since(name, CountOf(raw, name));
    };
    auto kernel = [&](std::initializer_list<std::string_view> outcomes) {
      uint64_t total = 0;
      for (std::string_view outcome : outcomes) total += since(absl::StrCat("xdp_resp_", Str(outcome)));
      return total;
    };
    line("total_connections_received", since("total_connections"));
    line("total_commands_processed",
         since("commands") + kernel({"get_hits", "get_misses", "sets", "delete_hits",
                                     "delete_misses", "store_full"}));
    line("expired_keys", since("expired_keys"));
    line("evicted_keys", 0);
    line("keyspace_hits", since("keyspace_hits") + kernel({"get_hits"}));
    line("keyspace_misses", since("keyspace_misses") + kernel({"get_misses"}));
  } else if (section == "keyspace") {
    info->append("# Keyspace\r\n");
    AppendKeyspaceLine(call, info);
  } else if (section == "xdp") {
    // The kernel's own counts, since the last CONFIG RESETSTAT.
    info->append("# Xdp\r\n");
    for (const auto& [name, count] : ResettableCounters(call.context)) {
      if (name.starts_with("xdp_")) line(name, s.resp_baseline.Since(name, count));
    }
  }
}

void Info(Call& call) {
  static constexpr std::string_view kDefault[] = {"server", "clients", "memory",
                                                  "stats",  "keyspace", "xdp"};
  std::vector<std::string> wanted;
  for (size_t i = 1; i < call.args.size(); ++i) {
    std::string name(call.args[i]);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "all" || name == "everything" || name == "default") {
      wanted.assign(std::begin(kDefault), std::end(kDefault));
      break;
    }
    wanted.push_back(std::move(name));
  }
  if (wanted.empty()) wanted.assign(std::begin(kDefault), std::end(kDefault));
  std::string info;
  for (const std::string& section : wanted) {
    if (!info.empty()) info.append("\r\n");
    AppendInfoSection(call, section, &info);
  }
  call.Bulk(info);
}

void Command(Call& call) {
  const auto commands = resp::AllCommands();
  if (call.args.size() >= 2 && Is(call.args[1], "COUNT")) {
    return call.Integer(static_cast<int64_t>(commands.size()));
  }
  if (call.args.size() >= 2 && Is(call.args[1], "LIST")) {
    resp::AppendArrayHeader(call.out, commands.size());
    for (const auto& spec : commands) call.Bulk(spec.name);
    return;
  }
  // COMMAND, COMMAND DOCS, COMMAND INFO: redis-cli only needs a valid
  // reply; clients fall back to their own tables.
  call.out->append(resp::reply::kEmptyArray);
}

bool ValidClientName(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

void Client(Call& call) {
  const std::string_view sub = call.args[1];
  if (Is(sub, "SETNAME")) {
    if (!ValidClientName(call.args[2])) {
      return call.Error("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    call.client.name = std::string(call.args[2]);
    return call.Ok();
  }
  if (Is(sub, "GETNAME")) {
    return call.client.name.empty() ? call.Null() : call.Bulk(call.client.name);
  }
  if (Is(sub, "SETINFO")) {
    if (Is(call.args[2], "LIB-NAME")) {
      call.client.lib_name = std::string(call.args[3]);
    } else if (Is(call.args[2], "LIB-VER")) {
      call.client.lib_version = std::string(call.args[3]);
    } else {
      return call.Error(absl::StrCat("ERR Unrecognized option '", Str(call.args[2]), "'"));
    }
    return call.Ok();
  }
  if (Is(sub, "ID")) return call.Integer(static_cast<int64_t>(call.client.id));
  if (Is(sub, "INFO") || Is(sub, "LIST")) {
    return call.Bulk(absl::StrCat("id=", call.client.id, " name=", call.client.name,
                                  " db=0 lib-name=", call.client.lib_name,
                                  " lib-ver=", call.client.lib_version, "\n"));
  }
  call.Error(absl::StrCat("ERR unknown subcommand '", Str(sub), "'. Try CLIENT HELP."));
}

void Hello(Call& call) {
  if (call.args.size() >= 2) {
    const auto version = ParseRedisInteger(call.args[1]);
    if (!version) return call.Error("ERR Protocol version is not an integer or out of range");
    if (*version != 2) return call.Error("NOPROTO unsupported protocol version");
    for (size_t i = 2; i < call.args.size(); ++i) {
      if (Is(call.args[i], "SETNAME") && i + 1 < call.args.size()) {
        if (!ValidClientName(call.args[i + 1])) {
          return call.Error(
              "ERR Client names cannot contain spaces, newlines or special characters.");
        }
        call.client.name = std::string(call.args[++i]);
      } else if (Is(call.args[i], "AUTH") && i + 2 < call.args.size()) {
        return call.Error("ERR AUTH <password> called without any password configured for the "
                          "default user. Are you sure your configuration is correct?");
      } else {
        return call.Error(
            absl::StrCat("ERR Syntax error in HELLO option '", Str(call.args[i]), "'"));
      }
    }
  }
  // RESP2 has no map type: the map goes out as a flat array.
  resp::AppendArrayHeader(call.out, 14);
  call.Bulk("server");
  call.Bulk("redis");
  call.Bulk("version");
  call.Bulk("7.0.0");
  call.Bulk("proto");
  call.Integer(2);
  call.Bulk("id");
  call.Integer(static_cast<int64_t>(call.client.id));
  call.Bulk("mode");
  call.Bulk("standalone");
  call.Bulk("role");
  call.Bulk("master");
  call.Bulk("modules");
  call.out->append(resp::reply::kEmptyArray);
}

void Config(Call& call) {
  const std::string_view sub = call.args[1];
  if (Is(sub, "GET")) {
    const std::pair<std::string, std::string> params[] = {
        {"appendonly", "no"},
        {"databases", "1"},
        {"maxmemory", "0"},
        {"maxmemory-policy", "noeviction"},
        {"port", std::to_string(call.context.tcp_port)},
        {"proto-max-bulk-len", std::to_string(call.context.max_item_size)},
        {"save", ""},
        {"timeout", "0"},
    };
    std::vector<const std::pair<std::string, std::string>*> matched;
    for (const auto& param : params) {
      for (size_t i = 2; i < call.args.size(); ++i) {
        if (resp::GlobMatch(call.args[i], param.first)) {
          matched.push_back(&param);
          break;
        }
      }
    }
    resp::AppendArrayHeader(call.out, matched.size() * 2);
    for (const auto* param : matched) {
      call.Bulk(param->first);
      call.Bulk(param->second);
    }
    return;
  }
  if (Is(sub, "RESETSTAT")) {
    // As Redis's resetServerStats: the counters INFO stats shows, the
    // kernel's included (a baseline: memcached's view is not reset).
    call.context.stats->resp_baseline.Reset(ResettableCounters(call.context));
    return call.Ok();
  }
  if (Is(sub, "SET")) {
    return call.Error(absl::StrCat("ERR Unknown option or number of arguments for CONFIG SET - '",
                                   Str(call.args[2]), "'"));
  }
  call.Error(absl::StrCat("ERR unknown subcommand '", Str(sub), "'. Try CONFIG HELP."));
}

void Quit(Call& call) {
  call.Ok();
  call.close = true;
}

using Handler = void (*)(Call&);

const absl::flat_hash_map<std::string_view, Handler>& Handlers() {
  static const auto* handlers = new absl::flat_hash_map<std::string_view, Handler>{
      {"get", Get},
      {"mget", MGet},
      {"strlen", Strlen},
      {"type", Type},
      {"getrange", GetRange},
      {"exists", Exists},
      {"ttl", [](Call& c) { Ttl(c, false, false); }},
      {"pttl", [](Call& c) { Ttl(c, true, false); }},
      {"expiretime", [](Call& c) { Ttl(c, false, true); }},
      {"pexpiretime", [](Call& c) { Ttl(c, true, true); }},
      {"set", Set},
      {"setex", [](Call& c) { SetWithTtl(c, 1000, "setex"); }},
      {"psetex", [](Call& c) { SetWithTtl(c, 1, "psetex"); }},
      {"setnx", SetNx},
      {"getset", [](Call& c) { GetAndReplace(c, false); }},
      {"getdel", [](Call& c) { GetAndReplace(c, true); }},
      {"getex", GetEx},
      {"mset", [](Call& c) { MSet(c, false); }},
      {"msetnx", [](Call& c) { MSet(c, true); }},
      {"del", Del},
      {"unlink", Del},
      {"incr", [](Call& c) { IncrBy(c, 1); }},
      {"decr", [](Call& c) { IncrBy(c, -1); }},
      {"incrby", [](Call& c) { IncrByArg(c, false); }},
      {"decrby", [](Call& c) { IncrByArg(c, true); }},
      {"incrbyfloat", IncrByFloat},
      {"append", Append},
      {"setrange", SetRange},
      {"expire", [](Call& c) { Expire(c, 1000, false, "expire"); }},
      {"pexpire", [](Call& c) { Expire(c, 1, false, "pexpire"); }},
      {"expireat", [](Call& c) { Expire(c, 1000, true, "expireat"); }},
      {"pexpireat", [](Call& c) { Expire(c, 1, true, "pexpireat"); }},
      {"persist", Persist},
      {"rename", [](Call& c) { Rename(c, false); }},
      {"renamenx", [](Call& c) { Rename(c, true); }},
      {"keys", Keys},
      {"scan", ScanCommand},
      {"randomkey", RandomKey},
      {"dbsize", DbSize},
      {"flushdb", Flush},
      {"flushall", Flush},
      {"ping", Ping},
      {"echo", [](Call& c) { c.Bulk(c.args[1]); }},
      {"select", Select},
      {"time", Time},
      {"info", Info},
      {"command", Command},
      {"client", Client},
      {"hello", Hello},
      {"config", Config},
      {"quit", Quit},
  };
  return *handlers;
}

}  // namespace

AfterReply HandleResp(std::span<const std::string_view> args, Store& store,
                      const ServerContext& context, RespClient& client, std::string* out) {
  if (auto error = resp::CheckCommand(args)) {
    out->append(*error);
    return AfterReply::kContinue;
  }
  const resp::CommandSpec* spec = resp::FindCommand(args[0]);
  const auto handler = Handlers().find(spec->name);
  if (handler == Handlers().end()) {
    out->append(resp::UnknownCommandError(args));
    return AfterReply::kContinue;
  }
  Call call{args, store, context, client, out};
  handler->second(call);
  // As Redis: a command counts once it ran (after it, so CONFIG RESETSTAT
  // counts itself); unknown commands and wrong arities do not.
  ServerStats::Add(context.stats->commands);
  return call.close ? AfterReply::kClose : AfterReply::kContinue;
}

}  // namespace xdpkv
