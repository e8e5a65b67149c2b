#include "proxy/blob_io.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "bpf/bpf.h"

namespace xdpkv {
namespace {

bool Owns(const xdpkv_blob_header& header, const xdpkv_item& item) {
  return header.blob_id == item.blob_id && header.value_len == item.value_len;
}

}  // namespace

absl::StatusOr<bool> ReadClassBlob(int fd, size_t capacity, const xdpkv_item& item,
                                   std::string* value, xdpkv_blob_header* header) {
  if (capacity < item.value_len) return false;
  std::vector<uint8_t> blob(sizeof(xdpkv_blob_header) + capacity);
  if (bpf_map_lookup_elem(fd, &item.blob_id, blob.data()) != 0) {
    if (errno == ENOENT) return false;  // replaced since the item was read
    return absl::ErrnoToStatus(errno, "blob lookup");
  }
  xdpkv_blob_header found;
  std::memcpy(&found, blob.data(), sizeof(found));
  if (!Owns(found, item)) return false;
  if (header != nullptr) *header = found;
  value->assign(reinterpret_cast<const char*>(blob.data() + sizeof(found)), item.value_len);
  return true;
}

absl::StatusOr<bool> ReadChunks(int chunk_fd, const xdpkv_item& item, std::string* value,
                                xdpkv_blob_header* header) {
  auto chunk = std::make_unique<xdpkv_chunk>();
  value->clear();
  value->reserve(item.value_len);
  for (uint32_t i = 0; i < ChunkCount(item.value_len); ++i) {
    const xdpkv_chunk_key key{item.blob_id, i, 0};
    if (bpf_map_lookup_elem(chunk_fd, &key, chunk.get()) != 0) {
      if (errno == ENOENT) return false;  // replaced since the item was read
      return absl::ErrnoToStatus(errno, "chunk lookup");
    }
    if (!Owns(chunk->header, item)) return false;
    if (i == 0 && header != nullptr) *header = chunk->header;
    const size_t n = std::min<size_t>(XDPKV_CHUNK_PAYLOAD, item.value_len - value->size());
    value->append(reinterpret_cast<const char*>(chunk->data), n);
  }
  return true;
}

int WriteClassBlob(int fd, size_t capacity, const xdpkv_blob_header& header,
                   std::string_view value) {
  std::vector<uint8_t> blob(sizeof(header) + capacity);
  std::memcpy(blob.data(), &header, sizeof(header));
  std::memcpy(blob.data() + sizeof(header), value.data(), value.size());
  return bpf_map_update_elem(fd, &header.blob_id, blob.data(), BPF_NOEXIST) == 0 ? 0 : errno;
}

int WriteChunks(int chunk_fd, const xdpkv_blob_header& header, std::string_view value,
                uint32_t* stranded) {
  *stranded = 0;
  auto chunk = std::make_unique<xdpkv_chunk>();
  chunk->header = header;
  const uint32_t count = static_cast<uint32_t>(ChunkCount(value.size()));
  for (uint32_t i = 0; i < count; ++i) {
    const size_t offset = size_t{i} * XDPKV_CHUNK_PAYLOAD;
    const size_t n = std::min<size_t>(XDPKV_CHUNK_PAYLOAD, value.size() - offset);
    std::memcpy(chunk->data, value.data() + offset, n);
    std::memset(chunk->data + n, 0, sizeof(chunk->data) - n);
    const xdpkv_chunk_key key{header.blob_id, i, 0};
    if (bpf_map_update_elem(chunk_fd, &key, chunk.get(), BPF_NOEXIST) != 0) {
      const int err = errno;
      for (uint32_t j = 0; j < i; ++j) {
        const xdpkv_chunk_key written{header.blob_id, j, 0};
        if (bpf_map_delete_elem(chunk_fd, &written) != 0) ++*stranded;
      }
      return err;
    }
  }
  return 0;
}

}  // namespace xdpkv
