// Reading and changing a key that holds one of Redis's collections (a
// hash, list, set or sorted set; proxy/typed_value.h), shared by their
// families: a read decodes the item, a change is one Store::Mutate (decode,
// change, encode, compare-and-set), so every command is atomic against every
// other writer, the kernel's included. An emptied collection is deleted, as
// Redis deletes it; a key of another type answers WRONGTYPE.
#ifndef XDPKV_PROXY_COMMANDS_REDIS_TYPED_H_
#define XDPKV_PROXY_COMMANDS_REDIS_TYPED_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "protocol/values.h"
#include "proxy/commands/redis_family.h"
#include "proxy/typed_value.h"

namespace xdpkv::redis {

template <typename Value>
struct TypeOf;
template <>
struct TypeOf<HashValue> {
  static constexpr ValueType kType = ValueType::kHash;
};
template <>
struct TypeOf<ListValue> {
  static constexpr ValueType kType = ValueType::kList;
};
template <>
struct TypeOf<SetValue> {
  static constexpr ValueType kType = ValueType::kSet;
};
template <>
struct TypeOf<ZSetValue> {
  static constexpr ValueType kType = ValueType::kZSet;
};

inline std::string CorruptError(ValueType type) {
  return absl::StrCat("ERR stored ", Str(TypeName(type)), " is corrupt");
}
inline std::string TooBigError(ValueType type) {
  return absl::StrCat("ERR ", Str(TypeName(type)), " exceeds the largest value xdpkv stores (-I)");
}

// Decodes an item known to be of Value's type; answers and returns nullopt
// when it is corrupt.
template <typename Value>
std::optional<Value> DecodeItem(Call& call, const StoredItem& item, bool* failed) {
  auto value = Value::Decode(item.value);
  if (!value) {
    *failed = true;
    call.Error(CorruptError(TypeOf<Value>::kType));
  }
  return value;
}

// A read of `key` as a Value: nullopt when absent (an empty collection),
// or on an error already answered (*failed: WRONGTYPE, a store error, a
// corrupt value). `count`: false for Redis's lookups for writing (not
// counted as keyspace hits or misses).
template <typename Value>
std::optional<Value> ReadTyped(Call& call, std::string_view key, bool* failed, bool count = true) {
  auto item = Read(call, key, failed, count);
  if (*failed || !item) return std::nullopt;
  if (item->type != TypeOf<Value>::kType) {
    *failed = true;
    call.Error(kWrongType);
    return std::nullopt;
  }
  return DecodeItem<Value>(call, *item, failed);
}

// Changes the Value at `key` with `change(Value&) -> bool` (called with the
// current value, empty when absent, and perhaps more than once if another
// writer races it, so it must reset what it reports): when it returns true
// the value is written back, or the key deleted when it ends empty; false
// keeps the item as it is. Answers WRONGTYPE and store errors itself and
// returns false then.
template <typename Value, typename Change>
bool MutateTyped(Call& call, std::string_view key, Change change) {
  constexpr ValueType kType = TypeOf<Value>::kType;
  bool wrong_type = false, corrupt = false, too_big = false;
  auto mutated = call.store.Mutate(key, [&](const std::optional<StoredItem>& current) {
    wrong_type = corrupt = too_big = false;
    Value value;
    if (current) {
      if (current->type != kType) {
        wrong_type = true;
        return Mutation::Keep();
      }
      auto decoded = Value::Decode(current->value);
      if (!decoded) {
        corrupt = true;
        return Mutation::Keep();
      }
      value = std::move(*decoded);
    }
    if (!change(value)) return Mutation::Keep();
    if (value.empty()) return current ? Mutation::Delete() : Mutation::Keep();
    std::string encoded = value.Encode();
    if (encoded.size() > call.context.max_item_size) {
      too_big = true;
      return Mutation::Keep();
    }
    return Mutation::Rewrite(current, std::move(encoded), kType);
  });
  if (!mutated.ok()) {
    call.StoreError(mutated.status());
  } else if (wrong_type) {
    call.Error(kWrongType);
  } else if (corrupt) {
    call.Error(CorruptError(kType));
  } else if (too_big) {
    call.Error(TooBigError(kType));
  } else {
    return true;
  }
  return false;
}

// Replaces whatever `key` holds with `value` (no TTL), or deletes it when
// `value` is empty, as Redis's *STORE commands do (setKey / dbDelete).
// Answers store errors itself and returns false then.
template <typename Value>
bool StoreTyped(Call& call, std::string_view key, const Value& value) {
  constexpr ValueType kType = TypeOf<Value>::kType;
  if (value.empty()) {
    auto deleted = call.store.Delete(key);
    if (!deleted.ok() && !KeyOutOfRange(deleted.status())) {
      call.StoreError(deleted.status());
      return false;
    }
    return true;
  }
  std::string encoded = value.Encode();
  if (encoded.size() > call.context.max_item_size) {
    call.Error(TooBigError(kType));
    return false;
  }
  auto written = call.store.Mutate(
      key, [&](const std::optional<StoredItem>&) { return Mutation::Write(encoded, 0, 0, kType); });
  if (!written.ok()) {
    call.StoreError(written.status());
    return false;
  }
  return true;
}

// A key that holds something other than Value's type (lookupKeyWrite and
// checkType, for the destination of a two-key command): answers WRONGTYPE
// or a store error and returns true then.
template <typename Value>
bool DestinationRefused(Call& call, std::string_view key) {
  bool failed;
  auto item = Read(call, key, &failed, /*count=*/false);
  if (failed) return true;
  if (item && item->type != TypeOf<Value>::kType) {
    call.Error(kWrongType);
    return true;
  }
  return false;
}

// --- arguments as Redis's collection commands read them ---------------------------

// getLongFromObjectOrReply: an integer, or ERR not an integer.
inline std::optional<int64_t> IntegerArg(Call& call, std::string_view arg) {
  auto n = ParseRedisInteger(arg);
  if (!n) call.Error(kNotInteger);
  return n;
}

// getPositiveLongFromObjectOrReply: a non-negative integer; `message`
// (without "ERR ") for anything else.
inline std::optional<int64_t> NonNegativeArg(
    Call& call, std::string_view arg,
    std::string_view message = "value is out of range, must be positive") {
  auto n = ParseRedisInteger(arg);
  if (!n || *n < 0) {
    call.Error(absl::StrCat("ERR ", Str(message)));
    return std::nullopt;
  }
  return n;
}

// SRANDMEMBER's and ZRANDMEMBER's count outside -LONG_MAX..LONG_MAX.
inline constexpr std::string_view kCountOutOfRange =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
// Redis answers a random-member count of any size, repeats allowed (and
// runs out of memory for a huge one); xdpkv refuses more than this many
// ("ERR value is out of range", docs/protocols.md).
inline constexpr uint64_t kMaxRandomReply = uint64_t{1} << 24;

// Redis's parseScanCursorOrReply (strtoul: a sign is accepted, a leading
// space or trailing bytes are not).
std::optional<uint64_t> ScanCursorArg(Call& call, std::string_view arg);

// What SSCAN/ZSCAN's options leave to filter with (scanGenericCommand's
// COUNT and MATCH); nullopt after an error reply. Redis parses them after
// the key's lookup, so a missing key never sees them.
struct ScanOptions {
  std::optional<std::string> pattern;
};
std::optional<ScanOptions> ScanOptionsArgs(Call& call, size_t first);
// Whether a member passes MATCH.
bool ScanMatches(const ScanOptions& options, std::string_view member);

// Redis's empty SCAN reply ("0" and no elements).
inline void EmptyScan(Call& call) { call.out->append("*2\r\n$1\r\n0\r\n*0\r\n"); }

}  // namespace xdpkv::redis

#endif  // XDPKV_PROXY_COMMANDS_REDIS_TYPED_H_
