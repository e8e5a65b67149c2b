// xdpkv-xdp-gen: drives a server's XDP fast path over a veth pair with the
// XDP generator (bpf/xdpkv_gen.bpf.c), no per-packet userspace work.
// Run inside the client namespace, on the client end of the veth (see
// bench/xdp-gen.sh, which builds the topology). Prints JSON:
//   requests sent, replies counted by the sink, wall time, and, given the
//   server's NAPI thread (--server-napi-pid), that thread's CPU time per
//   reply: the server's cost per request, measured where it is spent.
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/workload.h"
#include "bpf/bpf.h"
#include "bpf/libbpf.h"
#include "proxy/testing/packets.h"
#include "xdpkv_gen.skel.h"

namespace {

using xdpkv::testing::BuildPacket;
using xdpkv::testing::Frame;

enum { kSent, kNoRoom, kReplies, kOther, kCounterCount };

struct Options {
  std::string iface;
  uint16_t server_port = 11211;
  uint64_t requests = 5000000;
  size_t key_len = 16;
  size_t value_len = 128;
  int server_napi_pid = 0;
  // 0: one key, stored first by the generator. Else keys 0..items-1 (the
  // server preloaded with them, as xdpkv-bench --preload names them), in
  // the order of --dist.
  uint64_t items = 0;
  double zipf_theta = 0.99;  // 0: uniform
};

constexpr uint32_t kKeySequenceMax = 1 << 20;  // GEN_KEYS_MAX in the BPF side

std::vector<uint64_t> Counters(xdpkv_gen_bpf* skel) {
  const int cpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> totals(kCounterCount, 0);
  std::vector<uint64_t> per_cpu(static_cast<size_t>(cpus));
  for (uint32_t i = 0; i < kCounterCount; ++i) {
    if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.gen_counters), &i, per_cpu.data()) == 0) {
      for (uint64_t n : per_cpu) totals[i] += n;
    }
  }
  return totals;
}

// Nanoseconds a thread has run on a CPU (/proc/PID/schedstat, first field).
long long OnCpuNs(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/schedstat");
  long long ns = -1;
  in >> ns;
  return ns;
}

// veth has NAPI only once an XDP program is attached: after attaching the
// sink, move this end's receive work into its own thread and pin it next to
// the generator, away from the server's CPU. Best effort.
void ThreadedNapiOnCpu(const std::string& iface, int cpu) {
  std::ofstream("/sys/class/net/" + iface + "/threaded") << "1";
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    if (!(comm >> name) || name.rfind("napi/" + iface + "-", 0) != 0) continue;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(std::stoi(entry.path().filename()), sizeof(set), &set);
  }
}

