#include "protocol/memcache_text.h"

#include "protocol/base64.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace xdpkv::memcache {
namespace {

ParseResult Parse(std::string_view input, ParseOptions options = {}) {
  return ParseCommand(input, options);
}

ParseResult ExpectCommand(std::string_view input, Op op) {
  ParseResult r = Parse(input);
  EXPECT_EQ(r.status, ParseStatus::kCommand) << input << " -> " << r.error_reply;
  EXPECT_EQ(r.command.op, op) << input;
  EXPECT_EQ(r.consumed, input.size()) << input;
  return r;
}

void ExpectError(std::string_view input, std::string_view reply, size_t consumed) {
  SCOPED_TRACE(std::string(input));
  ParseResult r = Parse(input);
  ASSERT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.error_reply, reply);
  EXPECT_EQ(r.consumed, consumed);
}

void ExpectError(std::string_view input, std::string_view reply) {
  ExpectError(input, reply, input.size());
}

// --- retrieval --------------------------------------------------------------

TEST(MemcacheParse, GetOneKey) {
  ParseResult r = ExpectCommand("get foo\r\n", Op::kGet);
  ASSERT_EQ(r.command.keys.size(), 1u);
  EXPECT_EQ(r.command.keys[0], "foo");
}

TEST(MemcacheParse, GetManyKeysBeyondMemcachedTokenLimit) {
  std::string line = "get";
  for (int i = 0; i < 100; ++i) line += " k" + std::to_string(i);
  line += "\r\n";
  ParseResult r = ExpectCommand(line, Op::kGet);
  ASSERT_EQ(r.command.keys.size(), 100u);
  EXPECT_EQ(r.command.keys[99], "k99");
}

TEST(MemcacheParse, GetsAndBareNewlineAndExtraSpaces) {
  ParseResult r = ExpectCommand("gets  a   b\n", Op::kGets);
  ASSERT_EQ(r.command.keys.size(), 2u);
  EXPECT_EQ(r.command.keys[0], "a");
  EXPECT_EQ(r.command.keys[1], "b");
}

TEST(MemcacheParse, KeysPointIntoInput) {
  const std::string input = "get abc\r\n";
  ParseResult r = Parse(input);
  ASSERT_EQ(r.status, ParseStatus::kCommand);
  EXPECT_EQ(r.command.keys[0].data(), input.data() + 4);
}

TEST(MemcacheParse, GatAndGats) {
  ParseResult r = ExpectCommand("gat 100 a b\r\n", Op::kGat);
  EXPECT_EQ(r.command.exptime, 100);
  EXPECT_EQ(r.command.keys.size(), 2u);
  r = ExpectCommand("gats -1 a\r\n", Op::kGats);
  EXPECT_EQ(r.command.exptime, -1);
  // memcached answers a bare "gat <exptime>" with just END.
  r = ExpectCommand("gat 10\r\n", Op::kGat);
  EXPECT_TRUE(r.command.keys.empty());
}

TEST(MemcacheParse, RetrievalErrors) {
  ExpectError("get\r\n", reply::kError);
  ExpectError("gets\r\n", reply::kError);
  ExpectError("gat\r\n", reply::kError);
  ExpectError("gat abc k\r\n", reply::kInvalidExptime);
  ExpectError("get " + std::string(251, 'k') + "\r\n", reply::kBadFormat);
  ExpectError("get ok " + std::string(251, 'k') + "\r\n", reply::kBadFormat);
  ExpectError("get a\x01" "b\r\n", reply::kBadFormat);
  ExpectError("get a\tb\r\n", reply::kBadFormat);
  ExpectCommand("get " + std::string(250, 'k') + "\r\n", Op::kGet);
}

// --- storage ----------------------------------------------------------------

TEST(MemcacheParse, SetWithData) {
  const std::string input = "set k 42 100 5\r\nhello\r\n";
  ParseResult r = ExpectCommand(input, Op::kSet);
  EXPECT_EQ(r.command.key(), "k");
  EXPECT_EQ(r.command.flags, 42u);
  EXPECT_EQ(r.command.exptime, 100);
  EXPECT_EQ(r.command.data, "hello");
  EXPECT_EQ(r.command.data.data(), input.data() + 16);  // no copy
  EXPECT_FALSE(r.command.noreply);
}

