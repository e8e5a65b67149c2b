// Authentication in-process (no sockets, no BPF): Redis's requirepass,
// AUTH, HELLO AUTH and protected mode, memcached's -Y exchange, and UDP
// refused while auth is on. compat-tests/auth_diff.py compares the same
// exchanges with redis-server and memcached byte for byte.
#include "proxy/auth.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "proxy/session.h"
#include "proxy/testing/memory_store.h"

namespace xdpkv {
namespace {

constexpr std::string_view kNoAuth = "-NOAUTH Authentication required.\r\n";
constexpr std::string_view kWrongPass =
    "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
constexpr std::string_view kUnauthenticated = "CLIENT_ERROR unauthenticated\r\n";

class Auth : public ::testing::Test {
 protected:
  Auth() {
    context_.now_boot_ms = [] { return uint64_t{1'000'000}; };
    context_.unix_minus_boot_ms = 1'700'000'000'000;
    context_.runtime = &runtime_;
    context_.stats = &stats_;
  }

  // What one RESP connection gets back for `input`.
  std::string Resp(std::string_view input) {
    RespSession session(store_, context_);
    return Feed(session, input);
  }
  template <typename Session>
  std::string Feed(Session& session, std::string_view input) {
    std::string out;
    last_used_ = session.Feed(input, &out);
    last_closing_ = session.closing();
    return out;
  }

