// Helpers of the race tests (xdp_concurrency_test, batched_write_test):
// threads pinned to a CPU, and the check for a torn 128-byte value.
#ifndef XDPKV_PROXY_TESTING_RACES_H_
#define XDPKV_PROXY_TESTING_RACES_H_

#include <pthread.h>
#include <sched.h>

#include <string_view>
#include <thread>

#include "proxy/store_layout.h"

namespace xdpkv::testing {

// Pins the calling thread to `cpu` (modulo the machine's CPUs).
inline void PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % static_cast<int>(std::thread::hardware_concurrency()), &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// True when `value` is XDPKV_INLINE_VALUE_MAX copies of one byte: what the
// race tests write, so any mix of two writes shows.
inline bool Uniform(std::string_view value) {
  return value.size() == XDPKV_INLINE_VALUE_MAX &&
         value.find_first_not_of(value[0]) == std::string_view::npos;
}

}  // namespace xdpkv::testing

#endif  // XDPKV_PROXY_TESTING_RACES_H_
