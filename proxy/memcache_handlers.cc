// memcached's text commands over the Store, with memcached 1.6's replies.
#include <unistd.h>

#include <ctime>
#include <optional>

#include "absl/strings/str_cat.h"
#include "protocol/values.h"
#include "proxy/expiry.h"
#include "proxy/handlers.h"
#include "proxy/memcache_retrieve.h"

namespace xdpkv {
namespace {

namespace mc = memcache;
using Stats = ServerStats;

// memcached's reply to a store failure on a write.
std::string_view WriteError(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kResourceExhausted) return mc::reply::kOutOfMemory;
  if (status.code() == absl::StatusCode::kInvalidArgument) return mc::reply::kObjectTooLarge;
  return "SERVER_ERROR store failure\r\n";
}

void AppendServerError(std::string* out, const absl::Status& status) {
  absl::StrAppend(out, "SERVER_ERROR ", std::string(status.message()), "\r\n");
}

std::optional<uint64_t> ExpiresAtFor(int64_t exptime, const ServerContext& context) {
  return ExpiresAtMs(exptime, context.now_boot_ms(), context.unix_minus_boot_ms);
}

// get, gets, gat, gats: the whole reply at once (for callers that bound
// nothing; sessions stream through RetrieveKeys).
void Retrieve(const mc::Command& command, Store& store, const ServerContext& context,
              std::string* out) {
  RetrieveKeys(command.op, command.exptime, command.keys, store, context, out, SIZE_MAX);
}

// set, add, replace, append, prepend, cas.
std::string_view StoreCommand(const mc::Command& command, Store& store, const ServerContext& context) {
  Stats& stats = *context.stats;
  Stats::Add(stats.cmd_set);
  const auto expires_at = ExpiresAtFor(command.exptime, context);
  const std::string_view key = command.key();
  if (command.op == mc::Op::kSet) {
    // Stored and already expired: nothing may be read back.
    const absl::Status status =
        expires_at ? store.Set(key, command.data, command.flags, *expires_at).status()
                   : store.Delete(key).status();
    if (status.ok()) return mc::reply::kStored;
    // As memcached: a SET that cannot be stored unlinks the old value, so
    // no stale read follows a refused write.
    (void)store.Delete(key);
    return WriteError(status);
  }
  std::string_view reply = mc::reply::kStored;
  auto result = store.Mutate(key, [&](const std::optional<StoredItem>& current) -> Mutation {
    reply = mc::reply::kStored;
    auto write_new = [&] {
      return expires_at ? Mutation::Write(std::string(command.data), command.flags, *expires_at)
                        : Mutation::Delete();
    };
    switch (command.op) {
      case mc::Op::kAdd:
        if (current) {
          reply = mc::reply::kNotStored;
          return Mutation::Keep();
        }
        return write_new();
      case mc::Op::kReplace:
        if (!current) {
          reply = mc::reply::kNotStored;
          return Mutation::Keep();
        }
        return write_new();
      case mc::Op::kCas:
        if (!current || current->type != ValueType::kString) {
          reply = mc::reply::kNotFound;
          return Mutation::Keep();
        }
        if (current->cas != command.cas_unique) {
          reply = mc::reply::kExists;
          return Mutation::Keep();
        }
        return write_new();
      default: {  // append, prepend: the item keeps its flags and expiry
        if (!current || current->type != ValueType::kString) {
          reply = mc::reply::kNotStored;
          return Mutation::Keep();
        }
        if (current->value.size() + command.data.size() > context.max_item_size) {
          reply = mc::reply::kObjectTooLarge;
          return Mutation::Keep();
        }
        std::string value =
            command.op == mc::Op::kAppend
                ? absl::StrCat(current->value, std::string(command.data))
                : absl::StrCat(std::string(command.data), current->value);
        return Mutation::Rewrite(current, std::move(value));
      }
    }
  });
  if (!result.ok()) return WriteError(result.status());
  if (command.op == mc::Op::kCas) {
    if (reply == mc::reply::kStored) Stats::Add(stats.cas_hits);
    if (reply == mc::reply::kExists) Stats::Add(stats.cas_badval);
    if (reply == mc::reply::kNotFound) Stats::Add(stats.cas_misses);
  }
  return reply;
}

// incr, decr: unsigned 64-bit, incr wraps, decr stops at 0.
void Arithmetic(const mc::Command& command, Store& store, const ServerContext& context,
                std::string* out) {
  Stats& stats = *context.stats;
  const bool incr = command.op == mc::Op::kIncr;
  std::optional<uint64_t> result;
  bool non_numeric = false;
  auto mutated = store.Mutate(command.key(), [&](const std::optional<StoredItem>& current) {
    result.reset();
    non_numeric = false;
    // memcached has no types: a Redis hash is not there for it.
    if (!current || current->type != ValueType::kString) return Mutation::Keep();
    const auto value = ParseMemcacheCounter(current->value);
    if (!value) {
      non_numeric = true;
      return Mutation::Keep();
    }
    result = incr ? *value + command.delta
                  : (*value > command.delta ? *value - command.delta : 0);
    std::string text = std::to_string(*result);
    // memcached rewrites a shrinking number in place, padded with spaces.
    if (text.size() < current->value.size()) text.resize(current->value.size(), ' ');
    return Mutation::Rewrite(current, std::move(text));
  });
  if (!mutated.ok()) {
    if (!command.noreply) out->append(WriteError(mutated.status()));
    return;
  }
  if (result) {
    Stats::Add(incr ? stats.incr_hits : stats.decr_hits);
  } else if (!non_numeric) {
    Stats::Add(incr ? stats.incr_misses : stats.decr_misses);
  }
  if (command.noreply) return;
  if (non_numeric) {
    out->append(mc::reply::kNonNumeric);
  } else if (!result) {
    out->append(mc::reply::kNotFound);
  } else {
    mc::AppendNumber(out, *result);
  }
}

std::string_view Touch(const mc::Command& command, Store& store, const ServerContext& context) {
  Stats& stats = *context.stats;
  Stats::Add(stats.cmd_touch);
  const auto expires_at = ExpiresAtFor(command.exptime, context);
  bool found = false;
  auto result = store.Mutate(command.key(), [&](const std::optional<StoredItem>& current) {
    found = current.has_value();
    if (!current) return Mutation::Keep();
    if (!expires_at) return Mutation::Delete();
    return Mutation::Touch(*current, *expires_at);
  });
  if (!result.ok()) return WriteError(result.status());
  Stats::Add(found ? stats.touch_hits : stats.touch_misses);
  return found ? mc::reply::kTouched : mc::reply::kNotFound;
}

std::string_view FlushAll(const mc::Command& command, Store& store, const ServerContext& context) {
  Stats::Add(context.stats->cmd_flush);
  if (command.delay > 0 && context.schedule_flush) {
    const auto at = ExpiresAtFor(command.delay, context);
    if (at) {
      context.schedule_flush(*at);
      return mc::reply::kOk;
    }
  }
  auto cleared = store.Clear();
  return cleared.ok() ? mc::reply::kOk : WriteError(cleared.status());
}

void Statistics(const mc::Command& command, Store& store, const ServerContext& context,
                std::string* out) {
  if (!command.stats_args.empty()) {
    // memcached's subcommands; the store has no slabs, items classes or
    // size histogram, so those answer empty (docs/protocols.md).
    const std::string_view sub = command.stats_args[0];
    if (sub == "reset") {
      // As memcached: every counter but the gauges (connections open,
      // items), the kernel's included.
      context.stats->memcache_baseline.Reset(ResettableCounters(context));
      out->append(mc::reply::kReset);
    } else if (sub == "detail") {
      const std::string_view arg = command.stats_args.size() > 1 ? command.stats_args[1] : "";
      if (arg == "on" || arg == "off") {
        out->append(mc::reply::kOk);
      } else if (arg == "dump") {
        out->append(mc::reply::kEnd);
      } else {
        out->append("CLIENT_ERROR usage: stats detail on|off|dump\r\n");
      }
    } else if (sub == "sizes") {
      out->append("STAT sizes_status disabled\r\nEND\r\n");
    } else if (sub == "settings") {
      mc::AppendStat(out, "item_size_max", std::to_string(context.max_item_size));
      mc::AppendStat(out, "num_threads", std::to_string(context.threads));
      mc::AppendStat(out, "maxbytes", std::to_string(store.Memory().limit_bytes));
      mc::AppendStat(out, "evictions",
                     store.Memory().policy == EvictionPolicy::kNoEviction ? "off" : "on");
      mc::AppendStat(out, "cas_enabled", "yes");
      out->append(mc::reply::kEnd);
    } else if (sub == "slabs" || sub == "items" || sub == "conns" || sub == "extstore") {
      out->append(mc::reply::kEnd);
    } else {
      out->append(mc::reply::kError);  // as memcached, also for "stats noreply"
    }
    return;
  }
  const Stats& s = *context.stats;
  auto stat = [out](std::string_view name, auto value) {
    if constexpr (std::is_convertible_v<decltype(value), std::string_view>) {
      mc::AppendStat(out, name, value);
    } else {
      mc::AppendStat(out, name, std::to_string(value));
    }
  };
  // Every count since the last `stats reset`; the memcached names add up
  // both tiers, userspace's and the kernel's (xdp_memcache_*, listed at
  // the end with userspace_cmd_get/_set beside them).
  const NamedCounters raw = ResettableCounters(context);
  auto since = [&](std::string_view name) {
    return s.memcache_baseline.Since(name, CountOf(raw, name));
  };
  auto counter = [&](std::string_view name) { stat(name, since(name)); };
  auto both_tiers = [&](std::string_view name, std::initializer_list<std::string_view> kernel) {
    uint64_t total = since(name);
    for (std::string_view xdp : kernel) total += since(absl::StrCat("xdp_memcache_", std::string(xdp)));
    stat(name, total);
  };
  const int64_t now = time(nullptr);
  stat("pid", static_cast<int64_t>(getpid()));
  stat("uptime", now - context.started_unix);
  stat("time", now);
  stat("version", std::string_view(context.memcache_version));
  stat("pointer_size", 64);
  stat("curr_connections", Stats::Read(s.curr_connections));
  counter("total_connections");
  both_tiers("cmd_get", {"get_hits", "get_misses"});
  both_tiers("cmd_set", {"sets", "store_full"});
  counter("cmd_flush");
  counter("cmd_touch");
  both_tiers("get_hits", {"get_hits"});
  both_tiers("get_misses", {"get_misses"});
  both_tiers("delete_misses", {"delete_misses"});
  both_tiers("delete_hits", {"delete_hits"});
  counter("incr_misses");
  counter("incr_hits");
  counter("decr_misses");
  counter("decr_hits");
  counter("cas_misses");
  counter("cas_hits");
  counter("cas_badval");
  counter("touch_hits");
  counter("touch_misses");
  stat("expired_unfetched", since("expired_keys"));
  stat("threads", context.threads);
  stat("item_size_max", context.max_item_size);
  // bytes: the items and values as the kernel allocated them; the store's
  // fixed tables are in limit_maxbytes too (docs/architecture.md, "Memory").
  const MemoryReport memory = store.Memory();
  if (auto usage = store.Usage(); usage.ok()) stat("curr_items", usage->items);
  stat("bytes", memory.used_bytes - memory.fixed_bytes);
  stat("limit_maxbytes", memory.limit_bytes);
  stat("store_fixed_bytes", memory.fixed_bytes);
  stat("xdp_kernel_memlock", memory.kernel_memlock);
  stat("evictions", memory.evicted_keys);
  stat("userspace_cmd_get", since("cmd_get"));
  stat("userspace_cmd_set", since("cmd_set"));
  for (const auto& [name, count] : raw) {
    if (name.starts_with("xdp_")) stat(name, since(name));
  }
  out->append(mc::reply::kEnd);
}

}  // namespace