TEST(MemcacheParse, EveryStorageCommand) {
  const std::pair<std::string, Op> cases[] = {
      {"set", Op::kSet},         {"add", Op::kAdd},         {"replace", Op::kReplace},
      {"append", Op::kAppend},   {"prepend", Op::kPrepend},
  };
  for (const auto& [name, op] : cases) {
    const std::string request = name + " key 1 2 3\r\nabc\r\n";
    ParseResult r = ExpectCommand(request, op);  // views into `request`
    EXPECT_EQ(r.command.data, "abc");
    EXPECT_FALSE(r.command.noreply);
    const std::string quiet = name + " key 1 2 3 noreply\r\nabc\r\n";
    EXPECT_TRUE(ExpectCommand(quiet, op).command.noreply);
  }
}

TEST(MemcacheParse, Cas) {
  ParseResult r = ExpectCommand("cas k 1 0 2 12345\r\nhi\r\n", Op::kCas);
  EXPECT_EQ(r.command.cas_unique, 12345u);
  EXPECT_EQ(r.command.data, "hi");
  r = ExpectCommand("cas k 1 0 2 18446744073709551615 noreply\r\nhi\r\n", Op::kCas);
  EXPECT_EQ(r.command.cas_unique, UINT64_MAX);
  EXPECT_TRUE(r.command.noreply);
}

TEST(MemcacheParse, BinarySafeValueWithCrLfInside) {
  const std::string value("a\r\nb\0c", 6);
  const std::string input = "set k 0 0 6\r\n" + value + "\r\n";
  ParseResult r = ExpectCommand(input, Op::kSet);
  EXPECT_EQ(r.command.data, value);
}

TEST(MemcacheParse, EmptyValue) {
  ParseResult r = ExpectCommand("set k 0 0 0\r\n\r\n", Op::kSet);
  EXPECT_EQ(r.command.data, "");
}

TEST(MemcacheParse, NumbersAtTheirLimits) {
  ParseResult r = ExpectCommand("set k 4294967295 -1 1\r\nx\r\n", Op::kSet);
  EXPECT_EQ(r.command.flags, 4294967295u);
  EXPECT_EQ(r.command.exptime, -1);
  r = ExpectCommand("set k +7 2147483647 1\r\nx\r\n", Op::kSet);
  EXPECT_EQ(r.command.flags, 7u);
  EXPECT_EQ(r.command.exptime, 2147483647);
}

TEST(MemcacheParse, StorageLineErrors) {
  ExpectError("set k 0 0\r\n", reply::kError);
  ExpectError("set k 0 0 1 noreply extra\r\n", reply::kError);
  ExpectError("cas k 0 0 1\r\n", reply::kError);
  ExpectError("set k abc 0 1\r\n", reply::kBadFormat);
  ExpectError("set k -1 0 1\r\n", reply::kBadFormat);
  ExpectError("set k 4294967296 0 1\r\n", reply::kBadFormat);
  ExpectError("set k 0 x 1\r\n", reply::kBadFormat);
  ExpectError("set k 0 2147483648 1\r\n", reply::kBadFormat);
  ExpectError("set k 0 0 -1\r\n", reply::kBadFormat);
  ExpectError("set k 0 0 1x\r\n", reply::kBadFormat);
  ExpectError("cas k 0 0 1 -5\r\n", reply::kBadFormat);
  ExpectError("set " + std::string(251, 'k') + " 0 0 1\r\n", reply::kBadFormat);
}

TEST(MemcacheParse, BadDataChunkConsumesDeclaredBytes) {
  // memcached reads <bytes>+2 and only then checks the terminator.
  ExpectError("set k 0 0 3\r\nabcde\r\n", reply::kBadDataChunk, 18);
  ExpectError("set k 0 0 3\r\nabcXY", reply::kBadDataChunk);
}

TEST(MemcacheParse, ObjectTooLargeSwallowsValue) {
  ParseOptions options;
  options.max_value_bytes = 10;
  ParseResult r = Parse("set k 0 0 11\r\n", options);
  ASSERT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.error_reply, reply::kObjectTooLarge);
  EXPECT_EQ(r.consumed, 14u);
  EXPECT_EQ(r.swallow, 13u);
  EXPECT_FALSE(r.close_connection);
  EXPECT_EQ(Parse("set k 0 0 10\r\n0123456789\r\n", options).status, ParseStatus::kCommand);
}

