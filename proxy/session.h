// One client's conversation, without sockets: bytes in, replies out. The
// server (proxy/server.cc) owns one session per TCP connection and runs a
// fresh one per UDP datagram; tests drive them directly.
#ifndef XDPKV_PROXY_SESSION_H_
#define XDPKV_PROXY_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/memcache_text.h"
#include "protocol/resp.h"
#include "proxy/handlers.h"
#include "proxy/memcache_family.h"

namespace xdpkv {

// No output bound: every complete request is answered in one Feed.
inline constexpr size_t kNoOutputLimit = SIZE_MAX;

// The most reply bytes one UDP request datagram may cause (memcached or
// RESP). A request whose replies would pass it (a multi-get of big values,
// many gets in one datagram) is answered with one error instead: for
// memcached its words for a reply it has no memory for, `SERVER_ERROR out
// of memory writing get response`. memcached 1.6.18 itself has no such cap
// (docs/protocols.md).
inline constexpr size_t kMaxUdpReplyBytes = 1024 * 1024;
inline constexpr std::string_view kUdpReplyTooBig =
    "SERVER_ERROR out of memory writing get response\r\n";
inline constexpr std::string_view kRespUdpReplyTooBig = "-ERR reply too large for UDP: use TCP\r\n";

class MemcacheSession {
 public:
  MemcacheSession(Store& store, const ServerContext& context,
                  memcache::ParseOptions options = {}, size_t output_limit = kNoOutputLimit)
      : store_(store),
        context_(context),
        options_(options),
        output_limit_(output_limit),
        protocol_(context.memcache.binding == MemcacheBinding::kAscii    ? Protocol::kText
                  : context.memcache.binding == MemcacheBinding::kBinary ? Protocol::kBinary
                                                                         : Protocol::kNegotiating) {}
  ~MemcacheSession() {
    if (watching_) context_.stats->log_watchers.fetch_sub(1, std::memory_order_relaxed);
  }
  MemcacheSession(const MemcacheSession&) = delete;
  MemcacheSession& operator=(const MemcacheSession&) = delete;

  // Handles the complete requests at the front of `input`, appending the
  // replies to `out`; returns how many bytes it used. The text or the
  // binary protocol, as -B says; under auto the first byte decides, once
  // (0x80: binary), as memcached does. Pipelined requests
  // are answered in order. Once out->size() is above the output limit it
  // stops, between requests or between the keys of a multi-get (whose
  // remaining keys it keeps), and paused() says so: call Feed again with
  // the unused bytes once the client has collected some of `out`.
  size_t Feed(std::string_view input, std::string* out);
  // The connection should close once `out` is sent (quit, or an error
  // memcached closes on).
  bool closing() const { return closing_; }
  // The connection speaks the binary protocol (decided by -B or its first byte).
  bool binary() const { return protocol_ == Protocol::kBinary; }
  // Stopped by the output limit with work left, or yielded (below).
  bool paused() const { return paused_; }
  // Stopped after memcached's -R requests of one read, with more to do:
  // call Feed again once other connections have had their turn.
  bool yielded() const { return yielded_; }

  // UDP: from now on, records in `objects` where each of memcached's
  // response objects ends in `out`, and after which ones memcached sends
  // what it holds, for memcache::FrameUdpReply. A request answered with
  // nothing (noreply) has no object, as memcached skips its.
  void RecordResponseObjects(std::vector<memcache::UdpResponseObject>* objects) {
    response_objects_ = objects;
  }

 private:
  // A multi-get stopped part way: what is left of it.
  struct PendingGet {
    memcache::Op op;
    int32_t exptime;
    std::vector<std::string> keys;
    size_t next = 0;
  };
  enum class Protocol : uint8_t { kNegotiating, kText, kBinary };
  size_t FeedText(std::string_view input, std::string* out);
  size_t FeedBinary(std::string_view input, std::string* out);
  // Answers what is left of pending_get_; false while keys remain.
  bool ContinueGet(std::string* out);
  // Reads the keys of the run of one-key gets that starts with this one
  // (`first_key`; `rest`: the input after it) in one store call, into
  // read_ahead_ (docs/architecture.md, "Where a TCP request's time goes").
  void ReadAheadGets(std::string_view first_key, std::string_view rest);
  static constexpr size_t kReadAheadCommands = 32;
  ReadAhead read_ahead_;
  // Writes what is left of pending_dump_; false while items remain.
  bool ContinueDump(std::string* out);
  // Response objects (RecordResponseObjects; no-ops without it): the reply
  // a request appended from `reply_start` is one object, unless it is empty
  // and not `keep_empty` (text: `quit`'s; binary: every request's, as
  // memcached skips only a text noreply's); then memcached's bookkeeping
  // after the request.
  void EndResponseObject(size_t reply_start, const std::string& out, bool keep_empty);
  // After each request: counts it, and notes where memcached would have
  // sent what it held (after gets, `quit`, its -R yields).
  void EndRequest(bool memcached_flushes, const std::string& out);
  // Drops the replies memcached would still hold unsent (since its last
  // flush), as it does when it closes a connection at once.
  void DiscardUnsent(std::string* out);

