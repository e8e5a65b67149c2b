// memcached's exptime rules, in the store's clock (CLOCK_BOOTTIME seconds),
// shared by the server's command handlers (the XDP program applies the same
// rules in bpf/xdpkv.bpf.c, expiry_from_exptime).
#ifndef XDPKV_PROXY_EXPIRY_H_
#define XDPKV_PROXY_EXPIRY_H_

#include <cstdint>
#include <optional>

#include "proxy/store_layout.h"

namespace xdpkv {

// The item's expires_at for an exptime: 0 (never); relative seconds up to
// 30 days; above that an absolute unix time. nullopt when the item is
// expired already (negative, or an absolute time that has passed).
inline std::optional<uint32_t> ExpiresAt(int64_t exptime, uint32_t now_boot,
                                         int64_t unix_minus_boot) {
  if (exptime == 0) return 0u;
  if (exptime < 0) return std::nullopt;
  const int64_t at = exptime <= XDPKV_REALTIME_MAXDELTA ? now_boot + exptime
                                                        : exptime - unix_minus_boot;
  if (at <= static_cast<int64_t>(now_boot)) return std::nullopt;
  return static_cast<uint32_t>(at);
}

}  // namespace xdpkv

#endif  // XDPKV_PROXY_EXPIRY_H_