RetrieveProgress RetrieveKeys(mc::Op op, int32_t exptime, std::span<const std::string_view> keys,
                              Store& store, const ServerContext& context, std::string* out,
                              size_t out_limit, std::vector<mc::UdpResponseObject>* objects) {
  const bool with_cas = op == mc::Op::kGets || op == mc::Op::kGats;
  const bool touch = op == mc::Op::kGat || op == mc::Op::kGats;
  const auto expires_at = ExpiresAtFor(exptime, context);
  Stats& stats = *context.stats;
  const size_t mark = out->size();  // what this call appends starts here
  const size_t objects_mark = objects != nullptr ? objects->size() : 0;
  auto end_object = [&] {
    if (objects != nullptr) objects->push_back({out->size()});
  };
  RetrieveProgress progress;
  for (std::string_view key : keys) {
    if (progress.answered > 0 && out->size() > out_limit) return progress;
    ++progress.answered;
    Stats::Add(stats.cmd_get);
    if (touch) Stats::Add(stats.cmd_touch);
    std::optional<StoredItem> found;
    absl::Status status;
    if (touch) {
      // The value as it was touched: read and touch as one step.
      auto touched = store.Mutate(key, [&](const std::optional<StoredItem>& current) {
        found = current;
        if (!current || current->type != ValueType::kString) {
          found.reset();  // another Redis type: not there for memcached
          return Mutation::Keep();
        }
        if (!expires_at) return Mutation::Delete();
        return Mutation::Touch(*current, *expires_at);
      });
      status = touched.status();
    } else {
      auto item = store.Get(key);
      status = item.status();
      // Another Redis type (a hash): not there for memcached.
      if (item.ok() && (!*item || (*item)->type == ValueType::kString)) found = std::move(*item);
    }
    if (!status.ok()) {
      // As memcached does when a multi-get fails part way: drop what it
      // still holds of the reply and send the error alone.
      out->resize(mark);
      if (objects != nullptr) objects->resize(objects_mark);
      AppendServerError(out, status);
      end_object();
      progress.done = true;
      return progress;
    }
    if (found) {
      Stats::Add(stats.get_hits);
      if (touch) Stats::Add(stats.touch_hits);
      mc::AppendValue(out, key, found->flags, found->value,
                      with_cas ? std::optional<uint64_t>(found->cas) : std::nullopt);
    } else {
      Stats::Add(stats.get_misses);
      if (touch) Stats::Add(stats.touch_misses);
    }
    end_object();  // a miss's object is empty
  }
  out->append(mc::reply::kEnd);
  // END joins the last key's object; a get of no keys is END alone.
  if (objects != nullptr && objects->size() > objects_mark) {
    objects->back().end = out->size();
  } else {
    end_object();
  }
  progress.done = true;
  return progress;
}

