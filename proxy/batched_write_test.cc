// BpfStore::WriteMany (one run of xdpkv_store_write for up to
// XDPKV_WRITE_BATCH writes) against the one-key path (Set, Mutate), and
// RespSession's pipelined runs of SET/INCR/INCRBY/DECR/DECRBY/MSET against
// the same commands answered one by one; then the batched writes racing
// the one-key path and the XDP program on the same keys, on both CPUs:
// no increment lost, no value torn (counted and printed).
// Needs BPF rights (root); skipped, saying why, without them.
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "protocol/values.h"
#include "proxy/bpf_store.h"
#include "proxy/session.h"
#include "proxy/testing/memory_store.h"
#include "proxy/testing/packets.h"
#include "proxy/testing/races.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {
namespace {

using testing::BuildPacket;
using testing::EveryByteValue;
using testing::Frame;
using testing::RespCommand;
using testing::RunXdp;

#define LOAD_OR_SKIP(loader)                                                      \
  auto loader##_loaded = XdpLoader::Load(XdpConfig{});                            \
  if (!loader##_loaded.ok()) {                                                    \
    GTEST_SKIP() << "no BPF rights here: " << loader##_loaded.status().message(); \
  }                                                                               \
  std::unique_ptr<XdpLoader> loader = std::move(*loader##_loaded)

// INCRBY as Redis's handler decides it (redis_strings.cc), through Mutate:
// the one-key path. nullopt on any error.
std::optional<int64_t> IncrByOneKey(Store& store, std::string_view key, int64_t delta) {
  std::optional<int64_t> result;
  auto mutated = store.Mutate(key, [&](const std::optional<StoredItem>& current) {
    result.reset();
    int64_t value = 0;
    if (current && current->type != ValueType::kString) return Mutation::Keep();
    if (current) {
      const auto parsed = ParseRedisInteger(current->value);
      if (!parsed) return Mutation::Keep();
      value = *parsed;
    }
    int64_t sum;
    if (__builtin_add_overflow(value, delta, &sum)) return Mutation::Keep();
    result = sum;
    return Mutation::Rewrite(current, std::to_string(sum));
  });
  if (!mutated.ok()) return std::nullopt;
  return result;
}

BatchedWrite SetOf(std::string_view key, std::string_view value) {
  return {BatchedWrite::kSet, key, value, 0, true};
}
BatchedWrite IncrOf(std::string_view key, int64_t delta) {
  return {BatchedWrite::kIncrBy, key, {}, delta, false};
}

// The same starting items in a store.
void Populate(Store& store, uint64_t now) {
  ASSERT_TRUE(store.Set("text", "hello", 3, 0).ok());
  ASSERT_TRUE(store.Set("num", "41", 7, now + 3'600'000).ok());  // flags and a TTL kept by INCR
  ASSERT_TRUE(store.Set("neg", "-5", 0, 0).ok());
  ASSERT_TRUE(store.Set("long", "-99999999999999999", 0, 0).ok());  // 18 characters
  ASSERT_TRUE(store.Set("big", EveryByteValue(3000, 1), 0, 0).ok());
  ASSERT_TRUE(store.Set("ttl", "x", 0, now + 3'600'000).ok());  // SET clears it
  ASSERT_TRUE(store.Set("gone", "1", 0, now - 1).ok());         // expired
}

void ExpectSameItem(Store& a, Store& b, std::string_view key) {
  // Redis's LFU counter: a new item's, or kept over a rewrite (looked at
  // without touching it).
  auto peek_a = a.Peek(key);
  auto peek_b = b.Peek(key);
  ASSERT_TRUE(peek_a.ok() && peek_b.ok()) << key;
  if (*peek_a && *peek_b) EXPECT_EQ((*peek_a)->lfu, (*peek_b)->lfu) << key;
  auto x = a.Get(key);
  auto y = b.Get(key);
  ASSERT_TRUE(x.ok() && y.ok()) << key;
  ASSERT_EQ(x->has_value(), y->has_value()) << key;
  if (!x->has_value()) return;
  EXPECT_EQ((*x)->value, (*y)->value) << key;
  EXPECT_EQ((*x)->flags, (*y)->flags) << key;
  EXPECT_EQ((*x)->type, (*y)->type) << key;
  EXPECT_EQ((*x)->mc_bits, (*y)->mc_bits) << key;
  EXPECT_EQ((*x)->expires_at_ms != 0, (*y)->expires_at_ms != 0) << key;
}

TEST(BatchedWrites, WriteManyWritesAsSetAndMutateDo) {
  LOAD_OR_SKIP(batched_loader);
  LOAD_OR_SKIP(one_key_loader);
  auto batched = BpfStore::ForLoader(*batched_loader);
  auto one_key = BpfStore::ForLoader(*one_key_loader);
  const uint64_t now = NowBootMs();
  Populate(*batched, now);
  Populate(*one_key, now);
  auto num_before = batched->Get("num");
  ASSERT_TRUE(num_before.ok() && *num_before);

  const std::string big_value = EveryByteValue(2000, 2);
  std::vector<BatchedWrite> writes = {
      SetOf("new", "v1"),        // insert
      SetOf("big", "small"),     // over a blob: the blob freed
      SetOf("text", big_value),  // a new blob
      IncrOf("num", 1),          // keeps flags and TTL
      IncrOf("neg", 5),          // -5 + 5 = 0
      IncrOf("neg", -1),         // "0" -> -1
      IncrOf("long", -1),        // 18 characters, the longest done here
      IncrOf("fresh", -7),       // absent: the increment
      SetOf("ttl", "y"),         // SET without EX clears the TTL
      SetOf("gone", "back"),     // over an expired version
      IncrOf("fresh", 1000000000000000000),
      SetOf("new", "v2"),  // the same key twice, in order
  };
  std::vector<int64_t> numbers(writes.size());
  ASSERT_EQ(batched->WriteMany(writes, numbers), writes.size());
  for (size_t i = 0; i < writes.size(); ++i) {
    const BatchedWrite& w = writes[i];
    if (w.kind == BatchedWrite::kSet) {
      ASSERT_TRUE(one_key->Set(w.key, w.value, 0, 0).ok());
    } else {
      EXPECT_EQ(IncrByOneKey(*one_key, w.key, w.delta), numbers[i]) << w.key;
    }
  }
  EXPECT_EQ(numbers[3], 42);
  EXPECT_EQ(numbers[6], -100000000000000000);
  EXPECT_EQ(numbers[10], 1000000000000000000 - 7);
  for (const char* key : {"new", "big", "text", "num", "neg", "long", "fresh", "ttl", "gone"}) {
    ExpectSameItem(*batched, *one_key, key);
  }
  auto num = batched->Get("num");
  ASSERT_TRUE(num.ok() && *num);
  EXPECT_EQ((*num)->expires_at_ms, (*num_before)->expires_at_ms);  // INCR keeps the TTL itself
  EXPECT_GT((*num)->cas, (*num_before)->cas);                      // and takes a new CAS
  // The memory kept by every writer matches a fresh count: blobs freed
  // and items inserted were accounted for.
  auto counted = batched_loader->CountElementBytes();
  ASSERT_TRUE(counted.ok());
  EXPECT_EQ(__atomic_load_n(&batched_loader->memory()->used_bytes, __ATOMIC_RELAXED), *counted);
  EXPECT_EQ(batched->Counters().reclaimed, one_key->Counters().reclaimed);
  EXPECT_EQ(batched->Writes(), one_key->Writes());
}

TEST(BatchedWrites, StopsBeforeTheFirstWriteItCannotDo) {
  LOAD_OR_SKIP(loader);
  auto store = BpfStore::ForLoader(*loader);
  const uint64_t now = NowBootMs();
  ASSERT_TRUE(store->Set("text", "hello", 0, 0).ok());
  ASSERT_TRUE(store->Set("max", "9223372036854775806", 0, 0).ok());
  ASSERT_TRUE(store->Set("zeros", "007", 0, 0).ok());
  ASSERT_TRUE(store->Set("minus0", "-0", 0, 0).ok());
  ASSERT_TRUE(store->Set("space", " 1", 0, 0).ok());
  ASSERT_TRUE(store->Set("blob", std::string(200, '1'), 0, 0).ok());
  ASSERT_TRUE(store->Set("old", "5", 0, now - 1).ok());
  ASSERT_TRUE(store->Restore("list", "x", 0, 0, 0, ValueType::kList).ok());
  const std::string long_key(251, 'k');
  const std::string too_big(XDPKV_MAX_VALUE_LEN + 1, 'v');
  const std::vector<BatchedWrite> stoppers = {
      IncrOf("text", 1),
      IncrOf("max", 1),
      IncrOf("zeros", 1),
      IncrOf("minus0", 1),
      IncrOf("space", 1),
      IncrOf("blob", 1),
      IncrOf("old", 1),
      IncrOf("list", 1),
      IncrOf("fresh", std::numeric_limits<int64_t>::max()),
      SetOf(long_key, "v"),
      SetOf("", "v"),
      SetOf("huge", too_big),
  };
  const uint64_t used_before = __atomic_load_n(&loader->memory()->used_bytes, __ATOMIC_RELAXED);
  for (const BatchedWrite& stopper : stoppers) {
    SCOPED_TRACE(std::string(stopper.key.substr(0, 16)));
    ASSERT_TRUE(store->Delete("before").ok());
    ASSERT_TRUE(store->Delete("after").ok());
    // (Not "old": a read of an expired item deletes it.)
    const bool compare = !stopper.key.empty() && stopper.key != "old";
    auto stopper_before =
        compare ? store->Get(stopper.key) : absl::StatusOr<std::optional<StoredItem>>();
    // "after" has a blob, written and then freed again since not done.
    std::vector<BatchedWrite> writes = {SetOf("before", "1"), stopper,
                                        SetOf("after", EveryByteValue(5000, 3))};
    std::vector<int64_t> numbers(writes.size());
    EXPECT_EQ(store->WriteMany(writes, numbers), 1u);
    auto before = store->Get("before");
    ASSERT_TRUE(before.ok() && *before);
    EXPECT_EQ((*before)->value, "1");
    auto after = store->Get("after");
    ASSERT_TRUE(after.ok());
    EXPECT_FALSE(after->has_value());
    if (compare && stopper_before.ok()) {
      auto stopper_now = store->Get(stopper.key);
      ASSERT_TRUE(stopper_now.ok());
      ASSERT_EQ(stopper_now->has_value(), stopper_before->has_value());
      if (stopper_now->has_value()) {
        EXPECT_EQ((*stopper_now)->value, (**stopper_before).value);
        EXPECT_EQ((*stopper_now)->cas, (**stopper_before).cas);  // untouched
      }
    }
  }
  ASSERT_TRUE(store->Delete("before").ok());
  auto counted = loader->CountElementBytes();
  ASSERT_TRUE(counted.ok());
  const uint64_t used = __atomic_load_n(&loader->memory()->used_bytes, __ATOMIC_RELAXED);
  EXPECT_EQ(used, *counted);
  EXPECT_LE(used, used_before);  // "old" went (read expired); nothing leaked
}

TEST(BatchedWrites, MoreWritesThanABatchInOrder) {
  LOAD_OR_SKIP(loader);
  auto store = BpfStore::ForLoader(*loader);
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) keys.push_back("k" + std::to_string(i % 7));
  std::vector<BatchedWrite> writes;
  for (int i = 0; i < 100; ++i) {
    writes.push_back(i % 3 == 2 ? SetOf(keys[i], "10") : IncrOf(keys[i], i));
  }
  std::vector<int64_t> numbers(writes.size());
  ASSERT_EQ(store->WriteMany(writes, numbers), writes.size());
  // The same sequence, in order, in plain arithmetic.
  std::map<std::string, int64_t> model;
  for (int i = 0; i < 100; ++i) {
    if (i % 3 == 2) {
      model[keys[i]] = 10;
    } else {
      model[keys[i]] += i;
      EXPECT_EQ(numbers[i], model[keys[i]]) << i;
    }
  }
  for (const auto& [key, value] : model) {
    auto item = store->Get(key);
    ASSERT_TRUE(item.ok() && *item);
    EXPECT_EQ((*item)->value, std::to_string(value));
  }
}

// ---- RespSession: runs of pipelined writes ------------------------------------

struct Server {
  RuntimeConfig runtime;
  ServerStats stats;
  ServerContext context;
  Server() {
    context.now_boot_ms = [] { return NowBootMs(); };
    context.runtime = &runtime;
    context.stats = &stats;
  }
};

std::string Pipeline(const std::vector<std::vector<std::string>>& commands) {
  std::string out;
  for (const auto& command : commands) {
    out += "*" + std::to_string(command.size()) + "\r\n";
    for (const auto& arg : command) out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
  }
  return out;
}

// Feeds `input` to a session until it is all answered (bounded).
std::string Answer(RespSession& session, std::string_view input) {
  std::string out;
  for (int turns = 0; turns < 10000 && !input.empty(); ++turns) {
    const size_t used = session.Feed(input, &out);
    input.remove_prefix(used);
  }
  return out;
}

TEST(BatchedWrites, APipelineRepliesAsTheCommandsOneByOne) {
  LOAD_OR_SKIP(loader);
  auto store = BpfStore::ForLoader(*loader);
  Server server;
  testing::MemoryStore memory;  // no batches: every command on its own
  memory.now_ms = NowBootMs();
  const std::vector<std::vector<std::string>> commands = {
      {"SET", "a", "abc"},
      {"INCR", "a"},
      {"SET", "a", "5"},
      {"incr", "a"},
      {"INCRBY", "n", "10"},
      {"DECR", "n"},
      {"DECRBY", "n", "-5"},
      {"INCRBY", "n", "x"},
      {"MSET", "m1", "1", "m2", "2", "n", "99"},
      {"INCR", "n"},
      {"LPUSH", "l", "x"},
      {"INCR", "l"},
      {"SET", "l", "7"},
      {"INCR", "l"},
      {"SET", "big", "9223372036854775806"},
      {"INCR", "big"},
      {"INCR", "big"},
      {"GET", "big"},
      {"DECRBY", "n", "-9223372036854775808"},
      {"SET", "neg", "-17"},
      {"INCRBY", "neg", "7"},
      {"INCRBY", "neg", "10"},
      {"DECR", "neg"},
      {"GET", "neg"},
      {"GET", "n"},
      {"MSET", "m1"},
      {"SET", "s", "1", "NX"},
      {"SET", "s", "2"},
      {"SET", "s", "3", "GET"},
      {"INCR", "s"},
      {"INCR"},
      {"MSET", "x", std::string(500, 'v')},
      {"GET", "x"},
      {"MGET", "m1", "m2", "a", "l", "s"},
  };
  std::string expected, got;
  {
    RespSession one_by_one(memory, server.context);
    for (const auto& command : commands) {
      expected += Answer(one_by_one, Pipeline({command}));
    }
  }
  for (int round = 0; round < 2; ++round) {  // the second over what the first left
    RespSession pipelined(*store, server.context);
    got = Answer(pipelined, Pipeline(commands));
    if (round == 0) EXPECT_EQ(got, expected);
  }
  RespSession fresh(memory, server.context);
  // The second round ran over the first's keys: what MemoryStore gives.
  std::string expected_again = Answer(fresh, Pipeline(commands));
  EXPECT_EQ(got, expected_again);
}

TEST(BatchedWrites, AnMsetStoppedPartWayGoesOnByItself) {
  LOAD_OR_SKIP(loader);
  auto store = BpfStore::ForLoader(*loader);
  Server server;
  RespSession session(*store, server.context);
  const std::string long_key(251, 'k');
  const std::string out =
      Answer(session,
             Pipeline({{"INCR", "c"}, {"MSET", "a", "1", long_key, "2", "b", "3"}, {"INCR", "c"}}));
  EXPECT_EQ(out, ":1\r\n-ERR key length 251 outside 1..250\r\n:2\r\n");
  auto a = store->Get("a");
  auto b = store->Get("b");
  ASSERT_TRUE(a.ok() && *a && b.ok());
  EXPECT_EQ((*a)->value, "1");
  EXPECT_FALSE(b->has_value());  // as the one-key MSET: it stops at the error
}

TEST(BatchedWrites, ARunWritesTheSelectedDatabase) {
  LOAD_OR_SKIP(loader);
  auto store = BpfStore::ForLoader(*loader);
  Server server;
  RespSession session(*store, server.context);
  EXPECT_EQ(Answer(session, Pipeline({{"SELECT", "3"},
                                      {"SET", "k", "1"},
                                      {"INCR", "k"},
                                      {"MSET", "m", "x"},
                                      {"SELECT", "0"},
                                      {"GET", "k"},
                                      {"INCRBY", "k", "5"},
                                      {"SELECT", "3"},
                                      {"GET", "k"},
                                      {"GET", "m"}})),
            "+OK\r\n+OK\r\n:2\r\n+OK\r\n+OK\r\n$-1\r\n:5\r\n+OK\r\n$1\r\n2\r\n$1\r\nx\r\n");
}

TEST(BatchedWrites, TheOutputBoundNeverSplitsAWriteFromItsReply) {
  LOAD_OR_SKIP(loader);
  auto store = BpfStore::ForLoader(*loader);
  Server server;
  constexpr int kIncrs = 100;
  std::vector<std::vector<std::string>> commands(kIncrs, {"INCR", "bounded"});
  const std::string input = Pipeline(commands);
  // Room for a few replies per turn: each turn stops part way through a
  // run, and what it did not answer is parsed again next turn.
  RespSession session(*store, server.context, /*output_limit=*/60);
  std::string expected;
  for (int i = 1; i <= kIncrs; ++i) expected += ":" + std::to_string(i) + "\r\n";
  std::string_view rest = input;
  std::string all;
  int turns = 0;
  for (; turns < 1000 && !rest.empty(); ++turns) {
    std::string out;
    rest.remove_prefix(session.Feed(rest, &out));
    all += out;
  }
  EXPECT_GT(turns, 4);
  EXPECT_EQ(all, expected);
  auto item = store->Get("bounded");
  ASSERT_TRUE(item.ok() && *item);
  EXPECT_EQ((*item)->value, std::to_string(kIncrs));  // every INCR once
}

// ---- races -----------------------------------------------------------------------

using testing::PinToCpu;
using testing::Uniform;

bool Decimal(std::string_view value) { return ParseRedisInteger(value).has_value(); }

TEST(BatchedWrites, RacingTheOneKeyPathAndTheKernelNothingIsLostOrTorn) {
  LOAD_OR_SKIP(loader);
  auto store_owner = BpfStore::ForLoader(*loader);
  BpfStore& store = *store_owner;
  const std::vector<std::string> counters = {"ctr0", "ctr1", "ctr2"};
  constexpr char kTorn[] = "shared";
  constexpr int kRounds = 10000;  // per batched thread: 32 writes each
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  const int prog = loader->program_fd();
  ASSERT_TRUE(store.Set(kTorn, std::string(XDPKV_INLINE_VALUE_MAX, '0'), 0, 0).ok());
  for (const auto& key : counters) ASSERT_TRUE(store.Set(key, "0", 0, 0).ok());
  std::atomic<int64_t> increments{0};  // acknowledged, by anyone
  std::atomic<uint64_t> batched_writes{0}, one_key_writes{0}, xdp_sets{0}, reads{0}, torn{0},
      errors{0};
  std::atomic<bool> stop{false};

  // Batched: 32 writes a run, INCRs of the counters and SETs of `shared`
  // (self-checking values); what a run did not do, the one-key path does,
  // as the session would.
  auto batched = [&](int cpu) {
    PinToCpu(cpu);
    std::vector<BatchedWrite> writes;
    std::vector<std::string> values;
    for (int i = 0; i < XDPKV_WRITE_BATCH; ++i) {
      values.push_back(
          std::string(XDPKV_INLINE_VALUE_MAX, static_cast<char>('A' + (i + cpu) % 26)));
    }
    for (int round = 0; round < kRounds && std::chrono::steady_clock::now() < deadline; ++round) {
      writes.clear();
      for (int i = 0; i < XDPKV_WRITE_BATCH; ++i) {
        writes.push_back(i % 4 == 3 ? SetOf(kTorn, values[(round + i) % values.size()])
                                    : IncrOf(counters[(round + i) % counters.size()], 1));
      }
      std::vector<int64_t> numbers(writes.size());
      const size_t done = store.WriteMany(writes, numbers);
      batched_writes += done;
      for (size_t i = 0; i < writes.size(); ++i) {
        const BatchedWrite& w = writes[i];
        if (i < done) {
          if (w.kind == BatchedWrite::kIncrBy) increments++;
          continue;
        }
        if (w.kind == BatchedWrite::kIncrBy) {
          if (IncrByOneKey(store, w.key, 1)) {
            increments++;
          } else {
            errors++;
          }
        } else if (!store.Set(w.key, w.value, 0, 0).ok()) {
          errors++;
        }
      }
    }
  };
  // The one-key path: Mutate's INCR, as the handler without a batch.
  auto one_key = [&](int cpu) {
    PinToCpu(cpu);
    for (int i = 0; !stop && i < 20 * kRounds; ++i) {
      if (IncrByOneKey(store, counters[i % counters.size()], 1)) {
        increments++;
        one_key_writes++;
      } else {
        errors++;
      }
    }
  };
  // The kernel: XDP SETs of `shared`, and XDP GETs of every key, whose
  // values must be whole: one byte repeated, or a decimal integer.
  auto xdp = [&](int cpu) {
    PinToCpu(cpu);
    std::vector<std::string> gets;
    for (const auto& key : counters) {
      gets.push_back(BuildPacket(Frame(2) + RespCommand({"GET", key}), {.dest_port = 6379}));
    }
    const std::string get_shared =
        BuildPacket(Frame(2) + RespCommand({"GET", kTorn}), {.dest_port = 6379});
    const size_t shared_header = 14 + 20 + 8 + 8 + std::string_view("$128\r\n").size();
    for (int i = 0; !stop; ++i) {
      const std::string value(XDPKV_INLINE_VALUE_MAX, static_cast<char>('a' + i % 26));
      const std::string set =
          BuildPacket(Frame(1) + "set " + kTorn + " 0 0 128 noreply\r\n" + value + "\r\n");
      if (RunXdp(prog, set).verdict == 1 /* XDP_DROP: stored, noreply */) xdp_sets++;
      auto got = RunXdp(prog, get_shared);
      if (got.verdict == 3 && got.packet.size() >= shared_header + XDPKV_INLINE_VALUE_MAX) {
        reads++;
        if (!Uniform(std::string_view(got.packet).substr(shared_header, XDPKV_INLINE_VALUE_MAX))) {
          torn++;
        }
      }
      auto counter = RunXdp(prog, gets[i % gets.size()]);
      if (counter.verdict == 3) {
        // "$<n>\r\n<digits>\r\n" after the headers and the frame.
        const std::string_view reply = std::string_view(counter.packet).substr(14 + 20 + 8 + 8);
        const size_t start = reply.find("\r\n");
        if (reply.empty() || reply[0] != '$' || start == std::string_view::npos) {
          errors++;
          continue;
        }
        const std::string_view body = reply.substr(start + 2);
        const size_t end = body.find("\r\n");
        reads++;
        if (end == std::string_view::npos || !Decimal(body.substr(0, end))) torn++;
      }
    }
  };
  // Userspace reads of everything, batched (GetMany) and not.
  auto reader = [&](int cpu) {
    PinToCpu(cpu);
    std::vector<std::string_view> keys(counters.begin(), counters.end());
    keys.push_back(kTorn);
    while (!stop) {
      for (const auto& item : store.GetMany(keys)) {
        if (!item.ok() || !*item) continue;
        reads++;
        const std::string& value = (*item)->value;
        if (!(Uniform(value) || Decimal(value))) torn++;
      }
    }
  };

  std::vector<std::thread> writers, others;
  writers.emplace_back(batched, 0);
  writers.emplace_back(batched, 1);
  others.emplace_back(one_key, 1);
  others.emplace_back(xdp, 0);
  others.emplace_back(xdp, 1);
  others.emplace_back(reader, 0);
  for (auto& thread : writers) thread.join();
  stop = true;
  for (auto& thread : others) thread.join();

  int64_t total = 0;
  for (const auto& key : counters) {
    auto item = store.Get(key);
    ASSERT_TRUE(item.ok() && *item) << key;
    const auto value = ParseRedisInteger((*item)->value);
    ASSERT_TRUE(value.has_value()) << (*item)->value;
    total += *value;
  }
  auto shared = store.Get(kTorn);
  ASSERT_TRUE(shared.ok() && *shared);
  EXPECT_TRUE(Uniform((*shared)->value));
  std::printf(
      "batched-write race: %lld increments acknowledged, %lld counted (%llu batched writes, "
      "%llu one-key INCRs, %llu XDP SETs), %llu reads, %llu torn, %llu errors\n",
      static_cast<long long>(increments.load()), static_cast<long long>(total),
      static_cast<unsigned long long>(batched_writes.load()),
      static_cast<unsigned long long>(one_key_writes.load()),
      static_cast<unsigned long long>(xdp_sets.load()),
      static_cast<unsigned long long>(reads.load()), static_cast<unsigned long long>(torn.load()),
      static_cast<unsigned long long>(errors.load()));
  EXPECT_EQ(total, increments.load());
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_EQ(errors.load(), 0u);
  EXPECT_GT(batched_writes.load(), 0u);
  EXPECT_GT(xdp_sets.load(), 0u);
  auto counted = loader->CountElementBytes();
  ASSERT_TRUE(counted.ok());
  EXPECT_EQ(__atomic_load_n(&loader->memory()->used_bytes, __ATOMIC_RELAXED), *counted);
}

}  // namespace
}  // namespace xdpkv
