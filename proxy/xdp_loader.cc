#include "proxy/xdp_loader.h"

#include <linux/types.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "bpf/bpf.h"
#include "bpf/libbpf.h"
#include "linux/if_link.h"
#include "linux/magic.h"
// The skeleton names the layout's types, so the layout comes first.
#include "xdpkv_layout.h"
#include "xdpkv.skel.h"

namespace xdpkv {
namespace {

constexpr char kBpfFsRoot[] = "/sys/fs/bpf";

absl::Status ErrnoStatus(int err, const std::string& what) {
  if (err < 0) err = -err;
  return absl::Status(absl::ErrnoToStatusCode(err),
                      absl::StrCat(what, ": ", std::strerror(err)));
}

int64_t ClockMillis(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int64_t ClockMicros(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// Pinning needs bpffs; mount it where distributions expect it if missing.
absl::Status EnsureBpfFs() {
  struct statfs fs {};
  if (statfs(kBpfFsRoot, &fs) == 0 && fs.f_type == BPF_FS_MAGIC) return absl::OkStatus();
  if (mount("bpf", kBpfFsRoot, "bpf", 0, nullptr) != 0) {
    return ErrnoStatus(errno, absl::StrCat("mounting bpffs on ", kBpfFsRoot));
  }
  return absl::OkStatus();
}

std::array<bpf_map*, XDPKV_KEY_CLASS_COUNT> ItemMaps(xdpkv_bpf* skeleton) {
  return {skeleton->maps.xdpkv_items_k16, skeleton->maps.xdpkv_items_k32,
          skeleton->maps.xdpkv_items_k64, skeleton->maps.xdpkv_items_k128,
          skeleton->maps.xdpkv_items_k256};
}

std::array<bpf_map*, XDPKV_BLOB_CLASS_COUNT> BlobMaps(xdpkv_bpf* skeleton) {
  auto& m = skeleton->maps;
  return {m.xdpkv_blobs_256, m.xdpkv_blobs_512,  m.xdpkv_blobs_1k,   m.xdpkv_blobs_2k,
          m.xdpkv_blobs_4k,  m.xdpkv_blobs_8k,   m.xdpkv_blobs_16k,  m.xdpkv_blobs_32k,
          m.xdpkv_blobs_64k, m.xdpkv_blobs_128k, m.xdpkv_blobs_256k, m.xdpkv_blobs_512k,
          m.xdpkv_blobs_1m};
}

// Every map that holds data and so is pinned.
std::vector<bpf_map*> StoreMaps(xdpkv_bpf* skeleton) {
  std::vector<bpf_map*> maps;
  for (bpf_map* map : ItemMaps(skeleton)) maps.push_back(map);
  for (bpf_map* map : BlobMaps(skeleton)) maps.push_back(map);
  return maps;
}

}  // namespace

std::string XdpCounters::Format() const {
  std::string out;
  for (int p = 0; p < XDPKV_PROTO_COUNT; ++p) {
    for (int r = 0; r < XDPKV_REASON_COUNT; ++r) {
      if (count[p][r] == 0) continue;
      absl::StrAppend(&out, " ", std::string(kProtoNames[p]), ".", std::string(kReasonNames[r]),
                      "=", count[p][r]);
    }
  }
  return out;
}

const char* XdpModeName(XdpMode mode) { return mode == XdpMode::kNative ? "native" : "generic"; }

uint64_t NowBootMs() { return static_cast<uint64_t>(ClockMillis(CLOCK_BOOTTIME)); }

int64_t UnixMinusBootMs() { return ClockMillis(CLOCK_REALTIME) - ClockMillis(CLOCK_BOOTTIME); }

absl::StatusOr<std::unique_ptr<XdpLoader>> XdpLoader::Load(const XdpConfig& config) {
  xdpkv_bpf* skeleton = xdpkv_bpf__open();
  if (skeleton == nullptr) return ErrnoStatus(errno, "opening the embedded BPF object");
  std::unique_ptr<XdpLoader> loader(new XdpLoader(skeleton));

  skeleton->rodata->config.memcache_udp_port = config.memcache_udp_port;
  skeleton->rodata->config.resp_udp_port = config.resp_udp_port;
  // CAS uniques must grow across restarts that keep the pinned items:
  // start from the wall clock in microseconds.
  skeleton->data->xdpkv_next_cas = static_cast<uint64_t>(ClockMicros(CLOCK_REALTIME));
  skeleton->bss->xdpkv_unix_minus_boot_ms = UnixMinusBootMs();

  for (bpf_map* map : StoreMaps(skeleton)) {
    if (config.max_items_per_class != 0) {
      if (int err = bpf_map__set_max_entries(map, config.max_items_per_class); err != 0) {
        return ErrnoStatus(err, "sizing the store maps");
      }
    }
    if (!config.pin_dir.empty()) {
      const std::string path = absl::StrCat(config.pin_dir, "/", bpf_map__name(map));
      if (config.fresh) unlink(path.c_str());
      if (int err = bpf_map__set_pin_path(map, path.c_str()); err != 0) {
        return ErrnoStatus(err, absl::StrCat("pin path ", path));
      }
    }
  }
  if (!config.pin_dir.empty()) {
    if (auto status = EnsureBpfFs(); !status.ok()) return status;
    std::error_code ec;
    std::filesystem::create_directories(config.pin_dir, ec);
    if (ec) return ErrnoStatus(ec.value(), absl::StrCat("creating ", config.pin_dir));
  }
  if (int err = xdpkv_bpf__load(skeleton); err != 0) {
    return ErrnoStatus(err, "loading the BPF program (root with BPF rights needed; a pinned "
                            "store from an incompatible version needs --fresh)");
  }
  return loader;
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
  const int link_fd =
      bpf_link_create(program_fd(), static_cast<int>(ifindex), BPF_XDP, &opts);
  if (link_fd < 0) {
    return ErrnoStatus(errno, absl::StrCat("attaching XDP (", XdpModeName(mode), ") to ",
                                           interface));
  }
  link_fds_.push_back(link_fd);
  return absl::OkStatus();
}

int XdpLoader::program_fd() const { return bpf_program__fd(skeleton_->progs.xdpkv_xdp); }

int XdpLoader::cas_program_fd() const {
  return bpf_program__fd(skeleton_->progs.xdpkv_store_cas);
}

std::array<int, XDPKV_KEY_CLASS_COUNT> XdpLoader::item_map_fds() const {
  std::array<int, XDPKV_KEY_CLASS_COUNT> fds{};
  const auto maps = ItemMaps(skeleton_);
  for (size_t i = 0; i < maps.size(); ++i) fds[i] = bpf_map__fd(maps[i]);
  return fds;
}

std::array<int, XDPKV_BLOB_CLASS_COUNT> XdpLoader::blob_map_fds() const {
  std::array<int, XDPKV_BLOB_CLASS_COUNT> fds{};
  const auto maps = BlobMaps(skeleton_);
  for (size_t i = 0; i < maps.size(); ++i) fds[i] = bpf_map__fd(maps[i]);
  return fds;
}

uint64_t* XdpLoader::cas_counter() const {
  static_assert(sizeof(skeleton_->data->xdpkv_next_cas) == sizeof(uint64_t));
  return reinterpret_cast<uint64_t*>(&skeleton_->data->xdpkv_next_cas);
}

void XdpLoader::RefreshClockOffset() {
  __atomic_store_n(&skeleton_->bss->xdpkv_unix_minus_boot_ms, UnixMinusBootMs(),
                   __ATOMIC_RELAXED);
}

absl::StatusOr<XdpCounters> XdpLoader::ReadCounters() const {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return ErrnoStatus(cpus, "counting CPUs");
  std::vector<xdpkv_counters> per_cpu(static_cast<size_t>(cpus));
  const __u32 zero = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(skeleton_->maps.xdpkv_stats), &zero, per_cpu.data()) != 0) {
    return ErrnoStatus(errno, "reading xdpkv_stats");
  }
  XdpCounters totals;
  for (const auto& counters : per_cpu) {
    for (int p = 0; p < XDPKV_PROTO_COUNT; ++p) {
      for (int r = 0; r < XDPKV_REASON_COUNT; ++r) totals.count[p][r] += counters.count[p][r];
    }
  }
  return totals;
}

}  // namespace xdpkv
