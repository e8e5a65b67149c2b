// What the kernel allocates for a BPF hash map (BPF_F_NO_PREALLOC), so the
// store's memory limit can be stated in the kernel's own bytes
// (docs/architecture.md, "Memory"): a fixed part (the map struct and one
// bucket per power-of-two slot) and, per element, one kmalloc of the
// element (header, key and value rounded to 8 bytes, the allocator's list
// node), rounded up as kmalloc rounds. The header size is measured on the
// running kernel once, with a probe map, from the `memlock` figure it
// reports (/proc/<pid>/fdinfo), which counts elements exactly.
#ifndef XDPKV_PROXY_MAP_MEMORY_H_
#define XDPKV_PROXY_MAP_MEMORY_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace xdpkv {

// Bytes kmalloc hands out for a request of `bytes` (SLUB's caches up to
// 8 KiB, whole power-of-two page blocks above).
uint64_t KmallocBytes(uint64_t bytes);

struct HtabModel {
  uint64_t element_overhead = 0;  // per element, besides key and value
  uint64_t fixed = 0;             // per map, besides its buckets
  static constexpr uint64_t kBucketBytes = 16;

  // The allocation request for one element, and what it really takes.
  uint64_t ElementRequest(uint64_t key_size, uint64_t value_size) const;
  uint64_t ElementBytes(uint64_t key_size, uint64_t value_size) const {
    return KmallocBytes(ElementRequest(key_size, value_size));
  }
  // The map struct and its bucket array.
  uint64_t FixedBytes(uint64_t max_entries) const;
  // Elements held by a map whose `memlock` is as given.
  uint64_t Elements(uint64_t memlock, uint64_t key_size, uint64_t value_size,
                    uint64_t max_entries) const;
};

// Measures the model with a probe map (needs BPF rights).
absl::StatusOr<HtabModel> MeasureHtabModel();

// The `memlock` line of a BPF map fd's fdinfo.
absl::StatusOr<uint64_t> MapMemlock(int map_fd);

}  // namespace xdpkv

#endif  // XDPKV_PROXY_MAP_MEMORY_H_
