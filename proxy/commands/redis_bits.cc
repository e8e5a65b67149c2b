// Redis's bit commands on strings: SETBIT GETBIT BITCOUNT BITPOS BITOP
// BITFIELD BITFIELD_RO, with Redis 7.0's replies and errors (bitops.c).
// A write is one Store::Mutate of the string (grown with zero bytes as
// Redis grows it), so it is atomic against every other writer, the
// kernel's included. Offsets are bounded by the largest value xdpkv
// stores (-I, 1 MiB by default) where Redis bounds them by
// proto-max-bulk-len (512 MiB): past it, Redis's own error for an offset
// out of range (docs/protocols.md).
#include <algorithm>
#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocol/values.h"
#include "proxy/commands/redis_family.h"

namespace xdpkv::redis {
namespace {

constexpr std::string_view kBadOffset = "ERR bit offset is not an integer or out of range";
constexpr std::string_view kBadBit = "ERR bit is not an integer or out of range";
constexpr std::string_view kBadBitfieldType =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but "
    "i64 is.";

// Redis's getBitOffsetFromArgument: a bit offset, or "#n" (with `bits`
// > 0, BITFIELD's form: n times the field's width). Bounded by the
// largest value: its last byte must fit.
std::optional<uint64_t> BitOffsetArg(Call& call, std::string_view arg, int bits = 0) {
  const bool hash = bits > 0 && !arg.empty() && arg[0] == '#';
  auto n = ParseRedisInteger(hash ? arg.substr(1) : arg);
  if (!n) {
    call.Error(kBadOffset);
    return std::nullopt;
  }
  // As Redis's `loffset *= bits`: two's complement wrap-around.
  int64_t offset = hash ? static_cast<int64_t>(static_cast<uint64_t>(*n) * bits) : *n;
  if (offset < 0 || static_cast<uint64_t>(offset >> 3) >= call.context.max_item_size) {
    call.Error(kBadOffset);
    return std::nullopt;
  }
  return static_cast<uint64_t>(offset);
}

// Bit `offset` of `bytes`, counted from the first byte's most significant
// bit; 0 past the end.
bool BitAt(std::string_view bytes, uint64_t offset) {
  const uint64_t byte = offset >> 3;
  if (byte >= bytes.size()) return false;
  return (static_cast<uint8_t>(bytes[byte]) >> (7 - (offset & 7))) & 1;
}

void SetBit(Call& call) {
  const auto offset = BitOffsetArg(call, call.args[2]);
  if (!offset) return;
  const auto on = ParseRedisInteger(call.args[3]);
  if (!on || (*on & ~int64_t{1}) != 0) return call.Error(kBadBit);
  bool was_set = false, wrong_type = false;
  auto mutated = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    wrong_type = IsOtherType(current);
    if (wrong_type) return Mutation::Keep();
    std::string value = current ? current->value : "";
    const size_t needed = static_cast<size_t>(*offset >> 3) + 1;
    const bool grows = !current || value.size() < needed;
    if (value.size() < needed) value.resize(needed, '\0');
    was_set = BitAt(value, *offset);
    if (!grows && was_set == (*on == 1)) return Mutation::Keep();
    const uint8_t mask = static_cast<uint8_t>(1u << (7 - (*offset & 7)));
    uint8_t& byte = reinterpret_cast<uint8_t&>(value[*offset >> 3]);
    byte = *on ? byte | mask : byte & ~mask;
    return Mutation::Rewrite(current, std::move(value));
  });
  if (!mutated.ok()) return call.StoreError(mutated.status());
  if (wrong_type) return call.Error(kWrongType);
  call.Integer(was_set ? 1 : 0);
}

void GetBit(Call& call) {
  const auto offset = BitOffsetArg(call, call.args[2]);
  if (!offset) return;
  bool failed;
  auto item = ReadString(call, call.args[1], &failed);
  if (failed) return;
  call.Integer(item && BitAt(item->value, *offset) ? 1 : 0);
}

