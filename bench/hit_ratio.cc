// xdpkv-hit-ratio: a look-aside cache's hit ratio on one server, for
// bench/eviction-study. Each request is a GET of a key from a seeded key
// trace (bench/workload.h); a miss is followed by a SET of that key, as an
// application in front of a database does. Requests go in batches: the
// batch's GETs pipelined and their replies read, then the SETs of its
// misses pipelined and their replies read. Every server sees the same
// commands in the same order whatever the timing, so the hit ratio is a
// count, not a timing (except where a server's eviction reads a clock:
// see docs/bench/eviction.md).
//
// --simulate-lru N runs the same trace and batches against an exact LRU of
// N items, in process: what a perfect LRU of a server's size would hit.
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench/workload.h"
#include "protocol/resp.h"

namespace {

using xdpkv::bench::KeyChooser;
using xdpkv::bench::KeyName;
using xdpkv::bench::ValueFor;

struct Options {
  std::string host = "127.0.0.1";
  int port = 11211;
  bool resp = false;
  bool udp = false;
  uint64_t items = 1000000;
  size_t key_size = 16;
  size_t value_size = 128;
  double zipf_theta = 0.99;
  uint64_t seed = 1;
  uint64_t warmup = 1000000;    // GETs before the measured ones
  uint64_t requests = 1000000;  // measured GETs
  size_t batch = 64;
  double timeout_ms = 200;    // UDP: a datagram unanswered this long is sent again
  int retries = 3;            // UDP: then it is lost
  uint64_t simulate_lru = 0;  // items; 0: drive a server
  std::string label;
};

[[noreturn]] void Usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "Usage: xdpkv-hit-ratio [options]\n"
               "  --host ADDR --port N          server (default 127.0.0.1:11211)\n"
               "  --proto memcache|resp         (default memcache)\n"
               "  --transport tcp|udp           (default tcp; udp: memcache only)\n"
               "  --items N --key-size B --value-size B   key space and sizes (1000000, 16, 128)\n"
               "  --dist uniform|zipf:THETA     key popularity (default zipf:0.99)\n"
               "  --seed N                      the trace's seed (default 1)\n"
               "  --warmup N --requests N       unmeasured, then measured GETs (1000000 each)\n"
               "  --batch N                     GETs per pipelined batch (default 64)\n"
               "  --simulate-lru N              no server: an exact LRU of N items\n"
               "  --label NAME\n"
               "Prints one JSON object: hits and misses of the measured GETs, SETs and\n"
               "their errors, and the server's own counters after the warm-up and at the\n"
               "end (memcached stats, or Redis INFO).\n");
  std::exit(code);
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

enum class Outcome { kHit, kMiss, kStored, kError, kLost };

// --- one server ----------------------------------------------------------------

class Server {
 public:
  explicit Server(const Options& o) : o_(o) {
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(static_cast<uint16_t>(o.port));
    if (inet_pton(AF_INET, o.host.c_str(), &addr_.sin_addr) != 1) {
      std::fprintf(stderr, "xdpkv-hit-ratio: bad --host '%s' (IPv4)\n", o.host.c_str());
      std::exit(2);
    }
    fd_ = Connect(o.udp ? SOCK_DGRAM : SOCK_STREAM);
    // The server's counters come over TCP, whatever the requests use.
    stats_fd_ = o.udp ? Connect(SOCK_STREAM) : fd_;
  }
  ~Server() {
    close(fd_);
    if (stats_fd_ != fd_) close(stats_fd_);
  }

  // Sends `requests` (each one command) and classifies each one's reply.
  void Exchange(const std::vector<std::string>& requests, std::vector<Outcome>* outcomes) {
    outcomes->assign(requests.size(), Outcome::kLost);
    if (o_.udp) {
      ExchangeUdp(requests, outcomes);
      return;
    }
    std::string out;
    for (const std::string& r : requests) out += r;
    WriteAll(fd_, out);
    for (size_t i = 0; i < requests.size(); ++i) {
      size_t length;
      while ((length = ReplyLength(in_)) == 0) Read(fd_, &in_);
      (*outcomes)[i] = Classify(std::string_view(in_).substr(0, length));
      in_.erase(0, length);
    }
  }

