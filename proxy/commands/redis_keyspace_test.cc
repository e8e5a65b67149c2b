// COPY, SWAPDB's arguments, OBJECT and LCS in-process (the in-memory store
// has database 0 only; SWAPDB itself is compared with redis-server by
// compat-tests/peer_diff.py and random_diff.py).
#include <string>

#include "gtest/gtest.h"
#include "proxy/testing/resp_harness.h"

namespace xdpkv {
namespace {

TEST(Keyspace, CopyKeepsTypeAndTtlAndRefusesAnExistingKey) {
  testing::RespHarness redis;
  redis({"RPUSH", "l", "a", "b"});
  redis({"PEXPIRE", "l", "5000"});
  EXPECT_EQ(redis({"COPY", "l", "m"}), ":1\r\n");
  EXPECT_EQ(redis({"LRANGE", "m", "0", "-1"}), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
  EXPECT_EQ(redis({"PTTL", "m"}), ":5000\r\n");
  redis({"SET", "s", "x"});
  EXPECT_EQ(redis({"COPY", "s", "m"}), ":0\r\n");
  EXPECT_EQ(redis({"COPY", "s", "m", "REPLACE"}), ":1\r\n");
  EXPECT_EQ(redis({"TYPE", "m"}), "+string\r\n");
  EXPECT_EQ(redis({"COPY", "none", "m"}), ":0\r\n");
  EXPECT_EQ(redis({"COPY", "s", "s"}), "-ERR source and destination objects are the same\r\n");
  EXPECT_EQ(redis({"COPY", "s", "t", "DB", "16"}), "-ERR DB index is out of range\r\n");
  EXPECT_EQ(redis({"COPY", "s", "t", "DB", "99999999999"}),
            "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n");
  EXPECT_EQ(redis({"COPY", "s", "t", "DB"}), "-ERR syntax error\r\n");
}

TEST(Keyspace, SwapDbArguments) {
  testing::RespHarness redis;
  EXPECT_EQ(redis({"SWAPDB", "x", "0"}), "-ERR invalid first DB index\r\n");
  EXPECT_EQ(redis({"SWAPDB", "0", "99999999999"}), "-ERR invalid second DB index\r\n");
  EXPECT_EQ(redis({"SWAPDB", "0", "16"}), "-ERR DB index is out of range\r\n");
  EXPECT_EQ(redis({"SWAPDB", "0", "0"}), "+OK\r\n");
}

TEST(Keyspace, ObjectEncodingByValue) {
  testing::RespHarness redis;
  redis({"SET", "int", "-12345"});
  redis({"SET", "short", std::string(44, 'x')});
  redis({"SET", "long", std::string(45, 'x')});
  EXPECT_EQ(redis({"OBJECT", "ENCODING", "int"}), "$3\r\nint\r\n");
  EXPECT_EQ(redis({"OBJECT", "ENCODING", "short"}), "$6\r\nembstr\r\n");
  EXPECT_EQ(redis({"OBJECT", "ENCODING", "long"}), "$3\r\nraw\r\n");
  redis({"HSET", "h", "f", std::string(64, 'v')});
  EXPECT_EQ(redis({"OBJECT", "ENCODING", "h"}), "$8\r\nlistpack\r\n");
  redis({"HSET", "h", "g", std::string(65, 'v')});
  EXPECT_EQ(redis({"OBJECT", "ENCODING", "h"}), "$9\r\nhashtable\r\n");
  redis({"SADD", "set", "1", "2"});
  EXPECT_EQ(redis({"OBJECT", "ENCODING", "set"}), "$6\r\nintset\r\n");
  redis({"SADD", "set", "a"});
  EXPECT_EQ(redis({"OBJECT", "ENCODING", "set"}), "$9\r\nhashtable\r\n");
  redis({"ZADD", "z", "1", "a"});
  EXPECT_EQ(redis({"OBJECT", "ENCODING", "z"}), "$8\r\nlistpack\r\n");
  redis({"RPUSH", "l", "a"});
  EXPECT_EQ(redis({"OBJECT", "ENCODING", "l"}), "$9\r\nquicklist\r\n");
  EXPECT_EQ(redis({"OBJECT", "ENCODING", "none"}), "$-1\r\n");
  EXPECT_EQ(redis({"OBJECT", "ENCODING"}),
            "-ERR wrong number of arguments for 'object|encoding' command\r\n");
  EXPECT_EQ(redis({"OBJECT", "NOPE", "k"}), "-ERR unknown subcommand 'NOPE'. Try OBJECT HELP.\r\n");
}

TEST(Keyspace, ObjectRefcountIdletimeFreq) {
  testing::RespHarness redis;
  redis({"SET", "small", "9999"});
  redis({"SET", "big", "10000"});
  EXPECT_EQ(redis({"OBJECT", "REFCOUNT", "small"}), ":2147483647\r\n");  // a shared integer
  EXPECT_EQ(redis({"OBJECT", "REFCOUNT", "big"}), ":1\r\n");
  EXPECT_EQ(redis({"OBJECT", "IDLETIME", "big"}), ":0\r\n");
  EXPECT_EQ(redis({"OBJECT", "FREQ", "none"}), "$-1\r\n");
  EXPECT_EQ(redis({"OBJECT", "FREQ", "big"}).substr(0, 42),
            "-ERR An LFU maxmemory policy is not select");
}

TEST(Keyspace, LcsStringLengthAndRanges) {
  testing::RespHarness redis;
  redis({"MSET", "a", "ohmytext", "b", "mynewtext"});
  EXPECT_EQ(redis({"LCS", "a", "b"}), "$6\r\nmytext\r\n");
  EXPECT_EQ(redis({"LCS", "a", "b", "LEN"}), ":6\r\n");
  EXPECT_EQ(redis({"LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"}),
            "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
            "$3\r\nlen\r\n:6\r\n");
  EXPECT_EQ(redis({"LCS", "a", "b", "IDX", "LEN"}),
            "-ERR If you want both the length and indexes, please just use IDX.\r\n");
  EXPECT_EQ(redis({"LCS", "a", "none"}), "$0\r\n\r\n");
  redis({"RPUSH", "l", "x"});
  EXPECT_EQ(redis({"LCS", "a", "l"}), "-ERR The specified keys must contain string values\r\n");
  // The table is bounded by proto-max-bulk-len (the largest value).
  redis.context().max_item_size = 1024;
  redis({"SET", "c", std::string(20, 'c')});
  redis({"SET", "d", std::string(20, 'd')});
  EXPECT_EQ(redis({"LCS", "c", "d", "LEN"}),
            "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n");
}

}  // namespace
}  // namespace xdpkv
