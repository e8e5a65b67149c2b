// No torn reads: writers and readers of ONE key on both CPUs, through the
// XDP program (BPF_PROG_TEST_RUN) and through userspace (BpfStore), with
// self-checking values: every value is 128 copies of one byte, so a read
// that mixes two writes shows two different bytes. Counts are bounded; no
// timing is asserted.
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/bpf_store.h"
#include "proxy/testing/packets.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {
namespace {

using testing::BuildPacket;
using testing::Frame;
using testing::RunXdp;

constexpr int kWritesPerWriter = 200000;
constexpr int kReadsPerReader = 600000;
constexpr char kKey[] = "contended";

void PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % static_cast<int>(std::thread::hardware_concurrency()), &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// True when `value` is 128 copies of one byte.
bool Uniform(std::string_view value) {
  if (value.size() != XDPKV_INLINE_VALUE_MAX) return false;
  return value.find_first_not_of(value[0]) == std::string_view::npos;
}

struct Tally {
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> torn{0};
  std::atomic<uint64_t> errors{0};
};

TEST(NoTornReads, KernelAndUserspaceWritersAndReadersOnBothCpus) {
  auto loaded = XdpLoader::Load(XdpConfig{});
  if (!loaded.ok()) GTEST_SKIP() << "no BPF rights here, XDP not tested: " << loaded.status().message();
  std::unique_ptr<XdpLoader> loader = std::move(*loaded);
  auto store_owner = BpfStore::ForLoader(*loader);
  BpfStore& store = *store_owner;
  ASSERT_TRUE(store.Set(kKey, std::string(XDPKV_INLINE_VALUE_MAX, '0'), 0, 0).ok());
  const int prog = loader->program_fd();
  Tally tally;

  auto xdp_writer = [&](int cpu) {
    PinToCpu(cpu);
    for (int i = 0; i < kWritesPerWriter; ++i) {
      const std::string value(XDPKV_INLINE_VALUE_MAX, static_cast<char>('a' + i % 26));
      const std::string request = BuildPacket(Frame(1) + "set " + kKey + " 0 0 128 noreply\r\n" +
                                              value + "\r\n");
      if (RunXdp(prog, request).verdict != 1 /* XDP_DROP: stored, noreply */) tally.errors++;
    }
  };
  auto user_writer = [&](int cpu) {
    PinToCpu(cpu);
    for (int i = 0; i < kWritesPerWriter; ++i) {
      if (!store.Set(kKey, std::string(XDPKV_INLINE_VALUE_MAX, static_cast<char>('A' + i % 26)), 0,
                     0).ok()) {
        tally.errors++;
      }
    }
  };
  auto xdp_reader = [&](int cpu) {
    PinToCpu(cpu);
    const std::string request = BuildPacket(Frame(2) + "*2\r\n$3\r\nGET\r\n$9\r\n" + kKey + "\r\n",
                                            {.dest_port = 6379});
    const size_t header = 14 + 20 + 8 + 8 + std::string_view("$128\r\n").size();
    for (int i = 0; i < kReadsPerReader; ++i) {
      auto result = RunXdp(prog, request);
      if (result.verdict != 3 || result.packet.size() < header + XDPKV_INLINE_VALUE_MAX) {
        tally.errors++;
        continue;
      }
      tally.reads++;
      if (!Uniform(std::string_view(result.packet).substr(header, XDPKV_INLINE_VALUE_MAX))) {
        tally.torn++;
      }
    }
  };
  auto user_reader = [&](int cpu) {
    PinToCpu(cpu);
    for (int i = 0; i < kReadsPerReader; ++i) {
      auto item = store.Get(kKey);
      if (!item.ok() || !item->has_value()) {
        tally.errors++;
        continue;
      }
      tally.reads++;
      if (!Uniform((*item)->value)) tally.torn++;
    }
  };

  std::vector<std::thread> threads;
  threads.emplace_back(xdp_writer, 0);
  threads.emplace_back(user_writer, 1);
  threads.emplace_back(xdp_reader, 1);
  threads.emplace_back(xdp_reader, 0);
  threads.emplace_back(user_reader, 0);
  threads.emplace_back(user_reader, 1);
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(tally.errors.load(), 0u);
  EXPECT_EQ(tally.reads.load(), 4u * kReadsPerReader);
  EXPECT_EQ(tally.torn.load(), 0u);
  std::printf("no-torn-reads: %llu reads, %llu torn, %d writes\n",
              static_cast<unsigned long long>(tally.reads.load()),
              static_cast<unsigned long long>(tally.torn.load()), 2 * kWritesPerWriter);
}

}  // namespace
}  // namespace xdpkv