// Sends `template_packet` `count` times from the generator, in live-frames
// mode out of `ifindex`. Returns 0 or -errno.
int Generate(xdpkv_gen_bpf* skel, const std::string& template_packet, int ifindex,
             uint64_t count) {
  std::memcpy(skel->bss->gen_template, template_packet.data(), template_packet.size());
  __atomic_store_n(&skel->bss->gen_template_len, static_cast<__u32>(template_packet.size()),
                   __ATOMIC_RELEASE);
  std::string data = template_packet;
  while (count > 0) {
    const uint32_t batch = static_cast<uint32_t>(std::min<uint64_t>(count, 1u << 24));
    xdp_md ctx{};
    ctx.data_end = static_cast<__u32>(data.size());
    ctx.ingress_ifindex = static_cast<__u32>(ifindex);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data.data(),
                .data_size_in = static_cast<__u32>(data.size()), .ctx_in = &ctx,
                .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(batch),
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
    if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdpkv_gen), &opts) != 0) {
      return -errno;
    }
    count -= batch;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--iface") o.iface = value;
    else if (flag == "--server-port") o.server_port = static_cast<uint16_t>(std::stoi(value));
    else if (flag == "--requests") o.requests = std::stoull(value);
    else if (flag == "--key-len") o.key_len = std::stoul(value);
    else if (flag == "--value-len") o.value_len = std::stoul(value);
    else if (flag == "--server-napi-pid") o.server_napi_pid = std::stoi(value);
    else if (flag == "--items") o.items = std::stoull(value);
    else if (flag == "--dist" && value == "uniform") o.zipf_theta = 0;
    else if (flag == "--dist" && value.rfind("zipf:", 0) == 0) o.zipf_theta = std::stod(value.substr(5));
    else {
      std::fprintf(stderr,
                   "usage: xdpkv-xdp-gen --iface IFACE [--server-port P] [--requests N]\n"
                   "       [--key-len N] [--value-len N] [--server-napi-pid PID]\n"
                   "       [--items N [--dist uniform|zipf:THETA]]  (keys of 8, 16 or 32 B)\n");
      return 2;
    }
  }
  if (o.items > 0 && o.key_len != 8 && o.key_len != 16 && o.key_len != 32) {
    std::fprintf(stderr, "xdpkv-xdp-gen: with --items, keys must be 8, 16 or 32 bytes\n");
    return 2;
  }
  const int ifindex = static_cast<int>(if_nametoindex(o.iface.c_str()));
  if (ifindex == 0) {
    std::fprintf(stderr, "xdpkv-xdp-gen: no interface '%s'\n", o.iface.c_str());
    return 2;
  }
  xdpkv_gen_bpf* skel = xdpkv_gen_bpf__open();
  if (skel == nullptr) return 1;
  skel->data->sink_server_port = o.server_port;
  if (xdpkv_gen_bpf__load(skel) != 0) {
    std::fprintf(stderr, "xdpkv-xdp-gen: loading the generator failed (BPF rights?)\n");
    return 1;
  }
  LIBBPF_OPTS(bpf_link_create_opts, link_opts, .flags = XDP_FLAGS_DRV_MODE);
  const int link = bpf_link_create(bpf_program__fd(skel->progs.xdpkv_sink), ifindex, BPF_XDP,
                                   &link_opts);
  if (link < 0) {
    std::fprintf(stderr, "xdpkv-xdp-gen: attaching the sink to %s: %s\n", o.iface.c_str(),
                 std::strerror(errno));
    return 1;
  }

  ThreadedNapiOnCpu(o.iface, 0);

  xdpkv::testing::PacketOptions packet;
  packet.dest_port = o.server_port;
  const std::string key = o.items > 0 ? xdpkv::bench::KeyName(0, o.key_len) : std::string(o.key_len, 'k');
  const std::string set =
      BuildPacket(Frame(1) + "set " + key + " 0 0 " + std::to_string(o.value_len) + "\r\n" +
                      std::string(o.value_len, 'v') + "\r\n",
                  packet);
  const std::string get = BuildPacket(Frame(2) + "get " + key + "\r\n", packet);

  if (o.items == 0) {
    // Store the one item, then time the GETs.
    if (int err = Generate(skel, set, ifindex, 1); err != 0) {
      std::fprintf(stderr, "xdpkv-xdp-gen: generator: %s\n", std::strerror(-err));
      return 1;
    }
  } else {
    // The key sequence: the generator rewrites each frame's key digits.
    xdpkv::bench::KeyChooser chooser(o.items, o.zipf_theta, 42);
    const uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(kKeySequenceMax, o.requests));
    const int keys_fd = bpf_map__fd(skel->maps.gen_keys);
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t item = static_cast<uint32_t>(chooser.Next());
      bpf_map_update_elem(keys_fd, &i, &item, BPF_ANY);
    }
    skel->bss->gen_key_offset = static_cast<__u32>(get.find("get k") + 5);
    skel->bss->gen_key_digits = static_cast<__u32>(o.key_len - 1);
    __atomic_store_n(&skel->bss->gen_key_count, count, __ATOMIC_RELEASE);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::vector<uint64_t> before = Counters(skel);
  const long long server_ns_before = OnCpuNs(o.server_napi_pid);
  const auto start = std::chrono::steady_clock::now();
  if (int err = Generate(skel, get, ifindex, o.requests); err != 0) {
    std::fprintf(stderr, "xdpkv-xdp-gen: generator: %s\n", std::strerror(-err));
    return 1;
  }
  const auto sent_at = std::chrono::steady_clock::now();
  // Let the server and the sink drain what is in flight (bounded).
  std::vector<uint64_t> after = Counters(skel);
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::vector<uint64_t> now = Counters(skel);
    if (now[kReplies] == after[kReplies]) break;
    after = now;
  }
  const long long server_ns_after = OnCpuNs(o.server_napi_pid);
  const double seconds = std::chrono::duration<double>(sent_at - start).count();
  const uint64_t sent = after[kSent] - before[kSent];
  const uint64_t replies = after[kReplies] - before[kReplies];
  if (o.items == 0) {
    std::printf("{\n  \"request\": \"memcached get, key %zu B, value %zu B (one key, hit)\",\n",
                o.key_len, o.value_len);
  } else {
    std::printf("{\n  \"request\": \"memcached get, key %zu B, value %zu B, %llu items, %s\",\n",
                o.key_len, o.value_len, static_cast<unsigned long long>(o.items),
                o.zipf_theta > 0 ? ("zipf " + std::to_string(o.zipf_theta).substr(0, 4)).c_str()
                                 : "uniform");
  }
  std::printf("  \"sent\": %llu,\n  \"replies\": %llu,\n  \"lost\": %llu,\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(replies),
              static_cast<unsigned long long>(sent - std::min(sent, replies)));
  std::printf("  \"generator_no_room\": %llu,\n",
              static_cast<unsigned long long>(after[kNoRoom] - before[kNoRoom]));
  std::printf("  \"seconds\": %.3f,\n  \"replies_per_second\": %.0f", seconds,
              replies / seconds);
  if (server_ns_before >= 0 && server_ns_after >= 0 && replies > 0) {
    std::printf(",\n  \"server_napi_cpu_seconds\": %.3f,\n  \"server_ns_per_reply\": %.1f",
                (server_ns_after - server_ns_before) / 1e9,
                static_cast<double>(server_ns_after - server_ns_before) / replies);
  }
  std::printf("\n}\n");
  close(link);
  xdpkv_gen_bpf__destroy(skel);
  return replies > 0 ? 0 : 1;
}
