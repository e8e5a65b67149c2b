#include "proxy/map_memory.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bpf/bpf.h"

namespace xdpkv {
namespace {

constexpr uint64_t kPageBytes = 4096;
constexpr uint64_t kKmallocMaxCache = 8192;  // larger requests go to the page allocator

uint64_t RoundUp8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

uint64_t RoundUpPow2(uint64_t n) {
  uint64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

absl::Status Errno(int err, const std::string& what) {
  return absl::Status(absl::ErrnoToStatusCode(err), absl::StrCat(what, ": ", std::strerror(err)));
}

}  // namespace

uint64_t KmallocBytes(uint64_t bytes) {
  if (bytes <= 8) return 8;
  if (bytes > kKmallocMaxCache) return RoundUpPow2((bytes + kPageBytes - 1) / kPageBytes) * kPageBytes;
  // SLUB's kmalloc caches: powers of two, and 96 and 192.
  if (bytes > 64 && bytes <= 96) return 96;
  if (bytes > 128 && bytes <= 192) return 192;
  return RoundUpPow2(bytes);
}

uint64_t HtabModel::ElementRequest(uint64_t key_size, uint64_t value_size) const {
  return element_overhead + RoundUp8(key_size) + RoundUp8(value_size);
}

uint64_t HtabModel::FixedBytes(uint64_t max_entries) const {
  return fixed + kBucketBytes * RoundUpPow2(max_entries);
}

uint64_t HtabModel::Elements(uint64_t memlock, uint64_t key_size, uint64_t value_size,
                             uint64_t max_entries) const {
  const uint64_t fixed_bytes = FixedBytes(max_entries);
  if (memlock <= fixed_bytes) return 0;
  return (memlock - fixed_bytes) / ElementRequest(key_size, value_size);
}

absl::StatusOr<uint64_t> MapMemlock(int map_fd) {
  std::ifstream in(absl::StrCat("/proc/self/fdinfo/", map_fd));
  if (!in) return Errno(errno, "reading a map's fdinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("memlock:", 0) != 0) continue;
    uint64_t value = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(8)), &value)) break;
    return value;
  }
  return absl::InternalError("a map's fdinfo has no memlock line");
}

absl::StatusOr<HtabModel> MeasureHtabModel() {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
  const int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "xdpkv_probe", 8, 8, 1, &opts);
  if (fd < 0) return Errno(errno, "creating a probe map");
  HtabModel model;
  auto empty = MapMemlock(fd);
  const uint64_t key = 1, value = 0;
  const int rc = bpf_map_update_elem(fd, &key, &value, BPF_ANY);
  const int err = errno;
  auto one = MapMemlock(fd);
  close(fd);
  if (rc != 0) return Errno(err, "filling a probe map");
  if (!empty.ok()) return empty.status();
  if (!one.ok()) return one.status();
  if (*one <= *empty + 16 || *empty < HtabModel::kBucketBytes) {
    return absl::InternalError("the kernel's map memlock figures are not as expected");
  }
  model.element_overhead = *one - *empty - 16;
  model.fixed = *empty - HtabModel::kBucketBytes;
  return model;
}

}  // namespace xdpkv
