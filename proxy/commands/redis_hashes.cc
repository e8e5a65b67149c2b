// Redis's hash family: HSET HMSET HSETNX HGET HMGET HDEL HEXISTS HLEN
// HSTRLEN HGETALL HKEYS HVALS HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN, with
// Redis 7.0's replies and errors. A hash is one item of type hash whose
// value is its encoding (proxy/typed_value.h), read and changed through
// redis_typed.h (one Store::Mutate per write).
#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocol/glob.h"
#include "protocol/values.h"
#include "proxy/commands/redis_family.h"
#include "proxy/commands/redis_typed.h"
#include "proxy/typed_value.h"

namespace xdpkv::redis {
namespace {

std::optional<HashValue> ReadHash(Call& call, std::string_view key, bool* failed) {
  return ReadTyped<HashValue>(call, key, failed);
}

template <typename Change>
bool MutateHash(Call& call, std::string_view key, Change change) {
  return MutateTyped<HashValue>(call, key, change);
}

// --- writes ----------------------------------------------------------------------

void HSet(Call& call) {
  if (call.args.size() % 2 == 1) {
    return call.Error(absl::StrCat("ERR wrong number of arguments for '",
                                   Is(call.args[0], "hmset") ? "hmset" : "hset", "' command"));
  }
  int64_t added = 0;
  const bool ok = MutateHash(call, call.args[1], [&](HashValue& hash) {
    added = 0;
    for (size_t i = 2; i + 1 < call.args.size(); i += 2) {
      added += hash.Set(call.args[i], call.args[i + 1]);
    }
    return true;
  });
  if (!ok) return;
  Is(call.args[0], "hmset") ? call.Ok() : call.Integer(added);
}

void HSetNx(Call& call) {
  bool set = false;
  const bool ok = MutateHash(call, call.args[1], [&](HashValue& hash) {
    set = hash.Find(call.args[2]) == nullptr;
    if (set) hash.Set(call.args[2], call.args[3]);
    return set;
  });
  if (ok) call.Integer(set);
}

void HDel(Call& call) {
  int64_t deleted = 0;
  const bool ok = MutateHash(call, call.args[1], [&](HashValue& hash) {
    deleted = 0;
    for (size_t i = 2; i < call.args.size(); ++i) deleted += hash.Erase(call.args[i]);
    return deleted > 0;
  });
  if (ok) call.Integer(deleted);
}

void HIncrBy(Call& call) {
  const auto delta = ParseRedisInteger(call.args[3]);
  if (!delta) return call.Error(kNotInteger);
  std::string_view error;
  int64_t result = 0;
  const bool ok = MutateHash(call, call.args[1], [&](HashValue& hash) {
    error = {};
    int64_t value = 0;
    if (const std::string* current = hash.Find(call.args[2])) {
      const auto parsed = ParseRedisInteger(*current);
      if (!parsed) {
        error = "ERR hash value is not an integer";
        return false;
      }
      value = *parsed;
    }
    if ((*delta < 0 && value < 0 && *delta < kInt64Min - value) ||
        (*delta > 0 && value > 0 && *delta > kInt64Max - value)) {
      error = "ERR increment or decrement would overflow";
      return false;
    }
    result = value + *delta;
    hash.Set(call.args[2], std::to_string(result));
    return true;
  });
  if (!ok) return;
  if (!error.empty()) return call.Error(error);
  call.Integer(result);
}

void HIncrByFloat(Call& call) {
  const auto delta = ParseRedisFloat(call.args[3]);
  if (!delta) return call.Error(kNotFloat);
  if (std::isinf(*delta)) return call.Error("ERR value is NaN or Infinity");
  std::string_view error;
  std::string result;
  const bool ok = MutateHash(call, call.args[1], [&](HashValue& hash) {
    error = {};
    long double value = 0;
    if (const std::string* current = hash.Find(call.args[2])) {
      const auto parsed = ParseRedisFloat(*current);
      if (!parsed) {
        error = "ERR hash value is not a float";
        return false;
      }
      value = *parsed;
    }
    value += *delta;
    if (std::isnan(value) || std::isinf(value)) {
      error = "ERR increment would produce NaN or Infinity";
      return false;
    }
    result = FormatRedisFloat(value);
    hash.Set(call.args[2], result);
    return true;
  });
  if (!ok) return;
  if (!error.empty()) return call.Error(error);
  call.Bulk(result);
}

// --- reads -----------------------------------------------------------------------

void HGet(Call& call) {
  bool failed;
  auto hash = ReadHash(call, call.args[1], &failed);
  if (failed) return;
  const std::string* value = hash ? hash->Find(call.args[2]) : nullptr;
  value ? call.Bulk(*value) : call.Null();
}

void HMGet(Call& call) {
  bool failed;
  auto hash = ReadHash(call, call.args[1], &failed);
  if (failed) return;
  resp::AppendArrayHeader(call.out, call.args.size() - 2);
  for (size_t i = 2; i < call.args.size(); ++i) {
    const std::string* value = hash ? hash->Find(call.args[i]) : nullptr;
    value ? call.Bulk(*value) : call.Null();
  }
}

void HExists(Call& call) {
  bool failed;
  auto hash = ReadHash(call, call.args[1], &failed);
  if (!failed) call.Integer(hash && hash->Find(call.args[2]) != nullptr);
}

void HLen(Call& call) {
  bool failed;
  auto hash = ReadHash(call, call.args[1], &failed);
  if (!failed) call.Integer(hash ? static_cast<int64_t>(hash->size()) : 0);
}

void HStrLen(Call& call) {
  bool failed;
  auto hash = ReadHash(call, call.args[1], &failed);
  if (failed) return;
  const std::string* value = hash ? hash->Find(call.args[2]) : nullptr;
  call.Integer(value ? static_cast<int64_t>(value->size()) : 0);
}

enum class Part { kFields, kValues, kBoth };

void AppendFields(Call& call, const std::optional<HashValue>& hash, Part part) {
  const size_t n = hash ? hash->size() : 0;
  resp::AppendArrayHeader(call.out, part == Part::kBoth ? 2 * n : n);
  if (!hash) return;
  for (const auto& [field, value] : hash->fields()) {
    if (part != Part::kValues) call.Bulk(field);
    if (part != Part::kFields) call.Bulk(value);
  }
}

template <Part part>
void HGetAllOrPart(Call& call) {
  bool failed;
  auto hash = ReadHash(call, call.args[1], &failed);
  if (!failed) AppendFields(call, hash, part);
}

// HRANDFIELD key [count [WITHVALUES]], as Redis 7.0's hrandfieldCommand:
// a positive count gives distinct fields (all of them when it is at least
// the size), a negative one that many picks with repeats.
void HRandField(Call& call) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::optional<int64_t> count;
  bool with_values = false;
  if (call.args.size() >= 3) {
    count = ParseRedisInteger(call.args[2]);
    if (!count) return call.Error(kNotInteger);
    if (call.args.size() == 4) {
      if (!Is(call.args[3], "withvalues")) return call.Error(kSyntax);
      with_values = true;
    } else if (call.args.size() > 4) {
      return call.Error(kSyntax);
    }
    if (*count < -(kInt64Max / 2) || *count > kInt64Max / 2) {
      return call.Error("ERR value is out of range");
    }
  }
  bool failed;
  auto hash = ReadHash(call, call.args[1], &failed);
  if (failed) return;
  if (!count) {
    if (!hash) return call.Null();
    const auto& fields = hash->fields();
    return call.Bulk(fields[random() % fields.size()].first);
  }
  std::vector<size_t> picks;
  const size_t n = hash ? hash->size() : 0;
  if (n > 0 && *count < 0) {
    if (static_cast<uint64_t>(-*count) > kMaxRandomReply) {
      return call.Error("ERR value is out of range");
    }
    for (int64_t i = 0; i < -*count; ++i) picks.push_back(random() % n);
  } else if (n > 0) {
    for (size_t i = 0; i < n; ++i) picks.push_back(i);
    std::shuffle(picks.begin(), picks.end(), random);
    if (static_cast<uint64_t>(*count) < n) picks.resize(static_cast<size_t>(*count));
  }
  resp::AppendArrayHeader(call.out, with_values ? 2 * picks.size() : picks.size());
  for (size_t i : picks) {
    call.Bulk(hash->fields()[i].first);
    if (with_values) call.Bulk(hash->fields()[i].second);
  }
}

// HSCAN key cursor [MATCH pattern] [COUNT count]: a hash is one value, so
// one step returns it all (Redis does the same for small hashes).
void HScan(Call& call) {
  const auto cursor = ParseRedisInteger(call.args[2]);
  if (!cursor || *cursor < 0) return call.Error("ERR invalid cursor");
  std::string_view pattern;
  for (size_t i = 3; i < call.args.size(); i += 2) {
    if (i + 1 >= call.args.size()) return call.Error(kSyntax);
    if (Is(call.args[i], "match")) {
      pattern = call.args[i + 1];
    } else if (Is(call.args[i], "count")) {
      const auto count = ParseRedisInteger(call.args[i + 1]);
      if (!count) return call.Error(kNotInteger);
      if (*count < 1) return call.Error(kSyntax);
    } else {
      return call.Error(kSyntax);
    }
  }
  bool failed;
  auto hash = ReadHash(call, call.args[1], &failed);
  if (failed) return;
  std::vector<const HashValue::Field*> matched;
  if (hash) {
    for (const auto& field : hash->fields()) {
      if (pattern.empty() || resp::GlobMatch(pattern, field.first)) matched.push_back(&field);
    }
  }
  resp::AppendArrayHeader(call.out, 2);
  call.Bulk("0");
  resp::AppendArrayHeader(call.out, 2 * matched.size());
  for (const auto* field : matched) {
    call.Bulk(field->first);
    call.Bulk(field->second);
  }
}

}  // namespace

