// xdpkv-bench: the load generator of bench/ (bench/README.md). It speaks
// memcached text and RESP over UDP or TCP, so the same requests drive
// xdpkv, redis-server and memcached. Closed loop (N outstanding per thread)
// finds peak throughput; open loop (Poisson arrivals at a fixed rate)
// measures latency against load, timed from each request's intended send
// time so a slow server cannot hide its queueing. Latencies go into a
// log-bucketed histogram; timeouts and errors are counted, never dropped.
#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <utility>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/workload.h"
#include "protocol/resp.h"

namespace {

using xdpkv::bench::KeyChooser;
using xdpkv::bench::KeyName;
using xdpkv::bench::ValueFor;

// --- options -----------------------------------------------------------------

struct Options {
  std::string host = "127.0.0.1";
  int port = 11211;
  bool resp = false;        // --proto resp
  bool udp = true;          // --transport udp
  uint64_t items = 1000000;
  size_t key_size = 16;
  size_t value_size = 128;
  double zipf_theta = 0.99;  // 0: uniform
  double write_ratio = 0;
  double scan_ratio = 0;
  size_t scan_keys = 100;
  bool preload = false;
  int preload_port = 0;      // TCP port for the preload (default: --port)
  bool closed_loop = true;
  int outstanding = 32;      // closed loop: per thread
  double rate = 0;           // open loop: requests/s, all threads together
  int threads = 1;
  int connections = 1;       // TCP: per thread
  double duration = 5;
  double warmup = 1;
  double timeout_ms = 200;
  std::string json_path;
  std::string label;
  bool quiet = false;
};

[[noreturn]] void Usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "Usage: xdpkv-bench [options]\n"
               "  --host ADDR --port N          server (default 127.0.0.1:11211)\n"
               "  --proto memcache|resp         request language (default memcache)\n"
               "  --transport udp|tcp           (default udp; RESP over UDP is xdpkv's framing)\n"
               "  --items N --key-size B --value-size B   workload (1000000, 16, 128)\n"
               "  --dist uniform|zipf:THETA     key popularity (default zipf:0.99)\n"
               "  --write-ratio F --scan-ratio F   fractions of SETs and scans (0, 0)\n"
               "  --scan-keys N                 keys per scan: memcached multi-get,\n"
               "                                RESP MGET (default 100)\n"
               "  --preload [--preload-port N]  write every item first, over TCP\n"
               "  --closed N                    closed loop, N outstanding per thread (default 32)\n"
               "  --open RATE                   open loop, Poisson arrivals at RATE req/s\n"
               "  --threads N --connections N   client threads; TCP connections per thread\n"
               "  --duration S --warmup S       measured and unmeasured seconds (5, 1)\n"
               "  --timeout-ms MS               a request unanswered this long is lost (200)\n"
               "  --json FILE --label NAME      write the results as JSON\n"
               "  --quiet                       no per-second progress\n");
  std::exit(code);
}

// --- time, keys, popularity --------------------------------------------------

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// --- requests and replies ----------------------------------------------------

enum class Kind { kGet, kSet, kScan };

std::string EncodeRequest(const Options& o, Kind kind, uint64_t item) {
  std::string out;
  const std::string key = KeyName(item, o.key_size);
  if (!o.resp) {
    if (kind == Kind::kGet) return "get " + key + "\r\n";
    if (kind == Kind::kSet) {
      return "set " + key + " 0 0 " + std::to_string(o.value_size) + "\r\n" +
             ValueFor(item, o.value_size) + "\r\n";
    }
    out = "get";
    for (size_t i = 0; i < o.scan_keys; ++i) out += " " + KeyName((item + i) % o.items, o.key_size);
    return out + "\r\n";
  }
  using xdpkv::resp::AppendArrayHeader;
  using xdpkv::resp::AppendBulk;
  if (kind == Kind::kGet) {
    AppendArrayHeader(&out, 2);
    AppendBulk(&out, "GET");
    AppendBulk(&out, key);
  } else if (kind == Kind::kSet) {
    AppendArrayHeader(&out, 3);
    AppendBulk(&out, "SET");
    AppendBulk(&out, key);
    AppendBulk(&out, ValueFor(item, o.value_size));
  } else {
    AppendArrayHeader(&out, o.scan_keys + 1);
    AppendBulk(&out, "MGET");
    for (size_t i = 0; i < o.scan_keys; ++i) AppendBulk(&out, KeyName((item + i) % o.items, o.key_size));
  }
  return out;
}

