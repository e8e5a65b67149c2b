// memcached 1.6.18's meta commands (mg ms md ma mn me) over the Store, with
// its replies byte for byte (compat-tests/meta_diff.py). The flags are
// checked by the parser (protocol/memcache_text.cc, ParseMeta); what a
// reply echoes is walked here in request order, as memcached walks it,
// applying T/N/R/... where it meets them. Per-item flags (fetched, stale,
// won) are the item's mc_bits (docs/protocols.md, "Meta commands").
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "protocol/base64.h"
#include "protocol/values.h"
#include "proxy/expiry.h"
#include "proxy/memcache_family.h"
#include "proxy/store_layout.h"

namespace xdpkv::memcache_family {
namespace {

namespace mc = memcache;
using Stats = ServerStats;

constexpr std::string_view kOpaqueTooLong = "CLIENT_ERROR opaque token too long\r\n";
// Where a reply shows a CAS unique that only the write about to be made
// gives: filled in once the store has written (Fill).
constexpr std::string_view kNewCas = "\x01new-cas\x01";

// An exptime as memcached's realtime(): nullopt for "never" (0), else the
// store's expiry in boot ms (one in the past for negative values).
std::optional<uint64_t> ExpiryFor(int32_t exptime, const ServerContext& context) {
  if (exptime == 0) return std::nullopt;
  const auto at = ExpiresAtMs(exptime, context.now_boot_ms(), context.unix_minus_boot_ms);
  return at ? *at : 1;  // 1 ms after boot: long past
}

uint64_t ExpiresAtMsOf(int32_t exptime, const ServerContext& context) {
  return ExpiryFor(exptime, context).value_or(0);
}

bool IsPast(uint64_t expires_at_ms, const ServerContext& context) {
  return expires_at_ms != 0 && expires_at_ms <= context.now_boot_ms();
}

// Seconds of TTL left, as memcached's t flag (exptime - current_time):
// -1 for none, rounded up (memcached's clock ticks whole seconds).
std::string TtlLeft(uint64_t expires_at_ms, const ServerContext& context) {
  if (expires_at_ms == 0) return "-1";
  const uint64_t now = context.now_boot_ms();
  return absl::StrCat(expires_at_ms > now ? (expires_at_ms - now + 999) / 1000 : 0);
}

uint64_t SecondsSince(uint32_t atime_s, const ServerContext& context) {
  const uint64_t now_s = context.now_boot_ms() / 1000;
  return now_s > atime_s ? now_s - atime_s : 0;
}

// A key as the k flag returns it: base64 and " b" for a binary key.
std::string KeyToken(std::string_view key, bool binary) {
  return binary ? absl::StrCat(" k", Base64Encode(key), " b") : absl::StrCat(" k", std::string(key));
}

uint64_t ShownCas(uint64_t cas, const ServerContext& context) {
  return context.memcache.cas_enabled ? cas : 0;
}

// Replaces the kNewCas mark with the CAS unique the write gave.
void Fill(std::string* reply, uint64_t cas) {
  const size_t at = reply->find(kNewCas);
  if (at != std::string::npos) reply->replace(at, kNewCas.size(), absl::StrCat(cas));
}

// The O and k flags of a reply that has no item (a miss, NF, EX, NS).
// False when an opaque token is too long.
bool EchoFlags(const mc::Command& command, std::string* reply) {
  for (std::string_view token : command.meta.tokens) {
    if (token[0] == 'O') {
      if (token.size() > mc::kMaxOpaqueToken) return false;
      absl::StrAppend(reply, " ", std::string(token));
    } else if (token[0] == 'k') {
      reply->append(KeyToken(command.key(), command.key_binary));
    }
  }
  return true;
}

// --- mg ----------------------------------------------------------------------------

AfterReply MetaGet(const mc::Command& command, Store& store, const ServerContext& context,
                   std::string* out) {
  const mc::MetaFlags& f = command.meta;
  const std::string_view key = command.key();
  std::string reply;
  bool hit = false, created = false, ttl_set = false, opaque_error = false;
  auto mutated = store.Mutate(key, [&](const std::optional<StoredItem>& current) -> Mutation {
    reply.clear();
    hit = created = ttl_set = opaque_error = false;
    std::optional<StoredItem> item = memcache_family::StringOnly(current);
    if (!item && f.vivify_ttl) {
      // N: an empty stub, as memcached's; its TTL is set where N is met.
      item = StoredItem{};
      created = true;
    }
    if (!item) {
      reply = "EN";
      opaque_error = !EchoFlags(command, &reply);
      reply.append("\r\n");
      return Mutation::Keep();
    }
    hit = true;
    uint64_t expires = item->expires_at_ms;
    uint32_t bits = item->mc_bits;
    bool won = false;
    reply = f.value ? absl::StrCat("VA ", item->value.size()) : std::string("HD");
    for (std::string_view token : f.tokens) {
      switch (token[0]) {
        case 'T':
          ttl_set = true;
          expires = ExpiresAtMsOf(*f.ttl, context);
          break;
        case 'N':
          if (created) {
            expires = ExpiresAtMsOf(*f.vivify_ttl, context);
            won = true;
          }
          break;
        case 'R':
          // A TTL left below the token's wins the recache, once.
          if ((bits & XDPKV_MC_TOKEN_SENT) == 0 && !created && expires != 0 &&
              expires < ExpiresAtMsOf(*f.recache_ttl, context)) {
            won = true;
          }
          break;
        case 's':
          absl::StrAppend(&reply, " s", item->value.size());
          break;
        case 't':
          absl::StrAppend(&reply, " t", TtlLeft(expires, context));
          break;
        case 'c':
          if (created) {
            absl::StrAppend(&reply, " c", std::string(kNewCas));
          } else {
            absl::StrAppend(&reply, " c", ShownCas(item->cas, context));
          }
          break;
        case 'f':
          absl::StrAppend(&reply, " f", item->flags);
          break;
        case 'l':
          absl::StrAppend(&reply, " l", created ? 0 : SecondsSince(item->atime_s, context));
          break;
        case 'h':
          absl::StrAppend(&reply, " h", (bits & XDPKV_MC_FETCHED) ? 1 : 0);
          break;
        case 'O':
          if (token.size() > mc::kMaxOpaqueToken) opaque_error = true;
          absl::StrAppend(&reply, " ", std::string(token));
          break;
        case 'k':
          reply.append(KeyToken(key, bits & XDPKV_MC_KEY_BINARY));
          break;
      }
      if (opaque_error) break;  // memcached stops here, what came before done
    }
    if (!opaque_error) {
      // Z: another client holds the win; X: stale, which wins if no one has.
      if (bits & XDPKV_MC_TOKEN_SENT) reply.append(" Z");
      if (bits & XDPKV_MC_STALE) {
        reply.append(" X");
        if ((bits & XDPKV_MC_TOKEN_SENT) == 0) won = true;
      }
      if (won) {
        reply.append(" W");
        bits |= XDPKV_MC_TOKEN_SENT;
      }
      reply.append("\r\n");
      if (f.value) absl::StrAppend(&reply, item->value, "\r\n");
    }
    // memcached's bump (not with u): after it answers when a flag made it
    // lock the item (N T R l h), so not after an error; else before.
    const bool locked = f.vivify_ttl || f.ttl || f.recache_ttl || f.Has('l') || f.Has('h');
    bool activates = false;
    if (!f.no_bump && !(opaque_error && locked)) bits = FetchedBits(bits, &activates);
    if (created) {
      if (IsPast(expires, context)) return Mutation::Delete();
      return Mutation::Write("", 0, expires, ValueType::kString, bits);
    }
    if (ttl_set) {
      if (IsPast(expires, context)) return Mutation::Delete();
      Mutation m = Mutation::Touch(*item, expires);
      m.mc_bits = bits;
      m.keep_atime = !activates;
      return m;
    }
    if (bits != item->mc_bits) return Mutation::Meta(bits, /*keep_atime=*/!activates);
    return Mutation::Keep();
  });
  if (!mutated.ok()) {
    absl::StrAppend(out, "SERVER_ERROR ", std::string(mutated.status().message()), "\r\n");
    return AfterReply::kContinue;
  }
  if (*mutated) Fill(&reply, ShownCas(**mutated, context));
  Stats& stats = *context.stats;
  if (created && *mutated) Stats::Add(stats.total_items);
  if (!hit) {
    Stats::Add(stats.cmd_get);
    Stats::Add(stats.get_misses);
  } else if (!opaque_error) {
    Stats::Add(ttl_set ? stats.cmd_touch : stats.cmd_get);
    Stats::Add(ttl_set ? stats.touch_hits : stats.get_hits);
  }
  if (opaque_error) {
    out->append(kOpaqueTooLong);
  } else if (hit || !f.quiet) {  // q: no EN
    out->append(reply);
  }
  return AfterReply::kContinue;
}

// --- ms ----------------------------------------------------------------------------

enum class Stored { kStored, kNotStored, kExists, kNotFound };

AfterReply MetaSet(const mc::Command& command, Store& store, const ServerContext& context,
                   std::string* out) {
  const mc::MetaFlags& f = command.meta;
  const std::string_view key = command.key();
  Stats& stats = *context.stats;
  Stats::Add(stats.cmd_set);
  // M: add (E), append (A), prepend (P), replace (R), set (S); a C token
  // makes set and replace a cas.
  const char mode = f.mode == 0 ? 'S' : f.mode;
  const bool cas_command = f.compare_cas && (mode == 'S' || mode == 'R');
  // -C: an item cannot carry the CAS asked for (memcached's ITEM_set_cas
  // does nothing), so it compares as none.
  const uint64_t asked_cas = context.memcache.cas_enabled ? f.compare_cas.value_or(0) : 0;
  const auto expires = ExpiryFor(f.ttl.value_or(0), context);
  Stored outcome = Stored::kNotStored;
  bool stale = false;
  auto mutated = store.Mutate(key, [&](const std::optional<StoredItem>& any_type) -> Mutation {
    const std::optional<StoredItem> current = memcache_family::StringOnly(any_type);
    outcome = Stored::kNotStored;
    stale = false;
    const uint32_t bits = command.key_binary ? XDPKV_MC_KEY_BINARY : 0;
    auto write = [&](std::string value, uint32_t flags, std::optional<uint64_t> at, uint32_t mc_bits) {
      outcome = Stored::kStored;
      // Stored and already expired (a negative T): nothing may be read back.
      if (at && IsPast(*at, context)) return Mutation::Delete();
      return Mutation::Write(std::move(value), flags, at.value_or(0), ValueType::kString, mc_bits);
    };
    if (!current) {
      if (cas_command) {
        outcome = Stored::kNotFound;
        return Mutation::Keep();
      }
      if (mode == 'S' || mode == 'E') {
        return write(std::string(command.data), f.client_flags, expires, bits);
      }
      return Mutation::Keep();  // replace, append, prepend need an item
    }
    const uint64_t old_cas = ShownCas(current->cas, context);
    enum { kNone, kMatch, kStale, kBad } cas_result = kNone;
    if (asked_cas == 0) {
      cas_result = kNone;
    } else if (asked_cas == old_cas) {
      cas_result = kMatch;
    } else if (f.invalidate && cas_command && asked_cas < old_cas) {
      cas_result = kStale;
    } else {
      cas_result = kBad;
    }
    switch (mode) {
      case 'E':
        return Mutation::Keep();  // add: it exists
      case 'A':
      case 'P': {
        if (cas_result != kNone && cas_result != kMatch) {
          outcome = Stored::kExists;
          return Mutation::Keep();
        }
        if (current->value.size() + command.data.size() > context.max_item_size) {
          return Mutation::Keep();  // memcached cannot allocate it: NS
        }
        std::string value = mode == 'A' ? absl::StrCat(current->value, std::string(command.data))
                                        : absl::StrCat(std::string(command.data), current->value);
        // A new item: the old one's flags and expiry.
        return write(std::move(value), current->flags,
                     current->expires_at_ms == 0 ? std::nullopt
                                                 : std::optional<uint64_t>(current->expires_at_ms),
                     0);
      }
      default:
        break;
    }
    if (cas_command) {
      if (cas_result == kMatch) return write(std::string(command.data), f.client_flags, expires, bits);
      if (cas_result == kStale) {
        // An older CAS with I: stored, but stale, keeping the TTL and the
        // win already handed out.
        stale = true;
        return write(std::string(command.data), f.client_flags,
                     current->expires_at_ms == 0
                         ? std::nullopt
                         : std::optional<uint64_t>(current->expires_at_ms),
                     bits | XDPKV_MC_STALE | (current->mc_bits & XDPKV_MC_TOKEN_SENT));
      }
      outcome = Stored::kExists;
      return Mutation::Keep();
    }
    return write(std::string(command.data), f.client_flags, expires, bits);  // set, replace
  });
  if (!mutated.ok()) {
    // As memcached: a write that cannot be stored unlinks the old value.
    (void)store.Delete(key);
    if (mutated.status().code() == absl::StatusCode::kResourceExhausted) {
      Stats::Add(stats.store_no_memory);
      out->append(mc::reply::kOutOfMemory);
    } else {
      absl::StrAppend(out, "SERVER_ERROR ", std::string(mutated.status().message()), "\r\n");
    }
    return AfterReply::kContinue;
  }
  if (cas_command) {
    if (outcome == Stored::kStored) Stats::Add(stats.cas_hits);
    if (outcome == Stored::kExists) Stats::Add(stats.cas_badval);
    if (outcome == Stored::kNotFound) Stats::Add(stats.cas_misses);
  }
  if (outcome == Stored::kStored) Stats::Add(stats.total_items);
  if (outcome == Stored::kStored && f.quiet) return AfterReply::kContinue;  // q: no HD
  static constexpr std::string_view kCodes[] = {"HD", "NS", "EX", "NF"};
  out->append(kCodes[static_cast<int>(outcome)]);
  for (std::string_view token : f.tokens) {
    if (token[0] == 'O') {
      absl::StrAppend(out, " ", std::string(token));
    } else if (token[0] == 'k') {
      out->append(KeyToken(key, command.key_binary));
    } else if (token[0] == 'c') {
      // The CAS the write gave; 0 when nothing was stored.
      const uint64_t cas = outcome == Stored::kStored && *mutated ? **mutated : 0;
      absl::StrAppend(out, " c", ShownCas(cas, context));
    }
  }
  out->append("\r\n");
  return AfterReply::kContinue;
}

// --- md ----------------------------------------------------------------------------

AfterReply MetaDelete(const mc::Command& command, Store& store, const ServerContext& context,
                      std::string* out) {
  const mc::MetaFlags& f = command.meta;
  enum { kDeleted, kNotFound, kExists } outcome = kNotFound;
  auto mutated = store.Mutate(command.key(), [&](const std::optional<StoredItem>& any_type) {
    const std::optional<StoredItem> current = memcache_family::StringOnly(any_type);
    outcome = kNotFound;
    if (!current) return Mutation::Keep();
    if (f.compare_cas && ShownCas(current->cas, context) != *f.compare_cas) {
      outcome = kExists;
      return Mutation::Keep();
    }
    outcome = kDeleted;
    if (!f.invalidate) return Mutation::Delete();
    // I: kept, but stale, under a new CAS, its win given back; T sets its TTL.
    const uint64_t expires =
        f.ttl ? ExpiresAtMsOf(*f.ttl, context) : current->expires_at_ms;
    if (IsPast(expires, context)) return Mutation::Delete();
    Mutation m = Mutation::Write(current->value, current->flags, expires, current->type,
                                 (current->mc_bits | XDPKV_MC_STALE) & ~XDPKV_MC_TOKEN_SENT);
    m.keep_atime = true;
    return m;
  });
  if (!mutated.ok()) {
    absl::StrAppend(out, "SERVER_ERROR ", std::string(mutated.status().message()), "\r\n");
    return AfterReply::kContinue;
  }
  Stats& stats = *context.stats;
  if (outcome == kDeleted && !f.invalidate) Stats::Add(stats.delete_hits);
  if (outcome != kDeleted) Stats::Add(stats.delete_misses);
  if (outcome == kDeleted && f.quiet) return AfterReply::kContinue;  // q: no HD
  std::string reply = outcome == kDeleted ? "HD" : outcome == kExists ? "EX" : "NF";
  EchoFlags(command, &reply);  // opaque tokens were checked by the parser
  absl::StrAppend(out, reply, "\r\n");
  return AfterReply::kContinue;
}

// --- ma ----------------------------------------------------------------------------

AfterReply MetaArithmetic(const mc::Command& command, Store& store, const ServerContext& context,
                          std::string* out) {
  const mc::MetaFlags& f = command.meta;
  const bool incr = f.mode != 'D' && f.mode != '-';
  enum { kDone, kCreated, kNotFound, kExists, kNonNumeric } outcome = kNotFound;
  std::string number;  // the new value, unpadded
  uint64_t expires = 0, expires_before = 0;
  bool in_place = true;
  const uint64_t asked_cas = context.memcache.cas_enabled ? f.compare_cas.value_or(0) : 0;
  auto mutated = store.Mutate(command.key(), [&](const std::optional<StoredItem>& any_type) {
    const std::optional<StoredItem> current = memcache_family::StringOnly(any_type);
    outcome = kNotFound;
    if (!current) {
      if (!f.vivify_ttl) return Mutation::Keep();
      // N: created with J's value (no TTL until N is met below).
      outcome = kCreated;
      number = absl::StrCat(f.initial);
      expires = 0;
    } else {
      // memcached's order: an empty value is no number, then the CAS,
      // then the digits.
      if (current->value.empty()) {
        outcome = kNonNumeric;
        return Mutation::Keep();
      }
      if (asked_cas != 0 && ShownCas(current->cas, context) != asked_cas) {
        outcome = kExists;
        return Mutation::Keep();
      }
      const auto value = ParseMemcacheCounter(current->value);
      if (!value) {
        outcome = kNonNumeric;
        return Mutation::Keep();
      }
      outcome = kDone;
      const uint64_t result =
          incr ? *value + f.delta : (*value > f.delta ? *value - f.delta : 0);
      number = absl::StrCat(result);
      expires = current->expires_at_ms;
    }
    expires_before = expires;  // what t shows until T or N is met
    for (std::string_view token : f.tokens) {
      if (token[0] == 'T') expires = ExpiresAtMsOf(*f.ttl, context);
      if (token[0] == 'N' && outcome == kCreated) expires = ExpiresAtMsOf(*f.vivify_ttl, context);
    }
    if (IsPast(expires, context)) return Mutation::Delete();
    if (outcome == kCreated) return Mutation::Write(number, 0, expires);
    // memcached rewrites a number that still fits in place (padded with
    // spaces, the item's flags kept), else makes a new item.
    std::string text = number;
    in_place = text.size() <= current->value.size();
    if (in_place) text.resize(current->value.size(), ' ');
    Mutation m = Mutation::Rewrite(current, std::move(text), ValueType::kString, in_place);
    m.expires_at_ms = expires;
    return m;
  });
  if (!mutated.ok()) {
    absl::StrAppend(out, "SERVER_ERROR ", std::string(mutated.status().message()), "\r\n");
    return AfterReply::kContinue;
  }
  Stats& stats = *context.stats;
  if (outcome == kNonNumeric) {
    out->append(mc::reply::kNonNumeric);
    return AfterReply::kContinue;
  }
  if (outcome == kNotFound) Stats::Add(incr ? stats.incr_misses : stats.decr_misses);
  if (outcome == kDone) Stats::Add(incr ? stats.incr_hits : stats.decr_hits);
  // A new item (created, or a number grown out of its old one) is one more.
  if (outcome == kCreated || (outcome == kDone && !in_place)) Stats::Add(stats.total_items);
  std::string reply;
  if (outcome == kNotFound || outcome == kExists) {
    reply = outcome == kNotFound ? "NF" : "EX";
    if (!EchoFlags(command, &reply)) {
      out->append(kOpaqueTooLong);
      return AfterReply::kContinue;
    }
    absl::StrAppend(out, reply, "\r\n");
    return AfterReply::kContinue;
  }
  // q hides a nominal HD (memcached: the increment's, not a creation's).
  if (outcome == kDone && f.quiet) {
    for (std::string_view token : f.tokens) {
      if (token[0] == 'O' && token.size() > mc::kMaxOpaqueToken) out->append(kOpaqueTooLong);
    }
    return AfterReply::kContinue;
  }
  reply = f.value ? absl::StrCat("VA ", number.size()) : std::string("HD");
  uint64_t shown_expiry = expires_before;
  for (std::string_view token : f.tokens) {
    switch (token[0]) {
      case 'c':
        absl::StrAppend(&reply, " c", ShownCas(mutated->value_or(0), context));
        break;
      case 't':
        absl::StrAppend(&reply, " t", TtlLeft(shown_expiry, context));
        break;
      case 'T':
        shown_expiry = ExpiresAtMsOf(*f.ttl, context);
        break;
      case 'N':
        if (outcome == kCreated) shown_expiry = ExpiresAtMsOf(*f.vivify_ttl, context);
        break;
      case 'O':
        if (token.size() > mc::kMaxOpaqueToken) {
          out->append(kOpaqueTooLong);  // after the write, as memcached
          return AfterReply::kContinue;
        }
        absl::StrAppend(&reply, " ", std::string(token));
        break;
      case 'k':
        reply.append(KeyToken(command.key(), command.key_binary));
        break;
    }
  }
  absl::StrAppend(out, reply, "\r\n");
  if (f.value) absl::StrAppend(out, number, "\r\n");
  return AfterReply::kContinue;
}

// --- me ----------------------------------------------------------------------------

AfterReply MetaDebug(const mc::Command& command, Store& store, const ServerContext& context,
                     std::string* out) {
  ServerStats::Add(context.stats->cmd_meta);  // memcached counts me alone as cmd_meta
  auto item = store.Get(command.key());  // no bump, as memcached's
  if (item.ok()) *item = memcache_family::StringOnly(*item);
  if (!item.ok()) {
    absl::StrAppend(out, "SERVER_ERROR ", std::string(item.status().message()), "\r\n");
    return AfterReply::kContinue;
  }
  if (!item->has_value()) {
    out->append("EN\r\n");
    return AfterReply::kContinue;
  }
  const StoredItem& it = **item;
  const std::string_view key = command.key();
  const bool cas = context.memcache.cas_enabled;
  const bool binary = it.mc_bits & XDPKV_MC_KEY_BINARY;
  // exp: memcached's current_time - exptime, the TTL left as a negative.
  const std::string exp = it.expires_at_ms == 0 ? "-1" : absl::StrCat("-", TtlLeft(it.expires_at_ms, context));
  absl::StrAppend(out, "ME ", binary ? Base64Encode(key) : std::string(key), " exp=", exp,
                  " la=", SecondsSince(it.atime_s, context), " cas=", ShownCas(it.cas, context),
                  " fetch=", (it.mc_bits & XDPKV_MC_FETCHED) ? "yes" : "no",
                  " cls=", SlabClassOf(key.size(), it.value.size(), it.flags, cas),
                  " size=", ItemTotalSize(key.size(), it.value.size(), it.flags, cas), "\r\n");
  return AfterReply::kContinue;
}

}  // namespace

AfterReply Meta(const mc::Command& command, Store& store, const ServerContext& context,
                std::string* out) {
  switch (command.op) {
    case mc::Op::kMetaGet:
      return MetaGet(command, store, context, out);
    case mc::Op::kMetaSet:
      return MetaSet(command, store, context, out);
    case mc::Op::kMetaDelete:
      return MetaDelete(command, store, context, out);
    case mc::Op::kMetaArithmetic:
      return MetaArithmetic(command, store, context, out);
    case mc::Op::kMetaDebug:
      return MetaDebug(command, store, context, out);
    case mc::Op::kMetaNoop:
    default:
      out->append("MN\r\n");
      return AfterReply::kContinue;
  }
}

}  // namespace xdpkv::memcache_family
