#include "proxy/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <tuple>
#include <variant>

#include "absl/strings/str_cat.h"
#include "proxy/session.h"

namespace xdpkv {
namespace {

enum class Proto { kMemcache, kResp };
// kUnix: a unix stream socket (memcached's -s, Redis's --unixsocket),
// served as TCP is.
enum class Transport { kTcp, kUdp, kUnix };

bool IsStream(Transport transport) { return transport != Transport::kUdp; }

constexpr size_t kReadChunk = 64 * 1024;
// A connection whose unsent replies are above this is not served further
// (its session pauses between requests, or between a multi-get's keys) and
// not read from, until its client has collected them: a connection's
// replies take at most this plus one value.
constexpr size_t kMaxPendingOutput = 4 * 1024 * 1024;
constexpr int kDatagramsPerWakeup = 64;
// RESP over UDP, a reply over --udp-max-reply-bytes (memcached's words are
// kUdpReplyTooBig).
constexpr std::string_view kUdpReplyOverCap =
    "-ERR reply larger than --udp-max-reply-bytes for this client\r\n";
// Connections accepted per listener wakeup, so one busy listener cannot
// starve the loop's clients.
constexpr int kAcceptsPerWakeup = 64;
// A paused session resumed this many times per wakeup at most (fairness);
// it keeps EPOLLOUT armed, so the next wakeup comes at once.
constexpr int kResumesPerWakeup = 4;
// Out of file descriptors with no spare to refuse with: how long the
// listeners are not watched (memcached's accept_new_conns(false) backoff).
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);
// On stop, clients collect the replies to what they sent for as long as
// they keep reading; a connection whose replies made no progress for this
// long (a client that stopped reading) is closed.
constexpr auto kDrainStall = std::chrono::seconds(5);
// Kernel-chosen ports: how often to start over when the port the first
// socket got is taken for another of its sockets (another address family,
// or UDP next to TCP).
constexpr int kBindAttempts = 32;
// -o idle_timeout: how often a loop looks for idle clients.
constexpr int kIdleCheckMs = 1000;

// Failures of the loop's chores (epoll_ctl, accept) go to stderr, at most
// one line per second per kind, so a storm of them cannot flood the log.
enum class Chore { kEpollCtl, kAccept, kQueryBuffer, kCount };

void LogChoreFailure(Chore kind, const std::string& message) {
  static std::atomic<int64_t> last_second[static_cast<int>(Chore::kCount)];
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  std::atomic<int64_t>& last = last_second[static_cast<int>(kind)];
  int64_t seen = last.load(std::memory_order_relaxed);
  if (seen >= now || !last.compare_exchange_strong(seen, now, std::memory_order_relaxed)) return;
  std::fprintf(stderr, "xdpkv: %s\n", message.c_str());
}

absl::Status Errno(const std::string& what) {
  return absl::Status(absl::ErrnoToStatusCode(errno), absl::StrCat(what, ": ", std::strerror(errno)));
}

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string text;  // as given, for messages
};

absl::StatusOr<Address> ParseAddress(const std::string& text, uint16_t port) {
  Address address;
  std::string host = text;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    address.length = sizeof(sockaddr_in);
    address.text = absl::StrCat(host, ":", port);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    address.length = sizeof(sockaddr_in6);
    address.text = absl::StrCat("[", host, "]:", port);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 or IPv6 address: '", text, "'"));
  }
  return address;
}

// bind_errno: the bind's errno when that is what failed, else 0.
// SO_REUSEPORT lets any process of the same user join a port's group, so
// a second server would silently take half of the first one's clients.
// Before the first socket of a group is bound, a probe without
// SO_REUSEPORT finds a port that someone else holds (TCP: a listener, with
// SO_REUSEADDR so a restart is not held off by TIME_WAIT; UDP: any socket),
// and the bind fails as a redis-server or memcached on that port would.
absl::Status ProbePortIsFree(const Address& address, Transport transport, int* bind_errno) {
  const int type = (transport == Transport::kTcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC;
  const int fd = socket(address.storage.ss_family, type, 0);
  if (fd < 0) return Errno("socket");
  const int one = 1;
  if (transport == Transport::kTcp) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (address.storage.ss_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  absl::Status status;
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) {
    *bind_errno = errno;
    status = Errno(absl::StrCat("binding ", transport == Transport::kTcp ? "TCP " : "UDP ",
                                address.text));
  }
  close(fd);
  return status;
}

// The probe above is check-then-bind: two servers started at the same
// instant could both pass it. An exclusive flock per address and port,
// held for the server's lifetime, closes that (the kernel drops it with the
// process). Where /run/xdpkv cannot be used, the probe alone applies.
constexpr char kPortLockDir[] = "/run/xdpkv";

absl::Status LockPort(const Address& address, Transport transport, int* bind_errno,
                      std::vector<int>* lock_fds) {
  if (mkdir(kPortLockDir, 0755) != 0 && errno != EEXIST) return absl::OkStatus();
  const std::string path = absl::StrCat(kPortLockDir, "/", transport == Transport::kTcp ? "tcp-" : "udp-",
                                        address.text, ".lock");
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return absl::OkStatus();
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    *bind_errno = EADDRINUSE;
    return absl::Status(absl::StatusCode::kUnavailable,
                        absl::StrCat("binding ", transport == Transport::kTcp ? "TCP " : "UDP ",
                                     address.text,
                                     ": Address already in use (by another xdpkv starting)"));
  }
  lock_fds->push_back(fd);
  return absl::OkStatus();
}

