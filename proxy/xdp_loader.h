// RAII owner of xdpkv's BPF object: opens the embedded skeleton, sets its
// configuration, loads it, and attaches it to interfaces through BPF links
// (detached when the loader is destroyed).
#ifndef XDPKV_PROXY_XDP_LOADER_H_
#define XDPKV_PROXY_XDP_LOADER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct xdpkv_bpf;

namespace xdpkv {

enum class XdpMode { kNative, kGeneric };

struct XdpConfig {
  uint16_t memcache_udp_port = 11211;
  uint16_t resp_udp_port = 6379;
};

class XdpLoader {
 public:
  static absl::StatusOr<std::unique_ptr<XdpLoader>> Load(const XdpConfig& config);
  ~XdpLoader();
  XdpLoader(const XdpLoader&) = delete;
  XdpLoader& operator=(const XdpLoader&) = delete;

  absl::Status Attach(const std::string& interface, XdpMode mode);
  // File descriptor of the program, for BPF_PROG_TEST_RUN in tests.
  int program_fd() const;
  // Per-reason packet counts summed over CPUs (index: enum xdpkv_reason).
  absl::StatusOr<std::vector<uint64_t>> ReadCounters() const;

 private:
  explicit XdpLoader(xdpkv_bpf* skeleton) : skeleton_(skeleton) {}
  xdpkv_bpf* skeleton_;
  std::vector<int> link_fds_;  // one BPF link per attached interface
};

const char* XdpModeName(XdpMode mode);

}  // namespace xdpkv

#endif  // XDPKV_PROXY_XDP_LOADER_H_
