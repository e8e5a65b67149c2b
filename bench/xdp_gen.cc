// xdpkv-xdp-gen: drives a server's kernel path over a veth pair with the
// XDP generator (bpf/xdpkv_gen.bpf.c), no per-packet userspace work.
// Run inside the client namespace, on the client end of the veth (see
// bench/xdp-gen.sh, which builds the topology). Requests: memcached or
// RESP over UDP, GETs, SETs (--write-ratio) and 100-key scans
// (--scan-ratio: `get k1 ... k100` / `MGET`), keys and values of any
// size a datagram holds. Prints JSON:
//   requests sent, requests whose whole reply the sink saw (a scan's
//   reply is many datagrams: complete only when all of them arrived),
//   wall time, round-trip latency percentiles (send time kept per request
//   id by the generator, matched by the sink on the client end: no
//   userspace on the path), and, given the server's NAPI thread
//   (--server-napi-pid), that thread's CPU time: the server's cost per
//   request, measured where it is spent.
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
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/workload.h"
#include "bpf/bpf.h"
#include "bpf/libbpf.h"
#include "protocol/resp.h"
#include "proxy/testing/packets.h"
// The layout first: the skeleton names its structs.
#include <linux/types.h>
#include "xdpkv_gen_layout.h"
#include "xdpkv_gen.skel.h"

