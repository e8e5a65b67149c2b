#include "proxy/session.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <mutex>
#include <shared_mutex>

#include "protocol/redis_commands.h"
#include "protocol/resp.h"
#include "protocol/values.h"
#include "proxy/memcache_family.h"
#include "proxy/memcache_retrieve.h"

namespace xdpkv {

bool MemcacheSession::ContinueDump(std::string* out) {
  if (!memcache_family::ContinueMetadump(*pending_dump_, store_, context_, out, output_limit_)) {
    return false;
  }
  pending_dump_.reset();
  EndRequest(/*memcached_flushes=*/true, *out);
  return true;
}

bool MemcacheSession::ContinueGet(std::string* out) {
  PendingGet& get = *pending_get_;
  std::vector<std::string_view> keys(get.keys.begin() + static_cast<ptrdiff_t>(get.next),
                                     get.keys.end());
  const RetrieveProgress progress = RetrieveKeys(get.op, get.exptime, keys, store_, context_, out,
                                                 output_limit_, response_objects_);
  get.next += progress.answered;
  if (!progress.done) return false;
  pending_get_.reset();
  EndRequest(/*memcached_flushes=*/true, *out);
  return true;
}

void MemcacheSession::EndResponseObject(size_t reply_start, const std::string& out,
                                        bool keep_empty) {
  // quit's object is empty, yet memcached sends it (a bare header) when it
  // heads a flush.
  if (response_objects_ == nullptr || (out.size() == reply_start && !keep_empty)) return;
  response_objects_->push_back({out.size()});
}

void MemcacheSession::EndRequest(bool memcached_flushes, const std::string& out) {
  ++requests_answered_;
  // memcached yields after its -R requests per event, sending what it holds.
  const bool yields = memcache::MemcachedFlushesAfterRequest(
      requests_answered_, context_.memcache.reqs_per_event);
  if (yields) {
    ServerStats::Add(context_.stats->conn_yields);
    yield_due_ = response_objects_ == nullptr;  // TCP: others get a turn (UDP: one datagram)
  }
  if (memcached_flushes || yields) flushed_end_ = out.size();
  if (response_objects_ == nullptr) return;
  if ((memcached_flushes || yields) && !response_objects_->empty()) {
    response_objects_->back().flush_after = true;
  }
}

void MemcacheSession::DiscardUnsent(std::string* out) {
  out->resize(flushed_end_);
  if (response_objects_ == nullptr) return;
  while (!response_objects_->empty() && response_objects_->back().end > flushed_end_) {
    response_objects_->pop_back();
  }
}

namespace {

bool IsOneKeyGet(const memcache::Command& command) {
  return (command.op == memcache::Op::kGet || command.op == memcache::Op::kGets) &&
         command.keys.size() == 1;
}

}  // namespace

void MemcacheSession::ReadAheadGets(std::string_view first_key, std::string_view rest) {
  std::vector<std::string_view> keys = {first_key};
  // Not past memcached's next yield (-R), when other connections get a turn.
  for (size_t n = requests_answered_ + 1;
       keys.size() < kReadAheadCommands &&
       !memcache::MemcachedFlushesAfterRequest(n, context_.memcache.reqs_per_event);
       ++n) {
    const memcache::ParseResult next = memcache::ParseCommand(rest, options_);
    if (next.status != memcache::ParseStatus::kCommand || !IsOneKeyGet(next.command)) break;
    keys.push_back(next.command.key());
    rest.remove_prefix(next.consumed);
  }
  if (keys.size() < 2) return;  // one get gains nothing from a batch
  const size_t room = output_limit_ == kNoOutputLimit ? SIZE_MAX : output_limit_;
  auto items = store_.GetMany(keys, room);
  read_ahead_.Fill(std::vector<std::string>(keys.begin(), keys.end()), std::move(items));
}

size_t MemcacheSession::Feed(std::string_view input, std::string* out) {
  // After a yield the count goes on (memcached resumes the same event's
  // count); otherwise this is a new read, a new event.
  if (!yielded_) {
    requests_answered_ = 0;
    yield_due_ = false;
  }
  paused_ = yielded_ = false;
  // memcached has sent everything before this read (it flushes whenever it
  // runs out of complete requests).
  flushed_end_ = out->size();
  if ((pending_get_ && !ContinueGet(out)) || (pending_dump_ && !ContinueDump(out))) {
    paused_ = true;
    return 0;
  }
  // memcached's watch: the connection only receives from now on.
  if (watching_) return input.size();
  if (protocol_ == Protocol::kNegotiating && !input.empty()) {
    protocol_ = static_cast<uint8_t>(input[0]) == memcache::binary::kRequestMagic ? Protocol::kBinary
                                                                                  : Protocol::kText;
  }
  return protocol_ == Protocol::kBinary ? FeedBinary(input, out) : FeedText(input, out);
}

size_t MemcacheSession::FeedBinary(std::string_view input, std::string* out) {
  namespace bin = memcache::binary;
  const bin::ParseOptions options{.max_value_bytes = options_.max_value_bytes,
                                  .sasl = context_.memcache_sasl != nullptr};
  size_t used = 0;
  bool holding = false;  // memcached is mid-value: it sends nothing yet
  while (!closing_) {
    std::string_view rest = input.substr(used);
    if (swallow_ > 0) {
      const size_t n = std::min(swallow_, rest.size());
      swallow_ -= n;
      used += n;
      holding = swallow_ > 0;
      if (holding) break;
      continue;
    }
    if (!held_.empty()) {
      out->append(held_);  // the value is done: what was held goes out
      held_.clear();
    }
    if (rest.empty()) break;
    if (yield_due_) {
      yield_due_ = false;
      paused_ = yielded_ = true;
      break;
    }
    if (out->size() > output_limit_) {
      paused_ = true;
      break;
    }
    bin::ParseOptions now = options;
    now.authenticated = sasl_.authenticated;
    const bin::ParseResult r = bin::ParseRequest(rest, now);
    if (r.status == bin::ParseStatus::kNeedMore) {
      holding = r.reading_value;
      break;
    }
    used += r.consumed;
    const size_t reply_start = out->size();
    BinaryReplied replied;
    if (r.status == bin::ParseStatus::kError) {
      if (r.close_now) {
        // Not a request at all: memcached closes at once, dropping the
        // replies it still holds.
        DiscardUnsent(out);
        closing_ = true;
        break;
      }
      // As memcached: a SET refused as too large unlinks the old value.
      if (r.error == bin::Status::kValueTooLarge && r.request.command == bin::Opcode::kSet) {
        (void)store_.Delete(r.request.key);
      }
      bin::AppendError(out, r.request.header, r.error);
      swallow_ = r.swallow;
      if (r.close_after_reply) replied.after = AfterReply::kClose;
      // An error sends what memcached holds, unless it goes on to swallow.
      replied.flushes = r.swallow == 0;
    } else {
      replied = HandleMemcacheBinary(r.request, store_, context_, sasl_, out);
    }
    if (replied.after == AfterReply::kClose) closing_ = true;
    EndResponseObject(reply_start, *out, /*keep_empty=*/true);
    EndRequest(replied.flushes, *out);
  }
  if (holding) {
    // Over TCP what is held goes out once the value is done; a datagram
    // has nothing more to come, and memcached never sends it.
    if (response_objects_ == nullptr) held_.append(*out, flushed_end_);
    DiscardUnsent(out);
  }
  return used;
}

size_t MemcacheSession::FeedText(std::string_view input, std::string* out) {
  size_t used = 0;
  while (!closing_) {
    std::string_view rest = input.substr(used);
    if (swallow_ > 0) {
      const size_t n = std::min(swallow_, rest.size());
      swallow_ -= n;
      used += n;
      if (swallow_ > 0) break;
      continue;
    }
    if (rest.empty()) break;
    if (yield_due_) {
      // -R: requests remain, but other connections go first.
      yield_due_ = false;
      paused_ = yielded_ = true;
      break;
    }
    if (out->size() > output_limit_) {
      paused_ = true;  // the client has not collected enough yet
      break;
    }
    if (!authenticated_) {
      const MemcacheAuthStep step = auth_.Feed(rest, *context_.memcache_auth);
      used += step.consumed;
      out->append(step.reply);
      if (step.kind == MemcacheAuthStep::kNeedMore) break;
      if (step.kind == MemcacheAuthStep::kClose) closing_ = true;
      if (step.kind == MemcacheAuthStep::kAuthenticated) authenticated_ = true;
      // memcached counts the exchanges that checked a password.
      const bool failed = step.reply == kMemcacheAuthFailure;
      if (step.kind == MemcacheAuthStep::kAuthenticated || failed) {
        ServerStats::Add(context_.stats->auth_cmds);
      }
      if (failed) ServerStats::Add(context_.stats->auth_errors);
      continue;
    }
    const memcache::ParseResult r = memcache::ParseCommand(rest, options_);
    if (r.status == memcache::ParseStatus::kNeedMore) break;
    used += r.consumed;
    const size_t reply_start = out->size();
    if (r.status == memcache::ParseStatus::kError) {
      // As memcached: a SET refused as too large unlinks the old value, so
      // the client cannot read back what it meant to replace.
      // (A classic set swallows only for that; an ms also for its bad flags.)
      const bool too_large =
          (r.command.op == memcache::Op::kSet && r.swallow > 0) ||
          (r.command.op == memcache::Op::kMetaSet && r.error_reply == memcache::reply::kObjectTooLarge);
      if (too_large && !r.command.keys.empty()) (void)store_.Delete(r.command.key());
      if (too_large) ServerStats::Add(context_.stats->store_too_large);
      // memcached counts a storage command once its data is read, bad or not.
      if (r.error_reply == memcache::reply::kBadDataChunk) ServerStats::Add(context_.stats->cmd_set);
      if (r.discard_unsent) {
        // An HTTP request line: memcached closes without a word, dropping
        // the replies it still holds.
        DiscardUnsent(out);
        closing_ = true;
        break;
      }
      out->append(r.error_reply);
      swallow_ = r.swallow;
      closing_ = r.close_connection;
      EndResponseObject(reply_start, *out, /*keep_empty=*/false);
      EndRequest(/*memcached_flushes=*/false, *out);
      continue;
    }
    const memcache::Command& command = r.command;
    if (IsOneKeyGet(command)) {
      if (read_ahead_.empty()) ReadAheadGets(command.key(), input.substr(used));
    } else {
      read_ahead_.Clear();
    }
    if (memcache::IsRetrieval(command.op)) {
      // Key by key: a multi-get of big values must not build its whole
      // reply at once.
      const RetrieveProgress progress =
          RetrieveKeys(command.op, command.exptime, command.keys, store_, context_, out,
                       output_limit_, response_objects_, &read_ahead_);
      if (!progress.done) {
        // The keys are views into `input`, which the caller drops: copy.
        pending_get_.emplace(PendingGet{command.op, command.exptime, {}, 0});
        pending_get_->keys.assign(command.keys.begin() + static_cast<ptrdiff_t>(progress.answered),
                                  command.keys.end());
        paused_ = true;
        break;
      }
      EndRequest(/*memcached_flushes=*/true, *out);  // memcached sends what it holds after every get
      continue;
    }
    AfterReply after = AfterReply::kContinue;
    if (command.op == memcache::Op::kWatch || command.op == memcache::Op::kLruCrawler) {
      // They refuse to follow replies memcached has not sent yet.
      const memcache_family::Connection connection{out->size() > flushed_end_};
      if (command.op == memcache::Op::kWatch) {
        after = memcache_family::Watch(command, context_, connection, out);
      } else {
        memcache_family::LruCrawler(command, context_, connection, out, &pending_dump_);
        if (pending_dump_ && !ContinueDump(out)) {
          paused_ = true;
          break;
        }
      }
    } else {
      after = HandleMemcache(command, store_, context_, out);
    }
    if (after == AfterReply::kCloseDiscardingUnsent) {
      DiscardUnsent(out);  // memcached closes at once (shutdown)
      closing_ = true;
      break;
    }
    if (after == AfterReply::kBecomeWatcher) {
      ServerStats::Add(context_.stats->log_watchers);
      watching_ = true;
      used = input.size();
      break;
    }
    if (after == AfterReply::kClose) closing_ = true;
    // quit: memcached sends what it holds, quit's own empty object last;
    // mn: it sends what it holds.
    const bool quit = command.op == memcache::Op::kQuit;
    EndResponseObject(reply_start, *out, quit);
    EndRequest(/*memcached_flushes=*/quit || command.op == memcache::Op::kMetaNoop, *out);
  }
  read_ahead_.Clear();  // other clients may write before the next read
  return used;
}

RespSession::RespSession(Store& store, const ServerContext& context, size_t output_limit)
    : store_(store),
      context_(context),
      output_limit_(output_limit),
      parser_(resp::ParseOptions{
          .max_bulk_length = static_cast<int64_t>(context.max_item_size) + resp::kBulkLengthSlack}) {
  static std::atomic<uint64_t> next_id{1};
  client_.id = next_id.fetch_add(1, std::memory_order_relaxed);
  // As Redis's createClient: authenticated from the start when no
  // password is required at connect time.
  client_.authenticated = !context.runtime->requirepass.required();
  client_.output_limit = output_limit;
}

void RespSession::EndResponseObject(size_t reply_start, const std::string& out) {
  if (response_objects_ != nullptr && out.size() > reply_start) {
    response_objects_->push_back({out.size()});
  }
}

namespace {

bool IsGet(const resp::Command& command) {
  if (command.args.size() != 2 || command.args[0].size() != 3) return false;
  const std::string_view name = command.args[0];
  return (name[0] | 0x20) == 'g' && (name[1] | 0x20) == 'e' && (name[2] | 0x20) == 't';
}

// The writes of a plain SET, INCR, INCRBY, DECR, DECRBY or MSET, as
// their handlers would do them (proxy/commands/redis_strings.cc), appended
// to *writes, and the most its reply can take; 0 for any other command,
// or one whose handler answers an error before it writes.
size_t AppendBatchedWrites(const resp::Command& command, std::vector<BatchedWrite>* writes) {
  const auto& args = command.args;
  if (args.size() < 2) return 0;
  const std::string_view name = args[0];
  const auto is = [&](std::string_view want) { return resp::EqualsIgnoreCase(name, want); };
  constexpr size_t kOkReply = sizeof("+OK\r\n") - 1;
  constexpr size_t kIntegerReply = sizeof(":-9223372036854775808\r\n") - 1;
  if (args.size() == 3 && is("set")) {
    writes->push_back({BatchedWrite::kSet, args[1], args[2], 0, /*counts_expired_read=*/true});
    return kOkReply;
  }
  if (args.size() % 2 == 1 && is("mset")) {
    for (size_t i = 1; i < args.size(); i += 2) {
      writes->push_back({BatchedWrite::kSet, args[i], args[i + 1], 0, false});
    }
    return kOkReply;
  }
  int64_t delta = 0;
  if (args.size() == 2 && (is("incr") || is("decr"))) {
    delta = is("incr") ? 1 : -1;
  } else if (args.size() == 3 && (is("incrby") || is("decrby"))) {
    const auto parsed = ParseRedisInteger(args[2]);
    // Errors (not an integer, DECRBY's overflow) are the handler's.
    if (!parsed || (is("decrby") && *parsed == std::numeric_limits<int64_t>::min())) return 0;
    delta = is("decrby") ? -*parsed : *parsed;
  } else {
    return 0;
  }
  writes->push_back({BatchedWrite::kIncrBy, args[1], {}, delta, false});
  return kIntegerReply;
}

}  // namespace

void RespSession::WriteAheadRun(size_t out_size) {
  // Not inside MULTI (queued, not run) nor before AUTH (refused).
  if (client_.multi || !client_.authenticated) return;
  std::vector<BatchedWrite> writes;
  std::vector<size_t> ends;  // ends[j]: writes of the run's first j+1 commands
  // The output bound stops the session before a command once what it has
  // answered passes it: a run ends where that could happen, so every
  // command written ahead also replies in this turn.
  size_t projected = out_size;
  for (size_t i = ahead_next_; i < ahead_.size() && projected <= output_limit_; ++i) {
    const resp::ParseResult& r = ahead_[i];
    if (r.status != resp::ParseStatus::kCommand) break;
    const size_t reply_bytes = AppendBatchedWrites(r.command, &writes);
    if (reply_bytes == 0) break;
    projected += reply_bytes;
    ends.push_back(writes.size());
  }
  if (writes.empty()) return;
  std::vector<int64_t> numbers(writes.size());
  size_t done;
  {
    // Isolated from a running EXEC and SWAPDB, as each command would be.
    std::shared_lock<std::shared_mutex> isolated;
    if (context_.transactions != nullptr) {
      isolated = std::shared_lock<std::shared_mutex>(*context_.transactions);
    }
    Store* db_store = store_.Database(client_.db);
    done = (db_store != nullptr ? *db_store : store_).WriteMany(writes, numbers);
  }
  size_t begin = 0;
  for (size_t j = 0; j < ends.size() && begin < done; ++j) {
    const size_t end = ends[j];
    const size_t command_done = std::min(end, done) - begin;
    client_.write_ahead.Push({std::string(writes[begin].key), command_done, numbers[end - 1]});
    begin = end;
  }
  // The command the batch stopped before, none of whose writes were done,
  // runs on its own, not in a batch again (an MSET stopped part way goes
  // on by itself).
  size_t full = 0;  // commands of the run all done
  while (full < ends.size() && ends[full] <= done) ++full;
  if (full < ends.size() && done == (full == 0 ? 0 : ends[full - 1])) {
    write_alone_ = ahead_next_ + full;
  }
}

void RespSession::ReadAheadGets() {
  // Not inside MULTI (queued, not run) nor before AUTH (refused).
  if (client_.multi || !client_.authenticated) return;
  std::vector<std::string_view> keys;
  for (size_t i = ahead_next_; i < ahead_.size() && keys.size() < kReadAheadCommands; ++i) {
    const resp::ParseResult& r = ahead_[i];
    if (r.status != resp::ParseStatus::kCommand || !IsGet(r.command)) break;
    keys.push_back(r.command.args[1]);
  }
  if (keys.size() < 2) return;  // one GET gains nothing from a batch
  Store* db_store = store_.Database(client_.db);
  Store& store = db_store != nullptr ? *db_store : store_;
  std::vector<ReadAhead::Item> items;
  {
    // Isolated from a running EXEC, as each GET would be.
    std::shared_lock<std::shared_mutex> isolated;
    if (context_.transactions != nullptr) {
      isolated = std::shared_lock<std::shared_mutex>(*context_.transactions);
    }
    // The output bound caps what is read ahead too (GetMany stops past it).
    items = store.GetMany(keys, output_limit_ == kNoOutputLimit ? SIZE_MAX : output_limit_);
  }
  client_.read_ahead.Fill(std::vector<std::string>(keys.begin(), keys.end()), std::move(items));
}

bool RespSession::Unblock(std::string* out, bool timed_out) {
  if (!blocked()) return false;
  BlockingRoom& room = *context_.blocking;
  std::optional<std::string> reply =
      timed_out ? room.Cancel(*client_.parked) : room.Served(*client_.parked);
  if (!reply && !timed_out) return false;
  // Timed out first: the reply Redis's replyToBlockedClientTimedOut gives.
  out->append(reply ? *reply : resp::reply::kNullArray);
  client_.parked.reset();
  return true;
}

void RespSession::CancelBlocked() {
  if (!blocked()) return;
  (void)context_.blocking->Cancel(*client_.parked);
  client_.parked.reset();
}

size_t RespSession::Feed(std::string_view input, std::string* out) {
  paused_ = false;
  if (blocked()) return 0;  // the rest waits for the parked command's reply
  const size_t feed_start = out->size();  // replies to this read start here
  if (!client_.pending_mget.empty()) {
    if (!ContinueRespReply(store_, context_, client_, out)) {
      paused_ = true;  // an MGET's values still to come: the client has not drained
      return 0;
    }
    EndResponseObject(0, *out);  // the MGET's reply, begun in an earlier call, ends here
  }
  size_t used = 0, parsed = 0;  // bytes answered; bytes parsed (ahead of used)
  ahead_.clear();
  ahead_next_ = 0;
  while (!closing_) {
    // (Never between writes done ahead and their replies: a run ends
    // before the bound could stop it, WriteAheadRun.)
    if (out->size() > output_limit_ && client_.write_ahead.empty()) {
      paused_ = true;
      break;
    }
    if (ahead_next_ == ahead_.size()) {
      // Parse the complete commands at hand (a pipeline), up to a bound,
      // so a run of GETs can be read from the store in one call.
      ahead_.clear();
      ahead_next_ = 0;
      write_alone_ = SIZE_MAX;
      while (ahead_.size() < kReadAheadCommands && parsed < input.size()) {
        resp::ParseResult r = parser_.Parse(input.substr(parsed));
        if (r.status == resp::ParseStatus::kNeedMore) break;
        parsed += r.consumed;
        const bool error = r.status == resp::ParseStatus::kError;
        ahead_.push_back(std::move(r));
        if (error) break;
      }
      if (ahead_.empty()) break;
    }
    const resp::ParseResult& r = ahead_[ahead_next_];
    if (r.status == resp::ParseStatus::kCommand && IsGet(r.command)) {
      if (client_.read_ahead.empty()) ReadAheadGets();
    } else {
      client_.read_ahead.Clear();
      if (r.status == resp::ParseStatus::kCommand && client_.write_ahead.empty() &&
          ahead_next_ != write_alone_) {
        WriteAheadRun(out->size());
      }
    }
    ++ahead_next_;
    const size_t reply_start = out->size();
    if (r.status == resp::ParseStatus::kError) {
      out->append(r.error_reply);  // Redis closes after a protocol error
      closing_ = true;
      EndResponseObject(reply_start, *out);
      break;
    }
    used += r.consumed;
    if (r.status == resp::ParseStatus::kEmpty) continue;
    const AfterReply after = HandleResp(r.command.args, store_, context_, client_, out);
    if (after == AfterReply::kCloseDiscardingUnsent) {
      out->resize(feed_start);  // Redis frees the client before writing to it
      while (response_objects_ != nullptr && !response_objects_->empty() &&
             response_objects_->back().end > feed_start) {
        response_objects_->pop_back();
      }
      closing_ = true;
      break;
    }
    if (after == AfterReply::kClose) closing_ = true;
    if (blocked()) break;  // parked: no reply yet, and nothing after it runs
    if (!client_.pending_mget.empty()) {
      paused_ = true;  // the rest of this reply first
      break;
    }
    EndResponseObject(reply_start, *out);
  }
  client_.read_ahead.Clear();
  client_.write_ahead.Clear();  // empty: every write done ahead has replied
  // Commands parsed but not answered are parsed again from `used` next
  // time: the parser starts over there.
  if (ahead_next_ < ahead_.size() || (used < parsed)) parser_.StartOver();
  ahead_.clear();
  return used;
}

std::vector<std::string> HandleMemcacheDatagram(std::string_view datagram, Store& store,
                                                const ServerContext& context,
                                                const memcache::ParseOptions& options) {
  const auto header = memcache::ParseUdpFrameHeader(datagram);
  if (!header) return {};  // not even a frame: nothing to answer to
  std::string reply;
  std::vector<memcache::UdpResponseObject> objects;  // none: the whole reply is one
  if (context.memcache_auth != nullptr || context.memcache_sasl != nullptr) {
    reply = kMemcacheUnauthenticated;
  } else if (!memcache::IsSingleDatagramRequest(*header)) {
    reply = memcache::reply::kMultiPacket;
  } else {
    MemcacheSession session(store, context, options, kMaxUdpReplyBytes);
    session.RecordResponseObjects(&objects);
    const std::string_view body = datagram.substr(memcache::kUdpFrameHeaderSize);
    const size_t used = session.Feed(body, &reply);
    if (session.paused()) {
      // More to answer than one request may cause: memcached's words for a
      // reply it cannot hold, instead of any of it.
      reply = kUdpReplyTooBig;
      objects.clear();
    } else if (used < body.size() && !session.closing() && !session.binary()) {
      // A datagram is all there is: an incomplete request will never finish.
      // (Its ERROR, past the last object, is one more. memcached answers
      // an incomplete binary request with nothing.)
      reply.append(memcache::reply::kError);
    }
  }
  return memcache::FrameUdpReply(header->request_id, reply, objects);
}

std::vector<std::string> HandleRespDatagram(std::string_view datagram, Store& store,
                                            const ServerContext& context) {
  const auto header = memcache::ParseUdpFrameHeader(datagram);
  if (!header) return {};
  std::string reply;
  std::vector<memcache::UdpResponseObject> objects;  // none: the whole reply is one
  if (context.runtime->requirepass.required()) {
    reply = kRedisNoAuth;
  } else if (!memcache::IsSingleDatagramRequest(*header)) {
    resp::AppendError(&reply, "ERR multi-datagram requests are not supported");
  } else {
    RespSession session(store, context, kMaxUdpReplyBytes);
    session.RecordResponseObjects(&objects);
    const std::string_view body = datagram.substr(memcache::kUdpFrameHeaderSize);
    const size_t used = session.Feed(body, &reply);
    if (session.paused()) {
      // More than one request may cause: an error instead of any of it.
      reply = kRespUdpReplyTooBig;
      objects.clear();
    } else if (used < body.size() && !session.closing()) {
      resp::AppendError(&reply, "ERR Protocol error: incomplete request in datagram");
    }
  }
  return memcache::FrameUdpReply(header->request_id, reply, objects);
}

bool RespProtectedModeDenies(const ServerContext& context, const sockaddr_storage& peer) {
  const RuntimeConfig& runtime = *context.runtime;
  return runtime.protected_mode.load(std::memory_order_relaxed) && !runtime.requirepass.required() &&
         !IsLoopbackPeer(peer);
}

}  // namespace xdpkv