TEST(MemcacheParse, DefaultItemLimitIsOneMebibyte) {
  const std::string big(kDefaultMaxValueBytes, 'v');
  EXPECT_EQ(Parse("set k 0 0 1048576\r\n" + big + "\r\n").status, ParseStatus::kCommand);
  EXPECT_EQ(Parse("set k 0 0 1048577\r\n").error_reply, reply::kObjectTooLarge);
}

TEST(MemcacheParse, NoreplySuppressesErrorsLikeMemcached) {
  ParseResult r = Parse("set k 0 0 1 noreply\r\nXYZ\r\n");
  ASSERT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.error_reply, "");
  EXPECT_EQ(r.consumed, 21u + 1u + 2u);  // line, 1 declared byte, 2 checked
  r = Parse("set k x 0 1 noreply\r\n");
  ASSERT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.error_reply, "");
  // A token other than "noreply" in that slot is ignored, as memcached does.
  r = ExpectCommand("set k 0 0 1 whatever\r\nx\r\n", Op::kSet);
  EXPECT_FALSE(r.command.noreply);
}

// --- delete / incr / decr / touch ---------------------------------------------

TEST(MemcacheParse, Delete) {
  EXPECT_EQ(ExpectCommand("delete k\r\n", Op::kDelete).command.key(), "k");
  EXPECT_FALSE(ExpectCommand("delete k 0\r\n", Op::kDelete).command.noreply);
  EXPECT_TRUE(ExpectCommand("delete k noreply\r\n", Op::kDelete).command.noreply);
  EXPECT_TRUE(ExpectCommand("delete k 0 noreply\r\n", Op::kDelete).command.noreply);
  ExpectError("delete\r\n", reply::kError);
  ExpectError("delete k 1\r\n", reply::kDeleteUsage);
  ExpectError("delete k 0 x\r\n", reply::kDeleteUsage);
  ExpectError("delete k 0 noreply x\r\n", reply::kError);
  ExpectError("delete " + std::string(251, 'k') + "\r\n", reply::kBadFormat);
}

TEST(MemcacheParse, IncrDecr) {
  ParseResult r = ExpectCommand("incr n 18446744073709551615\r\n", Op::kIncr);
  EXPECT_EQ(r.command.delta, UINT64_MAX);
  r = ExpectCommand("decr n 3 noreply\r\n", Op::kDecr);
  EXPECT_EQ(r.command.delta, 3u);
  EXPECT_TRUE(r.command.noreply);
  ExpectError("incr n\r\n", reply::kError);
  ExpectError("incr n -1\r\n", reply::kInvalidDelta);
  ExpectError("decr n abc\r\n", reply::kInvalidDelta);
  ExpectError("incr n 18446744073709551616\r\n", reply::kInvalidDelta);
  ExpectError("incr n 1 noreply x\r\n", reply::kError);
}

TEST(MemcacheParse, Touch) {
  ParseResult r = ExpectCommand("touch k 60\r\n", Op::kTouch);
  EXPECT_EQ(r.command.exptime, 60);
  EXPECT_TRUE(ExpectCommand("touch k 60 noreply\r\n", Op::kTouch).command.noreply);
  ExpectError("touch k\r\n", reply::kError);
  ExpectError("touch k soon\r\n", reply::kInvalidExptime);
}

// --- admin ------------------------------------------------------------------

TEST(MemcacheParse, FlushAll) {
  EXPECT_EQ(ExpectCommand("flush_all\r\n", Op::kFlushAll).command.delay, 0);
  EXPECT_EQ(ExpectCommand("flush_all 30\r\n", Op::kFlushAll).command.delay, 30);
  ParseResult r = ExpectCommand("flush_all 30 noreply\r\n", Op::kFlushAll);
  EXPECT_EQ(r.command.delay, 30);
  EXPECT_TRUE(r.command.noreply);
  EXPECT_TRUE(ExpectCommand("flush_all noreply\r\n", Op::kFlushAll).command.noreply);
  EXPECT_TRUE(ExpectCommand("flush_all soon\r\n", Op::kFlushAll).command.delay_invalid);
  EXPECT_FALSE(ExpectCommand("flush_all 5\r\n", Op::kFlushAll).command.delay_invalid);
  ExpectError("flush_all 1 2 3\r\n", reply::kError);
}