AfterReply HandleMemcache(const mc::Command& command, Store& store, const ServerContext& context,
                          std::string* out) {
  auto reply = [&](std::string_view text) {
    if (!command.noreply) out->append(text);
    return AfterReply::kContinue;
  };
  switch (command.op) {
    case mc::Op::kGet:
    case mc::Op::kGets:
    case mc::Op::kGat:
    case mc::Op::kGats:
      Retrieve(command, store, context, out);
      return AfterReply::kContinue;
    case mc::Op::kSet:
    case mc::Op::kAdd:
    case mc::Op::kReplace:
    case mc::Op::kAppend:
    case mc::Op::kPrepend:
    case mc::Op::kCas:
      return reply(StoreCommand(command, store, context));
    case mc::Op::kDelete: {
      auto deleted = store.Delete(command.key());
      if (!deleted.ok()) {
        if (!command.noreply) AppendServerError(out, deleted.status());
        return AfterReply::kContinue;
      }
      ServerStats::Add(*deleted ? context.stats->delete_hits : context.stats->delete_misses);
      return reply(*deleted ? mc::reply::kDeleted : mc::reply::kNotFound);
    }
    case mc::Op::kIncr:
    case mc::Op::kDecr:
      Arithmetic(command, store, context, out);
      return AfterReply::kContinue;
    case mc::Op::kTouch:
      return reply(Touch(command, store, context));
    case mc::Op::kFlushAll:
      return reply(FlushAll(command, store, context));
    case mc::Op::kVersion:
      mc::AppendVersion(out, context.memcache_version);
      return AfterReply::kContinue;
    case mc::Op::kVerbosity:
      return reply(mc::reply::kOk);
    case mc::Op::kStats:
      Statistics(command, store, context, out);
      return AfterReply::kContinue;
    case mc::Op::kQuit:
      return AfterReply::kClose;
  }
  return AfterReply::kContinue;
}

}  // namespace xdpkv
