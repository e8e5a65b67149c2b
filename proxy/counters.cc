// The counters memcached's `stats` and Redis's INFO report, by name, so a
// protocol's reset can take a baseline of all of them at once (handlers.h).
#include <string_view>

#include "proxy/handlers.h"

namespace xdpkv {

NamedCounters ResettableCounters(const ServerContext& context, Store& store) {
  const ServerStats& s = *context.stats;
  auto read = [](const ServerStats::Counter& c) { return ServerStats::Read(c); };
  NamedCounters counters = {
      {"total_connections", read(s.total_connections)},
      {"commands", read(s.commands)},
      {"cmd_get", read(s.cmd_get)},
      {"cmd_set", read(s.cmd_set)},
      {"cmd_flush", read(s.cmd_flush)},
      {"cmd_touch", read(s.cmd_touch)},
      {"get_hits", read(s.get_hits)},
      {"get_misses", read(s.get_misses)},
      {"delete_hits", read(s.delete_hits)},
      {"delete_misses", read(s.delete_misses)},
      {"incr_hits", read(s.incr_hits)},
      {"incr_misses", read(s.incr_misses)},
      {"decr_hits", read(s.decr_hits)},
      {"decr_misses", read(s.decr_misses)},
      {"cas_hits", read(s.cas_hits)},
      {"cas_misses", read(s.cas_misses)},
      {"cas_badval", read(s.cas_badval)},
      {"touch_hits", read(s.touch_hits)},
      {"touch_misses", read(s.touch_misses)},
      {"expired_keys", read(s.expired_keys)},
      {"rejected_connections", read(s.rejected_connections)},
      {"listen_disabled_num", read(s.listen_disabled_num)},
      {"time_in_listen_disabled_us", read(s.time_in_listen_disabled_us)},
      {"conn_yields", read(s.conn_yields)},
      {"idle_kicks", read(s.idle_kicks)},
      {"cmd_meta", read(s.cmd_meta)},
      {"store_too_large", read(s.store_too_large)},
      {"store_no_memory", read(s.store_no_memory)},
      {"auth_cmds", read(s.auth_cmds)},
      {"auth_errors", read(s.auth_errors)},
      {"bytes_read", read(s.bytes_read)},
      {"bytes_written", read(s.bytes_written)},
      {"total_items", read(s.total_items)},
      {"keyspace_hits", read(s.keyspace_hits)},
      {"keyspace_misses", read(s.keyspace_misses)},
  };
  const StoreCounters store_counters = store.Counters();
  const MemoryReport memory = store.Memory();
  counters.insert(counters.end(),
                  {{"store_get_expired", store_counters.get_expired},
                   {"store_reclaimed", store_counters.reclaimed},
                   {"store_evictions", memory.evicted_keys},
                   {"store_evicted_unfetched", store_counters.evicted_unfetched},
                   {"store_evicted_active", store_counters.evicted_active},
                   {"store_direct_reclaims", store_counters.direct_reclaims}});
  if (context.xdp_counters) {
    for (auto& named : context.xdp_counters()) counters.push_back(std::move(named));
  }
  return counters;
}

uint64_t CountOf(const NamedCounters& counters, std::string_view name) {
  for (const auto& [counter, count] : counters) {
    if (counter == name) return count;
  }
  return 0;
}

}  // namespace xdpkv
