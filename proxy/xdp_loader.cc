#include "proxy/xdp_loader.h"

#include <linux/types.h>
#include <net/if.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bpf/bpf.h"
#include "bpf/libbpf.h"
#include "linux/if_link.h"
#include "linux/magic.h"
// The skeleton names the layout's types, so the layout comes first.
#include "proxy/map_memory.h"
#include "proxy/store_resize.h"
#include "proxy/xdp_loader_internal.h"
#include "xdpkv_layout.h"
#include "xdpkv.skel.h"

namespace xdpkv {
namespace {

using namespace loader_internal;  // NOLINT: the loader's own helpers

constexpr char kBpfFsRoot[] = "/sys/fs/bpf";

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

bool OnBpfFs(const std::string& path) {
  struct statfs fs {};
  return statfs(path.c_str(), &fs) == 0 && fs.f_type == BPF_FS_MAGIC;
}

// True only when this process provably shares init's mount namespace. A
// private one (`ip netns exec`, `unshare -m`) has a /sys of its own, and a
// bpffs mounted there dies with the namespace.
bool InInitMountNamespace() {
  struct stat self {}, init {};
  if (stat("/proc/self/ns/mnt", &self) != 0 || stat("/proc/1/ns/mnt", &init) != 0) return false;
  return self.st_ino == init.st_ino && self.st_dev == init.st_dev;
}

// Pinning needs bpffs. In init's mount namespace, mount it where
// distributions expect it if missing. Anywhere else refuse: pins in a bpffs
// of our own would vanish with the process, and the store with them at
// every restart.
absl::Status EnsureBpfFs(const std::string& pin_dir) {
  if (OnBpfFs(kBpfFsRoot)) return absl::OkStatus();
  if (pin_dir.rfind(std::string(kBpfFsRoot) + "/", 0) != 0) {
    return absl::OkStatus();  // elsewhere: the pin dir itself is checked
  }
  if (!InInitMountNamespace()) {
    return absl::FailedPreconditionError(absl::StrCat(
        kBpfFsRoot, " is not a bpffs here, and this may be a private mount namespace (started "
                    "under `ip netns exec`?) where pins vanish with the process. Enter only the "
                    "network namespace (`nsenter --net=/run/netns/NAME xdpkv ...`), or mount the "
                    "host's bpffs first (`mount -t bpf bpf ",
        kBpfFsRoot, "` in the host's mount namespace)"));
  }
  if (mount("bpf", kBpfFsRoot, "bpf", 0, nullptr) != 0) {
    return ErrnoStatus(errno, absl::StrCat("mounting bpffs on ", kBpfFsRoot));
  }
  return absl::OkStatus();
}

// One server per store: an exclusive lock on the pin directory, held for
// the loader's lifetime (the kernel drops it when the process dies).
absl::StatusOr<int> LockPinDir(const std::string& pin_dir) {
  const int fd = open(pin_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("opening ", pin_dir));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the store in ", pin_dir,
          " is in use by another xdpkv process: stop it first, or give this one its own "
          "--pin-dir (one server per store; nothing was changed)"));
    }
    return ErrnoStatus(err, absl::StrCat("locking ", pin_dir));
  }
  return fd;
}

// Makes a hash map hold exactly `want` (key bytes -> value bytes).
absl::Status SyncMap(int fd, size_t key_size, const std::map<std::string, std::string>& want,
                     const char* name) {
  std::vector<std::string> stale;
  std::string key(key_size, '\0'), next(key_size, '\0');
  for (const void* prev = nullptr; bpf_map_get_next_key(fd, prev, next.data()) == 0;
       prev = key.data()) {
    key = next;
    if (want.count(key) == 0) stale.push_back(key);
  }
  for (const std::string& k : stale) bpf_map_delete_elem(fd, k.data());
  for (const auto& [k, v] : want) {
    if (bpf_map_update_elem(fd, k.data(), v.data(), BPF_ANY) != 0) {
      return ErrnoStatus(errno, absl::StrCat("updating ", name));
    }
  }
  return absl::OkStatus();
}

