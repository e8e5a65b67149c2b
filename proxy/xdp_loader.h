// RAII owner of xdpkv's BPF object: opens the embedded skeleton, sets its
// configuration, pins or reuses the store maps, loads it, and attaches it
// to interfaces through BPF links (detached when the loader goes away).
#ifndef XDPKV_PROXY_XDP_LOADER_H_
#define XDPKV_PROXY_XDP_LOADER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proxy/admission.h"
#include "proxy/eviction.h"
#include "proxy/map_memory.h"
#include "proxy/store_layout.h"
#include "proxy/store_resize.h"

struct xdpkv_bpf;

namespace xdpkv {

enum class XdpMode { kNative, kGeneric };
const char* XdpModeName(XdpMode mode);

struct XdpConfig {
  uint16_t memcache_udp_port = 11211;
  uint16_t resp_udp_port = 6379;
  // memcached's -C off: the kernel passes what shows or compares a CAS.
  bool cas_enabled = true;
  // -I: longer values are userspace's to refuse (the kernel passes them).
  uint32_t max_value_len = XDPKV_MAX_VALUE_LEN;
  // bpffs directory for the store maps; a restart reuses what is pinned
  // there. Empty: unpinned maps that die with the loader (tests).
  std::string pin_dir;
  // Drop whatever is pinned in pin_dir before loading.
  bool fresh = false;
  // When pin_dir holds no store (or fresh dropped it), create the new one
  // unpinned: PinStore() pins it once it is filled (a snapshot loaded into
  // it), so a server that dies while filling it leaves no store behind and
  // the next start fills it again. An existing store is reused as always.
  bool defer_pinning_new_store = false;
  // The store's memory limit in bytes as the kernel allocates it (-m):
  // the maps' fixed bucket arrays plus every item and blob element. Each
  // map is sized so that no class runs out of entries before the limit.
  // 0: no limit, the maps at the program's sizes (1M items per key class,
  // 64k blobs per value class).
  uint64_t memory_limit_bytes = 0;
  // Entries per map, over whatever the limit would give (tests and
  // benches: a store whose classes are full after a few items). 0: unset.
  uint32_t max_items_per_class = 0;
  // What a restart over a store sized for another limit evicts to fit
  // this one (proxy/store_resize.h), as the server evicts when full.
  EvictionPolicy eviction_policy = EvictionPolicy::kAllKeysLru;
  LfuParams lfu;
  // Admission (proxy/admission.h; docs/architecture.md, "Admission"): the
  // addresses the server listens on (0.0.0.0 and :: stand for every
  // address of an interface XDP is on), the sources the kernel may answer
  // (CIDRs), the reply cap for non-loopback sources, and our other ports
  // (a datagram from one of them, or from the UDP ports above, is never
  // answered).
  std::vector<std::string> listen_addresses = {"0.0.0.0", "::"};
  std::vector<std::string> udp_allow = DefaultUdpAllow();
  uint32_t max_reply_bytes = kDefaultUdpMaxReplyBytes;
  std::vector<uint16_t> other_service_ports;
};

// Counters summed over CPUs, [protocol][reason].
struct XdpCounters {
  uint64_t count[XDPKV_PROTO_COUNT][XDPKV_REASON_COUNT] = {};
  uint64_t Get(xdpkv_proto proto, xdpkv_reason reason) const { return count[proto][reason]; }
  // " memcache.get_hits=3 resp.sets=1 ..." for every non-zero counter.
  std::string Format() const;
};

class XdpLoader {
 public:
  static absl::StatusOr<std::unique_ptr<XdpLoader>> Load(const XdpConfig& config);
  ~XdpLoader();
  XdpLoader(const XdpLoader&) = delete;
  XdpLoader& operator=(const XdpLoader&) = delete;

