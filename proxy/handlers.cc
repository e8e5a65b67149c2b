#include "proxy/handlers.h"

#include <unistd.h>

#include <ctime>

#include "absl/strings/str_cat.h"
#include "protocol/redis_commands.h"
#include "protocol/resp.h"
#include "proxy/expiry.h"

namespace xdpkv {
namespace {

namespace mc = memcache;

std::string Str(std::string_view s) { return std::string(s); }

// memcached's reply to a store failure on a write.
std::string_view MemcacheWriteError(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kResourceExhausted) return mc::reply::kOutOfMemory;
  if (status.code() == absl::StatusCode::kInvalidArgument) return mc::reply::kObjectTooLarge;
  return "SERVER_ERROR store failure\r\n";
}

void AppendServerError(std::string* out, const absl::Status& status) {
  absl::StrAppend(out, "SERVER_ERROR ", std::string(status.message()), "\r\n");
}

AfterReply MemcacheGet(const mc::Command& command, Store& store, std::string* out) {
  const bool with_cas = command.op == mc::Op::kGets;
  std::string reply;
  for (std::string_view key : command.keys) {
    auto item = store.Get(key);
    if (!item.ok()) {
      // As memcached does when a multi-get fails part way: drop what was
      // gathered and send the error alone.
      AppendServerError(out, item.status());
      return AfterReply::kContinue;
    }
    if (!item->has_value()) continue;
    const StoredItem& found = **item;
    mc::AppendValue(&reply, key, found.flags, found.value,
                    with_cas ? std::optional<uint64_t>(found.cas) : std::nullopt);
  }
  out->append(reply).append(mc::reply::kEnd);
  return AfterReply::kContinue;
}

AfterReply MemcacheSet(const mc::Command& command, Store& store, const ServerContext& context,
                       std::string* out) {
  const auto expires_at = ExpiresAt(command.exptime, context.now_boot_seconds(),
                                    context.unix_minus_boot);
  absl::Status status;
  if (!expires_at) {
    // Stored and already expired: nothing may be read back.
    status = store.Delete(command.key()).status();
  } else {
    status = store.Set(command.key(), command.data, command.flags, *expires_at).status();
  }
  if (command.noreply) return AfterReply::kContinue;
  out->append(status.ok() ? mc::reply::kStored : MemcacheWriteError(status));
  return AfterReply::kContinue;
}

AfterReply MemcacheStats(const mc::Command& command, const ServerContext& context,
                         std::string* out) {
  if (!command.stats_args.empty()) {
    if (command.stats_args[0] == "reset") {
      out->append(mc::reply::kReset);
    } else {
      out->append(mc::reply::kEnd);  // no per-slab or per-item detail to give
    }
    return AfterReply::kContinue;
  }
  const int64_t now = time(nullptr);
  mc::AppendStat(out, "pid", std::to_string(getpid()));
  mc::AppendStat(out, "uptime", std::to_string(now - context.started_unix));
  mc::AppendStat(out, "time", std::to_string(now));
  mc::AppendStat(out, "version", context.version);
  mc::AppendStat(out, "pointer_size", "64");
  if (context.append_extra_stats) context.append_extra_stats(out);
  out->append(mc::reply::kEnd);
  return AfterReply::kContinue;
}

}  // namespace

AfterReply HandleMemcache(const mc::Command& command, Store& store, const ServerContext& context,
                          std::string* out) {
  switch (command.op) {
    case mc::Op::kGet:
    case mc::Op::kGets:
      return MemcacheGet(command, store, out);
    case mc::Op::kSet:
      return MemcacheSet(command, store, context, out);
    case mc::Op::kDelete: {
      auto deleted = store.Delete(command.key());
      if (command.noreply) return AfterReply::kContinue;
      if (!deleted.ok()) {
        AppendServerError(out, deleted.status());
      } else {
        out->append(*deleted ? mc::reply::kDeleted : mc::reply::kNotFound);
      }
      return AfterReply::kContinue;
    }
    case mc::Op::kVersion:
      mc::AppendVersion(out, context.version);
      return AfterReply::kContinue;
    case mc::Op::kVerbosity:
      if (!command.noreply) out->append(mc::reply::kOk);
      return AfterReply::kContinue;
    case mc::Op::kStats:
      return MemcacheStats(command, context, out);
    case mc::Op::kQuit:
      return AfterReply::kClose;
    default:
      // Read-modify-write commands need to be atomic against the kernel's
      // writers too; until they are, say so rather than race.
      if (!command.noreply) {
        absl::StrAppend(out, "SERVER_ERROR ", Str(mc::OpName(command.op)),
                        " is not supported yet\r\n");
      }
      return AfterReply::kContinue;
  }
}