  // The server's counters: memcached `stats`, or Redis `INFO`, as name:value.
  std::map<std::string, std::string> Stats() {
    std::string request;
    if (o_.resp) {
      xdpkv::resp::AppendArrayHeader(&request, 1);
      xdpkv::resp::AppendBulk(&request, "INFO");
    } else {
      request = "stats\r\n";
    }
    WriteAll(stats_fd_, request);
    std::string in = o_.udp ? std::string() : std::move(in_);
    size_t length;
    while ((length = o_.resp ? RespLength(in, 0) : StatsLength(in)) == 0) Read(stats_fd_, &in);
    const std::string text = in.substr(0, length);
    in.erase(0, length);
    if (!o_.udp) in_ = std::move(in);
    std::map<std::string, std::string> stats;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t eol = text.find("\r\n", pos);
      if (eol == std::string::npos) eol = text.size();
      std::string line = text.substr(pos, eol - pos);
      pos = eol + 2;
      if (line.rfind("STAT ", 0) == 0) {
        const size_t sp = line.find(' ', 5);
        if (sp != std::string::npos) stats[line.substr(5, sp - 5)] = line.substr(sp + 1);
      } else if (const size_t colon = line.find(':');
                 colon != std::string::npos && line[0] != '#' && line[0] != '$') {
        stats[line.substr(0, colon)] = line.substr(colon + 1);
      }
    }
    return stats;
  }

 private:
  int Connect(int type) {
    const int fd = socket(AF_INET, type, 0);
    if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof(addr_)) != 0) {
      std::fprintf(stderr, "xdpkv-hit-ratio: cannot reach %s:%d: %s\n", o_.host.c_str(), o_.port,
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
    return fd;
  }

  static void WriteAll(int fd, std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        std::fprintf(stderr, "xdpkv-hit-ratio: send: %s\n", std::strerror(errno));
        std::exit(1);
      }
      data.remove_prefix(size_t(n));
    }
  }

  static void Read(int fd, std::string* in) {
    char buffer[65536];
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) return;
    if (n <= 0) {
      std::fprintf(stderr, "xdpkv-hit-ratio: connection lost: %s\n",
                   n == 0 ? "closed" : std::strerror(errno));
      std::exit(1);
    }
    in->append(buffer, size_t(n));
  }

  // memcached framing over UDP: an 8-byte header (request id, datagram
  // number, datagrams in the reply, 0) before each datagram; a reply cut
  // into several datagrams is put back together in number order.
  void ExchangeUdp(const std::vector<std::string>& requests, std::vector<Outcome>* outcomes) {
    struct Pending {
      uint16_t total = 0;
      std::map<uint16_t, std::string> parts;
    };
    std::unordered_map<uint16_t, size_t> index_of;
    std::unordered_map<uint16_t, Pending> pending;
    std::vector<uint16_t> id_of(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      id_of[i] = next_id_++;
      index_of[id_of[i]] = i;
    }
    size_t unanswered = requests.size();
    std::vector<bool> done(requests.size(), false);
    for (int attempt = 0; attempt <= o_.retries && unanswered > 0; ++attempt) {
      if (attempt > 0) ++retransmitted_batches_;
      for (size_t i = 0; i < requests.size(); ++i) {
        if (done[i]) continue;
        const uint16_t id = id_of[i];
        std::string datagram = {char(id >> 8), char(id & 0xff), 0, 0, 0, 1, 0, 0};
        datagram += requests[i];
        if (send(fd_, datagram.data(), datagram.size(), 0) < 0 && errno != ENOBUFS) {
          std::fprintf(stderr, "xdpkv-hit-ratio: send: %s\n", std::strerror(errno));
          std::exit(1);
        }
      }
      const int64_t deadline = NowNs() + int64_t(o_.timeout_ms * 1e6);
      while (unanswered > 0) {
        const int64_t left = deadline - NowNs();
        if (left <= 0) break;
        pollfd p = {fd_, POLLIN, 0};
        if (poll(&p, 1, int(left / 1000000) + 1) <= 0) continue;
        char buffer[65536];
        const ssize_t n = recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
        if (n < 8) continue;
        const auto* h = reinterpret_cast<const uint8_t*>(buffer);
        const uint16_t id = uint16_t(h[0] << 8 | h[1]), seq = uint16_t(h[2] << 8 | h[3]),
                       total = uint16_t(h[4] << 8 | h[5]);
        auto it = index_of.find(id);
        if (it == index_of.end() || done[it->second] || total == 0) continue;
        Pending& p_id = pending[id];
        p_id.total = total;
        p_id.parts[seq] = std::string(buffer + 8, size_t(n) - 8);
        if (p_id.parts.size() < total) continue;
        std::string reply;
        for (auto& [s, part] : p_id.parts) reply += part;
        (*outcomes)[it->second] = Classify(reply);
        done[it->second] = true;
        pending.erase(id);
        --unanswered;
      }
      pending.clear();  // a partial reply is asked for again whole
    }
  }

  // Bytes of the first whole reply in `in`, 0 if it is not all there.
  size_t ReplyLength(std::string_view in) const {
    return o_.resp ? RespLength(in, 0) : MemcacheLength(in);
  }

  static size_t MemcacheLength(std::string_view in) {
    size_t pos = 0;
    while (true) {
      const size_t eol = in.find("\r\n", pos);
      if (eol == std::string_view::npos) return 0;
      const std::string_view line = in.substr(pos, eol - pos);
      if (line.substr(0, 6) != "VALUE ") return eol + 2;
      // VALUE <key> <flags> <bytes>[ <cas>]
      size_t sp = line.find(' ', 6);
      sp = line.find(' ', sp + 1);
      const size_t bytes = std::strtoull(std::string(line.substr(sp + 1)).c_str(), nullptr, 10);
      pos = eol + 2 + bytes + 2;
      if (pos > in.size()) return 0;
    }
  }

  static size_t StatsLength(std::string_view in) {
    const size_t end = in.find("END\r\n");
    return end == std::string_view::npos ? 0 : end + 5;
  }

  static size_t RespLength(std::string_view in, size_t pos) {
    if (pos >= in.size()) return 0;
    const size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) return 0;
    const long long n =
        std::strtoll(std::string(in.substr(pos + 1, eol - pos - 1)).c_str(), nullptr, 10);
    if (in[pos] == '$') {
      if (n < 0) return eol + 2;
      const size_t end = eol + 2 + size_t(n) + 2;
      return end <= in.size() ? end : 0;
    }
    if (in[pos] == '*') {
      size_t at = eol + 2;
      for (long long i = 0; i < n; ++i) {
        at = RespLength(in, at);
        if (at == 0) return 0;
      }
      return at;
    }
    return eol + 2;
  }

  // A GET's reply is a hit only with a value of the size the trace
  // writes; anything else but a miss or STORED/OK is an error.
  Outcome Classify(std::string_view reply) {
    Outcome outcome = Outcome::kError;
    if (o_.resp) {
      if (reply == "$-1\r\n")
        outcome = Outcome::kMiss;
      else if (reply == "+OK\r\n")
        outcome = Outcome::kStored;
      else if (reply.rfind("$" + std::to_string(o_.value_size) + "\r\n", 0) == 0)
        outcome = Outcome::kHit;
    } else {
      if (reply == "END\r\n")
        outcome = Outcome::kMiss;
      else if (reply == "STORED\r\n")
        outcome = Outcome::kStored;
      else if (reply.rfind("VALUE ", 0) == 0 &&
               reply.substr(0, reply.find("\r\n")).ends_with(" " + std::to_string(o_.value_size)))
        outcome = Outcome::kHit;
    }
    if (outcome == Outcome::kError && first_error_.empty()) {
      // For the JSON line: printable characters only.
      for (char ch : reply.substr(0, 120)) {
        first_error_ += ch >= ' ' && ch != '"' && ch != '\\' ? ch : '.';
      }
    }
    return outcome;
  }

 public:
  std::string first_error_;
  uint64_t retransmitted_batches_ = 0;

 private:
  const Options& o_;
  sockaddr_in addr_{};
  int fd_ = -1, stats_fd_ = -1;
  std::string in_;
  uint16_t next_id_ = 1;
};