// BITCOUNT's and BITPOS's range, as Redis resolves it: negative indexes
// from the end, clipped to the string; in BIT mode, the masks of the bits
// of the first and last bytes outside the range.
struct BitRange {
  int64_t start = 0, end = -1;  // bytes, inclusive; empty when start > end
  uint8_t first_mask = 0;       // bits of the first byte before the range
  uint8_t last_mask = 0;        // bits of the last byte after it
};
BitRange ResolveRange(int64_t start, int64_t end, bool bit_mode, int64_t length) {
  int64_t total = bit_mode ? length * 8 : length;
  if (start < 0) start += total;
  if (end < 0) end += total;
  start = std::max<int64_t>(start, 0);
  end = std::max<int64_t>(end, 0);
  if (end >= total) end = total - 1;
  BitRange range{start, end};
  if (bit_mode && start <= end) {
    range.first_mask = static_cast<uint8_t>(~((1u << (8 - (start & 7))) - 1));
    range.last_mask = static_cast<uint8_t>((1u << (7 - (end & 7))) - 1);
    range.start = start >> 3;
    range.end = end >> 3;
  }
  return range;
}

// BIT or BYTE (any case); nullopt (after replying) for anything else.
std::optional<bool> BitModeArg(Call& call, std::string_view arg) {
  if (Is(arg, "bit")) return true;
  if (Is(arg, "byte")) return false;
  call.Error(kSyntax);
  return std::nullopt;
}

int64_t PopCount(std::string_view bytes) {
  int64_t count = 0;
  for (char c : bytes) count += std::popcount(static_cast<uint8_t>(c));
  return count;
}

// BITCOUNT key [start end [BYTE|BIT]]: as Redis 7.0, a missing key
// answers 0 before the range is read.
void BitCount(Call& call) {
  bool failed;
  auto item = ReadString(call, call.args[1], &failed);
  if (failed) return;
  if (!item) return call.Integer(0);
  const std::string_view value = item->value;
  const int64_t length = static_cast<int64_t>(value.size());
  BitRange range{0, length - 1};
  if (call.args.size() == 4 || call.args.size() == 5) {
    const auto start = ParseRedisInteger(call.args[2]);
    const auto end = ParseRedisInteger(call.args[3]);
    if (!start || !end) return call.Error(kNotInteger);
    if (*start < 0 && *end < 0 && *start > *end) return call.Integer(0);
    bool bit_mode = false;
    if (call.args.size() == 5) {
      const auto mode = BitModeArg(call, call.args[4]);
      if (!mode) return;
      bit_mode = *mode;
    }
    range = ResolveRange(*start, *end, bit_mode, length);
  } else if (call.args.size() != 2) {
    return call.Error(kSyntax);
  }
  if (range.start > range.end) return call.Integer(0);
  const std::string_view bytes = value.substr(range.start, range.end - range.start + 1);
  int64_t count = PopCount(bytes);
  count -= std::popcount(static_cast<uint8_t>(bytes.front() & range.first_mask));
  count -= std::popcount(static_cast<uint8_t>(bytes.back() & range.last_mask));
  call.Integer(count);
}

// Redis's redisBitpos: the first `bit` in `bytes`; for 0, the bit just
// past them when there is none (the string reads as zero-padded); for 1,
// -1 when there is none.
int64_t FirstBit(std::string_view bytes, bool bit) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    const uint8_t b = static_cast<uint8_t>(bytes[i]);
    if (b == (bit ? 0x00 : 0xff)) continue;
    const uint8_t want = bit ? b : static_cast<uint8_t>(~b);
    return static_cast<int64_t>(i * 8) + std::countl_zero(want);
  }
  return bit ? -1 : static_cast<int64_t>(bytes.size() * 8);
}