template <typename T>
std::string Bytes(const T& value) {
  return std::string(reinterpret_cast<const char*>(&value), sizeof(value));
}

std::string AddrKey(uint32_t ifindex, const Ip16& address) {
  xdpkv_addr_key key{};
  key.ifindex = ifindex;
  std::memcpy(key.addr, address.data(), 16);
  return Bytes(key);
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
  skeleton->rodata->config.cas_enabled = config.cas_enabled ? 1 : 0;
  skeleton->rodata->config.max_value_len = config.max_value_len;
  // Admission: every port of ours (a datagram from one is never answered)
  // and the reply cap; the maps are filled once loaded.
  {
    auto& admission = skeleton->rodata->admission_config;
    std::vector<uint16_t> ports = {config.memcache_udp_port, config.resp_udp_port};
    for (uint16_t port : config.other_service_ports) ports.push_back(port);
    size_t n = 0;
    for (uint16_t port : ports) {
      if (port == 0) continue;
      if (std::find(admission.service_ports, admission.service_ports + n, port) !=
          admission.service_ports + n) {
        continue;
      }
      if (n == XDPKV_SERVICE_PORTS) {
        return absl::InvalidArgumentError("more service ports than the XDP program holds");
      }
      admission.service_ports[n++] = port;
    }
    for (; n < XDPKV_SERVICE_PORTS; ++n) admission.service_ports[n] = 0;
    admission.max_reply_bytes = config.max_reply_bytes;
  }
  std::map<std::string, std::string> allow;
  for (const std::string& text : config.udp_allow) {
    auto cidr = ParseCidr(text);
    if (!cidr.ok()) return cidr.status();
    xdpkv_allow_key key{};
    key.prefixlen = static_cast<__u32>(cidr->prefix);
    std::memcpy(key.addr, cidr->address.data(), 16);
    allow[Bytes(key)] = Bytes(uint32_t{1});
  }
  loader->listen_addresses_ = config.listen_addresses;

  // CAS uniques must grow across restarts that keep the pinned items:
  // start from the wall clock in microseconds.
  skeleton->data->xdpkv_next_cas = static_cast<uint64_t>(ClockMicros(CLOCK_REALTIME));
  skeleton->bss->xdpkv_unix_minus_boot_ms = UnixMinusBootMs();

  // Before anything in the pin dir is touched (--fresh included): it must
  // be on bpffs, and no other server may be using it.
  if (!config.pin_dir.empty()) {
    if (auto status = EnsureBpfFs(config.pin_dir); !status.ok()) return status;
    std::error_code ec;
    std::filesystem::create_directories(config.pin_dir, ec);
    if (ec) return ErrnoStatus(ec.value(), absl::StrCat("creating ", config.pin_dir));
    if (!OnBpfFs(config.pin_dir)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--pin-dir ", config.pin_dir, " is not on a bpffs: pins there would not keep the store"));
    }
    auto lock = LockPinDir(config.pin_dir);
    if (!lock.ok()) return lock.status();
    loader->pin_dir_lock_fd_ = *lock;
  }

  // What each element takes in the kernel, so the maps can be sized for
  // the limit and the limit kept in the kernel's bytes.
  auto model = MeasureHtabModel();
  if (!model.ok()) return model.status();
  if (auto status = loader->SizeStoreMaps(config, *model); !status.ok()) return status;

  std::optional<PinnedStore> resize_from;
  std::optional<ResizePlan> resize_plan;
  if (auto status = loader->OpenPinnedStore(config, *model, &resize_from, &resize_plan);
      !status.ok()) {
    return status;
  }
  // The TC tier's output buffer: one entry per CPU (bpf/lib/tc_reply.h).
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return ErrnoStatus(cpus, "counting CPUs");
  if (int err = bpf_map__set_max_entries(skeleton->maps.xdpkv_tc_out, static_cast<__u32>(cpus));
      err != 0) {
    return ErrnoStatus(err, "sizing the TC tier's output buffers");
  }
  if (int err = xdpkv_bpf__load(skeleton); err != 0) {
    return ErrnoStatus(err, loader->store_created_ || resize_from
                                ? "loading the BPF program (root with BPF rights needed)"
                                : absl::StrCat("loading the BPF program over the store pinned in ",
                                               config.pin_dir,
                                               " (a store from an incompatible xdpkv version "
                                               "needs --fresh, which drops it)"));
  }
  if (resize_from) {
    if (auto status = loader->FinishResize(config, *resize_from, &*resize_plan); !status.ok()) {
      return status;
    }
  }
  // The memory the pinned store already holds, counted exactly from the
  // kernel's own figures, before anything can write.
  loader->model_ = *model;
  for (bpf_map* map : StoreMaps(skeleton)) {
    loader->fixed_bytes_ += model->FixedBytes(bpf_map__max_entries(map));
  }
  auto used = loader->CountElementBytes();
  if (!used.ok()) return used.status();
  if (config.memory_limit_bytes != 0) {
    if (config.memory_limit_bytes <= loader->fixed_bytes_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a memory limit of ", config.memory_limit_bytes >> 20,
          " MiB leaves nothing for items: the store's fixed tables take ",
          (loader->fixed_bytes_ + (1 << 20) - 1) >> 20, " MiB of it"));
    }
    skeleton->bss->xdpkv_memory.limit_bytes = config.memory_limit_bytes - loader->fixed_bytes_;
  }
  __atomic_store_n(&skeleton->bss->xdpkv_memory.used_bytes, *used, __ATOMIC_RELAXED);

  // Batched reads go in and out through the slots' memory.
  {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t bytes = ((sizeof(xdpkv_read_slot) + 7) / 8 * 8) * XDPKV_READ_SLOTS;
    loader->read_slots_bytes_ = (bytes + page - 1) / page * page;
    void* slots = mmap(nullptr, loader->read_slots_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED,
                       bpf_map__fd(skeleton->maps.xdpkv_read_slots), 0);
    if (slots == MAP_FAILED) return ErrnoStatus(errno, "mapping the read slots");
    loader->read_slots_ = static_cast<xdpkv_read_slot*>(slots);
    // Batched writes too (xdpkv_write_slots), at the same thread's index.
    const size_t write_bytes = ((sizeof(xdpkv_write_slot) + 7) / 8 * 8) * XDPKV_WRITE_SLOTS;
    loader->write_slots_bytes_ = (write_bytes + page - 1) / page * page;
    void* write_slots = mmap(nullptr, loader->write_slots_bytes_, PROT_READ | PROT_WRITE,
                             MAP_SHARED, bpf_map__fd(skeleton->maps.xdpkv_write_slots), 0);
    if (write_slots == MAP_FAILED) return ErrnoStatus(errno, "mapping the write slots");
    loader->write_slots_ = static_cast<xdpkv_write_slot*>(write_slots);
  }

  // The allowlist (an LPM trie) is set once; it starts empty.
  for (const auto& [key, value] : allow) {
    if (bpf_map_update_elem(bpf_map__fd(skeleton->maps.xdpkv_udp_allow), key.data(),
                            value.data(), BPF_ANY) != 0) {
      return ErrnoStatus(errno, "filling the --udp-allow list");
    }
  }
  if (auto status = loader->RefreshAdmission(); !status.ok()) return status;
  return loader;
}