  Store& store_;
  const ServerContext& context_;
  memcache::ParseOptions options_;
  size_t output_limit_;
  size_t swallow_ = 0;  // bytes of a refused value still to discard
  std::optional<PendingGet> pending_get_;
  std::optional<memcache_family::Metadump> pending_dump_;  // lru_crawler metadump
  bool watching_ = false;  // memcached's watch: no more requests are read
  // memcached's -Y: until authenticated, input goes to the auth exchange.
  bool authenticated_ = context_.memcache_auth == nullptr;
  MemcacheAuthState auth_;
  Protocol protocol_;
  MemcacheSaslSession sasl_;  // -S, binary connections
  // Binary: replies memcached would still hold, unsent, because it is
  // reading a value or discarding one when the input runs out (it sends
  // them once that is done; a close drops them).
  std::string held_;
  bool closing_ = false;
  bool paused_ = false;
  std::vector<memcache::UdpResponseObject>* response_objects_ = nullptr;
  size_t requests_answered_ = 0;  // since the read began (memcached's event)
  size_t flushed_end_ = 0;  // `out` up to here memcached would have sent
  bool yield_due_ = false;  // -R requests done: yield before the next one
  bool yielded_ = false;
};

class RespSession {
 public:
  RespSession(Store& store, const ServerContext& context, size_t output_limit = kNoOutputLimit);
  // As MemcacheSession::Feed. `input` must start where the last call's
  // used bytes ended: the parser keeps its place in a command that is
  // still arriving (protocol/resp.h).
  size_t Feed(std::string_view input, std::string* out);
  bool closing() const { return closing_; }
  bool paused() const { return paused_; }

  // Blocking commands (proxy/blocking.h). `wake` is how another thread
  // tells this session's owner that its parked command has a reply; without
  // one, blocking commands never park. While blocked(), Feed handles
  // nothing; Unblock ends the wait: the reply once served (false while
  // there is none yet), or, `timed_out`, Redis's nil array. Then Feed
  // goes on with what followed the command.
  void SetWake(std::function<void()> wake) { client_.wake = std::move(wake); }
  bool blocked() const { return client_.parked != nullptr; }
  uint64_t block_deadline_ms() const { return blocked() ? client_.parked->deadline_ms : 0; }
  bool Unblock(std::string* out, bool timed_out);
  // The connection is going away: a parked command is taken back.
  void CancelBlocked();

  // UDP: from now on, records in `objects` where each command's reply ends
  // in `out` (never empty: a command with no reply has no object), so
  // each is framed on its own (memcache::FrameUdpReply).
  void RecordResponseObjects(std::vector<memcache::UdpResponseObject>* objects) {
    response_objects_ = objects;
  }

 private:
  void EndResponseObject(size_t reply_start, const std::string& out);
  // Reads the run of GETs at ahead_[ahead_next_...] in one store call,
  // into client_.read_ahead (docs/architecture.md).
  void ReadAheadGets();
  // Does the run of plain writes at ahead_[ahead_next_...] (SET, INCR,
  // INCRBY, DECR, DECRBY, MSET) with one Store::WriteMany, into
  // client_.write_ahead; `out_size` is the output so far, which bounds the
  // run as the output bound would stop it (docs/architecture.md).
  void WriteAheadRun(size_t out_size);

  // Commands parsed ahead of their turn, at most this many at once: a
  // pipeline's GETs are read together.
  static constexpr size_t kReadAheadCommands = 32;

  Store& store_;
  const ServerContext& context_;
  size_t output_limit_;
  resp::Parser parser_;
  std::vector<resp::ParseResult> ahead_;  // parsed, not yet answered from ahead_next_
  size_t ahead_next_ = 0;
  // The ahead_ index of a write a batch stopped before: it runs on its own.
  size_t write_alone_ = SIZE_MAX;
  RespClient client_;
  bool closing_ = false;
  bool paused_ = false;
  std::vector<memcache::UdpResponseObject>* response_objects_ = nullptr;
};

// One memcached UDP request datagram -> the reply datagrams, framed by
// response object as memcached 1.6.18 frames them (memcache::FrameUdpReply).
// Empty when nothing is to be sent.
// A datagram has no session to authenticate: with -Y it is answered
// `CLIENT_ERROR unauthenticated` (memcached refuses to start with UDP and
// -Y; docs/protocols.md).
std::vector<std::string> HandleMemcacheDatagram(std::string_view datagram, Store& store,
                                                const ServerContext& context,
                                                const memcache::ParseOptions& options = {});
// One RESP-over-UDP request datagram (docs/protocols.md) -> the reply
// datagrams: each command's reply framed on its own, as memcached frames an
// object, up to kMaxUdpReplyBytes in all.
// With requirepass set it is answered `-NOAUTH Authentication required.`:
// a datagram cannot AUTH.
std::vector<std::string> HandleRespDatagram(std::string_view datagram, Store& store,
                                            const ServerContext& context);

// Redis's protected mode, decided at accept: protected-mode on, no
// password, and a client from other than loopback (IsLoopbackPeer). Such
// a client is sent kRedisProtectedModeDenied and closed.
bool RespProtectedModeDenies(const ServerContext& context, const sockaddr_storage& peer);

}  // namespace xdpkv

#endif  // XDPKV_PROXY_SESSION_H_
