// The network side of xdpkv: memcached and RESP over TCP and UDP, one epoll
// loop per thread, each with its own SO_REUSEPORT sockets, so no lock is on
// the request path. What a request means is the sessions' job
// (proxy/session.h); this file only moves bytes.
#ifndef XDPKV_PROXY_SERVER_H_
#define XDPKV_PROXY_SERVER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/memcache_text.h"
#include "proxy/admission.h"
#include "proxy/handlers.h"
#include "proxy/store.h"

namespace xdpkv {

// A port setting of kAnyPort (memcached's `-p -1`) lets the kernel choose:
// the first socket bound gets a free port and every other socket of that
// listener (one per thread and address; for RESP, TCP and UDP) binds the
// same one. 0 turns a listener off.
inline constexpr int kAnyPort = -1;

struct ServerConfig {
  std::vector<std::string> addresses = {"127.0.0.1"};  // IPv4 or IPv6 literals
  int memcache_tcp_port = 11211;  // 0: off; kAnyPort: the kernel's choice
  int memcache_udp_port = 11211;  // 0: off; kAnyPort: the kernel's choice
  int resp_port = 6379;           // TCP and UDP; 0: off; kAnyPort: the kernel's choice
  int threads = 2;
  memcache::ParseOptions memcache_options;
  // UDP admission (proxy/admission.h): sources answered (CIDRs), and the
  // most reply bytes one request datagram from a non-loopback source may
  // get. Datagrams from our own ports are never answered (no loops).
  std::vector<std::string> udp_allow = DefaultUdpAllow();
  uint32_t udp_max_reply_bytes = kDefaultUdpMaxReplyBytes;
  int tcp_backlog = 1024;  // listen() backlog of TCP and unix sockets (-b)
  // Unix stream sockets (memcached's -s/-a, Redis's --unixsocket/
  // --unixsocketperm); empty path: none. A mode of 0 leaves the socket as
  // the umask makes it (Redis's default).
  std::string memcache_unix_path;
  uint32_t memcache_unix_mode = 0700;
  std::string resp_unix_path;
  uint32_t resp_unix_mode = 0;
};

// The ports the sockets are bound to; 0: that listener is off.
struct BoundPorts {
  uint16_t memcache_tcp = 0;
  uint16_t memcache_udp = 0;
  uint16_t resp = 0;  // TCP and UDP
};

class Server {
 public:
  // Binds every socket: a busy port or a bad address is an error before any
  // thread starts. Serves nothing until Run (connections wait in the
  // backlog, datagrams in the socket buffers), so the caller can learn the
  // ports first (the XDP program is loaded with the real UDP ports).
  static absl::StatusOr<std::unique_ptr<Server>> Bind(const ServerConfig& config);
  // Starts the event loops; once. store and context must outlive the server.
  void Run(Store& store, const ServerContext& context);
  // Bind, then Run.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerConfig& config, Store& store,
                                                       const ServerContext& context);
  ~Server();  // Stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Stops accepting, answers what was read, closes, joins. Idempotent.
  void Stop();
  const BoundPorts& ports() const { return ports_; }
  // "memcached TCP 127.0.0.1:11211" and so on, one per listener and address,
  // with the bound port.
  const std::vector<std::string>& listeners() const { return listeners_; }
  // memcached's MEMCACHED_PORT_FILENAME contents: "TCP INET: 11211",
  // "UDP INET6: 11211", ... one line per listener and address, and xdpkv's
  // "RESP INET: 6379" for the RESP port (TCP and UDP). docs/protocols.md.
  std::string PortFileText() const;
  // Writes PortFileText() to path as memcached does: to "<path>.lck", then
  // renamed, so a reader never sees a partial file.
  absl::Status WritePortFile(const std::string& path) const;

 private:
  struct Loop;
  struct PortLine {
    const char* kind;  // "TCP", "UDP", "RESP"
    bool inet6;
    uint16_t port;
  };
  // Connected clients per protocol, across loops: for maxclients and -c.
  struct ClientCounts {
    std::atomic<uint32_t> memcache{0};
    std::atomic<uint32_t> resp{0};
  };
  Server() = default;
  absl::Status BindOnce(const ServerConfig& config, bool* kernel_port_taken);
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
  std::vector<std::string> listeners_;
  std::vector<PortLine> port_lines_;
  std::vector<int> port_lock_fds_;  // flock'ed per address and port we bound
  std::vector<std::string> unix_paths_;  // unix sockets we made, removed at the end
  BoundPorts ports_;
  ClientCounts clients_;
  UdpAdmission udp_admission_;  // read by every loop, written before Run
};

}  // namespace xdpkv

#endif  // XDPKV_PROXY_SERVER_H_