// BITPOS key bit [start [end [BYTE|BIT]]], as Redis 7.0's bitposCommand:
// a missing key is all zeros (0 for bit 0, -1 for bit 1) whatever the
// range says.
void BitPos(Call& call) {
  const auto bit_arg = ParseRedisInteger(call.args[2]);
  if (!bit_arg) return call.Error(kNotInteger);
  if (*bit_arg != 0 && *bit_arg != 1) return call.Error("ERR The bit argument must be 1 or 0.");
  const bool bit = *bit_arg == 1;
  bool failed;
  auto item = ReadString(call, call.args[1], &failed);
  if (failed) return;
  if (!item) return call.Integer(bit ? -1 : 0);
  const std::string_view value = item->value;
  const int64_t length = static_cast<int64_t>(value.size());
  BitRange range{0, length - 1};
  bool end_given = false;
  if (call.args.size() >= 4 && call.args.size() <= 6) {
    const auto start = ParseRedisInteger(call.args[3]);
    if (!start) return call.Error(kNotInteger);
    bool bit_mode = false;
    if (call.args.size() == 6) {
      const auto mode = BitModeArg(call, call.args[5]);
      if (!mode) return;
      bit_mode = *mode;
    }
    int64_t end = bit_mode ? length * 8 + 7 : length - 1;
    if (call.args.size() >= 5) {
      const auto end_arg = ParseRedisInteger(call.args[4]);
      if (!end_arg) return call.Error(kNotInteger);
      end = *end_arg;
      end_given = true;
    }
    range = ResolveRange(*start, end, bit_mode, length);
  } else if (call.args.size() != 3) {
    return call.Error(kSyntax);
  }
  if (range.start > range.end) return call.Integer(-1);
  // The range's bytes, the bits outside it set to what is not sought.
  std::string bytes(value.substr(range.start, range.end - range.start + 1));
  auto& first = reinterpret_cast<uint8_t&>(bytes.front());
  auto& last = reinterpret_cast<uint8_t&>(bytes.back());
  first = bit ? first & ~range.first_mask : first | range.first_mask;
  last = bit ? last & ~range.last_mask : last | range.last_mask;
  int64_t pos = FirstBit(bytes, bit);
  // With an explicit end, the bits past the range are not zeros to find.
  if (end_given && !bit && pos == static_cast<int64_t>(bytes.size() * 8)) return call.Integer(-1);
  if (pos != -1) pos += range.start * 8;
  call.Integer(pos);
}

// BITOP AND|OR|XOR|NOT destkey key [key ...]: the result replaces the
// destination (no TTL), or deletes it when empty; the reply is its length.
void BitOp(Call& call) {
  enum { kAnd, kOr, kXor, kNot } op;
  const std::string_view name = call.args[1];
  if (Is(name, "and")) {
    op = kAnd;
  } else if (Is(name, "or")) {
    op = kOr;
  } else if (Is(name, "xor")) {
    op = kXor;
  } else if (Is(name, "not")) {
    op = kNot;
  } else {
    return call.Error(kSyntax);
  }
  if (op == kNot && call.args.size() != 4) {
    return call.Error("ERR BITOP NOT must be called with a single source key.");
  }
  std::vector<std::string> sources;
  size_t max_length = 0;
  for (size_t i = 3; i < call.args.size(); ++i) {
    bool failed;
    auto item = ReadString(call, call.args[i], &failed);
    if (failed) return;
    sources.push_back(item ? std::move(item->value) : std::string());
    max_length = std::max(max_length, sources.back().size());
  }
  std::string result(max_length, '\0');
  for (size_t j = 0; j < max_length; ++j) {
    const auto byte = [&](size_t i) {
      return j < sources[i].size() ? static_cast<uint8_t>(sources[i][j]) : uint8_t{0};
    };
    uint8_t out = byte(0);
    if (op == kNot) out = static_cast<uint8_t>(~out);
    for (size_t i = 1; i < sources.size(); ++i) {
      if (op == kAnd) out &= byte(i);
      if (op == kOr) out |= byte(i);
      if (op == kXor) out ^= byte(i);
    }
    result[j] = static_cast<char>(out);
  }
  const std::string_view dest = call.args[2];
  if (max_length == 0) {
    auto deleted = call.store.Delete(dest);
    if (!deleted.ok() && !KeyOutOfRange(deleted.status())) return call.StoreError(deleted.status());
  } else {
    auto written = call.store.Mutate(
        dest, [&](const std::optional<StoredItem>&) { return Mutation::Write(result, 0, 0); });
    if (!written.ok()) return call.StoreError(written.status());
  }
  call.Integer(static_cast<int64_t>(max_length));
}