TEST(MemcacheParse, VersionVerbosityStatsQuit) {
  ExpectCommand("version\r\n", Op::kVersion);
  ExpectCommand("quit\r\n", Op::kQuit);
  EXPECT_EQ(ExpectCommand("verbosity 1\r\n", Op::kVerbosity).command.verbosity, 1u);
  EXPECT_TRUE(ExpectCommand("verbosity 0 noreply\r\n", Op::kVerbosity).command.noreply);
  ExpectError("verbosity\r\n", reply::kError);
  ExpectError("verbosity x\r\n", reply::kBadFormat);
  EXPECT_TRUE(ExpectCommand("stats\r\n", Op::kStats).command.args.empty());
  ParseResult r = ExpectCommand("stats items extra\r\n", Op::kStats);
  ASSERT_EQ(r.command.args.size(), 2u);
  EXPECT_EQ(r.command.args[0], "items");
}

TEST(MemcacheParse, UnknownAndShortCommands) {
  ExpectError("\r\n", reply::kError);
  ExpectError("   \r\n", reply::kError);
  ExpectError("g\r\n", reply::kError);
  ExpectError("bogus a b\r\n", reply::kError);
  ExpectError("GET k\r\n", reply::kError);  // memcached commands are case sensitive
  ExpectError("getx k\r\n", reply::kError);
}

TEST(MemcacheParse, AnHttpRequestLineClosesWithoutAWord) {
  for (std::string_view line :
       {"GET / HTTP/1.1\r\n", "POST /x HTTP/1.0\r\n", "HTTP/1.1\r\n", "head / HTTP/1.1 \r\n",
        "PUT / HTTP/2\n", "mxx HTTP/1.1\r\n", "foo  HTTP/\r\n"}) {
    SCOPED_TRACE(std::string(line));
    ParseResult r = Parse(line);
    ASSERT_EQ(r.status, ParseStatus::kError);
    EXPECT_EQ(r.error_reply, "");
    EXPECT_TRUE(r.close_connection);
    EXPECT_TRUE(r.discard_unsent);
    EXPECT_EQ(r.consumed, line.size());
  }
  // memcached checks the last token only, case sensitive, and only for
  // lines its earlier branches do not take (g s a c i d t, two-letter m*,
  // and the commands it knows): those answer ERROR.
  for (std::string_view line :
       {"foo HTTP/1.1 x\r\n", "foo http/1.1\r\n", "X HTTP/1.1\r\n", "mx HTTP/1.1\r\n",
        "gx / HTTP/1.1\r\n", "set HTTP/1.1\r\n", "delete_ HTTP/1.1\r\n", "lru HTTP/1.1\r\n"}) {
    SCOPED_TRACE(std::string(line));
    ParseResult r = Parse(line);
    ASSERT_EQ(r.status, ParseStatus::kError);
    EXPECT_FALSE(r.close_connection);
  }
  // It tokenizes 23 tokens at most: a 24th is not looked at.
  std::string many = "foo";
  for (int i = 0; i < 21; ++i) many += " x";
  EXPECT_TRUE(Parse(many + " HTTP/1.1\r\n").close_connection);
  EXPECT_FALSE(Parse(many + " y HTTP/1.1\r\n").close_connection);
  // bget is memcached's old name for get: a key "HTTP/1.1".
  EXPECT_EQ(Parse("bget a HTTP/1.1\r\n").command.keys.size(), 2u);
}

TEST(MemcacheParse, LineTooLongClosesConnection) {
  const std::string junk(kMaxCommandLine + 1, 'x');
  ParseResult r = Parse(junk);
  ASSERT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.error_reply, reply::kLineTooLong);
  EXPECT_TRUE(r.close_connection);
  // Up to the limit we keep waiting for the newline.
  EXPECT_EQ(Parse(std::string(kMaxCommandLine, 'x')).status, ParseStatus::kNeedMore);
  // A long multi-get line is fine, as in memcached.
  std::string get = "get";
  while (get.size() < 3 * kMaxCommandLine) get += " somekey";
  EXPECT_EQ(Parse(get).status, ParseStatus::kNeedMore);
  EXPECT_EQ(Parse(get + "\r\n").status, ParseStatus::kCommand);
}

// --- meta commands -------------------------------------------------------------

