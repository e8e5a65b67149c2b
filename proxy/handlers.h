// What the server does with a parsed command: pure code over the Store
// interface, no sockets, so it is tested in-process (session_test.cc).
// memcache_handlers.cc has memcached's commands, resp_handlers.cc Redis's.
#ifndef XDPKV_PROXY_HANDLERS_H_
#define XDPKV_PROXY_HANDLERS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/memcache_binary.h"
#include "protocol/memcache_text.h"
#include "proxy/auth.h"
#include "proxy/blocking.h"
#include "proxy/store.h"

namespace xdpkv {

class Persistence;  // proxy/persistence.h

// What the server does about saving once SHUTDOWN has it stop.
enum class ShutdownSave {
  kNo,         // SHUTDOWN NOSAVE, or no save needed
  kIfChanged,  // saved already: save again if anything was written since
};

// Counters by name, e.g. ("xdp_memcache_get_hits", 3).
using NamedCounters = std::vector<std::pair<std::string, uint64_t>>;

// The counts at a protocol's last `stats reset` / CONFIG RESETSTAT: that
// protocol's view shows each counter minus its count here. Counters are
// never zeroed: they are shared (connections, the kernel's counters, the
// sweep's), and a baseline resets one view without touching the other.
class CounterBaseline {
 public:
  void Reset(NamedCounters now) {
    std::lock_guard lock(mu_);
    at_reset_ = std::move(now);
  }
  // `now` minus the count at the last reset (0 if it was never reset).
  uint64_t Since(std::string_view name, uint64_t now) const {
    std::lock_guard lock(mu_);
    for (const auto& [counter, base] : at_reset_) {
      if (counter == name) return now >= base ? now - base : now;
    }
    return now;
  }

 private:
  mutable std::mutex mu_;
  NamedCounters at_reset_;
};

// memcached's per-prefix counters (`stats detail`), kept as memcached keeps
// them: 256 hash buckets (its murmur3 of the prefix), newest first in each,
// which is the order `stats detail dump` lists them in.
struct PrefixCounters {
  std::string prefix;
  uint64_t gets = 0, hits = 0, sets = 0, deletes = 0;
};
struct PrefixStats {
  static constexpr size_t kBuckets = 256;
  static constexpr size_t kMaxPrefixes = 100000;  // memory bound; more are not recorded
  std::mutex mu;
  std::vector<std::vector<PrefixCounters>> buckets{kBuckets};  // each newest first
  size_t count = 0;
};

// Process-wide counters for memcached's stats and Redis's INFO. Relaxed
// atomics: no lock on the request path. Each counts what userspace served
// for one protocol (memcached's get_hits, Redis's keyspace_hits); the
// reports add the kernel's counters (ServerContext::xdp_counters).
struct ServerStats {
  using Counter = std::atomic<uint64_t>;
  Counter curr_connections{0};
  Counter total_connections{0};
  Counter commands{0};  // RESP commands processed
  Counter cmd_get{0};
  Counter cmd_set{0};
  Counter cmd_flush{0};
  Counter cmd_touch{0};
  Counter get_hits{0};
  Counter get_misses{0};
  Counter delete_hits{0};
  Counter delete_misses{0};
  Counter incr_hits{0};
  Counter incr_misses{0};
  Counter decr_hits{0};
  Counter decr_misses{0};
  Counter cas_hits{0};
  Counter cas_misses{0};
  Counter cas_badval{0};
  Counter touch_hits{0};
  Counter touch_misses{0};
  Counter expired_keys{0};  // removed by the background sweep
  // memcached connections: refused over -c, times accepting paused (out of
  // descriptors), -R yields, closed by -o idle_timeout.
  Counter rejected_connections{0};
  Counter listen_disabled_num{0};
  Counter time_in_listen_disabled_us{0};
  Counter conn_yields{0};
  Counter idle_kicks{0};
  // memcached's: meta commands, refused stores, -Y exchanges, its
  // connections' bytes, items stored (userspace; the kernel's SETs are
  // added in the report).
  Counter cmd_meta{0};
  Counter store_too_large{0};
  Counter store_no_memory{0};
  Counter auth_cmds{0};
  Counter auth_errors{0};
  Counter bytes_read{0};
  Counter bytes_written{0};
  Counter total_items{0};
  // Gauges: loops not accepting (out of descriptors), watch connections,
  // active expiry's finished passes.
  Counter accept_paused_loops{0};
  Counter log_watchers{0};
  Counter crawler_starts{0};
  Counter keyspace_hits{0};    // Redis: reads that found the key
  Counter keyspace_misses{0};  // Redis: reads that did not

