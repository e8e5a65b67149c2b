// Bounded work and memory per request, and the connection limits: sessions
// in-process (no sockets), then the real server on loopback with an
// in-memory store. No timing assertions: every wait is bounded in count and
// in time (SO_RCVTIMEO), and a test only checks what arrives.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocol/resp.h"
#include "proxy/server.h"
#include "proxy/session.h"
#include "proxy/testing/memory_store.h"

namespace xdpkv {
namespace {

constexpr size_t kBigValue = 1024 * 1024 - 512;
constexpr size_t kLimit = 4 * 1024 * 1024;  // the server's kMaxPendingOutput

size_t Count(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string_view::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

class Limits : public ::testing::Test {
 protected:
  Limits() {
    context_.now_boot_ms = [] { return uint64_t{1'000'000}; };
    context_.unix_minus_boot_ms = 1'700'000'000'000;
    context_.runtime = &runtime_;
    context_.stats = &stats_;
    EXPECT_TRUE(store_.Set("b", std::string(kBigValue, 'v'), 0, 0).ok());
    EXPECT_TRUE(store_.Set("s", "small", 0, 0).ok());
  }

  // Drives a session as the server does: feed, let the "client" collect
  // everything, feed the rest; returns the largest output buffer seen and
  // counts what was answered.
  template <typename Session>
  size_t Drive(Session& session, std::string input, std::string_view value_header,
               size_t* values, size_t* ends) {
    size_t largest = 0;
    std::string out;
    for (int round = 0; round < 100000; ++round) {
      input.erase(0, session.Feed(input, &out));
      largest = std::max(largest, out.size());
      *values += Count(out, value_header);
      *ends += Count(out, "END\r\n");
      out.clear();  // the client collected it
      if (!session.paused()) break;
    }
    EXPECT_FALSE(session.paused());
    EXPECT_TRUE(input.empty()) << input.size() << " bytes unanswered";
    return largest;
  }

  // Everything a bounded session answers for `input`, the client
  // collecting each piece as it comes (at most 100 rounds).
  template <typename Session>
  static std::string Stream(Session& session, std::string input) {
    std::string streamed, out;
    for (int round = 0; round < 100; ++round) {
      input.erase(0, session.Feed(input, &out));
      streamed += out;
      out.clear();
      if (!session.paused()) break;
    }
    return streamed;
  }

  testing::MemoryStore store_;
  ServerStats stats_;
  RuntimeConfig runtime_;
  ServerContext context_;
};

// 21 KB of pipelined `get b` used to build a 3 GB reply in one go.
TEST_F(Limits, PipelinedGetsOfABigValueStayUnderTheBound) {
  std::string input;
  for (int i = 0; i < 1000; ++i) input += "get b\r\n";
  MemcacheSession session(store_, context_, {}, kLimit);
  std::string out;
  const size_t used = session.Feed(input, &out);
  EXPECT_TRUE(session.paused());
  EXPECT_LT(used, input.size());  // the rest stays unconsumed, unparsed
  EXPECT_LE(out.size(), kLimit + kBigValue + 64);

  size_t values = 0, ends = 0;
  MemcacheSession fresh(store_, context_, {}, kLimit);
  const size_t largest = Drive(fresh, input, "VALUE b 0 ", &values, &ends);
  EXPECT_LE(largest, kLimit + kBigValue + 64);
  EXPECT_EQ(values, 1000u);
  EXPECT_EQ(ends, 1000u);
}

// One multi-get of 3,000 keys streams key by key, keeping the keys left.
TEST_F(Limits, OneMultiGetStreamsKeyByKey) {
  std::string input = "gets";
  for (int i = 0; i < 3000; ++i) input += i % 3 == 1 ? " nope" : (i % 3 == 2 ? " s" : " b");
  input += "\r\nget s\r\n";
  MemcacheSession session(store_, context_, {}, kLimit);
  size_t values = 0, ends = 0;
  const size_t largest = Drive(session, input, "VALUE ", &values, &ends);
  EXPECT_LE(largest, kLimit + kBigValue + 64);
  EXPECT_EQ(values, 2000u + 1u);
  EXPECT_EQ(ends, 2u);  // one for the multi-get, one for the get after it
  EXPECT_EQ(ServerStats::Read(stats_.get_hits), 2001u);
  EXPECT_EQ(ServerStats::Read(stats_.get_misses), 1000u);
}

TEST_F(Limits, StreamedRepliesAreTheUnboundedOnesInOrder) {
  const std::string input = "get s b s nope b\r\nset s 0 0 2\r\nhi\r\nget s\r\n";
  std::string whole;
  MemcacheSession unbounded(store_, context_);
  EXPECT_EQ(unbounded.Feed(input, &whole), input.size());
  ASSERT_TRUE(store_.Set("s", "small", 0, 0).ok());

  MemcacheSession bounded(store_, context_, {}, 1000);  // below one value
  EXPECT_EQ(Stream(bounded, input), whole);
}

// A 6 KB datagram asking for 3,000 copies of a 1 MB value.
TEST_F(Limits, UdpReplyIsCapped) {
  const std::string frame("\0\1\0\0\0\1\0\0", 8);
  std::string request = frame + "get";
  for (int i = 0; i < 3000; ++i) request += " b";
  request += "\r\n";
  std::vector<std::string> replies = HandleMemcacheDatagram(request, store_, context_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].substr(8), kUdpReplyTooBig);

  // Many small gets in one datagram: the same cap.
  request = frame;
  for (int i = 0; i < 3; ++i) request += "get b\r\n";
  replies = HandleMemcacheDatagram(request, store_, context_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].substr(8), kUdpReplyTooBig);