absl::StatusOr<int> OpenListener(const Address& address, Transport transport, int* bind_errno,
                                 bool first_of_group, std::vector<int>* lock_fds, int backlog) {
  *bind_errno = 0;
  if (first_of_group) {
    if (auto locked = LockPort(address, transport, bind_errno, lock_fds); !locked.ok()) {
      return locked;
    }
    if (auto free = ProbePortIsFree(address, transport, bind_errno); !free.ok()) return free;
  }
  const int type = (transport == Transport::kTcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK |
                   SOCK_CLOEXEC;
  const int fd = socket(address.storage.ss_family, type, 0);
  if (fd < 0) return Errno("socket");
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (address.storage.ss_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) {
    *bind_errno = errno;
    const absl::Status status = Errno(absl::StrCat(
        "binding ", transport == Transport::kTcp ? "TCP " : "UDP ", address.text));
    close(fd);
    return status;
  }
  if (transport == Transport::kTcp && listen(fd, backlog) != 0) {
    const absl::Status status = Errno(absl::StrCat("listening on ", address.text));
    close(fd);
    return status;
  }
  return fd;
}

// A listening unix stream socket at `path`. A stale socket file there (no
// one accepting on it) is removed first, as memcached and Redis do; a live
// one is an error, not taken over. `mode` as memcached's -a: the umask is
// set around the bind so the file never has other permissions; 0: the
// process's umask decides (Redis's default for --unixsocketperm).
absl::StatusOr<int> OpenUnixListener(const std::string& path, uint32_t mode, int backlog) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("unix socket path '", path, "': longer than ",
                                                   sizeof(address.sun_path) - 1, " bytes"));
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  struct stat existing {};
  if (lstat(path.c_str(), &existing) == 0 && S_ISSOCK(existing.st_mode)) {
    const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live =
        probe >= 0 && connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
    if (probe >= 0) close(probe);
    if (live) {
      close(fd);
      return absl::UnavailableError(
          absl::StrCat("binding unix socket ", path, ": Address already in use (a server accepts "
                       "on it)"));
    }
    unlink(path.c_str());
  }
  const mode_t old_umask = mode != 0 ? umask(~mode & 0777) : 0;
  const int bound = bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  const int bind_error = errno;
  if (mode != 0) umask(old_umask);
  if (bound != 0) {
    errno = bind_error;
    const absl::Status status = Errno(absl::StrCat("binding unix socket ", path));
    close(fd);
    return status;
  }
  if (listen(fd, backlog) != 0) {
    const absl::Status status = Errno(absl::StrCat("listening on ", path));
    close(fd);
    unlink(path.c_str());
    return status;
  }
  return fd;
}

// The port a bound socket got (for a bind to port 0).
absl::StatusOr<uint16_t> LocalPort(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    return Errno("getsockname");
  }
  return ntohs(storage.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

struct Listener {
  int fd;
  Proto proto;
  Transport transport;
};

struct Connection {
  int fd;
  Proto proto;
  std::string in;
  std::string out;
  size_t out_sent = 0;
  std::variant<MemcacheSession, RespSession> session;
  uint32_t events = 0;       // what epoll watches for it
  bool read_closed = false;  // the client shut down its side; answer, then close
  // When it last sent a request (memcached's last_cmd_time), for -o
  // idle_timeout.
  std::chrono::steady_clock::time_point last_active = std::chrono::steady_clock::now();

  bool closing() const {
    return std::visit([](const auto& s) { return s.closing(); }, session);
  }
  bool paused() const {
    return std::visit([](const auto& s) { return s.paused(); }, session);
  }
  bool yielded() const {
    const auto* memcache = std::get_if<MemcacheSession>(&session);
    return memcache != nullptr && memcache->yielded();
  }
  size_t pending() const { return out.size() - out_sent; }
  // The RESP session, or nullptr for memcached's.
  RespSession* resp() { return std::get_if<RespSession>(&session); }
  size_t Feed(std::string* reply) {
    return std::visit([&](auto& s) { return s.Feed(in, reply); }, session);
  }
};

}  // namespace