absl::Status XdpLoader::RefreshAdmission() {
  auto table = BuildAdmissionTable(admission_ifaces_, listen_addresses_);
  if (!table.ok()) return table.status();
  return SetAdmissionTable(*table);
}

absl::Status XdpLoader::SetAdmissionTable(const AdmissionTable& table) {
  std::map<std::string, std::string> ifaces, admit, host;
  for (const auto& [ifindex, iface] : table.ifaces) ifaces[Bytes(ifindex)] = Bytes(iface);
  for (const auto& [ifindex, address] : table.admit_dst) {
    admit[AddrKey(ifindex, address)] = Bytes(uint32_t{1});
  }
  for (const auto& [address, flags] : table.host_addrs) host[AddrKey(0, address)] = Bytes(flags);
  // Addresses before interfaces: an interface is never live before its
  // addresses are known.
  if (auto s = SyncMap(bpf_map__fd(skeleton_->maps.xdpkv_admit_dst), sizeof(xdpkv_addr_key),
                       admit, "xdpkv_admit_dst");
      !s.ok()) {
    return s;
  }
  if (auto s = SyncMap(bpf_map__fd(skeleton_->maps.xdpkv_host_addrs), sizeof(xdpkv_addr_key),
                       host, "xdpkv_host_addrs");
      !s.ok()) {
    return s;
  }
  return SyncMap(bpf_map__fd(skeleton_->maps.xdpkv_ifaces), sizeof(uint32_t), ifaces,
                 "xdpkv_ifaces");
}

