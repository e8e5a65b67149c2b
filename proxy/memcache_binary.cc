// memcached's binary protocol commands over the Store, answered as
// memcached 1.6.18's proto_bin.c answers them (compat-tests/binary_diff.py
// compares the bytes). The data commands go through the operations the
// text protocol uses (memcache_family.h), each outcome mapped to a status
// here; STAT renders the text protocol's `stats` reports as packets; SASL
// PLAIN is proxy/auth.h's. The request was checked by the parser
// (protocol/memcache_binary.h).
#include "protocol/memcache_binary.h"

#include "proxy/expiry.h"
#include "proxy/handlers.h"
#include "proxy/memcache_family.h"

namespace xdpkv {
namespace {

namespace bin = memcache::binary;
namespace family = memcache_family;
using bin::Opcode;
using bin::Status;
using Stats = ServerStats;

// memcached's words for a write it had no memory for (its out_of_memory(),
// "SERVER_ERROR " dropped as in binary).
constexpr std::string_view kNoMemoryForItem = "Out of memory allocating item";

std::string BigEndian(uint64_t value, size_t width) {
  std::string bytes(width, '\0');
  for (size_t i = 0; i < width; ++i) {
    bytes[width - 1 - i] = static_cast<char>((value >> (8 * i)) & 0xff);
  }
  return bytes;
}

// A success response to `request`: its opcode as sent (a quiet one stays
// quiet), its opaque.
void Success(std::string* out, const bin::Request& request, uint64_t cas,
             std::string_view extras = {}, std::string_view key = {}, std::string_view value = {}) {
  bin::AppendResponse(out, {.opcode = request.header.opcode,
                            .opaque = request.header.opaque,
                            .cas = cas,
                            .extras = extras,
                            .key = key,
                            .value = value});
}

// memcached writes an error with write_bin_error, which also sends what it
// holds (conn_mwrite).
BinaryReplied Failure(std::string* out, const bin::Request& request, Status status,
                      std::string_view text = {}) {
  bin::AppendError(out, request.header, status, text);
  return {.flushes = true};
}

// A store error memcached has no status for: out of memory, with the
// store's words.
BinaryReplied StoreFailure(std::string* out, const bin::Request& request,
                           const absl::Status& status) {
  return Failure(out, request, Status::kOutOfMemory, std::string(status.message()));
}

std::optional<uint64_t> ExpiresAt(int64_t exptime, const ServerContext& context) {
  return ExpiresAtMs(exptime, context.now_boot_ms(), context.unix_minus_boot_ms);
}

// GET GETK TOUCH GAT GATK and their quiet forms.
BinaryReplied Retrieve(const bin::Request& request, Store& store, const ServerContext& context,
                       std::string* out) {
  const Opcode command = request.command;
  const bool touch =
      command == Opcode::kTouch || command == Opcode::kGat || command == Opcode::kGatK;
  const bool with_key = command == Opcode::kGetK || command == Opcode::kGatK;
  Stats& stats = *context.stats;
  // As proto_bin.c: a touch counts as one, not as a get.
  Stats::Add(touch ? stats.cmd_touch : stats.cmd_get);
  auto read =
      family::ReadItem(store, request.key, touch,
                       touch ? ExpiresAt(request.expiration, context) : std::nullopt, context);
  if (!read.ok()) return StoreFailure(out, request, read.status());
  const std::optional<StoredItem>& item = *read;
  if (touch) {
    Stats::Add(item ? stats.touch_hits : stats.touch_misses);
  } else {
    Stats::Add(item ? stats.get_hits : stats.get_misses);
  }
  if (item) {
    const std::string flags = BigEndian(item->flags, 4);
    Success(out, request, family::ShownCas(item->cas, context), flags,
            with_key ? request.key : std::string_view(),
            command == Opcode::kTouch ? std::string_view() : std::string_view(item->value));
    return {};
  }
  if (request.quiet) return {};
  if (with_key) {
    // GETK's miss carries the key, and is not written as an error.
    bin::AppendResponse(out, {.opcode = request.header.opcode,
                              .status = Status::kKeyNotFound,
                              .opaque = request.header.opaque,
                              .key = request.key});
    return {};
  }
  return Failure(out, request, Status::kKeyNotFound);
}

// SET ADD REPLACE APPEND PREPEND and their quiet forms. A CAS in the header
// makes set, add and replace a cas (memcached's NREAD_CAS) and is checked
// by append and prepend; with -C memcached cannot keep it, and ignores it.
BinaryReplied Update(const bin::Request& request, Store& store, const ServerContext& context,
                     std::string* out) {
  family::StoreRequest store_request{.key = request.key,
                                     .data = request.value,
                                     .flags = request.flags,
                                     .exptime = request.expiration};
  switch (request.command) {
    case Opcode::kAdd:
      store_request.mode = family::StoreMode::kAdd;
      break;
    case Opcode::kReplace:
      store_request.mode = family::StoreMode::kReplace;
      break;
    case Opcode::kAppend:
      store_request.mode = family::StoreMode::kAppend;
      break;
    case Opcode::kPrepend:
      store_request.mode = family::StoreMode::kPrepend;
      break;
    default:
      break;
  }
  const uint64_t cas = request.header.cas;
  if (cas != 0 && context.memcache.cas_enabled) store_request.compare_cas = cas;
  const family::StoreResult result = family::StoreValue(store_request, store, context);
  switch (result.outcome) {
    case family::StoreOutcome::kStored:
      if (!request.quiet) Success(out, request, family::ShownCas(result.cas, context));
      return {};
    case family::StoreOutcome::kExists:
      return Failure(out, request, Status::kKeyExists);
    case family::StoreOutcome::kNotFound:
      return Failure(out, request, Status::kKeyNotFound);
    case family::StoreOutcome::kNotStored:
    case family::StoreOutcome::kTooLarge:
      // complete_update_bin's statuses for a write not made: by command.
      if (store_request.compare_cas) return Failure(out, request, Status::kNotStored);
      if (request.command == Opcode::kAdd) return Failure(out, request, Status::kKeyExists);
      if (request.command == Opcode::kReplace) return Failure(out, request, Status::kKeyNotFound);
      return Failure(out, request, Status::kNotStored);
    case family::StoreOutcome::kNoMemory:
      return Failure(out, request, Status::kOutOfMemory, kNoMemoryForItem);
    case family::StoreOutcome::kFailed:
      return StoreFailure(out, request, result.status);
  }
  return {};
}

BinaryReplied Delete(const bin::Request& request, Store& store, const ServerContext& context,
                     std::string* out) {
  absl::Status status;
  const std::optional<uint64_t> cas =
      request.header.cas != 0 ? std::optional<uint64_t>(request.header.cas) : std::nullopt;
  switch (family::DeleteItem(request.key, cas, store, context, &status)) {
    case family::DeleteOutcome::kDeleted:
      if (!request.quiet) Success(out, request, 0);
      return {};
    case family::DeleteOutcome::kNotFound:
      return Failure(out, request, Status::kKeyNotFound);
    case family::DeleteOutcome::kExists:
      return Failure(out, request, Status::kKeyExists);
    case family::DeleteOutcome::kFailed:
      return StoreFailure(out, request, status);
  }
  return {};
}

// INCREMENT DECREMENT and their quiet forms: an absent item is created with
// the initial value unless the expiration is 0xffffffff.
BinaryReplied Arithmetic(const bin::Request& request, Store& store, const ServerContext& context,
                         std::string* out) {
  constexpr uint32_t kNoCreate = 0xffffffff;
  family::DeltaRequest delta{
      .key = request.key, .incr = request.command == Opcode::kIncrement, .delta = request.delta};
  if (request.header.cas != 0) delta.compare_cas = request.header.cas;
  if (request.expiration != kNoCreate) {
    delta.create = family::DeltaRequest::Create{request.initial, request.expiration};
  }
  const family::DeltaResult result = family::ApplyDelta(delta, store, context);
  switch (result.outcome) {
    case family::DeltaOutcome::kDone:
    case family::DeltaOutcome::kCreated:
      if (!request.quiet) {
        Success(out, request, family::ShownCas(result.cas, context), {}, {},
                BigEndian(result.value, 8));
      }
      return {};
    case family::DeltaOutcome::kNotFound:
      return Failure(out, request, Status::kKeyNotFound);
    case family::DeltaOutcome::kExists:
      return Failure(out, request, Status::kKeyExists);
    case family::DeltaOutcome::kNonNumeric:
      return Failure(out, request, Status::kNonNumeric);
    case family::DeltaOutcome::kNotStored:
      return Failure(out, request, Status::kNotStored);
    case family::DeltaOutcome::kFailed:
      return StoreFailure(out, request, result.status);
  }
  return {};
}

BinaryReplied Flush(const bin::Request& request, Store& store, const ServerContext& context,
                    std::string* out) {
  // -F: refused as an auth error, and (unlike the text protocol) not counted.
  if (!context.memcache.flush_enabled) return Failure(out, request, Status::kAuthError);
  Stats::Add(context.stats->cmd_flush);
  const absl::Status flushed = family::FlushItems(request.expiration, store, context);
  if (!flushed.ok()) return StoreFailure(out, request, flushed);
  if (!request.quiet) Success(out, request, 0);
  return {};
}

// One stats packet: a name and its value; the empty one ends a report.
void StatPacket(std::string* out, const bin::Request& request, std::string_view name,
                std::string_view value) {
  bin::AppendResponse(out, {.opcode = static_cast<uint8_t>(Opcode::kStat),
                            .opaque = request.header.opaque,
                            .key = name,
                            .value = value});
}

// STAT: the key names the report as `stats <key>` does (memcached matches
// reset, settings and detail by prefix, the rest whole). The text report
// is rendered as packets: each `STAT <name> <value>` line one, END the
// empty one that ends it.
BinaryReplied Statistics(const bin::Request& request, Store& store, const ServerContext& context,
                         std::string* out) {
  const std::string_view key = request.key;
  memcache::Command command;
  command.op = memcache::Op::kStats;
  bool stat_lines = true;  // else: only the ending packet follows
  if (key.empty()) {
  } else if (key.starts_with("reset")) {
    command.args = {"reset"};
    stat_lines = false;
  } else if (key.starts_with("settings")) {
    command.args = {"settings"};
  } else if (key.starts_with("detail")) {
    const std::string_view sub = key.substr(6);
    if (sub.starts_with(" dump")) {
      command.args = {"detail", "dump"};
      std::string dump;
      family::Statistics(command, store, context, &dump);
      StatPacket(out, request, "detailed", dump);
      StatPacket(out, request, "", "");
      return {};
    }
    if (!sub.starts_with(" on") && !sub.starts_with(" off")) {
      return Failure(out, request, Status::kKeyNotFound);
    }
    command.args = {"detail", sub.starts_with(" on") ? "on" : "off"};
    stat_lines = false;
  } else if (key == "items" || key == "slabs" || key == "sizes") {
    command.args = {key};
  } else {
    return Failure(out, request, Status::kKeyNotFound);  // conns, cachedump: text only
  }
  std::string text;
  family::Statistics(command, store, context, &text);
  constexpr std::string_view kServerError = "SERVER_ERROR ";
  std::string_view rest = text;
  if (rest.starts_with(kServerError)) {
    // memcached's out_of_memory() answer, its prefix dropped.
    rest.remove_prefix(kServerError.size());
    return Failure(out, request, Status::kOutOfMemory, rest.substr(0, rest.find("\r\n")));
  }
  while (stat_lines && !rest.empty()) {
    const size_t end = rest.find("\r\n");
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 2);
    if (!line.starts_with("STAT ")) continue;  // END: the ending packet, below
    line.remove_prefix(5);
    const size_t space = line.find(' ');
    StatPacket(out, request, line.substr(0, space),
               space == std::string_view::npos ? std::string_view() : line.substr(space + 1));
  }
  StatPacket(out, request, "", "");
  return {};
}

// SASL_AUTH, SASL_STEP: each starts unauthenticated (memcached's
// init_sasl_conn); "continue" is sent at once.
BinaryReplied Sasl(const bin::Request& request, const ServerContext& context,
                   MemcacheSaslSession& sasl, std::string* out) {
  sasl.authenticated = false;
  const MemcacheAuthFile& users = *context.memcache_sasl;
  const MemcacheSaslState::Result result =
      request.command == Opcode::kSaslAuth ? sasl.exchange.Auth(request.key, request.value, users)
                                           : sasl.exchange.Step(request.value, users);
  switch (result) {
    case MemcacheSaslState::Result::kOk:
      sasl.authenticated = true;
      Stats::Add(context.stats->auth_cmds);
      Success(out, request, 0, {}, {}, "Authenticated");
      return {};
    case MemcacheSaslState::Result::kContinue:
      bin::AppendResponse(out, {.opcode = request.header.opcode,
                                .status = Status::kAuthContinue,
                                .opaque = request.header.opaque});
      return {.flushes = true};
    case MemcacheSaslState::Result::kFailed:
      Stats::Add(context.stats->auth_cmds);
      Stats::Add(context.stats->auth_errors);
      return Failure(out, request, Status::kAuthError);
  }
  return {};
}

}  // namespace