TEST(MemcacheParse, MetaGetFlagsInOrder) {
  ParseResult r = ExpectCommand("mg foo v c T30 Oab k q\r\n", Op::kMetaGet);
  EXPECT_EQ(r.command.key(), "foo");
  const MetaFlags& f = r.command.meta;
  EXPECT_EQ(f.tokens, (absl::InlinedVector<std::string_view, 8>{"v", "c", "T30", "Oab", "k", "q"}));
  EXPECT_TRUE(f.value);
  EXPECT_TRUE(f.quiet);
  EXPECT_TRUE(r.command.noreply);
  EXPECT_EQ(f.ttl, 30);
  EXPECT_FALSE(f.vivify_ttl.has_value());
  EXPECT_TRUE(f.Has('k'));
  EXPECT_FALSE(f.Has('s'));
}

TEST(MemcacheParse, MetaErrorsInMemcachedsWords) {
  ExpectError("mg\r\n", reply::kError);
  ExpectError("mx a\r\n", reply::kError);
  ExpectError("mg a zz\r\n", "CLIENT_ERROR invalid flag\r\n");
  ExpectError("mg a v v\r\n", "CLIENT_ERROR duplicate flag\r\n");
  ExpectError("mg a Tx\r\n", "CLIENT_ERROR bad token in command line format\r\n");
  ExpectError("mg a b\r\n", "CLIENT_ERROR error decoding key\r\n");
  ExpectError("mg a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\r\n",
              "CLIENT_ERROR options flags are too long\r\n");
  ExpectError("md a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\r\n",
              "CLIENT_ERROR options flags too long\r\n");
  ExpectError("mg " + std::string(251, 'k') + "\r\n", reply::kBadFormat);
  // md and ma answer every flag error alike.
  ExpectError("md a zz\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n");
  ExpectError("ma a Dx\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n");
  ExpectError("ma a MX\r\n", "CLIENT_ERROR invalid mode for ma M token\r\n");
  ExpectError("md a O" + std::string(32, 'x') + "\r\n", "CLIENT_ERROR opaque token too long\r\n");
  // mg's opaque tokens are checked while it answers (after T, N...).
  EXPECT_EQ(Parse("mg a O" + std::string(32, 'x') + "\r\n").status, ParseStatus::kCommand);
  ExpectError("me\r\n", reply::kBadFormat);
  ExpectError("me a! b\r\n", reply::kBadFormat);
  ExpectCommand("mn\r\n", Op::kMetaNoop);
  ExpectCommand("me a x y\r\n", Op::kMetaDebug);
}

TEST(MemcacheParse, MetaSetDataAndWhatItSwallows) {
  ParseResult r = ExpectCommand("ms k 2 T0 F5 MA\r\nhi\r\n", Op::kMetaSet);
  EXPECT_EQ(r.command.data, "hi");
  EXPECT_EQ(r.command.meta.client_flags, 5u);
  EXPECT_EQ(r.command.meta.mode, 'A');
  // Errors before the length is known swallow nothing; after, its data.
  ExpectError("ms k\r\n", reply::kBadFormat);
  ExpectError("ms k x\r\n", reply::kBadFormat);
  r = Parse("ms k 2 MZ\r\nhi\r\n");
  ASSERT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.error_reply, "CLIENT_ERROR invalid mode for ms M token\r\n");
  EXPECT_EQ(r.swallow, 4u);
  r = Parse("ms k 2 zz\r\nhi\r\n");
  EXPECT_EQ(r.error_reply, "CLIENT_ERROR invalid flag\r\n");
  EXPECT_EQ(r.swallow, 4u);
  // A quiet ms still reports its errors.
  ExpectError("ms k 1 q\r\nxyz\r\n", reply::kBadDataChunk, 13);  // the line and 1+2 bytes
  ParseOptions small;
  small.max_value_bytes = 1;
  r = Parse("ms k 2 q\r\nhi\r\n", small);
  EXPECT_EQ(r.error_reply, reply::kObjectTooLarge);
  EXPECT_EQ(r.command.key(), "k");
}

TEST(MemcacheParse, MetaBase64Keys) {
  ParseResult r = ExpectCommand("mg Zm9v b k\r\n", Op::kMetaGet);
  EXPECT_TRUE(r.command.key_binary);
  EXPECT_EQ(r.command.key(), "foo");
  EXPECT_EQ(r.command.keys[0], "Zm9v");  // as sent
  r = ExpectCommand("me AAEC b\r\n", Op::kMetaDebug);
  EXPECT_EQ(r.command.key(), std::string("\x00\x01\x02", 3));
}

