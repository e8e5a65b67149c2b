// One client's conversation, without sockets: bytes in, replies out. The
// server (proxy/server.cc) owns one session per TCP connection and runs a
// fresh one per UDP datagram; tests drive them directly.
#ifndef XDPKV_PROXY_SESSION_H_
#define XDPKV_PROXY_SESSION_H_

#include <string>
#include <string_view>
#include <vector>

#include "protocol/memcache_text.h"
#include "proxy/handlers.h"

namespace xdpkv {

class MemcacheSession {
 public:
  MemcacheSession(Store& store, const ServerContext& context,
                  memcache::ParseOptions options = {})
      : store_(store), context_(context), options_(options) {}

  // Handles every complete request at the front of `input`, appending the
  // replies to `out`; returns how many bytes it used. Pipelined requests
  // are answered in order.
  size_t Feed(std::string_view input, std::string* out);
  // The connection should close once `out` is sent (quit, or an error
  // memcached closes on).
  bool closing() const { return closing_; }

 private:
  Store& store_;
  const ServerContext& context_;
  memcache::ParseOptions options_;
  size_t swallow_ = 0;  // bytes of a refused value still to discard
  bool closing_ = false;
};

class RespSession {
 public:
  RespSession(Store& store, const ServerContext& context);
  size_t Feed(std::string_view input, std::string* out);
  bool closing() const { return closing_; }

 private:
  Store& store_;
  const ServerContext& context_;
  RespClient client_;
  bool closing_ = false;
};

// One memcached UDP request datagram -> the reply datagrams (frame header
// on each; split as memcached does). Empty when nothing is to be sent.
std::vector<std::string> HandleMemcacheDatagram(std::string_view datagram, Store& store,
                                                const ServerContext& context,
                                                const memcache::ParseOptions& options = {});
// One RESP-over-UDP request datagram (docs/protocols.md) -> reply datagram.
std::vector<std::string> HandleRespDatagram(std::string_view datagram, Store& store,
                                            const ServerContext& context);

}  // namespace xdpkv

#endif  // XDPKV_PROXY_SESSION_H_
