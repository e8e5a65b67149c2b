// xdpkv-xdp-cost: what one request costs the XDP program, and what one item
// costs the store. Prints JSON.
//
// Per-request cost: the kernel's own timing (BPF_PROG_TEST_RUN `duration`)
// of single runs, each on a fresh copy of the request, averaged; checked
// against the program's counters so every run is known to have taken the
// path it is reported under. Single runs are cache-cold (a syscall between
// each), so this is an upper bound on the program's cost.
//
// Not used, and why (measured here, kernel 6.18): repeated runs re-feed the
// rewritten reply (platform.md), and BPF_F_TEST_XDP_LIVE_FRAMES does too for
// a program that rewrites its packet: recycled page-pool pages keep the
// reply, so after the first batch of 64 frames every repetition saw our own
// reply (ports swapped) and was passed as not ours. A steady-state number
// needs a generator that writes every frame (bench/, the XDP generator).
//
// Bytes per item: the store maps' own accounting (`memlock` in fdinfo)
// before and after inserting --items items.
#include <linux/bpf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "bpf/bpf.h"
#include "proxy/bpf_store.h"
#include "proxy/testing/packets.h"
#include "proxy/xdp_loader.h"

namespace {

using xdpkv::testing::BuildPacket;
using xdpkv::testing::Frame;
using xdpkv::testing::PacketOptions;
using xdpkv::testing::RespCommand;

struct Options {
  uint32_t runs = 200000;
  uint32_t items = 200000;
};

uint64_t TotalCount(const xdpkv::XdpLoader& loader, xdpkv_proto proto, xdpkv_reason reason) {
  auto counters = loader.ReadCounters();
  return counters.ok() ? counters->Get(proto, reason) : 0;
}

// The program alone: the kernel's own timing of single runs (each on a
// fresh copy of the packet), averaged over `runs`.
double ProgramOnlyNs(int prog_fd, const std::string& packet, uint32_t runs) {
  // (callers check the counters: see main)
  std::string out(4096, '\0');
  unsigned long long total = 0;
  for (uint32_t i = 0; i < runs; ++i) {
    std::string data = packet;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data.data(), .data_out = out.data(),
                .data_size_in = static_cast<__u32>(data.size()),
                .data_size_out = static_cast<__u32>(out.size()), .repeat = 1);
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) return -errno;
    total += opts.duration;
  }
  return static_cast<double>(total) / runs;
}

long long MemlockBytes(int map_fd) {
  std::ifstream fdinfo("/proc/self/fdinfo/" + std::to_string(map_fd));
  std::string line;
  while (std::getline(fdinfo, line)) {
    if (line.rfind("memlock:", 0) == 0) return std::stoll(line.substr(8));
  }
  return -1;
}

std::string Key(size_t len, uint32_t i) {
  std::string key = std::to_string(i);
  return std::string(len - key.size(), 'k') + key;
}