struct Server::Loop {
  Store* store = nullptr;
  const ServerContext* context = nullptr;
  ClientCounts* clients = nullptr;  // shared by every loop
  memcache::ParseOptions memcache_options;
  const UdpAdmission* udp_admission = nullptr;
  int epoll_fd = -1;
  int stop_fd = -1;
  // Held so that, out of file descriptors, one can be freed to accept a
  // client and tell it why it is closed (instead of spinning on EMFILE).
  int spare_fd = -1;
  std::vector<Listener> listeners;
  std::map<int, std::unique_ptr<Connection>> connections;
  std::vector<int> deferred_flushes;  // fds OnConnection left to FlushDeferred
  // Listeners not watched until then (out of fds, no spare): zero if watched.
  std::chrono::steady_clock::time_point accept_paused_until{};
  std::chrono::steady_clock::time_point next_idle_check{};
  std::chrono::steady_clock::time_point accept_paused_since{};
  // RESP connections parked by a blocking command (proxy/blocking.h).
  ParkedConnections parked;

  ~Loop() {
    for (auto& [fd, conn] : connections) {
      // No wake may reach this loop once it is gone.
      if (RespSession* session = conn->resp()) session->CancelBlocked();
      close(fd);
    }
    for (const Listener& l : listeners) close(l.fd);
    if (spare_fd >= 0) close(spare_fd);
    if (stop_fd >= 0) close(stop_fd);
    if (epoll_fd >= 0) close(epoll_fd);
  }

  bool Watch(int fd, uint32_t events, int op = EPOLL_CTL_ADD) {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    if (epoll_ctl(epoll_fd, op, fd, &event) == 0) return true;
    LogChoreFailure(Chore::kEpollCtl, absl::StrCat("epoll_ctl(", op, ") on fd ", fd, ": ",
                                                   std::strerror(errno)));
    return false;
  }

  void OpenSpareFd() {
    if (spare_fd < 0) spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  }

  std::atomic<uint32_t>& ClientCount(Proto proto) {
    return proto == Proto::kMemcache ? clients->memcache : clients->resp;
  }
  uint32_t ClientLimit(Proto proto) const {
    const RuntimeConfig* runtime = context->runtime;
    if (runtime == nullptr) return proto == Proto::kMemcache ? 1024 : 10000;
    return (proto == Proto::kMemcache ? runtime->memcache_max_connections : runtime->maxclients)
        .load(std::memory_order_relaxed);
  }

