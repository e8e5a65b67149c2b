// What the server does with a parsed command: pure code over the Store
// interface, no sockets, so it is tested in-process (handlers_test.cc).
#ifndef XDPKV_PROXY_HANDLERS_H_
#define XDPKV_PROXY_HANDLERS_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "protocol/memcache_text.h"
#include "proxy/store.h"

namespace xdpkv {

// Process-wide facts the handlers report (stats, INFO) or need (clocks).
struct ServerContext {
  std::string version = "0.1.0";
  uint32_t (*now_boot_seconds)() = nullptr;  // the store's clock
  int64_t unix_minus_boot = 0;
  int64_t started_unix = 0;
  // Extra "STAT name value" lines (the XDP counters), appended by stats.
  std::function<void(std::string*)> append_extra_stats;
};

enum class AfterReply { kContinue, kClose };

// memcached text commands. Appends the reply to `out` (nothing for
// noreply).
AfterReply HandleMemcache(const memcache::Command& command, Store& store,
                          const ServerContext& context, std::string* out);

// RESP commands (args[0] is the name, any case). Appends the reply.
AfterReply HandleResp(std::span<const std::string_view> args, Store& store,
                      const ServerContext& context, std::string* out);

}  // namespace xdpkv

#endif  // XDPKV_PROXY_HANDLERS_H_
