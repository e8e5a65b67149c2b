// memcached's text commands over the Store, with memcached 1.6's replies.
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "protocol/values.h"
#include "proxy/expiry.h"
#include "proxy/handlers.h"
#include "proxy/memcache_family.h"
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

// A touch, which memcached also counts as a fetch (its flags bumped).
Mutation TouchAndBump(const StoredItem& current, uint64_t expires_at_ms) {
  Mutation m = Mutation::Touch(current, expires_at_ms);
  bool activates = false;
  m.mc_bits = memcache_family::FetchedBits(current.mc_bits, &activates);
  m.keep_atime = !activates;
  return m;
}

// get, gets, gat, gats: the whole reply at once (for callers that bound
// nothing; sessions stream through RetrieveKeys).
void Retrieve(const mc::Command& command, Store& store, const ServerContext& context,
              std::string* out) {
  RetrieveKeys(command.op, command.exptime, command.keys, store, context, out, SIZE_MAX);
}

// set, add, replace, append, prepend, cas.
std::string_view StoreCommandReply(const mc::Command& command, Store& store,
                                   const ServerContext& context);
std::string_view StoreCommand(const mc::Command& command, Store& store, const ServerContext& context) {
  Stats& stats = *context.stats;
  Stats::Add(stats.cmd_set);
  memcache_family::RecordPrefix(context, command.key(), memcache_family::PrefixOp::kSet);
  const std::string_view reply = StoreCommandReply(command, store, context);
  if (reply == mc::reply::kStored) Stats::Add(stats.total_items);
  if (reply == mc::reply::kOutOfMemory) Stats::Add(stats.store_no_memory);
  if (reply == mc::reply::kObjectTooLarge) Stats::Add(stats.store_too_large);
  return reply;
}

std::string_view StoreCommandReply(const mc::Command& command, Store& store,
                                   const ServerContext& context) {
  Stats& stats = *context.stats;
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
        // -C: items have no CAS unique, so no cas can match (memcached).
        if (!context.memcache.cas_enabled || current->cas != command.cas_unique) {
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
  bool in_place = true;
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
    // A number that still fits is rewritten in place: the item keeps its
    // memcached flags (fetched, ...), as memcached's do_add_delta does.
    in_place = text.size() == current->value.size();
    return Mutation::Rewrite(current, std::move(text), ValueType::kString, in_place);
  });
  // A number grown out of its item is a new item to memcached.
  if (mutated.ok() && result && !in_place) Stats::Add(stats.total_items);
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
    return TouchAndBump(*current, *expires_at);
  });
  if (!result.ok()) return WriteError(result.status());
  Stats::Add(found ? stats.touch_hits : stats.touch_misses);
  return found ? mc::reply::kTouched : mc::reply::kNotFound;
}

std::string_view FlushAll(const mc::Command& command, Store& store, const ServerContext& context) {
  Stats::Add(context.stats->cmd_flush);  // counted even when refused, as memcached
  if (!context.memcache.flush_enabled) return "CLIENT_ERROR flush_all not allowed\r\n";
  if (command.delay_invalid) return mc::reply::kInvalidExptime;
  if (command.delay > 0 && context.schedule_flush) {
    const auto at = ExpiresAtFor(command.delay, context);
    if (at) {
      context.schedule_flush(*at);
      context.runtime->memcache_flushed_at =
          static_cast<int64_t>((*at + context.unix_minus_boot_ms) / 1000);
      return mc::reply::kOk;
    }
  }
  context.runtime->memcache_flushed_at = time(nullptr);
  auto cleared = store.Clear();
  return cleared.ok() ? mc::reply::kOk : WriteError(cleared.status());
}

}  // namespace

RetrieveProgress RetrieveKeys(mc::Op op, int32_t exptime, std::span<const std::string_view> keys,
                              Store& store, const ServerContext& context, std::string* out,
                              size_t out_limit, std::vector<mc::UdpResponseObject>* objects,
                              ReadAhead* ahead) {
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
  // Plain reads come from the store kReadBatch keys at a time (one syscall
  // for all of them on a BpfStore), at most about the output's room.
  constexpr size_t kReadBatch = 32;
  std::vector<absl::StatusOr<std::optional<StoredItem>>> batch;
  size_t batch_next = 0;
  for (size_t index = 0; index < keys.size(); ++index) {
    const std::string_view key = keys[index];
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
        return TouchAndBump(*current, *expires_at);
      });
      status = touched.status();
    } else {
      std::optional<ReadAhead::Item> early;
      if (ahead != nullptr && batch_next == batch.size()) early = ahead->Take(key);
      if (!early && batch_next == batch.size()) {
        const size_t room = out_limit > out->size() ? out_limit - out->size() : 0;
        batch = store.GetMany(keys.subspan(index, std::min(kReadBatch, keys.size() - index)), room);
        batch_next = 0;
      }
      auto item = early ? std::move(*early) : std::move(batch[batch_next++]);
      status = item.status();
      // Another Redis type (a hash): not there for memcached.
      if (item.ok() && (!*item || (*item)->type == ValueType::kString)) found = std::move(*item);
      if (found) memcache_family::MarkFetched(store, key, *found, context);
    }
    memcache_family::RecordPrefix(context, key,
                                  found ? memcache_family::PrefixOp::kGetHit
                                        : memcache_family::PrefixOp::kGetMiss);
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
      const uint64_t cas = context.memcache.cas_enabled ? found->cas : 0;  // -C: 0
      mc::AppendValue(out, key, found->flags, found->value,
                      with_cas ? std::optional<uint64_t>(cas) : std::nullopt);
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
      memcache_family::RecordPrefix(context, command.key(), memcache_family::PrefixOp::kDelete);
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
      context.runtime->memcache_verbosity = std::min<uint32_t>(command.verbosity, 2);  // memcached's max
      return reply(mc::reply::kOk);
    case mc::Op::kStats:
      memcache_family::Statistics(command, store, context, out);
      return AfterReply::kContinue;
    case mc::Op::kQuit:
      return AfterReply::kClose;
    case mc::Op::kShutdown:
      return memcache_family::Shutdown(command, context, out);
    case mc::Op::kMetaGet:
    case mc::Op::kMetaSet:
    case mc::Op::kMetaDelete:
    case mc::Op::kMetaArithmetic:
    case mc::Op::kMetaNoop:
    case mc::Op::kMetaDebug:
      return memcache_family::Meta(command, store, context, out);
    case mc::Op::kCacheMemlimit:
      memcache_family::CacheMemlimit(command, store, out);
      return AfterReply::kContinue;
    case mc::Op::kWatch:
      return memcache_family::Watch(command, context, {}, out);
    case mc::Op::kLruCrawler: {
      // Sessions stream a metadump (proxy/session.cc); here it is written whole.
      std::optional<memcache_family::Metadump> dump;
      memcache_family::LruCrawler(command, context, {}, out, &dump);
      if (dump) memcache_family::ContinueMetadump(*dump, store, context, out, SIZE_MAX);
      return AfterReply::kContinue;
    }
  }
  return AfterReply::kContinue;
}

}  // namespace xdpkv
