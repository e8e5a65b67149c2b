// xdpkv-xdp-gen: drives a server's XDP fast path over a veth pair with the
// XDP generator (bpf/xdpkv_gen.bpf.c), no per-packet userspace work.
// Run inside the client namespace, on the client end of the veth (see
// bench/xdp-gen.sh, which builds the topology). Prints JSON:
//   requests sent, replies counted by the sink, wall time, round-trip
//   latency percentiles (send time kept per request id by the generator,
//   matched by the sink on the client end: no userspace on the path), and,
//   given the server's NAPI thread (--server-napi-pid), that thread's CPU
//   time per reply: the server's cost per request, measured where it is
//   spent.
// Without --rate the generator sends as fast as it can (the veth ring drops
// what the server cannot take: a peak). With --rate it sends at that
// offered rate with Poisson arrivals (an open loop; latency counts from
// when each request was due).
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
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

// enum gen_counter in bpf/xdpkv_gen.bpf.c.
enum { kSent, kNoRoom, kReplies, kOther, kSentWrites, kUnmatched, kLate, kCounterCount };

// The sink's latency histogram (bpf/xdpkv_gen.bpf.c): 8 buckets per power
// of two of nanoseconds; below 8 ns one per nanosecond.
constexpr int kLatencySubBits = 3;
constexpr uint32_t kLatencyBuckets = 40 << kLatencySubBits;
constexpr uint32_t kWriteFlag = 1u << 31;  // GEN_WRITE

// Upper edge of bucket b, in ns.
double BucketUpperNs(uint32_t b) {
  if (b < (1u << kLatencySubBits)) return b + 1;
  const int log = int(b >> kLatencySubBits) + kLatencySubBits - 1;
  const uint32_t sub = b & ((1u << kLatencySubBits) - 1);
  return std::ldexp(double((1u << kLatencySubBits) + sub + 1), log - kLatencySubBits);
}

struct Options {
  std::string iface;
  uint16_t server_port = 11211;
  // Addresses of the requests: xdpkv answers only what its host's stack
  // would accept (docs/architecture.md, "Admission"): the client end's
  // address and MAC as source, the server end's as destination.
  std::string source_ip = "198.18.0.2", dest_ip = "198.18.0.1", dest_mac;
  uint64_t requests = 5000000;
  size_t key_len = 16;
  size_t value_len = 128;
  int server_napi_pid = 0;
  // 0: one key, stored first by the generator. Else keys 0..items-1 (the
  // server preloaded with them, as xdpkv-bench --preload names them), in
  // the order of --dist.
  uint64_t items = 0;
  double zipf_theta = 0.99;  // 0: uniform
  double write_ratio = 0;    // share of SETs (needs --items)
  double rate = 0;           // offered requests/s; 0: as fast as possible
};

constexpr uint32_t kKeySequenceMax = 1 << 20;  // GEN_KEYS_MAX in the BPF side

// Each entry of a per-CPU array map, summed over the CPUs.
std::vector<uint64_t> PerCpuTotals(const bpf_map* map, uint32_t entries) {
  std::vector<uint64_t> totals(entries, 0);
  std::vector<uint64_t> per_cpu(static_cast<size_t>(libbpf_num_possible_cpus()));
  for (uint32_t i = 0; i < entries; ++i) {
    if (bpf_map_lookup_elem(bpf_map__fd(map), &i, per_cpu.data()) == 0) {
      for (uint64_t n : per_cpu) totals[i] += n;
    }
  }
  return totals;
}

std::vector<uint64_t> Counters(xdpkv_gen_bpf* skel) {
  return PerCpuTotals(skel->maps.gen_counters, kCounterCount);
}

std::vector<uint64_t> LatencyCounts(xdpkv_gen_bpf* skel) {
  return PerCpuTotals(skel->maps.gen_latency, kLatencyBuckets);
}

// Upper edge of the bucket holding quantile q, in microseconds.
double PercentileUs(const std::vector<uint64_t>& counts, double q) {
  uint64_t total = 0;
  for (uint64_t n : counts) total += n;
  if (total == 0) return 0;
  const uint64_t want = static_cast<uint64_t>(std::ceil(q * double(total)));
  uint64_t seen = 0;
  for (uint32_t b = 0; b < counts.size(); ++b) {
    seen += counts[b];
    if (seen >= want) return BucketUpperNs(b) / 1000.0;
  }
  return 0;
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
// "aa:bb:cc:dd:ee:ff" -> 6 bytes; empty if malformed.
std::string MacBytes(const std::string& text) {
  unsigned b[6];
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
    return "";
  }
  std::string out;
  for (unsigned byte : b) out.push_back(static_cast<char>(byte));
  return out;
}

