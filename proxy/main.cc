// xdpkv: the server binary. Loads the embedded XDP program with its pinned
// store, attaches it (unless --xdp-mode off), serves memcached and RESP over
// TCP and UDP from the same maps, and on SIGINT/SIGTERM stops, prints the
// fast path's counters and detaches.
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "proxy/bpf_store.h"
#include "proxy/chores.h"
#include "proxy/persistence.h"
#include "proxy/server.h"
#include "proxy/xdp_loader.h"

namespace {

constexpr char kVersion[] = "0.1.0";

void PrintUsage(FILE* out) {
  std::fprintf(out,
               "Usage: xdpkv [options]\n"
               "  -p, --port N          memcached TCP port (default 11211; 0 = off; -1 = a free\n"
               "                        port the kernel picks, as memcached's -p -1)\n"
               "  -U, --udp-port N      memcached UDP port, also answered by XDP (default 11211;\n"
               "                        0 = off; -1 = a free port)\n"
               "      --redis-port N    RESP port, TCP and UDP (default 6379; 0 = off; -1 = a\n"
               "                        free port)\n"
               "  -l, --listen ADDR     address to listen on, IPv4 or IPv6 (repeatable;\n"
               "                        default 127.0.0.1)\n"
               "  -t, --threads N       event loops (default 2)\n"
               "  -c, --max-connections N  memcached clients at once (default 1024); more are\n"
               "                        told 'ERROR Too many open connections' and closed\n"
               "      --maxclients N    RESP clients at once (default 10000), as Redis's maxclients\n"
               "  -I, --max-item-size N largest value in bytes (default and maximum 1048576)\n"
               "  -m, --memory MB       memory limit of the store, as the kernel allocates it\n"
               "                        (its tables, items and values; default 64, as\n"
               "                        memcached). When full it evicts (--maxmemory-policy)\n"
               "      --maxmemory BYTES the same limit in Redis's terms (100mb, 2gb; 0 = none)\n"
               "      --maxmemory-policy POLICY  what to evict when full: allkeys-lru (default,\n"
               "                        as memcached), volatile-lru, allkeys-random,\n"
               "                        volatile-random, volatile-ttl, or noeviction (writes\n"
               "                        then get the peers' out-of-memory errors)\n"
               "  -M, --disable-evictions  memcached's -M: noeviction\n"
               "      --xdp-iface IFACE interface to attach XDP to (repeatable; default lo)\n"
               "      --xdp-mode MODE   auto|native|generic|off (default auto: native where the\n"
               "                        driver supports it, generic on lo; off = userspace only,\n"
               "                        same store)\n"
               "      --pin-dir DIR     bpffs directory of the store (default /sys/fs/bpf/xdpkv);\n"
               "                        a restart serves what is pinned there\n"
               "      --fresh           drop the pinned store before starting\n"
               "      --dir DIR         where the RDB dump is written and read (default: the\n"
               "                        current directory, as Redis)\n"
               "      --dbfilename NAME the dump's file name (default dump.rdb)\n"
               "      --save \"S C ...\"  save the dump after S seconds if C writes happened\n"
               "                        (pairs; repeatable; default \"\": no scheduled saves, the\n"
               "                        pinned store already survives restarts; Redis's schedule\n"
               "                        is \"3600 1 300 100 60 10000\"). With a schedule, SIGTERM\n"
               "                        and SHUTDOWN save as in Redis\n"
               "      --rdbcompression yes|no  LZF-compress dump strings (default yes)\n"
               "      --load-rdb FILE   start from FILE (an RDB dump, Redis's or ours) instead of\n"
               "                        DIR/NAME; the store must be new (use --fresh). Without it,\n"
               "                        a new store (after a reboot, or --fresh) loads DIR/NAME\n"
               "                        if it exists. A corrupt dump stops the start\n"
               "      --enable-protected-configs yes|no  allow CONFIG SET dir and dbfilename\n"
               "                        (default no, as Redis 7)\n"
               "      --requirepass PASS  RESP clients must AUTH first (Redis's requirepass);\n"
               "                        UDP is then refused, by the kernel path too\n"
               "      --protected-mode yes|no  with no password, refuse RESP clients from other\n"
               "                        than loopback (default yes, as Redis)\n"
               "  -Y, --auth-file FILE  memcached clients must authenticate first with a\n"
               "                        user:password line of FILE (memcached's -Y); UDP is then\n"
               "                        refused, by the kernel path too\n"
               "      --udp-allow CIDR  sources whose UDP requests are answered, by the kernel\n"
               "                        path and userspace alike (repeatable), besides this host\n"
               "                        (127.0.0.0/8 and ::1/128, always). XDP runs before netfilter:\n"
               "                        iptables rules do not see what it answers, this list is\n"
               "                        the control. E.g. --udp-allow 10.0.0.0/8\n"
               "      --udp-max-reply-bytes N  most UDP reply bytes (frame headers included) one\n"
               "                        request datagram from a non-loopback source gets; more is\n"
               "                        one error instead (default 400: a 15-byte `get k` gets at\n"
               "                        most ~10x its size back)\n"
               "Exposed by default: TCP and UDP on 127.0.0.1 only, UDP answered for this host\n"
               "only. To serve other hosts: -l ADDR (or 0.0.0.0) and, for UDP, --udp-allow.\n"
               "  -h, --help            this text\n"
               "  -V, --version         print the version\n"
               "With MEMCACHED_PORT_FILENAME set, the bound ports are written to that file once\n"
               "serving, in memcached's format plus a RESP line (docs/protocols.md).\n");
}

bool ParseNumber(const char* text, long max, long* out) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || value < 0 || value > max) return false;
  *out = value;
  return true;
}

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "xdpkv: %s\n", message.c_str());
  std::exit(1);
}