  // One big value still goes out, split as memcached splits it.
  replies = HandleMemcacheDatagram(frame + "get b s\r\n", store_, context_);
  size_t payload = 0;
  for (const std::string& d : replies) payload += d.size() - 8;
  EXPECT_EQ(payload, std::string("VALUE b 0 1048064\r\n").size() + kBigValue + 2 +
                         std::string("VALUE s 0 5\r\nsmall\r\nEND\r\n").size());
}

TEST_F(Limits, RespPipelineStaysUnderTheBound) {
  std::string input;
  for (int i = 0; i < 300; ++i) input += "*2\r\n$3\r\nGET\r\n$1\r\nb\r\n";
  RespSession session(store_, context_, kLimit);
  size_t values = 0, ends = 0;
  const size_t largest = Drive(session, input, "$1048064\r\n", &values, &ends);
  EXPECT_LE(largest, kLimit + kBigValue + 64);
  EXPECT_EQ(values, 300u);
}

// One MGET of 3,000 copies of a 1 MB value (21 KB of request) used to build
// a 3 GB reply, twice over: it streams now, key by key, in order.
TEST_F(Limits, OneRespMGetStreamsKeyByKey) {
  std::string input = "*3002\r\n$4\r\nMGET\r\n";
  for (int i = 0; i < 3000; ++i) input += i % 3 == 1 ? "$4\r\nnope\r\n" : (i % 3 == 2 ? "$1\r\ns\r\n" : "$1\r\nb\r\n");
  input += "$1\r\ns\r\n*2\r\n$3\r\nGET\r\n$1\r\ns\r\n";
  RespSession session(store_, context_, kLimit);
  size_t values = 0, ends = 0;
  const size_t largest = Drive(session, input, "$1048064\r\n", &values, &ends);
  EXPECT_LE(largest, kLimit + kBigValue + 64);
  EXPECT_EQ(values, 1000u);
  EXPECT_EQ(ServerStats::Read(stats_.keyspace_hits), 2001u + 1u);
  EXPECT_EQ(ServerStats::Read(stats_.keyspace_misses), 1000u);

  // The streamed reply is the unbounded one, byte for byte.
  const std::string small = "*5\r\n$4\r\nMGET\r\n$1\r\nb\r\n$4\r\nnope\r\n$1\r\ns\r\n$1\r\nb\r\n"
                            "*2\r\n$3\r\nGET\r\n$1\r\ns\r\n";
  std::string whole;
  RespSession unbounded(store_, context_);
  EXPECT_EQ(unbounded.Feed(small, &whole), small.size());
  RespSession bounded(store_, context_, 1000);
  EXPECT_EQ(Stream(bounded, small), whole);
}

// RESP over UDP: up to kMaxUdpReplyBytes of reply per request datagram,
// framed per command; more is one error instead of any of it.
TEST_F(Limits, RespUdpReplyIsCapped) {
  const std::string frame("\0\1\0\0\0\1\0\0", 8);
  std::string request = frame + "*3001\r\n$4\r\nMGET\r\n";
  for (int i = 0; i < 3000; ++i) request += "$1\r\nb\r\n";
  std::vector<std::string> replies = HandleRespDatagram(request, store_, context_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].substr(8), kRespUdpReplyTooBig);
  replies = HandleRespDatagram(frame + "*2\r\n$3\r\nGET\r\n$1\r\ns\r\n", store_, context_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].substr(8), "$5\r\nsmall\r\n");

  // One big value still goes out, cut into datagrams of one group.
  replies = HandleRespDatagram(frame + "GET b\r\n", store_, context_);
  const std::string bulk_header = "$" + std::to_string(kBigValue) + "\r\n";
  const size_t bytes = bulk_header.size() + kBigValue + 2;
  const size_t count = (bytes + memcache::kUdpMaxDatagramData - 1) / memcache::kUdpMaxDatagramData;
  ASSERT_EQ(replies.size(), count);
  size_t payload = 0;
  for (size_t i = 0; i < replies.size(); ++i) {
    const auto header = memcache::ParseUdpFrameHeader(replies[i]);
    ASSERT_TRUE(header);
    EXPECT_EQ(header->sequence, i);
    EXPECT_EQ(header->datagram_count, count);
    EXPECT_LE(replies[i].size(), memcache::kUdpMaxDatagramPayload);
    payload += replies[i].size() - 8;
  }
  EXPECT_EQ(payload, bytes);
  EXPECT_EQ(replies[0].substr(8, bulk_header.size()), bulk_header);
}