// --- BITFIELD ------------------------------------------------------------------------

enum class Overflow { kWrap, kSat, kFail };

struct FieldOp {
  enum Kind { kGet, kSet, kIncrBy } kind;
  uint64_t offset;
  int bits;
  bool is_signed;
  int64_t value;  // SET's value, INCRBY's increment
  Overflow overflow;
};

uint64_t GetField(std::string_view bytes, uint64_t offset, int bits) {
  uint64_t value = 0;
  for (int j = 0; j < bits; ++j) value = value << 1 | (BitAt(bytes, offset + j) ? 1 : 0);
  return value;
}

int64_t GetSignedField(std::string_view bytes, uint64_t offset, int bits) {
  uint64_t value = GetField(bytes, offset, bits);
  if (bits < 64 && (value & (uint64_t{1} << (bits - 1)))) value |= ~uint64_t{0} << bits;
  return static_cast<int64_t>(value);
}

// Writes into `bytes`, which is long enough.
void SetField(std::string& bytes, uint64_t offset, int bits, uint64_t value) {
  for (int j = 0; j < bits; ++j, ++offset) {
    const uint8_t mask = static_cast<uint8_t>(1u << (7 - (offset & 7)));
    uint8_t& byte = reinterpret_cast<uint8_t&>(bytes[offset >> 3]);
    const bool on = (value >> (bits - 1 - j)) & 1;
    byte = on ? byte | mask : byte & ~mask;
  }
}

// Redis's checkUnsignedBitfieldOverflow: whether value + incr leaves
// `bits` bits, and then (WRAP, SAT) the value to store in *limit.
bool UnsignedOverflow(uint64_t value, int64_t incr, int bits, Overflow overflow, uint64_t* limit) {
  const uint64_t max = bits == 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1;
  const int64_t max_incr = static_cast<int64_t>(max - value);
  const int64_t min_incr = static_cast<int64_t>(-value);
  const bool over = value > max || (incr > 0 && incr > max_incr);
  const bool under = !over && incr < 0 && incr < min_incr;
  if (!over && !under) return false;
  if (overflow == Overflow::kWrap) {
    *limit = (value + static_cast<uint64_t>(incr)) & ~(~uint64_t{0} << bits);
  } else if (overflow == Overflow::kSat) {
    *limit = over ? max : 0;
  }
  return true;
}

// Redis's checkSignedBitfieldOverflow.
bool SignedOverflow(int64_t value, int64_t incr, int bits, Overflow overflow, int64_t* limit) {
  const int64_t max = bits == 64 ? INT64_MAX : (int64_t{1} << (bits - 1)) - 1;
  const int64_t min = -max - 1;
  const int64_t max_incr = static_cast<int64_t>(static_cast<uint64_t>(max) - value);
  const int64_t min_incr = static_cast<int64_t>(static_cast<uint64_t>(min) - value);
  const bool over =
      value > max || (bits != 64 && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr);
  const bool under = !over && (value < min || (bits != 64 && incr < min_incr) ||
                               (value < 0 && incr < 0 && incr < min_incr));
  if (!over && !under) return false;
  if (overflow == Overflow::kWrap) {
    uint64_t c = static_cast<uint64_t>(value) + static_cast<uint64_t>(incr);
    if (bits < 64) {
      const uint64_t mask = ~uint64_t{0} << bits;
      c = (c & (uint64_t{1} << (bits - 1))) ? c | mask : c & ~mask;
    }
    *limit = static_cast<int64_t>(c);
  } else if (overflow == Overflow::kSat) {
    *limit = over ? max : min;
  }
  return true;
}

