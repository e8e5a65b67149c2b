#include "proxy/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
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
enum class Transport { kTcp, kUdp };

constexpr size_t kReadChunk = 64 * 1024;
// Stop reading from a client whose replies pile up unread.
constexpr size_t kMaxPendingOutput = 4 * 1024 * 1024;
constexpr int kDatagramsPerWakeup = 64;
// On stop, clients collect the replies to what they sent for as long as
// they keep reading; a connection whose replies made no progress for this
// long (a client that stopped reading) is closed.
constexpr auto kDrainStall = std::chrono::seconds(5);
// Kernel-chosen ports: how often to start over when the port the first
// socket got is taken for another of its sockets (another address family,
// or UDP next to TCP).
constexpr int kBindAttempts = 32;

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
absl::StatusOr<int> OpenListener(const Address& address, Transport transport, int* bind_errno) {
  *bind_errno = 0;
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
  if (transport == Transport::kTcp && listen(fd, 1024) != 0) {
    const absl::Status status = Errno(absl::StrCat("listening on ", address.text));
    close(fd);
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
  bool want_write = false;

  bool closing() const {
    return std::visit([](const auto& s) { return s.closing(); }, session);
  }
  size_t Feed(std::string* reply) {
    return std::visit([&](auto& s) { return s.Feed(in, reply); }, session);
  }
};

}  // namespace

struct Server::Loop {
  Store* store = nullptr;
  const ServerContext* context = nullptr;
  memcache::ParseOptions memcache_options;
  int epoll_fd = -1;
  int stop_fd = -1;
  std::vector<Listener> listeners;
  std::map<int, std::unique_ptr<Connection>> connections;

  ~Loop() {
    for (auto& [fd, conn] : connections) close(fd);
    for (const Listener& l : listeners) close(l.fd);
    if (stop_fd >= 0) close(stop_fd);
    if (epoll_fd >= 0) close(epoll_fd);
  }

  void Watch(int fd, uint32_t events, int op = EPOLL_CTL_ADD) {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    epoll_ctl(epoll_fd, op, fd, &event);
  }

  void Accept(const Listener& listener) {
    while (true) {
      const int fd = accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or a client gone already
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      auto conn = std::unique_ptr<Connection>(new Connection{
          fd, listener.proto, {}, {}, 0,
          listener.proto == Proto::kMemcache
              ? std::variant<MemcacheSession, RespSession>(
                    std::in_place_type<MemcacheSession>, *store, *context, memcache_options)
              : std::variant<MemcacheSession, RespSession>(std::in_place_type<RespSession>,
                                                           *store, *context)});
      connections[fd] = std::move(conn);
      ServerStats::Add(context->stats->curr_connections);
      ServerStats::Add(context->stats->total_connections);
      Watch(fd, EPOLLIN | EPOLLRDHUP);
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
      const std::vector<std::string> replies =
          listener.proto == Proto::kMemcache
              ? HandleMemcacheDatagram(datagram, *store, *context, memcache_options)
              : HandleRespDatagram(datagram, *store, *context);
      for (const std::string& reply : replies) {
        sendto(listener.fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from),
               from_len);
      }
    }
  }

  void Close(int fd) {
    context->stats->curr_connections.fetch_sub(1, std::memory_order_relaxed);
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    connections.erase(fd);
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
    }
    if (conn.out_sent == conn.out.size()) {
      conn.out.clear();
      conn.out_sent = 0;
    }
    const bool pending = !conn.out.empty();
    if (pending != conn.want_write) {
      conn.want_write = pending;
      // With replies piling up, stop reading until the client catches up.
      const uint32_t events = pending ? (conn.out.size() > kMaxPendingOutput ? EPOLLOUT
                                                                             : EPOLLIN | EPOLLOUT)
                                      : EPOLLIN;
      Watch(conn.fd, events | EPOLLRDHUP, EPOLL_CTL_MOD);
    }
    return !(conn.closing() && conn.out.empty());
  }

  void OnConnection(int fd, uint32_t events) {
    Connection& conn = *connections[fd];
    if (events & EPOLLIN) {
      bool peer_closed = false;
      char chunk[kReadChunk];
      while (conn.out.size() <= kMaxPendingOutput) {
        const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n == 0) {
          peer_closed = true;
          break;
        }
        if (n < 0) {
          if (errno != EAGAIN && errno != EWOULDBLOCK) peer_closed = true;
          break;
        }
        conn.in.append(chunk, static_cast<size_t>(n));
        conn.in.erase(0, conn.Feed(&conn.out));
        if (conn.closing()) break;
      }
      if (peer_closed) {
        // Answer what was complete, then go (a client gone mid-value
        // leaves nothing behind: the partial request is dropped).
        Flush(conn);
        Close(fd);
        return;
      }
    }
    if (!Flush(conn)) Close(fd);
  }

  // Stops accepting, then keeps answering what connected clients have sent
  // for as long as they collect their replies: no wall-clock budget while
  // replies go out. A connection whose pending replies made no progress for
  // kDrainStall (its client stopped reading) is closed. Done when no reply
  // is pending and nothing more arrives.
  void Drain() {
    uint64_t ignored;
    (void)!read(stop_fd, &ignored, sizeof(ignored));
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
        if (conn->out.empty()) continue;
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
    epoll_event events[256];
    while (true) {
      const int n = epoll_wait(epoll_fd, events, 256, -1);
      if (n < 0 && errno != EINTR) return;
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == stop_fd) {
          Drain();
          return;
        }
        bool handled = false;
        for (const Listener& listener : listeners) {
          if (listener.fd != fd) continue;
          if (listener.transport == Transport::kTcp) {
            Accept(listener);
          } else {
            ServeDatagrams(listener);
          }
          handled = true;
          break;
        }
        if (!handled && connections.count(fd)) OnConnection(fd, events[i].events);
      }
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
  for (const Wanted& w : wanted) {
    if (w.port != kAnyPort && (w.port < 0 || w.port > 65535)) {
      return absl::InvalidArgumentError(absl::StrCat("bad port ", w.port));
    }
    if (w.port > 0) *w.bound = static_cast<uint16_t>(w.port);
  }
  for (int t = 0; t < config.threads; ++t) {
    auto loop = std::make_unique<Loop>();
    loop->memcache_options = config.memcache_options;
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
        auto fd = OpenListener(*address, w.transport, &bind_errno);
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
    loop->Watch(loop->stop_fd, EPOLLIN);
    for (const Listener& l : loop->listeners) loop->Watch(l.fd, EPOLLIN);
    loops_.push_back(std::move(loop));
  }
  if (memcache_shared) ports_.memcache_udp = ports_.memcache_tcp;
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

Server::~Server() { Stop(); }

}  // namespace xdpkv
