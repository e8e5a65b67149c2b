// The server's sessions in-process (no sockets, no BPF): what a client sends
// over one connection or one datagram, and what it gets back.
#include "proxy/session.h"

#include <sys/resource.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "protocol/redis_commands.h"
#include "proxy/commands/redis_family.h"
#include "proxy/store_layout.h"
#include "proxy/testing/memory_store.h"

namespace xdpkv {
namespace {

class Sessions : public ::testing::Test {
 protected:
  Sessions() {
    context_.now_boot_ms = [] { return uint64_t{1'000'000}; };
    context_.unix_minus_boot_ms = 1'700'000'000'000;
    context_.runtime = &runtime_;
    context_.stats = &stats_;
  }

  // Feeds `input` to a fresh memcached session; returns the replies.
  std::string Memcache(std::string_view input, memcache::ParseOptions options = {}) {
    MemcacheSession session(store_, context_, options);
    std::string out;
    last_used_ = session.Feed(input, &out);
    last_closing_ = session.closing();
    return out;
  }

  std::string Resp(std::string_view input) {
    RespSession session(store_, context_);
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

// RESP in a compact form for these tests: "GET a" -> *2\r\n$3\r\nGET\r\n$1\r\na\r\n.
std::string Commands(std::initializer_list<std::string_view> lines) {
  std::string out;
  for (std::string_view line : lines) {
    std::vector<std::string_view> words;
    for (size_t start = 0; start <= line.size();) {
      const size_t space = std::min(line.find(' ', start), line.size());
      words.push_back(line.substr(start, space - start));
      start = space + 1;
    }
    absl::StrAppend(&out, "*", words.size(), "\r\n");
    for (std::string_view word : words) {
      absl::StrAppend(&out, "$", word.size(), "\r\n", std::string(word), "\r\n");
    }
  }
  return out;
}

TEST_F(Sessions, RespPipelinedGetsAreReadInOneStoreCall) {
  Resp(Commands({"SET a 1", "SET b 22", "HSET h f v"}));
  store_.store_calls = 0;
  EXPECT_EQ(Resp(Commands({"GET a", "get b", "GET nope", "GET a", "GET h"})),
            "$1\r\n1\r\n$2\r\n22\r\n$-1\r\n$1\r\n1\r\n-WRONGTYPE Operation against a key "
            "holding the wrong kind of value\r\n");
  EXPECT_EQ(store_.store_calls, 1u);
  EXPECT_EQ(ServerStats::Read(stats_.keyspace_hits), 4u);  // the hash's too, as Redis
  EXPECT_EQ(ServerStats::Read(stats_.keyspace_misses), 1u);
}

TEST_F(Sessions, RespReadAheadNeverAnswersAcrossAWrite) {
  // Each GET sees every command before it: a run ends at the first non-GET.
  EXPECT_EQ(Resp(Commands({"SET a 1", "GET a", "GET a", "SET a 2", "GET a", "DEL a", "GET a",
                           "GET a"})),
            "+OK\r\n$1\r\n1\r\n$1\r\n1\r\n+OK\r\n$1\r\n2\r\n:1\r\n$-1\r\n$-1\r\n");
  // Queued in MULTI, run by EXEC after the SET inside it.
  EXPECT_EQ(Resp(Commands({"SET b 1", "MULTI", "GET b", "SET b 2", "GET b", "EXEC", "GET b",
                           "GET b"})),
            "+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n$1\r\n1\r\n+OK\r\n$1\r\n2\r\n"
            "$1\r\n2\r\n$1\r\n2\r\n");
}

TEST_F(Sessions, RespReadAheadResumesAPipelineCutByTheOutputBound) {
  for (int i = 0; i < 40; ++i) Resp(Commands({absl::StrCat("SET k", i, " ", std::string(100, 'v'))}));
  std::string input;
  for (int i = 0; i < 40; ++i) input += Commands({absl::StrCat("GET k", i)});
  input += "*2\r\n$3\r\nGET\r\n$2\r\nk1";  // a GET still arriving
  RespSession session(store_, context_, /*output_limit=*/500);
  std::string all;
  size_t used = 0;
  for (int turn = 0; turn < 100; ++turn) {
    std::string out;
    used += session.Feed(std::string_view(input).substr(used), &out);
    all += out;
    if (!session.paused()) break;
  }
  std::string expected;  // every GET once, in order
  for (int i = 0; i < 40; ++i) expected += "$100\r\n" + std::string(100, 'v') + "\r\n";
  EXPECT_EQ(all, expected);
  EXPECT_EQ(used, input.size() - 19);  // the partial GET stays unconsumed
  std::string out;
  EXPECT_EQ(session.Feed(std::string_view(input).substr(used) , &out), 0u);
  std::string rest = std::string(input.substr(used)) + "\r\n";
  EXPECT_EQ(session.Feed(rest, &out), rest.size());
  EXPECT_EQ(out, "$100\r\n" + std::string(100, 'v') + "\r\n");
}

TEST_F(Sessions, MemcacheMultiGetReadsItsKeysInOneStoreCall) {
  Memcache("set a 1 0 1\r\nx\r\nset c 3 0 2\r\nzz\r\n");
  store_.store_calls = 0;
  EXPECT_EQ(Memcache("get a b c a\r\n"),
            "VALUE a 1 1\r\nx\r\nVALUE c 3 2\r\nzz\r\nVALUE a 1 1\r\nx\r\nEND\r\n");
  // One read for the four keys; the first hits also mark the items fetched
  // (memcached's ITEM_FETCHED: one write each, once per item).
  EXPECT_EQ(store_.store_calls, 1u);
  EXPECT_EQ(ServerStats::Read(stats_.get_hits), 3u);
  EXPECT_EQ(ServerStats::Read(stats_.get_misses), 1u);
}

TEST_F(Sessions, MemcachePipelinedGetsAreReadInOneStoreCall) {
  Memcache("set a 1 0 1\r\nx\r\nset c 3 0 2\r\nzz\r\n");
  store_.store_calls = 0;
  EXPECT_EQ(Memcache("get a\r\ngets nope\r\nget c\r\n"),
            "VALUE a 1 1\r\nx\r\nEND\r\nEND\r\nVALUE c 3 2\r\nzz\r\nEND\r\n");
  EXPECT_EQ(store_.store_calls, 1u);
  // A write ends the run: the get after it reads the new value.
  EXPECT_EQ(Memcache("get a\r\nget a\r\nset a 0 0 1\r\ny\r\nget a\r\nget a\r\ndelete a\r\n"
                     "get a\r\n"),
            "VALUE a 1 1\r\nx\r\nEND\r\nVALUE a 1 1\r\nx\r\nEND\r\nSTORED\r\n"
            "VALUE a 0 1\r\ny\r\nEND\r\nVALUE a 0 1\r\ny\r\nEND\r\nDELETED\r\nEND\r\n");
}

TEST_F(Sessions, MemcachePipelineAnsweredInOrder) {
  EXPECT_EQ(Memcache("set a 5 0 3\r\nabc\r\nset b 0 0 2 noreply\r\nhi\r\nget a b c\r\n"
                     "delete a\r\ndelete a\r\nversion\r\n"),
            "STORED\r\nVALUE a 5 3\r\nabc\r\nVALUE b 0 2\r\nhi\r\nEND\r\nDELETED\r\n"
            "NOT_FOUND\r\nVERSION 1.6.18-xdpkv-0.1.0\r\n");
}

TEST_F(Sessions, MemcacheGetsShowsTheStoresCas) {
  Memcache("set k 0 0 1\r\nx\r\n");
  const uint64_t cas = (*store_.Get("k"))->cas;
  EXPECT_EQ(Memcache("gets k\r\n"), "VALUE k 0 1 " + std::to_string(cas) + "\r\nx\r\nEND\r\n");
}

TEST_F(Sessions, MemcacheIncompleteRequestWaitsAndUsesNothing) {
  EXPECT_EQ(Memcache("set k 0 0 5\r\nhel"), "");
  EXPECT_EQ(last_used_, 0u);
  EXPECT_EQ(Memcache("get k\r\nget"), "END\r\n");
  EXPECT_EQ(last_used_, 7u);
}

TEST_F(Sessions, MemcacheExptimes) {
  EXPECT_EQ(Memcache("set r 0 100 1\r\na\r\n"), "STORED\r\n");
  EXPECT_EQ((*store_.Get("r"))->expires_at_ms, 1'100'000u);
  EXPECT_EQ(Memcache("set gone 0 -1 1\r\na\r\nget gone\r\n"), "STORED\r\nEND\r\n");
  // Absolute unix time: converted with the clock offset.
  EXPECT_EQ(Memcache("set abs 0 1700002000 1\r\na\r\n"), "STORED\r\n");
  EXPECT_EQ((*store_.Get("abs"))->expires_at_ms, 2'000'000u);
  store_.now_ms = 2'000'000;
  EXPECT_EQ(Memcache("get abs\r\n"), "END\r\n");
}

TEST_F(Sessions, MemcacheErrorsAndSwallowingAnOversizedValue) {
  memcache::ParseOptions small;
  small.max_value_bytes = 4;
  EXPECT_EQ(Memcache("set k 0 0 6\r\n123456\r\nget k\r\n", small),
            "SERVER_ERROR object too large for cache\r\nEND\r\n");
  // memcached consumes <bytes>+2 before checking them, so the leftover "\n"
  // is an empty command line: ERROR (as memcached 1.6.18 answers).
  EXPECT_EQ(Memcache("bogus\r\nset k 0 0 1\r\nxy\r\n"),
            "ERROR\r\nCLIENT_ERROR bad data chunk\r\nERROR\r\n");
}

TEST_F(Sessions, MemcacheReadModifyWriteCommands) {
  EXPECT_EQ(Memcache("add k 1 0 1\r\na\r\nadd k 2 0 1\r\nb\r\nreplace nope 0 0 1\r\nx\r\n"
                     "replace k 3 0 1\r\nc\r\nappend k 9 0 2\r\nde\r\nprepend k 9 0 2\r\nab\r\n"
                     "append nope 0 0 1\r\nx\r\nget k\r\n"),
            "STORED\r\nNOT_STORED\r\nNOT_STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\n"
            "NOT_STORED\r\nVALUE k 3 5\r\nabcde\r\nEND\r\n");
  auto cas = store_.Get("k");
  ASSERT_TRUE(cas.ok() && cas->has_value());
  const std::string unique = std::to_string((*cas)->cas);
  EXPECT_EQ(Memcache("cas k 0 0 1 " + unique + "\r\nz\r\ncas k 0 0 1 " + unique +
                     "\r\ny\r\ncas nope 0 0 1 1\r\nx\r\nget k\r\n"),
            "STORED\r\nEXISTS\r\nNOT_FOUND\r\nVALUE k 0 1\r\nz\r\nEND\r\n");
  EXPECT_EQ(Memcache("set n 5 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nget n\r\nincr nope 1\r\n"
                     "incr k 1\r\nincr n 1 noreply\r\nget n\r\n"),
            "STORED\r\n15\r\n0\r\nVALUE n 5 2\r\n0 \r\nEND\r\nNOT_FOUND\r\n"
            "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
            "VALUE n 5 2\r\n1 \r\nEND\r\n");
  EXPECT_EQ(Memcache("set w 0 0 20\r\n18446744073709551615\r\nincr w 2\r\n"),
            "STORED\r\n1\r\n");  // wraps at 2^64
}

TEST_F(Sessions, MemcacheTouchGatAndFlush) {
  EXPECT_EQ(Memcache("set k 0 0 1\r\nv\r\ntouch k 10\r\ntouch nope 10\r\n"),
            "STORED\r\nTOUCHED\r\nNOT_FOUND\r\n");
  auto item = store_.Get("k");
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_EQ((*item)->expires_at_ms, 1'010'000u);
  const std::string unique = std::to_string((*item)->cas);
  // gats shows the CAS unchanged by touching, as memcached does.
  EXPECT_EQ(Memcache("gats 20 k nope\r\ngat 0 k\r\n"),
            "VALUE k 0 1 " + unique + "\r\nv\r\nEND\r\nVALUE k 0 1\r\nv\r\nEND\r\n");
  EXPECT_EQ((*store_.Get("k"))->expires_at_ms, 0u);
  EXPECT_EQ(Memcache("touch k -1\r\nget k\r\n"), "TOUCHED\r\nEND\r\n");
  EXPECT_EQ(Memcache("set a 0 0 1\r\na\r\nflush_all\r\nget a\r\nflush_all noreply\r\n"),
            "STORED\r\nOK\r\nEND\r\n");
  uint64_t scheduled = 0;
  context_.schedule_flush = [&](uint64_t at_ms) { scheduled = at_ms; };
  EXPECT_EQ(Memcache("set a 0 0 1\r\na\r\nflush_all 30\r\nget a\r\n"),
            "STORED\r\nOK\r\nVALUE a 0 1\r\na\r\nEND\r\n");
  EXPECT_EQ(scheduled, 1'030'000u);
}

TEST_F(Sessions, MemcacheFullStoreAndQuit) {
  store_.max_items = 1;
  EXPECT_EQ(Memcache("set a 0 0 1\r\na\r\nset b 0 0 1\r\nb\r\n"),
            "STORED\r\nSERVER_ERROR out of memory storing object\r\n");
  EXPECT_EQ(Memcache("quit\r\nget a\r\n"), "");
  EXPECT_TRUE(last_closing_);
}

// memcached unlinks the old item of a SET it refuses (too large, or out of
// memory): no stale read after a failed overwrite. Other storage commands
// keep it.
TEST_F(Sessions, MemcacheRefusedSetUnlinksTheOldValue) {
  memcache::ParseOptions options;
  options.max_value_bytes = 10;
  EXPECT_EQ(Memcache("set k 0 0 2\r\nv1\r\nset k 0 0 11\r\n01234567890\r\nget k\r\n", options),
            "STORED\r\nSERVER_ERROR object too large for cache\r\nEND\r\n");
  EXPECT_EQ(Memcache("set r 0 0 2\r\nv1\r\nreplace r 0 0 11\r\n01234567890\r\nget r\r\n",
                     options),
            "STORED\r\nSERVER_ERROR object too large for cache\r\nVALUE r 0 2\r\nv1\r\nEND\r\n");
  store_.max_items = 1;
  ASSERT_TRUE(store_.Clear().ok());
  EXPECT_EQ(Memcache("set a 0 0 1\r\na\r\nset b 0 0 1\r\nb\r\nget a\r\n"),
            "STORED\r\nSERVER_ERROR out of memory storing object\r\nVALUE a 0 1\r\na\r\nEND\r\n");
}

TEST_F(Sessions, MemcacheStats) {
  context_.xdp_counters = [] { return ServerContext::NamedCounters{{"xdp_x", 7}}; };
  const std::string stats = Memcache("stats\r\n");
  EXPECT_NE(stats.find("STAT pid "), std::string::npos);
  EXPECT_NE(stats.find("STAT version 1.6.18-xdpkv-0.1.0\r\n"), std::string::npos);
  EXPECT_NE(stats.find("STAT xdp_x 7\r\n"), std::string::npos);
  EXPECT_TRUE(stats.ends_with("END\r\n"));
}

// The value of a `STAT name value` or INFO `name:value` line; -1 if absent.
int64_t Field(const std::string& reply, const std::string& name) {
  for (const std::string& prefix : {"STAT " + name + " ", "\n" + name + ":"}) {
    const size_t at = reply.find(prefix);
    if (at != std::string::npos) return std::stoll(reply.substr(at + prefix.size()));
  }
  return -1;
}

TEST_F(Sessions, StatsCountBothTiersAndResetEachProtocolsView) {
  ServerContext::NamedCounters kernel = {
      {"xdp_memcache_get_hits", 3}, {"xdp_memcache_get_misses", 1},
      {"xdp_memcache_sets", 2},     {"xdp_memcache_store_full", 1},
      {"xdp_memcache_delete_hits", 1}, {"xdp_resp_get_hits", 5},
      {"xdp_resp_get_misses", 2},   {"xdp_resp_sets", 4},
      {"xdp_resp_pass_unsupported", 9}};
  context_.xdp_counters = [&] { return kernel; };
  std::string stats = Memcache("set a 0 0 1\r\nx\r\nget a b\r\nstats\r\n");
  EXPECT_EQ(Field(stats, "cmd_get"), 2 + 3 + 1);  // was 2: a 150% hit ratio
  EXPECT_EQ(Field(stats, "get_hits"), 1 + 3);
  EXPECT_EQ(Field(stats, "get_misses"), 1 + 1);
  EXPECT_EQ(Field(stats, "cmd_set"), 1 + 2 + 1);
  EXPECT_EQ(Field(stats, "delete_hits"), 1);
  EXPECT_EQ(Field(stats, "userspace_cmd_get"), 2);
  EXPECT_EQ(Field(stats, "userspace_cmd_set"), 1);
  EXPECT_EQ(Field(stats, "xdp_memcache_get_hits"), 3);

  std::string info = Resp("SET k v\r\nGET k\r\nGET nope\r\nFOO\r\nINFO stats\r\n");
  EXPECT_EQ(Field(info, "keyspace_hits"), 1 + 5);
  EXPECT_EQ(Field(info, "keyspace_misses"), 1 + 2);
  // Commands that ran (not FOO, not INFO itself) and every GET/SET/DEL
  // the kernel answered; its passes are counted when userspace runs them.
  EXPECT_EQ(Field(info, "total_commands_processed"), 3 + 5 + 2 + 4);

  // memcached's reset: its view starts again, the kernel's counts too;
  // Redis's view is untouched.
  EXPECT_EQ(Memcache("stats reset\r\n"), "RESET\r\n");
  kernel[0].second += 10;
  stats = Memcache("get a\r\nstats\r\n");
  EXPECT_EQ(Field(stats, "cmd_get"), 1 + 10);
  EXPECT_EQ(Field(stats, "get_hits"), 1 + 10);
  EXPECT_EQ(Field(stats, "get_misses"), 0);
  EXPECT_EQ(Field(stats, "cmd_set"), 0);
  EXPECT_EQ(Field(stats, "userspace_cmd_get"), 1);
  EXPECT_EQ(Field(stats, "xdp_memcache_get_hits"), 10);
  EXPECT_EQ(Field(stats, "xdp_resp_get_hits"), 0);
  info = Resp("INFO stats\r\n");
  EXPECT_EQ(Field(info, "keyspace_hits"), 6);
  EXPECT_EQ(Field(info, "total_commands_processed"), 15);

  kernel[5].second += 7;  // xdp_resp_get_hits
  info = Resp("CONFIG RESETSTAT\r\nGET k\r\nINFO stats\r\nINFO xdp\r\n");
  EXPECT_EQ(Field(info, "keyspace_hits"), 1);
  EXPECT_EQ(Field(info, "keyspace_misses"), 0);
  EXPECT_EQ(Field(info, "total_commands_processed"), 2);  // RESETSTAT counts itself, as Redis
  EXPECT_EQ(Field(info, "xdp_resp_get_hits"), 0);
  kernel[5].second += 2;
  EXPECT_EQ(Field(Resp("INFO stats\r\n"), "keyspace_hits"), 1 + 2);
  // memcached's view lists the RESP kernel counters too, since its reset.
  EXPECT_EQ(Field(Memcache("stats\r\n"), "xdp_resp_get_hits"), 7 + 2);
}

TEST_F(Sessions, InfoKeyspaceCountsKeysWithATtl) {
  EXPECT_EQ(Resp("INFO keyspace\r\n"), "$12\r\n# Keyspace\r\n\r\n");
  Resp("SET a 1 PX 100000\r\nSET b 2 PX 50000\r\nSET c 3\r\n");
  EXPECT_EQ(Resp("INFO keyspace\r\n"),
            "$48\r\n# Keyspace\r\ndb0:keys=3,expires=2,avg_ttl=75000\r\n\r\n");
}

TEST_F(Sessions, AnHttpRequestLineClosesAndDropsWhatMemcachedStillHeld) {
  // memcached sends what it holds after a get; the replies since are lost.
  EXPECT_EQ(Memcache("set a 0 0 1\r\nx\r\nget a\r\nset b 0 0 1\r\ny\r\n"
                     "GET / HTTP/1.1\r\nHost: x\r\nversion\r\n"),
            "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
  EXPECT_TRUE(last_closing_);
  EXPECT_EQ(last_used_, 55u);  // up to and with the request line
  EXPECT_EQ(Memcache("set c 0 0 1\r\nz\r\nPOST / HTTP/1.0\r\n"), "");
  EXPECT_TRUE(last_closing_);
  EXPECT_EQ(Memcache("get c\r\n"), "VALUE c 0 1\r\nz\r\nEND\r\n");  // it ran, unanswered
  // A datagram: nothing at all.
  std::string datagram("\x00\x01\x00\x00\x00\x01\x00\x00", 8);
  EXPECT_TRUE(HandleMemcacheDatagram(datagram + "version\r\nGET / HTTP/1.1\r\n", store_, context_)
                  .empty());
}

TEST_F(Sessions, RespPostAndHostCloseAndDropTheRepliesOfTheSameRead) {
  EXPECT_EQ(Resp("SET k v\r\nPOST / HTTP/1.1\r\nGET k\r\n"), "");
  EXPECT_TRUE(last_closing_);
  EXPECT_EQ(Resp("GET k\r\n"), "$1\r\nv\r\n");  // the SET ran; the GET after did not
  EXPECT_EQ(Resp("PING\r\nhoSt: example.com\r\nPING\r\n"), "");
  EXPECT_TRUE(last_closing_);
  EXPECT_EQ(Resp("*1\r\n$4\r\npost\r\n"), "");
  EXPECT_TRUE(last_closing_);
  // Before AUTH too, as Redis (the commands are NO_AUTH).
  runtime_.requirepass.Set("pw");
  EXPECT_EQ(Resp("PING\r\nPOST /\r\n"), "");
  EXPECT_TRUE(last_closing_);
  runtime_.requirepass.Set("");
}

TEST_F(Sessions, MemcacheWithoutCasAsMemcachedDashC) {
  context_.memcache.cas_enabled = false;
  EXPECT_EQ(Memcache("set a 0 0 1\r\nx\r\ngets a\r\ncas a 0 0 1 0\r\ny\r\ncas zz 0 0 1 0\r\n"
                     "y\r\ngats 0 a\r\n"),
            "STORED\r\nVALUE a 0 1 0\r\nx\r\nEND\r\nEXISTS\r\nNOT_FOUND\r\n"
            "VALUE a 0 1 0\r\nx\r\nEND\r\n");
  EXPECT_EQ(ServerStats::Read(stats_.cas_badval), 1u);
  EXPECT_EQ(ServerStats::Read(stats_.cas_misses), 1u);
  EXPECT_NE(Memcache("stats settings\r\n").find("STAT cas_enabled no\r\n"), std::string::npos);
}

TEST_F(Sessions, MemcacheFlushAllDisabledAsMemcachedDashF) {
  context_.memcache.flush_enabled = false;
  Memcache("set a 0 0 1\r\nx\r\n");
  // Refused before its delay is read, noreply honoured, and counted.
  EXPECT_EQ(Memcache("flush_all\r\nflush_all noreply\r\nflush_all x\r\nget a\r\n"),
            "CLIENT_ERROR flush_all not allowed\r\nCLIENT_ERROR flush_all not allowed\r\n"
            "VALUE a 0 1\r\nx\r\nEND\r\n");
  EXPECT_EQ(ServerStats::Read(stats_.cmd_flush), 3u);
  context_.memcache.flush_enabled = true;
  EXPECT_EQ(Memcache("flush_all x\r\n"), "CLIENT_ERROR invalid exptime argument\r\n");
}

TEST_F(Sessions, MemcacheYieldsAfterItsRequestsPerEvent) {
  context_.memcache.reqs_per_event = 3;
  MemcacheSession session(store_, context_);
  std::string input;
  for (int i = 0; i < 10; ++i) input += "verbosity 1\r\n";  // OK\r\n each
  std::string out;
  size_t used = 0;
  // memcached -R 3: 4 requests at first, then 3 per turn (resuming costs a
  // count), and a yield after each turn; each turn is one Feed.
  std::vector<size_t> turns;
  for (int turn = 0; turn < 10 && used < input.size(); ++turn) {
    const size_t before = out.size();
    used += session.Feed(std::string_view(input).substr(used), &out);
    turns.push_back((out.size() - before) / 4);
    if (used < input.size()) EXPECT_TRUE(session.yielded());
  }
  EXPECT_EQ(turns, (std::vector<size_t>{4, 3, 3}));
  EXPECT_EQ(ServerStats::Read(stats_.conn_yields), 3u);
  // A new read starts a new count.
  out.clear();
  EXPECT_EQ(session.Feed("verbosity 1\r\nverbosity 1\r\n", &out), 26u);
  EXPECT_FALSE(session.yielded());
}

TEST_F(Sessions, MemcacheStatsSettingsHasEveryFieldOfMemcached) {
  const std::string settings = Memcache("stats settings\r\n");
  for (std::string_view name :
       {"maxbytes", "maxconns", "tcpport", "udpport", "inter", "verbosity", "oldest", "evictions",
        "domain_socket", "umask", "shutdown_command", "growth_factor", "chunk_size", "num_threads",
        "num_threads_per_udp", "stat_key_prefix", "detail_enabled", "reqs_per_event", "cas_enabled",
        "tcp_backlog", "binding_protocol", "auth_enabled_sasl", "auth_enabled_ascii",
        "item_size_max", "maxconns_fast", "hashpower_init", "slab_reassign", "slab_automove",
        "slab_automove_ratio", "slab_automove_window", "slab_chunk_max", "lru_crawler",
        "lru_crawler_sleep", "lru_crawler_tocrawl", "tail_repair_time", "flush_enabled",
        "dump_enabled", "hash_algorithm", "lru_maintainer_thread", "lru_segmented", "hot_lru_pct",
        "warm_lru_pct", "hot_max_factor", "warm_max_factor", "temp_lru", "temporary_ttl",
        "idle_timeout", "watcher_logbuf_size", "worker_logbuf_size", "read_buf_mem_limit",
        "track_sizes", "inline_ascii_response", "num_napi_ids", "memory_file"}) {
    EXPECT_NE(settings.find(absl::StrCat("STAT ", std::string(name), " ")), std::string::npos)
        << name;
  }
  EXPECT_EQ(Memcache("verbosity 9\r\n"), "OK\r\n");
  EXPECT_NE(Memcache("stats settings\r\n").find("STAT verbosity 2\r\n"), std::string::npos);
}

TEST_F(Sessions, MemcacheReadsMarkItemsFetchedThenActiveAsMemcached) {
  store_.now_ms = 995'000;  // written at 995 s; the server's clock says 1000 s
  Memcache("set a 0 0 1\r\nx\r\n");
  EXPECT_EQ(store_.Get("a")->value().mc_bits, 0u);
  Memcache("get a\r\n");  // the access time moves on the second hit only
  EXPECT_EQ(store_.Get("a")->value().mc_bits, XDPKV_MC_FETCHED);
  EXPECT_EQ(store_.Get("a")->value().atime_s, 995u);
  Memcache("gets a\r\n");
  EXPECT_EQ(store_.Get("a")->value().mc_bits, XDPKV_MC_FETCHED | XDPKV_MC_ACTIVE);
  EXPECT_EQ(store_.Get("a")->value().atime_s, 1000u);
  store_.now_ms = 1'000'000;
  Memcache("incr a 1\r\n");  // not a number: nothing changes
  Memcache("set a 0 0 1\r\n1\r\nincr a 1\r\n");  // a new value: none
  EXPECT_EQ(store_.Get("a")->value().mc_bits, 0u);
}

TEST_F(Sessions, MemcacheShutdownOnlyWithDashA) {
  int stops = 0;
  context_.memcache_shutdown = [&] { ++stops; };
  EXPECT_EQ(Memcache("shutdown\r\nshutdown graceful\r\n"),
            "ERROR: shutdown not enabled\r\nERROR: shutdown not enabled\r\n");
  context_.memcache.shutdown_enabled = true;
  EXPECT_EQ(Memcache("shutdown x\r\n"), "CLIENT_ERROR invalid shutdown mode\r\n");
  EXPECT_EQ(stops, 0);
  // Closes at once: what memcached still held is dropped; a get flushed.
  EXPECT_EQ(Memcache("get a\r\nversion\r\nshutdown\r\nversion\r\n"), "END\r\n");
  EXPECT_TRUE(last_closing_);
  EXPECT_EQ(stops, 1);
}

TEST_F(Sessions, MemcacheWatchReadsNoMoreRequests) {
  MemcacheSession session(store_, context_);
  std::string out;
  EXPECT_EQ(session.Feed("watch fetchers\r\nversion\r\n", &out), 25u);
  EXPECT_EQ(out, "OK\r\n");
  EXPECT_EQ(ServerStats::Read(stats_.log_watchers), 1u);
  EXPECT_EQ(session.Feed("get a\r\n", &out), 7u);  // read and dropped
  EXPECT_EQ(out, "OK\r\n");
  context_.memcache.watch_enabled = false;
  EXPECT_EQ(Memcache("watch\r\n"), "CLIENT_ERROR watch commands not allowed\r\n");
}

TEST_F(Sessions, MemcacheMetadumpStreamsUnderBackPressure) {
  for (int i = 0; i < 200; ++i) Memcache(absl::StrCat("set key", i, " 0 0 1\r\nx\r\n"));
  MemcacheSession session(store_, context_, {}, /*output_limit=*/200);
  std::string out, collected;
  session.Feed("lru_crawler metadump all\r\n", &collected);
  ASSERT_TRUE(session.paused());
  for (int turn = 0; turn < 100 && session.paused(); ++turn) {
    out.clear();  // the client collected what was sent
    session.Feed("", &out);
    EXPECT_LT(out.size(), 200u + 64 * 80);  // one step over the limit at most
    collected += out;
  }
  EXPECT_FALSE(session.paused());
  out = collected;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 201);
  EXPECT_TRUE(out.ends_with("END\r\n"));
  EXPECT_NE(out.find("key=key7 exp=-1 la="), std::string::npos);
  EXPECT_NE(out.find(" fetch=no cls=1 size=64\n"), std::string::npos);  // 48+4+1+1+2+8
}

TEST_F(Sessions, MetaCommandsSeeAnotherRedisTypeAsAbsent) {
  // memcached has no types: a hash is a miss to mg/ma/me, and ms replaces it.
  EXPECT_EQ(Resp("*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n$1\r\nv\r\n"), ":1\r\n");
  EXPECT_EQ(Memcache("mg h v\r\nma h\r\nme h\r\nms h 2 MA\r\nxx\r\n"),
            "EN\r\nNF\r\nEN\r\nNS\r\n");
  EXPECT_EQ(Resp("*2\r\n$4\r\nTYPE\r\n$1\r\nh\r\n"), "+hash\r\n");
  EXPECT_EQ(Memcache("ms h 2\r\nxx\r\nmg h v\r\n"), "HD\r\nVA 2\r\nxx\r\n");
  EXPECT_EQ(Resp("*2\r\n$4\r\nTYPE\r\n$1\r\nh\r\n"), "+string\r\n");
}

TEST_F(Sessions, MemcacheMetaCommands) {
  EXPECT_EQ(Memcache("ms a 2 T0 F5 k Oab\r\nhi\r\nmg a v f t s k Ox\r\nmg zz q\r\nmn\r\n"),
            "HD ka Oab\r\nVA 2 f5 t-1 s2 ka Ox\r\nhi\r\nMN\r\n");
  // Vivify: the first client wins (W), the next sees Z; md I makes it stale.
  EXPECT_EQ(Memcache("mg v N30 s\r\nmg v s\r\n"), "HD s0 W\r\nHD s0 Z\r\n");
  EXPECT_EQ(Memcache("ms w 1\r\nx\r\nmd w I q\r\nmg w v\r\nmg w v\r\n"),
            "HD\r\nVA 1 X W\r\nx\r\nVA 1 Z X\r\nx\r\n");
  EXPECT_EQ(Memcache("ma n N0 J13 v\r\nma n MD D20 v\r\nma n q\r\nma zz\r\nmn\r\n"),
            "VA 2\r\n13\r\nVA 1\r\n0\r\nNF\r\nMN\r\n");
  EXPECT_EQ(Memcache("ms Zm9v 1 b k\r\nx\r\nmg foo k\r\nme foo\r\n").substr(0, 39),
            "HD kZm9v b\r\nHD kZm9v b\r\nME Zm9v exp=-1 ");
  EXPECT_EQ(ServerStats::Read(stats_.cmd_meta), 1u);
  // mn: memcached sends what it holds, so an HTTP line after it drops
  // only what follows.
  EXPECT_EQ(Memcache("mg a s\r\nmn\r\nmg a s\r\nGET / HTTP/1.1\r\n"), "HD s2\r\nMN\r\n");
}

TEST_F(Sessions, MemcacheLineTooLongCloses) {
  EXPECT_EQ(Memcache(std::string(3000, 'x')), "CLIENT_ERROR line too long\r\n");
  EXPECT_TRUE(last_closing_);
}

TEST_F(Sessions, MemcacheDatagramsSplitAsMemcachedDoes) {
  const std::string frame("\x00\x05\x00\x00\x00\x01\x00\x00", 8);
  auto replies = HandleMemcacheDatagram(frame + "set k 0 0 3000\r\n" + std::string(3000, 'v') +
                                            "\r\n",
                                        store_, context_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0], frame + "STORED\r\n");
  replies = HandleMemcacheDatagram(frame + "get k\r\n", store_, context_);
  ASSERT_EQ(replies.size(), 3u);
  std::string joined;
  for (size_t i = 0; i < replies.size(); ++i) {
    EXPECT_LE(replies[i].size(), memcache::kUdpMaxDatagramPayload);
    EXPECT_EQ(replies[i][3], static_cast<char>(i));  // sequence
    EXPECT_EQ(replies[i][5], 3);                     // count
    joined += replies[i].substr(8);
  }
  EXPECT_EQ(joined, "VALUE k 0 3000\r\n" + std::string(3000, 'v') + "\r\nEND\r\n");
  EXPECT_EQ(HandleMemcacheDatagram(std::string("\x00\x05\x00\x00\x00\x02\x00\x00", 8) + "get k\r\n",
                                   store_, context_)[0]
                .substr(8),
            "SERVER_ERROR multi-packet request not supported\r\n");
  EXPECT_EQ(HandleMemcacheDatagram(frame + "get k", store_, context_)[0].substr(8), "ERROR\r\n");
  EXPECT_TRUE(HandleMemcacheDatagram("short", store_, context_).empty());
}

// What memcached 1.6.18 -U sends, measured: one group of datagrams per
// response object (one per command, one per key of a multi-key get), an
// empty object only at the head of a flush, as a bare header of count 0.
TEST_F(Sessions, MemcacheDatagramsFramedByResponseObject) {
  const std::string frame("\x00\x07\x00\x00\x00\x01\x00\x00", 8);
  auto udp = [&](std::string_view body) {
    return HandleMemcacheDatagram(frame + std::string(body), store_, context_);
  };
  auto one = [&](std::string_view bytes) { return frame + std::string(bytes); };
  const std::string empty("\x00\x07\x00\x00\x00\x00\x00\x00", 8);
  const std::string a = "VALUE a 0 1\r\nx\r\n";
  using Datagrams = std::vector<std::string>;
  ASSERT_EQ(udp("set a 0 0 1\r\nx\r\n"), Datagrams{one("STORED\r\n")});

  EXPECT_EQ(udp("get a zz\r\n"), (Datagrams{one(a), one("END\r\n")}));
  EXPECT_EQ(udp("get zz a\r\n"), (Datagrams{empty, one(a + "END\r\n")}));
  EXPECT_EQ(udp("get zz yy\r\n"), (Datagrams{empty, one("END\r\n")}));
  EXPECT_EQ(udp("get a zz yy a\r\n"), (Datagrams{one(a), one(a + "END\r\n")}));
  EXPECT_EQ(udp("set b 0 0 1\r\ny\r\nget a b zz\r\n"),
            (Datagrams{one("STORED\r\n"), one(a), one("VALUE b 0 1\r\ny\r\n"), one("END\r\n")}));
  EXPECT_EQ(udp("delete zz\r\nbogus\r\n"), (Datagrams{one("NOT_FOUND\r\n"), one("ERROR\r\n")}));
  EXPECT_TRUE(udp("set n 0 0 1 noreply\r\nq\r\n").empty());
  // A noreply request has no object: the miss still heads the flush.
  EXPECT_EQ(udp("set n 0 0 1 noreply\r\nq\r\nget zz a\r\n"),
            (Datagrams{empty, one(a + "END\r\n")}));
  // Behind VERSION in the same flush, the miss is not sent; after a get's
  // flush it heads the next.
  EXPECT_EQ(udp("version\r\nget zz a\r\n"),
            (Datagrams{one("VERSION 1.6.18-xdpkv-0.1.0\r\n"), one(a + "END\r\n")}));
  EXPECT_EQ(udp("get a zz\r\nget zz a\r\n"),
            (Datagrams{one(a), one("END\r\n"), empty, one(a + "END\r\n")}));
  EXPECT_EQ(udp("gat 100 a zz a\r\n"), (Datagrams{one(a), one(a + "END\r\n")}));
  EXPECT_EQ(udp("gat 100\r\n"), Datagrams{one("END\r\n")});
  // quit: memcached sends what it holds, then quit's empty object.
  EXPECT_EQ(udp("quit\r\n"), Datagrams{empty});
  EXPECT_EQ(udp("get a\r\nquit\r\nget a\r\n"), (Datagrams{one(a + "END\r\n"), empty}));
  EXPECT_EQ(udp("version\r\nquit\r\n"), Datagrams{one("VERSION 1.6.18-xdpkv-0.1.0\r\n")});
  // An error ends a multi-get as one object.
  EXPECT_EQ(udp("get a " + std::string(251, 'k') + " a\r\n"),
            Datagrams{one("CLIENT_ERROR bad command line format\r\n")});
  // memcached sends what it holds after the 21st request of a datagram.
  for (int versions : {20, 21, 22, 41}) {
    std::string body;
    for (int i = 0; i < versions; ++i) body += "version\r\n";
    const Datagrams replies = udp(body + "get zz a\r\n");
    const bool miss_sent = versions == 21 || versions == 41;
    ASSERT_EQ(replies.size(), static_cast<size_t>(versions) + 1 + miss_sent) << versions;
    EXPECT_EQ(replies[static_cast<size_t>(versions)], miss_sent ? empty : one(a + "END\r\n"));
  }
}

// --- RESP --------------------------------------------------------------------------

// A store where another client's SET of `key` lands just as the next
// Mutate of `before` begins (RENAME's write of its destination).
class SetLandsDuringMutate : public testing::MemoryStore {
 public:
  std::string before, key, value;
  absl::StatusOr<std::optional<uint64_t>> Mutate(std::string_view k,
                                                 const MutateFn& decide) override {
    if (k == before && !key.empty()) {
      EXPECT_TRUE(Set(key, value, 0, 0).ok());
      key.clear();
    }
    return MemoryStore::Mutate(k, decide);
  }
};

// RENAME deletes only the version of the source it copied: a SET of the
// source acknowledged in between survives (it was lost, copied nowhere).
TEST_F(Sessions, RenameKeepsASetOfTheSourceThatLandedMeanwhile) {
  SetLandsDuringMutate store;
  ASSERT_TRUE(store.Set("src", "v1", 0, 0).ok());
  store.before = "dst";
  store.key = "src";
  store.value = "v2";
  RespClient client;
  std::string out;
  const std::string_view rename[] = {"RENAME", "src", "dst"};
  HandleResp(rename, store, context_, client, &out);
  EXPECT_EQ(out, "+OK\r\n");
  EXPECT_EQ((*store.Get("dst"))->value, "v1");
  auto src = store.Get("src");
  ASSERT_TRUE(src.ok() && src->has_value()) << "the SET that landed meanwhile was lost";
  EXPECT_EQ((*src)->value, "v2");
}

TEST_F(Sessions, RespCommands) {
  EXPECT_EQ(Resp("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"),
            "+OK\r\n$5\r\nhello\r\n");
  EXPECT_EQ(Resp("MGET k nope\r\nEXISTS k k nope\r\nDEL k nope\r\nGET k\r\n"),
            "*2\r\n$5\r\nhello\r\n$-1\r\n:2\r\n:1\r\n$-1\r\n");
  EXPECT_EQ(Resp("PING\r\nPING hi\r\nECHO \"a b\"\r\nSELECT 0\r\nSELECT 1\r\nSELECT x\r\n"),
            "+PONG\r\n$2\r\nhi\r\n$3\r\na b\r\n+OK\r\n-ERR DB index is out of range\r\n"
            "-ERR value is not an integer or out of range\r\n");
  const std::string count = std::to_string(redis::Commands().All().size());
  EXPECT_TRUE(Resp("COMMAND\r\n").starts_with("*" + count + "\r\n*10\r\n"));
  EXPECT_EQ(Resp("COMMAND COUNT\r\n"), ":" + count + "\r\n");
  // Name, arity, flags, first key, last key, step, then empty ACL
  // categories, tips, key specs, and no subcommands.
  EXPECT_EQ(Resp("COMMAND INFO blpop nosuch object|encoding\r\n"),
            "*3\r\n*10\r\n$5\r\nblpop\r\n:-3\r\n*2\r\n+write\r\n+blocking\r\n:1\r\n:-2\r\n"
            ":1\r\n*0\r\n*0\r\n*0\r\n*0\r\n*-1\r\n*10\r\n$15\r\nobject|encoding\r\n:3\r\n"
            "*1\r\n+readonly\r\n:2\r\n:2\r\n:1\r\n*0\r\n*0\r\n*0\r\n*0\r\n");
}

TEST(RespTable, EveryServedCommandHasOneRowWithAHandler) {
  std::vector<std::string_view> names;
  for (const auto& row : redis::Commands().All()) {
    EXPECT_NE(row.handler, nullptr) << row.name;
    names.push_back(row.name);
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  for (std::string_view name :
       {"get", "set", "setnx", "setex", "psetex", "getset", "getdel", "getex", "mget", "mset",
        "msetnx", "del", "unlink", "exists", "incr", "decr", "incrby", "decrby", "incrbyfloat",
        "append", "strlen", "getrange", "setrange", "expire", "pexpire", "expireat", "pexpireat",
        "ttl", "pttl", "expiretime", "pexpiretime", "persist", "type", "keys", "scan",
        "randomkey", "rename", "renamenx", "dbsize", "flushdb", "flushall", "ping", "echo",
        "select", "time", "info", "command", "client", "hello", "config", "quit"}) {
    EXPECT_NE(redis::Commands().Find(name), nullptr) << name;
  }
}

TEST_F(Sessions, RespHelpOfContainerCommandsInRedisWords) {
  EXPECT_EQ(Resp("CONFIG HELP\r\n"),
            "*11\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
            "+GET <pattern>\r\n"
            "+    Return parameters matching the glob-like <pattern> and their values.\r\n"
            "+SET <directive> <value>\r\n+    Set the configuration <directive> to <value>.\r\n"
            "+RESETSTAT\r\n+    Reset statistics reported by the INFO command.\r\n"
            "+REWRITE\r\n+    Rewrite the configuration file.\r\n"
            "+HELP\r\n+    Prints this help.\r\n");
  const std::string client = Resp("client help\r\n");
  EXPECT_TRUE(client.starts_with("*48\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]."))
      << client;
  EXPECT_TRUE(client.ends_with("+HELP\r\n+    Prints this help.\r\n"));
  EXPECT_TRUE(Resp("COMMAND HELP\r\n").starts_with("*21\r\n+COMMAND <subcommand>"));
  EXPECT_EQ(Resp("CLIENT HELP x\r\n"),
            "-ERR wrong number of arguments for 'client|help' command\r\n");
}

TEST_F(Sessions, RespConfigSetsTheRuntimeLimits) {
  EXPECT_EQ(Resp("CONFIG SET maxclients 50 client-query-buffer-limit 2mb\r\n"), "+OK\r\n");
  EXPECT_EQ(runtime_.maxclients, 50u);
  EXPECT_EQ(runtime_.client_query_buffer_limit, 2u << 20);
  EXPECT_EQ(Resp("CONFIG GET maxclients\r\nCONFIG GET client-query-buffer-limit\r\n"),
            "*2\r\n$10\r\nmaxclients\r\n$2\r\n50\r\n"
            "*2\r\n$25\r\nclient-query-buffer-limit\r\n$7\r\n2097152\r\n");
  // One bad value sets nothing.
  EXPECT_EQ(Resp("CONFIG SET maxclients 60 client-query-buffer-limit 1k\r\n"),
            "-ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - "
            "argument must be between 1048576 and 9223372036854775807 inclusive\r\n");
  EXPECT_EQ(runtime_.maxclients, 50u);
  EXPECT_EQ(Resp("CONFIG SET maxclients 0\r\nCONFIG SET maxclients x\r\n"
                 "CONFIG SET client-query-buffer-limit 1.5mb\r\nCONFIG SET timeout 5\r\n"
                 "CONFIG SET maxclients 1 maxclients 2\r\n"),
            "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must "
            "be between 1 and 4294967295 inclusive\r\n"
            "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument "
            "couldn't be parsed into an integer\r\n"
            "-ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - "
            "argument must be a memory value\r\n"
            "-ERR Unknown option or number of arguments for CONFIG SET - 'timeout'\r\n"
            "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - duplicate "
            "parameter\r\n");
  // More clients than descriptors the kernel allows (2^32 + 32 is above
  // any RLIMIT_NOFILE): Redis's error, with what the limit allows.
  rlimit files{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
  const uint64_t needed = uint64_t{4294967295} + 32;
  uint64_t best = files.rlim_cur;
  if (files.rlim_max > files.rlim_cur) {
    best = std::max<uint64_t>(best, needed - (needed - files.rlim_max + 15) / 16 * 16);
  }
  EXPECT_EQ(Resp("CONFIG SET maxclients 4294967295\r\n"),
            "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating "
            "system is not able to handle the specified number of clients, try with " +
                std::to_string(best - 32) + "\r\n");
  EXPECT_EQ(runtime_.maxclients, 50u);
}

TEST_F(Sessions, RespErrorsInRedisWords) {
  EXPECT_EQ(Resp("GET\r\nFOO a\r\n"),
            "-ERR wrong number of arguments for 'get' command\r\n"
            "-ERR unknown command 'FOO', with args beginning with: 'a' \r\n");
  EXPECT_EQ(Resp("SET k v EX 0\r\nSET k v EX x\r\nSET k v NX XX\r\nSET k v EX 1 PX 1\r\n"),
            "-ERR invalid expire time in 'set' command\r\n"
            "-ERR value is not an integer or out of range\r\n-ERR syntax error\r\n"
            "-ERR syntax error\r\n");
  EXPECT_EQ(Resp("GET " + std::string(251, 'k') + "\r\n"), "$-1\r\n");
  store_.max_items = 0;
  EXPECT_EQ(Resp("SET k v\r\n"), "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
}

// The test clock: boot 1'000'000 ms, unix 1'700'001'000'000 ms.
TEST_F(Sessions, RespExpiryIsExactInMilliseconds) {
  EXPECT_EQ(Resp("SET k v PX 1\r\nPTTL k\r\nTTL k\r\n"), "+OK\r\n:1\r\n:0\r\n");
  EXPECT_EQ((*store_.Get("k"))->expires_at_ms, 1'000'001u);
  EXPECT_EQ(Resp("PEXPIRE k 1499\r\nTTL k\r\nPEXPIRE k 1500\r\nTTL k\r\nPSETEX k 2250 v\r\nPTTL k\r\n"),
            ":1\r\n:1\r\n:1\r\n:2\r\n+OK\r\n:2250\r\n");
  EXPECT_EQ((*store_.Get("k"))->expires_at_ms, 1'002'250u);
  EXPECT_EQ(Resp("PEXPIREAT k 1700001001499\r\nPEXPIRETIME k\r\nEXPIRETIME k\r\nPTTL k\r\n"
                 "PEXPIREAT k 1700001001500\r\nEXPIRETIME k\r\n"),
            ":1\r\n:1700001001499\r\n:1700001001\r\n:1499\r\n:1\r\n:1700001002\r\n");
  EXPECT_EQ(Resp("SET k v EXAT 1700001003\r\nPTTL k\r\nGETEX k PX 7\r\nPTTL k\r\n"
                 "GETEX k PERSIST\r\nEXPIRETIME k\r\nEXPIRETIME nope\r\n"),
            "+OK\r\n:3000\r\n$1\r\nv\r\n:7\r\n$1\r\nv\r\n:-1\r\n:-2\r\n");
  // Due now is gone (Redis's checkAlreadyExpired: when <= now).
  EXPECT_EQ(Resp("PEXPIREAT k 1700001000000\r\nEXISTS k\r\n"), ":1\r\n:0\r\n");
}

TEST_F(Sessions, RespExpiryOverflowAsRedis) {
  Resp("SET k v\r\n");
  // Far in the past: deleted, not a huge TTL (signed overflow once).
  EXPECT_EQ(Resp("PEXPIREAT k -9223372036854770000\r\nEXISTS k\r\n"), ":1\r\n:0\r\n");
  Resp("SET k v\r\n");
  EXPECT_EQ(Resp("EXPIRE k 9223370399119966\r\nEXPIRE k -9223372036854776\r\n"
                 "PEXPIRE k 9223370336853775808\r\nEXPIREAT k 9223372036854776\r\n"
                 "EXPIRE nope 9223372036854776\r\n"),
            "-ERR invalid expire time in 'expire' command\r\n"
            "-ERR invalid expire time in 'expire' command\r\n"
            "-ERR invalid expire time in 'pexpire' command\r\n"
            "-ERR invalid expire time in 'expireat' command\r\n"
            "-ERR invalid expire time in 'expire' command\r\n");
  // The largest: LLONG_MAX - now is still valid.
  EXPECT_EQ(Resp("PEXPIRE k 9223370336853775807\r\nPEXPIRETIME k\r\nEXPIRETIME k\r\nPTTL k\r\n"),
            ":1\r\n:9223372036854775807\r\n:9223372036854776\r\n:9223370336853775807\r\n");
  EXPECT_EQ(Resp("EXPIRE k -9223372036854775\r\nEXISTS k\r\n"), ":1\r\n:0\r\n");
  EXPECT_EQ(Resp("SET k v EX 9223372036854776\r\nSET k v EX 9223372036854775\r\n"
                 "SET k v PX 9223370336853775808\r\nSETEX k 9223372036854775 v\r\n"
                 "PSETEX k 0 v\r\nGETEX nope EX 0\r\nSET k v\r\nGETEX k EX 0\r\n"
                 "SET k v PXAT 9223372036854775807\r\nPEXPIRETIME k\r\n"),
            "-ERR invalid expire time in 'set' command\r\n"
            "-ERR invalid expire time in 'set' command\r\n"
            "-ERR invalid expire time in 'set' command\r\n"
            "-ERR invalid expire time in 'setex' command\r\n"
            "-ERR invalid expire time in 'psetex' command\r\n$-1\r\n+OK\r\n"
            "-ERR invalid expire time in 'getex' command\r\n+OK\r\n:9223372036854775807\r\n");
}

TEST_F(Sessions, RespSetOptionsAsRedisParsesThem) {
  EXPECT_EQ(Resp("SET k v EX 10 EX 20\r\nTTL k\r\nSET k v EX abc NX XX\r\n"
                 "SET k w KEEPTTL KEEPTTL\r\nTTL k\r\nSET k v PX 10 EX 10\r\n"
                 "GETEX k PERSIST EX 1\r\nEXPIRE k x NX XX\r\n"),
            "+OK\r\n:20\r\n-ERR syntax error\r\n+OK\r\n:20\r\n-ERR syntax error\r\n"
            "-ERR syntax error\r\n"
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
  EXPECT_EQ(Resp("EXPIRE k 100 GT\r\nEXPIRE k 10 LT\r\nTTL k\r\nEXPIRE k -1 GT\r\n"
                 "EXPIRE k -1 LT\r\nEXISTS k\r\n"),
            ":1\r\n:1\r\n:10\r\n:0\r\n:1\r\n:0\r\n");
}

TEST_F(Sessions, RespProtocolErrorAndQuitClose) {
  EXPECT_EQ(Resp("PING\r\n*1\r\n:5\r\nPING\r\n"),
            "+PONG\r\n-ERR Protocol error: expected '$', got ':'\r\n");
  EXPECT_TRUE(last_closing_);
  EXPECT_EQ(Resp("QUIT\r\nPING\r\n"), "+OK\r\n");
  EXPECT_TRUE(last_closing_);
}

TEST_F(Sessions, RespDatagram) {
  const std::string frame("\x01\x02\x00\x00\x00\x01\x00\x00", 8);
  auto replies = HandleRespDatagram(frame + "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", store_,
                                    context_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0], frame + "+OK\r\n");
  replies = HandleRespDatagram(frame + "MGET k\r\n", store_, context_);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0], frame + "*1\r\n$1\r\nv\r\n");
}

// Each command's reply is framed on its own, as memcached frames an object:
// at most 1392 bytes after each header, sequence and count per reply.
TEST_F(Sessions, RespDatagramRepliesFramedPerCommand) {
  const std::string value(3000, 'v');
  ASSERT_TRUE(store_.Set("big", value, 0, 0).ok());
  auto header = [](uint16_t sequence, uint16_t count) {
    std::string out;
    memcache::AppendUdpFrameHeader(&out, {0x0102, sequence, count, 0});
    return out;
  };
  auto replies =
      HandleRespDatagram(header(0, 1) + "GET big\r\nPING\r\nGET nope\r\n", store_, context_);
  const std::string bulk = "$3000\r\n" + value + "\r\n";
  EXPECT_EQ(replies, (std::vector<std::string>{
                         header(0, 3) + bulk.substr(0, 1392),
                         header(1, 3) + bulk.substr(1392, 1392), header(2, 3) + bulk.substr(2784),
                         header(0, 1) + "+PONG\r\n", header(0, 1) + "$-1\r\n"}));
  // A protocol error ends the datagram, as it closes a connection.
  replies = HandleRespDatagram(header(0, 1) + "PING\r\n*1\r\n:5\r\n", store_, context_);
  EXPECT_EQ(replies, (std::vector<std::string>{
                         header(0, 1) + "+PONG\r\n",
                         header(0, 1) + "-ERR Protocol error: expected '$', got ':'\r\n"}));
  replies = HandleRespDatagram(header(0, 1) + "PING\r\n*1\r\n", store_, context_);
  EXPECT_EQ(replies,
            (std::vector<std::string>{
                header(0, 1) + "+PONG\r\n",
                header(0, 1) + "-ERR Protocol error: incomplete request in datagram\r\n"}));
}

}  // namespace
}  // namespace xdpkv