  // Tells a client it is over the limit, as the peer does, and closes it.
  void Refuse(int fd, Proto proto) {
    const std::string_view words =
        proto == Proto::kMemcache ? memcache::reply::kTooManyConnections : resp::reply::kMaxClients;
    (void)!send(fd, words.data(), words.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
    if (proto == Proto::kMemcache) ServerStats::Add(context->stats->rejected_connections);
  }

  // A unix listener is shared by every loop (EPOLLEXCLUSIVE: one loop is
  // woken per client), and such a watch cannot be modified, only removed
  // and added again.
  void WatchListener(const Listener& l, bool on) {
    if (l.transport == Transport::kUnix) {
      if (on) {
        Watch(l.fd, EPOLLIN | EPOLLEXCLUSIVE);
      } else {
        epoll_ctl(epoll_fd, EPOLL_CTL_DEL, l.fd, nullptr);
      }
    } else {
      Watch(l.fd, on ? EPOLLIN : 0, EPOLL_CTL_MOD);
    }
  }

  void PauseAccepting() {
    if (accept_paused_until == std::chrono::steady_clock::time_point{}) {
      accept_paused_since = std::chrono::steady_clock::now();
      ServerStats::Add(context->stats->accept_paused_loops);
    }
    accept_paused_until = std::chrono::steady_clock::now() + kAcceptBackoff;
    ServerStats::Add(context->stats->listen_disabled_num);
    for (const Listener& l : listeners) {
      if (IsStream(l.transport)) WatchListener(l, false);
    }
  }

  void ResumeAcceptingIfDue() {
    if (accept_paused_until == std::chrono::steady_clock::time_point{} ||
        std::chrono::steady_clock::now() < accept_paused_until) {
      return;
    }
    accept_paused_until = {};
    context->stats->accept_paused_loops.fetch_sub(1, std::memory_order_relaxed);
    ServerStats::Add(context->stats->time_in_listen_disabled_us,
                     static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                               std::chrono::steady_clock::now() - accept_paused_since)
                                               .count()));
    OpenSpareFd();
    for (const Listener& l : listeners) {
      if (IsStream(l.transport)) WatchListener(l, true);
    }
  }

  // epoll_wait's timeout: -1, or until the listeners are watched again,
  // (-o idle_timeout) the next look for idle clients, or a parked client's
  // deadline.
  int WaitTimeoutMs() const {
    int timeout = parked.TimeoutMs(context->now_boot_ms());
    if (accept_paused_until != std::chrono::steady_clock::time_point{}) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          accept_paused_until - std::chrono::steady_clock::now());
      const int accept_ms = static_cast<int>(std::max<int64_t>(1, left.count() + 1));
      timeout = timeout < 0 ? accept_ms : std::min(timeout, accept_ms);
    }
    if (context->memcache.idle_timeout_s > 0 && !connections.empty()) {
      timeout = timeout < 0 ? kIdleCheckMs : std::min(timeout, kIdleCheckMs);
    }
    return timeout;
  }

  // memcached's -o idle_timeout: a memcached client that has sent no
  // request for longer is closed (counted as idle_kicks), unless replies to
  // it are still going out. Looked at about once a second, as memcached's
  // timeout thread does.
  void CloseIdleClients() {
    const uint32_t limit_s = context->memcache.idle_timeout_s;
    if (limit_s == 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_idle_check) return;
    next_idle_check = now + std::chrono::milliseconds(kIdleCheckMs);
    std::vector<int> idle;
    for (const auto& [fd, conn] : connections) {
      if (conn->proto != Proto::kMemcache || conn->pending() > 0 || conn->paused()) continue;
      if (now - conn->last_active > std::chrono::seconds(limit_s)) idle.push_back(fd);
    }
    for (const int fd : idle) {
      ServerStats::Add(context->stats->idle_kicks);
      Close(fd);
    }
  }

  void Accept(const Listener& listener) {
    for (int i = 0; i < kAcceptsPerWakeup; ++i) {
      sockaddr_storage peer{};
      socklen_t peer_len = sizeof(peer);
      const int fd = accept4(listener.fd, reinterpret_cast<sockaddr*>(&peer), &peer_len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;  // a client gone
        const int error = errno;
        LogChoreFailure(Chore::kAccept, absl::StrCat("accept: ", std::strerror(error)));
        if ((error == EMFILE || error == ENFILE) && spare_fd >= 0) {
          // The pending client would wake us forever: free the spare, take
          // the client, tell it, close it, take the spare back.
          close(spare_fd);
          spare_fd = -1;
          const int refused = accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (refused >= 0) Refuse(refused, listener.proto);
          OpenSpareFd();
          if (refused >= 0 && spare_fd >= 0) continue;
        }
        // No spare (or it was taken meanwhile), or another failure: stop
        // watching the listeners for a while rather than spin.
        PauseAccepting();
        return;
      }
      std::atomic<uint32_t>& count = ClientCount(listener.proto);
      if (count.fetch_add(1, std::memory_order_relaxed) >= ClientLimit(listener.proto)) {
        count.fetch_sub(1, std::memory_order_relaxed);
        Refuse(fd, listener.proto);
        continue;
      }
      // Redis's protected mode, after its maxclients check as in Redis.
      if (listener.proto == Proto::kResp && RespProtectedModeDenies(*context, peer)) {
        count.fetch_sub(1, std::memory_order_relaxed);
        (void)!send(fd, kRedisProtectedModeDenied.data(), kRedisProtectedModeDenied.size(),
                    MSG_NOSIGNAL | MSG_DONTWAIT);
        // Our FIN after the words; what the client sent already is read,
        // so the close does not reset the words away.
        shutdown(fd, SHUT_WR);
        char discard[4096];
        while (recv(fd, discard, sizeof(discard), MSG_DONTWAIT) > 0) {
        }
        close(fd);
        continue;
      }
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      auto conn = std::unique_ptr<Connection>(new Connection{
          fd, listener.proto, {}, {}, 0,
          listener.proto == Proto::kMemcache
              ? std::variant<MemcacheSession, RespSession>(std::in_place_type<MemcacheSession>,
                                                           *store, *context, memcache_options,
                                                           kMaxPendingOutput)
              : std::variant<MemcacheSession, RespSession>(std::in_place_type<RespSession>,
                                                           *store, *context, kMaxPendingOutput)});
      conn->events = EPOLLIN | EPOLLRDHUP;
      conn->last_active = std::chrono::steady_clock::now();
      if (RespSession* session = conn->resp()) session->SetWake(parked.WakeFor(fd));
      if (!Watch(fd, conn->events)) {
        count.fetch_sub(1, std::memory_order_relaxed);
        close(fd);
        continue;
      }
      connections[fd] = std::move(conn);
      ServerStats::Add(context->stats->curr_connections);
      ServerStats::Add(context->stats->total_connections);
    }
  }

  void ServeDatagrams(const Listener& listener) {
    char buffer[65536];
    for (int i = 0; i < kDatagramsPerWakeup; ++i) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof(from);
      const ssize_t n = recvfrom(listener.fd, buffer, sizeof(buffer), 0,
                                 reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) return;
      const std::string_view datagram(buffer, static_cast<size_t>(n));
      // The rules of the kernel path's admission that a socket can see
      // (docs/architecture.md, "Admission"): never answer a datagram from
      // one of our own ports (a reply there would be answered again,
      // forever), nor a source outside --udp-allow.
      Ip16 source{};
      if (!FromSockaddr(reinterpret_cast<const sockaddr*>(&from), &source)) continue;
      const uint16_t source_port =
          ntohs(from.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in*>(&from)->sin_port
                                          : reinterpret_cast<const sockaddr_in6*>(&from)->sin6_port);
      if (udp_admission->IsServicePort(source_port) || !udp_admission->Allowed(source)) continue;
      std::vector<std::string> replies =
          listener.proto == Proto::kMemcache
              ? HandleMemcacheDatagram(datagram, *store, *context, memcache_options)
              : HandleRespDatagram(datagram, *store, *context);
      if (!IsLoopback(source)) CapUdpReply(listener.proto, datagram, &replies);
      const bool memcache = listener.proto == Proto::kMemcache;
      if (memcache) ServerStats::Add(context->stats->bytes_read, datagram.size());
      for (const std::string& reply : replies) {
        const ssize_t sent = sendto(listener.fd, reply.data(), reply.size(), 0,
                                    reinterpret_cast<sockaddr*>(&from), from_len);
        if (memcache && sent > 0) {
          ServerStats::Add(context->stats->bytes_written, static_cast<uint64_t>(sent));
        }
      }
    }
  }

  // --udp-max-reply-bytes: more reply than that to a non-loopback source
  // (frame headers included) becomes one short error instead, so a small
  // spoofed request cannot make us send much to its victim.
  void CapUdpReply(Proto proto, std::string_view request, std::vector<std::string>* replies) {
    size_t total = 0;
    for (const std::string& reply : *replies) total += reply.size();
    if (total <= udp_admission->max_reply_bytes || request.size() < 2) return;
    std::string error(request.substr(0, 2));  // request id; sequence 0 of 1
    error.append(std::string("\x00\x00\x00\x01\x00\x00", 6));
    error.append(proto == Proto::kMemcache ? kUdpReplyTooBig : kUdpReplyOverCap);
    replies->clear();
    if (error.size() <= udp_admission->max_reply_bytes) replies->push_back(std::move(error));
  }

  void Close(int fd) {
    const auto it = connections.find(fd);
    if (it == connections.end()) return;
    ClientCount(it->second->proto).fetch_sub(1, std::memory_order_relaxed);
    if (RespSession* session = it->second->resp()) session->CancelBlocked();
    parked.Untrack(fd);
    context->stats->curr_connections.fetch_sub(1, std::memory_order_relaxed);
    if (epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr) != 0) {
      LogChoreFailure(Chore::kEpollCtl, absl::StrCat("epoll_ctl(DEL) on fd ", fd, ": ",
                                                     std::strerror(errno)));
    }
    close(fd);
    connections.erase(it);
  }

  // Reading stops while the session is paused or replies are piled up, and
  // once the client has shut its side.
  static bool Reading(const Connection& conn) {
    return !conn.read_closed && !conn.closing() && !conn.paused() &&
           conn.pending() <= kMaxPendingOutput;
  }

  // What epoll should watch: EPOLLOUT while replies wait or the session is
  // paused (its next step comes on the next wakeup); EPOLLIN|EPOLLRDHUP only
  // while reading, so a half-closed client cannot wake us in a loop.
  bool UpdateEvents(Connection& conn) {
    uint32_t events = 0;
    if (Reading(conn)) events |= EPOLLIN | EPOLLRDHUP;
    if (conn.pending() > 0 || conn.paused()) events |= EPOLLOUT;
    if (events == conn.events) return true;
    conn.events = events;
    return Watch(conn.fd, events, EPOLL_CTL_MOD);
  }

  // Sends what is pending; false when the connection is done for.
  bool Flush(Connection& conn) {
    while (conn.out_sent < conn.out.size()) {
      const ssize_t n = send(conn.fd, conn.out.data() + conn.out_sent,
                             conn.out.size() - conn.out_sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return false;
      }
      conn.out_sent += static_cast<size_t>(n);
      if (conn.proto == Proto::kMemcache) {
        ServerStats::Add(context->stats->bytes_written, static_cast<uint64_t>(n));
      }
    }
    // Drop what went out, so out.size() is what is pending (sessions bound
    // their work by it).
    if (conn.out_sent == conn.out.size()) {
      conn.out.clear();
      conn.out_sent = 0;
    } else if (conn.out_sent >= kReadChunk) {
      conn.out.erase(0, conn.out_sent);
      conn.out_sent = 0;
    }
    if (conn.closing() && conn.out.empty()) return false;
    // A client that shut its side, with everything answered: done.
    if (conn.read_closed && conn.out.empty() && !conn.paused()) return false;
    return UpdateEvents(conn);
  }

  // Runs the session over what is buffered.
  // Runs the session over what is buffered; a session parked by a blocking
  // command is tracked until its reply or deadline.
  void Serve(Connection& conn) {
    const size_t used = conn.Feed(&conn.out);
    if (used != 0) {
      conn.in.erase(0, used);
      conn.last_active = std::chrono::steady_clock::now();
    }
    RespSession* session = conn.resp();
    if (session != nullptr && session->blocked()) {
      if (!parked.Tracked(conn.fd)) parked.Track(conn.fd, session->block_deadline_ms());
    }
  }

  // Ends the wait of parked connection `fd` (its reply came in, or its
  // deadline passed), then goes on with what its client sent after.
  void Unpark(int fd, bool timed_out) {
    const auto it = connections.find(fd);
    if (it == connections.end()) return;
    Connection& conn = *it->second;
    RespSession* session = conn.resp();
    if (session == nullptr || !session->Unblock(&conn.out, timed_out)) return;
    parked.Untrack(fd);
    Serve(conn);
    if (!Flush(conn)) Close(fd);
  }

  void ServeParked() {
    for (int fd : parked.TakeWoken()) Unpark(fd, false);
  }
  void TimeOutParked() {
    for (int fd : parked.Expired(context->now_boot_ms())) Unpark(fd, true);
  }

  // `defer_flush`: the replies go out with every other connection's after
  // the event loop's turn (FlushDeferred), as Redis writes them in
  // beforeSleep: a client with several connections is then woken once per
  // turn rather than once per reply (measured: sock_def_readable's wakeups
  // took 27% of the server's CPU under redis-benchmark -P 16, 3% after).
  void OnConnection(int fd, uint32_t events, bool defer_flush = false) {
    Connection& conn = *connections[fd];
    if (events & (EPOLLERR | EPOLLHUP)) conn.read_closed = true;
    // A paused session goes on once its client has collected enough; one
    // that yielded (-R) runs one more turn per wakeup.
    for (int i = 0; i < kResumesPerWakeup && conn.paused(); ++i) {
      if (!Flush(conn)) {
        Close(fd);
        return;
      }
      if (conn.pending() > kMaxPendingOutput) break;
      const bool was_yield = conn.yielded();
      Serve(conn);
      if (was_yield) break;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP)) && Reading(conn)) {
      char chunk[kReadChunk];
      while (Reading(conn)) {
        const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n == 0) {
          conn.read_closed = true;
          break;
        }
        if (n < 0) {
          if (errno != EAGAIN && errno != EWOULDBLOCK) conn.read_closed = true;
          break;
        }
        conn.in.append(chunk, static_cast<size_t>(n));
        if (conn.proto == Proto::kMemcache) {
          ServerStats::Add(context->stats->bytes_read, static_cast<uint64_t>(n));
        }
        if (conn.proto == Proto::kResp && QueryBufferTooBig(conn)) {
          Close(fd);  // Redis closes such a client without a reply
          return;
        }
        Serve(conn);
        // One read per wakeup unless it filled the buffer, as Redis reads:
        // epoll is level-triggered, so what is left wakes us again, and the
        // read that would only have said EAGAIN is a syscall saved.
        if (static_cast<size_t>(n) < sizeof(chunk)) break;
      }
    }
    if (defer_flush) {
      deferred_flushes.push_back(fd);
      return;
    }
    if (!Flush(conn)) Close(fd);
  }

  // The replies OnConnection left for the end of the loop's turn.
  void FlushDeferred() {
    for (const int fd : deferred_flushes) {
      // Closed meanwhile (or its number reused by a new connection, which
      // a flush leaves as it is).
      const auto it = connections.find(fd);
      if (it != connections.end() && !Flush(*it->second)) Close(fd);
    }
    deferred_flushes.clear();
  }

  // Redis's client-query-buffer-limit: the bytes of requests not yet
  // answered (a command still arriving, arguments included).
  bool QueryBufferTooBig(const Connection& conn) const {
    const RuntimeConfig* runtime = context->runtime;
    const uint64_t limit = runtime ? runtime->client_query_buffer_limit.load(std::memory_order_relaxed)
                                   : uint64_t{1} << 30;
    if (conn.in.size() <= limit) return false;
    LogChoreFailure(Chore::kQueryBuffer,
                    absl::StrCat("closing a RESP client that reached the query buffer limit (",
                                 conn.in.size(), " > ", limit, " bytes)"));
    return true;
  }

  // Stops accepting, then keeps answering what connected clients have sent
  // for as long as they collect their replies: no wall-clock budget while
  // replies go out. A connection whose pending replies made no progress for
  // kDrainStall (its client stopped reading) is closed. Done when no reply
  // is pending and nothing more arrives.
  void Drain() {
    uint64_t ignored;
    (void)!read(stop_fd, &ignored, sizeof(ignored));
    // A second Stop() (the destructor's) must not wake the drain in a loop.
    if (epoll_ctl(epoll_fd, EPOLL_CTL_DEL, stop_fd, nullptr) != 0) {
      LogChoreFailure(Chore::kEpollCtl, absl::StrCat("epoll_ctl(DEL) on the stop fd: ",
                                                     std::strerror(errno)));
    }
    for (const Listener& listener : listeners) {
      if (listener.transport == Transport::kUdp) ServeDatagrams(listener);
      epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listener.fd, nullptr);
      close(listener.fd);
    }
    listeners.clear();
    using Clock = std::chrono::steady_clock;
    const auto state = [](const Connection& c) {
      return std::make_tuple(c.out_sent, c.out.size(), c.in.size());
    };
    const Clock::time_point start = Clock::now();
    std::map<int, Clock::time_point> last_progress;  // by fd; none yet: since start
    epoll_event events[256];
    while (true) {
      const int n = epoll_wait(epoll_fd, events, 256, 100);
      const Clock::time_point now = Clock::now();
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == parked.wake_fd()) ServeParked();
        const auto it = connections.find(fd);
        if (it == connections.end()) continue;
        const auto before = state(*it->second);
        OnConnection(fd, events[i].events);
        const auto after = connections.find(fd);
        if (after == connections.end()) {
          last_progress.erase(fd);
        } else if (state(*after->second) != before) {
          last_progress[fd] = now;
        }
      }
      bool pending = false;
      std::vector<int> stalled;
      for (const auto& [fd, conn] : connections) {
        // Still owed a reply: output not yet sent, or a session paused on
        // back-pressure with requests (or a multi-get's keys) left.
        if (conn->out.empty() && !conn->paused()) continue;
        const auto progress = last_progress.find(fd);
        if (now - (progress == last_progress.end() ? start : progress->second) < kDrainStall) {
          pending = true;
        } else {
          stalled.push_back(fd);
        }
      }
      for (const int fd : stalled) {
        last_progress.erase(fd);
        Close(fd);
      }
      if (n <= 0 && !pending) return;
    }
  }

  void Run() {
    OpenSpareFd();
    epoll_event events[256];
    while (true) {
      const int n = epoll_wait(epoll_fd, events, 256, WaitTimeoutMs());
      if (n < 0 && errno != EINTR) return;
      ResumeAcceptingIfDue();
      CloseIdleClients();
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == stop_fd) {
          FlushDeferred();
          Drain();
          return;
        }
        if (fd == parked.wake_fd()) {
          ServeParked();
          continue;
        }
        bool handled = false;
        for (const Listener& listener : listeners) {
          if (listener.fd != fd) continue;
          if (IsStream(listener.transport)) {
            Accept(listener);
          } else {
            ServeDatagrams(listener);
          }
          handled = true;
          break;
        }
        if (!handled && connections.count(fd)) {
          OnConnection(fd, events[i].events, /*defer_flush=*/true);
        }
      }
      FlushDeferred();
      TimeOutParked();
    }
  }
};

