// Numbers inside values, as the peers read and print them: Redis's
// string2ll / string2ld / ld2string (INCR*, INCRBYFLOAT, option arguments)
// and memcached's incr/decr reading of a stored value.
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

}  // namespace xdpkv

#endif  // XDPKV_PROTOCOL_VALUES_H_
