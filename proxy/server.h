// The network side of xdpkv: memcached and RESP over TCP and UDP, one epoll
// loop per thread, each with its own SO_REUSEPORT sockets, so no lock is on
// the request path. What a request means is the sessions' job
// (proxy/session.h); this file only moves bytes.
#ifndef XDPKV_PROXY_SERVER_H_
#define XDPKV_PROXY_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/memcache_text.h"
#include "proxy/handlers.h"
#include "proxy/store.h"

namespace xdpkv {

struct ServerConfig {
  std::vector<std::string> addresses = {"127.0.0.1"};  // IPv4 or IPv6 literals
  uint16_t memcache_tcp_port = 11211;  // 0: off
  uint16_t memcache_udp_port = 11211;  // 0: off
  uint16_t resp_port = 6379;           // TCP and UDP; 0: off
  int threads = 2;
  memcache::ParseOptions memcache_options;
};

class Server {
 public:
  // Binds every socket first: a busy port or a bad address is an error
  // before any thread starts.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerConfig& config, Store& store,
                                                       const ServerContext& context);
  ~Server();  // Stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Stops accepting, answers what was read, closes, joins. Idempotent.
  void Stop();
  // "memcached TCP 127.0.0.1:11211" and so on, one per listener.
  const std::vector<std::string>& listeners() const { return listeners_; }

 private:
  struct Loop;
  Server() = default;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
  std::vector<std::string> listeners_;
};

}  // namespace xdpkv

#endif  // XDPKV_PROXY_SERVER_H_
