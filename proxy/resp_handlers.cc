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

// The store's expires_at_ms for a TTL of `ms` milliseconds from now.
// nullopt when ms <= 0: expired at once.
std::optional<uint64_t> ExpiresIn(int64_t ms, uint64_t now_ms) {
  if (ms <= 0) return std::nullopt;
  const uint64_t room = std::numeric_limits<int64_t>::max() - now_ms;
  return now_ms + std::min<uint64_t>(static_cast<uint64_t>(ms), room);
}

int64_t UnixMillis() {
  timeval tv;
  gettimeofday(&tv, nullptr);
  return int64_t{tv.tv_sec} * 1000 + tv.tv_usec / 1000;
}

// Parses a TTL argument of `unit_ms` milliseconds per unit, absolute (unix
// time) or relative, into milliseconds from now. Redis's errors on bad or
// overflowing input; `positive` also refuses values <= 0 (SET, SETEX).
std::optional<int64_t> ParseTtlMs(Call& call, std::string_view arg, int64_t unit_ms, bool absolute,
                                  bool positive, std::string_view command) {
  const auto n = ParseRedisInteger(arg);
  if (!n) {
    call.Error(kNotInteger);
    return std::nullopt;
  }
  const std::string invalid = absl::StrCat("ERR invalid expire time in '", Str(command), "' command");
  if ((positive && *n <= 0) || *n > std::numeric_limits<int64_t>::max() / unit_ms ||
      *n < std::numeric_limits<int64_t>::min() / unit_ms) {
    call.Error(invalid);
    return std::nullopt;
  }
  int64_t ms = *n * unit_ms;
  if (absolute) ms -= UnixMillis();
  return ms;
}

// Milliseconds left; -1 without a TTL.
int64_t TtlMs(const StoredItem& item, uint64_t now_ms) {
  if (item.expires_at_ms == 0) return -1;
  return item.expires_at_ms > now_ms ? static_cast<int64_t>(item.expires_at_ms - now_ms) : 0;
}

// --- reads ---------------------------------------------------------------------

std::optional<StoredItem> Read(Call& call, std::string_view key, bool* failed) {
  auto item = call.store.Get(key);
  *failed = false;
  if (!item.ok()) {
    if (KeyOutOfRange(item.status())) return std::nullopt;
    call.StoreError(item.status());
    *failed = true;
    return std::nullopt;
  }
  if (*item) {
    ServerStats::Add(call.context.stats->get_hits);
  } else {
    ServerStats::Add(call.context.stats->get_misses);
  }
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
    if (item.ok() && *item) ++count;
  }
  call.Integer(count);
}

void Ttl(Call& call, bool millis) {
  bool failed;
  auto item = Read(call, call.args[1], &failed);
  if (failed) return;
  if (!item) return call.Integer(-2);
  const int64_t ttl = TtlMs(*item, call.now_ms());
  // As Redis: seconds rounded to the nearest.
  call.Integer(ttl < 0 || millis ? ttl : (ttl + 500) / 1000);
}

// --- writes --------------------------------------------------------------------

// SET's and GETEX's expiry options, parsed as Redis 7 does.
struct ExpiryOption {
  enum Kind { kNone, kRelative, kKeepTtl, kPersist } kind = kNone;
  int64_t ms = 0;  // kRelative: from now (may be <= 0 for EXAT/PXAT in the past)
};

// Parses args[from..] for SET (allow_conditions) or GETEX. Replies with the
// error and returns false on bad input.
bool ParseSetOptions(Call& call, size_t from, bool for_set, ExpiryOption* expiry, bool* nx,
                     bool* xx, bool* get) {
  const std::string_view command = for_set ? "set" : "getex";
  for (size_t i = from; i < call.args.size(); ++i) {
    const std::string_view opt = call.args[i];
    const bool has_next = i + 1 < call.args.size();
    if (for_set && Is(opt, "NX") && !*xx) {
      *nx = true;
    } else if (for_set && Is(opt, "XX") && !*nx) {
      *xx = true;
    } else if (for_set && Is(opt, "GET")) {
      *get = true;
    } else if (for_set && Is(opt, "KEEPTTL") && expiry->kind == ExpiryOption::kNone) {
      expiry->kind = ExpiryOption::kKeepTtl;
    } else if (!for_set && Is(opt, "PERSIST") && expiry->kind == ExpiryOption::kNone) {
      expiry->kind = ExpiryOption::kPersist;
    } else if ((Is(opt, "EX") || Is(opt, "PX") || Is(opt, "EXAT") || Is(opt, "PXAT")) &&
               expiry->kind == ExpiryOption::kNone && has_next) {
      const bool seconds = Is(opt, "EX") || Is(opt, "EXAT");
      const bool absolute = Is(opt, "EXAT") || Is(opt, "PXAT");
      auto ms = ParseTtlMs(call, call.args[++i], seconds ? 1000 : 1, absolute, true, command);
      if (!ms) return false;
      expiry->kind = ExpiryOption::kRelative;
      expiry->ms = *ms;
    } else {
      call.Error(kSyntax);
      return false;
    }
  }
  return true;
}