void RegisterHashFamily(Registry* registry) {
  using namespace resp::CO;
  *registry << CI{"hset", kWrite | kDenyOom | kFast, -4, 1, 1}.Handle(HSet)
            << CI{"hmset", kWrite | kDenyOom | kFast, -4, 1, 1}.Handle(HSet)
            << CI{"hsetnx", kWrite | kDenyOom | kFast, 4, 1, 1}.Handle(HSetNx)
            << CI{"hdel", kWrite | kFast, -3, 1, 1}.Handle(HDel)
            << CI{"hincrby", kWrite | kDenyOom | kFast, 4, 1, 1}.Handle(HIncrBy)
            << CI{"hincrbyfloat", kWrite | kDenyOom | kFast, 4, 1, 1}.Handle(HIncrByFloat)
            << CI{"hget", kReadOnly | kFast, 3, 1, 1}.Handle(HGet)
            << CI{"hmget", kReadOnly | kFast, -3, 1, 1}.Handle(HMGet)
            << CI{"hexists", kReadOnly | kFast, 3, 1, 1}.Handle(HExists)
            << CI{"hlen", kReadOnly | kFast, 2, 1, 1}.Handle(HLen)
            << CI{"hstrlen", kReadOnly | kFast, 3, 1, 1}.Handle(HStrLen)
            << CI{"hgetall", kReadOnly, 2, 1, 1}.Handle(HGetAllOrPart<Part::kBoth>)
            << CI{"hkeys", kReadOnly, 2, 1, 1}.Handle(HGetAllOrPart<Part::kFields>)
            << CI{"hvals", kReadOnly, 2, 1, 1}.Handle(HGetAllOrPart<Part::kValues>)
            << CI{"hrandfield", kReadOnly, -2, 1, 1}.Handle(HRandField)
            << CI{"hscan", kReadOnly, -3, 1, 1}.Handle(HScan);
}

}  // namespace xdpkv::redis