// --- an exact LRU, for comparison --------------------------------------------------

class ExactLru {
 public:
  explicit ExactLru(uint64_t capacity) : capacity_(capacity) {}
  bool Get(uint64_t key) {
    auto it = where_.find(key);
    if (it == where_.end()) return false;
    order_.splice(order_.begin(), order_, it->second);
    return true;
  }
  void Set(uint64_t key) {
    if (Get(key)) return;
    order_.push_front(key);
    where_[key] = order_.begin();
    if (order_.size() > capacity_) {
      where_.erase(order_.back());
      order_.pop_back();
    }
  }

 private:
  uint64_t capacity_;
  std::list<uint64_t> order_;
  std::unordered_map<uint64_t, std::list<uint64_t>::iterator> where_;
};

// --- the trace ----------------------------------------------------------------------

struct Counts {
  uint64_t gets = 0, hits = 0, misses = 0, sets = 0, set_errors = 0, get_errors = 0, lost = 0;
  double seconds = 0;
};

std::string GetRequest(const Options& o, uint64_t item) {
  const std::string key = KeyName(item, o.key_size);
  if (!o.resp) return "get " + key + "\r\n";
  std::string out;
  xdpkv::resp::AppendArrayHeader(&out, 2);
  xdpkv::resp::AppendBulk(&out, "GET");
  xdpkv::resp::AppendBulk(&out, key);
  return out;
}