// Runs `op` on `bytes` (long enough for writes), appending its reply;
// true when it changed them.
bool RunFieldOp(const FieldOp& op, std::string& bytes, std::string* out) {
  if (op.kind == FieldOp::kGet) {
    if (op.is_signed) {
      resp::AppendInteger(out, GetSignedField(bytes, op.offset, op.bits));
    } else {
      resp::AppendInteger(out, static_cast<int64_t>(GetField(bytes, op.offset, op.bits)));
    }
    return false;
  }
  const bool incr = op.kind == FieldOp::kIncrBy;
  uint64_t old_bits, new_bits;
  bool overflowed;
  int64_t reply;
  if (op.is_signed) {
    const int64_t old_value = GetSignedField(bytes, op.offset, op.bits);
    int64_t wrapped = 0;
    int64_t new_value = incr ? static_cast<int64_t>(static_cast<uint64_t>(old_value) +
                                                    static_cast<uint64_t>(op.value))
                             : op.value;
    overflowed = incr ? SignedOverflow(old_value, op.value, op.bits, op.overflow, &wrapped)
                      : SignedOverflow(op.value, 0, op.bits, op.overflow, &wrapped);
    if (overflowed) new_value = wrapped;
    reply = incr ? new_value : old_value;
    old_bits = static_cast<uint64_t>(old_value);
    new_bits = static_cast<uint64_t>(new_value);
  } else {
    const uint64_t old_value = GetField(bytes, op.offset, op.bits);
    uint64_t wrapped = 0;
    uint64_t new_value =
        incr ? old_value + static_cast<uint64_t>(op.value) : static_cast<uint64_t>(op.value);
    overflowed = incr ? UnsignedOverflow(old_value, op.value, op.bits, op.overflow, &wrapped)
                      : UnsignedOverflow(new_value, 0, op.bits, op.overflow, &wrapped);
    if (overflowed) new_value = wrapped;
    reply = static_cast<int64_t>(incr ? new_value : old_value);
    old_bits = old_value;
    new_bits = new_value;
  }
  if (overflowed && op.overflow == Overflow::kFail) {
    resp::AppendNullBulk(out);
    return false;
  }
  resp::AppendInteger(out, reply);
  SetField(bytes, op.offset, op.bits, new_bits);
  return old_bits != new_bits;
}

// Redis's getBitfieldTypeFromArgument: i1..i64 or u1..u63.
std::optional<std::pair<bool, int>> FieldTypeArg(Call& call, std::string_view arg) {
  const bool is_signed = !arg.empty() && arg[0] == 'i';
  if (arg.empty() || (arg[0] != 'i' && arg[0] != 'u')) {
    call.Error(kBadBitfieldType);
    return std::nullopt;
  }
  const auto bits = ParseRedisInteger(arg.substr(1));
  if (!bits || *bits < 1 || *bits > (is_signed ? 64 : 63)) {
    call.Error(kBadBitfieldType);
    return std::nullopt;
  }
  return std::make_pair(is_signed, static_cast<int>(*bits));
}

