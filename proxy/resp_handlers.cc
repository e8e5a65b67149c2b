// Redis's commands: the table, built from each family's rows
// (proxy/commands/redis_*.cc), and the dispatch through it.
#include "proxy/commands/redis_family.h"
#include "proxy/handlers.h"

#include <mutex>
#include <shared_mutex>

namespace xdpkv {
namespace redis {

const Registry& Commands() {
  static const Registry* registry = [] {
    auto* r = new Registry;
    RegisterStringFamily(r);
    RegisterKeyspaceFamily(r);
    RegisterServerFamily(r);
    RegisterAuthFamily(r);
    RegisterTransactionFamily(r);
    RegisterHashFamily(r);
    RegisterPersistenceFamily(r);
    RegisterListFamily(r);
    RegisterSetFamily(r);
    RegisterZSetFamily(r);
    RegisterBitFamily(r);
    RegisterObjectFamily(r);
    RegisterBlockingFamily(r);
    return r;
  }();
  return *registry;
}

namespace {

// After a write command: its key arguments (and those its handler named
// with Written) may serve clients parked on them, if any client is.
void NoteWrittenKeys(Call& call, const CI& command) {
  BlockingRoom* room = call.context.blocking;
  if (room == nullptr || !room->Interested()) {
    call.client.written.clear();
    return;
  }
  if (!(command.flags & resp::CO::kWrite) || command.first_key <= 0) return;
  const int argc = static_cast<int>(call.args.size());
  const int last = command.last_key < 0 ? argc + command.last_key : command.last_key;
  for (int i = command.first_key; i <= last && i < argc; ++i) {
    call.client.written.emplace_back(call.client.db, std::string(call.args[i]));
  }
}

// A parked client's command run again by the thread whose write may serve
// it (BlockingRoom::Retry): in its database as that is now.
std::string RetryParked(Store& root, const ServerContext& context, const ParkedClient& parked,
                        std::vector<DatabaseKey>* written) {
  std::vector<std::string_view> args(parked.command.begin(), parked.command.end());
  const auto lookup = Commands().Check(args);
  if (!lookup.error.empty()) return lookup.error;  // cannot happen: checked when parked
  Store* db_store = root.Database(parked.db);
  RespClient client;
  client.db = parked.db;
  std::string out;
  Call call{args, db_store != nullptr ? *db_store : root, context, client, &out};
  call.blocking = Blocking::kRetry;
  lookup.handler()(call);
  if (out.empty()) return out;
  ServerStats::Add(context.stats->commands);
  NoteWrittenKeys(call, *lookup.command);
  *written = std::move(client.written);
  return out;
}

}  // namespace

void RunQueued(Args args, Store& store, const ServerContext& context, RespClient& client,
               std::string* out) {
  const auto lookup = Commands().Check(args);
  if (!lookup.error.empty()) {
    out->append(lookup.error);  // cannot happen: checked when queued
    return;
  }
  Store* db_store = store.Database(client.db);
  Call call{args, db_store != nullptr ? *db_store : store, context, client, out};
  lookup.handler()(call);  // Blocking::kDeny: inside EXEC nothing parks
  NoteWrittenKeys(call, *lookup.command);
  ServerStats::Add(context.stats->commands);
}

namespace {

// What runs even inside MULTI instead of being queued (Redis's
// processCommand).
bool ControlsTransaction(std::string_view name) {
  return name == "exec" || name == "discard" || name == "multi" || name == "watch" ||
         name == "quit" || name == "reset";
}

}  // namespace

}  // namespace redis

AfterReply HandleResp(std::span<const std::string_view> args, Store& store,
                      const ServerContext& context, RespClient& client, std::string* out) {
  const auto lookup = redis::Commands().Check(args);
  // The client's SELECTed database: a keyspace of its own in the store.
  Store* db_store = store.Database(client.db);
  redis::Call check{args, db_store != nullptr ? *db_store : store, context, client, out};
  // As Redis's processCommand: a known command of the right arity, then
  // authentication (not counted as processed when refused).
  std::string_view refusal = lookup.error;
  if (refusal.empty() && redis::AuthRequired(check) &&
      !(lookup.command->flags & resp::CO::kNoAuth)) {
    refusal = kRedisNoAuth;
  }
  if (!refusal.empty()) {
    if (lookup.command != nullptr && lookup.command->name == "exec") {
      redis::RefuseExec(check, refusal);
    } else {
      out->append(refusal);
      if (client.multi) client.multi->refused = true;  // EXEC will abort, as Redis's
    }
    return AfterReply::kContinue;
  }
  if (client.multi && !redis::ControlsTransaction(lookup.command->name)) {
    client.multi->queued.emplace_back(args.begin(), args.end());
    out->append("+QUEUED\r\n");
    return AfterReply::kContinue;
  }
  // Isolation from a running EXEC (which takes the lock itself) and from
  // SWAPDB, which runs alone as EXEC does.
  std::shared_lock<std::shared_mutex> shared;
  std::unique_lock<std::shared_mutex> alone;
  if (context.transactions != nullptr && lookup.command->name != "exec") {
    if (lookup.command->flags & resp::CO::kIsolated) {
      alone = std::unique_lock<std::shared_mutex>(*context.transactions);
    } else {
      shared = std::shared_lock<std::shared_mutex>(*context.transactions);
    }
  }
  // The database once isolated: a SWAPDB may have changed what its number
  // names.
  db_store = store.Database(client.db);
  redis::Call call{args, db_store != nullptr ? *db_store : store, context, client, out};
  BlockingRoom* room = context.blocking;
  if (room != nullptr && client.wake) call.blocking = redis::Blocking::kPark;
  if ((lookup.command->flags & resp::CO::kBlocking) && call.blocking == redis::Blocking::kPark) {
    // Its look and its parking as one step against every write's Signal.
    room->Attempt([&] { lookup.handler()(call); });
  } else {
    lookup.handler()(call);
  }
  redis::NoteWrittenKeys(call, *lookup.command);
  // As Redis: a command counts once it ran (after it, so CONFIG RESETSTAT
  // counts itself); unknown commands and wrong arities do not, nor POST and
  // Host:, whose client Redis frees first.
  if (!call.discard_unsent) ServerStats::Add(context.stats->commands);
  if (!client.written.empty()) {
    // Parked clients its writes (or EXEC's) may serve, served now, as
    // Redis's handleClientsBlockedOnKeys, and isolated as commands are.
    if (context.transactions != nullptr && !shared.owns_lock() && !alone.owns_lock()) {
      shared = std::shared_lock<std::shared_mutex>(*context.transactions);
    }
    room->Signal(std::move(client.written), [&](const ParkedClient& parked, auto* written) {
      return redis::RetryParked(store, context, parked, written);
    });
    client.written.clear();
  }
  if (!call.close) return AfterReply::kContinue;
  return call.discard_unsent ? AfterReply::kCloseDiscardingUnsent : AfterReply::kClose;
}

}  // namespace xdpkv
