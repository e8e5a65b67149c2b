#include "proxy/bpf_store.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "bpf/bpf.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {
namespace {

// A key in the form of its class's map key: length, then zero-padded bytes.
struct MapKey {
  xdpkv_key256 bytes{};
  int fd = -1;
};

absl::StatusOr<MapKey> MakeKey(const std::array<int, XDPKV_KEY_CLASS_COUNT>& fds,
                               std::string_view key) {
  if (key.empty() || key.size() > XDPKV_MAX_KEY_LEN) {
    return absl::InvalidArgumentError(
        absl::StrCat("key length ", key.size(), " outside 1..", XDPKV_MAX_KEY_LEN));
  }
  MapKey map_key;
  map_key.bytes.len = static_cast<__u32>(key.size());
  std::memcpy(map_key.bytes.bytes, key.data(), key.size());
  map_key.fd = fds[KeyClassOf(key.size())];
  return map_key;
}

bool Expired(uint32_t expires_at) { return expires_at != 0 && expires_at <= NowBootSeconds(); }

absl::Status MapError(int err, const char* what) {
  return absl::Status(absl::ErrnoToStatusCode(err), absl::StrCat(what, ": ", std::strerror(err)));
}

}  // namespace

absl::StatusOr<std::optional<StoredItem>> BpfStore::Get(std::string_view key) {
  auto map_key = MakeKey(fds_, key);
  if (!map_key.ok()) return map_key.status();
  xdpkv_item item{};
  if (bpf_map_lookup_elem_flags(map_key->fd, &map_key->bytes, &item, BPF_F_LOCK) != 0) {
    if (errno == ENOENT) return std::nullopt;
    return MapError(errno, "store lookup");
  }
  if (Expired(item.expires_at)) {
    bpf_map_delete_elem(map_key->fd, &map_key->bytes);  // lazily, as memcached does
    return std::nullopt;
  }
  if (item.blob_id != 0 || item.value_len > XDPKV_INLINE_VALUE_MAX) {
    return absl::UnimplementedError("out-of-line values are not stored yet");
  }
  StoredItem out;
  out.value.assign(reinterpret_cast<const char*>(item.inline_value), item.value_len);
  out.flags = item.flags;
  out.cas = item.cas;
  out.expires_at = item.expires_at;
  return out;
}

absl::StatusOr<uint64_t> BpfStore::Set(std::string_view key, std::string_view value,
                                       uint32_t flags, uint32_t expires_at) {
  auto map_key = MakeKey(fds_, key);
  if (!map_key.ok()) return map_key.status();
  if (value.size() > XDPKV_INLINE_VALUE_MAX) {
    return absl::UnimplementedError(
        absl::StrCat("values above ", XDPKV_INLINE_VALUE_MAX, " bytes are not stored yet"));
  }
  xdpkv_item item{};
  item.value_len = static_cast<__u32>(value.size());
  item.flags = flags;
  item.expires_at = expires_at;
  item.cas = __atomic_fetch_add(cas_counter_, 1, __ATOMIC_RELAXED);
  std::memcpy(item.inline_value, value.data(), value.size());
  if (bpf_map_update_elem(map_key->fd, &map_key->bytes, &item, BPF_F_LOCK) != 0) {
    if (errno == E2BIG || errno == ENOMEM) {
      return absl::ResourceExhaustedError("out of memory storing object");
    }
    return MapError(errno, "store update");
  }
  return item.cas;
}

absl::StatusOr<bool> BpfStore::Delete(std::string_view key) {
  auto map_key = MakeKey(fds_, key);
  if (!map_key.ok()) return map_key.status();
  xdpkv_item item{};
  if (bpf_map_lookup_elem_flags(map_key->fd, &map_key->bytes, &item, BPF_F_LOCK) != 0) {
    if (errno == ENOENT) return false;
    return MapError(errno, "store lookup");
  }
  if (bpf_map_delete_elem(map_key->fd, &map_key->bytes) != 0) {
    if (errno == ENOENT) return false;
    return MapError(errno, "store delete");
  }
  return !Expired(item.expires_at);
}

}  // namespace xdpkv
