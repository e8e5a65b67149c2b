// The command line: xdpkv's own flags, Redis's few, and memcached 1.6.18's
// whole set, each either served or refused with one line saying why (none
// is ignored silently; docs/protocols.md, "Flags"). Pure: nothing is
// opened, bound or loaded here, so every flag is tested in-process.
#ifndef XDPKV_PROXY_OPTIONS_H_
#define XDPKV_PROXY_OPTIONS_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "proxy/eviction.h"
#include "proxy/handlers.h"
#include "proxy/persistence.h"
#include "proxy/server.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {

struct Options {
  enum class Action { kServe, kHelp, kVersion };
  Action action = Action::kServe;
  ServerConfig server;
  XdpConfig xdp;
  std::vector<std::string> interfaces;  // --xdp-iface; empty: lo
  std::string xdp_mode = "auto";
  EvictionPolicy eviction_policy = EvictionPolicy::kAllKeysLru;
  LfuParams lfu;  // --lfu-log-factor, --lfu-decay-time
  int64_t max_connections = -1;  // -c; -1: RuntimeConfig's default
  int64_t max_clients = -1;      // --maxclients
  std::string requirepass;
  std::string auth_file;         // -Y
  bool protected_mode = true;
  MemcacheSettings memcache;     // -C -F -X -W -A -R -b -B -o -s -a -l -p -U -I -D
  uint32_t verbosity = 0;        // -v, -vv, -vvv
  bool detail_enabled = false;   // -D turns stats detail on
  std::string pid_file;          // -P
  bool lock_memory = false;      // -k
  bool enable_coredumps = false; // -r
  // Persistence (docs/protocols.md, "Persistence"): --dir, --dbfilename,
  // --save, --rdbcompression; --load-rdb; --enable-protected-configs.
  PersistenceConfig persistence;
  std::string load_rdb;
  bool protected_configs = false;
  // Lines to print at start: what a flag does less of here than in
  // memcached (e.g. -vv logs no commands).
  std::vector<std::string> notes;
};

// Parses argv. An error's message is the one line to print (after
// "xdpkv: "): a bad value, or a memcached flag xdpkv does not serve and why.
absl::StatusOr<Options> ParseCommandLine(int argc, char** argv);

// memcached's -I: bytes, or a number with k/K/m/M (memcached's suffixes),
// checked against memcached's limits in memcached's order and words, then
// against xdpkv's largest value (1 MiB today). `memory_limit_bytes` is -m
// (0: none), for memcached's "1/2 of memory max" rule.
absl::StatusOr<uint32_t> ParseItemSizeMax(std::string_view text, uint64_t memory_limit_bytes);

void PrintUsage(FILE* out);

}  // namespace xdpkv

#endif  // XDPKV_PROXY_OPTIONS_H_