TEST(Base64, AsMemcachedDecodesAndEncodes) {
  EXPECT_EQ(Base64Decode("Zm9v"), "foo");
  EXPECT_EQ(Base64Decode("YQ=="), "a");
  EXPECT_EQ(Base64Decode("YWI="), "ab");
  EXPECT_EQ(Base64Decode("Y!Q=="), "a");  // outside the alphabet: skipped
  EXPECT_EQ(Base64Decode("YQ"), std::nullopt);    // a partial block
  EXPECT_EQ(Base64Decode("a"), std::nullopt);
  EXPECT_EQ(Base64Decode("Y==="), std::nullopt);  // bad padding
  EXPECT_EQ(Base64Decode("===="), std::nullopt);
  EXPECT_EQ(Base64Decode(""), std::nullopt);
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("a"), "YQ==");
  EXPECT_EQ(Base64Encode("ab"), "YWI=");
  EXPECT_EQ(Base64Encode(std::string(100, 'x')).find('\n'), std::string::npos);
}

// --- incremental parsing -------------------------------------------------------

TEST(MemcacheParse, EverySplitPointNeedsMoreThenParses) {
  const std::vector<std::string> requests = {
      "get foo\r\n",
      "gets a b c\r\n",
      "gat 10 k\r\n",
      "set k 1 2 5\r\nhello\r\n",
      "cas k 1 2 5 77 noreply\r\nhe\r\no\r\n",
      "append k 0 0 0\r\n\r\n",
      "delete k noreply\r\n",
      "incr n 5\n",
      "touch k 10\r\n",
      "flush_all 5\r\n",
      "stats\r\n",
  };
  for (const std::string& request : requests) {
    const ParseResult whole = Parse(request);
    ASSERT_EQ(whole.status, ParseStatus::kCommand) << request;
    for (size_t cut = 0; cut < request.size(); ++cut) {
      const ParseResult part = Parse(std::string_view(request).substr(0, cut));
      EXPECT_EQ(part.status, ParseStatus::kNeedMore) << request << " cut at " << cut;
      EXPECT_EQ(part.consumed, 0u);
      EXPECT_GT(part.need_at_least, cut);
      EXPECT_LE(part.need_at_least, request.size());
    }
  }
}

TEST(MemcacheParse, NeedMoreTellsHowMuchAValueNeeds) {
  ParseResult r = Parse("set k 0 0 100\r\nabc");
  ASSERT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.need_at_least, 15u + 100u + 2u);
}

TEST(MemcacheParse, PipelinedCommandsOneByOne) {
  const std::string input = "set a 0 0 1\r\nx\r\nget a\r\ndelete a\r\nget";
  std::string_view rest = input;
  std::vector<Op> ops;
  while (true) {
    ParseResult r = Parse(rest);
    if (r.status != ParseStatus::kCommand) {
      EXPECT_EQ(r.status, ParseStatus::kNeedMore);
      break;
    }
    ops.push_back(r.command.op);
    rest.remove_prefix(r.consumed);
  }
  EXPECT_EQ(ops, (std::vector<Op>{Op::kSet, Op::kGet, Op::kDelete}));
  EXPECT_EQ(rest, "get");
}

// --- replies and UDP --------------------------------------------------------------

TEST(MemcacheReply, Value) {
  std::string out;
  AppendValue(&out, "k", 5, "hello");
  EXPECT_EQ(out, "VALUE k 5 5\r\nhello\r\n");
  out.clear();
  AppendValue(&out, "k", 0, "", 99);
  EXPECT_EQ(out, "VALUE k 0 0 99\r\n\r\n");
}

TEST(MemcacheReply, NumberVersionStat) {
  std::string out;
  AppendNumber(&out, UINT64_MAX);
  AppendVersion(&out, "1.6.18");
  AppendStat(&out, "pid", "42");
  EXPECT_EQ(out, "18446744073709551615\r\nVERSION 1.6.18\r\nSTAT pid 42\r\n");
}