  testing::MemoryStore store_;
  ServerStats stats_;
  RuntimeConfig runtime_;
  ServerContext context_;
  size_t last_used_ = 0;
  bool last_closing_ = false;
};

TEST_F(Auth, RespCommandsWaitForAuthButUnknownAndArityErrorsComeFirst) {
  runtime_.requirepass.Set("secret");
  // As Redis's processCommand: the command's existence and arity are
  // checked before authentication; QUIT runs unauthenticated.
  EXPECT_EQ(Resp("PING\r\nSET k v\r\nFOO\r\nGET\r\nGET k\r\nQUIT\r\nPING\r\n"),
            std::string(kNoAuth) + std::string(kNoAuth) +
                "-ERR unknown command 'FOO', with args beginning with: \r\n"
                "-ERR wrong number of arguments for 'get' command\r\n" +
                std::string(kNoAuth) + "+OK\r\n");
  EXPECT_TRUE(last_closing_);
  EXPECT_FALSE(*store_.Get("k"));  // nothing ran
}

TEST_F(Auth, RespAuthForms) {
  runtime_.requirepass.Set("secret");
  EXPECT_EQ(Resp("AUTH\r\nAUTH a b c\r\nAUTH bad\r\nAUTH nobody secret\r\nPING\r\n"),
            "-ERR wrong number of arguments for 'auth' command\r\n-ERR syntax error\r\n" +
                std::string(kWrongPass) + std::string(kWrongPass) + std::string(kNoAuth));
  EXPECT_EQ(Resp("AUTH secret\r\nPING\r\n"), "+OK\r\n+PONG\r\n");
  EXPECT_EQ(Resp("AUTH default secret\r\nSET k v\r\nGET k\r\n"), "+OK\r\n+OK\r\n$1\r\nv\r\n");
  // A wrong password later leaves the client authenticated, as in Redis.
  EXPECT_EQ(Resp("AUTH secret\r\nAUTH bad\r\nECHO b\r\n"),
            "+OK\r\n" + std::string(kWrongPass) + "$1\r\nb\r\n");
  // Only the whole password: no prefix, no extra byte.
  EXPECT_EQ(Resp("AUTH secre\r\nAUTH secrets\r\nAUTH DEFAULT secret\r\n"),
            std::string(kWrongPass) + std::string(kWrongPass) + std::string(kWrongPass));
}

TEST_F(Auth, RespAuthWithoutAPassword) {
  EXPECT_EQ(Resp("AUTH x\r\nAUTH default anything\r\nAUTH foo bar\r\nPING\r\n"),
            "-ERR AUTH <password> called without any password configured for the default user. "
            "Are you sure your configuration is correct?\r\n+OK\r\n" +
                std::string(kWrongPass) + "+PONG\r\n");
}

TEST_F(Auth, RespHelloAuthenticatesOrSaysHow) {
  runtime_.requirepass.Set("secret");
  const std::string hello_noauth =
      "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
      "AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
      "protocol version at the same time\r\n";
  EXPECT_EQ(Resp("HELLO\r\nHELLO 2\r\nHELLO 2 SETNAME x\r\nHELLO 2 AUTH default\r\n"
                 "HELLO 2 AUTH default bad\r\nHELLO x\r\n"),
            hello_noauth + hello_noauth + hello_noauth +
                "-ERR Syntax error in HELLO option 'AUTH'\r\n" + std::string(kWrongPass) +
                "-ERR Protocol version is not an integer or out of range\r\n");
  RespSession session(store_, context_);
  const std::string reply = Feed(session, "HELLO 2 AUTH default secret SETNAME app\r\n");
  EXPECT_TRUE(reply.starts_with("*14\r\n$6\r\nserver\r\n")) << reply;
  EXPECT_EQ(Feed(session, "PING\r\nCLIENT GETNAME\r\n"), "+PONG\r\n$3\r\napp\r\n");
  // Without a password, HELLO AUTH takes the default user and any password.
  runtime_.requirepass.Set("");
  EXPECT_TRUE(Resp("HELLO 2 AUTH default x\r\n").starts_with("*14\r\n"));
  EXPECT_EQ(Resp("HELLO 2 AUTH foo bar\r\n"), kWrongPass);
}

TEST_F(Auth, RespConfigRequirepassAsRedis) {
  RespSession before(store_, context_);  // connected while no password is set
  EXPECT_EQ(Feed(before, "CONFIG GET requirepass\r\nCONFIG SET requirepass pw\r\nPING\r\n"
                         "CONFIG GET requirepass\r\n"),
            "*2\r\n$11\r\nrequirepass\r\n$0\r\n\r\n+OK\r\n+PONG\r\n"
            "*2\r\n$11\r\nrequirepass\r\n$2\r\npw\r\n");
  // Clients connected before stay authenticated; new ones must AUTH.
  EXPECT_EQ(Resp("PING\r\n"), kNoAuth);
  RespSession after(store_, context_);
  EXPECT_EQ(Feed(after, "PING\r\nAUTH pw\r\nCONFIG SET requirepass \"\"\r\nAUTH pw\r\n"),
            std::string(kNoAuth) +
                "+OK\r\n+OK\r\n-ERR AUTH <password> called without any password configured for "
                "the default user. Are you sure your configuration is correct?\r\n");
  EXPECT_EQ(Resp("PING\r\n"), "+PONG\r\n");
  EXPECT_EQ(Resp("CONFIG SET requirepass a requirepass b\r\n"),
            "-ERR CONFIG SET failed (possibly related to argument 'requirepass') - duplicate "
            "parameter\r\n");
}

TEST_F(Auth, RespConfigProtectedMode) {
  EXPECT_EQ(Resp("CONFIG GET protected-mode\r\nCONFIG SET protected-mode maybe\r\n"
                 "CONFIG SET protected-mode NO\r\nCONFIG GET protected-mode\r\n"),
            "*2\r\n$14\r\nprotected-mode\r\n$3\r\nyes\r\n"
            "-ERR CONFIG SET failed (possibly related to argument 'protected-mode') - argument "
            "must be 'yes' or 'no'\r\n+OK\r\n*2\r\n$14\r\nprotected-mode\r\n$2\r\nno\r\n");
  EXPECT_FALSE(runtime_.protected_mode);
}

TEST_F(Auth, ConfigSetRequirepassAsksTheKernelPathFirst) {
  std::vector<bool> asked;
  absl::Status answer = absl::FailedPreconditionError("the kernel path still answers");
  context_.kernel_auth_gate = [&](bool on) {
    asked.push_back(on);
    return on ? answer : absl::OkStatus();
  };
  EXPECT_EQ(Resp("CONFIG SET requirepass pw\r\n"),
            "-ERR CONFIG SET failed (possibly related to argument 'requirepass') - the kernel "
            "path still answers\r\n");
  EXPECT_FALSE(runtime_.requirepass.required());
  answer = absl::OkStatus();
  EXPECT_EQ(Resp("CONFIG SET requirepass pw\r\n"), "+OK\r\n");
  EXPECT_TRUE(runtime_.requirepass.required());
  // Changing the password keeps auth on: the kernel is not asked again.
  EXPECT_EQ(Resp("AUTH pw\r\nCONFIG SET requirepass pw2\r\nCONFIG SET requirepass \"\"\r\n"),
            "+OK\r\n+OK\r\n+OK\r\n");
  EXPECT_EQ(asked, (std::vector<bool>{true, true, false}));
}

sockaddr_storage Peer(const char* text) {
  sockaddr_storage peer{};
  if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in&>(peer).sin_addr) == 1) {
    peer.ss_family = AF_INET;
  } else if (inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6&>(peer).sin6_addr) == 1) {
    peer.ss_family = AF_INET6;
  }
  return peer;
}