absl::Status Server::BindOnce(const ServerConfig& config, bool* kernel_port_taken) {
  *kernel_port_taken = false;
  struct Wanted {
    int port;  // as configured
    Proto proto;
    Transport transport;
    const char* name;
    const char* port_file_kind;  // nullptr: no line of its own
    uint16_t* bound;
  };
  // -p -1 -U -1: one port for both, as the defaults (11211 both).
  const bool memcache_shared =
      config.memcache_tcp_port == kAnyPort && config.memcache_udp_port == kAnyPort;
  const Wanted wanted[] = {
      {config.memcache_tcp_port, Proto::kMemcache, Transport::kTcp, "memcached TCP", "TCP",
       &ports_.memcache_tcp},
      {config.memcache_udp_port, Proto::kMemcache, Transport::kUdp, "memcached UDP", "UDP",
       memcache_shared ? &ports_.memcache_tcp : &ports_.memcache_udp},
      {config.resp_port, Proto::kResp, Transport::kTcp, "RESP TCP", "RESP", &ports_.resp},
      {config.resp_port, Proto::kResp, Transport::kUdp, "RESP UDP", nullptr, &ports_.resp},
  };
  struct UnixWanted {
    std::string path;
    uint32_t mode;
    Proto proto;
    const char* name;
  };
  std::vector<UnixWanted> unix_wanted;
  if (!config.memcache_unix_path.empty()) {
    unix_wanted.push_back(
        {config.memcache_unix_path, config.memcache_unix_mode, Proto::kMemcache, "memcached unix"});
  }
  if (!config.resp_unix_path.empty()) {
    unix_wanted.push_back({config.resp_unix_path, config.resp_unix_mode, Proto::kResp, "RESP unix"});
  }
  std::vector<int> unix_first_fds;
  for (const Wanted& w : wanted) {
    if (w.port != kAnyPort && (w.port < 0 || w.port > 65535)) {
      return absl::InvalidArgumentError(absl::StrCat("bad port ", w.port));
    }
    if (w.port > 0) *w.bound = static_cast<uint16_t>(w.port);
  }
  for (int t = 0; t < config.threads; ++t) {
    auto loop = std::make_unique<Loop>();
    loop->memcache_options = config.memcache_options;
    loop->udp_admission = &udp_admission_;
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    loop->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->epoll_fd < 0 || loop->stop_fd < 0) return Errno("epoll/eventfd");
    for (const std::string& text : config.addresses) {
      for (const Wanted& w : wanted) {
        if (w.port == 0) continue;
        // kAnyPort: 0 until the first socket has bound; the rest bind its port.
        const uint16_t port = *w.bound;
        auto address = ParseAddress(text, port);
        if (!address.ok()) return address.status();
        int bind_errno = 0;
        // The first thread's socket starts each group (port 0 asks the
        // kernel for a free one: nothing to probe).
        auto fd = OpenListener(*address, w.transport, &bind_errno, t == 0 && port != 0,
                               &port_lock_fds_, config.tcp_backlog);
        if (!fd.ok()) {
          *kernel_port_taken = w.port == kAnyPort && bind_errno == EADDRINUSE;
          return fd.status();
        }
        loop->listeners.push_back({*fd, w.proto, w.transport});
        if (port == 0) {
          auto got = LocalPort(*fd);
          if (!got.ok()) return got.status();
          *w.bound = *got;
          address = ParseAddress(text, *got);
        }
        if (t == 0) {
          listeners_.push_back(absl::StrCat(w.name, " ", address->text));
          if (w.port_file_kind != nullptr) {
            port_lines_.push_back({w.port_file_kind, address->storage.ss_family == AF_INET6, *w.bound});
          }
        }
      }
    }
    // Unix sockets: one per path, opened once and shared by every loop
    // (each holds its own descriptor of it).
    for (size_t u = 0; u < unix_wanted.size(); ++u) {
      const UnixWanted& w = unix_wanted[u];
      int fd = -1;
      if (t == 0) {
        auto opened = OpenUnixListener(w.path, w.mode, config.tcp_backlog);
        if (!opened.ok()) return opened.status();
        fd = *opened;
        unix_paths_.push_back(w.path);
        unix_first_fds.push_back(fd);
        listeners_.push_back(absl::StrCat(w.name, " ", w.path));
      } else {
        fd = fcntl(unix_first_fds[u], F_DUPFD_CLOEXEC, 0);
        if (fd < 0) return Errno("dup of a unix socket");
      }
      loop->listeners.push_back({fd, w.proto, Transport::kUnix});
    }
    loop->Watch(loop->stop_fd, EPOLLIN);
    if (loop->parked.wake_fd() < 0) return Errno("eventfd");
    loop->Watch(loop->parked.wake_fd(), EPOLLIN);
    for (const Listener& l : loop->listeners) {
      loop->Watch(l.fd, l.transport == Transport::kUnix ? EPOLLIN | EPOLLEXCLUSIVE : EPOLLIN);
    }
    loops_.push_back(std::move(loop));
  }
  if (memcache_shared) ports_.memcache_udp = ports_.memcache_tcp;
  auto admission = MakeUdpAdmission(config.udp_allow, config.udp_max_reply_bytes);
  if (!admission.ok()) return admission.status();
  udp_admission_ = std::move(*admission);
  udp_admission_.service_ports = {ports_.memcache_tcp, ports_.memcache_udp, ports_.resp};
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Server>> Server::Bind(const ServerConfig& config) {
  if (config.threads < 1) return absl::InvalidArgumentError("need at least one thread");
  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<Server> server(new Server());
    bool kernel_port_taken = false;
    const absl::Status status = server->BindOnce(config, &kernel_port_taken);
    if (status.ok()) return server;
    // Only a kernel-chosen port is worth another try: a new one comes next.
    if (!kernel_port_taken || attempt >= kBindAttempts) return status;
  }
}

