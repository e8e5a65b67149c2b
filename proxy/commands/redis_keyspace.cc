// Redis's keyspace family: DEL UNLINK EXISTS TYPE TTL PTTL EXPIRETIME
// PEXPIRETIME EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST RENAME RENAMENX KEYS
// SCAN RANDOMKEY DBSIZE FLUSHDB FLUSHALL MOVE COPY SWAPDB, with Redis 7's
// replies and errors.
#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocol/glob.h"
#include "protocol/values.h"
#include "proxy/commands/redis_family.h"

namespace xdpkv::redis {
namespace {

void Type(Call& call) {
  bool failed;
  auto item = Read(call, call.args[1], &failed);
  if (failed) return;
  resp::AppendSimpleString(call.out, item ? TypeName(item->type) : "none");
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

void Del(Call& call) {
  int64_t count = 0;
  for (size_t i = 1; i < call.args.size(); ++i) {
    auto deleted = call.store.Delete(call.args[i]);
    if (deleted.ok() && *deleted) ++count;
  }
  call.Integer(count);
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
    return Mutation::Write(source->value, source->flags, source->expires_at_ms, source->type);
  });
  if (!result.ok()) return call.StoreError(result.status());
  // Only the version copied: a SET of the source that landed since stays
  // (an unconditional delete would lose it, copied nowhere).
  if (wrote) {
    (void)call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
      return current && current->cas == source->cas ? Mutation::Delete() : Mutation::Keep();
    });
  }
  only_if_new ? call.Integer(wrote ? 1 : 0) : call.Ok();
}

// --- the whole keyspace ----------------------------------------------------------

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
  // A key seen twice (deleted and written again while scanned) is listed
  // once.
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
    if (pattern && !resp::GlobMatch(*pattern, key)) continue;
    if (type) {
      // As Redis: the key's type name, "none" if it went meanwhile.
      auto item = call.store.Get(key);
      const std::string_view name =
          item.ok() && item->has_value() ? TypeName((*item)->type) : "none";
      if (!Is(*type, name)) continue;
    }
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
  // FLUSHDB: the client's database; FLUSHALL: every one.
  Store* root = call.store.Database(0);
  const bool all = Is(call.args[0], "flushall") && root != nullptr;
  for (int db = 0; db < (all ? kDatabases : 1); ++db) {
    Store* store = all ? root->Database(db) : &call.store;
    if (store == nullptr) break;
    auto cleared = store->Clear();
    if (!cleared.ok()) return call.StoreError(cleared.status());
  }
  call.Ok();
}

// MOVE key db: into another database if it is not there already, as
// Redis's moveCommand. Not atomic across the two databases (as RENAME, docs/
// protocols.md): the copy, then the source's delete of only the version
// copied.
void Move(Call& call) {
  const auto db = ParseRedisInteger(call.args[2]);
  if (!db) return call.Error(kNotInteger);
  Store* target = *db < 0 || *db >= kDatabases ? nullptr : call.store.Database(static_cast<int>(*db));
  if (target == nullptr) return call.Error("ERR DB index is out of range");
  if (target == &call.store) return call.Error("ERR source and destination objects are the same");
  bool failed;
  auto source = Read(call, call.args[1], &failed, /*count=*/false);
  if (failed) return;
  if (!source) return call.Integer(0);
  bool moved = false;
  auto result = target->Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    moved = !current;
    if (!moved) return Mutation::Keep();
    return Mutation::Write(source->value, source->flags, source->expires_at_ms, source->type);
  });
  if (!result.ok()) return call.StoreError(result.status());
  if (moved) {
    (void)call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
      return current && current->cas == source->cas ? Mutation::Delete() : Mutation::Keep();
    });
  }
  if (moved) Written(call, static_cast<int>(*db), call.args[1]);
  call.Integer(moved ? 1 : 0);
}

// Redis's getIntFromObjectOrReply: an int; `message` (or Redis's own
// words) for anything else.
std::optional<int> IntArg(Call& call, std::string_view arg, std::string_view message = {}) {
  const auto n = ParseRedisInteger(arg);
  if (n && *n >= INT32_MIN && *n <= INT32_MAX) return static_cast<int>(*n);
  if (!message.empty()) {
    call.Error(message);
  } else {
    call.Error(n ? "ERR value is out of range, value must between -2147483648 and 2147483647"
                 : kNotInteger);
  }
  return std::nullopt;
}

// The store of database `db`, or nullptr when there is none.
Store* DatabaseOrNull(Call& call, int64_t db) {
  return db < 0 || db >= kDatabases ? nullptr : call.store.Database(static_cast<int>(db));
}