TEST(MemcacheUdp, FrameHeaderRoundTrip) {
  std::string out;
  AppendUdpFrameHeader(&out, {0x1234, 1, 3, 0});
  EXPECT_EQ(out, std::string("\x12\x34\x00\x01\x00\x03\x00\x00", 8));
  auto header = ParseUdpFrameHeader(out + "get k\r\n");
  ASSERT_TRUE(header);
  EXPECT_EQ(header->request_id, 0x1234);
  EXPECT_EQ(header->sequence, 1);
  EXPECT_EQ(header->datagram_count, 3);
  EXPECT_FALSE(IsSingleDatagramRequest(*header));
  EXPECT_TRUE(IsSingleDatagramRequest({7, 0, 1, 0}));
  EXPECT_FALSE(ParseUdpFrameHeader(std::string(7, '\0')));
}

// A datagram as memcached 1.6.18 sends it: the header, then the bytes.
std::string Datagram(uint16_t id, uint16_t sequence, uint16_t count, std::string_view bytes) {
  std::string out;
  AppendUdpFrameHeader(&out, {id, sequence, count, 0});
  return out.append(bytes);
}

// Objects ending where each of `parts` ends, concatenated into *reply;
// `flushes` lists the objects after which memcached sends what it holds.
std::vector<UdpResponseObject> Objects(const std::vector<std::string>& parts, std::string* reply,
                                       const std::vector<size_t>& flushes = {}) {
  std::vector<UdpResponseObject> objects;
  for (const std::string& part : parts) {
    reply->append(part);
    objects.push_back({reply->size()});
  }
  for (size_t i : flushes) objects[i].flush_after = true;
  return objects;
}

std::vector<std::string> Frame(const std::vector<std::string>& parts,
                               const std::vector<size_t>& flushes = {}) {
  std::string reply;
  const std::vector<UdpResponseObject> objects = Objects(parts, &reply, flushes);
  return FrameUdpReply(7, reply, objects);
}

const std::string kValueA = "VALUE a 0 1\r\nx\r\n";

// memcached -U, `get b` of a 3000-byte value: 1400 + 1400 + 247 bytes.
TEST(MemcacheUdp, BigObjectIsCutEvery1392Bytes) {
  const std::string object = "VALUE b 0 3000\r\n" + std::string(3000, 'v') + "\r\nEND\r\n";
  const std::vector<std::string> datagrams = Frame({object});
  ASSERT_EQ(datagrams.size(), 3u);
  EXPECT_EQ(datagrams[0], Datagram(7, 0, 3, object.substr(0, 1392)));
  EXPECT_EQ(datagrams[1], Datagram(7, 1, 3, object.substr(1392, 1392)));
  EXPECT_EQ(datagrams[2], Datagram(7, 2, 3, object.substr(2784)));
  EXPECT_EQ(datagrams[0].size(), 1400u);
  EXPECT_EQ(datagrams[2].size(), 247u);
}

// A 1392-byte value: the END spills into a second datagram of 31 bytes.
TEST(MemcacheUdp, ObjectsAtTheDatagramEdge) {
  const std::string object = "VALUE e 0 1392\r\n" + std::string(1392, 'e') + "\r\nEND\r\n";
  std::vector<std::string> datagrams = Frame({object});
  ASSERT_EQ(datagrams.size(), 2u);
  EXPECT_EQ(datagrams[0], Datagram(7, 0, 2, object.substr(0, 1392)));
  EXPECT_EQ(datagrams[1], Datagram(7, 1, 2, object.substr(1392)));
  EXPECT_EQ(datagrams[1].size(), 31u);

  EXPECT_EQ(Frame({std::string(1392, 'x')}),
            std::vector<std::string>{Datagram(7, 0, 1, std::string(1392, 'x'))});
  EXPECT_EQ(Frame({std::string(1393, 'x')}),
            (std::vector<std::string>{Datagram(7, 0, 2, std::string(1392, 'x')),
                                      Datagram(7, 1, 2, "x")}));
}

// One object per key of a multi-get; END joins the last key's.
TEST(MemcacheUdp, EachObjectIsFramedOnItsOwn) {
  // get a zz
  EXPECT_EQ(Frame({kValueA, "END\r\n"}),
            (std::vector<std::string>{Datagram(7, 0, 1, kValueA), Datagram(7, 0, 1, "END\r\n")}));
  // set b ...; get a b zz: sequence and count restart with every object.
  const std::string big(2000, 'b');
  EXPECT_EQ(Frame({"STORED\r\n", kValueA, big, "END\r\n"}),
            (std::vector<std::string>{Datagram(7, 0, 1, "STORED\r\n"), Datagram(7, 0, 1, kValueA),
                                      Datagram(7, 0, 2, big.substr(0, 1392)),
                                      Datagram(7, 1, 2, big.substr(1392)),
                                      Datagram(7, 0, 1, "END\r\n")}));
  // delete zz; bogus
  EXPECT_EQ(Frame({"NOT_FOUND\r\n", "ERROR\r\n"}),
            (std::vector<std::string>{Datagram(7, 0, 1, "NOT_FOUND\r\n"),
                                      Datagram(7, 0, 1, "ERROR\r\n")}));
}

