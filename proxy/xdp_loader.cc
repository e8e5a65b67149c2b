#include "proxy/xdp_loader.h"

#include <linux/types.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "bpf/bpf.h"
#include "bpf/libbpf.h"
#include "linux/if_link.h"
// The skeleton names the layout's types, so the layout comes first.
#include "xdpkv_layout.h"
#include "xdpkv.skel.h"

namespace xdpkv {
namespace {

absl::Status ErrnoStatus(int err, const std::string& what) {
  if (err < 0) err = -err;
  return absl::Status(absl::ErrnoToStatusCode(err),
                      absl::StrCat(what, ": ", std::strerror(err)));
}

}  // namespace

const char* XdpModeName(XdpMode mode) { return mode == XdpMode::kNative ? "native" : "generic"; }

absl::StatusOr<std::unique_ptr<XdpLoader>> XdpLoader::Load(const XdpConfig& config) {
  xdpkv_bpf* skeleton = xdpkv_bpf__open();
  if (skeleton == nullptr) return ErrnoStatus(errno, "opening the embedded BPF object");
  skeleton->rodata->config.memcache_udp_port = config.memcache_udp_port;
  skeleton->rodata->config.resp_udp_port = config.resp_udp_port;
  if (int err = xdpkv_bpf__load(skeleton); err != 0) {
    xdpkv_bpf__destroy(skeleton);
    return ErrnoStatus(err, "loading the BPF program (are you root with BPF rights?)");
  }
  return std::unique_ptr<XdpLoader>(new XdpLoader(skeleton));
}

XdpLoader::~XdpLoader() {
  for (int fd : link_fds_) close(fd);
  xdpkv_bpf__destroy(skeleton_);
}

absl::Status XdpLoader::Attach(const std::string& interface, XdpMode mode) {
  const unsigned ifindex = if_nametoindex(interface.c_str());
  if (ifindex == 0) return ErrnoStatus(errno, absl::StrCat("interface ", interface));
  const __u32 flags = mode == XdpMode::kNative ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  // A BPF link detaches itself when its last fd closes, so a crashed server
  // never leaves a stale program behind.
  LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
  const int prog_fd = bpf_program__fd(skeleton_->progs.xdpkv_xdp);
  const int link_fd = bpf_link_create(prog_fd, static_cast<int>(ifindex), BPF_XDP, &opts);
  if (link_fd < 0) {
    return ErrnoStatus(errno, absl::StrCat("attaching XDP (", XdpModeName(mode), ") to ",
                                           interface));
  }
  link_fds_.push_back(link_fd);
  return absl::OkStatus();
}

int XdpLoader::program_fd() const { return bpf_program__fd(skeleton_->progs.xdpkv_xdp); }

absl::StatusOr<std::vector<uint64_t>> XdpLoader::ReadCounters() const {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return ErrnoStatus(cpus, "counting CPUs");
  std::vector<xdpkv_counters> per_cpu(static_cast<size_t>(cpus));
  const __u32 zero = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(skeleton_->maps.xdpkv_stats), &zero, per_cpu.data()) != 0) {
    return ErrnoStatus(errno, "reading xdpkv_stats");
  }
  std::vector<uint64_t> totals(XDPKV_REASON_COUNT, 0);
  for (const auto& counters : per_cpu) {
    for (size_t i = 0; i < totals.size(); ++i) totals[i] += counters.packets[i];
  }
  return totals;
}

}  // namespace xdpkv