XdpLoader::~XdpLoader() {
  if (read_slots_ != nullptr) munmap(read_slots_, read_slots_bytes_);
  if (write_slots_ != nullptr) munmap(write_slots_, write_slots_bytes_);
  for (int fd : link_fds_) close(fd);
  xdpkv_bpf__destroy(skeleton_);
  if (pin_dir_lock_fd_ >= 0) close(pin_dir_lock_fd_);
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
  if (std::find(admission_ifaces_.begin(), admission_ifaces_.end(), interface) ==
      admission_ifaces_.end()) {
    admission_ifaces_.push_back(interface);
  }
  if (auto status = RefreshAdmission(); !status.ok()) return status;
  AttachTcTier(interface, ifindex);
  return absl::OkStatus();
}

void XdpLoader::AttachTcTier(const std::string& interface, unsigned ifindex) {
  // tcx (a BPF link on the clsact ingress hook, kernel 6.6+): detached with
  // its fd, like the XDP link. libbpf 1.1's headers predate the constant.
  constexpr int kTcxIngress = 46;  // BPF_TCX_INGRESS
  const int link_fd = bpf_link_create(bpf_program__fd(skeleton_->progs.xdpkv_tc),
                                      static_cast<int>(ifindex),
                                      static_cast<bpf_attach_type>(kTcxIngress), nullptr);
  if (link_fd < 0) {
    // Without it the reads XDP hands over reach userspace, which answers
    // them: slower, never wrong.
    std::fprintf(stderr,
                 "xdpkv: the TC tier could not be attached to %s (%s); multi-datagram UDP "
                 "replies are served from userspace\n",
                 interface.c_str(), std::strerror(errno));
    return;
  }
  link_fds_.push_back(link_fd);
  tc_interfaces_.push_back(interface);
  __atomic_store_n(&skeleton_->bss->xdpkv_tc_ready, 1u, __ATOMIC_RELAXED);
}

int XdpLoader::program_fd() const { return bpf_program__fd(skeleton_->progs.xdpkv_xdp); }

int XdpLoader::ReadSlotForThisThread() const {
  // Per thread and loader: tests run several loaders in one process.
  thread_local const XdpLoader* owner = nullptr;
  thread_local int slot = -1;
  if (owner != this) {
    owner = this;
    const int next = next_read_slot_.fetch_add(1, std::memory_order_relaxed);
    slot = next < XDPKV_READ_SLOTS ? next : -1;
  }
  return slot;
}

int XdpLoader::read_program_fd() const {
  return bpf_program__fd(skeleton_->progs.xdpkv_store_read);
}

int XdpLoader::write_program_fd() const {
  return bpf_program__fd(skeleton_->progs.xdpkv_store_write);
}

int XdpLoader::cas_program_fd() const {
  return bpf_program__fd(skeleton_->progs.xdpkv_store_cas);
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
