// xdpkv-wake-latency: how long this machine takes to run a thread woken
// from another CPU: the floor under every request's latency here, since a
// request wakes the server's NAPI thread on one CPU and its reply the
// client's on the other.
// A thread on --from wakes a thread sleeping on --to (futex), which
// records the time from the wake call to running; repeated --samples
// times with a pause between. Prints JSON: p50, p99, p99.9, max in us, and
// how many wakes took over 1 ms.
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);
}

long Futex(std::atomic<uint32_t>* word, int op, uint32_t value) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, value, nullptr, nullptr, 0);
}

}  // namespace

int main(int argc, char** argv) {
  int from = 0, to = 1, samples = 20000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--from") from = std::stoi(argv[i + 1]);
    else if (flag == "--to") to = std::stoi(argv[i + 1]);
    else if (flag == "--samples") samples = std::stoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: xdpkv-wake-latency [--from CPU] [--to CPU] [--samples N]\n");
      return 2;
    }
  }
  std::atomic<uint32_t> turn{0};  // 1: the sleeper may run
  std::atomic<int64_t> woken_at{0};
  std::vector<int64_t> delays;
  delays.reserve(static_cast<size_t>(samples));
  std::thread sleeper([&] {
    PinTo(to);
    for (int i = 0; i < samples; ++i) {
      while (turn.load() == 0) Futex(&turn, FUTEX_WAIT_PRIVATE, 0);
      delays.push_back(NowNs() - woken_at.load());
      turn.store(0);
    }
  });
  PinTo(from);
  for (int i = 0; i < samples; ++i) {
    // Let the sleeper block (and its CPU go idle) before each wake.
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    while (turn.load() != 0) std::this_thread::yield();
    woken_at.store(NowNs());
    turn.store(1);
    Futex(&turn, FUTEX_WAKE_PRIVATE, 1);
  }
  sleeper.join();
  std::sort(delays.begin(), delays.end());
  const auto at = [&](double q) {
    return delays[std::min(delays.size() - 1, static_cast<size_t>(q * double(delays.size())))] / 1e3;
  };
  const long over_1ms = std::count_if(delays.begin(), delays.end(),
                                      [](int64_t d) { return d > 1000000; });
  std::printf("{\"from_cpu\": %d, \"to_cpu\": %d, \"samples\": %d, \"p50_us\": %.1f, "
              "\"p99_us\": %.1f, \"p999_us\": %.1f, \"max_us\": %.1f, \"over_1ms\": %ld}\n",
              from, to, samples, at(0.5), at(0.99), at(0.999), delays.back() / 1e3, over_1ms);
  return 0;
}