namespace {

using xdpkv::testing::BuildPacket;
using xdpkv::testing::Frame;

// How many of each the BPF side has room for.
constexpr size_t kTemplateMax = GEN_TEMPLATE_MAX;
constexpr size_t kScanKeysMax = GEN_SCAN_KEYS_MAX;
constexpr size_t kKeyLenMin = 1 + GEN_KEY_DIGITS;  // "k" and the rewritten digits
constexpr uint64_t kItemsMax = GEN_ITEMS_MAX;
static_assert(GEN_ITEMS_MAX <= 10'000'000, "item numbers fit GEN_KEY_DIGITS digits");
constexpr uint32_t kLatencyBuckets = GEN_LATENCY_BUCKETS;
constexpr int kLatencySubBits = GEN_LATENCY_SUB_BITS;

// Upper edge of bucket b, in ns.
double BucketUpperNs(uint32_t b) {
  if (b < (1u << kLatencySubBits)) return b + 1;
  const int log = int(b >> kLatencySubBits) + kLatencySubBits - 1;
  const uint32_t sub = b & ((1u << kLatencySubBits) - 1);
  return std::ldexp(double((1u << kLatencySubBits) + sub + 1), log - kLatencySubBits);
}

struct Options {
  std::string iface;
  bool resp = false;         // RESP over UDP (xdpkv's framing) instead of memcached
  uint16_t server_port = 0;  // 0: the protocol's (11211, 6379)
  // Addresses of the requests: xdpkv answers only what its host's stack
  // would accept (docs/architecture.md, "Admission"): the client end's
  // address and MAC as source, the server end's as destination.
  std::string source_ip = "198.18.0.2", dest_ip = "198.18.0.1", dest_mac;
  uint64_t requests = 5000000;
  double seconds = 0;  // also stop after this long; 0: only --requests
  size_t key_len = 16;
  size_t value_len = 128;
  int server_napi_pid = 0;
  int server_cpu = 1;  // whose /proc/stat busy share is reported beside
  int server_pid = 0;  // the server process: its own CPU time, reported beside
  // 0: one key, stored first by the generator. Else keys 0..items-1 (the
  // server preloaded with them, as xdpkv-bench --preload names them), in
  // the order of --dist.
  uint64_t items = 0;
  double zipf_theta = 0.99;  // 0: uniform
  double write_ratio = 0;    // share of SETs (needs --items)
  double scan_ratio = 0;     // share of scans (needs --items)
  size_t scan_keys = 100;
  double rate = 0;  // offered requests/s; 0: as fast as possible
  // The server echoes each request (bench/xdp_floor.cc): every reply is
  // one datagram, whatever the request.
  bool echo = false;
};

constexpr uint32_t kKeySequenceMax = GEN_KEYS_MAX;

// One request template: the packet, where its keys are, and what makes its
// reply complete (struct gen_template).
struct Template {
  std::string packet;
  size_t key_end = 0;     // packet offset just past the first key
  size_t key_stride = 0;  // from one key to the next
  uint32_t keys = 1;
  uint32_t objects = 1;        // reply objects (memcached: one per key of a get)
  bool ends_with_end = false;  // the reply ends at a datagram ending in "END\r\n"
};

std::string RespCommand(const std::vector<std::string>& words) {
  std::string out;
  xdpkv::resp::AppendArrayHeader(&out, words.size());
  for (const auto& w : words) xdpkv::resp::AppendBulk(&out, w);
  return out;
}

// The three templates (enum gen_kind) for `key` (item 0's name; the generator
// rewrites its digits per request).
std::array<Template, GEN_KINDS> BuildTemplates(const Options& o, const std::string& key,
                                               const xdpkv::testing::PacketOptions& packet) {
  const std::string value(o.value_len, 'v');
  std::vector<std::string> payloads(GEN_KINDS);
  if (o.resp) {
    payloads[GEN_GET] = RespCommand({"GET", key});
    payloads[GEN_SET] = RespCommand({"SET", key, value});
    std::vector<std::string> mget{"MGET"};
    mget.resize(1 + o.scan_keys, key);
    payloads[GEN_SCAN] = RespCommand(mget);
  } else {
    payloads[GEN_GET] = "get " + key + "\r\n";
    payloads[GEN_SET] =
        "set " + key + " 0 0 " + std::to_string(o.value_len) + "\r\n" + value + "\r\n";
    payloads[GEN_SCAN] = "get";
    for (size_t i = 0; i < o.scan_keys; ++i) payloads[GEN_SCAN] += " " + key;
    payloads[GEN_SCAN] += "\r\n";
  }
  std::array<Template, GEN_KINDS> out;
  for (uint32_t kind = 0; kind < GEN_KINDS; ++kind) {
    Template& t = out[kind];
    t.packet = BuildPacket(Frame(static_cast<uint16_t>(kind + 1)) + payloads[kind], packet);
    const size_t payload_at = t.packet.size() - payloads[kind].size();
    t.key_end = payload_at + payloads[kind].find(key) + key.size();
    if (kind == GEN_SCAN) {
      t.keys = static_cast<uint32_t>(o.scan_keys);
      t.key_stride =
          payloads[kind].find(key, t.key_end - payload_at) + key.size() - (t.key_end - payload_at);
      // memcached -U frames each key's reply as an object of its own, END
      // on the last; a RESP reply is one object (docs/protocols.md).
      t.objects = o.resp ? 1 : t.keys;
    }
    t.ends_with_end = !o.resp && kind != GEN_SET;  // a memcached get's reply
    if (o.echo) {  // the floor sends the request back, one datagram
      t.objects = 1;
      t.ends_with_end = false;
    }
  }
  return out;
}

// gen_item_digits: item i's GEN_KEY_DIGITS digits, the first in the low
// byte, in one batch.
int LoadItemDigits(xdpkv_gen_bpf* skel, uint32_t items) {
  std::vector<uint32_t> keys(items);
  std::vector<uint64_t> values(items);
  for (uint32_t i = 0; i < items; ++i) {
    const std::string key = xdpkv::bench::KeyName(i, kKeyLenMin);
    keys[i] = i;
    std::memcpy(&values[i], key.data() + 1, GEN_KEY_DIGITS);
  }
  uint32_t count = items;
  return bpf_map_update_batch(bpf_map__fd(skel->maps.gen_item_digits), keys.data(), values.data(),
                              &count, nullptr);
}

void LoadTemplate(xdpkv_gen_bpf* skel, uint32_t kind, const Template& t) {
  auto& slot = skel->bss->gen_templates[kind];
  std::memcpy(slot.bytes, t.packet.data(), t.packet.size());
  slot.key_end = static_cast<__u32>(t.key_end);
  slot.key_stride = static_cast<__u32>(t.key_stride);
  slot.keys = t.keys;
  slot.objects = t.objects;
  slot.ends_with_end = t.ends_with_end;
  __atomic_store_n(&slot.len, static_cast<__u32>(t.packet.size()), __ATOMIC_RELEASE);
}

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
  return PerCpuTotals(skel->maps.gen_counters, GEN_COUNTER_COUNT);
}

