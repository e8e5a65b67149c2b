// Blocking commands in-process: sessions over the in-memory store sharing
// one BlockingRoom, a parked session served by another's write, in the
// order they parked; timeouts; EXEC; the room's bookkeeping.
#include "proxy/blocking.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/session.h"
#include "proxy/testing/memory_store.h"

namespace xdpkv {
namespace {

class Blocking : public ::testing::Test {
 protected:
  Blocking() {
    context_.now_boot_ms = [] { return uint64_t{1'000'000}; };
    context_.unix_minus_boot_ms = 1'700'000'000'000;
    context_.runtime = &runtime_;
    context_.stats = &stats_;
    context_.blocking = &room_;
  }

  // A connection that can park; `woken` counts its wake-ups.
  struct Client {
    std::unique_ptr<RespSession> session;
    int woken = 0;
  };
  std::unique_ptr<Client> Connect() {
    auto client = std::make_unique<Client>();
    client->session = std::make_unique<RespSession>(store_, context_);
    client->session->SetWake([c = client.get()] { ++c->woken; });
    return client;
  }
  static std::string Send(Client& client, std::string_view inline_commands) {
    std::string out;
    client.session->Feed(inline_commands, &out);
    return out;
  }

  testing::MemoryStore store_;
  ServerStats stats_;
  RuntimeConfig runtime_;
  BlockingRoom room_;
  ServerContext context_;
};

TEST_F(Blocking, PushServesParkedClientsOldestFirst) {
  auto a = Connect(), b = Connect(), c = Connect(), writer = Connect();
  EXPECT_EQ(Send(*a, "BLPOP q other 0\r\n"), "");
  EXPECT_EQ(Send(*b, "BRPOP q 0\r\n"), "");
  EXPECT_EQ(Send(*c, "BLPOP q 0\r\n"), "");
  EXPECT_TRUE(a->session->blocked());
  EXPECT_EQ(room_.parked(), 3u);
  EXPECT_EQ(Send(*writer, "RPUSH q x y\r\n"), ":2\r\n");
  EXPECT_EQ(a->woken, 1);
  EXPECT_EQ(b->woken, 1);
  EXPECT_EQ(c->woken, 0);  // nothing left for it
  std::string out;
  EXPECT_TRUE(a->session->Unblock(&out, false));
  EXPECT_TRUE(b->session->Unblock(&out, false));
  EXPECT_FALSE(c->session->Unblock(&out, false));  // still waiting
  EXPECT_EQ(out, "*2\r\n$1\r\nq\r\n$1\r\nx\r\n*2\r\n$1\r\nq\r\n$1\r\ny\r\n");
  EXPECT_EQ(Send(*writer, "EXISTS q\r\n"), ":0\r\n");
  EXPECT_EQ(room_.parked(), 1u);
}

TEST_F(Blocking, ATimeoutAnswersNilAndTheRestOfThePipelineRuns) {
  auto a = Connect();
  const std::string input = "BZPOPMIN z 0.5\r\nPING\r\n";
  std::string out;
  const size_t used = a->session->Feed(input, &out);
  EXPECT_EQ(out, "");
  EXPECT_EQ(a->session->block_deadline_ms(), 1'000'500u);
  EXPECT_EQ(a->session->Feed(input.substr(used), &out), 0u);  // nothing runs while parked
  EXPECT_TRUE(a->session->Unblock(&out, true));
  a->session->Feed(input.substr(used), &out);
  EXPECT_EQ(out, "*-1\r\n+PONG\r\n");
  EXPECT_EQ(room_.parked(), 0u);
}

TEST_F(Blocking, InsideExecNothingParks) {
  auto a = Connect();
  EXPECT_EQ(Send(*a, "MULTI\r\nBLPOP q 0\r\nBRPOPLPUSH q d 0\r\nEXEC\r\n"),
            "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n*-1\r\n$-1\r\n");
  EXPECT_FALSE(a->session->blocked());
}

TEST_F(Blocking, MovesChainAndTypesThatDoNotPopAreSkipped) {
  auto mover = Connect(), popper = Connect(), zpopper = Connect(), writer = Connect();
  EXPECT_EQ(Send(*mover, "BLMOVE src dst LEFT RIGHT 0\r\n"), "");
  EXPECT_EQ(Send(*popper, "BLPOP dst 0\r\n"), "");
  EXPECT_EQ(Send(*zpopper, "BZPOPMAX src 0\r\n"), "");
  // A string where they wait serves no one; a list at src serves the
  // mover, whose push to dst serves the popper; the zset popper waits on.
  EXPECT_EQ(Send(*writer, "SET src s\r\nDEL src\r\nLPUSH src v\r\n"), "+OK\r\n:1\r\n:1\r\n");
  std::string out;
  EXPECT_TRUE(mover->session->Unblock(&out, false));
  EXPECT_TRUE(popper->session->Unblock(&out, false));
  EXPECT_FALSE(zpopper->session->Unblock(&out, false));
  EXPECT_EQ(out, "$1\r\nv\r\n*2\r\n$3\r\ndst\r\n$1\r\nv\r\n");
  // The mover emptied src: a sorted set there serves the last one.
  out.clear();
  EXPECT_EQ(Send(*writer, "ZADD src 1 m\r\n"), ":1\r\n");
  EXPECT_TRUE(zpopper->session->Unblock(&out, false));
  EXPECT_EQ(out, "*3\r\n$3\r\nsrc\r\n$1\r\nm\r\n$1\r\n1\r\n");
}

TEST_F(Blocking, ADisconnectedClientLeavesTheRoom) {
  auto a = Connect(), writer = Connect();
  EXPECT_EQ(Send(*a, "BLPOP q 0\r\n"), "");
  a->session->CancelBlocked();
  EXPECT_EQ(room_.parked(), 0u);
  EXPECT_EQ(Send(*writer, "RPUSH q x\r\nLLEN q\r\n"), ":1\r\n:1\r\n");  // not taken
  EXPECT_EQ(a->woken, 0);
}

TEST_F(Blocking, WithoutAWakeFunctionNothingParks) {
  RespSession datagram(store_, context_);  // as a UDP request's session
  std::string out;
  datagram.Feed("BLPOP q 0\r\nBLMOVE q d LEFT LEFT 0\r\n", &out);
  EXPECT_EQ(out, "*-1\r\n$-1\r\n");
}

TEST(BlockingRoom, ServedOrCancelledOnce) {
  BlockingRoom room;
  auto parked = std::make_shared<ParkedClient>();
  parked->keys = {"k"};
  int woken = 0;
  parked->wake = [&] { ++woken; };
  room.Attempt([&] { room.Park(parked); });
  EXPECT_TRUE(room.Interested());
  int retries = 0;
  const auto retry = [&](const ParkedClient&, std::vector<DatabaseKey>*) {
    return ++retries == 1 ? std::string() : std::string("+served\r\n");
  };
  room.Signal({{0, "other"}}, retry);
  EXPECT_EQ(retries, 0);
  room.Signal({{0, "k"}}, retry);  // still nothing for it
  EXPECT_EQ(room.Served(*parked), std::nullopt);
  room.Signal({{0, ""}}, retry);  // every key of database 0 (SWAPDB)
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(room.Served(*parked), "+served\r\n");
  EXPECT_EQ(room.Cancel(*parked), "+served\r\n");  // served first
  EXPECT_FALSE(room.Interested());
}

}  // namespace
}  // namespace xdpkv