  // Attaches XDP to `interface`, and the TC tier beside it (a TC tier that
  // cannot be attached is logged, not an error: userspace serves its part).
  absl::Status Attach(const std::string& interface, XdpMode mode);
  // Whether the store maps were created by this load (none was pinned in
  // pin_dir, it was dropped with --fresh, or there is no pin_dir), as
  // opposed to reused from the pins.
  bool store_created() const { return store_created_; }
  // What this load did to a pinned store sized for another limit or
  // layout (ResizePlan::Summary), or empty: none was resized.
  const std::string& resize_summary() const { return resize_summary_; }
  // Pins a new store whose pinning was deferred (defer_pinning_new_store);
  // a no-op otherwise. All maps or none.
  absl::Status PinStore();
  // Interfaces the TC tier (bpf/xdpkv_tc.bpf.c) is attached to.
  const std::vector<std::string>& tc_interfaces() const { return tc_interfaces_; }
  int program_fd() const;
  // The compare-and-set program (struct xdpkv_cas_request).
  int cas_program_fd() const;
  // The batched-read program (struct xdpkv_read_request) and its slots,
  // mmapped (XDPKV_READ_SLOTS of struct xdpkv_read_slot).
  int read_program_fd() const;
  xdpkv_read_slot* read_slots() const { return read_slots_; }
  // A read slot of its own for the calling thread, or -1 when all are
  // taken (each thread keeps the first it got). The thread's write slot
  // has the same index.
  int ReadSlotForThisThread() const;
  // The batched-write program (struct xdpkv_write_request) and its slots,
  // mmapped (XDPKV_WRITE_SLOTS of struct xdpkv_write_slot).
  int write_program_fd() const;
  xdpkv_write_slot* write_slots() const { return write_slots_; }
  // The store maps: items, one per key class; out-of-line values, one per
  // value class (proxy/store_layout.h).
  std::array<int, XDPKV_KEY_CLASS_COUNT> item_map_fds() const;
  std::array<int, XDPKV_BLOB_CLASS_COUNT> blob_map_fds() const;
  // Values over 64 KiB, in chunks (struct xdpkv_chunk).
  int chunk_map_fd() const;
  // The CAS counter shared with the XDP program (atomic increments only).
  uint64_t* cas_counter() const;
  // Re-reads CLOCK_REALTIME - CLOCK_BOOTTIME for absolute exptimes.
  void RefreshClockOffset();
  absl::StatusOr<XdpCounters> ReadCounters() const;
  // The store's memory (struct xdpkv_memory, shared with the programs).
  xdpkv_memory* memory() const;
  // Bytes of the maps' fixed parts (structs and bucket arrays).
  uint64_t fixed_bytes() const { return fixed_bytes_; }
  // The store maps' elements counted from the kernel's figures, at what
  // each takes (what xdpkv_memory.used_bytes keeps; O(maps), not O(items)).
  absl::StatusOr<uint64_t> CountElementBytes() const;
  // Items in each key class's map, from the kernel's figures.
  absl::StatusOr<std::array<uint64_t, XDPKV_KEY_CLASS_COUNT>> ItemCounts() const;
  // The kernel's own figure for the store maps: the sum of their memlock.
  absl::StatusOr<uint64_t> KernelMemlock() const;
  // Hash buckets of each key class's map (where a sample may start).
  std::array<uint32_t, XDPKV_KEY_CLASS_COUNT> item_buckets() const;
  // Rewrites the admission maps from the host as it is now: lo and every
  // attached interface, their MACs and addresses (main calls it once a
  // second, so address changes are followed within a second).
  absl::Status RefreshAdmission();
  // Writes exactly `table` into the admission maps (tests craft theirs).
  absl::Status SetAdmissionTable(const AdmissionTable& table);

 private:
  explicit XdpLoader(xdpkv_bpf* skeleton) : skeleton_(skeleton) {}
  // Load's steps over the store maps (proxy/xdp_loader_store.cc): the
  // element costs and each map's entries for the limit; what is pinned
  // already (reused, refused, or planned for a resize); after loading, the
  // resize's copy and pins.
  absl::Status SizeStoreMaps(const XdpConfig& config, const HtabModel& model);
  absl::Status OpenPinnedStore(const XdpConfig& config, const HtabModel& model,
                               std::optional<PinnedStore>* resize_from,
                               std::optional<ResizePlan>* resize_plan);
  absl::Status FinishResize(const XdpConfig& config, const PinnedStore& old, ResizePlan* plan);
  void AttachTcTier(const std::string& interface, unsigned ifindex);
  xdpkv_bpf* skeleton_;
  std::vector<int> link_fds_;  // BPF links: XDP and TC, per attached interface
  std::vector<std::string> tc_interfaces_;
  uint64_t fixed_bytes_ = 0;
  HtabModel model_;
  xdpkv_read_slot* read_slots_ = nullptr;  // mmapped xdpkv_read_slots
  mutable std::atomic<int> next_read_slot_{0};
  size_t read_slots_bytes_ = 0;
  xdpkv_write_slot* write_slots_ = nullptr;  // mmapped xdpkv_write_slots
  size_t write_slots_bytes_ = 0;
  int pin_dir_lock_fd_ = -1;   // flock'ed for the loader's lifetime
  bool store_created_ = false;
  std::string resize_summary_;
  std::vector<std::string> deferred_pins_;  // StoreMaps' pin paths, until PinStore
  std::vector<std::string> listen_addresses_;
  std::vector<std::string> admission_ifaces_ = {"lo"};  // lo, then attached ones
};

// Milliseconds of CLOCK_BOOTTIME, the clock item expiry is kept in (the
// XDP program reads the same clock: bpf_ktime_get_boot_ns).
uint64_t NowBootMs();
// CLOCK_REALTIME - CLOCK_BOOTTIME in milliseconds.
int64_t UnixMinusBootMs();

}  // namespace xdpkv

#endif  // XDPKV_PROXY_XDP_LOADER_H_
