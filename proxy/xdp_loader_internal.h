// Helpers the loader's files share (proxy/xdp_loader.cc,
// proxy/xdp_loader_store.cc); not for use elsewhere.
#ifndef XDPKV_PROXY_XDP_LOADER_INTERNAL_H_
#define XDPKV_PROXY_XDP_LOADER_INTERNAL_H_

#include <array>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "proxy/store_resize.h"
#include "xdpkv_layout.h"

struct bpf_map;
struct xdpkv_bpf;

namespace xdpkv::loader_internal {

// `what` failed with errno `err` (either sign).
absl::Status ErrnoStatus(int err, const std::string& what);
// The item maps, one per key class, smallest first.
std::array<bpf_map*, XDPKV_KEY_CLASS_COUNT> ItemMaps(xdpkv_bpf* skeleton);
// The blob maps, one per value class, smallest first.
std::array<bpf_map*, XDPKV_BLOB_CLASS_COUNT> BlobMaps(xdpkv_bpf* skeleton);
// Every map that holds data and so is pinned: items, blobs, chunks.
std::vector<bpf_map*> StoreMaps(xdpkv_bpf* skeleton);
// The store maps as this load will create them.
std::vector<StoreMapShape> WantedShapes(xdpkv_bpf* skeleton);

}  // namespace xdpkv::loader_internal

#endif  // XDPKV_PROXY_XDP_LOADER_INTERNAL_H_