// The interface's MAC (6 bytes), empty if unknown.
std::string InterfaceMac(const std::string& iface) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  ifreq request{};
  std::strncpy(request.ifr_name, iface.c_str(), IFNAMSIZ - 1);
  const bool ok = ioctl(fd, SIOCGIFHWADDR, &request) == 0;
  close(fd);
  return ok ? std::string(request.ifr_hwaddr.sa_data, 6) : "";
}

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

void OnAlarm(int) {}

// Sends `template_packet` `count` times from the generator, in live-frames
// mode out of `ifindex`. Paced (`rate` > 0): one test run the generator
// paces itself in (Poisson arrivals), interrupted by a timer after
// count/rate seconds. Returns 0 or -errno.
int Generate(xdpkv_gen_bpf* skel, const std::string& template_packet, int ifindex,
             uint64_t count, double rate = 0) {
  std::memcpy(skel->bss->gen_template, template_packet.data(), template_packet.size());
  __atomic_store_n(&skel->bss->gen_template_len, static_cast<__u32>(template_packet.size()),
                   __ATOMIC_RELEASE);
  // The test run's frame: longer than either template, so the program
  // always trims it. The kernel updates a recycled live frame's length only
  // when the program left the frame's bounds unlike the initial ones; a
  // template exactly the initial length would go out at whatever length the
  // frame last had (the server's reply, written into the same page: SETs
  // went out cut short).
  std::string data = template_packet;
  data.resize(std::max<size_t>(data.size(), skel->bss->gen_set_template_len) + 64, '\0');
  if (rate > 0) {
    std::mt19937_64 rng(11);
    std::exponential_distribution<double> gap_s(rate);
    const uint32_t gaps = static_cast<uint32_t>(std::min<uint64_t>(kKeySequenceMax, count));
    const int gaps_fd = bpf_map__fd(skel->maps.gen_gap_ns);
    for (uint32_t i = 0; i < gaps; ++i) {
      const uint32_t ns = static_cast<uint32_t>(std::min(gap_s(rng) * 1e9, 4e9));
      bpf_map_update_elem(gaps_fd, &i, &ns, BPF_ANY);
    }
    __atomic_store_n(&skel->bss->gen_gap_count, gaps, __ATOMIC_RELEASE);
    // The generator spins on this CPU until each frame is due; as an idle-
    // class thread it yields at once to the sink's NAPI thread, which
    // times the replies here too.
    sched_param idle{};
    sched_setscheduler(0, SCHED_IDLE, &idle);
    struct sigaction on_alarm {};
    on_alarm.sa_handler = OnAlarm;  // no SA_RESTART: the test run returns EINTR
    sigaction(SIGALRM, &on_alarm, nullptr);
    const double seconds = double(count) / rate;
    itimerval timer{};
    timer.it_value.tv_sec = static_cast<time_t>(seconds);
    timer.it_value.tv_usec = static_cast<suseconds_t>((seconds - double(timer.it_value.tv_sec)) * 1e6);
    setitimer(ITIMER_REAL, &timer, nullptr);
  }
  while (count > 0) {
    const uint32_t batch =
        rate > 0 ? 0x7fffffffu : static_cast<uint32_t>(std::min<uint64_t>(count, 1u << 24));
    xdp_md ctx{};
    ctx.data_end = static_cast<__u32>(data.size());
    ctx.ingress_ifindex = static_cast<__u32>(ifindex);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data.data(),
                .data_size_in = static_cast<__u32>(data.size()), .ctx_in = &ctx,
                .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(batch),
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = rate > 0 ? 8u : 64u);
    const int result = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdpkv_gen), &opts);
    if (rate > 0 && result != 0 && errno == EINTR) break;  // the timer: done
    if (result != 0) return -errno;
    if (rate > 0) break;
    count -= batch;
  }
  if (rate > 0) {
    __atomic_store_n(&skel->bss->gen_gap_count, 0u, __ATOMIC_RELEASE);
    sched_param normal{};
    sched_setscheduler(0, SCHED_OTHER, &normal);
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
    else if (flag == "--source-ip") o.source_ip = value;
    else if (flag == "--dest-ip") o.dest_ip = value;
    else if (flag == "--dest-mac") o.dest_mac = value;
    else if (flag == "--requests") o.requests = std::stoull(value);
    else if (flag == "--key-len") o.key_len = std::stoul(value);
    else if (flag == "--value-len") o.value_len = std::stoul(value);
    else if (flag == "--server-napi-pid") o.server_napi_pid = std::stoi(value);
    else if (flag == "--items") o.items = std::stoull(value);
    else if (flag == "--dist" && value == "uniform") o.zipf_theta = 0;
    else if (flag == "--dist" && value.rfind("zipf:", 0) == 0) o.zipf_theta = std::stod(value.substr(5));
    else if (flag == "--write-ratio") o.write_ratio = std::stod(value);
    else if (flag == "--rate") o.rate = std::stod(value);
    else {
      std::fprintf(stderr,
                   "usage: xdpkv-xdp-gen --iface IFACE [--server-port P] [--requests N]\n"
                   "       [--key-len N] [--value-len N] [--server-napi-pid PID]\n"
                   "       [--items N [--dist uniform|zipf:THETA] [--write-ratio W]]\n"
                   "       [--rate REQUESTS_PER_SECOND]  (keys of 8, 16 or 32 B)\n");
      return 2;
    }
  }
  if (o.write_ratio < 0 || o.write_ratio > 1 || (o.write_ratio > 0 && o.items == 0)) {
    std::fprintf(stderr, "xdpkv-xdp-gen: --write-ratio takes 0..1 and needs --items\n");
    return 2;
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
  if (inet_pton(AF_INET, o.source_ip.c_str(), &packet.ipv4_source) != 1 ||
      inet_pton(AF_INET, o.dest_ip.c_str(), &packet.ipv4_dest) != 1) {
    std::fprintf(stderr, "xdpkv-xdp-gen: --source-ip and --dest-ip take IPv4 addresses\n");
    return 1;
  }
  packet.dest_mac = MacBytes(o.dest_mac);
  packet.source_mac = InterfaceMac(o.iface);
  if (packet.dest_mac.size() != 6 || packet.source_mac.size() != 6) {
    std::fprintf(stderr, "xdpkv-xdp-gen: need --dest-mac (the server end's) and %s's MAC\n",
                 o.iface.c_str());
    return 1;
  }
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
    // Writes: the SET template, chosen per entry with --write-ratio.
    xdpkv::bench::KeyChooser chooser(o.items, o.zipf_theta, 42);
    std::mt19937_64 rng(7);
    std::bernoulli_distribution is_write(o.write_ratio);
    if (o.write_ratio > 0) {
      std::memcpy(skel->bss->gen_set_template, set.data(), set.size());
      skel->bss->gen_set_template_len = static_cast<__u32>(set.size());
    }
    const uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(kKeySequenceMax, o.requests));
    const int keys_fd = bpf_map__fd(skel->maps.gen_keys);
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t entry =
          static_cast<uint32_t>(chooser.Next()) | (is_write(rng) ? kWriteFlag : 0);
      bpf_map_update_elem(keys_fd, &i, &entry, BPF_ANY);
    }
    skel->bss->gen_key_offset = static_cast<__u32>(get.find("get k") + 5);
    skel->bss->gen_key_digits = static_cast<__u32>(o.key_len - 1);
    __atomic_store_n(&skel->bss->gen_key_count, count, __ATOMIC_RELEASE);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::vector<uint64_t> before = Counters(skel);
  const std::vector<uint64_t> latency_before = LatencyCounts(skel);
  const long long server_ns_before = OnCpuNs(o.server_napi_pid);
  const auto start = std::chrono::steady_clock::now();
  if (int err = Generate(skel, get, ifindex, o.requests, o.rate); err != 0) {
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
  std::vector<uint64_t> latency = LatencyCounts(skel);
  for (uint32_t b = 0; b < kLatencyBuckets; ++b) latency[b] -= latency_before[b];
  if (o.items == 0) {
    std::printf("{\n  \"request\": \"memcached get, key %zu B, value %zu B (one key, hit)\",\n",
                o.key_len, o.value_len);
  } else {
    std::printf("{\n  \"request\": \"memcached get%s, key %zu B, value %zu B, %llu items, %s\",\n",
                o.write_ratio > 0 ? (" + " + std::to_string(int(o.write_ratio * 100)) + "% set").c_str()
                                  : "",
                o.key_len, o.value_len, static_cast<unsigned long long>(o.items),
                o.zipf_theta > 0 ? ("zipf " + std::to_string(o.zipf_theta).substr(0, 4)).c_str()
                                 : "uniform");
  }
  std::printf("  \"sent\": %llu,\n  \"replies\": %llu,\n  \"lost\": %llu,\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(replies),
              static_cast<unsigned long long>(sent - std::min(sent, replies)));
  std::printf("  \"generator_no_room\": %llu,\n",
              static_cast<unsigned long long>(after[kNoRoom] - before[kNoRoom]));
  std::printf("  \"sent_writes\": %llu,\n  \"unmatched_replies\": %llu,\n",
              static_cast<unsigned long long>(after[kSentWrites] - before[kSentWrites]),
              static_cast<unsigned long long>(after[kUnmatched] - before[kUnmatched]));
  std::printf("  \"offered_rps\": %.0f,\n  \"sent_late_over_20us\": %llu,\n", o.rate,
              static_cast<unsigned long long>(after[kLate] - before[kLate]));
  std::printf("  \"p50_us\": %.1f,\n  \"p99_us\": %.1f,\n  \"p999_us\": %.1f,\n",
              PercentileUs(latency, 0.5), PercentileUs(latency, 0.99), PercentileUs(latency, 0.999));
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
