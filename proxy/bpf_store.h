// Store over the XDP program's item maps (layout: bpf/xdpkv_layout.h).
// Reads copy an item under its spin lock (BPF_F_LOCK) and writes replace it
// under the lock, exactly as the XDP program does.
#ifndef XDPKV_PROXY_BPF_STORE_H_
#define XDPKV_PROXY_BPF_STORE_H_

#include <array>

#include "proxy/store.h"
#include "proxy/store_layout.h"

namespace xdpkv {

class BpfStore : public Store {
 public:
  // `item_map_fds`: one per key class; `cas_counter`: shared with XDP.
  BpfStore(std::array<int, XDPKV_KEY_CLASS_COUNT> item_map_fds, uint64_t* cas_counter)
      : fds_(item_map_fds), cas_counter_(cas_counter) {}

  absl::StatusOr<std::optional<StoredItem>> Get(std::string_view key) override;
  absl::StatusOr<uint64_t> Set(std::string_view key, std::string_view value, uint32_t flags,
                               uint32_t expires_at) override;
  absl::StatusOr<bool> Delete(std::string_view key) override;

 private:
  std::array<int, XDPKV_KEY_CLASS_COUNT> fds_;
  uint64_t* cas_counter_;
};

}  // namespace xdpkv

#endif  // XDPKV_PROXY_BPF_STORE_H_