void Server::Run(Store& store, const ServerContext& context) {
  if (!threads_.empty()) return;
  for (auto& loop : loops_) {
    loop->store = &store;
    loop->context = &context;
    loop->clients = &clients_;
  }
  for (auto& loop : loops_) threads_.emplace_back([l = loop.get()] { l->Run(); });
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerConfig& config, Store& store,
                                                      const ServerContext& context) {
  auto server = Bind(config);
  if (!server.ok()) return server.status();
  (*server)->Run(store, context);
  return server;
}

std::string Server::PortFileText() const {
  // memcached's order: every TCP socket, then every UDP socket; then RESP.
  std::string text;
  for (const char* kind : {"TCP", "UDP", "RESP"}) {
    for (const PortLine& line : port_lines_) {
      if (std::strcmp(line.kind, kind) != 0) continue;
      absl::StrAppend(&text, line.kind, line.inet6 ? " INET6: " : " INET: ", line.port, "\n");
    }
  }
  return text;
}

absl::Status Server::WritePortFile(const std::string& path) const {
  const std::string temporary = path + ".lck";
  FILE* file = std::fopen(temporary.c_str(), "w");
  if (file == nullptr) return Errno(absl::StrCat("opening ", temporary));
  const std::string text = PortFileText();
  const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  if (std::fclose(file) != 0 || !written) {
    const absl::Status status = Errno(absl::StrCat("writing ", temporary));
    std::remove(temporary.c_str());
    return status;
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const absl::Status status = Errno(absl::StrCat("renaming ", temporary, " to ", path));
    std::remove(temporary.c_str());
    return status;
  }
  return absl::OkStatus();
}

void Server::Stop() {
  for (auto& loop : loops_) {
    const uint64_t one = 1;
    (void)!write(loop->stop_fd, &one, sizeof(one));
  }
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

Server::~Server() {
  Stop();
  for (int fd : port_lock_fds_) close(fd);
  // As Redis does at shutdown (memcached leaves its socket file).
  for (const std::string& path : unix_paths_) unlink(path.c_str());
}

}  // namespace xdpkv
