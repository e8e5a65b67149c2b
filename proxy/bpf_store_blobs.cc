// BpfStore's out-of-line values (docs/architecture.md, "Out-of-line
// values"): a value of 129 bytes to 64 KiB is one blob in its power-of-two
// class's map; a longer one is chunks of XDPKV_CHUNK_PAYLOAD bytes, each
// an element of exactly 64 KiB (xdpkv_layout.h). Every blob and chunk
// carries the blob header: its id, the value's length and its owner's key.
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "bpf/bpf.h"
#include "proxy/blob_io.h"
#include "proxy/bpf_store.h"
#include "proxy/bpf_store_internal.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {

using namespace bpf_store_internal;  // NOLINT: BpfStore's own helpers

namespace {

absl::Status WriteError(int err, const char* what) {
  if (err == E2BIG || err == ENOMEM) {
    return absl::ResourceExhaustedError("out of memory storing object");
  }
  return MapError(err, what);
}

}  // namespace

absl::StatusOr<bool> BpfStore::ReadValue(const xdpkv_item& item, std::string* value) {
  if (item.blob_id == 0) {
    value->assign(reinterpret_cast<const char*>(item.inline_value),
                  std::min<size_t>(item.value_len, XDPKV_INLINE_VALUE_MAX));
    return true;
  }
  if (item.value_len > XDPKV_MAX_VALUE_LEN) return absl::DataLossError("bad value length");
  if (Chunked(item.value_len)) {
    if (chunk_fd_ < 0) return absl::FailedPreconditionError("no chunk map");
    return ReadChunks(chunk_fd_, item, value);
  }
  const size_t cls = BlobClassOf(item.value_len);
  return ReadClassBlob(blob_fds_[cls], BlobClassBytes(cls), item, value);
}

absl::Status BpfStore::WriteBlob(std::string_view key, const xdpkv_item& item,
                                 std::string_view value) {
  xdpkv_blob_header header{};
  header.blob_id = item.blob_id;
  header.value_len = item.value_len;
  header.key_len = LengthWord(db_, key.size());  // the owner's database too
  header.created_ms = NowBootMs();
  std::memcpy(header.key, key.data(), key.size());
  const uint64_t cost = BlobCost(item.value_len);
  if (auto room = Reserve(cost); !room.ok()) return room;
  if (!Chunked(value.size())) {
    const size_t cls = BlobClassOf(value.size());
    if (int err = WriteClassBlob(blob_fds_[cls], BlobClassBytes(cls), header, value); err != 0) {
      Release(cost);
      return WriteError(err, "blob update");
    }
    return absl::OkStatus();
  }
  if (chunk_fd_ < 0) {
    Release(cost);
    return absl::FailedPreconditionError("no chunk map");
  }
  uint32_t stranded = 0;
  if (int err = WriteChunks(chunk_fd_, header, value, &stranded); err != 0) {
    // A chunk whose delete failed keeps its cost until the orphan sweep
    // takes it.
    Release(cost - (memory_ == nullptr ? 0 : stranded * uint64_t{memory_->chunk_cost}));
    return WriteError(err, "chunk update");
  }
  return absl::OkStatus();
}

void BpfStore::DeleteBlob(uint64_t id, uint32_t value_len) {
  if (id == 0 || value_len > XDPKV_MAX_VALUE_LEN) return;
  if (!Chunked(value_len)) {
    if (bpf_map_delete_elem(blob_fds_[BlobClassOf(value_len)], &id) == 0) {
      Release(BlobCost(value_len));
    }
    return;
  }
  for (uint32_t i = 0; i < ChunkCount(value_len); ++i) {
    const xdpkv_chunk_key key{id, i, 0};
    if (bpf_map_delete_elem(chunk_fd_, &key) == 0 && memory_ != nullptr) {
      Release(memory_->chunk_cost);
    }
  }
}

namespace {

// Deletes one map's blobs or chunks older than the orphan age that no item
// points to (`owned`); `element` is room for one.
template <typename Key>
size_t SweepMap(int fd, uint64_t cost, std::vector<uint8_t>* element,
                       const std::function<bool(const xdpkv_blob_header&, uint64_t)>& owned,
                       const std::function<void(uint64_t)>& release) {
  const uint64_t now = NowBootMs();
  std::vector<Key> keys;
  Key key{}, next{};
  for (const void* cursor = nullptr; bpf_map_get_next_key(fd, cursor, &next) == 0;
       cursor = &key) {
    keys.push_back(next);
    key = next;
  }
  size_t deleted = 0;
  for (const Key& k : keys) {
    if (bpf_map_lookup_elem(fd, &k, element->data()) != 0) continue;
    xdpkv_blob_header header;
    std::memcpy(&header, element->data(), sizeof(header));
    // Young blobs may belong to a write in progress (or to a writer whose
    // clock read came just after ours).
    if (header.created_ms + XDPKV_BLOB_ORPHAN_AGE_MS > now) continue;
    if (owned(header, header.blob_id)) continue;
    if (bpf_map_delete_elem(fd, &k) == 0) {
      ++deleted;
      release(cost);
    }
  }
  return deleted;
}

}  // namespace

absl::StatusOr<size_t> BpfStore::SweepOrphanBlobs() {
  // Owned: the header's key has an item pointing at this blob id.
  auto owned = [&](const xdpkv_blob_header& header, uint64_t blob_id) {
    if (KeyLength(header.key_len) < 1 || KeyLength(header.key_len) > XDPKV_MAX_KEY_LEN) {
      return false;
    }
    auto map_key = MakeKey(
        item_fds_, DatabaseOf(header.key_len),
        std::string_view(reinterpret_cast<const char*>(header.key), KeyLength(header.key_len)));
    xdpkv_item item{};
    return map_key.ok() &&
           bpf_map_lookup_elem_flags(map_key->fd, &map_key->bytes, &item, BPF_F_LOCK) == 0 &&
           item.blob_id == blob_id;
  };
  auto release = [&](uint64_t cost) {
    if (memory_ != nullptr) Release(cost);
  };
  size_t deleted = 0;
  for (size_t cls = 0; cls < XDPKV_BLOB_CLASS_COUNT; ++cls) {
    std::vector<uint8_t> blob = BlobBuffer(cls);
    deleted += SweepMap<uint64_t>(blob_fds_[cls], memory_ ? memory_->blob_cost[cls] : 0, &blob,
                                  owned, release);
  }
  if (chunk_fd_ >= 0) {
    std::vector<uint8_t> chunk(sizeof(xdpkv_chunk));
    deleted += SweepMap<xdpkv_chunk_key>(chunk_fd_, memory_ ? memory_->chunk_cost : 0, &chunk,
                                         owned, release);
  }
  return deleted;
}

}  // namespace xdpkv