std::string SetRequest(const Options& o, uint64_t item) {
  const std::string key = KeyName(item, o.key_size);
  const std::string value = ValueFor(item, o.value_size);
  if (!o.resp)
    return "set " + key + " 0 0 " + std::to_string(o.value_size) + "\r\n" + value + "\r\n";
  std::string out;
  xdpkv::resp::AppendArrayHeader(&out, 3);
  xdpkv::resp::AppendBulk(&out, "SET");
  xdpkv::resp::AppendBulk(&out, key);
  xdpkv::resp::AppendBulk(&out, value);
  return out;
}

// Runs `count` GETs of the trace (and the SETs of their misses) against
// the server, or the LRU when there is no server, in batches.
Counts RunPhase(const Options& o, KeyChooser* keys, uint64_t count, Server* server, ExactLru* lru) {
  Counts c;
  const int64_t t0 = NowNs();
  std::vector<uint64_t> items, missed;
  std::vector<std::string> requests;
  std::vector<Outcome> outcomes;
  for (uint64_t done = 0; done < count;) {
    const size_t n = size_t(std::min<uint64_t>(o.batch, count - done));
    items.clear();
    for (size_t i = 0; i < n; ++i) items.push_back(keys->Next());
    if (server != nullptr) {
      requests.clear();
      for (uint64_t item : items) requests.push_back(GetRequest(o, item));
      server->Exchange(requests, &outcomes);
    } else {
      outcomes.clear();
      for (uint64_t item : items)
        outcomes.push_back(lru->Get(item) ? Outcome::kHit : Outcome::kMiss);
    }
    // The batch's misses, in order (a key missed twice is set twice).
    missed.clear();
    for (size_t i = 0; i < n; ++i) {
      switch (outcomes[i]) {
        case Outcome::kHit:
          ++c.hits;
          break;
        case Outcome::kMiss:
          ++c.misses;
          missed.push_back(items[i]);
          break;
        case Outcome::kLost:
          ++c.lost;
          break;
        default:
          ++c.get_errors;
          break;
      }
    }
    c.sets += missed.size();
    if (server != nullptr) {
      requests.clear();
      for (uint64_t item : missed) requests.push_back(SetRequest(o, item));
      server->Exchange(requests, &outcomes);
      for (Outcome outcome : outcomes) {
        if (outcome == Outcome::kLost)
          ++c.lost;
        else if (outcome != Outcome::kStored)
          ++c.set_errors;
      }
    } else {
      for (uint64_t item : missed) lru->Set(item);
    }
    c.gets += n;
    done += n;
  }
  c.seconds = double(NowNs() - t0) / 1e9;
  return c;
}

