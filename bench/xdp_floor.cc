// xdpkv-xdp-floor: the floor of the benchmark topology (bench/xdp-gen.sh
// --floor). Attaches bpf/xdpkv_floor.bpf.c in native mode to --iface, in
// place of xdpkv: every request to the memcached or RESP port goes back as
// is, addresses swapped, with XDP_TX. Prints "XDP attached" once it runs;
// on SIGINT/SIGTERM, detaches and prints how many it sent back in the
// shape xdpkv prints its counters.
#include <linux/if_link.h>
#include <net/if.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bpf/bpf.h"
#include "bpf/libbpf.h"
#include "xdpkv_floor.skel.h"

int main(int argc, char** argv) {
  std::string iface;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--iface") iface = argv[i + 1];
  }
  const int ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
  if (ifindex == 0) {
    std::fprintf(stderr, "usage: xdpkv-xdp-floor --iface IFACE\n");
    return 2;
  }
  // Block the stop signals before anything runs, then wait for one.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop, nullptr);

  xdpkv_floor_bpf* skel = xdpkv_floor_bpf__open_and_load();
  if (skel == nullptr) {
    std::fprintf(stderr, "xdpkv-xdp-floor: loading failed (BPF rights?)\n");
    return 1;
  }
  LIBBPF_OPTS(bpf_link_create_opts, link_opts, .flags = XDP_FLAGS_DRV_MODE);
  const int link =
      bpf_link_create(bpf_program__fd(skel->progs.xdpkv_floor), ifindex, BPF_XDP, &link_opts);
  if (link < 0) {
    std::fprintf(stderr, "xdpkv-xdp-floor: attaching to %s: %s\n", iface.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::printf("xdpkv-xdp-floor: XDP attached to %s (native)\n", iface.c_str());
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  close(link);

  std::vector<uint64_t> per_cpu(static_cast<size_t>(libbpf_num_possible_cpus()));
  uint64_t reflected = 0;
  const uint32_t zero = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.floor_reflected), &zero, per_cpu.data()) == 0) {
    for (uint64_t n : per_cpu) reflected += n;
  }
  std::printf("xdpkv-xdp-floor: counters: floor.reflected=%llu\n",
              static_cast<unsigned long long>(reflected));
  xdpkv_floor_bpf__destroy(skel);
  return 0;
}