TEST_F(Auth, ProtectedModeRefusesOnlyNonLoopbackClientsWithoutAPassword) {
  for (const char* local : {"127.0.0.1", "127.1.2.3", "::1"}) {
    EXPECT_FALSE(RespProtectedModeDenies(context_, Peer(local))) << local;
  }
  // As Redis's connIsLocal: an IPv4-mapped loopback is not local.
  for (const char* remote : {"192.0.2.7", "10.0.0.1", "128.0.0.1", "::ffff:127.0.0.1", "fe80::1",
                             "::2", "0.0.0.0"}) {
    EXPECT_TRUE(RespProtectedModeDenies(context_, Peer(remote))) << remote;
  }
  runtime_.requirepass.Set("pw");
  EXPECT_FALSE(RespProtectedModeDenies(context_, Peer("192.0.2.7")));
  runtime_.requirepass.Set("");
  runtime_.protected_mode = false;
  EXPECT_FALSE(RespProtectedModeDenies(context_, Peer("192.0.2.7")));
  EXPECT_TRUE(kRedisProtectedModeDenied.starts_with("-DENIED Redis is running in protected mode"));
  EXPECT_TRUE(kRedisProtectedModeDenied.ends_with("from the outside.\r\n"));
}

class MemcacheAuth : public Auth {
 protected:
  MemcacheAuth() {
    file_ = MemcacheAuthFile::FromEntries({{"alice", "secret"}, {"bob", "pw2"}});
    context_.memcache_auth = &file_;
  }
  std::string Memcache(std::string_view input) {
    MemcacheSession session(store_, context_);
    return Feed(session, input);
  }
  MemcacheAuthFile file_;
};

TEST_F(MemcacheAuth, EveryCommandWaitsForTheSetThatAuthenticates) {
  EXPECT_EQ(Memcache("get k\r\nversion\r\nquit\r\nset k 0 0\r\n\r\nset\r\n"),
            std::string(kUnauthenticated) + std::string(kUnauthenticated) +
                std::string(kUnauthenticated) + std::string(kUnauthenticated) +
                std::string(kUnauthenticated) + std::string(kUnauthenticated));
  EXPECT_FALSE(last_closing_);
  EXPECT_EQ(Memcache("set anything 9 9 12\r\nalice secret\r\nset k 0 0 1\r\nv\r\nget k\r\n"),
            "STORED\r\nSTORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n");
  // The key, flags and exptime are ignored, extra tokens too.
  EXPECT_EQ(Memcache("set a b c 7 noreply\r\nbob pw2\r\nversion\r\n"),
            "STORED\r\nVERSION 1.6.18-xdpkv-0.1.0\r\n");
  EXPECT_EQ(Memcache("set x 0 0 16\r\nalice secret bob\r\n"), "STORED\r\n");
}

TEST_F(MemcacheAuth, FailuresInMemcachedsWords) {
  EXPECT_EQ(Memcache("set k 0 0 9\r\nalice bad\r\nget k\r\n"),
            "CLIENT_ERROR authentication failure\r\n" + std::string(kUnauthenticated));
  EXPECT_EQ(Memcache("set k 0 0 10\r\nbob secret\r\n"), "CLIENT_ERROR authentication failure\r\n");
  EXPECT_EQ(Memcache("set k 0 0 5\r\nalice\r\n"),
            "CLIENT_ERROR bad authentication token format\r\n");
  EXPECT_EQ(Memcache("set k 0 0 3\r\nalice secret\r\n"),
            "CLIENT_ERROR bad command line termination\r\n" + std::string(kUnauthenticated));
  EXPECT_EQ(Memcache("set k 0 0 x\r\nset k 0 0 -1\r\n"),
            std::string(kUnauthenticated) + std::string(kUnauthenticated));
  // Prefixes and case count.
  EXPECT_EQ(Memcache("set k 0 0 11\r\nalice secre\r\nset k 0 0 12\r\nALICE secret\r\n"),
            "CLIENT_ERROR authentication failure\r\nCLIENT_ERROR authentication failure\r\n");
}

TEST_F(MemcacheAuth, ExchangeArrivingInPieces) {
  MemcacheSession session(store_, context_);
  EXPECT_EQ(Feed(session, "s"), "");
  EXPECT_EQ(last_used_, 0u);
  EXPECT_EQ(Feed(session, "set k 0 0 12\r\nalice"), "");
  EXPECT_EQ(last_used_, 14u);  // the set line is taken, the payload waits
  EXPECT_EQ(Feed(session, "alice"), "");
  EXPECT_EQ(last_used_, 0u);
  EXPECT_EQ(Feed(session, "alice secret\r\nget k\r\n"), "STORED\r\nEND\r\n");
}

