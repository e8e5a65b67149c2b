// What memcached's command families share (internal to proxy/memcache_*.cc):
// the data commands are in memcache_handlers.cc, the admin commands (stats
// and its subcommands, shutdown, cache_memlimit, watch, lru_crawler) in
// memcache_admin.cc, the meta commands in memcache_meta.cc.
#ifndef XDPKV_PROXY_MEMCACHE_FAMILY_H_
#define XDPKV_PROXY_MEMCACHE_FAMILY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/memcache_text.h"
#include "proxy/handlers.h"

namespace xdpkv::memcache_family {

// --- memcached's item geometry -------------------------------------------------
//
// xdpkv has no slab allocator, but memcached's tools read item sizes and
// slab classes (`me`, metadump's size= and cls=, stats items/slabs). They
// are computed as memcached 1.6.18 computes them with its defaults (item
// header 48 bytes, -f 1.25, -n 48, slab_chunk_max 512k, 1 MiB pages), so a
// memcached holding the same items would report the same figures.

// ITEM_ntotal: header, key and its NUL, the flags if any, the value and its
// \r\n, the CAS unique unless -C.
uint32_t ItemTotalSize(size_t key_len, size_t value_len, uint32_t flags, bool cas_enabled);
// The slab class memcached would keep such an item in (its header's class
// for an item over slab_chunk_max, as memcached chunks those).
uint32_t SlabClassOf(size_t key_len, size_t value_len, uint32_t flags, bool cas_enabled);
// A class's chunk size and chunks per 1 MiB page.
uint32_t SlabChunkSize(uint32_t cls);
uint32_t SlabChunksPerPage(uint32_t cls);
// memcached has no types: an item of another Redis type (a hash) is not
// there for it, and its writes replace it as Redis's SET does.
inline std::optional<StoredItem> StringOnly(const std::optional<StoredItem>& item) {
  if (item && item->type != ValueType::kString) return std::nullopt;
  return item;
}

inline constexpr uint32_t kMaxSlabClasses = 64;  // MAX_NUMBER_OF_SLAB_CLASSES

// --- per-item flags on a fetch -------------------------------------------------

// memcached's bump of an item a read hit (do_item_bump, segmented LRU):
// the first hit marks it fetched, the second active, and only then does
// its access time move (*activates); later hits change nothing. The flags
// (XDPKV_MC_*) after this hit.
uint32_t FetchedBits(uint32_t mc_bits, bool* activates);
// Writes that bump (only on an item's first two hits: a cheap write of its
// flags, not its value).
void MarkFetched(Store& store, std::string_view key, const StoredItem& item,
                 const ServerContext& context);

// --- stats detail -------------------------------------------------------------

// Records a get (hit or miss), a set or a delete of `key` for `stats
// detail dump`, when detail is on and the key has the prefix delimiter.
enum class PrefixOp { kGetHit, kGetMiss, kSet, kDelete };
void RecordPrefix(const ServerContext& context, std::string_view key, PrefixOp op);

// --- admin commands -----------------------------------------------------------

// What an admin command needs of its connection.
struct Connection {
  // memcached's resp_has_stack: replies read with this request and not
  // yet sent (watch and metadump refuse to follow them).
  bool has_unsent_replies = false;
};

void Statistics(const memcache::Command& command, Store& store, const ServerContext& context,
                std::string* out);
// shutdown: memcached's refusals, or the server stops (the connection
// closes without a reply).
AfterReply Shutdown(const memcache::Command& command, const ServerContext& context,
                    std::string* out);
void CacheMemlimit(const memcache::Command& command, Store& store, std::string* out);
// watch: memcached's reply; kBecomeWatcher when the connection now only
// watches (xdpkv logs nothing to it: docs/protocols.md).
AfterReply Watch(const memcache::Command& command, const ServerContext& context,
                 const Connection& connection, std::string* out);

// lru_crawler metadump streams the store's items: what is left of it.
struct Metadump {
  uint64_t cursor = 0;
  uint64_t classes = 0;  // bit per slab class; all set for "all"/"hash"
};
// lru_crawler <sub> ...: answered at once, or a metadump to stream
// (*dump set; ContinueMetadump writes it).
void LruCrawler(const memcache::Command& command, const ServerContext& context,
                const Connection& connection, std::string* out, std::optional<Metadump>* dump);
// Writes what is left of `dump`, stopping once out->size() exceeds
// `out_limit`; true when done (its END written).
bool ContinueMetadump(Metadump& dump, Store& store, const ServerContext& context,
                      std::string* out, size_t out_limit);

// --- meta commands (memcache_meta.cc) -------------------------------------------

// mg ms md ma mn me, as memcached 1.6.18 answers them.
AfterReply Meta(const memcache::Command& command, Store& store, const ServerContext& context,
                std::string* out);

}  // namespace xdpkv::memcache_family

#endif  // XDPKV_PROXY_MEMCACHE_FAMILY_H_
