// Redis's transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis 7.0's
// multi.c). Queueing happens in the dispatch (proxy/resp_handlers.cc):
// inside MULTI every command but these is checked and queued. EXEC runs
// the queue holding the server's transaction lock exclusively (every other
// RESP command holds it shared), so no other client's command lands in
// between; the kernel path's writes do not take it, but they change the
// CAS unique of what they write, so a WATCH sees them.
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "proxy/commands/redis_family.h"

namespace xdpkv::redis {
namespace {

// The version a WATCH remembers: the item's CAS unique and expiry, (0, 0)
// when absent. A write changes the CAS unique; a touch (EXPIRE, PERSIST)
// keeps it and changes the expiry; a delete or expiry makes it absent.
std::pair<uint64_t, uint64_t> Version(Call& call, std::string_view key) {
  auto item = call.store.Get(key);
  if (!item.ok() || !item->has_value()) return {0, 0};
  return {(*item)->cas, (*item)->expires_at_ms};
}

void Multi(Call& call) {
  if (call.client.multi) return call.Error("ERR MULTI calls can not be nested");
  call.client.multi.emplace();
  call.Ok();
}

void Discard(Call& call) {
  if (!call.client.multi) return call.Error("ERR DISCARD without MULTI");
  call.client.multi.reset();
  call.client.watched.clear();
  call.Ok();
}

void Watch(Call& call) {
  if (call.client.multi) return call.Error("ERR WATCH inside MULTI is not allowed");
  for (size_t i = 1; i < call.args.size(); ++i) {
    const std::string key(call.args[i]);
    bool known = false;
    for (const auto& [watched, version] : call.client.watched) known |= watched == key;
    if (!known) call.client.watched.emplace_back(key, Version(call, key));
  }
  call.Ok();
}

void Unwatch(Call& call) {
  call.client.watched.clear();
  call.Ok();
}

void Exec(Call& call) {
  if (!call.client.multi) return call.Error("ERR EXEC without MULTI");
  RespTransaction transaction = std::move(*call.client.multi);
  call.client.multi.reset();
  const auto watched = std::move(call.client.watched);
  call.client.watched.clear();
  if (transaction.refused) {
    return call.Error("EXECABORT Transaction discarded because of previous errors.");
  }
  std::unique_lock<std::shared_mutex> isolated;
  if (call.context.transactions != nullptr) {
    isolated = std::unique_lock<std::shared_mutex>(*call.context.transactions);
  }
  for (const auto& [key, version] : watched) {
    if (Version(call, key) != version) {
      call.out->append("*-1\r\n");  // a watched key changed: nothing runs
      return;
    }
  }
  resp::AppendArrayHeader(call.out, transaction.queued.size());
  // The whole reply at once: a streamed MGET could not resume inside EXEC.
  const size_t output_limit = call.client.output_limit;
  call.client.output_limit = SIZE_MAX;
  for (const std::vector<std::string>& command : transaction.queued) {
    std::vector<std::string_view> args(command.begin(), command.end());
    RunQueued(args, call.store, call.context, call.client, call.out);
  }
  call.client.output_limit = output_limit;
}

}  // namespace

void RefuseExec(Call& call, std::string_view refusal) {
  call.client.multi.reset();
  call.client.watched.clear();
  std::string_view reason = refusal;
  if (reason.starts_with("-")) reason.remove_prefix(1);
  if (reason.starts_with("ERR ")) reason.remove_prefix(4);
  while (reason.ends_with("\r\n")) reason.remove_suffix(2);
  call.Error(absl::StrCat("EXECABORT Transaction discarded because of: ", Str(reason)));
}

void RegisterTransactionFamily(Registry* registry) {
  using namespace resp::CO;
  *registry << CI{"multi", kNoScript | kLoading | kStale | kFast, 1}.Handle(Multi)
            << CI{"exec", kNoScript | kLoading | kStale, 1}.Handle(Exec)
            << CI{"discard", kNoScript | kLoading | kStale | kFast, 1}.Handle(Discard)
            << CI{"watch", kNoScript | kLoading | kStale | kFast, -2, 1, -1}.Handle(Watch)
            << CI{"unwatch", kNoScript | kLoading | kStale | kFast, 1}.Handle(Unwatch);
}

}  // namespace xdpkv::redis
