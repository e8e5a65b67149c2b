#include "protocol/values.h"

#include "gtest/gtest.h"
#include "protocol/glob.h"

namespace xdpkv {
namespace {

TEST(RedisInteger, AcceptsWhatString2llAccepts) {
  EXPECT_EQ(ParseRedisInteger("0"), 0);
  EXPECT_EQ(ParseRedisInteger("-1"), -1);
  EXPECT_EQ(ParseRedisInteger("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(ParseRedisInteger("-9223372036854775808"), INT64_MIN);
  for (const char* bad : {"", "-", "+1", "01", "-0", " 1", "1 ", "1.0", "9223372036854775808",
                          "-9223372036854775809", "99999999999999999999", "12a"}) {
    EXPECT_EQ(ParseRedisInteger(bad), std::nullopt) << bad;
  }
}

TEST(RedisFloat, ParsesAndPrintsAsRedis) {
  EXPECT_EQ(ParseRedisFloat("10.5"), 10.5L);
  EXPECT_EQ(ParseRedisFloat("5.0e3"), 5000.0L);
  EXPECT_EQ(ParseRedisFloat("-inf").has_value(), true);  // Redis parses it; INCRBYFLOAT refuses the result
  for (const char* bad : {"", " 1", "1 ", "abc", "nan", "1e99999"}) {
    EXPECT_EQ(ParseRedisFloat(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(ParseRedisFloat(std::string_view("1\0", 2)), std::nullopt);
  // Redis's own examples (INCRBYFLOAT docs).
  EXPECT_EQ(FormatRedisFloat(10.5L + 0.1L), "10.6");
  EXPECT_EQ(FormatRedisFloat(5.0e3L + 2.0e2L), "5200");
  EXPECT_EQ(FormatRedisFloat(-0.0L), "0");
  EXPECT_EQ(FormatRedisFloat(3.0L), "3");
}

TEST(MemcacheCounter, ReadsAsMemcachedsSafeStrtoull) {
  EXPECT_EQ(ParseMemcacheCounter("42"), 42u);
  EXPECT_EQ(ParseMemcacheCounter("9 "), 9u);  // after a shrinking decr
  EXPECT_EQ(ParseMemcacheCounter("  7"), 7u);
  EXPECT_EQ(ParseMemcacheCounter("18446744073709551615"), UINT64_MAX);
  for (const char* bad : {"", " ", "abc", "-1", "12abc", "18446744073709551616"}) {
    EXPECT_EQ(ParseMemcacheCounter(bad), std::nullopt) << bad;
  }
}

TEST(MemoryAmount, RedisUnits) {
  EXPECT_EQ(ParseMemoryAmount("0"), 0u);
  EXPECT_EQ(ParseMemoryAmount("100"), 100u);
  EXPECT_EQ(ParseMemoryAmount("1k"), 1000u);
  EXPECT_EQ(ParseMemoryAmount("1KB"), 1024u);
  EXPECT_EQ(ParseMemoryAmount("64mb"), uint64_t{64} << 20);
  EXPECT_EQ(ParseMemoryAmount("2g"), 2000000000u);
  EXPECT_EQ(ParseMemoryAmount("2gb"), uint64_t{2} << 30);
  EXPECT_FALSE(ParseMemoryAmount("").has_value());
  EXPECT_FALSE(ParseMemoryAmount("-1").has_value());
  EXPECT_FALSE(ParseMemoryAmount("12tb").has_value());
  EXPECT_FALSE(ParseMemoryAmount("99999999999999999999").has_value());
}

TEST(MemoryAmount, RedisMemtoullsQuirks) {
  EXPECT_EQ(ParseRedisMemory(""), 0u);   // strtoull of no digits
  EXPECT_EQ(ParseRedisMemory("mb"), 0u);
  EXPECT_EQ(ParseRedisMemory("99999999999999999999"), UINT64_MAX);
  EXPECT_EQ(ParseRedisMemory("20000000000gb"), UINT64_MAX);
  EXPECT_EQ(ParseRedisMemory("1Gb"), uint64_t{1} << 30);
  EXPECT_FALSE(ParseRedisMemory("-1").has_value());
  EXPECT_FALSE(ParseRedisMemory("1 mb").has_value());
  EXPECT_FALSE(ParseRedisMemory("1tb").has_value());
}

TEST(Glob, MatchesAsRedisStringmatch) {
  using resp::GlobMatch;
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("h?llo", "hello"));
  EXPECT_FALSE(GlobMatch("h?llo", "hllo"));
  EXPECT_TRUE(GlobMatch("h*llo", "heeeello"));
  EXPECT_TRUE(GlobMatch("h[ae]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[ae]llo", "hillo"));
  EXPECT_TRUE(GlobMatch("h[^e]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[^e]llo", "hello"));
  EXPECT_TRUE(GlobMatch("h[a-b]llo", "hbllo"));
  EXPECT_TRUE(GlobMatch("h[b-a]llo", "hallo"));  // reversed range
  EXPECT_TRUE(GlobMatch("a\\*b", "a*b"));
  EXPECT_FALSE(GlobMatch("a\\*b", "axb"));
  EXPECT_TRUE(GlobMatch("[\\]]", "]"));
  EXPECT_TRUE(GlobMatch("user:*:name", "user:42:name"));
  EXPECT_FALSE(GlobMatch("user:*:name", "user:42:age"));
  EXPECT_TRUE(GlobMatch(std::string_view("a\0*", 3), std::string_view("a\0zz", 4)));
  EXPECT_TRUE(GlobMatch("[abc", "b"));  // unterminated class runs to the end
  // Linear, not exponential, on the classic pathological pattern.
  EXPECT_FALSE(GlobMatch("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

}  // namespace
}  // namespace xdpkv
