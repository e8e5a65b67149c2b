// memcached's text commands over the Store, with memcached 1.6's replies,
// and the data operations its text and binary protocols share
// (memcache_family.h).
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

// set, add, replace, append, prepend, cas: memcached's words.
std::string_view StoreCommand(const mc::Command& command, Store& store, const ServerContext& context) {
  memcache_family::StoreRequest request{.key = command.key(),
                                        .data = command.data,
                                        .flags = command.flags,
                                        .exptime = command.exptime};
  switch (command.op) {
    case mc::Op::kAdd: request.mode = memcache_family::StoreMode::kAdd; break;
    case mc::Op::kReplace: request.mode = memcache_family::StoreMode::kReplace; break;
    case mc::Op::kAppend: request.mode = memcache_family::StoreMode::kAppend; break;
    case mc::Op::kPrepend: request.mode = memcache_family::StoreMode::kPrepend; break;
    case mc::Op::kCas: request.compare_cas = command.cas_unique; break;
    default: break;
  }
  const memcache_family::StoreResult result = memcache_family::StoreValue(request, store, context);
  switch (result.outcome) {
    case memcache_family::StoreOutcome::kStored: return mc::reply::kStored;
    case memcache_family::StoreOutcome::kNotStored: return mc::reply::kNotStored;
    case memcache_family::StoreOutcome::kExists: return mc::reply::kExists;
    case memcache_family::StoreOutcome::kNotFound: return mc::reply::kNotFound;
    case memcache_family::StoreOutcome::kTooLarge: return mc::reply::kObjectTooLarge;
    case memcache_family::StoreOutcome::kNoMemory: return mc::reply::kOutOfMemory;
    case memcache_family::StoreOutcome::kFailed: return WriteError(result.status);
  }
  return mc::reply::kNotStored;
}

