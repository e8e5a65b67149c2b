// What the two files of Redis's sorted-set family share (redis_zsets.cc,
// redis_zset_ranges.cc): scores read and written as Redis 7.0 reads and
// writes them. Internal to proxy/commands/.
#ifndef XDPKV_PROXY_COMMANDS_REDIS_ZSET_H_
#define XDPKV_PROXY_COMMANDS_REDIS_ZSET_H_

#include <optional>
#include <string>
#include <string_view>

#include "proxy/commands/redis_family.h"

namespace xdpkv::redis {

// Redis's string2d (getDoubleFromObject: ZADD's scores, ZINCRBY's
// increment, WEIGHTS): strtod over the whole text, not empty, no leading
// space, no overflow or underflow to zero, not NaN.
std::optional<double> ParseScore(std::string_view text);

// Redis's addReplyDouble in RESP2: "inf", "-inf", else "%.17g".
void AppendScore(Call& call, double score);

// A score as a small sorted set (a listpack) keeps it: integral values
// become integers, so -0 is 0 (double2ll). Stored scores go through it;
// replies computed without storing (ZUNION, ZADD INCR) keep the sign.
inline double Kept(double score) { return score == 0 ? 0.0 : score; }

// A score as ZSCAN shows a listpack's: an integer when integral within
// +-2^62 (double2ll), else d2string's "%.17g" ("inf", "-inf").
std::string ListpackScoreText(double score);

// The commands of redis_zset_ranges.cc: ZRANGE and its legacy forms,
// ZRANGESTORE, ZCOUNT, ZLEXCOUNT, ZREMRANGEBYRANK/SCORE/LEX.
void RegisterZSetRangeCommands(Registry* registry);

}  // namespace xdpkv::redis

#endif  // XDPKV_PROXY_COMMANDS_REDIS_ZSET_H_