// Bytes the store grows by per item of this shape.
double BytesPerItem(xdpkv::XdpLoader& loader, size_t key_len, size_t value_len, uint32_t items) {
  auto store_owner = xdpkv::BpfStore::ForLoader(loader);
  xdpkv::BpfStore& store = *store_owner;
  // The item's map, plus its blob's map for values that are not inline.
  const int fd = loader.item_map_fds()[xdpkv::KeyClassOf(key_len)];
  const int blob_fd = value_len > XDPKV_INLINE_VALUE_MAX
                          ? loader.blob_map_fds()[xdpkv::BlobClassOf(value_len)]
                          : -1;
  auto memlock = [&] { return MemlockBytes(fd) + (blob_fd >= 0 ? MemlockBytes(blob_fd) : 0); };
  const long long before = memlock();
  const std::string value(value_len, 'v');
  for (uint32_t i = 0; i < items; ++i) {
    if (!store.Set(Key(key_len, i), value, 0, 0).ok()) return -1;
  }
  const long long after = memlock();
  for (uint32_t i = 0; i < items; ++i) (void)store.Delete(Key(key_len, i));
  return static_cast<double>(after - before) / items;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--runs") options.runs = static_cast<uint32_t>(std::stoul(argv[i + 1]));
    else if (flag == "--items") options.items = static_cast<uint32_t>(std::stoul(argv[i + 1]));
    else {
      std::fprintf(stderr, "usage: xdpkv-xdp-cost [--runs N] [--items N]\n");
      return 2;
    }
  }
  xdpkv::XdpConfig config;
  config.max_items_per_class = options.items + 16;
  auto loaded = xdpkv::XdpLoader::Load(config);
  if (!loaded.ok()) {
    std::fprintf(stderr, "xdpkv-xdp-cost: %s\n", std::string(loaded.status().message()).c_str());
    return 1;
  }
  xdpkv::XdpLoader& loader = **loaded;
  auto store_owner = xdpkv::BpfStore::ForLoader(loader);
  xdpkv::BpfStore& store = *store_owner;

  // The study's item: 16-byte key, 128-byte value.
  const std::string key = Key(16, 1);
  const std::string value(128, 'v');
  if (!store.Set(key, value, 0, 0).ok()) return 1;
  // Longer keys: what hashing and comparing a key class's bytes costs.
  const std::string key32 = Key(32, 1), key64 = Key(64, 1), key128 = Key(128, 1);
  for (const std::string& k : {key32, key64, key128}) {
    if (!store.Set(k, value, 0, 0).ok()) return 1;
  }
  PacketOptions resp;
  resp.dest_port = 6379;
  const struct {
    const char* name;
    std::string packet;
    xdpkv_proto proto;
    xdpkv_reason expected;
  } cases[] = {
      {"memcache_get_hit_16_128", BuildPacket(Frame(1) + "get " + key + "\r\n"),
       XDPKV_PROTO_MEMCACHE, XDPKV_GET_HIT},
      {"memcache_get_hit_32_128", BuildPacket(Frame(1) + "get " + key32 + "\r\n"),
       XDPKV_PROTO_MEMCACHE, XDPKV_GET_HIT},
      {"memcache_get_hit_64_128", BuildPacket(Frame(1) + "get " + key64 + "\r\n"),
       XDPKV_PROTO_MEMCACHE, XDPKV_GET_HIT},
      {"memcache_get_hit_128_128", BuildPacket(Frame(1) + "get " + key128 + "\r\n"),
       XDPKV_PROTO_MEMCACHE, XDPKV_GET_HIT},
      {"memcache_get_miss", BuildPacket(Frame(1) + "get " + Key(16, 2) + "\r\n"),
       XDPKV_PROTO_MEMCACHE, XDPKV_GET_MISS},
      {"memcache_set_16_128",
       BuildPacket(Frame(1) + "set " + key + " 0 0 128\r\n" + value + "\r\n"),
       XDPKV_PROTO_MEMCACHE, XDPKV_SET},
      {"resp_get_hit_16_128", BuildPacket(Frame(1) + RespCommand({"GET", key}), resp),
       XDPKV_PROTO_RESP, XDPKV_GET_HIT},
      {"resp_set_16_128", BuildPacket(Frame(1) + RespCommand({"SET", key, value}), resp),
       XDPKV_PROTO_RESP, XDPKV_SET},
      {"pass_incr", BuildPacket(Frame(1) + "incr " + key + " 1\r\n"), XDPKV_PROTO_MEMCACHE,
       XDPKV_PASS_UNSUPPORTED},
  };
  std::printf("{\n  \"method\": \"program_only_ns: kernel timing of %u single BPF_PROG_TEST_RUN "
              "runs per case on fresh packets, averaged (cache-cold upper bound); "
              "bytes_per_item: store maps' memlock growth over %u items\",\n",
              options.runs, options.items);
  std::printf("  \"program_only_ns\": {\n");
  for (size_t i = 0; i < std::size(cases); ++i) {
    const uint64_t before = TotalCount(loader, cases[i].proto, cases[i].expected);
    const double ns = ProgramOnlyNs(loader.program_fd(), cases[i].packet, options.runs);
    const uint64_t on_path = TotalCount(loader, cases[i].proto, cases[i].expected) - before;
    if (on_path != options.runs) {
      std::fprintf(stderr, "xdpkv-xdp-cost: %s: only %llu of %u runs took the expected path\n",
                   cases[i].name, static_cast<unsigned long long>(on_path), options.runs);
      return 1;
    }
    std::printf("    \"%s\": %.1f%s\n", cases[i].name, ns, i + 1 < std::size(cases) ? "," : "");
  }
  std::printf("  },\n  \"bytes_per_item\": {\n");
  std::printf("    \"key16_value128\": %.1f,\n", BytesPerItem(loader, 16, 128, options.items));
  std::printf("    \"key128_value128\": %.1f,\n", BytesPerItem(loader, 128, 128, options.items));
  std::printf("    \"key16_value1024\": %.1f,\n", BytesPerItem(loader, 16, 1024, options.items));
  std::printf("    \"key128_value1024\": %.1f,\n", BytesPerItem(loader, 128, 1024, options.items));
  std::printf("    \"key250_value0\": %.1f\n", BytesPerItem(loader, 250, 0, options.items));
  std::printf("  },\n  \"items_measured\": %u\n}\n", options.items);
  return 0;
}