  PrefixStats prefix_stats;           // stats detail
  CounterBaseline memcache_baseline;  // at memcached's last `stats reset`
  CounterBaseline resp_baseline;      // at Redis's last CONFIG RESETSTAT

  static void Add(Counter& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  static uint64_t Read(const Counter& c) { return c.load(std::memory_order_relaxed); }
};

// Settings that can change while the server runs (CONFIG SET, flags),
// read on the request path: relaxed atomics.
struct RuntimeConfig {
  // Redis's client-query-buffer-limit: a client whose unparsed input grows
  // past this is closed.
  std::atomic<uint64_t> client_query_buffer_limit{uint64_t{1} << 30};
  // Redis's maxclients (RESP connections) and memcached's -c (memcached
  // connections).
  std::atomic<uint32_t> maxclients{10000};
  std::atomic<uint32_t> memcache_max_connections{1024};
  // Redis's requirepass (--requirepass, CONFIG SET requirepass) and
  // protected-mode (--protected-mode, CONFIG SET protected-mode): with
  // protected mode on and no password, RESP clients from other than
  // loopback are refused at accept (proxy/auth.h).
  RedisPassword requirepass;
  std::atomic<bool> protected_mode{true};
  // memcached's `verbosity` / -v, and `stats detail on|off` / -D.
  std::atomic<uint32_t> memcache_verbosity{0};
  std::atomic<bool> memcache_detail{false};
  // Unix time of the last flush_all (when it takes effect); 0: none. For
  // stats settings' `oldest`.
  std::atomic<int64_t> memcache_flushed_at{0};
};

// memcached's -B: the protocol its connections speak; under auto the first
// byte decides (0x80: binary), per connection.
enum class MemcacheBinding : uint8_t { kAuto, kAscii, kBinary };
// As `stats settings` names it.
inline std::string_view BindingName(MemcacheBinding binding) {
  switch (binding) {
    case MemcacheBinding::kAscii: return "ascii";
    case MemcacheBinding::kBinary: return "binary";
    case MemcacheBinding::kAuto: break;
  }
  return "auto-negotiate";
}

// memcached's command-line settings (proxy/options.h) that change what the
// memcached commands do or report (`stats settings` lists them all).
struct MemcacheSettings {
  bool cas_enabled = true;         // -C turns it off: every CAS unique reads 0
  bool flush_enabled = true;       // -F turns flush_all off
  bool dump_enabled = true;        // -X turns stats cachedump, lru_crawler metadump off
  bool watch_enabled = true;       // -W turns watch off
  bool shutdown_enabled = false;   // -A turns the shutdown command on
  uint32_t reqs_per_event = 20;    // -R: requests a connection runs before yielding
  int tcp_backlog = 1024;          // -b
  MemcacheBinding binding = MemcacheBinding::kAuto;  // -B (-S: binary, -Y: ascii)
  bool sasl = false;               // -S
  std::string auth_file;           // -Y, as `stats settings` shows it
  uint32_t idle_timeout_s = 0;     // -o idle_timeout: close idle clients; 0: never
  char prefix_delimiter = ':';     // -D, for stats detail
  std::string unix_socket;         // -s (memcached TCP and UDP are then off)
  uint32_t unix_mask = 0700;       // -a
  int tcp_port = 11211;            // as configured (-1: the kernel's choice)
  int udp_port = 11211;
  std::string listen;              // -l as given ("NULL": none given)
  uint32_t item_size_max = 1024 * 1024;  // -I
};

// Process-wide facts the handlers report (stats, INFO) or need (clocks).
struct ServerContext {
  std::string version = "0.1.0";
  // What memcached's `version` and `stats` report. Clients and tools
  // (libmemcached's memccapable) choose behaviour by the memcached version,
  // so it leads with the one whose text protocol xdpkv speaks.
  std::string memcache_version = "1.6.18-xdpkv-0.1.0";
  uint64_t (*now_boot_ms)() = nullptr;  // the store's clock (CLOCK_BOOTTIME ms)
  int64_t unix_minus_boot_ms = 0;      // CLOCK_REALTIME - CLOCK_BOOTTIME
  RuntimeConfig* runtime = nullptr;    // required
  int64_t started_unix = 0;
  int tcp_port = 0;   // for INFO
  int threads = 1;    // for stats
  size_t max_item_size = 1024 * 1024;
  MemcacheSettings memcache;
  ServerStats* stats = nullptr;  // required
  // The XDP program's counters as (name, count), e.g. ("xdp_memcache_
  // get_hits", 3): memcached's stats and Redis's INFO xdp list them.
  using NamedCounters = xdpkv::NamedCounters;
  std::function<NamedCounters()> xdp_counters;
  // memcached's shutdown command (enabled with -A): stop the server as
  // SIGTERM does. Unset: nothing to stop (tests).
  std::function<void()> memcache_shutdown;
  // flush_all with a delay: clear the store at this CLOCK_BOOTTIME ms.
  // Unset: the handler clears at once.
  std::function<void(uint64_t at_boot_ms)> schedule_flush;
  // memcached's -Y: every memcached TCP connection must authenticate first
  // (proxy/auth.h). Null: no auth file.
  const MemcacheAuthFile* memcache_auth = nullptr;
  // memcached's -S: binary connections authenticate with SASL PLAIN as one
  // of these users (MEMCACHED_SASL_PWDB) before anything else. Null: no SASL.
  const MemcacheAuthFile* memcache_sasl = nullptr;
  // The kernel path answers UDP without a session, so it must not answer
  // while any auth is on (AuthOn). Called with the new state when CONFIG
  // SET requirepass may change it; an error refuses the change (CONFIG
  // SET answers it). The XDP loader's owner wires it to the program's
  // config; unset: nothing in the kernel answers (XDP not attached).
  std::function<absl::Status(bool auth_on)> kernel_auth_gate;
  // Redis's transactions are isolated from other clients' commands: every
  // RESP command runs holding this shared, EXEC holds it exclusively. The
  // kernel's writes do not take it (docs/protocols.md). Null: no locking.
  std::shared_mutex* transactions = nullptr;
  // RDB snapshots (SAVE, BGSAVE, LASTSAVE, INFO persistence, CONFIG dir,
  // dbfilename, save). Null: no persistence (those commands answer an
  // error).
  Persistence* persistence = nullptr;
  // Redis's enable-protected-configs: CONFIG SET of dir and dbfilename
  // (where the server writes files) only when on.
  bool protected_configs_enabled = false;
  // SHUTDOWN: stops the server as SIGTERM does (its own save decided by
  // the argument). Unset: SHUTDOWN answers an error.
  std::function<void(ShutdownSave)> request_shutdown;
  // Where blocking commands park their clients (proxy/blocking.h). Null:
  // a blocking command that finds nothing answers at once, as a timeout.
  BlockingRoom* blocking = nullptr;
};

// Whether any authentication is on (Redis's requirepass or memcached's
// -Y): UDP, which has no session, is then refused by userspace, and the
// kernel path must not answer it either (docs/protocols.md).
inline bool AuthOn(const ServerContext& context) {
  return context.memcache_auth != nullptr || context.memcache_sasl != nullptr ||
         (context.runtime != nullptr && context.runtime->requirepass.required());
}

// A RESP client's MULTI: the commands queued (owned copies), and whether
// one was refused (EXEC then aborts, as Redis's CLIENT_DIRTY_EXEC).
struct RespTransaction {
  std::vector<std::vector<std::string>> queued;
  bool refused = false;
};

// One RESP connection's own state (CLIENT SETNAME and friends).
// Items read ahead of the commands that will ask for them, in order.
class ReadAhead {
 public:
  using Item = absl::StatusOr<std::optional<StoredItem>>;
  void Fill(std::vector<std::string> keys, std::vector<Item> items) {
    keys_ = std::move(keys);
    items_ = std::move(items);
    next_ = 0;
  }
  // The front item if it is `key`'s (and it is taken); else nothing is
  // left to take.
  std::optional<Item> Take(std::string_view key) {
    if (next_ >= items_.size() || keys_[next_] != key) {
      Clear();
      return std::nullopt;
    }
    return std::move(items_[next_++]);
  }
  bool empty() const { return next_ >= items_.size(); }
  void Clear() {
    keys_.clear();
    items_.clear();
    next_ = 0;
  }