// A miss's object is empty: sent as a bare header with count 0 when it is
// the first object of a flush, and not at all behind an object just sent.
TEST(MemcacheUdp, EmptyObjectsAsMemcachedSendsThem) {
  const std::string empty_datagram("\x00\x07\x00\x00\x00\x00\x00\x00", 8);
  // get zz a
  EXPECT_EQ(Frame({"", kValueA + "END\r\n"}),
            (std::vector<std::string>{empty_datagram, Datagram(7, 0, 1, kValueA + "END\r\n")}));
  // get zz yy a: one bare header for the run of misses.
  EXPECT_EQ(Frame({"", "", kValueA + "END\r\n"}),
            (std::vector<std::string>{empty_datagram, Datagram(7, 0, 1, kValueA + "END\r\n")}));
  // get a zz yy b: misses behind a hit are not sent.
  EXPECT_EQ(Frame({kValueA, "", "", "VALUE b 0 1\r\ny\r\nEND\r\n"}),
            (std::vector<std::string>{Datagram(7, 0, 1, kValueA),
                                      Datagram(7, 0, 1, "VALUE b 0 1\r\ny\r\nEND\r\n")}));
  // version; get zz a: the miss is behind VERSION in the same flush.
  EXPECT_EQ(Frame({"VERSION 1.6.18\r\n", "", kValueA + "END\r\n"}),
            (std::vector<std::string>{Datagram(7, 0, 1, "VERSION 1.6.18\r\n"),
                                      Datagram(7, 0, 1, kValueA + "END\r\n")}));
  // get a zz; get zz b: the second get's miss heads a new flush.
  EXPECT_EQ(Frame({kValueA, "END\r\n", "", "END\r\n"}, {1}),
            (std::vector<std::string>{Datagram(7, 0, 1, kValueA), Datagram(7, 0, 1, "END\r\n"),
                                      empty_datagram, Datagram(7, 0, 1, "END\r\n")}));
  // A big object, then misses: none of them sent.
  const std::string big(3000, 'b');
  EXPECT_EQ(Frame({big, "", kValueA + "END\r\n"}).size(), 4u);
  // quit alone: its empty object.
  EXPECT_EQ(Frame({""}, {0}), std::vector<std::string>{empty_datagram});
}

TEST(MemcacheUdp, BytesPastTheLastObjectAreOneMore) {
  EXPECT_EQ(FrameUdpReply(7, "ERROR\r\n", {}),
            std::vector<std::string>{Datagram(7, 0, 1, "ERROR\r\n")});
  EXPECT_EQ(
      FrameUdpReply(7, "STORED\r\nERROR\r\n", {{8}}),
      (std::vector<std::string>{Datagram(7, 0, 1, "STORED\r\n"), Datagram(7, 0, 1, "ERROR\r\n")}));
  EXPECT_TRUE(FrameUdpReply(7, "", {}).empty());  // noreply alone: nothing
}

// memcached -R 20: it sends what it holds after the 21st request, the 41st, ...
TEST(MemcacheUdp, MemcachedFlushesEveryTwentyRequestsAfterTheTwentyFirst) {
  std::vector<size_t> flushes;
  for (size_t n = 1; n <= 100; ++n) {
    if (MemcachedFlushesAfterRequest(n)) flushes.push_back(n);
  }
  EXPECT_EQ(flushes, (std::vector<size_t>{21, 41, 61, 81}));
  flushes.clear();
  for (size_t n = 1; n <= 12; ++n) {
    if (MemcachedFlushesAfterRequest(n, 3)) flushes.push_back(n);
  }
  EXPECT_EQ(flushes, (std::vector<size_t>{4, 7, 10}));  // -R 3
}

}  // namespace
}  // namespace xdpkv::memcache