// Length of the first complete reply in `in`, 0 if incomplete. *error is
// set for an error reply.
size_t MemcacheReplyLength(std::string_view in, bool* error) {
  size_t pos = 0;
  while (true) {
    const size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) return 0;
    const std::string_view line = in.substr(pos, eol - pos);
    if (line.substr(0, 6) == "VALUE ") {
      // VALUE <key> <flags> <bytes>[ <cas>]
      size_t sp = line.find(' ', 6);
      sp = line.find(' ', sp + 1);
      const size_t bytes = std::strtoull(std::string(line.substr(sp + 1)).c_str(), nullptr, 10);
      pos = eol + 2 + bytes + 2;
      if (pos > in.size()) return 0;
      continue;
    }
    *error = line.find("ERROR") != std::string_view::npos;
    return eol + 2;
  }
}

size_t RespReplyLength(std::string_view in, size_t pos, bool* error) {
  if (pos >= in.size()) return 0;
  const size_t eol = in.find("\r\n", pos);
  if (eol == std::string_view::npos) return 0;
  const char type = in[pos];
  const long long n = std::strtoll(std::string(in.substr(pos + 1, eol - pos - 1)).c_str(), nullptr, 10);
  if (type == '-') *error = true;
  if (type == '$') {
    if (n < 0) return eol + 2;
    const size_t end = eol + 2 + static_cast<size_t>(n) + 2;
    return end <= in.size() ? end : 0;
  }
  if (type == '*') {
    size_t at = eol + 2;
    for (long long i = 0; i < n; ++i) {
      const size_t next = RespReplyLength(in, at, error);
      if (next == 0) return 0;
      at = next;
    }
    return at;
  }
  return eol + 2;
}

// --- statistics ------------------------------------------------------------------

// Log-bucketed latency histogram: 16 sub-buckets per power of two of ns
// (at most 6% relative error).
class Histogram {
 public:
  static constexpr int kSub = 16;
  Histogram() : counts_(64 * kSub, 0) {}

  void Record(int64_t ns) {
    const uint64_t v = static_cast<uint64_t>(std::max<int64_t>(ns, 1));
    const int msb = 63 - __builtin_clzll(v);
    const int sub = msb < 4 ? int(v) % kSub : int((v >> (msb - 4)) & (kSub - 1));
    ++counts_[msb * kSub + sub];
    ++total_;
    sum_ += double(ns);
  }
  void Merge(const Histogram& other) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    sum_ += other.sum_;
  }
  // Upper edge of the bucket holding quantile q, in microseconds.
  double PercentileUs(double q) const {
    if (total_ == 0) return 0;
    const uint64_t want = static_cast<uint64_t>(std::ceil(q * double(total_)));
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= want) {
        const int msb = int(i) / kSub;
        const int sub = int(i) % kSub;
        const double upper = msb < 4 ? double(sub + 1)
                                     : std::ldexp(1.0 + double(sub + 1) / kSub, msb);
        return upper / 1000.0;
      }
    }
    return 0;
  }
  double MeanUs() const { return total_ ? sum_ / double(total_) / 1000.0 : 0; }
  uint64_t total() const { return total_; }

 private:
  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  double sum_ = 0;
};

struct Counts {
  uint64_t sent = 0, completed = 0, timeouts = 0, errors = 0, misses = 0, overflow = 0;
  void Merge(const Counts& o) {
    sent += o.sent;
    completed += o.completed;
    timeouts += o.timeouts;
    errors += o.errors;
    misses += o.misses;
    overflow += o.overflow;
  }
};

std::atomic<uint64_t> g_completed{0};  // for progress lines
std::atomic<int> g_phase{0};           // 0 warmup, 1 measuring, 2 done