std::vector<uint64_t> LatencyCounts(xdpkv_gen_bpf* skel) {
  return PerCpuTotals(skel->maps.gen_latency, 2 * kLatencyBuckets);
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

// Clock ticks a process (all its threads) has run, user and system
// (/proc/PID/stat fields 14 and 15); -1 if unknown.
long long ProcessTicks(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold
  // spaces: state is field 3, utime 14, stime 15.
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long long utime = -1, stime = -1;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return utime < 0 || stime < 0 ? -1 : utime + stime;
}

// (busy, total) jiffies of one CPU from /proc/stat: what the server's CPU
// did besides its NAPI thread shows in the difference.
std::pair<long long, long long> CpuJiffies(int cpu) {
  std::ifstream in("/proc/stat");
  const std::string want = "cpu" + std::to_string(cpu);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    if (name != want) continue;
    long long v, busy = 0, total = 0;
    for (int column = 0; fields >> v; ++column) {
      total += v;
      if (column != 3 && column != 4) busy += v;  // idle, iowait
    }
    return {busy, total};
  }
  return {0, 0};
}

// "aa:bb:cc:dd:ee:ff" -> 6 bytes; empty if malformed.
std::string MacBytes(const std::string& text) {
  unsigned b[6];
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) !=
      6) {
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

// veth has NAPI only once an XDP program is attached: after attaching the
// sink, move this end's receive work into its own thread and pin it next to
// the generator, away from the server's CPU. Best effort.
// The thread is real-time (SCHED_FIFO): the sink comes first on this CPU,
// so the ring of replies is emptied before more requests go out (a scan's
// reply is 100 datagrams), while the generator, an ordinary thread, still
// gets its fair share of a CPU that something else also uses. Measured:
// the same GET peaks; scan replies the server sent whole all arrived, where
// with the generator first half were lost to the full ring. (An idle-class
// generator did as well on a quiet machine, but got next to no CPU beside
// a compiler.)
void ThreadedNapiOnCpu(const std::string& iface, int cpu) {
  std::ofstream("/sys/class/net/" + iface + "/threaded") << "1";
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    if (!(comm >> name) || name.rfind("napi/" + iface + "-", 0) != 0) continue;
    const int tid = std::stoi(entry.path().filename());
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(tid, sizeof(set), &set);
    sched_param first{};
    first.sched_priority = 1;
    sched_setscheduler(tid, SCHED_FIFO, &first);
  }
}

void OnAlarm(int) {}

// Arms a one-shot timer that interrupts the test run (EINTR) after
// `seconds`; 0 disarms it.
void InterruptAfter(double seconds) {
  struct sigaction on_alarm {};
  on_alarm.sa_handler = OnAlarm;  // no SA_RESTART: the test run returns EINTR
  sigaction(SIGALRM, &on_alarm, nullptr);
  itimerval timer{};
  timer.it_value.tv_sec = static_cast<time_t>(seconds);
  timer.it_value.tv_usec =
      static_cast<suseconds_t>((seconds - double(timer.it_value.tv_sec)) * 1e6);
  setitimer(ITIMER_REAL, &timer, nullptr);
}

// Sends `count` requests from the generator, in live-frames mode out of
// `ifindex`, each from the loaded templates; `frame_len` is at least the
// longest template. Paced (`rate` > 0): one test run the generator paces
// itself in (Poisson arrivals), interrupted by a timer after count/rate
// seconds. Unpaced, `seconds` > 0 also ends it. Returns 0 or -errno.
int Generate(xdpkv_gen_bpf* skel, size_t frame_len, int ifindex, uint64_t count, double rate = 0,
             double seconds = 0) {
  // The test run's frame: longer than any template, so the program always
  // trims it. The kernel updates a recycled live frame's length only when
  // the program left the frame's bounds unlike the initial ones; a template
  // exactly the initial length would go out at whatever length the frame
  // last had (the server's reply, written into the same page: SETs went
  // out cut short). Its bytes do not matter: the program rewrites them.
  std::string data(frame_len + 64, '\0');
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
    seconds = seconds > 0 ? std::min(seconds, double(count) / rate) : double(count) / rate;
  }
  // The sink's NAPI thread shares this CPU and preempts the generator
  // (ThreadedNapiOnCpu): paced, replies are timed while the generator
  // spins until each frame is due.
  if (seconds > 0) InterruptAfter(seconds);
  bool interrupted = false;
  while (count > 0 && !interrupted) {
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
    if (result != 0 && errno == EINTR && seconds > 0) {
      interrupted = true;  // the timer: done
    } else if (result != 0) {
      return -errno;
    }
    if (rate > 0) break;
    count -= std::min<uint64_t>(count, batch);
  }
  InterruptAfter(0);
  __atomic_store_n(&skel->bss->gen_gap_count, 0u, __ATOMIC_RELEASE);
  return 0;
}