TEST_F(MemcacheAuth, JunkWithoutANewlineOrAPayloadTooBigCloses) {
  EXPECT_EQ(Memcache(std::string(2049, 'x')), "");
  EXPECT_TRUE(last_closing_);
  EXPECT_EQ(Memcache(std::string(2048, 'x')), "");
  EXPECT_FALSE(last_closing_);
  EXPECT_EQ(Memcache("set k 0 0 16383\r\n"), "");
  EXPECT_TRUE(last_closing_);
  EXPECT_EQ(Memcache("set k 0 0 16382\r\n"), "");
  EXPECT_FALSE(last_closing_);
}

TEST_F(MemcacheAuth, UdpHasNoSessionSoItIsRefused) {
  ASSERT_TRUE(store_.Set("k", "v", 0, 0).ok());
  const std::string frame("\0\1\0\0\0\1\0\0", 8);
  EXPECT_EQ(HandleMemcacheDatagram(frame + "get k\r\n", store_, context_),
            std::vector<std::string>{frame + std::string(kUnauthenticated)});
  EXPECT_EQ(HandleMemcacheDatagram(frame + "set k 0 0 12\r\nalice secret\r\nget k\r\n", store_,
                                   context_),
            std::vector<std::string>{frame + std::string(kUnauthenticated)});
  EXPECT_TRUE(AuthOn(context_));
}

TEST_F(Auth, RespUdpIsRefusedWhileAPasswordIsSet) {
  ASSERT_TRUE(store_.Set("k", "v", 0, 0).ok());
  const std::string frame("\0\1\0\0\0\1\0\0", 8);
  EXPECT_EQ(HandleRespDatagram(frame + "GET k\r\n", store_, context_),
            std::vector<std::string>{frame + "$1\r\nv\r\n"});
  EXPECT_FALSE(AuthOn(context_));
  runtime_.requirepass.Set("pw");
  EXPECT_TRUE(AuthOn(context_));
  for (const char* request : {"GET k\r\n", "AUTH pw\r\n", "FLUSHALL\r\n"}) {
    EXPECT_EQ(HandleRespDatagram(frame + request, store_, context_),
              std::vector<std::string>{frame + std::string(kNoAuth)})
        << request;
  }
  EXPECT_TRUE(*store_.Get("k"));
}

// A file written for the test, removed after.
class AuthFile : public ::testing::Test {
 protected:
  std::string Write(std::string_view text) {
    char path[] = "/tmp/xdpkv-authfile-XXXXXX";
    const int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
    paths_.push_back(path);
    return path;
  }
  ~AuthFile() override {
    for (const std::string& path : paths_) std::remove(path.c_str());
  }
  std::vector<std::string> paths_;
};

TEST_F(AuthFile, LoadsMemcachedsFormat) {
  auto file = MemcacheAuthFile::Load(Write("alice:secret\nbob:p:w\r\ncarol:\nlast:x"));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(file->Check("alice", "secret"));
  EXPECT_TRUE(file->Check("bob", "p:w"));  // the first ':' splits
  EXPECT_FALSE(file->Check("bob", "p:w\r"));
  EXPECT_TRUE(file->Check("carol", ""));
  EXPECT_TRUE(file->Check("last", "x"));
  EXPECT_FALSE(file->Check("alice", "secret\n"));
}

TEST_F(AuthFile, MalformedOrMissingFilesInMemcachedsWords) {
  const std::string bad = Write("alice:secret\nnocolon\n");
  EXPECT_EQ(MemcacheAuthFile::Load(bad).status().message(),
            "Authfile [" + bad + "] has a malformed entry. Should be 'user:password'");
  EXPECT_EQ(MemcacheAuthFile::Load("/nonexistent/authfile").status().message(),
            "Could not open authfile [/nonexistent/authfile] for reading, error No such file or "
            "directory: No such file or directory");
  // At most 8 entries are read, as memcached (MAX_ENTRIES).
  std::string nine;
  for (int i = 1; i <= 9; ++i) nine += "u" + std::to_string(i) + ":p\n";
  auto file = MemcacheAuthFile::Load(Write(nine));
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE(file->Check("u8", "p"));
  EXPECT_FALSE(file->Check("u9", "p"));
}

}  // namespace
}  // namespace xdpkv