const xdpkv::XdpLoader* counters_source = nullptr;

uint64_t NowBootMs() { return xdpkv::NowBootMs(); }

// The chores' tick: active expiry runs this often (Redis: 10 Hz).
constexpr long kChoreTickNs = 100'000'000;
// Evictions a tick may do to keep room below the memory limit (a write
// that finds the store full evicts for itself as well).
constexpr size_t kEvictionsPerTick = 20000;

}  // namespace

int main(int argc, char** argv) {
  enum { kXdpIface = 1000, kXdpMode, kRedisPort, kPinDir, kFresh, kMaxClients };
  enum { kRequirePass = 1100, kProtectedMode };  // authentication (docs/protocols.md)
  enum { kUdpAllow = 1200, kUdpMaxReplyBytes };  // UDP admission (docs/architecture.md)
  enum { kMaxMemory = 1300, kMaxMemoryPolicy };  // memory limit (docs/protocols.md)
  enum { kDir = 1400, kDbFilename, kSave, kRdbCompression, kLoadRdb, kProtectedConfigs };
  const option long_options[] = {
      {"port", required_argument, nullptr, 'p'},
      {"udp-port", required_argument, nullptr, 'U'},
      {"redis-port", required_argument, nullptr, kRedisPort},
      {"listen", required_argument, nullptr, 'l'},
      {"threads", required_argument, nullptr, 't'},
      {"max-connections", required_argument, nullptr, 'c'},
      {"maxclients", required_argument, nullptr, kMaxClients},
      {"max-item-size", required_argument, nullptr, 'I'},
      {"memory", required_argument, nullptr, 'm'},
      {"maxmemory", required_argument, nullptr, kMaxMemory},
      {"maxmemory-policy", required_argument, nullptr, kMaxMemoryPolicy},
      {"disable-evictions", no_argument, nullptr, 'M'},
      {"xdp-iface", required_argument, nullptr, kXdpIface},
      {"xdp-mode", required_argument, nullptr, kXdpMode},
      {"pin-dir", required_argument, nullptr, kPinDir},
      {"fresh", no_argument, nullptr, kFresh},
      {"requirepass", required_argument, nullptr, kRequirePass},
      {"protected-mode", required_argument, nullptr, kProtectedMode},
      {"auth-file", required_argument, nullptr, 'Y'},
      {"udp-allow", required_argument, nullptr, kUdpAllow},
      {"udp-max-reply-bytes", required_argument, nullptr, kUdpMaxReplyBytes},
      {"dir", required_argument, nullptr, kDir},
      {"dbfilename", required_argument, nullptr, kDbFilename},
      {"save", required_argument, nullptr, kSave},
      {"rdbcompression", required_argument, nullptr, kRdbCompression},
      {"load-rdb", required_argument, nullptr, kLoadRdb},
      {"enable-protected-configs", required_argument, nullptr, kProtectedConfigs},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},
      {nullptr, 0, nullptr, 0},
  };
  std::vector<std::string> interfaces;
  std::string mode = "auto";
  xdpkv::XdpConfig xdp;
  xdp.pin_dir = "/sys/fs/bpf/xdpkv";
  xdp.memory_limit_bytes = uint64_t{64} << 20;  // memcached's default -m
  xdpkv::EvictionPolicy eviction_policy = xdpkv::EvictionPolicy::kAllKeysLru;
  xdpkv::ServerConfig server_config;
  std::vector<std::string> addresses;
  // This host always; --udp-allow adds networks (a loopback source off lo
  // is martian, never answered, so keeping it costs nothing).
  std::vector<std::string> udp_allow = xdpkv::DefaultUdpAllow();
  long number = 0;
  long max_connections = -1, max_clients = -1;  // -1: RuntimeConfig's defaults
  std::string requirepass, auth_file;
  bool protected_mode = true;
  // Persistence (docs/protocols.md, "Persistence").
  xdpkv::PersistenceConfig persistence_config;
  persistence_config.version = kVersion;
  bool save_given = false;
  std::string load_rdb;
  bool protected_configs = false;
  int opt;
  auto port = [&](const char* text) -> int {
    if (std::string(text) == "-1") return xdpkv::kAnyPort;
    if (!ParseNumber(text, 65535, &number)) Fail(absl::StrCat("bad port '", text, "'"));
    return static_cast<int>(number);
  };
  while ((opt = getopt_long(argc, argv, "p:U:l:t:c:I:m:MY:hV", long_options, nullptr)) != -1) {
    switch (opt) {
      case 'p':
        server_config.memcache_tcp_port = port(optarg);
        break;
      case 'U':
        server_config.memcache_udp_port = port(optarg);
        break;
      case kRedisPort:
        server_config.resp_port = port(optarg);
        break;
      case 'l':
        addresses.emplace_back(optarg);
        break;
      case 't':
        if (!ParseNumber(optarg, 256, &number) || number < 1) {
          Fail(absl::StrCat("--threads must be 1..256, not '", optarg, "'"));
        }
        server_config.threads = static_cast<int>(number);
        break;
      case 'c':
        if (!ParseNumber(optarg, 1 << 24, &max_connections) || max_connections < 1) {
          Fail(absl::StrCat("--max-connections must be 1..16777216, not '", optarg, "'"));
        }
        break;
      case kMaxClients:
        if (!ParseNumber(optarg, 1 << 24, &max_clients) || max_clients < 1) {
          Fail(absl::StrCat("--maxclients must be 1..16777216, not '", optarg, "'"));
        }
        break;
      case 'm':
        if (!ParseNumber(optarg, 1 << 20, &number) || number < 1) {
          Fail(absl::StrCat("--memory must be 1..1048576 megabytes, not '", optarg, "'"));
        }
        xdp.memory_limit_bytes = static_cast<uint64_t>(number) << 20;
        break;
      case kMaxMemory: {
        const auto bytes = xdpkv::ParseMemoryAmount(optarg);
        if (!bytes || *bytes > (uint64_t{1} << 40)) {
          Fail(absl::StrCat("--maxmemory must be bytes (or 100mb, 2gb...) up to 1tb, not '",
                            optarg, "'"));
        }
        xdp.memory_limit_bytes = *bytes;
        break;
      }
      case kMaxMemoryPolicy: {
        const auto policy = xdpkv::ParseEvictionPolicy(optarg);
        if (!policy) {
          Fail(absl::StrCat("--maxmemory-policy must be noeviction, allkeys-lru, volatile-lru, "
                            "allkeys-random, volatile-random or volatile-ttl, not '",
                            optarg, "'"));
        }
        eviction_policy = *policy;
        break;
      }
      case 'M':
        eviction_policy = xdpkv::EvictionPolicy::kNoEviction;
        break;
      case 'I':
        if (!ParseNumber(optarg, XDPKV_MAX_VALUE_LEN, &number) || number < 1) {
          Fail(absl::StrCat("--max-item-size must be 1..", XDPKV_MAX_VALUE_LEN, " bytes"));
        }
        server_config.memcache_options.max_value_bytes = static_cast<size_t>(number);
        break;
      case kXdpIface:
        interfaces.emplace_back(optarg);
        break;
      case kXdpMode:
        mode = optarg;
        if (mode != "auto" && mode != "native" && mode != "generic" && mode != "off") {
          Fail("--xdp-mode must be auto, native, generic or off");
        }
        break;
      case kPinDir:
        xdp.pin_dir = optarg;
        break;
      case kFresh:
        xdp.fresh = true;
        break;
      case kRequirePass:
        requirepass = optarg;
        break;
      case kProtectedMode:
        if (std::string(optarg) != "yes" && std::string(optarg) != "no") {
          Fail("--protected-mode must be yes or no");
        }
        protected_mode = std::string(optarg) == "yes";
        break;
      case 'Y':
        auth_file = optarg;
        break;
      case kUdpAllow:
        if (auto cidr = xdpkv::ParseCidr(optarg); !cidr.ok()) {
          Fail(absl::StrCat("--udp-allow: ", cidr.status().message()));
        }
        udp_allow.emplace_back(optarg);
        break;
      case kUdpMaxReplyBytes:
        if (!ParseNumber(optarg, 1 << 30, &number)) {
          Fail(absl::StrCat("--udp-max-reply-bytes must be 0..1073741824, not '", optarg, "'"));
        }
        server_config.udp_max_reply_bytes = static_cast<uint32_t>(number);
        break;
      case kDir: {
        struct stat st {};
        if (stat(optarg, &st) != 0 || !S_ISDIR(st.st_mode)) {
          Fail(absl::StrCat("--dir ", optarg, ": not a directory"));
        }
        persistence_config.dir = optarg;
        break;
      }
      case kDbFilename:
        if (std::string_view(optarg).find('/') != std::string_view::npos || *optarg == '\0') {
          Fail("--dbfilename must be a file name, not a path");
        }
        persistence_config.dbfilename = optarg;
        break;
      case kSave: {
        // As redis.conf's `save` lines: the first replaces the default,
        // the next ones add; "" clears.
        const auto points = xdpkv::ParseSavePoints(optarg);
        if (!points) Fail(absl::StrCat("--save '", optarg, "': Invalid save parameters"));
        if (!save_given) persistence_config.save.clear();
        save_given = true;
        if (points->empty()) persistence_config.save.clear();
        persistence_config.save.insert(persistence_config.save.end(), points->begin(),
                                       points->end());
        break;
      }
      case kRdbCompression:
        if (std::string(optarg) != "yes" && std::string(optarg) != "no") {
          Fail("--rdbcompression must be yes or no");
        }
        persistence_config.compress = std::string(optarg) == "yes";
        break;
      case kLoadRdb:
        load_rdb = optarg;
        break;
      case kProtectedConfigs:
        if (std::string(optarg) != "yes" && std::string(optarg) != "no") {
          Fail("--enable-protected-configs must be yes or no");
        }
        protected_configs = std::string(optarg) == "yes";
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
  if (optind < argc) Fail(absl::StrCat("unexpected argument '", argv[optind], "'"));
  if (!addresses.empty()) server_config.addresses = addresses;
  server_config.udp_allow = udp_allow;
  if (interfaces.empty()) interfaces.emplace_back("lo");
  std::optional<xdpkv::MemcacheAuthFile> memcache_auth;
  if (!auth_file.empty()) {
    auto loaded_auth = xdpkv::MemcacheAuthFile::Load(auth_file);
    if (!loaded_auth.ok()) Fail(std::string(loaded_auth.status().message()));
    memcache_auth = std::move(*loaded_auth);
  }

  // As redis-server does: as many descriptors as allowed, for many clients.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  // Block the stop signals before any thread starts, so only sigtimedwait
  // below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Sockets first: with -1 ports the kernel picks them, and the XDP program
  // is loaded with the UDP ports it must answer. Nothing is served before
  // Run below (clients wait in the backlog).
  auto server = xdpkv::Server::Bind(server_config);
  if (!server.ok()) Fail(std::string(server.status().message()));
  const xdpkv::BoundPorts ports = (*server)->ports();
  xdp.memcache_udp_port = ports.memcache_udp;
  xdp.resp_udp_port = ports.resp;
  // The kernel path admits what userspace would (docs/architecture.md).
  xdp.listen_addresses = server_config.addresses;
  xdp.udp_allow = server_config.udp_allow;
  xdp.max_reply_bytes = server_config.udp_max_reply_bytes;
  xdp.other_service_ports = {ports.memcache_tcp};

  // The store is the BPF maps whatever the mode: --xdp-mode off only leaves
  // the program unattached. A new store is pinned only once the dump is
  // loaded into it: a server that dies while loading leaves none behind.
  xdp.defer_pinning_new_store = true;
  auto loaded = xdpkv::XdpLoader::Load(xdp);
  if (!loaded.ok()) Fail(std::string(loaded.status().message()));
  std::unique_ptr<xdpkv::XdpLoader> loader = std::move(*loaded);
  counters_source = loader.get();
  auto store = xdpkv::BpfStore::ForLoader(*loader);
  store->SetEvictionPolicy(eviction_policy);

  // Redis's dirty counter: userspace's writes plus the kernel's stored
  // SETs and DELETEs (its counters only grow).
  auto changes = [store = store.get(), loader = loader.get()] {
    uint64_t n = store->Writes();
    if (auto counters = loader->ReadCounters(); counters.ok()) {
      for (xdpkv_proto proto : {XDPKV_PROTO_MEMCACHE, XDPKV_PROTO_RESP}) {
        n += counters->Get(proto, XDPKV_SET) + counters->Get(proto, XDPKV_DELETE_HIT);
      }
    }
    return n;
  };
  xdpkv::Persistence persistence(*store, persistence_config, changes, xdpkv::UnixMinusBootMs);
  // The dump is loaded into a new store only: one pinned store is the
  // newer data (it survived a restart the dump was written before).
  std::string load_path = load_rdb;
  if (!load_rdb.empty() && !loader->store_created()) {
    Fail(absl::StrCat("--load-rdb: the store pinned in ", xdp.pin_dir,
                      " was kept, and a dump is loaded into a new store only: add --fresh to "
                      "drop it first"));
  }
  if (load_path.empty() && loader->store_created() && access(persistence.path().c_str(), F_OK) == 0) {
    load_path = persistence.path();
  }
  if (!load_path.empty()) {
    std::printf("xdpkv: loading %s\n", load_path.c_str());
    std::fflush(stdout);
    xdpkv::LoadOptions load_options;
    load_options.unix_minus_boot_ms = xdpkv::UnixMinusBootMs();
    load_options.now_unix_ms =
        static_cast<int64_t>(xdpkv::NowBootMs()) + load_options.unix_minus_boot_ms;
    load_options.max_value_bytes = server_config.memcache_options.max_value_bytes;
    timespec load_start{}, load_end{};
    clock_gettime(CLOCK_MONOTONIC, &load_start);
    auto result = xdpkv::LoadRdbFile(*store, load_path, load_options);
    clock_gettime(CLOCK_MONOTONIC, &load_end);
    if (!result.ok()) {
      // Nothing is pinned yet: the maps go with the process, and the next
      // start tries the dump again.
      Fail(absl::StrCat("refusing to start: cannot load the dump ",
                        std::string(result.status().message()),
                        " (the store was left empty and unpinned; move the file away to start "
                        "without it)"));
    }
    const double seconds = static_cast<double>(load_end.tv_sec - load_start.tv_sec) +
                           static_cast<double>(load_end.tv_nsec - load_start.tv_nsec) / 1e9;
    std::printf("xdpkv: loaded %llu keys from %s (%llu bytes) in %.3f s; %llu expired keys "
                "dropped%s\n",
                static_cast<unsigned long long>(result->loaded), load_path.c_str(),
                static_cast<unsigned long long>(result->bytes), seconds,
                static_cast<unsigned long long>(result->expired),
                result->stats.checksum_verified ? ", checksum OK" : "");
    for (const std::string& warning : result->warnings) {
      std::fprintf(stderr, "xdpkv: warning: %s: %s\n", load_path.c_str(), warning.c_str());
    }
    persistence.NoteLoad(*result);
  }
  if (auto status = loader->PinStore(); !status.ok()) Fail(std::string(status.message()));

  static xdpkv::ServerStats stats;
  static std::atomic<uint64_t> flush_at{0};  // flush_all with a delay (boot ms); 0: none
  static xdpkv::RuntimeConfig runtime;
  static std::shared_mutex transactions;
  xdpkv::ServerContext context;
  context.version = kVersion;
  context.memcache_version = absl::StrCat("1.6.18-xdpkv-", kVersion);
  context.stats = &stats;
  context.transactions = &transactions;
  static xdpkv::BlockingRoom blocking;  // outlives the server's loops
  context.blocking = &blocking;
  context.tcp_port = ports.resp;
  context.threads = server_config.threads;
  context.max_item_size = server_config.memcache_options.max_value_bytes;
  context.schedule_flush = [](uint64_t at_ms) { flush_at.store(at_ms); };
  context.runtime = &runtime;
  if (max_connections > 0) runtime.memcache_max_connections = static_cast<uint32_t>(max_connections);
  if (max_clients > 0) runtime.maxclients = static_cast<uint32_t>(max_clients);
  runtime.requirepass.Set(requirepass);
  runtime.protected_mode = protected_mode;
  if (memcache_auth) context.memcache_auth = &*memcache_auth;
  // The kernel path answers UDP without a session: with auth on it is not
  // attached, and CONFIG SET requirepass cannot turn auth on under it,
  // until the program can be told to stop answering (docs/protocols.md).
  const bool attach_xdp = mode != "off" && !xdpkv::AuthOn(context);
  if (attach_xdp) {
    context.kernel_auth_gate = [](bool auth_on) {
      return auth_on ? absl::FailedPreconditionError(
                           "the XDP fast path is attached and answers UDP without AUTH; start "
                           "with --requirepass, or with --xdp-mode off")
                     : absl::OkStatus();
    };
  }
  context.xdp_counters = [] {
    xdpkv::ServerContext::NamedCounters named;
    auto counters = counters_source->ReadCounters();
    if (!counters.ok()) return named;
    for (int p = 1; p < XDPKV_PROTO_COUNT; ++p) {
      for (int r = 1; r < XDPKV_REASON_COUNT; ++r) {
        named.emplace_back(absl::StrCat("xdp_", std::string(xdpkv::kProtoNames[p]), "_",
                                        std::string(xdpkv::kReasonNames[r])),
                           counters->count[p][r]);
      }
    }
    return named;
  };
  context.persistence = &persistence;
  context.protected_configs_enabled = protected_configs;
  static std::atomic<bool> shutdown_requested{false};
  static std::atomic<xdpkv::ShutdownSave> shutdown_save{xdpkv::ShutdownSave::kNo};
  context.request_shutdown = [](xdpkv::ShutdownSave save) {
    shutdown_save.store(save);
    shutdown_requested.store(true);
    kill(getpid(), SIGTERM);  // blocked in every thread: main's sigtimedwait takes it
  };
  context.now_boot_ms = NowBootMs;
  context.started_unix = time(nullptr);
  context.unix_minus_boot_ms = xdpkv::UnixMinusBootMs();

  (*server)->Run(*store, context);
  for (const std::string& listener : (*server)->listeners()) {
    std::printf("xdpkv: serving %s\n", listener.c_str());
  }
  if (mode == "off") {
    std::printf("xdpkv: XDP off (userspace only, same store)\n");
  } else if (!attach_xdp) {
    std::printf("xdpkv: XDP not attached: authentication is on and the kernel path cannot "
                "refuse UDP yet (userspace only, same store)\n");
  } else {
    for (const std::string& interface : interfaces) {
      const bool generic = mode == "generic" || (mode == "auto" && interface == "lo");
      const auto xdp_mode = generic ? xdpkv::XdpMode::kGeneric : xdpkv::XdpMode::kNative;
      if (auto status = loader->Attach(interface, xdp_mode); !status.ok()) {
        Fail(std::string(status.message()));
      }
      std::printf("xdpkv: XDP attached to %s (%s mode)\n", interface.c_str(),
                  xdpkv::XdpModeName(xdp_mode));
    }
  }
  // As memcached: the ports bound, for callers that asked for -1.
  if (const char* port_file = std::getenv("MEMCACHED_PORT_FILENAME"); port_file != nullptr) {
    if (auto status = (*server)->WritePortFile(port_file); !status.ok()) {
      Fail(std::string(status.message()));
    }
  }
  std::fflush(stdout);

  // Until a stop signal, every tick: keep the clock offset current, run a
  // delayed flush_all when due, sweep orphaned out-of-line values (every 5
  // minutes), and remove expired items (proxy/chores.h).
  int signal_number = -1;
  const timespec tick{0, kChoreTickNs};
  xdpkv::ActiveExpiry active_expiry(*store);
  xdpkv::RateLimitedLog flush_log("delayed flush_all"), orphan_log("orphan-blob sweep");
  xdpkv::RateLimitedLog admission_log("refreshing the XDP admission tables");
  uint64_t next_orphan_sweep_ms = 0;
  while (signal_number < 0) {
    signal_number = sigtimedwait(&stop_signals, nullptr, &tick);
    const uint64_t now = xdpkv::NowBootMs();
    loader->RefreshClockOffset();
    uint64_t due = flush_at.load();
    if (due != 0 && due <= now && flush_at.compare_exchange_strong(due, 0)) {
      if (auto cleared = store->Clear(); !cleared.ok()) flush_log.Report(cleared.status(), now);
    }
    if (now >= next_orphan_sweep_ms) {
      // Every replace or delete frees its blob; only a writer that died
      // mid-write leaves one, swept once older than 10 minutes. A sweep
      // reads every blob whole (a hash map has no partial reads), so it
      // runs rarely: every 5 minutes.
      next_orphan_sweep_ms = now + 5 * 60 * 1000;
      // Interfaces' addresses and MACs change: the kernel path follows
      // within a second (a periodic refresh, not netlink: one code path).
      if (auto status = loader->RefreshAdmission(); !status.ok()) admission_log.Report(status, now);
      if (auto swept = store->SweepOrphanBlobs(); !swept.ok()) {
        orphan_log.Report(swept.status(), now);
      }
    }
    xdpkv::ServerStats::Add(stats.expired_keys, active_expiry.Tick(now, NowBootMs));
    // Room below the limit, so writes (the kernel's too) rarely find the
    // store full and wait for an eviction.
    store->EvictForHeadroom(kEvictionsPerTick);
    // The save schedule (--save, CONFIG SET save): BGSAVE when due.
    persistence.Tick(time(nullptr));
  }
  (*server)->Stop();
  // As Redis on SIGTERM/SIGINT: with a save schedule, save before exiting
  // (after the drain, so every write that was answered is in it). After
  // SHUTDOWN, which saved already, only if something was written since.
  persistence.CancelBackgroundSave();
  const bool save_at_exit =
      shutdown_requested.load()
          ? shutdown_save.load() == xdpkv::ShutdownSave::kIfChanged &&
                persistence.ChangedSinceLastSave()
          : !persistence.save_points().empty();
  int exit_code = 0;
  if (save_at_exit) {
    if (auto saved = persistence.Save(); !saved.ok()) {
      std::fprintf(stderr,
                   "xdpkv: the save at exit failed (the pinned store still holds the data)\n");
      exit_code = 1;
    }
  }
  if (auto counters = loader->ReadCounters(); counters.ok()) {
    std::printf("xdpkv: counters:%s\n", counters->Format().c_str());
  }
  std::printf("xdpkv: %s, stopped\n",
              shutdown_requested.load() ? "SHUTDOWN"
                                        : absl::StrCat("signal ", signal_number).c_str());
  return exit_code;
}
