// memcached's exptime rules, in the store's clock (CLOCK_BOOTTIME ms),
// shared by the server's command handlers (the XDP program applies the same
// rules in bpf/lib/store.h, expiry_from_exptime).
#ifndef XDPKV_PROXY_EXPIRY_H_
#define XDPKV_PROXY_EXPIRY_H_

#include <cstdint>
#include <optional>

#include "proxy/store_layout.h"

namespace xdpkv {

// The item's expires_at_ms for an exptime: 0 (never); relative seconds up
// to 30 days; above that an absolute unix time in seconds. nullopt when the
// item is expired already (negative, or an absolute time that has passed).
// Relative times count from now in milliseconds, so an item never expires
// before the seconds it was given (memcached's own clock ticks in whole
// seconds and may expire it up to a second early).
inline std::optional<uint64_t> ExpiresAtMs(int64_t exptime, uint64_t now_boot_ms,
                                           int64_t unix_minus_boot_ms) {
  if (exptime == 0) return 0u;
  if (exptime < 0) return std::nullopt;
  // exptime < 2^32 (the text parser's int32, the binary protocol's
  // uint32), so neither product overflows.
  const int64_t at = exptime <= XDPKV_REALTIME_MAXDELTA
                         ? static_cast<int64_t>(now_boot_ms) + exptime * 1000
                         : exptime * 1000 - unix_minus_boot_ms;
  if (at <= static_cast<int64_t>(now_boot_ms)) return std::nullopt;
  return static_cast<uint64_t>(at);
}

}  // namespace xdpkv

#endif  // XDPKV_PROXY_EXPIRY_H_
