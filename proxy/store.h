// The store the server and the tests talk to. The server depends on this
// interface only; BpfStore is the implementation over the XDP program's
// maps (so both paths see each other's writes at once).
#ifndef XDPKV_PROXY_STORE_H_
#define XDPKV_PROXY_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace xdpkv {

struct StoredItem {
  std::string value;
  uint32_t flags = 0;
  uint64_t cas = 0;
  uint32_t expires_at = 0;  // CLOCK_BOOTTIME seconds; 0 = never
};

class Store {
 public:
  virtual ~Store() = default;
  // nullopt when absent or expired.
  virtual absl::StatusOr<std::optional<StoredItem>> Get(std::string_view key) = 0;
  // Creates or replaces; returns the item's new CAS unique.
  // ResourceExhausted when the store is full.
  virtual absl::StatusOr<uint64_t> Set(std::string_view key, std::string_view value,
                                       uint32_t flags, uint32_t expires_at) = 0;
  // True when a live item was deleted.
  virtual absl::StatusOr<bool> Delete(std::string_view key) = 0;
};

}  // namespace xdpkv

#endif  // XDPKV_PROXY_STORE_H_