 private:
  std::vector<std::string> keys_;
  std::vector<Item> items_;  // items_[i] is keys_[i]'s; fewer when a budget cut it
  size_t next_ = 0;
};

// Writes of a pipeline done ahead of the commands that reply for them
// (RespSession, Store::WriteMany), in order: each command of the run takes
// its own entry from the front (a command whose writes were not all done
// does the rest its own way).
class WriteAhead {
 public:
  struct Done {
    std::string key;     // the command's first key
    size_t writes = 0;   // its writes done: MSET's pairs, else 1
    int64_t number = 0;  // INCRBY's new value
  };
  void Push(Done done) { entries_.push_back(std::move(done)); }
  // The front entry if it is `key`'s command's (and it is taken).
  std::optional<Done> Take(std::string_view key) {
    if (next_ >= entries_.size() || entries_[next_].key != key) return std::nullopt;
    return std::move(entries_[next_++]);
  }
  bool empty() const { return next_ >= entries_.size(); }
  void Clear() {
    entries_.clear();
    next_ = 0;
  }

 private:
  std::vector<Done> entries_;
  size_t next_ = 0;
};

struct RespClient {
  // Redis's c->authenticated: set when the session starts if no password
  // is required then, and by a good AUTH / HELLO AUTH. A client connected
  // before CONFIG SET requirepass stays authenticated, as in Redis.
  bool authenticated = true;
  std::string name;
  std::string lib_name;
  std::string lib_version;
  uint64_t id = 0;
  // Streaming replies: the session's bound on output not yet sent, and
  // the keys of an MGET still to answer when it was reached (the reply
  // continues with ContinueRespReply once the client has drained).
  size_t output_limit = SIZE_MAX;
  std::vector<std::string> pending_mget;
  // SELECT's database (0..kDatabases-1); UDP has no session: always 0.
  int db = 0;
  // MULTI ... EXEC (RespTransaction); unset outside one.
  std::optional<RespTransaction> multi;
  // WATCH: each key with the version it had: its CAS unique and expiry
  // (0, 0: absent). Every write, the kernel's included, gives an item a new
  // CAS unique, and a touch a new expiry, so EXEC sees any change since.
  std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>> watched;
  // A pipeline's run of GETs, read from the store in one call before the
  // first of them runs (RespSession; docs/architecture.md, "Where a TCP
  // request's time goes"). Each GET takes its item from the front; any
  // other command drops what is left, so no read outlives the run.
  ReadAhead read_ahead;
  // A pipeline's run of SET/INCR/INCRBY/DECR/DECRBY/MSET, written to the
  // store together before the first of them replies (RespSession). The
  // writes are done: every command of the run takes its entry and replies
  // as it would have, before any other command runs.
  WriteAhead write_ahead;
  // Blocking commands (proxy/blocking.h): how this connection's loop is
  // told that a parked command's reply is in (unset: this client never
  // parks, as a datagram's), the command while parked, and the keys the
  // commands it ran wrote, which may serve parked clients.
  std::function<void()> wake;
  std::shared_ptr<ParkedClient> parked;
  std::vector<DatabaseKey> written;
};

// kCloseDiscardingUnsent: close at once, without sending the replies not
// yet sent to requests read with this one (the peers' answer to a
// cross-protocol attack: docs/protocols.md).
// kBecomeWatcher: memcached's watch; the connection reads no more requests.
enum class AfterReply { kContinue, kClose, kCloseDiscardingUnsent, kBecomeWatcher };

// Every counter a protocol's report shows that a reset zeroes: the
// userspace counters by their field names (cmd_get, keyspace_hits, ...;
// gauges such as curr_connections are left out) and the kernel's
// xdp_<proto>_<outcome>. Raw counts, before any baseline.
NamedCounters ResettableCounters(const ServerContext& context, Store& store);

// The count of `name` in `counters` (0 when absent).
uint64_t CountOf(const NamedCounters& counters, std::string_view name);

// memcached text commands. Appends the reply to `out` (nothing for
// noreply).
AfterReply HandleMemcache(const memcache::Command& command, Store& store,
                          const ServerContext& context, std::string* out);

// One memcached binary connection's SASL state (-S).
struct MemcacheSaslSession {
  MemcacheSaslState exchange;
  bool authenticated = false;
};

// What a binary request's answer means for its connection: whether it
// closes, and whether memcached sends what it holds after it (its NOOP,
// QUIT, errors and "continue" do), which UDP framing and an abrupt close
// follow.
struct BinaryReplied {
  AfterReply after = AfterReply::kContinue;
  bool flushes = false;
};

// memcached binary requests (protocol/memcache_binary.h), parsed and let
// in (SASL checked) by the caller. Appends the response packets, if any.
BinaryReplied HandleMemcacheBinary(const memcache::binary::Request& request, Store& store,
                                   const ServerContext& context, MemcacheSaslSession& sasl,
                                   std::string* out);

// RESP commands (args[0] is the name, any case). Appends the reply.
// Continues a reply that stopped at client.output_limit (an MGET of many
// big values); true once it is complete.
bool ContinueRespReply(Store& store, const ServerContext& context, RespClient& client,
                       std::string* out);

AfterReply HandleResp(std::span<const std::string_view> args, Store& store,
                      const ServerContext& context, RespClient& client, std::string* out);

}  // namespace xdpkv

#endif  // XDPKV_PROXY_HANDLERS_H_
