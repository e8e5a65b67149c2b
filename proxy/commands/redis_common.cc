// What Redis's command families share: read lookups and Redis's expiry
// arithmetic (declared, with their contracts, in redis_family.h).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "protocol/values.h"
#include "protocol/glob.h"
#include "proxy/commands/redis_family.h"
#include "proxy/commands/redis_typed.h"

namespace xdpkv::redis {

// A key xdpkv cannot hold (empty, or above 250 bytes) cannot exist: reads
// of it see nothing rather than an error.
bool KeyOutOfRange(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument;
}

// Redis's keyspace_hits/keyspace_misses: lookups for reading count (GET,
// MGET, EXISTS, TTL, TYPE, GETSET, SET ... GET, ...); lookups for writing
// (INCR, APPEND, EXPIRE, RENAME, ...) do not.
void CountLookup(Call& call, bool hit) {
  ServerStats::Add(hit ? call.context.stats->keyspace_hits : call.context.stats->keyspace_misses);
}

// A read lookup: the item, or nullopt when absent (counted as a miss) or
// on a store error (replied, and *failed set). `count`: false for lookups
// Redis makes for writing.
std::optional<StoredItem> Read(Call& call, std::string_view key, bool* failed, bool count,
                               bool touch) {
  std::optional<ReadAhead::Item> ahead = call.client.read_ahead.Take(key);
  auto item = ahead ? std::move(*ahead) : touch ? call.store.Get(key) : call.store.Peek(key);
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

std::optional<StoredItem> ReadString(Call& call, std::string_view key, bool* failed,
                                     bool count) {
  auto item = Read(call, key, failed, count);
  if (*failed || !IsOtherType(item)) return item;
  *failed = true;
  call.Error(kWrongType);
  return std::nullopt;
}

std::string_view TypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kHash:
      return "hash";
    case ValueType::kList:
      return "list";
    case ValueType::kSet:
      return "set";
    case ValueType::kZSet:
      return "zset";
  }
  return "unknown";
}

// --- SSCAN and ZSCAN's arguments ----------------------------------------------------

std::optional<uint64_t> ScanCursorArg(Call& call, std::string_view arg) {
  const std::string text(arg);  // strtoul stops at a NUL, as Redis's does
  errno = 0;
  char* end = nullptr;
  const unsigned long cursor = std::strtoul(text.c_str(), &end, 10);
  if ((!text.empty() && std::isspace(static_cast<unsigned char>(text[0]))) || *end != '\0' ||
      errno == ERANGE) {
    call.Error("ERR invalid cursor");
    return std::nullopt;
  }
  return cursor;
}

std::optional<ScanOptions> ScanOptionsArgs(Call& call, size_t first) {
  ScanOptions options;
  for (size_t i = first; i < call.args.size(); i += 2) {
    const bool has_value = call.args.size() - i >= 2;
    if (has_value && Is(call.args[i], "count")) {
      const auto count = IntegerArg(call, call.args[i + 1]);
      if (!count) return std::nullopt;
      if (*count < 1) {
        call.Error(kSyntax);
        return std::nullopt;
      }
    } else if (has_value && Is(call.args[i], "match")) {
      options.pattern = std::string(call.args[i + 1]);
    } else {
      call.Error(kSyntax);
      return std::nullopt;
    }
  }
  return options;
}

bool ScanMatches(const ScanOptions& options, std::string_view member) {
  return !options.pattern || *options.pattern == "*" || resp::GlobMatch(*options.pattern, member);
}

// --- expiry --------------------------------------------------------------------

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

}  // namespace xdpkv::redis