std::string CountsJson(const Counts& c) {
  char out[512];
  std::snprintf(out, sizeof(out),
                "{\"gets\": %llu, \"hits\": %llu, \"misses\": %llu, \"hit_ratio\": %.6f, "
                "\"sets\": %llu, \"set_errors\": %llu, \"get_errors\": %llu, \"lost\": %llu, "
                "\"seconds\": %.3f, \"gets_per_second\": %.0f}",
                (unsigned long long)c.gets, (unsigned long long)c.hits,
                (unsigned long long)c.misses,
                c.hits + c.misses ? double(c.hits) / double(c.hits + c.misses) : 0.0,
                (unsigned long long)c.sets, (unsigned long long)c.set_errors,
                (unsigned long long)c.get_errors, (unsigned long long)c.lost, c.seconds,
                c.seconds > 0 ? double(c.gets) / c.seconds : 0.0);
  return out;
}

// The counters the study reads, of memcached's `stats` and Redis's INFO
// (xdpkv answers both), as a JSON object.
std::string StatsJson(const std::map<std::string, std::string>& stats) {
  static constexpr const char* kNames[] = {"curr_items",
                                           "total_items",
                                           "evictions",
                                           "bytes",
                                           "limit_maxbytes",
                                           "used_memory",
                                           "maxmemory",
                                           "evicted_keys",
                                           "db0",
                                           "store_fixed_bytes",
                                           "xdp_kernel_memlock",
                                           "xdp_memcache_get_hits",
                                           "xdp_memcache_sets",
                                           "xdp_memcache_pass_no_memory"};
  std::string out = "{";
  for (const char* name : kNames) {
    auto it = stats.find(name);
    if (it == stats.end()) continue;
    if (out.size() > 1) out += ", ";
    out += "\"" + std::string(name) + "\": \"" + it->second + "\"";
  }
  return out + "}";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  enum {
    kHost = 1000,
    kPort,
    kProto,
    kTransport,
    kItems,
    kKeySize,
    kValueSize,
    kDist,
    kSeed,
    kWarmup,
    kRequests,
    kBatch,
    kSimulateLru,
    kLabel,
    kHelp
  };
  const option long_options[] = {
      {"host", 1, nullptr, kHost},
      {"port", 1, nullptr, kPort},
      {"proto", 1, nullptr, kProto},
      {"transport", 1, nullptr, kTransport},
      {"items", 1, nullptr, kItems},
      {"key-size", 1, nullptr, kKeySize},
      {"value-size", 1, nullptr, kValueSize},
      {"dist", 1, nullptr, kDist},
      {"seed", 1, nullptr, kSeed},
      {"warmup", 1, nullptr, kWarmup},
      {"requests", 1, nullptr, kRequests},
      {"batch", 1, nullptr, kBatch},
      {"simulate-lru", 1, nullptr, kSimulateLru},
      {"label", 1, nullptr, kLabel},
      {"help", 0, nullptr, kHelp},
      {nullptr, 0, nullptr, 0},
  };
  auto number = [](const char* name, const char* text, double min, double max) {
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    if (end == text || *end != '\0' || v < min || v > max) {
      std::fprintf(stderr, "xdpkv-hit-ratio: --%s must be a number in [%g, %g], not '%s'\n", name,
                   min, max, text);
      std::exit(2);
    }
    return v;
  };
  int opt;
  while ((opt = getopt_long(argc, argv, "", long_options, nullptr)) != -1) {
    const std::string arg = optarg ? optarg : "";
    switch (opt) {
      case kHost:
        o.host = arg;
        break;
      case kPort:
        o.port = int(number("port", optarg, 1, 65535));
        break;
      case kProto:
        if (arg != "memcache" && arg != "resp") Usage(2);
        o.resp = arg == "resp";
        break;
      case kTransport:
        if (arg != "udp" && arg != "tcp") Usage(2);
        o.udp = arg == "udp";
        break;
      case kItems:
        o.items = uint64_t(number("items", optarg, 1, 1e10));
        break;
      case kKeySize:
        o.key_size = size_t(number("key-size", optarg, 8, 250));
        break;
      case kValueSize:
        o.value_size = size_t(number("value-size", optarg, 1, 1 << 20));
        break;
      case kDist:
        if (arg == "uniform") {
          o.zipf_theta = 0;
        } else if (arg.rfind("zipf:", 0) == 0) {
          o.zipf_theta = number("dist", optarg + 5, 0.01, 0.9999);
        } else {
          Usage(2);
        }
        break;
      case kSeed:
        o.seed = uint64_t(number("seed", optarg, 0, 1e18));
        break;
      case kWarmup:
        o.warmup = uint64_t(number("warmup", optarg, 0, 1e11));
        break;
      case kRequests:
        o.requests = uint64_t(number("requests", optarg, 1, 1e11));
        break;
      case kBatch:
        o.batch = size_t(number("batch", optarg, 1, 4096));
        break;
      case kSimulateLru:
        o.simulate_lru = uint64_t(number("simulate-lru", optarg, 1, 1e11));
        break;
      case kLabel:
        o.label = arg;
        break;
      case kHelp:
        Usage(0);
      default:
        Usage(2);
    }
  }
  if (optind < argc) Usage(2);
  if (o.udp && o.resp) {
    std::fprintf(stderr, "xdpkv-hit-ratio: --transport udp is memcached's framing only\n");
    return 2;
  }

  KeyChooser keys(o.items, o.zipf_theta, o.seed);
  std::unique_ptr<Server> server;
  std::unique_ptr<ExactLru> lru;
  if (o.simulate_lru) {
    lru = std::make_unique<ExactLru>(o.simulate_lru);
  } else {
    server = std::make_unique<Server>(o);
  }
  const Counts warmup = RunPhase(o, &keys, o.warmup, server.get(), lru.get());
  const std::string stats_warm = server ? StatsJson(server->Stats()) : "{}";
  const Counts measured = RunPhase(o, &keys, o.requests, server.get(), lru.get());
  const std::string stats_end = server ? StatsJson(server->Stats()) : "{}";
  std::printf(
      "{\"label\": \"%s\", \"proto\": \"%s\", \"transport\": \"%s\", \"items\": %llu, "
      "\"key_size\": %zu, \"value_size\": %zu, \"zipf_theta\": %g, \"seed\": %llu, "
      "\"batch\": %zu, \"simulated_lru_items\": %llu, \"warmup\": %s, \"measured\": %s, "
      "\"stats_after_warmup\": %s, \"stats_end\": %s, \"udp_retransmitted_batches\": %llu, "
      "\"first_error\": \"%s\"}\n",
      o.label.c_str(), o.resp ? "resp" : "memcache", o.udp ? "udp" : "tcp",
      (unsigned long long)o.items, o.key_size, o.value_size, o.zipf_theta,
      (unsigned long long)o.seed, o.batch, (unsigned long long)o.simulate_lru,
      CountsJson(warmup).c_str(), CountsJson(measured).c_str(), stats_warm.c_str(),
      stats_end.c_str(), server ? (unsigned long long)server->retransmitted_batches_ : 0ull,
      server ? server->first_error_.c_str() : "");
  return 0;
}