// BITFIELD and BITFIELD_RO (`read_only`), as Redis's bitfieldGeneric: every
// operation parsed first, then run in order on one version of the string.
void Bitfield(Call& call, bool read_only) {
  std::vector<FieldOp> ops;
  Overflow overflow = Overflow::kWrap;
  uint64_t highest_write_bit = 0;
  bool writes = false;
  for (size_t j = 2; j < call.args.size(); ++j) {
    const size_t left = call.args.size() - j - 1;
    const std::string_view sub = call.args[j];
    FieldOp::Kind kind;
    if (Is(sub, "get") && left >= 2) {
      kind = FieldOp::kGet;
    } else if (Is(sub, "set") && left >= 3) {
      kind = FieldOp::kSet;
    } else if (Is(sub, "incrby") && left >= 3) {
      kind = FieldOp::kIncrBy;
    } else if (Is(sub, "overflow") && left >= 1) {
      const std::string_view type = call.args[++j];
      if (Is(type, "wrap")) {
        overflow = Overflow::kWrap;
      } else if (Is(type, "sat")) {
        overflow = Overflow::kSat;
      } else if (Is(type, "fail")) {
        overflow = Overflow::kFail;
      } else {
        return call.Error("ERR Invalid OVERFLOW type specified");
      }
      continue;
    } else {
      return call.Error(kSyntax);
    }
    const auto type = FieldTypeArg(call, call.args[j + 1]);
    if (!type) return;
    const auto offset = BitOffsetArg(call, call.args[j + 2], type->second);
    if (!offset) return;
    int64_t value = 0;
    if (kind != FieldOp::kGet) {
      writes = true;
      highest_write_bit = std::max(highest_write_bit, *offset + type->second - 1);
      const auto n = ParseRedisInteger(call.args[j + 3]);
      if (!n) return call.Error(kNotInteger);
      value = *n;
    }
    ops.push_back({kind, *offset, type->second, type->first, value, overflow});
    j += kind == FieldOp::kGet ? 2 : 3;
  }
  std::string reply;
  if (!writes) {
    bool failed;
    auto item = ReadString(call, call.args[1], &failed);
    if (failed) return;
    std::string bytes = item ? std::move(item->value) : std::string();
    resp::AppendArrayHeader(call.out, ops.size());
    for (const FieldOp& op : ops) RunFieldOp(op, bytes, call.out);
    return;
  }
  if (read_only) return call.Error("ERR BITFIELD_RO only supports the GET subcommand");
  // A field that ends past the largest value cannot be written (Redis's
  // limit, 512 MiB, is the offset's alone).
  if ((highest_write_bit >> 3) >= call.context.max_item_size) return call.Error(kBadOffset);
  bool wrong_type = false;
  auto mutated = call.store.Mutate(call.args[1], [&](const std::optional<StoredItem>& current) {
    reply.clear();
    wrong_type = IsOtherType(current);
    if (wrong_type) return Mutation::Keep();
    std::string value = current ? current->value : "";
    const size_t needed = static_cast<size_t>(highest_write_bit >> 3) + 1;
    bool changed = !current || value.size() < needed;
    if (value.size() < needed) value.resize(needed, '\0');
    resp::AppendArrayHeader(&reply, ops.size());
    for (const FieldOp& op : ops) changed |= RunFieldOp(op, value, &reply);
    return changed ? Mutation::Rewrite(current, std::move(value)) : Mutation::Keep();
  });
  if (!mutated.ok()) return call.StoreError(mutated.status());
  if (wrong_type) return call.Error(kWrongType);
  call.out->append(reply);
}

void BitfieldCommand(Call& c) { Bitfield(c, false); }
void BitfieldRo(Call& c) { Bitfield(c, true); }

}  // namespace

void RegisterBitFamily(Registry* registry) {
  using namespace resp::CO;  // NOLINT: the flags read as Redis's
  *registry << CI{"setbit", kWrite | kDenyOom, 4, 1, 1}.Handle(SetBit)
            << CI{"getbit", kReadOnly | kFast, 3, 1, 1}.Handle(GetBit)
            << CI{"bitcount", kReadOnly, -2, 1, 1}.Handle(BitCount)
            << CI{"bitpos", kReadOnly, -3, 1, 1}.Handle(BitPos)
            << CI{"bitop", kWrite | kDenyOom, -4, 2, -1}.Handle(BitOp)
            << CI{"bitfield", kWrite | kDenyOom, -2, 1, 1}.Handle(BitfieldCommand)
            << CI{"bitfield_ro", kReadOnly | kFast, -2, 1, 1}.Handle(BitfieldRo);
}

}  // namespace xdpkv::redis