// --- RESP ------------------------------------------------------------------

namespace {

bool Is(std::string_view arg, std::string_view upper) {
  if (arg.size() != upper.size()) return false;
  for (size_t i = 0; i < arg.size(); ++i) {
    char c = arg[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != upper[i]) return false;
  }
  return true;
}

constexpr std::string_view kOom = "OOM command not allowed when used memory > 'maxmemory'.";

// A store result for a key xdpkv cannot hold (empty, or above 250 bytes):
// it cannot exist, so reads see nothing.
bool KeyOutOfRange(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument;
}

void AppendRespError(std::string* out, const absl::Status& status) {
  if (status.code() == absl::StatusCode::kResourceExhausted) {
    resp::AppendError(out, kOom);
  } else {
    resp::AppendError(out, absl::StrCat("ERR ", std::string(status.message())));
  }
}

// GET-like read: bulk, or null when absent (or an impossible key).
void AppendValueOrNull(Store& store, std::string_view key, std::string* out) {
  auto item = store.Get(key);
  if (!item.ok()) {
    if (KeyOutOfRange(item.status())) {
      resp::AppendNullBulk(out);
    } else {
      AppendRespError(out, item.status());
    }
    return;
  }
  if (item->has_value()) {
    resp::AppendBulk(out, (*item)->value);
  } else {
    resp::AppendNullBulk(out);
  }
}

}  // namespace

AfterReply HandleResp(std::span<const std::string_view> args, Store& store,
                      const ServerContext& /*context*/, std::string* out) {
  if (auto error = resp::CheckCommand(args)) {
    out->append(*error);
    return AfterReply::kContinue;
  }
  const std::string_view name = args[0];
  if (Is(name, "GET")) {
    AppendValueOrNull(store, args[1], out);
  } else if (Is(name, "SET")) {
    if (args.size() > 3) {
      resp::AppendError(out, "ERR SET options are not supported yet");
      return AfterReply::kContinue;
    }
    auto set = store.Set(args[1], args[2], 0, 0);
    if (set.ok()) {
      out->append(resp::reply::kOk);
    } else {
      AppendRespError(out, set.status());
    }
  } else if (Is(name, "DEL") || Is(name, "UNLINK") || Is(name, "EXISTS")) {
    const bool exists = Is(name, "EXISTS");
    int64_t count = 0;
    for (size_t i = 1; i < args.size(); ++i) {
      if (exists) {
        auto item = store.Get(args[i]);
        if (item.ok() && item->has_value()) ++count;
      } else {
        auto deleted = store.Delete(args[i]);
        if (deleted.ok() && *deleted) ++count;
      }
    }
    resp::AppendInteger(out, count);
  } else if (Is(name, "MGET")) {
    resp::AppendArrayHeader(out, args.size() - 1);
    for (size_t i = 1; i < args.size(); ++i) AppendValueOrNull(store, args[i], out);
  } else if (Is(name, "PING")) {
    if (args.size() == 1) {
      out->append(resp::reply::kPong);
    } else if (args.size() == 2) {
      resp::AppendBulk(out, args[1]);
    } else {
      out->append(resp::WrongArityError("ping"));
    }
  } else if (Is(name, "ECHO")) {
    resp::AppendBulk(out, args[1]);
  } else if (Is(name, "SELECT")) {
    if (args[1] == "0") {
      out->append(resp::reply::kOk);
    } else if (args[1].find_first_not_of("-0123456789") == std::string_view::npos &&
               !args[1].empty()) {
      resp::AppendError(out, "ERR DB index is out of range");
    } else {
      resp::AppendError(out, "ERR value is not an integer or out of range");
    }
  } else if (Is(name, "COMMAND")) {
    // Enough for redis-cli, which asks for the command table at start.
    if (args.size() >= 2 && Is(args[1], "COUNT")) {
      resp::AppendInteger(out, 0);
    } else {
      out->append(resp::reply::kEmptyArray);
    }
  } else if (Is(name, "QUIT")) {
    out->append(resp::reply::kOk);
    return AfterReply::kClose;
  } else {
    resp::AppendError(out, absl::StrCat("ERR command '", Str(name), "' is not supported yet"));
  }
  return AfterReply::kContinue;
}

}  // namespace xdpkv