void Set(Call& call) {
  ExpiryOption expiry;
  bool nx = false, xx = false, get = false;
  if (!ParseSetOptions(call, 3, true, &expiry, &nx, &xx, &get)) return;
  const std::string value(call.args[2]);
  std::optional<std::string> old;
  bool wrote = false;
  auto result = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    old = current ? std::optional<std::string>(current->value) : std::nullopt;
    wrote = false;
    if ((nx && current) || (xx && !current)) return Mutation::Keep();
    wrote = true;
    uint64_t expires_at = 0;
    if (expiry.kind == ExpiryOption::kKeepTtl && current) expires_at = current->expires_at_ms;
    if (expiry.kind == ExpiryOption::kRelative) {
      const auto at = ExpiresIn(expiry.ms, call.now_ms());
      if (!at) return Mutation::Delete();  // EXAT/PXAT in the past
      expires_at = *at;
    }
    return Mutation::Write(value, 0, expires_at);
  });
  if (!result.ok()) return call.StoreError(result.status());
  ServerStats::Add(call.context.stats->cmd_set);
  if (get) return call.BulkOrNull(old);
  wrote ? call.Ok() : call.Null();
}

// SETEX / PSETEX key ttl value.
void SetWithTtl(Call& call, int64_t unit_ms, std::string_view command) {
  auto ms = ParseTtlMs(call, call.args[2], unit_ms, false, true, command);
  if (!ms) return;
  auto set = call.store.Set(call.args[1], call.args[3], 0, *ExpiresIn(*ms, call.now_ms()));
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
    if (KeyOutOfRange(result.status()) && del) return call.Null();
    return call.StoreError(result.status());
  }
  call.BulkOrNull(old);
}

void GetEx(Call& call) {
  ExpiryOption expiry;
  bool unused_nx = false, unused_xx = false, unused_get = false;
  if (!ParseSetOptions(call, 2, false, &expiry, &unused_nx, &unused_xx, &unused_get)) return;
  std::optional<std::string> value;
  auto result = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    value = current ? std::optional<std::string>(current->value) : std::nullopt;
    if (!current || expiry.kind == ExpiryOption::kNone) return Mutation::Keep();
    if (expiry.kind == ExpiryOption::kPersist) {
      return current->expires_at_ms == 0 ? Mutation::Keep() : Mutation::Touch(*current, 0);
    }
    const auto at = ExpiresIn(expiry.ms, call.now_ms());
    return at ? Mutation::Touch(*current, *at) : Mutation::Delete();
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

// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT key time [NX|XX|GT|LT].
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
  auto ms = ParseTtlMs(call, call.args[2], unit_ms, absolute, false, command);
  if (!ms) return;
  const auto at = ExpiresIn(*ms, call.now_ms());
  bool set = false;
  auto mutated = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    set = false;
    if (!current) return Mutation::Keep();
    const bool has_ttl = current->expires_at_ms != 0;
    // No TTL counts as an infinite one.
    const uint64_t now_at = has_ttl ? current->expires_at_ms : UINT64_MAX;
    const uint64_t new_at = at ? *at : 0;
    if ((nx && has_ttl) || (xx && !has_ttl) || (gt && new_at <= now_at) ||
        (lt && new_at >= now_at)) {
      return Mutation::Keep();
    }
    set = true;
    return at ? Mutation::Touch(*current, *at) : Mutation::Delete();
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
  auto source = Read(call, call.args[1], &failed);
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
  ServerStats::Add(call.context.stats->cmd_flush);
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
    info->append("# Stats\r\n");
    line("total_connections_received", ServerStats::Read(s.total_connections));
    line("total_commands_processed", ServerStats::Read(s.commands));
    line("expired_keys", ServerStats::Read(s.expired_keys));
    line("evicted_keys", 0);
    line("keyspace_hits", ServerStats::Read(s.get_hits));
    line("keyspace_misses", ServerStats::Read(s.get_misses));
  } else if (section == "keyspace") {
    info->append("# Keyspace\r\n");
    auto usage = call.store.Usage();
    if (usage.ok() && usage->items > 0) {
      absl::StrAppend(info, "db0:keys=", usage->items, ",expires=0,avg_ttl=0\r\n");
    }
  } else if (section == "xdp") {
    info->append("# Xdp\r\n");
    if (call.context.xdp_counters) {
      for (const auto& [name, count] : call.context.xdp_counters()) line(name, count);
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
  if (Is(sub, "RESETSTAT")) return call.Ok();
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
      {"ttl", [](Call& c) { Ttl(c, false); }},
      {"pttl", [](Call& c) { Ttl(c, true); }},
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
  ServerStats::Add(context.stats->commands);
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
  return call.close ? AfterReply::kClose : AfterReply::kContinue;
}

}  // namespace xdpkv
