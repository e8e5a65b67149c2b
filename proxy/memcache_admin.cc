// memcached's admin commands: stats and its subcommands, shutdown,
// cache_memlimit, watch, lru_crawler. Where memcached reports its slab
// allocator, xdpkv reports the nearest true figure (docs/protocols.md,
// "Stats and admin").
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cstring>
#include <ctime>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proxy/memcache_family.h"
#include "proxy/store_layout.h"

namespace xdpkv::memcache_family {
namespace {

namespace mc = memcache;
using Stats = ServerStats;

// memcached's item layout (64-bit): struct _stritem, and the chunk header
// of an item over slab_chunk_max.
constexpr uint32_t kItemHeader = 48;
constexpr uint32_t kChunkHeader = 32;
constexpr uint32_t kSlabChunkMax = 512 * 1024;
constexpr uint32_t kSlabPage = 1024 * 1024;

// memcached's slabs_init with its defaults: sizes from 48 + 48 growing by
// 1.25 (8-aligned) below slab_chunk_max / 1.25, then slab_chunk_max.
struct SlabTable {
  std::array<uint32_t, kMaxSlabClasses> size{};
  uint32_t largest = 0;
  SlabTable() {
    uint32_t chunk = kItemHeader + 48;
    uint32_t cls = 0;
    while (++cls < kMaxSlabClasses - 1) {
      if (chunk >= kSlabChunkMax / 1.25) break;
      if (chunk % 8) chunk += 8 - chunk % 8;
      size[cls] = chunk;
      chunk = static_cast<uint32_t>(chunk * 1.25);
    }
    largest = cls;
    size[largest] = kSlabChunkMax;
  }
};
const SlabTable& Slabs() {
  static const SlabTable table;
  return table;
}

// memcached's slabs_clsid.
uint32_t ClassForBytes(uint32_t bytes) {
  const SlabTable& t = Slabs();
  uint32_t cls = 1;
  while (bytes > t.size[cls]) {
    if (cls++ == t.largest) return t.largest;
  }
  return cls;
}

template <typename T>
void Stat(std::string* out, std::string_view name, const T& value) {
  if constexpr (std::is_convertible_v<T, std::string_view>) {
    mc::AppendStat(out, name, value);
  } else {
    mc::AppendStat(out, name, absl::StrCat(value));
  }
}
const char* YesNo(bool on) { return on ? "yes" : "no"; }

// memcached's safe_strtoul: digits only.
bool ParseU32(std::string_view text, uint32_t* out) {
  if (text.empty() || text.size() > 10) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(value);
  return true;
}

// MurmurHash3_x86_32, seed 0: memcached's default hash, which orders its
// prefix table.
uint32_t Murmur3(std::string_view key) {
  const auto* data = reinterpret_cast<const uint8_t*>(key.data());
  const size_t blocks = key.size() / 4;
  uint32_t h = 0;
  constexpr uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
  for (size_t i = 0; i < blocks; ++i) {
    uint32_t k;
    std::memcpy(&k, data + i * 4, 4);
    k *= c1;
    k = std::rotl(k, 15);
    k *= c2;
    h ^= k;
    h = std::rotl(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  const uint8_t* tail = data + blocks * 4;
  uint32_t k = 0;
  switch (key.size() & 3) {
    case 3:
      k ^= static_cast<uint32_t>(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      k ^= static_cast<uint32_t>(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      k ^= tail[0];
      k *= c1;
      k = std::rotl(k, 15);
      k *= c2;
      h ^= k;
  }
  h ^= static_cast<uint32_t>(key.size());
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

std::string DumpPrefixes(PrefixStats& table) {
  std::lock_guard lock(table.mu);
  std::string out;
  for (const auto& bucket : table.buckets) {
    for (const PrefixCounters& p : bucket) {
      absl::StrAppend(&out, "PREFIX ", p.prefix, " get ", p.gets, " hit ", p.hits, " set ", p.sets,
                      " del ", p.deletes, "\r\n");
    }
  }
  out.append(mc::reply::kEnd);
  return out;
}

void ClearPrefixes(PrefixStats& table) {
  std::lock_guard lock(table.mu);
  for (auto& bucket : table.buckets) bucket.clear();
  table.count = 0;
}

// The general `stats`: memcached 1.6.18's fields, in its order, then
// xdpkv's own (the store's fixed tables, the kernel's counters). Counts
// since the last `stats reset`; get/set/delete counts add up both tiers,
// userspace's and the kernel's (xdp_memcache_*).
void GeneralStats(Store& store, const ServerContext& context, std::string* out) {
  const Stats& s = *context.stats;
  const NamedCounters raw = ResettableCounters(context, store);
  auto since = [&](std::string_view name) {
    return s.memcache_baseline.Since(name, CountOf(raw, name));
  };
  auto kernel = [&](std::string_view outcome) {
    return since(absl::StrCat("xdp_memcache_", std::string(outcome)));
  };
  auto counter = [&](std::string_view name) { Stat(out, name, since(name)); };
  // The kernel's mg and ms count as memcached counts them: a get (hit or
  // miss), a set (a cas with C).
  const uint64_t kernel_mg_hits = kernel("meta_get_hits");
  const uint64_t kernel_mg_misses = kernel("meta_get_misses");
  const uint64_t kernel_cas_hits = kernel("meta_cas_hits");
  const uint64_t kernel_cas_badval = kernel("meta_cas_exists");
  const uint64_t kernel_cas_misses = kernel("meta_cas_misses");
  const uint64_t kernel_ms_stored = kernel("meta_sets") + kernel_cas_hits;
  const int64_t now = time(nullptr);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const MemoryReport memory = store.Memory();
  const StoreCounters store_counters = store.Counters();
  Stat(out, "pid", static_cast<int64_t>(getpid()));
  Stat(out, "uptime", now - context.started_unix);
  Stat(out, "time", now);
  Stat(out, "version", context.memcache_version);
  Stat(out, "libevent", "none");  // xdpkv's loops are epoll's own
  Stat(out, "pointer_size", 64);
  Stat(out, "rusage_user", absl::StrFormat("%d.%06d", usage.ru_utime.tv_sec, usage.ru_utime.tv_usec));
  Stat(out, "rusage_system",
       absl::StrFormat("%d.%06d", usage.ru_stime.tv_sec, usage.ru_stime.tv_usec));
  Stat(out, "max_connections", context.runtime->memcache_max_connections.load());
  const uint64_t connections = Stats::Read(s.curr_connections);
  Stat(out, "curr_connections", connections);
  counter("total_connections");
  counter("rejected_connections");
  Stat(out, "connection_structures", connections);
  // memcached's response objects and read buffers are pools xdpkv has not.
  Stat(out, "response_obj_oom", 0);
  Stat(out, "response_obj_count", 0);
  Stat(out, "response_obj_bytes", 0);
  Stat(out, "read_buf_count", 0);
  Stat(out, "read_buf_bytes", 0);
  Stat(out, "read_buf_bytes_free", 0);
  Stat(out, "read_buf_oom", 0);
  Stat(out, "reserved_fds", context.threads);  // one spare per loop, for EMFILE
  Stat(out, "cmd_get",
       since("cmd_get") + kernel("get_hits") + kernel("get_misses") + kernel_mg_hits +
           kernel_mg_misses);
  Stat(out, "cmd_set",
       since("cmd_set") + kernel("sets") + kernel("store_full") + kernel_ms_stored +
           kernel_cas_badval + kernel_cas_misses);
  counter("cmd_flush");
  counter("cmd_touch");
  counter("cmd_meta");
  Stat(out, "get_hits", since("get_hits") + kernel("get_hits") + kernel_mg_hits);
  Stat(out, "get_misses", since("get_misses") + kernel("get_misses") + kernel_mg_misses);
  Stat(out, "get_expired", since("store_get_expired"));
  Stat(out, "get_flushed", 0);  // flush_all removes items at once
  Stat(out, "delete_misses", since("delete_misses") + kernel("delete_misses"));
  Stat(out, "delete_hits", since("delete_hits") + kernel("delete_hits"));
  counter("incr_misses");
  counter("incr_hits");
  counter("decr_misses");
  counter("decr_hits");
  Stat(out, "cas_misses", since("cas_misses") + kernel_cas_misses);
  Stat(out, "cas_hits", since("cas_hits") + kernel_cas_hits);
  Stat(out, "cas_badval", since("cas_badval") + kernel_cas_badval);
  counter("touch_hits");
  counter("touch_misses");
  counter("store_too_large");
  Stat(out, "store_no_memory", since("store_no_memory") + kernel("store_full"));
  counter("auth_cmds");
  counter("auth_errors");
  if (context.memcache.idle_timeout_s > 0) counter("idle_kicks");
  counter("bytes_read");
  counter("bytes_written");
  Stat(out, "limit_maxbytes", memory.limit_bytes);
  Stat(out, "accepting_conns", Stats::Read(s.accept_paused_loops) == 0 ? 1 : 0);
  counter("listen_disabled_num");
  counter("time_in_listen_disabled_us");
  Stat(out, "threads", context.threads);
  counter("conn_yields");
  // The item maps' buckets (16 bytes each, in the fixed tables): the hash
  // table memcached sizes by its hash_power_level. They never grow.
  const uint64_t buckets = store_counters.hash_buckets;
  Stat(out, "hash_power_level", buckets == 0 ? 0 : std::bit_width(buckets) - 1);
  Stat(out, "hash_bytes", memory.fixed_bytes);
  Stat(out, "hash_is_expanding", 0);
  for (std::string_view slabs : {"slab_reassign_rescues", "slab_reassign_chunk_rescues",
                                 "slab_reassign_evictions_nomem", "slab_reassign_inline_reclaim",
                                 "slab_reassign_busy_items", "slab_reassign_busy_deletes",
                                 "slab_reassign_running", "slabs_moved"}) {
    Stat(out, slabs, 0);  // no slabs to move
  }
  Stat(out, "lru_crawler_running", 0);
  Stat(out, "lru_crawler_starts", Stats::Read(s.crawler_starts));  // active expiry's passes
  Stat(out, "lru_maintainer_juggles", 0);
  Stat(out, "malloc_fails", 0);
  for (std::string_view log : {"log_worker_dropped", "log_worker_written", "log_watcher_skipped",
                               "log_watcher_sent"}) {
    Stat(out, log, 0);  // watchers are sent no log lines
  }
  Stat(out, "log_watchers", Stats::Read(s.log_watchers));
  Stat(out, "unexpected_napi_ids", 0);
  Stat(out, "round_robin_fallback", 0);
  // bytes: the items and values as the kernel allocated them; the store's
  // fixed tables are in limit_maxbytes too (docs/architecture.md, "Memory").
  Stat(out, "bytes", memory.used_bytes - memory.fixed_bytes);
  if (auto walked = store.Usage(); walked.ok()) Stat(out, "curr_items", walked->items);
  Stat(out, "total_items", since("total_items") + kernel("sets") + kernel_ms_stored);
  Stat(out, "slab_global_page_pool", 0);
  Stat(out, "expired_unfetched", since("expired_keys"));
  Stat(out, "evicted_unfetched", since("store_evicted_unfetched"));
  Stat(out, "evicted_active", since("store_evicted_active"));
  Stat(out, "evictions", since("store_evictions"));
  Stat(out, "reclaimed", since("store_reclaimed"));
  Stat(out, "crawler_reclaimed", since("expired_keys"));
  Stat(out, "crawler_items_checked", 0);
  Stat(out, "lrutail_reflocked", 0);
  Stat(out, "moves_to_cold", 0);
  Stat(out, "moves_to_warm", 0);
  Stat(out, "moves_within_lru", 0);
  Stat(out, "direct_reclaims", since("store_direct_reclaims"));
  Stat(out, "lru_bumps_dropped", 0);
  // xdpkv's own.
  Stat(out, "store_fixed_bytes", memory.fixed_bytes);
  Stat(out, "xdp_kernel_memlock", memory.kernel_memlock);
  Stat(out, "userspace_cmd_get", since("cmd_get"));
  Stat(out, "userspace_cmd_set", since("cmd_set"));
  for (const auto& [name, count] : raw) {
    if (name.starts_with("xdp_")) Stat(out, name, since(name));
  }
  out->append(mc::reply::kEnd);
}

// `stats settings`: memcached 1.6.18's fields in its order, with xdpkv's
// values. memcached's slab geometry (growth_factor, chunk_size,
// slab_chunk_max) is its default: xdpkv reports item classes by it. Knobs
// of parts xdpkv does not have read as off or 0; the extstore and TLS
// blocks are left out, as a memcached built without them does.
void SettingsStats(Store& store, const ServerContext& context, std::string* out) {
  const MemcacheSettings& m = context.memcache;
  const RuntimeConfig& runtime = *context.runtime;
  const MemoryReport memory = store.Memory();
  // memcached's clock starts 2 s before the process; oldest is that clock
  // at the last flush_all, less one.
  const int64_t flushed = runtime.memcache_flushed_at.load();
  Stat(out, "maxbytes", memory.limit_bytes);
  Stat(out, "maxconns", runtime.memcache_max_connections.load());
  Stat(out, "tcpport", m.tcp_port);
  Stat(out, "udpport", m.udp_port);
  Stat(out, "inter", m.listen.empty() ? std::string("NULL") : m.listen);
  Stat(out, "verbosity", runtime.memcache_verbosity.load());
  Stat(out, "oldest", flushed == 0 ? 0 : std::max<int64_t>(0, flushed - context.started_unix + 1));
  Stat(out, "evictions", memory.policy == EvictionPolicy::kNoEviction ? "off" : "on");
  Stat(out, "domain_socket", m.unix_socket.empty() ? std::string("NULL") : m.unix_socket);
  Stat(out, "umask", absl::StrFormat("%o", m.unix_mask));
  Stat(out, "shutdown_command", YesNo(m.shutdown_enabled));
  Stat(out, "growth_factor", "1.25");
  Stat(out, "chunk_size", 48);
  Stat(out, "num_threads", context.threads);
  Stat(out, "num_threads_per_udp", context.threads);
  Stat(out, "stat_key_prefix", std::string(1, m.prefix_delimiter));
  Stat(out, "detail_enabled", YesNo(runtime.memcache_detail.load()));
  Stat(out, "reqs_per_event", m.reqs_per_event);
  Stat(out, "cas_enabled", YesNo(m.cas_enabled));
  Stat(out, "tcp_backlog", m.tcp_backlog);
  Stat(out, "binding_protocol", m.binding_protocol);
  Stat(out, "auth_enabled_sasl", "no");
  Stat(out, "auth_enabled_ascii", YesNo(context.memcache_auth != nullptr));
  Stat(out, "item_size_max", context.max_item_size);
  Stat(out, "maxconns_fast", "yes");
  Stat(out, "hashpower_init", 0);
  Stat(out, "slab_reassign", "no");
  Stat(out, "slab_automove", 0);
  Stat(out, "slab_automove_ratio", "0.00");
  Stat(out, "slab_automove_window", 0);
  Stat(out, "slab_chunk_max", kSlabChunkMax);
  Stat(out, "lru_crawler", "yes");  // active expiry (proxy/chores.h)
  Stat(out, "lru_crawler_sleep", 0);
  Stat(out, "lru_crawler_tocrawl", 0);
  Stat(out, "tail_repair_time", 0);
  Stat(out, "flush_enabled", YesNo(m.flush_enabled));
  Stat(out, "dump_enabled", YesNo(m.dump_enabled));
  Stat(out, "hash_algorithm", "jenkins");  // the kernel's hash maps use jhash
  Stat(out, "lru_maintainer_thread", "no");
  Stat(out, "lru_segmented", "no");
  Stat(out, "hot_lru_pct", 0);
  Stat(out, "warm_lru_pct", 0);
  Stat(out, "hot_max_factor", "0.00");
  Stat(out, "warm_max_factor", "0.00");
  Stat(out, "temp_lru", "no");
  Stat(out, "temporary_ttl", 0);
  Stat(out, "idle_timeout", m.idle_timeout_s);
  Stat(out, "watcher_logbuf_size", 0);
  Stat(out, "worker_logbuf_size", 0);
  Stat(out, "read_buf_mem_limit", 0);
  Stat(out, "track_sizes", "no");
  Stat(out, "inline_ascii_response", "no");
  Stat(out, "num_napi_ids", "(null)");
  Stat(out, "memory_file", "(null)");
  out->append(mc::reply::kEnd);
}

// Per memcached slab class: its items, their bytes, the oldest access.
struct ClassFigures {
  uint64_t items = 0;
  uint64_t bytes = 0;
  uint32_t oldest_atime_s = UINT32_MAX;
};

// One walk of the store (O(items), as curr_items'), by slab class.
absl::StatusOr<std::map<uint32_t, ClassFigures>> ByClass(Store& store, const ServerContext& context) {
  std::map<uint32_t, ClassFigures> classes;
  uint64_t cursor = 0;
  do {
    auto page = store.Scan(cursor, 4096);
    if (!page.ok()) return page.status();
    for (size_t i = 0; i < page->keys.size(); ++i) {
      const ItemMeta& meta = page->metas[i];
      const bool cas = context.memcache.cas_enabled;
      ClassFigures& c =
          classes[SlabClassOf(page->keys[i].size(), meta.value_len, meta.flags, cas)];
      ++c.items;
      c.bytes += ItemTotalSize(page->keys[i].size(), meta.value_len, meta.flags, cas);
      c.oldest_atime_s = std::min(c.oldest_atime_s, meta.atime_s);
    }
    cursor = page->next_cursor;
  } while (cursor != 0);
  return classes;
}

// `stats items`: for each class holding items, what xdpkv knows: the count
// and bytes, and the oldest access as the age. There is one LRU, memcached's
// flat one, so every item is "cold". Per-class event counters (evicted,
// hits_to_*, ...) are not kept per class, and are left out.
void ItemsStats(Store& store, const ServerContext& context, std::string* out) {
  auto classes = ByClass(store, context);
  if (!classes.ok()) {
    absl::StrAppend(out, "SERVER_ERROR ", std::string(classes.status().message()), "\r\n");
    return;
  }
  const uint64_t now_s = context.now_boot_ms() / 1000;
  for (const auto& [slab_class, c] : *classes) {
    const std::string prefix = absl::StrCat("items:", slab_class, ":");
    auto line = [&](std::string_view name, uint64_t value) {
      Stat(out, absl::StrCat(prefix, std::string(name)), value);
    };
    line("number", c.items);
    line("number_hot", 0);
    line("number_warm", 0);
    line("number_cold", c.items);
    line("age_hot", 0);
    line("age_warm", 0);
    line("age", now_s > c.oldest_atime_s ? now_s - c.oldest_atime_s : 0);
    line("mem_requested", c.bytes);
  }
  out->append(mc::reply::kEnd);
}

// `stats slabs`: the classes memcached would hold these items in, and the
// pages it would need for them; per-class command counters are not kept
// per class and are left out. total_malloced is the store's item memory.
void SlabsStats(Store& store, const ServerContext& context, std::string* out) {
  auto classes = ByClass(store, context);
  if (!classes.ok()) {
    absl::StrAppend(out, "SERVER_ERROR ", std::string(classes.status().message()), "\r\n");
    return;
  }
  for (const auto& [slab_class, c] : *classes) {
    const uint32_t cls = slab_class;
    const uint64_t per_page = SlabChunksPerPage(cls);
    const uint64_t pages = (c.items + per_page - 1) / per_page;
    auto line = [&](std::string_view name, uint64_t value) {
      Stat(out, absl::StrCat(cls, ":", std::string(name)), value);
    };
    line("chunk_size", SlabChunkSize(cls));
    line("chunks_per_page", per_page);
    line("total_pages", pages);
    line("total_chunks", pages * per_page);
    line("used_chunks", c.items);
    line("free_chunks", pages * per_page - c.items);
    line("free_chunks_end", 0);
  }
  const MemoryReport memory = store.Memory();
  Stat(out, "active_slabs", classes->size());
  Stat(out, "total_malloced", memory.used_bytes - memory.fixed_bytes);
  out->append(mc::reply::kEnd);
}

// `stats cachedump <class> <limit>`: keys of one class, most recently used
// first (memcached lists its cold LRU; xdpkv's one LRU is all of it).
void CacheDump(const mc::Command& command, Store& store, const ServerContext& context,
               std::string* out) {
  if (!context.memcache.dump_enabled) {
    out->append("CLIENT_ERROR stats cachedump not allowed\r\n");
    return;
  }
  if (command.args.size() < 3) {
    out->append("CLIENT_ERROR bad command line\r\n");
    return;
  }
  uint32_t id = 0, limit = 0;
  if (!ParseU32(command.args[1], &id) || !ParseU32(command.args[2], &limit)) {
    out->append(mc::reply::kBadFormat);
    return;
  }
  if (id >= kMaxSlabClasses) {
    out->append("CLIENT_ERROR Illegal slab id\r\n");
    return;
  }
  struct Entry {
    uint32_t atime_s;
    uint64_t cas;
    std::string line;
  };
  std::vector<Entry> entries;
  uint64_t cursor = 0;
  const bool cas = context.memcache.cas_enabled;
  do {
    auto page = store.Scan(cursor, 4096);
    if (!page.ok()) {
      absl::StrAppend(out, "SERVER_ERROR ", std::string(page.status().message()), "\r\n");
      return;
    }
    for (size_t i = 0; i < page->keys.size(); ++i) {
      const ItemMeta& meta = page->metas[i];
      if (SlabClassOf(page->keys[i].size(), meta.value_len, meta.flags, cas) != id) continue;
      const uint64_t expires_unix =
          meta.expires_at_ms == 0
              ? 0
              : (meta.expires_at_ms + static_cast<uint64_t>(context.unix_minus_boot_ms)) / 1000;
      entries.push_back({meta.atime_s, meta.cas,
                         absl::StrCat("ITEM ", page->keys[i], " [", meta.value_len, " b; ",
                                      expires_unix, " s]\r\n")});
    }
    cursor = page->next_cursor;
  } while (cursor != 0);
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.atime_s != b.atime_s ? a.atime_s > b.atime_s : a.cas > b.cas;
  });
  // memcached stops at its 2 MB buffer too.
  constexpr size_t kMaxDump = 2 * 1024 * 1024;
  size_t written = 0, shown = 0;
  for (const Entry& e : entries) {
    if ((limit != 0 && shown >= limit) || written + e.line.size() + 6 > kMaxDump) break;
    out->append(e.line);
    written += e.line.size();
    ++shown;
  }
  out->append(mc::reply::kEnd);
}

}  // namespace

uint32_t ItemTotalSize(size_t key_len, size_t value_len, uint32_t flags, bool cas_enabled) {
  return static_cast<uint32_t>(kItemHeader + key_len + 1 + (flags != 0 ? 4 : 0) + value_len + 2 +
                               (cas_enabled ? 8 : 0));
}

uint32_t SlabClassOf(size_t key_len, size_t value_len, uint32_t flags, bool cas_enabled) {
  const uint32_t total = ItemTotalSize(key_len, value_len, flags, cas_enabled);
  if (total <= kSlabChunkMax) return ClassForBytes(total);
  // Chunked: the header item lives in the class of its own size.
  return ClassForBytes(static_cast<uint32_t>(kItemHeader + kChunkHeader + key_len + 1 +
                                             (flags != 0 ? 4 : 0) + (cas_enabled ? 8 : 0)));
}

uint32_t SlabChunkSize(uint32_t cls) { return cls < kMaxSlabClasses ? Slabs().size[cls] : 0; }

uint32_t SlabChunksPerPage(uint32_t cls) {
  const uint32_t size = SlabChunkSize(cls);
  return size == 0 ? 0 : kSlabPage / size;
}

uint32_t FetchedBits(uint32_t mc_bits, bool* activates) {
  *activates = false;
  if ((mc_bits & XDPKV_MC_FETCHED) == 0) return mc_bits | XDPKV_MC_FETCHED;
  if ((mc_bits & XDPKV_MC_ACTIVE) == 0) {
    *activates = true;
    return mc_bits | XDPKV_MC_ACTIVE;
  }
  return mc_bits;
}

void MarkFetched(Store& store, std::string_view key, const StoredItem& item,
                 const ServerContext& context) {
  bool activates = false;
  const uint32_t bits = FetchedBits(item.mc_bits, &activates);
  if (bits == item.mc_bits) return;
  const uint32_t atime_s =
      activates ? static_cast<uint32_t>(context.now_boot_ms() / 1000) : item.atime_s;
  // Only this version: a write since has its own flags.
  (void)store.SetItemMeta(key, item.cas, bits, atime_s);
}

void RecordPrefix(const ServerContext& context, std::string_view key, PrefixOp op) {
  if (!context.runtime->memcache_detail.load(std::memory_order_relaxed)) return;
  const size_t end = key.find(context.memcache.prefix_delimiter);
  if (end == std::string_view::npos) return;  // memcached records prefixed keys only
  const std::string_view prefix = key.substr(0, end);
  PrefixStats& table = context.stats->prefix_stats;
  std::lock_guard lock(table.mu);
  auto& bucket = table.buckets[Murmur3(prefix) % PrefixStats::kBuckets];
  auto it = std::find_if(bucket.begin(), bucket.end(),
                         [&](const PrefixCounters& p) { return p.prefix == prefix; });
  if (it == bucket.end()) {
    if (table.count >= PrefixStats::kMaxPrefixes) return;
    ++table.count;
    bucket.insert(bucket.begin(), PrefixCounters{std::string(prefix)});  // newest first
    it = bucket.begin();
  }
  switch (op) {
    case PrefixOp::kGetHit:
      ++it->hits;
      [[fallthrough]];
    case PrefixOp::kGetMiss:
      ++it->gets;
      break;
    case PrefixOp::kSet:
      ++it->sets;
      break;
    case PrefixOp::kDelete:
      ++it->deletes;
      break;
  }
}

void Statistics(const mc::Command& command, Store& store, const ServerContext& context,
                std::string* out) {
  if (command.args.empty()) {
    GeneralStats(store, context, out);
    return;
  }
  const std::string_view sub = command.args[0];
  if (sub == "reset") {
    // As memcached: every counter but the gauges (connections open, items),
    // the kernel's included, and the prefix counters.
    context.stats->memcache_baseline.Reset(ResettableCounters(context, store));
    ClearPrefixes(context.stats->prefix_stats);
    out->append(mc::reply::kReset);
  } else if (sub == "detail") {
    const std::string_view arg = command.args.size() > 1 ? command.args[1] : "";
    if (arg == "on" || arg == "off") {
      context.runtime->memcache_detail = arg == "on";
      out->append(mc::reply::kOk);
    } else if (arg == "dump") {
      out->append(DumpPrefixes(context.stats->prefix_stats));
    } else {
      out->append("CLIENT_ERROR usage: stats detail on|off|dump\r\n");
    }
  } else if (sub == "settings") {
    SettingsStats(store, context, out);
  } else if (sub == "items") {
    ItemsStats(store, context, out);
  } else if (sub == "slabs") {
    SlabsStats(store, context, out);
  } else if (sub == "sizes") {
    out->append("STAT sizes_status disabled\r\nEND\r\n");  // as memcached without track_sizes
  } else if (sub == "cachedump") {
    CacheDump(command, store, context, out);
  } else if (sub == "conns" || sub == "extstore") {
    out->append(mc::reply::kEnd);
  } else {
    out->append(mc::reply::kError);  // as memcached, also for "stats noreply"
  }
}

AfterReply Shutdown(const mc::Command& command, const ServerContext& context, std::string* out) {
  if (!context.memcache.shutdown_enabled) {
    out->append("ERROR: shutdown not enabled\r\n");
    return AfterReply::kContinue;
  }
  if (!command.args.empty() && !(command.args.size() == 1 && command.args[0] == "graceful")) {
    out->append("CLIENT_ERROR invalid shutdown mode\r\n");
    return AfterReply::kContinue;
  }
  // Both forms stop xdpkv as SIGTERM does (it always drains, and the
  // pinned store outlives it); memcached closes this connection at once.
  if (context.memcache_shutdown) context.memcache_shutdown();
  return AfterReply::kCloseDiscardingUnsent;
}

void CacheMemlimit(const mc::Command& command, Store& store, std::string* out) {
  auto reply = [&](std::string_view text) {
    if (!command.noreply) out->append(text);
  };
  if (command.memlimit_mb < 8) return reply("MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n");
  if (command.memlimit_mb > 1000000000) {
    return reply("MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n");
  }
  // The store's limit as -m sets it; it cannot go past what the maps were
  // sized for at start, nor under their fixed tables.
  if (!store.SetMemoryLimit(uint64_t{command.memlimit_mb} << 20).ok()) {
    return reply("MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n");
  }
  reply(mc::reply::kOk);
}

AfterReply Watch(const mc::Command& command, const ServerContext& context,
                 const Connection& connection, std::string* out) {
  auto reply = [&](std::string_view text) {
    if (!command.noreply) out->append(text);
    return AfterReply::kContinue;
  };
  if (!context.memcache.watch_enabled) return reply("CLIENT_ERROR watch commands not allowed\r\n");
  if (connection.has_unsent_replies) {
    return reply("ERROR cannot pipeline other commands before watch\r\n");
  }
  for (std::string_view type : command.args) {
    if (type != "rawcmds" && type != "evictions" && type != "fetchers" && type != "mutations" &&
        type != "sysevents" && type != "connevents" && type != "proxyreqs" &&
        type != "proxyevents" && type != "proxyuser") {
      return reply(mc::reply::kError);
    }
  }
  reply(mc::reply::kOk);
  return AfterReply::kBecomeWatcher;
}

void LruCrawler(const mc::Command& command, const ServerContext& context,
                const Connection& connection, std::string* out, std::optional<Metadump>* dump) {
  const auto& args = command.args;
  if (args.size() == 2 && args[0] == "metadump") {
    if (!context.memcache.dump_enabled) {
      out->append("ERROR metadump not allowed\r\n");
      return;
    }
    if (connection.has_unsent_replies) {
      out->append("ERROR cannot pipeline other commands before metadump\r\n");
      return;
    }
    // "all", "hash" (every item, in xdpkv's one order) or class ids
    // "1,12".
    uint64_t classes = 0;
    if (args[1] == "all" || args[1] == "hash") {
      classes = ~uint64_t{0};
    } else {
      std::string_view list = args[1];
      while (true) {
        const size_t comma = list.find(',');
        uint32_t cls = 0;
        if (!ParseU32(list.substr(0, comma), &cls) || cls == 0 || cls >= kMaxSlabClasses) {
          out->append("BADCLASS invalid class id\r\n");
          return;
        }
        classes |= uint64_t{1} << cls;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
    }
    dump->emplace(Metadump{0, classes});
    return;
  }
  if (args.size() == 2 && args[0] == "crawl") {
    // Active expiry crawls for expired items all along.
    out->append(mc::reply::kOk);
    return;
  }
  out->append(mc::reply::kError);
}

bool ContinueMetadump(Metadump& dump, Store& store, const ServerContext& context,
                      std::string* out, size_t out_limit) {
  const bool cas = context.memcache.cas_enabled;
  const int64_t unix_minus_boot_s = context.unix_minus_boot_ms / 1000;
  do {
    if (out->size() > out_limit) return false;
    // Small steps: the output limit is looked at between them.
    auto page = store.Scan(dump.cursor, 64);
    if (!page.ok()) {
      absl::StrAppend(out, "SERVER_ERROR ", std::string(page.status().message()), "\r\n");
      return true;
    }
    for (size_t i = 0; i < page->keys.size(); ++i) {
      const std::string& key = page->keys[i];
      const ItemMeta& meta = page->metas[i];
      const uint32_t cls = SlabClassOf(key.size(), meta.value_len, meta.flags, cas);
      if ((dump.classes & (uint64_t{1} << cls)) == 0) continue;
      // Keys URI-encoded, as memcached's metadump writes them.
      std::string encoded;
      for (unsigned char c : key) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
          encoded.push_back(static_cast<char>(c));
        } else {
          absl::StrAppend(&encoded, absl::StrFormat("%%%02X", c));
        }
      }
      const int64_t exp =
          meta.expires_at_ms == 0
              ? -1
              : static_cast<int64_t>((meta.expires_at_ms + context.unix_minus_boot_ms) / 1000);
      absl::StrAppend(out, "key=", encoded, " exp=", exp, " la=", meta.atime_s + unix_minus_boot_s,
                      " cas=", cas ? meta.cas : 0, " fetch=", YesNo(meta.mc_bits & XDPKV_MC_FETCHED),
                      " cls=", cls, " size=", ItemTotalSize(key.size(), meta.value_len, meta.flags, cas),
                      "\n");
    }
    dump.cursor = page->next_cursor;
  } while (dump.cursor != 0);
  out->append(mc::reply::kEnd);
  return true;
}

}  // namespace xdpkv::memcache_family
