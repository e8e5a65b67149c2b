// Out-of-line values in the store's maps, by map fd (bpf/xdpkv_layout.h):
// a class blob is one element holding the blob header and then the value,
// in a map whose values hold `capacity` value bytes; a value over 64 KiB is
// ChunkCount() chunks keyed {blob id, index}, each with the header. Shared
// by BpfStore (proxy/bpf_store_blobs.cc) and the resize (proxy/store_resize.cc),
// which reads the maps of another layout too.
#ifndef XDPKV_PROXY_BLOB_IO_H_
#define XDPKV_PROXY_BLOB_IO_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "proxy/store_layout.h"

namespace xdpkv {

// The value `item` points to, read from a class blob map, and its header.
// False if it is not there, or is another version's (the item was written
// since it was read).
absl::StatusOr<bool> ReadClassBlob(int fd, size_t capacity, const xdpkv_item& item,
                                   std::string* value, xdpkv_blob_header* header = nullptr);
// The same for a chunked value, from the chunk map.
absl::StatusOr<bool> ReadChunks(int chunk_fd, const xdpkv_item& item, std::string* value,
                                xdpkv_blob_header* header = nullptr);

// Writes a value under `header` (its blob id and length) as a new element
// (BPF_NOEXIST). Returns 0 or the errno of the update that failed.
int WriteClassBlob(int fd, size_t capacity, const xdpkv_blob_header& header,
                   std::string_view value);
// The same as chunks; on a failure the chunks written are deleted again,
// and `*stranded` counts those whose delete failed (the orphan sweep's).
int WriteChunks(int chunk_fd, const xdpkv_blob_header& header, std::string_view value,
                uint32_t* stranded);

}  // namespace xdpkv

#endif  // XDPKV_PROXY_BLOB_IO_H_
