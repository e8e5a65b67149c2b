// The bit commands in-process (proxy/commands/redis_bits.cc): replies as
// redis-server 7.0 gives them (compat-tests/random_diff.py compares them
// with a real one), and the bound on offsets.
#include <string>

#include "gtest/gtest.h"
#include "proxy/testing/resp_harness.h"

namespace xdpkv {
namespace {

using std::string_literals::operator""s;

TEST(Bits, SetBitGrowsWithZerosAndAnswersTheOldBit) {
  testing::RespHarness redis;
  EXPECT_EQ(redis({"SETBIT", "b", "7", "1"}), ":0\r\n");
  EXPECT_EQ(redis({"SETBIT", "b", "7", "1"}), ":1\r\n");
  EXPECT_EQ(redis({"SETBIT", "b", "17", "0"}), ":0\r\n");  // grows anyway
  EXPECT_EQ(redis({"GET", "b"}), "$3\r\n\x01\x00\x00\r\n"s);
  EXPECT_EQ(redis({"GETBIT", "b", "7"}), ":1\r\n");
  EXPECT_EQ(redis({"GETBIT", "b", "1000"}), ":0\r\n");
  EXPECT_EQ(redis({"GETBIT", "nothing", "0"}), ":0\r\n");
}

TEST(Bits, ArgumentErrorsComeBeforeTheKey) {
  testing::RespHarness redis;
  redis({"LPUSH", "list", "a"});
  EXPECT_EQ(redis({"SETBIT", "list", "-1", "1"}),
            "-ERR bit offset is not an integer or out of range\r\n");
  EXPECT_EQ(redis({"SETBIT", "list", "1", "2"}), "-ERR bit is not an integer or out of range\r\n");
  EXPECT_EQ(redis({"SETBIT", "list", "1", "1"}),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  EXPECT_EQ(redis({"BITPOS", "list", "2"}), "-ERR The bit argument must be 1 or 0.\r\n");
}

TEST(Bits, OffsetsEndAtTheLargestValue) {
  testing::RespHarness redis;
  redis.context().max_item_size = 1024;
  EXPECT_EQ(redis({"SETBIT", "b", "8191", "1"}), ":0\r\n");  // the 1024th byte's last bit
  EXPECT_EQ(redis({"SETBIT", "b", "8192", "1"}),
            "-ERR bit offset is not an integer or out of range\r\n");
  EXPECT_EQ(redis({"GETBIT", "b", "8192"}),
            "-ERR bit offset is not an integer or out of range\r\n");
  // A field that would end past it.
  EXPECT_EQ(redis({"BITFIELD", "b", "SET", "u8", "8188", "1"}),
            "-ERR bit offset is not an integer or out of range\r\n");
  EXPECT_EQ(redis({"BITFIELD", "b", "GET", "u8", "8188"}), "*1\r\n:16\r\n");
}

TEST(Bits, CountAndPositionInBytesAndBits) {
  testing::RespHarness redis;
  redis({"SET", "s", "foobar"});
  EXPECT_EQ(redis({"BITCOUNT", "s"}), ":26\r\n");
  EXPECT_EQ(redis({"BITCOUNT", "s", "1", "1"}), ":6\r\n");
  EXPECT_EQ(redis({"BITCOUNT", "s", "5", "30", "BIT"}), ":17\r\n");
  EXPECT_EQ(redis({"BITCOUNT", "s", "0"}), "-ERR syntax error\r\n");
  EXPECT_EQ(redis({"BITCOUNT", "missing", "x", "y"}), ":0\r\n");  // 7.0: the key first
  redis({"SET", "m", "\x00\xff\xf0"s});
  EXPECT_EQ(redis({"BITPOS", "m", "1"}), ":8\r\n");
  EXPECT_EQ(redis({"BITPOS", "m", "0", "8", "15", "BIT"}), ":-1\r\n");
  EXPECT_EQ(redis({"BITPOS", "m", "0", "1"}), ":20\r\n");  // zero-padded on the right
  EXPECT_EQ(redis({"BITPOS", "m", "0", "1", "-1"}), ":20\r\n");
  EXPECT_EQ(redis({"BITPOS", "missing", "0"}), ":0\r\n");
  EXPECT_EQ(redis({"BITPOS", "missing", "1"}), ":-1\r\n");
}

TEST(Bits, BitOpStoresOrDeletesTheDestination) {
  testing::RespHarness redis;
  redis({"SET", "a", "\xff\x0f"s});
  redis({"SET", "b", "\x0f"s});
  redis({"SET", "d", "old", "EX", "100"});
  EXPECT_EQ(redis({"BITOP", "AND", "d", "a", "b"}), ":2\r\n");
  EXPECT_EQ(redis({"GET", "d"}), "$2\r\n\x0f\x00\r\n"s);
  EXPECT_EQ(redis({"TTL", "d"}), ":-1\r\n");
  EXPECT_EQ(redis({"BITOP", "NOT", "d", "a"}), ":2\r\n");
  EXPECT_EQ(redis({"GET", "d"}), "$2\r\n\x00\xf0\r\n"s);
  EXPECT_EQ(redis({"BITOP", "NOT", "d", "a", "b"}),
            "-ERR BITOP NOT must be called with a single source key.\r\n");
  EXPECT_EQ(redis({"BITOP", "OR", "d", "none", "nada"}), ":0\r\n");
  EXPECT_EQ(redis({"EXISTS", "d"}), ":0\r\n");
}

TEST(Bits, BitfieldOverflowModes) {
  testing::RespHarness redis;
  EXPECT_EQ(redis({"BITFIELD", "f", "SET", "i8", "0", "-100", "GET", "u8", "0"}),
            "*2\r\n:0\r\n:156\r\n");
  EXPECT_EQ(redis({"BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "i8", "#1", "200", "INCRBY", "i8",
                   "#1", "-300"}),
            "*2\r\n:127\r\n:-128\r\n");
  EXPECT_EQ(redis({"BITFIELD", "f", "INCRBY", "u2", "100", "5"}), "*1\r\n:1\r\n");  // wraps
  EXPECT_EQ(redis({"BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u2", "100", "3"}),
            "*1\r\n$-1\r\n");
  EXPECT_EQ(redis({"BITFIELD", "f", "GET", "u64", "0"}),
            "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not "
            "supported but i64 is.\r\n");
  EXPECT_EQ(redis({"BITFIELD_RO", "f", "SET", "u8", "0", "1"}),
            "-ERR BITFIELD_RO only supports the GET subcommand\r\n");
  EXPECT_EQ(redis({"BITFIELD", "none", "GET", "u8", "0"}), "*1\r\n:0\r\n");
  EXPECT_EQ(redis({"EXISTS", "none"}), ":0\r\n");  // a read creates nothing
}

}  // namespace
}  // namespace xdpkv
