// Numbers inside values, as the peers read and print them: Redis's
// string2ll / string2ld / ld2string (INCR*, INCRBYFLOAT, option arguments),
// its memory amounts, and memcached's incr/decr reading of a stored value.
#ifndef XDPKV_PROTOCOL_VALUES_H_
#define XDPKV_PROTOCOL_VALUES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xdpkv {

// Redis's string2ll: optional '-', no '+', no leading zeros or spaces,
// within int64.
std::optional<int64_t> ParseRedisInteger(std::string_view text);

// Redis's string2ld: strtold over the whole text, no leading space, not
// NaN, no overflow.
std::optional<long double> ParseRedisFloat(std::string_view text);

// Redis's ld2string in "human" mode (INCRBYFLOAT's reply and stored value):
// "%.17Lf" with trailing zeros (and a bare '.') removed.
std::string FormatRedisFloat(long double value);

// memcached's reading of an item for incr/decr: decimal digits after
// optional spaces, ending at a space or the end, within uint64. Empty
// values and anything else are "non-numeric".
std::optional<uint64_t> ParseMemcacheCounter(std::string_view value);

// Redis's memtoull (CONFIG SET maxmemory ...): digits with an optional unit,
// k/m/g for 1000s and kb/mb/gb for 1024s (and b), any case; nullopt where
// Redis reports the value is no memory value. As its strtoull, no digits
// read as 0 and too many as 2^64-1; a product above 2^64-1 reads as 2^64-1,
// out of range (Redis 7.0 wraps it modulo 2^64, so it accepts
// 20000000000gb as 3028092406290448384 bytes).
std::optional<uint64_t> ParseRedisMemory(std::string_view text);

// The same amounts, strictly (command-line flags): at least one digit, and
// nullopt where the bytes would not fit in 64 bits.
std::optional<uint64_t> ParseMemoryAmount(std::string_view text);

}  // namespace xdpkv

#endif  // XDPKV_PROTOCOL_VALUES_H_