std::string Describe(const Options& o) {
  std::string what = o.resp ? "RESP GET" : "memcached get";
  if (o.write_ratio > 0)
    what += " + " + std::to_string(int(std::lround(o.write_ratio * 100))) + "% set";
  if (o.scan_ratio > 0) {
    std::ostringstream ratio;
    ratio << o.scan_ratio * 100;
    what += " + " + ratio.str() + "% " + std::to_string(o.scan_keys) + "-key " +
            (o.resp ? "MGET" : "get");
  }
  what += ", key " + std::to_string(o.key_len) + " B, value " + std::to_string(o.value_len) + " B";
  if (o.items == 0) return what + " (one key, hit)" + (o.echo ? ", echoed" : "");
  std::ostringstream dist;
  if (o.zipf_theta > 0) {
    dist << "zipf " << o.zipf_theta;
  } else {
    dist << "uniform";
  }
  return what + ", " + std::to_string(o.items) + " items, " + dist.str() +
         (o.echo ? ", echoed" : "");
}

int Usage() {
  std::fprintf(stderr,
               "usage: xdpkv-xdp-gen --iface IFACE [--proto memcache|resp] [--server-port P]\n"
               "       [--requests N] [--seconds S] [--key-len N] [--value-len N]\n"
               "       [--server-napi-pid PID] [--server-cpu CPU] [--server-pid PID]\n"
               "       [--items N [--dist uniform|zipf:THETA] [--write-ratio W]\n"
               "        [--scan-ratio S [--scan-keys N]]] [--rate REQUESTS_PER_SECOND]\n"
               "       [--echo 1]  (keys of at least 8 B)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--iface") o.iface = value;
    else if (flag == "--proto" && value == "resp") o.resp = true;
    else if (flag == "--proto" && value == "memcache") o.resp = false;
    else if (flag == "--server-port") o.server_port = static_cast<uint16_t>(std::stoi(value));
    else if (flag == "--source-ip") o.source_ip = value;
    else if (flag == "--dest-ip") o.dest_ip = value;
    else if (flag == "--dest-mac") o.dest_mac = value;
    else if (flag == "--requests") o.requests = std::stoull(value);
    else if (flag == "--seconds") o.seconds = std::stod(value);
    else if (flag == "--key-len") o.key_len = std::stoul(value);
    else if (flag == "--value-len") o.value_len = std::stoul(value);
    else if (flag == "--server-napi-pid") o.server_napi_pid = std::stoi(value);
    else if (flag == "--server-cpu") o.server_cpu = std::stoi(value);
    else if (flag == "--server-pid") o.server_pid = std::stoi(value);
    else if (flag == "--items") o.items = std::stoull(value);
    else if (flag == "--dist" && value == "uniform") o.zipf_theta = 0;
    else if (flag == "--dist" && value.rfind("zipf:", 0) == 0) o.zipf_theta = std::stod(value.substr(5));
    else if (flag == "--write-ratio") o.write_ratio = std::stod(value);
    else if (flag == "--scan-ratio") o.scan_ratio = std::stod(value);
    else if (flag == "--scan-keys") o.scan_keys = std::stoul(value);
    else if (flag == "--rate") o.rate = std::stod(value);
    else if (flag == "--echo") o.echo = value == "1";
    else return Usage();
  }
  if (o.server_port == 0) o.server_port = o.resp ? 6379 : 11211;
  if (o.write_ratio < 0 || o.scan_ratio < 0 || o.write_ratio + o.scan_ratio > 1 ||
      ((o.write_ratio > 0 || o.scan_ratio > 0) && o.items == 0)) {
    std::fprintf(stderr,
                 "xdpkv-xdp-gen: --write-ratio and --scan-ratio take 0..1 (together at most 1) "
                 "and need --items\n");
    return 2;
  }
  if (o.key_len < kKeyLenMin || o.items > kItemsMax || o.scan_keys == 0 ||
      o.scan_keys > kScanKeysMax) {
    std::fprintf(stderr,
                 "xdpkv-xdp-gen: keys of at least %zu B, --items up to %llu, 1..%zu keys "
                 "per scan\n",
                 kKeyLenMin, static_cast<unsigned long long>(kItemsMax), kScanKeysMax);
    return 2;
  }
  const int ifindex = static_cast<int>(if_nametoindex(o.iface.c_str()));
  if (ifindex == 0) {
    std::fprintf(stderr, "xdpkv-xdp-gen: no interface '%s'\n", o.iface.c_str());
    return 2;
  }

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
  const std::string key =
      o.items > 0 ? xdpkv::bench::KeyName(0, o.key_len) : std::string(o.key_len, 'k');
  std::array<Template, GEN_KINDS> templates = BuildTemplates(o, key, packet);
  // Only the kinds this workload sends (the one-key mode stores its key
  // with a SET); the others stay empty, whatever their size would be.
  if (o.write_ratio == 0 && o.items > 0) templates[GEN_SET] = Template{};
  if (o.scan_ratio == 0) templates[GEN_SCAN] = Template{};
  size_t frame_len = 0;
  for (const Template& t : templates) {
    if (t.packet.size() > kTemplateMax) {
      std::fprintf(stderr, "xdpkv-xdp-gen: a request of %zu bytes is over the generator's %zu\n",
                   t.packet.size(), kTemplateMax);
      return 2;
    }
    frame_len = std::max(frame_len, t.packet.size());
  }

  xdpkv_gen_bpf* skel = xdpkv_gen_bpf__open();
  if (skel == nullptr) return 1;
  skel->data->sink_server_port = o.server_port;
  if (xdpkv_gen_bpf__load(skel) != 0) {
    std::fprintf(stderr, "xdpkv-xdp-gen: loading the generator failed (BPF rights?)\n");
    return 1;
  }
  LIBBPF_OPTS(bpf_link_create_opts, link_opts, .flags = XDP_FLAGS_DRV_MODE);
  const int link =
      bpf_link_create(bpf_program__fd(skel->progs.xdpkv_sink), ifindex, BPF_XDP, &link_opts);
  if (link < 0) {
    std::fprintf(stderr, "xdpkv-xdp-gen: attaching the sink to %s: %s\n", o.iface.c_str(),
                 std::strerror(errno));
    return 1;
  }

  ThreadedNapiOnCpu(o.iface, 0);

  if (o.items == 0) {
    // Store the one item (the SET template in the GET slot for one
    // request), then time the GETs.
    LoadTemplate(skel, GEN_GET, templates[GEN_SET]);
    if (int err = Generate(skel, frame_len, ifindex, 1); err != 0) {
      std::fprintf(stderr, "xdpkv-xdp-gen: generator: %s\n", std::strerror(-err));
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    LoadTemplate(skel, GEN_GET, templates[GEN_GET]);
  } else {
    for (uint32_t kind = 0; kind < GEN_KINDS; ++kind) LoadTemplate(skel, kind, templates[kind]);
    if (LoadItemDigits(skel, static_cast<uint32_t>(o.items)) != 0) {
      std::fprintf(stderr, "xdpkv-xdp-gen: loading the keys' digits: %s\n", std::strerror(errno));
      return 1;
    }
    // The workload, one entry per request: its kind (as xdpkv-bench picks
    // it: scans, then writes, then reads) and its (first) item.
    xdpkv::bench::KeyChooser chooser(o.items, o.zipf_theta, 42);
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    const uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(kKeySequenceMax, o.requests));
    const int keys_fd = bpf_map__fd(skel->maps.gen_keys);
    for (uint32_t i = 0; i < count; ++i) {
      const double u = uniform(rng);
      const uint32_t kind = u < o.scan_ratio                   ? GEN_SCAN
                            : u < o.scan_ratio + o.write_ratio ? GEN_SET
                                                               : GEN_GET;
      const uint32_t entry = static_cast<uint32_t>(chooser.Next()) | (kind << GEN_KIND_SHIFT);
      bpf_map_update_elem(keys_fd, &i, &entry, BPF_ANY);
    }
    skel->bss->gen_items = static_cast<__u32>(o.items);
    __atomic_store_n(&skel->bss->gen_key_count, count, __ATOMIC_RELEASE);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::vector<uint64_t> before = Counters(skel);
  const std::vector<uint64_t> latency_before = LatencyCounts(skel);
  const long long server_ns_before = OnCpuNs(o.server_napi_pid);
  const auto server_cpu_before = CpuJiffies(o.server_cpu);
  const long long server_ticks_before = ProcessTicks(o.server_pid);
  const auto start = std::chrono::steady_clock::now();
  if (int err = Generate(skel, frame_len, ifindex, o.requests, o.rate, o.seconds); err != 0) {
    std::fprintf(stderr, "xdpkv-xdp-gen: generator: %s\n", std::strerror(-err));
    return 1;
  }
  const auto sent_at = std::chrono::steady_clock::now();
  const auto server_cpu_after = CpuJiffies(o.server_cpu);
  const long long server_ticks_after = ProcessTicks(o.server_pid);
  // Let the server and the sink drain what is in flight (bounded).
  std::vector<uint64_t> after = Counters(skel);
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::vector<uint64_t> now = Counters(skel);
    if (now[SINK_DATAGRAMS] == after[SINK_DATAGRAMS]) break;
    after = now;
  }
  const long long server_ns_after = OnCpuNs(o.server_napi_pid);
  const double seconds = std::chrono::duration<double>(sent_at - start).count();
  auto delta = [&](int c) { return static_cast<unsigned long long>(after[c] - before[c]); };
  const unsigned long long sent = delta(GEN_SENT), complete = delta(SINK_COMPLETE);
  std::vector<uint64_t> latency = LatencyCounts(skel);
  for (uint32_t b = 0; b < latency.size(); ++b) latency[b] -= latency_before[b];
  const std::vector<uint64_t> all(latency.begin(), latency.begin() + kLatencyBuckets);
  const std::vector<uint64_t> scans(latency.begin() + kLatencyBuckets, latency.end());

  std::printf("{\n  \"request\": \"%s\",\n", Describe(o).c_str());
  // "replies": requests whose whole reply arrived (one datagram, or every
  // datagram of a scan's); "lost": the rest of what was sent.
  std::printf("  \"sent\": %llu,\n  \"replies\": %llu,\n  \"lost\": %llu,\n", sent, complete,
              sent - std::min(sent, complete));
  std::printf("  \"generator_no_room\": %llu,\n  \"sent_writes\": %llu,\n", delta(GEN_NO_ROOM),
              delta(GEN_SENT_WRITES));
  std::printf("  \"sent_scans\": %llu,\n  \"complete_scans\": %llu,\n  \"lost_scans\": %llu,\n",
              delta(GEN_SENT_SCANS), delta(SINK_SCANS_COMPLETE),
              delta(GEN_SENT_SCANS) - std::min(delta(GEN_SENT_SCANS), delta(SINK_SCANS_COMPLETE)));
  std::printf(
      "  \"reply_datagrams\": %llu,\n  \"incomplete_replies\": %llu,\n"
      "  \"replies_without_end\": %llu,\n  \"unmatched_datagrams\": %llu,\n"
      "  \"other_frames\": %llu,\n",
      delta(SINK_DATAGRAMS), delta(SINK_INCOMPLETE), delta(SINK_NO_END), delta(SINK_UNMATCHED),
      delta(SINK_OTHER));
  std::printf("  \"offered_rps\": %.0f,\n  \"sent_late_over_20us\": %llu,\n", o.rate,
              delta(GEN_LATE));
  std::printf("  \"p50_us\": %.1f,\n  \"p99_us\": %.1f,\n  \"p999_us\": %.1f,\n",
              PercentileUs(all, 0.5), PercentileUs(all, 0.99), PercentileUs(all, 0.999));
  if (delta(SINK_SCANS_COMPLETE) > 0) {
    std::printf("  \"scan_p50_us\": %.1f,\n  \"scan_p99_us\": %.1f,\n", PercentileUs(scans, 0.5),
                PercentileUs(scans, 0.99));
  }
  const long long busy = server_cpu_after.first - server_cpu_before.first;
  const long long total = server_cpu_after.second - server_cpu_before.second;
  if (server_ticks_before >= 0 && server_ticks_after >= 0) {
    // The server process's own threads (userspace, and the system calls
    // they make), beside its NAPI thread's kernel work.
    std::printf("  \"server_process_cpu_seconds\": %.3f,\n",
                double(server_ticks_after - server_ticks_before) / double(sysconf(_SC_CLK_TCK)));
  }
  std::printf("  \"server_cpu_busy_proc_stat\": %.3f,\n",
              total > 0 ? double(busy) / double(total) : 0.0);
  std::printf("  \"seconds\": %.3f,\n  \"replies_per_second\": %.0f", seconds,
              double(complete) / seconds);
  if (server_ns_before >= 0 && server_ns_after >= 0) {
    std::printf(",\n  \"server_napi_cpu_seconds\": %.3f",
                (server_ns_after - server_ns_before) / 1e9);
  }
  std::printf("\n}\n");
  close(link);
  xdpkv_gen_bpf__destroy(skel);
  return complete > 0 ? 0 : 1;
}