BinaryReplied HandleMemcacheBinary(const memcache::binary::Request& request, Store& store,
                                   const ServerContext& context, MemcacheSaslSession& sasl,
                                   std::string* out) {
  switch (request.command) {
    case Opcode::kGet:
    case Opcode::kGetK:
    case Opcode::kTouch:
    case Opcode::kGat:
    case Opcode::kGatK:
      return Retrieve(request, store, context, out);
    case Opcode::kSet:
    case Opcode::kAdd:
    case Opcode::kReplace:
    case Opcode::kAppend:
    case Opcode::kPrepend:
      return Update(request, store, context, out);
    case Opcode::kDelete:
      return Delete(request, store, context, out);
    case Opcode::kIncrement:
    case Opcode::kDecrement:
      return Arithmetic(request, store, context, out);
    case Opcode::kFlush:
      return Flush(request, store, context, out);
    case Opcode::kNoop:
      Success(out, request, 0);
      return {.flushes = true};  // NOOP sends what memcached holds
    case Opcode::kVersion:
      Success(out, request, 0, {}, {}, context.memcache_version);
      return {};
    case Opcode::kQuit:
      if (!request.quiet) Success(out, request, 0);
      return {.after = AfterReply::kClose, .flushes = true};
    case Opcode::kStat:
      return Statistics(request, store, context, out);
    case Opcode::kSaslListMechs:
      Success(out, request, 0, {}, {}, kMemcacheSaslMechanisms);
      return {};
    case Opcode::kSaslAuth:
    case Opcode::kSaslStep:
      return Sasl(request, context, sasl, out);
    default:
      break;  // the parser answers every other opcode
  }
  return Failure(out, request, Status::kUnknownCommand);
}

}  // namespace xdpkv
