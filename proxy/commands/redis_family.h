// What Redis's command families share: the command being answered (Call),
// the table type, and the helpers more than one family uses (read lookups,
// Redis's expiry arithmetic). Internal to proxy/commands/ and
// proxy/resp_handlers.cc.
#ifndef XDPKV_PROXY_COMMANDS_REDIS_FAMILY_H_
#define XDPKV_PROXY_COMMANDS_REDIS_FAMILY_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "protocol/redis_commands.h"
#include "protocol/resp.h"
#include "proxy/handlers.h"

namespace xdpkv::redis {

using Args = std::span<const std::string_view>;

inline constexpr std::string_view kOom = "OOM command not allowed when used memory > 'maxmemory'.";
inline constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kSyntax = "ERR syntax error";
inline constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kTooBig =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

inline std::string Str(std::string_view s) { return std::string(s); }

// An argument that names an option or subcommand, in any case.
inline bool Is(std::string_view arg, std::string_view name) {
  return resp::EqualsIgnoreCase(arg, name);
}

// What a blocking command that finds nothing does (Redis's blockForKeys,
// and CLIENT_DENY_BLOCKING).
enum class Blocking {
  kDeny,   // answers at once as a timeout would: inside EXEC, a datagram
  kPark,   // parks the client (BlockOn)
  kRetry,  // a parked client's command run again: answers nothing, stays parked
};

// One command being answered.
struct Call {
  Args args;
  Store& store;
  const ServerContext& context;
  RespClient& client;
  std::string* out;
  bool close = false;
  bool discard_unsent = false;  // with close: AfterReply::kCloseDiscardingUnsent
  Blocking blocking = Blocking::kDeny;

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

using Handler = void (*)(Call&);
using CI = resp::CommandInfo<Handler>;
using Registry = resp::CommandRegistry<Handler>;

// Each family adds its rows (redis_strings.cc, redis_keyspace.cc,
// redis_server.cc, redis_auth.cc, redis_persistence.cc).
void RegisterStringFamily(Registry* registry);
void RegisterKeyspaceFamily(Registry* registry);
void RegisterServerFamily(Registry* registry);
void RegisterAuthFamily(Registry* registry);
void RegisterTransactionFamily(Registry* registry);
void RegisterHashFamily(Registry* registry);
void RegisterListFamily(Registry* registry);
void RegisterSetFamily(Registry* registry);
void RegisterZSetFamily(Registry* registry);
void RegisterBitFamily(Registry* registry);
void RegisterObjectFamily(Registry* registry);

// An EXEC refused before it ran (arity, authentication), with `refusal`
// the error reply it would have got: as Redis's execCommandAbort, the
// transaction is discarded and the reply is EXECABORT with the reason.
void RefuseExec(Call& call, std::string_view refusal);

// Runs a command EXEC dequeues: checked when it was queued, so straight to
// its handler (resp_handlers.cc).
void RunQueued(Args args, Store& store, const ServerContext& context, RespClient& client,
               std::string* out);
void RegisterPersistenceFamily(Registry* registry);  // redis_persistence.cc

// Redis's authRequired: a password is set and this client has not
// authenticated (redis_auth.cc).
bool AuthRequired(const Call& call);
// Redis's ACLAuthenticateUser: true, and the client authenticated, when
// `user` is "default" and `password` is requirepass (any password when
// none is set).
bool Authenticate(Call& call, std::string_view user, std::string_view password);

// CONFIG GET/SET/RESETSTAT (redis_config.cc; its row is the server
// family's).
void Config(Call& call);

// The whole table (resp_handlers.cc).
const Registry& Commands();

// --- blocking commands (redis_blocking.cc) -------------------------------------

// Redis's getTimeoutFromObjectOrReply in seconds: milliseconds (0: no
// deadline), or nullopt after Redis's error reply.
std::optional<uint64_t> TimeoutArg(Call& call, std::string_view arg);
// A blocking command found nothing on `keys`: parks the client until
// `timeout_ms` has passed (0: forever), or, as call.blocking says, answers
// `deny_reply` at once, or nothing.
void BlockOn(Call& call, Args keys, uint64_t timeout_ms, std::string_view deny_reply);
// `key` of database `db` (empty: every key of it) may now serve parked
// clients: for writes outside the command's own key arguments (MOVE and
// COPY into another database, SWAPDB).
void Written(Call& call, int db, std::string_view key);
// LMOVE's work, for BLMOVE and BRPOPLPUSH (redis_lists.cc).
void ListMove(Call& call, bool from_left, bool to_left);
void RegisterBlockingFamily(Registry* registry);

// A key xdpkv cannot hold (empty, or above 250 bytes) cannot exist: reads
// of it see nothing rather than an error.
bool KeyOutOfRange(const absl::Status& status);

// Redis's keyspace_hits/keyspace_misses: lookups for reading count (GET,
// MGET, EXISTS, TTL, TYPE, GETSET, SET ... GET, ...); lookups for writing
// (INCR, APPEND, EXPIRE, RENAME, ...) do not.
void CountLookup(Call& call, bool hit);

// A read lookup: the item, or nullopt when absent (counted as a miss) or
// on a store error (replied, and *failed set). `count`: false for lookups
// Redis makes for writing; `touch`: false for a look that is no hit for
// eviction (Store::Peek).
std::optional<StoredItem> Read(Call& call, std::string_view key, bool* failed, bool count = true,
                               bool touch = true);
// Read, for a command on strings: a key of another type answers WRONGTYPE
// (*failed set), as Redis's lookupKeyReadOrReply with checkType.
std::optional<StoredItem> ReadString(Call& call, std::string_view key, bool* failed,
                                     bool count = true);
// TYPE's name for a type: "string", "hash", "list", "set", "zset".
std::string_view TypeName(ValueType type);

// A key that holds another type than a string.
inline bool IsOtherType(const std::optional<StoredItem>& item) {
  return item && item->type != ValueType::kString;
}

// --- expiry (redis_expiry.cc) --------------------------------------------------
//
// Redis's arithmetic, in Redis's units: an expiry is a unix time in
// milliseconds (`when`), checked for overflow exactly where Redis checks it
// (expire.c's expireGenericCommand, t_string.c's getExpireMillisecondsOrReply),
// so every input gets Redis's reply. Only then is it converted to the
// store's CLOCK_BOOTTIME milliseconds, with the context's fixed offset, so a
// PEXPIREAT reads back unchanged from PEXPIRETIME.

inline constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

int64_t NowUnixMs(const ServerContext& context);
// The store's expires_at_ms for an expiry `when` (unix ms) in the future.
uint64_t BootMsFor(int64_t when, const ServerContext& context);
// An item's expiry as Redis keeps it: unix ms (-1 without one).
int64_t UnixExpiry(const StoredItem& item, const ServerContext& context);
// SET's EX/PX/EXAT/PXAT, GETEX's, SETEX's and PSETEX's argument, as
// getExpireMillisecondsOrReply: a positive count of `unit_ms`, relative to
// now unless `absolute`. Replies with Redis's error and returns nullopt on
// bad input; else the expiry in unix ms.
std::optional<int64_t> ParsePositiveExpiry(Call& call, std::string_view arg, int64_t unit_ms,
                                           bool absolute, std::string_view command);
// EXPIRE's family's argument, as expireGenericCommand: any integer of
// `unit_ms`, plus now unless `absolute`; overflow of either step is an
// error. Returns the expiry in unix ms (perhaps far in the past).
std::optional<int64_t> ParseAnyExpiry(Call& call, std::string_view arg, int64_t unit_ms,
                                      bool absolute, std::string_view command);
// Redis's checkAlreadyExpired: an expiry at or before now deletes the key.
bool AlreadyExpired(int64_t when, const ServerContext& context);
// Milliseconds left (0 when due); -1 without a TTL.
int64_t TtlMs(const StoredItem& item, uint64_t now_ms);
// Redis's rounding of milliseconds to seconds: to the nearest, computed
// without overflow (Redis's own (ms+500)/1000 reads 9223372036854776 for
// 2^63-1 ms, as here).
int64_t RoundToSeconds(int64_t ms);

}  // namespace xdpkv::redis

#endif  // XDPKV_PROXY_COMMANDS_REDIS_FAMILY_H_