TEST_F(Limits, RespBulkLongerThanAValueCanBeIsAProtocolError) {
  RespSession session(store_, context_);
  std::string out;
  const std::string too_long = std::to_string(context_.max_item_size + resp::kBulkLengthSlack + 1);
  session.Feed("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + too_long + "\r\n", &out);
  EXPECT_EQ(out, resp::reply::kInvalidBulkLength);
  EXPECT_TRUE(session.closing());
}

// A big command arriving in small reads is parsed once: the session keeps
// the parser's place between Feeds.
TEST_F(Limits, RespSessionResumesACommandInPieces) {
  std::string input = "*20001\r\n$4\r\nMGET\r\n";
  for (int i = 0; i < 20000; ++i) input += "$1\r\ns\r\n";
  RespSession session(store_, context_);
  std::string buffer, out;
  for (size_t at = 0; at < input.size(); at += 100) {
    buffer += input.substr(at, 100);
    buffer.erase(0, session.Feed(buffer, &out));
  }
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(Count(out, "$5\r\nsmall\r\n"), 20000u);
}

// --- the real server on loopback -----------------------------------------------

int Connect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval timeout{5, 0};  // bounds every read below
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` (if any), then reads until `want` has arrived, the peer
// closes, or the read times out; returns what arrived, "<EOF>" appended on
// close.
std::string Exchange(int fd, std::string_view request, std::string_view want) {
  if (!request.empty()) (void)!send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string got;
  char buffer[4096];
  while (got.find(want) == std::string::npos) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    // Closed: an orderly close, or a reset (it closed with our bytes unread).
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return got + "<EOF>";
    if (n < 0) break;
    got.append(buffer, static_cast<size_t>(n));
  }
  return got;
}

class ServerLimits : public Limits {
 protected:
  void StartServer() {
    ServerConfig config;
    config.memcache_tcp_port = kAnyPort;
    config.memcache_udp_port = 0;
    config.resp_port = kAnyPort;
    config.threads = 2;
    auto server = Server::Start(config, store_, context_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  std::unique_ptr<Server> server_;
};

TEST_F(ServerLimits, MaxclientsRefusesWithRedisWords) {
  runtime_.maxclients = 2;
  StartServer();
  const uint16_t port = server_->ports().resp;
  const int a = Connect(port), b = Connect(port);
  EXPECT_EQ(Exchange(a, "PING\r\n", "\r\n"), "+PONG\r\n");
  EXPECT_EQ(Exchange(b, "PING\r\n", "\r\n"), "+PONG\r\n");
  const int c = Connect(port);
  EXPECT_EQ(Exchange(c, "", "<none>"), std::string(resp::reply::kMaxClients) + "<EOF>");
  close(c);
  close(a);
  // Once a client has gone, a new one is served (the server notices the
  // close on its own time: a bounded number of tries).
  std::string reply;
  for (int i = 0; i < 200 && reply != "+PONG\r\n"; ++i) {
    const int d = Connect(port);
    reply = Exchange(d, "PING\r\n", "\r\n");
    close(d);
    if (reply != "+PONG\r\n") usleep(10000);
  }
  EXPECT_EQ(reply, "+PONG\r\n");
  close(b);
}

TEST_F(ServerLimits, MemcachedConnectionLimitRefusesWithItsWords) {
  runtime_.memcache_max_connections = 1;
  StartServer();
  const uint16_t port = server_->ports().memcache_tcp;
  const int a = Connect(port);
  EXPECT_EQ(Exchange(a, "get s\r\n", "END\r\n"), "VALUE s 0 5\r\nsmall\r\nEND\r\n");
  const int b = Connect(port);
  EXPECT_EQ(Exchange(b, "", "<none>"),
            std::string(memcache::reply::kTooManyConnections) + "<EOF>");
  close(b);
  // The RESP limit is separate.
  const int r = Connect(server_->ports().resp);
  EXPECT_EQ(Exchange(r, "PING\r\n", "\r\n"), "+PONG\r\n");
  close(r);
  close(a);
}

TEST_F(ServerLimits, RespQueryBufferLimitClosesTheClient) {
  runtime_.client_query_buffer_limit = 100 * 1024;
  StartServer();
  const int fd = Connect(server_->ports().resp);
  // A value the store could take, arriving slower than the limit allows.
  std::string request = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$500000\r\n" + std::string(200 * 1024, 'x');
  EXPECT_EQ(Exchange(fd, request, "<none>"), "<EOF>");
  close(fd);
  const int ok = Connect(server_->ports().resp);
  EXPECT_EQ(Exchange(ok, "PING\r\n", "\r\n"), "+PONG\r\n");
  close(ok);
}

// A client that pipelines 300 `get b` of a 1 MB value gets every
// reply, in order; the server's pending output stays bounded meanwhile (the
// session tests above check the bound; this checks nothing is lost).
TEST_F(ServerLimits, PipelinedBigGetsAllArrive) {
  StartServer();
  const int fd = Connect(server_->ports().memcache_tcp);
  std::string request;
  for (int i = 0; i < 300; ++i) request += "get b\r\n";
  request += "version\r\n";
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  // Counts "END\r\n" across reads (it cannot overlap itself) until the
  // version line, or a 5 s silence.
  const std::string_view end_line = "END\r\n", version = "VERSION ";
  size_t ends = 0, end_at = 0, version_at = 0;
  std::vector<char> buffer(1 << 20);
  while (version_at < version.size()) {
    const ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      const char c = buffer[static_cast<size_t>(i)];
      end_at = c == end_line[end_at] ? end_at + 1 : (c == end_line[0] ? 1 : 0);
      if (end_at == end_line.size()) {
        ++ends;
        end_at = 0;
      }
      if (version_at < version.size()) {
        version_at = c == version[version_at] ? version_at + 1 : (c == version[0] ? 1 : 0);
      }
    }
  }
  EXPECT_EQ(version_at, version.size());
  EXPECT_EQ(ends, 300u);
  close(fd);
}

// Out of file descriptors: the server tells each new client why it is
// closed instead of spinning on EMFILE, and serves again once fds free up.
// The server runs in a child process with a low RLIMIT_NOFILE.
TEST_F(ServerLimits, OutOfFileDescriptorsRefusesAndRecovers) {
  int port_pipe[2], stop[2];
  ASSERT_EQ(pipe(port_pipe), 0);
  ASSERT_EQ(pipe(stop), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(stop[1]);
    close(port_pipe[0]);
    ServerConfig config;
    config.memcache_tcp_port = kAnyPort;
    config.memcache_udp_port = 0;
    config.resp_port = 0;
    config.threads = 1;
    auto server = Server::Bind(config);
    if (!server.ok()) _exit(2);
    // Four free fd numbers below the limit: the loop's spare, a served
    // connection or three, and no more.
    int free_seen = 0, limit = 0;
    while (free_seen < 4) {
      if (fcntl(limit, F_GETFD) == -1) ++free_seen;
      ++limit;
    }
    rlimit nofile{static_cast<rlim_t>(limit), static_cast<rlim_t>(limit)};
    if (setrlimit(RLIMIT_NOFILE, &nofile) != 0) _exit(3);
    (*server)->Run(store_, context_);
    const uint16_t port = (*server)->ports().memcache_tcp;
    (void)!write(port_pipe[1], &port, sizeof(port));
    char byte;
    (void)!read(stop[0], &byte, 1);  // until the parent is done (or gone)
    (*server)->Stop();
    _exit(0);
  }
  close(stop[0]);
  close(port_pipe[1]);
  uint16_t port = 0;
  ASSERT_EQ(read(port_pipe[0], &port, sizeof(port)), static_cast<ssize_t>(sizeof(port)));
  close(port_pipe[0]);

  std::vector<int> served;
  size_t refused = 0, silent = 0;
  for (int i = 0; i < 12; ++i) {
    const int fd = Connect(port);
    ASSERT_GE(fd, 0);
    const std::string reply = Exchange(fd, "version\r\n", "\r\n");
    if (reply.starts_with("VERSION")) {
      served.push_back(fd);
    } else {
      EXPECT_EQ(reply, memcache::reply::kTooManyConnections);
      EXPECT_EQ(Exchange(fd, "", "<none>"), "<EOF>");
      if (reply.empty()) ++silent;
      ++refused;
      close(fd);
    }
  }
  EXPECT_GE(served.size(), 1u);
  EXPECT_GE(refused, 1u);
  EXPECT_EQ(silent, 0u);
  for (int fd : served) close(fd);
  std::string reply;
  for (int i = 0; i < 200 && !reply.starts_with("VERSION"); ++i) {
    const int fd = Connect(port);
    reply = Exchange(fd, "version\r\n", "\r\n");
    close(fd);
    if (!reply.starts_with("VERSION")) usleep(10000);
  }
  EXPECT_TRUE(reply.starts_with("VERSION")) << reply;

  close(stop[1]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}


// Two servers starting at the same instant could both find a port free
// before either binds it; the per-port lock a starting server holds makes
// the second fail even then. Here the "first server" is the lock alone.
TEST_F(ServerLimits, APortLockedByAnotherStartingServerIsBusy) {
  StartServer();  // for a port number the kernel just handed out, then free it
  const uint16_t port = server_->ports().memcache_tcp;
  server_.reset();
  if (mkdir("/run/xdpkv", 0755) != 0 && errno != EEXIST) GTEST_SKIP() << "no /run/xdpkv here";
  const std::string path = "/run/xdpkv/tcp-127.0.0.1:" + std::to_string(port) + ".lock";
  const int lock = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(lock, 0);
  ASSERT_EQ(flock(lock, LOCK_EX | LOCK_NB), 0);
  ServerConfig config;
  config.memcache_tcp_port = port;
  config.memcache_udp_port = 0;
  config.resp_port = 0;
  auto second = Server::Start(config, store_, context_);
  EXPECT_FALSE(second.ok());
  if (!second.ok()) {
    // The lock's own words (the lock is taken before the port is probed).
    EXPECT_NE(second.status().message().find("by another xdpkv starting"), std::string::npos)
        << second.status();
  }
  close(lock);
}

}  // namespace
}  // namespace xdpkv
