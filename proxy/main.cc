// xdpkv: the server binary. At this stage it loads the embedded XDP program
// with its pinned store, attaches it, and runs until SIGINT/SIGTERM, when it
// prints the fast path's counters. The TCP/UDP listeners come with the
// server work (docs/architecture.md).
#include <getopt.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "proxy/xdp_loader.h"

namespace {

constexpr char kVersion[] = "0.1.0";

void PrintCounters(const xdpkv::XdpLoader& loader) {
  auto counters = loader.ReadCounters();
  if (!counters.ok()) {
    std::fprintf(stderr, "xdpkv: %s\n", std::string(counters.status().message()).c_str());
    return;
  }
  std::printf("xdpkv: counters:%s\n", counters->Format().c_str());
}

void PrintUsage(FILE* out) {
  std::fprintf(out,
               "Usage: xdpkv [options]\n"
               "  --xdp-iface IFACE   interface to attach XDP to (repeatable; default lo)\n"
               "  --xdp-mode MODE     auto|native|generic|off (default auto: native where the\n"
               "                      driver supports it, generic on lo)\n"
               "  -U, --udp-port N    memcached UDP port the fast path answers (default 11211)\n"
               "  --redis-port N      RESP port (default 6379)\n"
               "  --pin-dir DIR       bpffs directory of the store (default /sys/fs/bpf/xdpkv);\n"
               "                      a restart serves what is pinned there\n"
               "  --fresh             drop the pinned store before starting\n"
               "  -h, --help          this text\n"
               "  -V, --version       print the version\n");
}

bool ParsePort(const char* text, uint16_t* port) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < 0 || value > 65535) return false;
  *port = static_cast<uint16_t>(value);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  enum { kXdpIface = 1000, kXdpMode, kRedisPort, kPinDir, kFresh };
  const option long_options[] = {
      {"xdp-iface", required_argument, nullptr, kXdpIface},
      {"xdp-mode", required_argument, nullptr, kXdpMode},
      {"udp-port", required_argument, nullptr, 'U'},
      {"redis-port", required_argument, nullptr, kRedisPort},
      {"pin-dir", required_argument, nullptr, kPinDir},
      {"fresh", no_argument, nullptr, kFresh},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},
      {nullptr, 0, nullptr, 0},
  };
  std::vector<std::string> interfaces;
  std::string mode = "auto";
  xdpkv::XdpConfig config;
  config.pin_dir = "/sys/fs/bpf/xdpkv";
  int opt;
  while ((opt = getopt_long(argc, argv, "U:hV", long_options, nullptr)) != -1) {
    switch (opt) {
      case kXdpIface:
        interfaces.emplace_back(optarg);
        break;
      case kXdpMode:
        mode = optarg;
        if (mode != "auto" && mode != "native" && mode != "generic" && mode != "off") {
          std::fprintf(stderr, "xdpkv: --xdp-mode must be auto, native, generic or off\n");
          return 2;
        }
        break;
      case 'U':
        if (!ParsePort(optarg, &config.memcache_udp_port)) {
          std::fprintf(stderr, "xdpkv: bad port '%s'\n", optarg);
          return 2;
        }
        break;
      case kRedisPort:
        if (!ParsePort(optarg, &config.resp_udp_port)) {
          std::fprintf(stderr, "xdpkv: bad port '%s'\n", optarg);
          return 2;
        }
        break;
      case kPinDir:
        config.pin_dir = optarg;
        break;
      case kFresh:
        config.fresh = true;
        break;
      case 'h':
        PrintUsage(stdout);
        return 0;
      case 'V':
        std::printf("xdpkv %s\n", kVersion);
        return 0;
      default:
        PrintUsage(stderr);
        return 2;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "xdpkv: unexpected argument '%s'\n", argv[optind]);
    return 2;
  }
  if (interfaces.empty()) interfaces.emplace_back("lo");

  // Block the stop signals before anything starts, then wait for one.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<xdpkv::XdpLoader> loader;
  if (mode != "off") {
    auto loaded = xdpkv::XdpLoader::Load(config);
    if (!loaded.ok()) {
      std::fprintf(stderr, "xdpkv: %s\n", std::string(loaded.status().message()).c_str());
      return 1;
    }
    loader = std::move(*loaded);
    for (const std::string& interface : interfaces) {
      const bool generic = mode == "generic" || (mode == "auto" && interface == "lo");
      const auto xdp_mode = generic ? xdpkv::XdpMode::kGeneric : xdpkv::XdpMode::kNative;
      if (auto status = loader->Attach(interface, xdp_mode); !status.ok()) {
        std::fprintf(stderr, "xdpkv: %s\n", std::string(status.message()).c_str());
        return 1;
      }
      std::printf("xdpkv: XDP attached to %s (%s mode)\n", interface.c_str(),
                  xdpkv::XdpModeName(xdp_mode));
    }
  } else {
    std::printf("xdpkv: XDP off\n");
  }
  std::fflush(stdout);

  // Wait for a stop signal; meanwhile keep the XDP program's wall-clock
  // offset current (absolute exptimes) in case the clock is stepped.
  int signal_number = -1;
  const timespec tick{1, 0};
  while (signal_number < 0) {
    signal_number = sigtimedwait(&stop_signals, nullptr, &tick);
    if (loader) loader->RefreshClockOffset();
  }
  if (loader) PrintCounters(*loader);
  std::printf("xdpkv: signal %d, detaching and exiting\n", signal_number);
  return 0;
}