// --- one client thread -------------------------------------------------------------

sockaddr_in ServerAddress(const Options& o, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "xdpkv-bench: bad --host '%s' (IPv4)\n", o.host.c_str());
    std::exit(2);
  }
  return addr;
}

int Connect(const Options& o, int port, int type) {
  const int fd = socket(AF_INET, type, 0);
  const sockaddr_in addr = ServerAddress(o, port);
  if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::fprintf(stderr, "xdpkv-bench: cannot reach %s:%d: %s\n", o.host.c_str(), port,
                 std::strerror(errno));
    std::exit(1);
  }
  if (type == SOCK_STREAM) {
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  const int buffer = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
  fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

class Client {
 public:
  Client(const Options& o, int index)
      : o_(o), keys_(o.items, o.zipf_theta, 0x9e3779b97f4a7c15ull * (index + 1)) {
    per_thread_rate_ = o.rate / o.threads;
    if (o.udp) {
      fds_.push_back(Connect(o, o.port, SOCK_DGRAM));
      slots_.resize(65536);
    } else {
      for (int c = 0; c < o.connections; ++c) {
        fds_.push_back(Connect(o, o.port, SOCK_STREAM));
        in_.emplace_back();
        pending_.emplace_back();
      }
    }
  }

  ~Client() {
    for (int fd : fds_) close(fd);
  }

  void Run() {
    int64_t next_send = NowNs();
    std::exponential_distribution<double> gap(per_thread_rate_ > 0 ? per_thread_rate_ / 1e9 : 1);
    char buffer[65536];
    while (g_phase.load(std::memory_order_relaxed) < 2) {
      const int64_t now = NowNs();
      // Send what is due.
      if (o_.closed_loop) {
        while (Outstanding() < size_t(o_.outstanding)) Send(now, now);
      } else {
        while (next_send <= now) {
          Send(next_send, now);
          next_send += static_cast<int64_t>(gap(keys_.random()));
        }
      }
      // Collect replies.
      bool got = false;
      if (o_.udp) {
        for (int i = 0; i < 64; ++i) {
          const ssize_t n = recv(fds_[0], buffer, sizeof(buffer), 0);
          if (n <= 0) break;
          got = true;
          OnDatagram(std::string_view(buffer, size_t(n)));
        }
      } else {
        for (size_t c = 0; c < fds_.size(); ++c) {
          const ssize_t n = recv(fds_[c], buffer, sizeof(buffer), 0);
          if (n <= 0) continue;
          got = true;
          in_[c].append(buffer, size_t(n));
          OnStream(c);
        }
      }
      const int64_t after = NowNs();
      if (o_.udp) ExpireTimeouts(after);
      if (got) {
        last_activity_ = after;
      } else {
        // Quiet for a while: sleep in the kernel until a reply comes or the
        // next send is due. Spinning forever would starve the client's own
        // receive softirq on this CPU (milliseconds of false tail latency);
        // sleeping at once would add a wake-up to every reply.
        if (after - last_activity_ > kSpinNs) {
          WaitForReplies(o_.closed_loop ? after + 1000000 : next_send);
        }
      }
    }
  }

  void WaitForReplies(int64_t until_ns) {
    const int64_t wait = until_ns - NowNs();
    if (wait <= 0) return;
    std::vector<pollfd> fds;
    for (int fd : fds_) fds.push_back({fd, POLLIN, 0});
    const timespec timeout{wait / 1000000000, wait % 1000000000};
    ppoll(fds.data(), fds.size(), &timeout, nullptr);
  }

  Histogram histogram;
  Counts counts;

 private:
  // A UDP request in flight. Its reply is `objects` reply objects, each
  // cut into datagrams numbered within it (memcached -U frames a multi-get
  // as one object per key, END on the last; docs/protocols.md): complete
  // when the last object closed with no datagram missing before it.
  struct Slot {
    int64_t start_ns = 0;
    bool in_use = false;
    bool measured = false;
    uint16_t objects = 1;
    uint16_t objects_seen = 0;
    uint16_t datagrams_seen = 0;
    uint16_t datagrams_due = 0;  // the datagram counts of the objects seen
  };
  struct Pending {
    int64_t start_ns;
    bool measured;
  };

  size_t Outstanding() const {
    if (o_.udp) return in_flight_;
    size_t n = 0;
    for (const auto& p : pending_) n += p.size();
    return n;
  }

  Kind NextKind() {
    const double u = keys_.Uniform();
    if (u < o_.scan_ratio) return Kind::kScan;
    if (u < o_.scan_ratio + o_.write_ratio) return Kind::kSet;
    return Kind::kGet;
  }

  // `start` is when the request was due (open loop) or sent (closed loop).
  void Send(int64_t start, int64_t now) {
    const bool measured = g_phase.load(std::memory_order_relaxed) == 1;
    const Kind kind = NextKind();
    std::string request = EncodeRequest(o_, kind, keys_.Next());
    if (measured) ++counts.sent;
    if (o_.udp) {
      if (in_flight_ >= slots_.size() - 1) {  // every id taken: counted as lost
        if (measured) ++counts.overflow;
        ExpireTimeouts(now);
        return;
      }
      while (slots_[next_id_].in_use) ++next_id_;
      const uint16_t id = next_id_++;
      Slot& slot = slots_[id];
      slot = Slot{start, true, measured};
      // A memcached multi-get's reply is one object per key; RESP's one.
      if (kind == Kind::kScan && !o_.resp) slot.objects = static_cast<uint16_t>(o_.scan_keys);
      ++in_flight_;
      send_order_.emplace_back(id, start);
      char frame[8] = {char(id >> 8), char(id & 0xff), 0, 0, 0, 1, 0, 0};
      request.insert(0, frame, 8);
      send(fds_[0], request.data(), request.size(), 0);
      return;
    }
    // TCP: the least loaded connection; replies come back in order.
    size_t c = 0;
    for (size_t i = 1; i < pending_.size(); ++i) {
      if (pending_[i].size() < pending_[c].size()) c = i;
    }
    pending_[c].push_back({start, measured});
    size_t off = 0;
    while (off < request.size()) {
      const ssize_t n = send(fds_[c], request.data() + off, request.size() - off, 0);
      if (n > 0) {
        off += size_t(n);
      } else {
        pollfd p{fds_[c], POLLOUT, 0};
        poll(&p, 1, 10);
      }
    }
  }

  void Complete(int64_t start, bool measured, bool error, bool miss) {
    if (!measured) return;
    const int64_t latency = NowNs() - start;
    ++counts.completed;
    g_completed.fetch_add(1, std::memory_order_relaxed);
    if (error) ++counts.errors;
    if (miss) ++counts.misses;
    histogram.Record(latency);
  }

  void OnDatagram(std::string_view d) {
    if (d.size() < 8) return;
    const uint16_t id = uint16_t((uint8_t(d[0]) << 8) | uint8_t(d[1]));
    const uint16_t seq = uint16_t((uint8_t(d[2]) << 8) | uint8_t(d[3]));
    const uint16_t total = uint16_t((uint8_t(d[4]) << 8) | uint8_t(d[5]));
    Slot& slot = slots_[id];
    if (!slot.in_use) return;  // late reply to a request already counted lost
    ++slot.datagrams_seen;
    if (total == 0 || seq + 1 >= total) {  // the last datagram of an object
      ++slot.objects_seen;
      slot.datagrams_due += std::max<uint16_t>(total, 1);
    }
    if (slot.objects_seen < slot.objects) return;
    if (slot.datagrams_seen != slot.datagrams_due) {
      // A datagram of it never came (they arrive in order here): lost.
      slot.in_use = false;
      --in_flight_;
      if (slot.measured) ++counts.timeouts;
      return;
    }
    const std::string_view body = d.substr(8);
    const bool error = body.find("ERROR") != std::string_view::npos || (o_.resp && body[0] == '-');
    const bool miss = body == "END\r\n" || body == "$-1\r\n";
    slot.in_use = false;
    --in_flight_;
    Complete(slot.start_ns, slot.measured, error, miss);
  }

  void OnStream(size_t c) {
    std::string& in = in_[c];
    size_t used = 0;
    while (!pending_[c].empty()) {
      bool error = false;
      const std::string_view rest = std::string_view(in).substr(used);
      const size_t n = o_.resp ? RespReplyLength(rest, 0, &error) : MemcacheReplyLength(rest, &error);
      if (n == 0) break;
      const std::string_view reply = rest.substr(0, n);
      const bool miss = reply == "END\r\n" || reply == "$-1\r\n";
      const Pending p = pending_[c].front();
      pending_[c].pop_front();
      Complete(p.start_ns, p.measured, error, miss);
      used += n;
    }
    in.erase(0, used);
  }

  // UDP requests unanswered for --timeout-ms are lost (TCP cannot lose).
  // send_order_ holds them oldest first, so only its front is looked at:
  // answered ones are dropped, then the overdue ones, until one is neither.
  void ExpireTimeouts(int64_t now) {
    const int64_t limit = static_cast<int64_t>(o_.timeout_ms * 1e6);
    while (!send_order_.empty()) {
      const auto [id, start] = send_order_.front();
      Slot& slot = slots_[id];
      const bool waiting = slot.in_use && slot.start_ns == start;
      if (waiting && now - start <= limit) break;
      send_order_.pop_front();
      if (!waiting) continue;
      slot.in_use = false;
      --in_flight_;
      if (slot.measured) ++counts.timeouts;
    }
  }

  static constexpr int64_t kSpinNs = 100000;  // busy-poll this long after activity

  const Options& o_;
  KeyChooser keys_;
  int64_t last_activity_ = 0;
  double per_thread_rate_ = 0;
  std::vector<int> fds_;
  std::vector<Slot> slots_;
  size_t in_flight_ = 0;
  uint16_t next_id_ = 0;
  std::deque<std::pair<uint16_t, int64_t>> send_order_;  // UDP: (id, start), oldest first
  std::vector<std::string> in_;
  std::vector<std::deque<Pending>> pending_;
};

// --- preload ------------------------------------------------------------------------

void Preload(const Options& o) {
  const int port = o.preload_port ? o.preload_port : o.port;
  const int fd = Connect(o, port, SOCK_STREAM);
  const int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  constexpr uint64_t kBatch = 1000;
  std::string in;
  char buffer[65536];
  for (uint64_t start = 0; start < o.items; start += kBatch) {
    const uint64_t end = std::min(o.items, start + kBatch);
    std::string batch;
    for (uint64_t i = start; i < end; ++i) batch += EncodeRequest(o, Kind::kSet, i);
    if (send(fd, batch.data(), batch.size(), MSG_NOSIGNAL) != ssize_t(batch.size())) {
      std::fprintf(stderr, "xdpkv-bench: preload send failed\n");
      std::exit(1);
    }
    uint64_t replies = 0;
    while (replies < end - start) {
      bool error = false;
      const size_t n = o.resp ? RespReplyLength(in, 0, &error) : MemcacheReplyLength(in, &error);
      if (n > 0) {
        if (error) {
          std::fprintf(stderr, "xdpkv-bench: preload refused: %s", in.substr(0, n).c_str());
          std::exit(1);
        }
        in.erase(0, n);
        ++replies;
        continue;
      }
      const ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
      if (got <= 0) {
        std::fprintf(stderr, "xdpkv-bench: preload connection lost\n");
        std::exit(1);
      }
      in.append(buffer, size_t(got));
    }
  }
  close(fd);
}

double CpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  enum {
    kHost = 1000, kPort, kProto, kTransport, kItems, kKeySize, kValueSize, kDist, kWrite, kScan,
    kScanKeys, kPreload, kPreloadPort, kClosed, kOpen, kThreads, kConnections, kDuration, kWarmup,
    kTimeout, kJson, kLabel, kQuiet, kHelp
  };
  const option long_options[] = {
      {"host", 1, nullptr, kHost},          {"port", 1, nullptr, kPort},
      {"proto", 1, nullptr, kProto},        {"transport", 1, nullptr, kTransport},
      {"items", 1, nullptr, kItems},        {"key-size", 1, nullptr, kKeySize},
      {"value-size", 1, nullptr, kValueSize}, {"dist", 1, nullptr, kDist},
      {"write-ratio", 1, nullptr, kWrite},  {"scan-ratio", 1, nullptr, kScan},
      {"scan-keys", 1, nullptr, kScanKeys}, {"preload", 0, nullptr, kPreload},
      {"preload-port", 1, nullptr, kPreloadPort}, {"closed", 1, nullptr, kClosed},
      {"open", 1, nullptr, kOpen},          {"threads", 1, nullptr, kThreads},
      {"connections", 1, nullptr, kConnections}, {"duration", 1, nullptr, kDuration},
      {"warmup", 1, nullptr, kWarmup},      {"timeout-ms", 1, nullptr, kTimeout},
      {"json", 1, nullptr, kJson},          {"label", 1, nullptr, kLabel},
      {"quiet", 0, nullptr, kQuiet},        {"help", 0, nullptr, kHelp},
      {nullptr, 0, nullptr, 0},
  };
  int opt;
  auto number = [](const char* name, const char* text, double min, double max) {
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    if (end == text || *end != '\0' || v < min || v > max) {
      std::fprintf(stderr, "xdpkv-bench: --%s must be a number in [%g, %g], not '%s'\n", name, min,
                   max, text);
      std::exit(2);
    }
    return v;
  };
  while ((opt = getopt_long(argc, argv, "", long_options, nullptr)) != -1) {
    switch (opt) {
      case kHost: o.host = optarg; break;
      case kPort: o.port = int(number("port", optarg, 1, 65535)); break;
      case kProto:
        if (std::string(optarg) != "memcache" && std::string(optarg) != "resp") Usage(2);
        o.resp = std::string(optarg) == "resp";
        break;
      case kTransport:
        if (std::string(optarg) != "udp" && std::string(optarg) != "tcp") Usage(2);
        o.udp = std::string(optarg) == "udp";
        break;
      case kItems: o.items = uint64_t(number("items", optarg, 1, 1e10)); break;
      case kKeySize: o.key_size = size_t(number("key-size", optarg, 8, 250)); break;
      case kValueSize: o.value_size = size_t(number("value-size", optarg, 1, 1 << 20)); break;
      case kDist:
        if (std::string(optarg) == "uniform") {
          o.zipf_theta = 0;
        } else if (std::string(optarg).rfind("zipf:", 0) == 0) {
          o.zipf_theta = number("dist", optarg + 5, 0.01, 0.9999);
        } else {
          Usage(2);
        }
        break;
      case kWrite: o.write_ratio = number("write-ratio", optarg, 0, 1); break;
      case kScan: o.scan_ratio = number("scan-ratio", optarg, 0, 1); break;
      case kScanKeys: o.scan_keys = size_t(number("scan-keys", optarg, 1, 10000)); break;
      case kPreload: o.preload = true; break;
      case kPreloadPort: o.preload_port = int(number("preload-port", optarg, 1, 65535)); break;
      case kClosed:
        o.closed_loop = true;
        o.outstanding = int(number("closed", optarg, 1, 60000));
        break;
      case kOpen:
        o.closed_loop = false;
        o.rate = number("open", optarg, 1, 1e9);
        break;
      case kThreads: o.threads = int(number("threads", optarg, 1, 64)); break;
      case kConnections: o.connections = int(number("connections", optarg, 1, 1024)); break;
      case kDuration: o.duration = number("duration", optarg, 0.1, 86400); break;
      case kWarmup: o.warmup = number("warmup", optarg, 0, 3600); break;
      case kTimeout: o.timeout_ms = number("timeout-ms", optarg, 1, 60000); break;
      case kJson: o.json_path = optarg; break;
      case kLabel: o.label = optarg; break;
      case kQuiet: o.quiet = true; break;
      case kHelp: Usage(0);
      default: Usage(2);
    }
  }
  if (optind < argc) Usage(2);
  if (o.write_ratio + o.scan_ratio > 1) {
    std::fprintf(stderr, "xdpkv-bench: --write-ratio + --scan-ratio must be at most 1\n");
    return 2;
  }

  if (o.preload) {
    const int64_t t0 = NowNs();
    Preload(o);
    if (!o.quiet) {
      std::fprintf(stderr, "preloaded %llu items in %.1f s\n", (unsigned long long)o.items,
                   double(NowNs() - t0) / 1e9);
    }
  }

  std::vector<std::unique_ptr<Client>> clients;
  for (int t = 0; t < o.threads; ++t) clients.push_back(std::make_unique<Client>(o, t));
  std::vector<std::thread> threads;
  for (auto& client : clients) threads.emplace_back([c = client.get()] { c->Run(); });

  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  const double cpu0 = CpuSeconds();
  const int64_t t0 = NowNs();
  g_phase = 1;
  uint64_t last = 0;
  for (int s = 0; s < int(std::ceil(o.duration)); ++s) {
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(1.0, o.duration - s)));
    const uint64_t done = g_completed.load();
    if (!o.quiet) {
      std::fprintf(stderr, "%-20s t=%2ds  %9.1f Krps\n", o.label.c_str(), s + 1,
                   double(done - last) / 1e3);
    }
    last = done;
  }
  g_phase = 2;
  const double elapsed = double(NowNs() - t0) / 1e9;
  const double client_cpu = (CpuSeconds() - cpu0) / elapsed;
  for (auto& t : threads) t.join();

  Histogram histogram;
  Counts counts;
  for (auto& client : clients) {
    histogram.Merge(client->histogram);
    counts.Merge(client->counts);
  }
  const double rps = double(counts.completed) / elapsed;
  const double lost = double(counts.timeouts + counts.overflow);
  char json[2048];
  std::snprintf(
      json, sizeof(json),
      "{\"label\": \"%s\", \"proto\": \"%s\", \"transport\": \"%s\", \"items\": %llu, "
      "\"key_size\": %zu, \"value_size\": %zu, \"dist\": \"%s\", \"write_ratio\": %g, "
      "\"scan_ratio\": %g, \"scan_keys\": %zu, \"mode\": \"%s\", \"outstanding_per_thread\": %d, "
      "\"offered_rps\": %.0f, \"threads\": %d, \"duration_s\": %.3f, \"sent\": %llu, "
      "\"completed\": %llu, \"achieved_rps\": %.0f, \"timeouts\": %llu, \"client_overflow\": %llu, "
      "\"errors\": %llu, \"misses\": %llu, \"loss_ratio\": %.6f, \"p50_us\": %.1f, "
      "\"p99_us\": %.1f, \"p999_us\": %.1f, \"mean_us\": %.1f, \"client_cpu_cores\": %.3f}",
      o.label.c_str(), o.resp ? "resp" : "memcache", o.udp ? "udp" : "tcp",
      (unsigned long long)o.items, o.key_size, o.value_size,
      o.zipf_theta > 0 ? ("zipf:" + std::to_string(o.zipf_theta).substr(0, 4)).c_str() : "uniform",
      o.write_ratio, o.scan_ratio, o.scan_keys, o.closed_loop ? "closed" : "open",
      o.closed_loop ? o.outstanding : 0, o.closed_loop ? 0.0 : o.rate, o.threads, elapsed,
      (unsigned long long)counts.sent, (unsigned long long)counts.completed, rps,
      (unsigned long long)counts.timeouts, (unsigned long long)counts.overflow,
      (unsigned long long)counts.errors, (unsigned long long)counts.misses,
      counts.sent ? lost / double(counts.sent) : 0.0, histogram.PercentileUs(0.5),
      histogram.PercentileUs(0.99), histogram.PercentileUs(0.999), histogram.MeanUs(), client_cpu);
  std::printf("%s\n", json);
  if (!o.json_path.empty()) {
    FILE* f = std::fopen(o.json_path.c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "xdpkv-bench: cannot write %s\n", o.json_path.c_str());
      return 1;
    }
    std::fprintf(f, "%s\n", json);
    std::fclose(f);
  }
  return 0;
}
