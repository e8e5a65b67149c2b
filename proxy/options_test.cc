// The command line in-process: memcached's flags, served or refused in one
// line (compat-tests/flags_diff.py runs the real binary against memcached).
#include "proxy/options.h"

#include <initializer_list>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace xdpkv {
namespace {

absl::StatusOr<Options> Parse(std::initializer_list<const char*> args) {
  std::vector<std::string> storage = {"xdpkv"};
  for (const char* arg : args) storage.emplace_back(arg);
  std::vector<char*> argv;
  for (std::string& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  return ParseCommandLine(static_cast<int>(storage.size()), argv.data());
}

std::string Error(std::initializer_list<const char*> args) {
  auto parsed = Parse(args);
  EXPECT_FALSE(parsed.ok());
  return parsed.ok() ? "" : std::string(parsed.status().message());
}

TEST(Options, DefaultsAreMemcachedsAndRedissPorts) {
  auto o = Parse({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->server.memcache_tcp_port, 11211);
  EXPECT_EQ(o->server.memcache_udp_port, 11211);
  EXPECT_EQ(o->server.resp_port, 6379);
  EXPECT_EQ(o->server.tcp_backlog, 1024);
  EXPECT_TRUE(o->memcache.cas_enabled);
  EXPECT_TRUE(o->memcache.flush_enabled);
  EXPECT_EQ(o->memcache.reqs_per_event, 20u);
  EXPECT_EQ(o->memcache.binding, MemcacheBinding::kAuto);
  EXPECT_EQ(o->xdp.memory_limit_bytes, uint64_t{64} << 20);
}

// Redis's LFU policies and tunables from the command line; the tunables'
// range is Redis's, 0..INT_MAX.
TEST(Options, LfuPolicyAndTunables) {
  auto o = Parse({"--maxmemory-policy", "allkeys-lfu", "--lfu-log-factor", "0",
                  "--lfu-decay-time", "5"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->eviction_policy, EvictionPolicy::kAllKeysLfu);
  EXPECT_EQ(o->lfu.log_factor, 0u);
  EXPECT_EQ(o->lfu.decay_minutes, 5u);
  EXPECT_EQ(Parse({})->lfu.log_factor, LfuParams{}.log_factor);
  EXPECT_EQ(Error({"--lfu-log-factor", "-1"}),
            "--lfu-log-factor must be 0..2147483647, not '-1'");
  EXPECT_EQ(Error({"--lfu-decay-time", "2147483648"}),
            "--lfu-decay-time must be 0..2147483647, not '2147483648'");
  EXPECT_NE(Error({"--maxmemory-policy", "lfu"}).find("allkeys-lfu, volatile-lfu"),
            std::string::npos);
}

TEST(Options, MemcachedsBehaviourFlags) {
  auto o = Parse({"-C", "-F", "-X", "-W", "-A", "-R", "5", "-b", "64", "-B", "ascii", "-o",
                  "idle_timeout=30,maxconns_fast", "-D", "/", "-vv", "-k", "-r", "-P", "/tmp/p"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->memcache.cas_enabled);
  EXPECT_FALSE(o->memcache.flush_enabled);
  EXPECT_FALSE(o->memcache.dump_enabled);
  EXPECT_FALSE(o->memcache.watch_enabled);
  EXPECT_TRUE(o->memcache.shutdown_enabled);
  EXPECT_EQ(o->memcache.reqs_per_event, 5u);
  EXPECT_EQ(o->server.tcp_backlog, 64);
  EXPECT_EQ(o->memcache.binding, MemcacheBinding::kAscii);
  EXPECT_EQ(o->memcache.idle_timeout_s, 30u);
  EXPECT_EQ(o->memcache.prefix_delimiter, '/');
  EXPECT_TRUE(o->detail_enabled);
  EXPECT_EQ(o->verbosity, 2u);
  EXPECT_EQ(o->notes.size(), 1u);  // -vv logs no commands: said at start
  EXPECT_TRUE(o->lock_memory);
  EXPECT_TRUE(o->enable_coredumps);
  EXPECT_EQ(o->pid_file, "/tmp/p");
  EXPECT_EQ(Parse({"-B", "auto"})->memcache.binding, MemcacheBinding::kAuto);
  EXPECT_EQ(Parse({"-B", "binary"})->memcache.binding, MemcacheBinding::kBinary);
}

TEST(Options, SaslIsBinaryAndAuthTokensAscii) {
  // As memcached: each picks its protocol unless -B is given, and refuses
  // one that contradicts it (SASL checked first, -Y choosing last).
  auto o = Parse({"-S"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->memcache.sasl);
  EXPECT_EQ(o->memcache.binding, MemcacheBinding::kBinary);
  EXPECT_EQ(Parse({"-S", "-B", "binary"})->memcache.binding, MemcacheBinding::kBinary);
  EXPECT_EQ(Error({"-S", "-B", "ascii"}), "ERROR: You cannot allow the ASCII protocol while using SASL.");
  EXPECT_EQ(Error({"-S", "-B", "auto", "-Y", "/f"}),
            "ERROR: You cannot allow the ASCII protocol while using SASL.");
  EXPECT_EQ(Parse({"-Y", "/f"})->memcache.binding, MemcacheBinding::kAscii);
  EXPECT_EQ(Parse({"-Y", "/f"})->memcache.auth_file, "/f");
  EXPECT_EQ(Parse({"-S", "-Y", "/f"})->memcache.binding, MemcacheBinding::kAscii);
  EXPECT_EQ(Error({"-Y", "/f", "-B", "auto"}),
            "ERROR: You cannot allow the BINARY protocol while using ascii authentication tokens.");
}

TEST(Options, UnixSocketsAndMemcachedsNetworkOff) {
  auto o = Parse({"-s", "/tmp/mc.sock", "-a", "755", "--unixsocket", "/tmp/r.sock",
                  "--unixsocketperm", "770"});
  ASSERT_TRUE(o.ok()) << o.status();
  // memcached: -s disables its TCP and UDP; RESP is unaffected.
  EXPECT_EQ(o->server.memcache_tcp_port, 0);
  EXPECT_EQ(o->server.memcache_udp_port, 0);
  EXPECT_EQ(o->server.resp_port, 6379);
  EXPECT_EQ(o->server.memcache_unix_path, "/tmp/mc.sock");
  EXPECT_EQ(o->server.memcache_unix_mode, 0755u);
  EXPECT_EQ(o->server.resp_unix_path, "/tmp/r.sock");
  EXPECT_EQ(o->server.resp_unix_mode, 0770u);
  EXPECT_EQ(Parse({"-s", "/x"})->server.memcache_unix_mode, 0700u);  // memcached's default
  EXPECT_NE(Error({"-a", "999"}).find("octal"), std::string::npos);
  EXPECT_NE(Error({"--unixsocketperm", "rwx"}).find("octal"), std::string::npos);
}

TEST(Options, ListenTakesMemcachedsCommaList) {
  auto o = Parse({"-l", "127.0.0.1,::1", "-l", "127.0.0.2"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->server.addresses, (std::vector<std::string>{"127.0.0.1", "::1", "127.0.0.2"}));
  EXPECT_EQ(o->memcache.listen, "127.0.0.1,::1,127.0.0.2");
}

TEST(Options, ItemSizeOverMemcachedsWholeRange) {
  EXPECT_EQ(*ParseItemSizeMax("1m", 64 << 20), 1048576u);
  EXPECT_EQ(*ParseItemSizeMax("1M", 64 << 20), 1048576u);
  EXPECT_EQ(*ParseItemSizeMax("512k", 64 << 20), 524288u);
  EXPECT_EQ(*ParseItemSizeMax("1024", 64 << 20), 1024u);
  // Sizes memcached's slabs refuse (not a multiple of 512k) are fine here.
  EXPECT_EQ(*ParseItemSizeMax("600k", 64 << 20), 614400u);
  // memcached's limits, its words, its order.
  auto message = [](std::string_view text, uint64_t memory) {
    auto r = ParseItemSizeMax(text, memory);
    return r.ok() ? std::string("ok") : std::string(r.status().message());
  };
  EXPECT_EQ(message("1023", 64 << 20), "Item max size cannot be less than 1024 bytes.");
  EXPECT_EQ(message("0k", 64 << 20), "Item max size cannot be less than 1024 bytes.");
  EXPECT_EQ(message("33m", 64 << 20), "Cannot set item size limit higher than 1/2 of memory max.");
  EXPECT_EQ(message("1025m", uint64_t{4096} << 20),
            "Cannot set item size limit higher than a gigabyte.");
  // Within memcached's range but over xdpkv's largest value: said plainly.
  EXPECT_NE(message("2m", 64 << 20).find("at most 1048576 bytes"), std::string::npos);
  EXPECT_NE(message("1024m", uint64_t{4096} << 20).find("at most 1048576 bytes"), std::string::npos);
  // memcached's atoi would read these as 1m and 2 bytes; xdpkv wants them whole.
  EXPECT_NE(message("1.5m", 64 << 20).find("must be a number"), std::string::npos);
  EXPECT_NE(message("1g", 64 << 20).find("must be a number"), std::string::npos);
  // -I is checked against -m wherever -m comes.
  EXPECT_EQ(Error({"-I", "1m", "-m", "1"}), "Cannot set item size limit higher than 1/2 of memory max.");
  EXPECT_EQ(Parse({"-I", "512k"})->server.memcache_options.max_value_bytes, 524288u);
  EXPECT_EQ(Parse({"-I", "512k"})->memcache.item_size_max, 524288u);
}

TEST(Options, EveryMemcachedFlagIsServedOrRefusedInOneLine) {
  // memcached 1.6.18's --help, flag by flag (a sample value where it takes one).
  const std::vector<std::vector<const char*>> served = {
      {"-p", "0"}, {"-U", "0"}, {"-s", "/tmp/x"}, {"-a", "700"}, {"-A"}, {"-l", "127.0.0.1"},
      {"-r"}, {"-m", "64"}, {"-M"}, {"-c", "10"}, {"-k"}, {"-v"}, {"-vv"}, {"-h"}, {"-V"},
      {"-P", "/tmp/p"}, {"-D", ":"}, {"-t", "2"}, {"-R", "5"}, {"-C"}, {"-b", "10"},
      {"-B", "ascii"}, {"-B", "binary"}, {"-I", "1m"}, {"-F"}, {"-X"}, {"-W"},
      {"-Y", "/tmp/auth"}, {"-S"}, {"-o", "idle_timeout=5"}};
  for (const auto& args : served) {
    std::vector<std::string> storage = {"xdpkv"};
    for (const char* arg : args) storage.emplace_back(arg);
    std::vector<char*> argv;
    for (std::string& s : storage) argv.push_back(s.data());
    EXPECT_TRUE(ParseCommandLine(static_cast<int>(argv.size()), argv.data()).ok()) << args[0];
  }
  const std::vector<std::pair<std::vector<const char*>, std::string>> refused = {
      {{"-d"}, "-d (--daemon) is not supported"},
      {{"-u", "memcache"}, "-u (--user) is not supported"},
      {{"-i"}, "-i (--license) is not supported"},
      {{"-f", "1.25"}, "-f (--slab-growth-factor) is not supported"},
      {{"-n", "48"}, "-n (--slab-min-size) is not supported"},
      {{"-L"}, "-L (--enable-largepages) is not supported"},
      {{"-e", "/tmp/m"}, "-e (--memory-file) is not supported"},
      {{"-Z"}, "-Z (--enable-ssl) is not supported"},
      {{"-N", "1"}, "-N (--napi-ids) is not supported"},
      {{"-o", "hashpower=20"}, "-o hashpower: not supported"},
      {{"-o", "ext_path=/x:1G"}, "-o ext_path: not supported"},
      {{"-o", "ssl_key=/k"}, "-o ssl_key: not supported"},
      {{"-o", "modern"}, "-o modern: not supported"},
      {{"-o", "idle_timeout"}, "Missing numeric argument for idle_timeout"},
      {{"-o", "idle_timeout=x"}, "-o idle_timeout must be a number of seconds"},
      {{"-R", "0"}, "Number of requests per event must be greater than 0"},
      {{"-B", "foo"}, "Invalid value for binding protocol: foo"},
      {{"-q"}, "unknown option '-q'"},
      {{"--bogus"}, "unknown option '--bogus'"},
      {{"-p"}, "needs a value"},
  };
  for (const auto& [args, message] : refused) {
    std::vector<std::string> storage = {"xdpkv"};
    for (const char* arg : args) storage.emplace_back(arg);
    std::vector<char*> argv;
    for (std::string& s : storage) argv.push_back(s.data());
    auto parsed = ParseCommandLine(static_cast<int>(argv.size()), argv.data());
    ASSERT_FALSE(parsed.ok()) << args[0];
    const std::string text(parsed.status().message());
    EXPECT_NE(text.find(message), std::string::npos) << text;
    EXPECT_EQ(text.find('\n'), std::string::npos) << text;  // one line
  }
}

}  // namespace
}  // namespace xdpkv
