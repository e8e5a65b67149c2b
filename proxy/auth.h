// Who may talk to the server: Redis's requirepass and protected mode, and
// memcached's text-protocol auth file (-Y). Pure code, no sockets: the
// sessions (proxy/session.cc) keep each connection's state, the server
// (proxy/server.cc) asks ProtectedModeDenies at accept, and a UDP datagram,
// which has no session, is refused while UdpRefusedByAuth says so.
// docs/protocols.md, "Authentication", has the rules and the peers' words.
#ifndef XDPKV_PROXY_AUTH_H_
#define XDPKV_PROXY_AUTH_H_

#include <sys/socket.h>

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace xdpkv {

// Redis 7.0's words (server.c's shared replies, acl.c, networking.c).
inline constexpr std::string_view kRedisNoAuth = "-NOAUTH Authentication required.\r\n";
inline constexpr std::string_view kRedisWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";
inline constexpr std::string_view kRedisAuthWithoutPassword =
    "ERR AUTH <password> called without any password configured for the default user. Are you "
    "sure your configuration is correct?";
inline constexpr std::string_view kRedisHelloNoAuth =
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
    "AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
    "protocol version at the same time";
// Sent to a client refused by protected mode, which is then closed. Redis
// 7.0.15's text byte for byte ("Setup a an" included).
inline constexpr std::string_view kRedisProtectedModeDenied =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from the "
    "loopback interface. If you want to connect from external computers to Redis you may adopt "
    "one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG "
    "SET protected-mode no' from the loopback interface by connecting to Redis from the same "
    "host the server is running, however MAKE SURE Redis is not publicly accessible from "
    "internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    "you can just disable the protected mode by editing the Redis configuration file, and "
    "setting the protected mode option to 'no', and then restarting the server. 3) If you "
    "started the server manually just for testing, restart it with the '--protected-mode no' "
    "option. 4) Setup a an authentication password for the default user. NOTE: You only need "
    "to do one of the above things in order for the server to start accepting connections from "
    "the outside.\r\n";

// memcached 1.6.18's words (proto_text.c's try_read_command_asciiauth).
inline constexpr std::string_view kMemcacheUnauthenticated = "CLIENT_ERROR unauthenticated\r\n";
inline constexpr std::string_view kMemcacheAuthFailure =
    "CLIENT_ERROR authentication failure\r\n";
inline constexpr std::string_view kMemcacheBadAuthTermination =
    "CLIENT_ERROR bad command line termination\r\n";
inline constexpr std::string_view kMemcacheBadAuthFormat =
    "CLIENT_ERROR bad authentication token format\r\n";

// Redis's requirepass: the default user's one password, or none (every
// client is then authenticated from the start). Changed by CONFIG SET
// while sessions read it, hence the lock (never on a hot path: read when a
// session starts and at AUTH).
class RedisPassword {
 public:
  // Empty: no password (Redis's `requirepass ""`).
  void Set(std::string password);
  std::string Get() const;
  // Whether a password is set: clients must AUTH.
  bool required() const { return required_.load(std::memory_order_relaxed); }
  // Redis's ACLAuthenticateUser for the default user and requirepass:
  // user "default" and the password (any password when none is set); any
  // other user fails. Compared in time independent of where they differ.
  bool Check(std::string_view user, std::string_view password) const;

 private:
  mutable std::mutex mu_;
  std::string password_;
  std::atomic<bool> required_{false};
};

// memcached's -Y file, as memcached 1.6.18's authfile.c reads it: lines
// `user:password`, at most 8 of them, each up to 255 bytes; a line without
// ':' is malformed.
class MemcacheAuthFile {
 public:
  // The file's entries, or an error in memcached's words.
  static absl::StatusOr<MemcacheAuthFile> Load(const std::string& path);
  // memcached's SASL password file (MEMCACHED_SASL_PWDB, for -S), as its
  // sasl_defs.c reads it: lines `user:password[:more]` of up to 255 bytes,
  // any number; the first line of a user is the one that counts; lines
  // without ':' are skipped.
  static absl::StatusOr<MemcacheAuthFile> LoadSaslPwdb(const std::string& path);
  static MemcacheAuthFile FromEntries(std::vector<std::pair<std::string, std::string>> entries);
  bool Check(std::string_view user, std::string_view password) const;

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// memcached's SASL (-S): the mechanisms it offers (SASL_LIST_MECHS). xdpkv
// serves PLAIN alone, over a user:password file (docs/protocols.md).
inline constexpr std::string_view kMemcacheSaslMechanisms = "PLAIN";

// One connection's SASL exchange over the binary protocol, as memcached
// 1.6.18 runs it through Cyrus SASL with the PLAIN mechanism: AUTH names
// the mechanism (any case) and may carry the client's response at once;
// without one the answer is "continue" and STEP carries it. The response is
// `authzid NUL authcid NUL password`, the authzid empty or the authcid. As
// Cyrus, an exchange that succeeded is done: every later step fails (AUTH
// with data, STEP) until a failed AUTH starts afresh.
class MemcacheSaslState {
 public:
  enum class Result { kOk, kContinue, kFailed };
  Result Auth(std::string_view mechanism, std::string_view response, const MemcacheAuthFile& users);
  Result Step(std::string_view response, const MemcacheAuthFile& users);

 private:
  Result Check(std::string_view response, const MemcacheAuthFile& users);
  bool started_ = false;  // memcached's sasl_started: STEP may follow
  bool done_ = false;     // Cyrus's doneflag: the exchange succeeded
};

// What one unauthenticated memcached connection does with its input, as
// memcached's try_read_command_asciiauth: it waits for
// `set <any> <any> <any> <bytes>\r\n` and then <bytes>+2 bytes of
// `user password\r\n`; any other line is answered
// `CLIENT_ERROR unauthenticated`.
struct MemcacheAuthStep {
  enum Kind {
    kNeedMore,       // consumed `consumed` bytes (the `set` line, or 0); wait for more
    kReply,          // consumed `consumed` bytes; send `reply`
    kAuthenticated,  // consumed `consumed` bytes; send `reply` (STORED)
    kClose,          // close the connection without a reply
  };
  Kind kind = kNeedMore;
  size_t consumed = 0;
  std::string_view reply = {};
};
class MemcacheAuthState {
 public:
  MemcacheAuthStep Feed(std::string_view input, const MemcacheAuthFile& file);

 private:
  // Set once the `set` line is consumed: the payload's length with its
  // \r\n (memcached's c->rlbytes).
  size_t payload_ = 0;
  bool have_line_ = false;
};

// Redis's connIsLocal: 127.0.0.0/8 and ::1 (and only these: an
// IPv4-mapped address is not local, as in Redis).
bool IsLoopbackPeer(const sockaddr_storage& peer);

}  // namespace xdpkv

#endif  // XDPKV_PROXY_AUTH_H_