// COPY source destination [DB destination-db] [REPLACE], as Redis's
// copyCommand: the value, its type and TTL, into a key that does not
// exist (or, with REPLACE, whatever it holds). Not atomic across the two
// keys, as RENAME (docs/protocols.md).
void Copy(Call& call) {
  Store* target = &call.store;
  int target_db = call.client.db;
  bool replace = false;
  for (size_t j = 3; j < call.args.size(); ++j) {
    if (Is(call.args[j], "replace")) {
      replace = true;
    } else if (Is(call.args[j], "db") && j + 1 < call.args.size()) {
      const auto db = IntArg(call, call.args[++j]);
      if (!db) return;
      target = DatabaseOrNull(call, *db);
      if (target == nullptr) return call.Error("ERR DB index is out of range");
      target_db = *db;
    } else {
      return call.Error(kSyntax);
    }
  }
  if (target == &call.store && call.args[1] == call.args[2]) {
    return call.Error("ERR source and destination objects are the same");
  }
  bool failed;
  auto source = Read(call, call.args[1], &failed);
  if (failed) return;
  if (!source) return call.Integer(0);
  bool copied = false;
  auto result = target->Mutate(call.args[2], [&](const std::optional<StoredItem>& current) {
    copied = !current || replace;
    if (!copied) return Mutation::Keep();
    return Mutation::Write(source->value, source->flags, source->expires_at_ms, source->type);
  });
  if (!result.ok()) return call.StoreError(result.status());
  if (copied) Written(call, target_db, call.args[2]);
  call.Integer(copied ? 1 : 0);
}

// SWAPDB index1 index2: what the two numbers name is swapped for every
// client (Store::SwapDatabases; the dispatch runs it alone, as EXEC).
void SwapDb(Call& call) {
  const auto first = IntArg(call, call.args[1], "ERR invalid first DB index");
  if (!first) return;
  const auto second = IntArg(call, call.args[2], "ERR invalid second DB index");
  if (!second) return;
  if (DatabaseOrNull(call, *first) == nullptr || DatabaseOrNull(call, *second) == nullptr) {
    return call.Error("ERR DB index is out of range");
  }
  if (*first != *second) {
    const absl::Status swapped = call.store.SwapDatabases(*first, *second);
    if (!swapped.ok()) return call.StoreError(swapped);
    // Clients parked in either database look again, as Redis's
    // scanDatabaseForReadyKeys.
    Written(call, *first, "");
    Written(call, *second, "");
  }
  call.Ok();
}

// The table's rows for commands that share an implementation.
void TtlCommand(Call& c) { Ttl(c, false, false); }
void PTtl(Call& c) { Ttl(c, true, false); }
void ExpireTime(Call& c) { Ttl(c, false, true); }
void PExpireTime(Call& c) { Ttl(c, true, true); }
void ExpireCommand(Call& c) { Expire(c, 1000, false, "expire"); }
void PExpire(Call& c) { Expire(c, 1, false, "pexpire"); }
void ExpireAt(Call& c) { Expire(c, 1000, true, "expireat"); }
void PExpireAt(Call& c) { Expire(c, 1, true, "pexpireat"); }
void RenameCommand(Call& c) { Rename(c, false); }
void RenameNx(Call& c) { Rename(c, true); }

}  // namespace

void RegisterKeyspaceFamily(Registry* registry) {
  using namespace resp::CO;  // NOLINT: the flags read as Redis's
  *registry
      << CI{"del", kWrite, -2, 1, -1}.Handle(Del)
      << CI{"unlink", kWrite | kFast, -2, 1, -1}.Handle(Del)
      << CI{"exists", kReadOnly | kFast, -2, 1, -1}.Handle(Exists)
      << CI{"type", kReadOnly | kFast, 2, 1, 1}.Handle(Type)
      << CI{"ttl", kReadOnly | kFast, 2, 1, 1}.Handle(TtlCommand)
      << CI{"pttl", kReadOnly | kFast, 2, 1, 1}.Handle(PTtl)
      << CI{"expiretime", kReadOnly | kFast, 2, 1, 1}.Handle(ExpireTime)
      << CI{"pexpiretime", kReadOnly | kFast, 2, 1, 1}.Handle(PExpireTime)
      << CI{"expire", kWrite | kFast, -3, 1, 1}.Handle(ExpireCommand)
      << CI{"pexpire", kWrite | kFast, -3, 1, 1}.Handle(PExpire)
      << CI{"expireat", kWrite | kFast, -3, 1, 1}.Handle(ExpireAt)
      << CI{"pexpireat", kWrite | kFast, -3, 1, 1}.Handle(PExpireAt)
      << CI{"persist", kWrite | kFast, 2, 1, 1}.Handle(Persist)
      << CI{"rename", kWrite, 3, 1, 2}.Handle(RenameCommand)
      << CI{"renamenx", kWrite | kFast, 3, 1, 2}.Handle(RenameNx)
      << CI{"keys", kReadOnly, 2, 0, 0}.Handle(Keys)
      << CI{"scan", kReadOnly, -2, 0, 0}.Handle(ScanCommand)
      << CI{"randomkey", kReadOnly, 1, 0, 0}.Handle(RandomKey)
      << CI{"dbsize", kReadOnly | kFast, 1, 0, 0}.Handle(DbSize)
      << CI{"flushdb", kWrite, -1, 0, 0}.Handle(Flush)
      << CI{"flushall", kWrite, -1, 0, 0}.Handle(Flush)
      << CI{"move", kWrite | kFast, 3, 1, 1}.Handle(Move)
      << CI{"copy", kWrite | kDenyOom, -3, 1, 2}.Handle(Copy)
      << CI{"swapdb", kWrite | kFast | kIsolated, 3, 0, 0}.Handle(SwapDb);
}

}  // namespace xdpkv::redis