// incr, decr.
void Arithmetic(const mc::Command& command, Store& store, const ServerContext& context,
                std::string* out) {
  const memcache_family::DeltaResult result = memcache_family::ApplyDelta(
      {.key = command.key(), .incr = command.op == mc::Op::kIncr, .delta = command.delta}, store,
      context);
  if (command.noreply) return;
  switch (result.outcome) {
    case memcache_family::DeltaOutcome::kDone:
    case memcache_family::DeltaOutcome::kCreated:
      mc::AppendNumber(out, result.value);
      break;
    case memcache_family::DeltaOutcome::kNonNumeric:
      out->append(mc::reply::kNonNumeric);
      break;
    case memcache_family::DeltaOutcome::kFailed:
      out->append(WriteError(result.status));
      break;
    default:
      out->append(mc::reply::kNotFound);
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
  const absl::Status flushed = memcache_family::FlushItems(command.delay, store, context);
  return flushed.ok() ? mc::reply::kOk : WriteError(flushed);
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
    // Plain reads: this command's turn in a pipeline read ahead, or this
    // multi-get's next batch.
    std::optional<ReadAhead::Item> read;
    if (!touch) {
      if (ahead != nullptr && batch_next == batch.size()) read = ahead->Take(key);
      if (!read) {
        if (batch_next == batch.size()) {
          const size_t room = out_limit > out->size() ? out_limit - out->size() : 0;
          batch = store.GetMany(keys.subspan(index, std::min(kReadBatch, keys.size() - index)),
                                room);
          batch_next = 0;
        }
        read = std::move(batch[batch_next++]);
      }
    }
    auto result = memcache_family::ReadItem(store, key, touch, expires_at, context, std::move(read));
    const absl::Status status = result.status();
    const std::optional<StoredItem> found = result.ok() ? std::move(*result) : std::nullopt;
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
      absl::Status status;
      const auto outcome =
          memcache_family::DeleteItem(command.key(), std::nullopt, store, context, &status);
      if (outcome == memcache_family::DeleteOutcome::kFailed) {
        if (!command.noreply) AppendServerError(out, status);
        return AfterReply::kContinue;
      }
      return reply(outcome == memcache_family::DeleteOutcome::kDeleted ? mc::reply::kDeleted
                                                                       : mc::reply::kNotFound);
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

namespace memcache_family {

absl::StatusOr<std::optional<StoredItem>> ReadItem(Store& store, std::string_view key, bool touch,
                                                   std::optional<uint64_t> expires_at,
                                                   const ServerContext& context,
                                                   std::optional<ReadAhead::Item> read) {
  std::optional<StoredItem> found;
  absl::Status status;
  if (touch) {
    // The value as it was touched: read and touch as one step.
    auto touched = store.Mutate(key, [&](const std::optional<StoredItem>& current) {
      found = StringOnly(current);  // another Redis type: not there for memcached
      if (!found) return Mutation::Keep();
      if (!expires_at) return Mutation::Delete();
      return TouchAndBump(*current, *expires_at);
    });
    status = touched.status();
  } else {
    auto item = read ? std::move(*read) : store.Get(key);
    status = item.status();
    if (item.ok()) found = StringOnly(*item);
    if (found) MarkFetched(store, key, *found, context);
  }
  RecordPrefix(context, key, found ? PrefixOp::kGetHit : PrefixOp::kGetMiss);
  if (!status.ok()) return status;
  return found;
}

StoreResult StoreValue(const StoreRequest& request, Store& store, const ServerContext& context) {
  Stats& stats = *context.stats;
  Stats::Add(stats.cmd_set);
  RecordPrefix(context, request.key, PrefixOp::kSet);
  const auto expires_at = ExpiresAtFor(request.exptime, context);
  const std::string_view key = request.key;
  const bool cas_command = request.compare_cas.has_value() &&
                           request.mode != StoreMode::kAppend &&
                           request.mode != StoreMode::kPrepend;
  auto count = [&](StoreResult result) {
    if (result.outcome == StoreOutcome::kStored) Stats::Add(stats.total_items);
    if (result.outcome == StoreOutcome::kNoMemory) Stats::Add(stats.store_no_memory);
    if (result.outcome == StoreOutcome::kTooLarge) Stats::Add(stats.store_too_large);
    if (cas_command && result.outcome == StoreOutcome::kStored) Stats::Add(stats.cas_hits);
    if (cas_command && result.outcome == StoreOutcome::kExists) Stats::Add(stats.cas_badval);
    if (cas_command && result.outcome == StoreOutcome::kNotFound) Stats::Add(stats.cas_misses);
    return result;
  };
  auto failed = [&](const absl::Status& status) {
    if (status.code() == absl::StatusCode::kResourceExhausted) {
      return StoreResult{StoreOutcome::kNoMemory, 0, status};
    }
    if (status.code() == absl::StatusCode::kInvalidArgument) {
      return StoreResult{StoreOutcome::kTooLarge, 0, status};
    }
    return StoreResult{StoreOutcome::kFailed, 0, status};
  };
  if (request.mode == StoreMode::kSet && !cas_command) {
    // Stored and already expired: nothing may be read back.
    uint64_t cas = 0;
    absl::Status status;
    if (expires_at) {
      auto written = store.Set(key, request.data, request.flags, *expires_at);
      status = written.status();
      if (written.ok()) cas = *written;
    } else {
      status = store.Delete(key).status();
    }
    if (status.ok()) return count({StoreOutcome::kStored, cas, {}});
    // As memcached: a SET that cannot be stored unlinks the old value, so
    // no stale read follows a refused write.
    (void)store.Delete(key);
    return count(failed(status));
  }
  StoreOutcome outcome = StoreOutcome::kStored;
  auto mutated = store.Mutate(key, [&](const std::optional<StoredItem>& current) -> Mutation {
    outcome = StoreOutcome::kStored;
    auto write_new = [&] {
      return expires_at ? Mutation::Write(std::string(request.data), request.flags, *expires_at)
                        : Mutation::Delete();
    };
    auto refuse = [&](StoreOutcome why) {
      outcome = why;
      return Mutation::Keep();
    };
    if (cas_command) {
      if (!current || current->type != ValueType::kString) return refuse(StoreOutcome::kNotFound);
      // -C: items have no CAS unique, so no cas can match (memcached).
      if (!context.memcache.cas_enabled || current->cas != *request.compare_cas) {
        return refuse(StoreOutcome::kExists);
      }
      return write_new();
    }
    switch (request.mode) {
      case StoreMode::kAdd:
        return current ? refuse(StoreOutcome::kNotStored) : write_new();
      case StoreMode::kReplace:
        return current ? write_new() : refuse(StoreOutcome::kNotStored);
      default: {  // append, prepend: the item keeps its flags and expiry
        if (!current || current->type != ValueType::kString) {
          return refuse(StoreOutcome::kNotStored);
        }
        if (request.compare_cas && ShownCas(current->cas, context) != *request.compare_cas) {
          return refuse(StoreOutcome::kExists);
        }
        if (current->value.size() + request.data.size() > context.max_item_size) {
          return refuse(StoreOutcome::kTooLarge);
        }
        std::string value = request.mode == StoreMode::kAppend
                                ? absl::StrCat(current->value, std::string(request.data))
                                : absl::StrCat(std::string(request.data), current->value);
        return Mutation::Rewrite(current, std::move(value));
      }
    }
  });
  if (!mutated.ok()) return count(failed(mutated.status()));
  return count({outcome, outcome == StoreOutcome::kStored ? mutated->value_or(0) : 0, {}});
}

DeltaResult ApplyDelta(const DeltaRequest& request, Store& store, const ServerContext& context) {
  Stats& stats = *context.stats;
  DeltaResult result;
  bool in_place = true;
  const std::optional<uint64_t> create_expiry =
      request.create ? ExpiresAtFor(request.create->exptime, context) : std::nullopt;
  auto mutated = store.Mutate(request.key, [&](const std::optional<StoredItem>& current) {
    result.outcome = DeltaOutcome::kNotFound;
    if (!current && request.create) {
      // Binary's initial value, stored as memcached's add would store it.
      result.outcome = DeltaOutcome::kCreated;
      result.value = request.create->initial;
      if (!create_expiry) return Mutation::Keep();  // stored already expired
      return Mutation::Write(absl::StrCat(request.create->initial), 0, *create_expiry);
    }
    // memcached has no types: a Redis hash is not there for it (and is in
    // the way of a creation).
    if (!current || current->type != ValueType::kString) {
      if (current && request.create) result.outcome = DeltaOutcome::kNotStored;
      return Mutation::Keep();
    }
    // memcached's order: an empty value is no number, then the CAS, then
    // the digits.
    if (current->value.empty()) {
      result.outcome = DeltaOutcome::kNonNumeric;
      return Mutation::Keep();
    }
    if (request.compare_cas && *request.compare_cas != 0 &&
        ShownCas(current->cas, context) != *request.compare_cas) {
      result.outcome = DeltaOutcome::kExists;
      return Mutation::Keep();
    }
    const auto value = ParseMemcacheCounter(current->value);
    if (!value) {
      result.outcome = DeltaOutcome::kNonNumeric;
      return Mutation::Keep();
    }
    result.outcome = DeltaOutcome::kDone;
    result.value = request.incr ? *value + request.delta
                                : (*value > request.delta ? *value - request.delta : 0);
    std::string text = absl::StrCat(result.value);
    // memcached rewrites a shrinking number in place, padded with spaces.
    if (text.size() < current->value.size()) text.resize(current->value.size(), ' ');
    // A number that still fits is rewritten in place: the item keeps its
    // memcached flags (fetched, ...), as memcached's do_add_delta does.
    in_place = text.size() == current->value.size();
    return Mutation::Rewrite(current, std::move(text), ValueType::kString, in_place);
  });
  if (!mutated.ok()) {
    result.outcome = DeltaOutcome::kFailed;
    result.status = mutated.status();
    return result;
  }
  result.cas = mutated->value_or(0);
  switch (result.outcome) {
    case DeltaOutcome::kDone:
      Stats::Add(request.incr ? stats.incr_hits : stats.decr_hits);
      // A number grown out of its item is a new item to memcached.
      if (!in_place) Stats::Add(stats.total_items);
      break;
    case DeltaOutcome::kCreated:
      Stats::Add(stats.total_items);
      break;
    case DeltaOutcome::kNotFound:
      Stats::Add(request.incr ? stats.incr_misses : stats.decr_misses);
      break;
    default:
      break;
  }
  return result;
}

DeleteOutcome DeleteItem(std::string_view key, std::optional<uint64_t> compare_cas, Store& store,
                         const ServerContext& context, absl::Status* status) {
  RecordPrefix(context, key, PrefixOp::kDelete);
  Stats& stats = *context.stats;
  if (!compare_cas || *compare_cas == 0) {
    auto deleted = store.Delete(key);
    if (!deleted.ok()) {
      *status = deleted.status();
      return DeleteOutcome::kFailed;
    }
    Stats::Add(*deleted ? stats.delete_hits : stats.delete_misses);
    return *deleted ? DeleteOutcome::kDeleted : DeleteOutcome::kNotFound;
  }
  DeleteOutcome outcome = DeleteOutcome::kNotFound;
  auto mutated = store.Mutate(key, [&](const std::optional<StoredItem>& any_type) {
    const std::optional<StoredItem> current = StringOnly(any_type);
    outcome = DeleteOutcome::kNotFound;
    if (!current) return Mutation::Keep();
    if (ShownCas(current->cas, context) != *compare_cas) {
      outcome = DeleteOutcome::kExists;
      return Mutation::Keep();
    }
    outcome = DeleteOutcome::kDeleted;
    return Mutation::Delete();
  });
  if (!mutated.ok()) {
    *status = mutated.status();
    return DeleteOutcome::kFailed;
  }
  if (outcome == DeleteOutcome::kDeleted) Stats::Add(stats.delete_hits);
  if (outcome == DeleteOutcome::kNotFound) Stats::Add(stats.delete_misses);
  return outcome;
}

absl::Status FlushItems(int64_t delay, Store& store, const ServerContext& context) {
  if (delay > 0 && context.schedule_flush) {
    const auto at = ExpiresAtFor(delay, context);
    if (at) {
      context.schedule_flush(*at);
      context.runtime->memcache_flushed_at =
          static_cast<int64_t>((*at + context.unix_minus_boot_ms) / 1000);
      return absl::OkStatus();
    }
  }
  context.runtime->memcache_flushed_at = time(nullptr);
  return store.Clear().status();
}

}  // namespace memcache_family

}  // namespace xdpkv
