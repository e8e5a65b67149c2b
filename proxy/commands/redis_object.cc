// Redis's OBJECT: ENCODING REFCOUNT IDLETIME FREQ HELP (object.c). xdpkv
// keeps no objects, so what Redis would answer is worked out from the
// value: the encoding Redis 7.0 picks for it with its default thresholds,
// the refcount of its shared integers, the idle time from the item's
// recency. Where Redis's answer depends on the value's history rather
// than on the value (a string grown in place is "raw", a hash or sorted
// set once past a threshold stays a hash table or skiplist) xdpkv answers
// for the value as it is (docs/protocols.md).
#include <cstdint>
#include <optional>
#include <string_view>

#include "protocol/values.h"
#include "proxy/commands/redis_family.h"
#include "proxy/commands/redis_typed.h"
#include "proxy/typed_value.h"

namespace xdpkv::redis {
namespace {

// Redis 7.0's defaults: OBJ_ENCODING_EMBSTR_SIZE_LIMIT, hash- and
// zset-max-listpack-entries and -value, OBJ_SHARED_INTEGERS.
constexpr size_t kEmbstrMax = 44;
constexpr size_t kListpackEntries = 128;
constexpr size_t kListpackValue = 64;
constexpr int64_t kSharedIntegers = 10000;

// tryObjectEncoding's test: at most 20 bytes that string2l reads whole.
std::optional<int64_t> IntEncoded(std::string_view value) {
  if (value.size() > 20) return std::nullopt;
  return ParseRedisInteger(value);
}

std::string_view StringEncoding(std::string_view value) {
  if (IntEncoded(value)) return "int";
  return value.size() <= kEmbstrMax ? "embstr" : "raw";
}

bool Small(std::string_view s) { return s.size() <= kListpackValue; }

std::string_view Encoding(const StoredItem& item, bool* corrupt) {
  *corrupt = false;
  switch (item.type) {
    case ValueType::kString:
      return StringEncoding(item.value);
    case ValueType::kList:
      return "quicklist";  // Redis 7.0 keeps every list in one
    case ValueType::kSet: {
      auto set = SetValue::Decode(item.value);
      if (!set) break;
      return set->intset() ? "intset" : "hashtable";
    }
    case ValueType::kHash: {
      auto hash = HashValue::Decode(item.value);
      if (!hash) break;
      bool small = hash->size() <= kListpackEntries;
      for (const auto& [field, value] : hash->fields()) small &= Small(field) && Small(value);
      return small ? "listpack" : "hashtable";
    }
    case ValueType::kZSet: {
      auto zset = ZSetValue::Decode(item.value);
      if (!zset) break;
      bool small = zset->size() <= kListpackEntries;
      for (const auto& entry : zset->entries()) small &= Small(entry.member);
      return small ? "listpack" : "skiplist";
    }
  }
  *corrupt = true;
  return {};
}

// objectCommandLookupOrReply: the item, or nil (answered) when absent.
std::optional<StoredItem> Lookup(Call& call) {
  bool failed;
  // Redis's OBJECT looks without touching (LOOKUP_NOTOUCH): no hit counted.
  auto item = Read(call, call.args[2], &failed, /*count=*/false, /*touch=*/false);
  if (!failed && !item) call.Null();
  return item;
}

void ObjectEncoding(Call& call) {
  auto item = Lookup(call);
  if (!item) return;
  bool corrupt;
  const std::string_view encoding = Encoding(*item, &corrupt);
  corrupt ? call.Error(CorruptError(item->type)) : call.Bulk(encoding);
}

// Redis shares the integers 0..9999 (refcount INT_MAX) unless an LRU or
// LFU policy under a memory limit needs each value's own recency.
void ObjectRefcount(Call& call) {
  auto item = Lookup(call);
  if (!item) return;
  const MemoryReport memory = call.store.Memory();
  const bool per_value =
      memory.policy == EvictionPolicy::kAllKeysLru || memory.policy == EvictionPolicy::kVolatileLru ||
      IsLfu(memory.policy);
  const bool shares = memory.limit_bytes == 0 || !per_value;
  const auto n = item->type == ValueType::kString ? IntEncoded(item->value) : std::nullopt;
  call.Integer(shares && n && *n >= 0 && *n < kSharedIntegers ? 2147483647 : 1);
}

// Seconds since the item's recency (its last write, or hit as the store
// tracks them); under an LFU policy, Redis's refusal (it keeps one or the
// other).
void ObjectIdletime(Call& call) {
  auto item = Lookup(call);
  if (!item) return;
  if (IsLfu(call.store.Memory().policy)) {
    call.Error(
        "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
        "switching between policies at runtime LRU and LFU data will take some time to adjust.");
    return;
  }
  const uint64_t now_s = call.now_ms() / 1000;
  call.Integer(item->atime_s != 0 && now_s > item->atime_s
                   ? static_cast<int64_t>(now_s - item->atime_s)
                   : 0);
}

// The item's LFU counter, decayed to now, as it was before this read:
// only under an LFU policy, as Redis keeps it only then.
void ObjectFreq(Call& call) {
  auto item = Lookup(call);
  if (!item) return;
  if (!IsLfu(call.store.Memory().policy)) {
    call.Error(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
        "that when switching between policies at runtime LRU and LFU data will take some time to "
        "adjust.");
    return;
  }
  call.Integer(item->lfu);
}

void ObjectHelp(Call& call) {
  call.out->append(resp::HelpReply("object", Commands().Find("object")->help));
}

}  // namespace

void RegisterObjectFamily(Registry* registry) {
  using namespace resp::CO;  // NOLINT: the flags read as Redis's
  // The container's handler never runs: every call names a subcommand.
  *registry << CI{"object", 0, -2}
                   .Handle(ObjectHelp)
                   .Sub(CI{"encoding", kReadOnly, 3, 2, 2}.Handle(ObjectEncoding))
                   .Sub(CI{"freq", kReadOnly, 3, 2, 2}.Handle(ObjectFreq))
                   .Sub(CI{"help", kLoading | kStale, 2}.Handle(ObjectHelp))
                   .Sub(CI{"idletime", kReadOnly, 3, 2, 2}.Handle(ObjectIdletime))
                   .Sub(CI{"refcount", kReadOnly, 3, 2, 2}.Handle(ObjectRefcount))
                   .Help({
                       "ENCODING <key>",
                       "    Return the kind of internal representation used in order to store "
                       "the value",
                       "    associated with a <key>.",
                       "FREQ <key>",
                       "    Return the access frequency index of the <key>. The returned integer "
                       "is",
                       "    proportional to the logarithm of the recent access frequency of the "
                       "key.",
                       "IDLETIME <key>",
                       "    Return the idle time of the <key>, that is the approximated number of",
                       "    seconds elapsed since the last access to the key.",
                       "REFCOUNT <key>",
                       "    Return the number of references of the value associated with the "
                       "specified",
                       "    <key>.",
                   });
}

}  // namespace xdpkv::redis
