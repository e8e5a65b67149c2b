// Redis's commands: the table, built from each family's rows
// (proxy/commands/redis_*.cc), and the dispatch through it.
#include "proxy/commands/redis_family.h"
#include "proxy/handlers.h"

namespace xdpkv {
namespace redis {

const Registry& Commands() {
  static const Registry* registry = [] {
    auto* r = new Registry;
    RegisterStringFamily(r);
    RegisterKeyspaceFamily(r);
    RegisterServerFamily(r);
    RegisterAuthFamily(r);
    return r;
  }();
  return *registry;
}

}  // namespace redis

AfterReply HandleResp(std::span<const std::string_view> args, Store& store,
                      const ServerContext& context, RespClient& client, std::string* out) {
  const auto lookup = redis::Commands().Check(args);
  if (!lookup.error.empty()) {
    out->append(lookup.error);
    return AfterReply::kContinue;
  }
  redis::Call call{args, store, context, client, out};
  // As Redis's processCommand: a known command of the right arity, then
  // authentication (not counted as processed when refused).
  if (redis::AuthRequired(call) && !(lookup.command->flags & resp::CO::kNoAuth)) {
    out->append(kRedisNoAuth);
    return AfterReply::kContinue;
  }
  lookup.handler()(call);
  // As Redis: a command counts once it ran (after it, so CONFIG RESETSTAT
  // counts itself); unknown commands and wrong arities do not, nor POST and
  // Host:, whose client Redis frees first.
  if (!call.discard_unsent) ServerStats::Add(context.stats->commands);
  if (!call.close) return AfterReply::kContinue;
  return call.discard_unsent ? AfterReply::kCloseDiscardingUnsent : AfterReply::kClose;
}

}  // namespace xdpkv
