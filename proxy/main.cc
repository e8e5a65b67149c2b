// xdpkv: the server binary. Loads the embedded XDP program with its pinned
// store, attaches it (unless --xdp-mode off), serves memcached and RESP over
// TCP and UDP from the same maps, and on SIGINT/SIGTERM stops, prints the
// fast path's counters and detaches.
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "proxy/bpf_store.h"
#include "proxy/chores.h"
#include "proxy/persistence.h"
#include "proxy/options.h"
#include "proxy/server.h"
#include "proxy/xdp_loader.h"

namespace {

constexpr char kVersion[] = "0.1.0";

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
  auto parsed = xdpkv::ParseCommandLine(argc, argv);
  if (!parsed.ok()) Fail(std::string(parsed.status().message()));
  xdpkv::Options& options = *parsed;
  if (options.action == xdpkv::Options::Action::kHelp) {
    xdpkv::PrintUsage(stdout);
    return 0;
  }
  if (options.action == xdpkv::Options::Action::kVersion) {
    std::printf("xdpkv %s\n", kVersion);
    return 0;
  }
  xdpkv::XdpConfig& xdp = options.xdp;
  xdpkv::ServerConfig& server_config = options.server;
  std::vector<std::string>& interfaces = options.interfaces;
  const std::string& mode = options.xdp_mode;
  if (interfaces.empty()) interfaces.emplace_back("lo");
  std::optional<xdpkv::MemcacheAuthFile> memcache_auth;
  if (!options.auth_file.empty()) {
    auto loaded_auth = xdpkv::MemcacheAuthFile::Load(options.auth_file);
    if (!loaded_auth.ok()) Fail(std::string(loaded_auth.status().message()));
    memcache_auth = std::move(*loaded_auth);
  }
  // -S: xdpkv's SASL is PLAIN over memcached's SASL password file (what
  // memcached built with --enable-sasl-pwdb reads); Cyrus's sasldb is not
  // read (docs/protocols.md).
  std::optional<xdpkv::MemcacheAuthFile> memcache_sasl;
  if (options.memcache.sasl) {
    const char* pwdb = std::getenv("MEMCACHED_SASL_PWDB");
    if (pwdb == nullptr || *pwdb == '\0') {
      Fail("-S needs MEMCACHED_SASL_PWDB set to a file of user:password lines (xdpkv's SASL "
           "is PLAIN over that file; it does not read Cyrus SASL's sasldb)");
    }
    auto loaded = xdpkv::MemcacheAuthFile::LoadSaslPwdb(pwdb);
    if (!loaded.ok()) Fail(std::string(loaded.status().message()));
    memcache_sasl = std::move(*loaded);
  }
  for (const std::string& note : options.notes) std::printf("xdpkv: %s\n", note.c_str());
  if (options.enable_coredumps) {
    // memcached's -r: the core file limit as high as allowed.
    rlimit core{};
    if (getrlimit(RLIMIT_CORE, &core) == 0) {
      core.rlim_cur = core.rlim_max;
      if (setrlimit(RLIMIT_CORE, &core) != 0) Fail("-r: failed to raise the core file limit");
    }
  }
  if (options.lock_memory && mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    // As memcached: a warning, and on without it.
    std::fprintf(stderr, "xdpkv: warning: -k invalid, mlockall() failed: %s\n", std::strerror(errno));
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
  xdp.cas_enabled = options.memcache.cas_enabled;  // -C
  xdp.max_value_len = static_cast<uint32_t>(server_config.memcache_options.max_value_bytes);  // -I

  // The store is the BPF maps whatever the mode: --xdp-mode off only leaves
  // the program unattached. A new store is pinned only once the dump is
  // loaded into it: a server that dies while loading leaves none behind.
  xdp.defer_pinning_new_store = true;
  // A restart with a smaller -m evicts by the policy the server runs.
  xdp.eviction_policy = options.eviction_policy;
  xdp.lfu = options.lfu;
  auto loaded = xdpkv::XdpLoader::Load(xdp);
  if (!loaded.ok()) Fail(std::string(loaded.status().message()));
  std::unique_ptr<xdpkv::XdpLoader> loader = std::move(*loaded);
  counters_source = loader.get();
  auto store = xdpkv::BpfStore::ForLoader(*loader);
  store->SetEvictionPolicy(options.eviction_policy);
  store->SetLfuParams(options.lfu);

  // Redis's dirty counter: userspace's writes plus the kernel's stored
  // SETs, ms writes and DELETEs (its counters only grow).
  auto changes = [store = store.get(), loader = loader.get()] {
    uint64_t n = store->Writes();
    if (auto counters = loader->ReadCounters(); counters.ok()) {
      for (xdpkv_proto proto : {XDPKV_PROTO_MEMCACHE, XDPKV_PROTO_RESP}) {
        n += counters->Get(proto, XDPKV_SET) + counters->Get(proto, XDPKV_DELETE_HIT);
      }
      n += counters->Get(XDPKV_PROTO_MEMCACHE, XDPKV_META_SET) +
           counters->Get(XDPKV_PROTO_MEMCACHE, XDPKV_META_CAS_HIT);
    }
    return n;
  };
  options.persistence.version = kVersion;
  xdpkv::Persistence persistence(*store, options.persistence, changes, xdpkv::UnixMinusBootMs);
  // The dump is loaded into a new store only: one pinned store is the
  // newer data (it survived a restart the dump was written before).
  std::string load_path = options.load_rdb;
  if (!options.load_rdb.empty() && !loader->store_created()) {
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
  if (options.max_connections > 0) {
    runtime.memcache_max_connections = static_cast<uint32_t>(options.max_connections);
  }
  if (options.max_clients > 0) runtime.maxclients = static_cast<uint32_t>(options.max_clients);
  runtime.requirepass.Set(options.requirepass);
  runtime.protected_mode = options.protected_mode;
  runtime.memcache_verbosity = std::min<uint32_t>(options.verbosity, 2);
  runtime.memcache_detail = options.detail_enabled;
  context.memcache = options.memcache;
  // memcached's shutdown command (-A): the same stop as SIGTERM's.
  context.memcache_shutdown = [] { kill(getpid(), SIGTERM); };
  if (memcache_auth) context.memcache_auth = &*memcache_auth;
  if (memcache_sasl) context.memcache_sasl = &*memcache_sasl;
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
  context.protected_configs_enabled = options.protected_configs;
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
  // memcached's -P (memcached writes it only when it daemonizes; xdpkv,
  // which does not, always does), removed at exit.
  if (!options.pid_file.empty()) {
    FILE* pid_file = std::fopen(options.pid_file.c_str(), "w");
    if (pid_file == nullptr || std::fprintf(pid_file, "%d\n", static_cast<int>(getpid())) < 0 ||
        std::fclose(pid_file) != 0) {
      Fail(absl::StrCat("Could not open the pid file ", options.pid_file, " for writing: ",
                        std::strerror(errno)));
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
  xdpkv::RateLimitedLog counters_log("reading the XDP counters");
  uint64_t next_orphan_sweep_ms = 0;
  uint64_t passed_no_memory = 0;  // the kernel's writes passed for want of room, so far
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
    stats.crawler_starts.store(active_expiry.passes(), std::memory_order_relaxed);
    // Room below the limit, as much as the kernel's writes need so they
    // rarely find the store full and pass to us (BpfStore::AdaptHeadroom).
    if (auto counters = loader->ReadCounters(); counters.ok()) {
      const uint64_t passed = counters->Get(XDPKV_PROTO_MEMCACHE, XDPKV_PASS_NO_MEMORY) +
                              counters->Get(XDPKV_PROTO_RESP, XDPKV_PASS_NO_MEMORY);
      store->AdaptHeadroom(passed - passed_no_memory);
      passed_no_memory = passed;
    } else {
      counters_log.Report(counters.status(), now);
    }
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
  if (!options.pid_file.empty()) std::remove(options.pid_file.c_str());
  std::printf("xdpkv: %s, stopped\n",
              shutdown_requested.load() ? "SHUTDOWN"
                                        : absl::StrCat("signal ", signal_number).c_str());
  return exit_code;
}
