#include "protocol/values.h"
#include "proxy/options.h"

#include <getopt.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "proxy/admission.h"
#include "proxy/store_layout.h"

namespace xdpkv {
namespace {

absl::Status Bad(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

// `list` cut at each comma (absl's StrSplit deals in absl::string_view here).
std::vector<std::string_view> SplitCommas(std::string_view list) {
  std::vector<std::string_view> items;
  while (true) {
    const size_t comma = list.find(',');
    items.push_back(list.substr(0, comma));
    if (comma == std::string_view::npos) return items;
    list.remove_prefix(comma + 1);
  }
}

// A whole decimal number in [min, max]; nothing else.
bool ParseInt(std::string_view text, int64_t min, int64_t max, int64_t* out) {
  if (text.empty()) return false;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return false;
  }
  *out = value;
  return true;
}

// memcached flags xdpkv does not serve, with the reason printed.
struct Refused {
  int short_name;  // 0: long form only
  const char* long_name;
  const char* why;
};
constexpr Refused kRefused[] = {
    {'d', "daemon", "xdpkv does not daemonize; run it under a service manager"},
    {'u', "user",
     "xdpkv keeps the user it starts as (the store is BPF maps, which need CAP_BPF)"},
    {'i', "license", "no license text is built in"},
    {'f', "slab-growth-factor", "xdpkv has no slab allocator (the store is BPF hash maps)"},
    {'n', "slab-min-size", "xdpkv has no slab allocator (the store is BPF hash maps)"},
    {'L', "enable-largepages", "the store is kernel memory (BPF maps); there are no pages to map"},
    {'e', "memory-file",
     "the store is pinned BPF maps, which survive a restart already (--pin-dir)"},
    {'Z', "enable-ssl", "TLS is not supported"},
    {'N', "napi-ids", "NAPI-based thread selection is not supported"},
};

std::string FlagName(const Refused& flag) {
  return flag.short_name != 0 ? absl::StrCat("-", std::string(1, static_cast<char>(flag.short_name)),
                                             " (--", flag.long_name, ")")
                              : absl::StrCat("--", flag.long_name);
}

// memcached's -o suboptions: idle_timeout is served, maxconns_fast is what
// xdpkv does anyway; the rest tune what xdpkv does not have.
absl::Status ParseExtended(std::string_view list, Options* options) {
  for (std::string_view item : SplitCommas(list)) {
    const size_t eq = item.find('=');
    const std::string_view name = item.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
    if (name == "idle_timeout") {
      int64_t seconds = 0;
      if (eq == std::string_view::npos) return Bad("Missing numeric argument for idle_timeout");
      if (!ParseInt(value, 0, std::numeric_limits<uint32_t>::max(), &seconds)) {
        return Bad(absl::StrCat("-o idle_timeout must be a number of seconds, not '",
                                std::string(value), "'"));
      }
      options->memcache.idle_timeout_s = static_cast<uint32_t>(seconds);
    } else if (name == "maxconns_fast") {
      // memcached's default, and xdpkv's only behaviour: a client over -c
      // is told and closed at once.
    } else if (name.empty()) {
      continue;
    } else {
      std::string why = "xdpkv serves idle_timeout only";
      if (name.starts_with("ext_")) {
        why = "xdpkv has no external storage (extstore)";
      } else if (name.starts_with("ssl_")) {
        why = "TLS is not supported";
      } else if (name.find("lru") != std::string_view::npos || name.starts_with("slab") ||
                 name.find("hash") != std::string_view::npos || name.find("_max_factor") !=
                 std::string_view::npos || name == "temporary_ttl" || name == "tail_repair_time") {
        why = "it tunes memcached's slabs, LRU or hash table, which xdpkv does not have";
      }
      return Bad(absl::StrCat("-o ", std::string(name), ": not supported (", why, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<uint32_t> ParseItemSizeMax(std::string_view text, uint64_t memory_limit_bytes) {
  int64_t unit = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
      case 'K':
        unit = 1024;
        break;
      case 'm':
      case 'M':
        unit = 1024 * 1024;
        break;
      default:
        break;
    }
  }
  const std::string_view digits = unit == 1 ? text : text.substr(0, text.size() - 1);
  int64_t value = 0;
  // memcached reads it with atoi (so "1.5m" is 1m, "2g" is 2 bytes);
  // xdpkv wants the number whole.
  if (!ParseInt(digits, 0, int64_t{1} << 40, &value)) {
    return Bad(absl::StrCat("-I must be a number of bytes, optionally with k or m (1m, 512k), "
                            "not '", std::string(text), "'"));
  }
  const int64_t bytes = value * unit;
  // memcached's checks, in its order and words.
  if (bytes < 1024) return Bad("Item max size cannot be less than 1024 bytes.");
  if (memory_limit_bytes != 0 && static_cast<uint64_t>(bytes) > memory_limit_bytes / 2) {
    return Bad("Cannot set item size limit higher than 1/2 of memory max.");
  }
  if (bytes > int64_t{1} << 30) return Bad("Cannot set item size limit higher than a gigabyte.");
  if (bytes > XDPKV_MAX_VALUE_LEN) {
    return Bad(absl::StrCat("-I ", std::string(text), ": xdpkv stores values of at most ",
                            XDPKV_MAX_VALUE_LEN, " bytes (1m) today; larger items are not "
                            "supported yet"));
  }
  return static_cast<uint32_t>(bytes);
}

absl::StatusOr<Options> ParseCommandLine(int argc, char** argv) {
  enum { kXdpIface = 1000, kXdpMode, kRedisPort, kPinDir, kFresh, kMaxClients };
  enum { kRequirePass = 1100, kProtectedMode };  // authentication (docs/protocols.md)
  enum { kUdpAllow = 1200, kUdpMaxReplyBytes };  // UDP admission (docs/architecture.md)
  enum { kMaxMemory = 1300, kMaxMemoryPolicy, kLfuLogFactor, kLfuDecayTime };  // memory limit (docs/protocols.md)
  enum { kUnixSocket = 1400, kUnixSocketPerm };  // Redis's unix socket
  enum { kDir = 1500, kDbFilename, kSave, kRdbCompression, kLoadRdb, kProtectedConfigs };
  const option long_options[] = {
      {"port", required_argument, nullptr, 'p'},
      {"udp-port", required_argument, nullptr, 'U'},
      {"redis-port", required_argument, nullptr, kRedisPort},
      {"listen", required_argument, nullptr, 'l'},
      {"threads", required_argument, nullptr, 't'},
      {"max-connections", required_argument, nullptr, 'c'},
      {"conn-limit", required_argument, nullptr, 'c'},  // memcached's name
      {"maxclients", required_argument, nullptr, kMaxClients},
      {"max-item-size", required_argument, nullptr, 'I'},
      {"memory", required_argument, nullptr, 'm'},
      {"memory-limit", required_argument, nullptr, 'm'},  // memcached's name
      {"maxmemory", required_argument, nullptr, kMaxMemory},
      {"maxmemory-policy", required_argument, nullptr, kMaxMemoryPolicy},
      {"lfu-log-factor", required_argument, nullptr, kLfuLogFactor},
      {"lfu-decay-time", required_argument, nullptr, kLfuDecayTime},
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
      {"unixsocket", required_argument, nullptr, kUnixSocket},
      {"unixsocketperm", required_argument, nullptr, kUnixSocketPerm},
      {"dir", required_argument, nullptr, kDir},
      {"dbfilename", required_argument, nullptr, kDbFilename},
      {"save", required_argument, nullptr, kSave},
      {"rdbcompression", required_argument, nullptr, kRdbCompression},
      {"load-rdb", required_argument, nullptr, kLoadRdb},
      {"enable-protected-configs", required_argument, nullptr, kProtectedConfigs},
      // memcached's.
      {"unix-socket", required_argument, nullptr, 's'},
      {"unix-mask", required_argument, nullptr, 'a'},
      {"enable-shutdown", no_argument, nullptr, 'A'},
      {"enable-coredumps", no_argument, nullptr, 'r'},
      {"lock-memory", no_argument, nullptr, 'k'},
      {"verbose", optional_argument, nullptr, 'v'},
      {"pidfile", required_argument, nullptr, 'P'},
      {"max-reqs-per-event", required_argument, nullptr, 'R'},
      {"disable-cas", no_argument, nullptr, 'C'},
      {"listen-backlog", required_argument, nullptr, 'b'},
      {"protocol", required_argument, nullptr, 'B'},
      {"disable-flush-all", no_argument, nullptr, 'F'},
      {"disable-dumping", no_argument, nullptr, 'X'},
      {"disable-watch", no_argument, nullptr, 'W'},
      {"extended", required_argument, nullptr, 'o'},
      {"daemon", no_argument, nullptr, 'd'},
      {"user", required_argument, nullptr, 'u'},
      {"license", no_argument, nullptr, 'i'},
      {"slab-growth-factor", required_argument, nullptr, 'f'},
      {"slab-min-size", required_argument, nullptr, 'n'},
      {"enable-largepages", no_argument, nullptr, 'L'},
      {"enable-sasl", no_argument, nullptr, 'S'},
      {"memory-file", required_argument, nullptr, 'e'},
      {"enable-ssl", no_argument, nullptr, 'Z'},
      {"napi-ids", required_argument, nullptr, 'N'},
      {"napi_ids", required_argument, nullptr, 'N'},  // as memcached's --help spells it
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},
      {nullptr, 0, nullptr, 0},
  };
  Options options;
  options.xdp.pin_dir = "/sys/fs/bpf/xdpkv";
  options.xdp.memory_limit_bytes = uint64_t{64} << 20;  // memcached's default -m
  std::vector<std::string> addresses;
  std::vector<std::string> udp_allow = DefaultUdpAllow();
  std::string item_size_text;  // -I, checked once -m is known
  bool save_given = false;     // a first --save replaces the default schedule
  bool protocol_given = false;  // -B: -S and -Y then check it, else choose
  int64_t number = 0;
  auto port = [&](const char* text, const char* flag) -> absl::StatusOr<int> {
    if (std::string_view(text) == "-1") return kAnyPort;
    if (!ParseInt(text, 0, 65535, &number)) {
      return Bad(absl::StrCat("bad port '", text, "' for ", flag));
    }
    return static_cast<int>(number);
  };
  optind = 0;  // a fresh scan (getopt keeps state between calls)
  opterr = 0;  // our own words for unknown options
  int opt;
  while ((opt = getopt_long(argc, argv, ":p:U:l:t:c:I:m:MY:s:a:ArkvP:R:Cb:B:FXWo:D:du:if:n:LSe:ZN:hV",
                            long_options, nullptr)) != -1) {
    for (const Refused& refused : kRefused) {
      if (opt == refused.short_name) {
        return Bad(absl::StrCat(FlagName(refused), " is not supported: ", refused.why));
      }
    }
    switch (opt) {
      case 'p':
      case 'U':
      case kRedisPort: {
        auto value = port(optarg, opt == 'p' ? "-p" : opt == 'U' ? "-U" : "--redis-port");
        if (!value.ok()) return value.status();
        (opt == 'p'   ? options.server.memcache_tcp_port
         : opt == 'U' ? options.server.memcache_udp_port
                      : options.server.resp_port) = *value;
        break;
      }
      case 'l':
        // memcached takes a comma-separated list, and repeated -l's.
        for (std::string_view address : SplitCommas(optarg)) {
          if (!address.empty()) addresses.emplace_back(address);
        }
        break;
      case 't':
        if (!ParseInt(optarg, 1, 256, &number)) {
          return Bad(absl::StrCat("--threads must be 1..256, not '", optarg, "'"));
        }
        options.server.threads = static_cast<int>(number);
        break;
      case 'c':
        if (!ParseInt(optarg, 1, 1 << 24, &options.max_connections)) {
          return Bad(absl::StrCat("--max-connections must be 1..16777216, not '", optarg, "'"));
        }
        break;
      case kLfuLogFactor:
      case kLfuDecayTime:
        // Redis's range for both: 0..INT_MAX.
        if (!ParseInt(optarg, 0, INT32_MAX, &number)) {
          return Bad(absl::StrCat("--", opt == kLfuLogFactor ? "lfu-log-factor" : "lfu-decay-time",
                                  " must be 0..2147483647, not '", optarg, "'"));
        }
        (opt == kLfuLogFactor ? options.lfu.log_factor : options.lfu.decay_minutes) =
            static_cast<uint32_t>(number);
        break;
      case kMaxClients:
        if (!ParseInt(optarg, 1, 1 << 24, &options.max_clients)) {
          return Bad(absl::StrCat("--maxclients must be 1..16777216, not '", optarg, "'"));
        }
        break;
      case 'm':
        if (!ParseInt(optarg, 1, 1 << 20, &number)) {
          return Bad(absl::StrCat("--memory must be 1..1048576 megabytes, not '", optarg, "'"));
        }
        options.xdp.memory_limit_bytes = static_cast<uint64_t>(number) << 20;
        break;
      case kMaxMemory: {
        const auto bytes = ParseMemoryAmount(optarg);
        if (!bytes || *bytes > (uint64_t{1} << 40)) {
          return Bad(absl::StrCat("--maxmemory must be bytes (or 100mb, 2gb...) up to 1tb, not '",
                                  optarg, "'"));
        }
        options.xdp.memory_limit_bytes = *bytes;
        break;
      }
      case kMaxMemoryPolicy: {
        const auto policy = ParseEvictionPolicy(optarg);
        if (!policy) {
          return Bad(absl::StrCat("--maxmemory-policy must be noeviction, allkeys-lru, "
                                  "volatile-lru, allkeys-lfu, volatile-lfu, allkeys-random, "
                                  "volatile-random or volatile-ttl, not '", optarg, "'"));
        }
        options.eviction_policy = *policy;
        break;
      }
      case 'M':
        options.eviction_policy = EvictionPolicy::kNoEviction;
        break;
      case 'I':
        item_size_text = optarg;
        break;
      case kXdpIface:
        options.interfaces.emplace_back(optarg);
        break;
      case kXdpMode:
        options.xdp_mode = optarg;
        if (options.xdp_mode != "auto" && options.xdp_mode != "native" &&
            options.xdp_mode != "generic" && options.xdp_mode != "off") {
          return Bad("--xdp-mode must be auto, native, generic or off");
        }
        break;
      case kPinDir:
        options.xdp.pin_dir = optarg;
        break;
      case kFresh:
        options.xdp.fresh = true;
        break;
      case kRequirePass:
        options.requirepass = optarg;
        break;
      case kProtectedMode:
        if (std::string_view(optarg) != "yes" && std::string_view(optarg) != "no") {
          return Bad("--protected-mode must be yes or no");
        }
        options.protected_mode = std::string_view(optarg) == "yes";
        break;
      case 'Y':
        options.auth_file = optarg;
        options.memcache.auth_file = optarg;
        break;
      case 'S':
        options.memcache.sasl = true;
        break;
      case kUdpAllow:
        if (auto cidr = ParseCidr(optarg); !cidr.ok()) {
          return Bad(absl::StrCat("--udp-allow: ", cidr.status().message()));
        }
        udp_allow.emplace_back(optarg);
        break;
      case kUdpMaxReplyBytes:
        if (!ParseInt(optarg, 0, 1 << 30, &number)) {
          return Bad(absl::StrCat("--udp-max-reply-bytes must be 0..1073741824, not '", optarg,
                                  "'"));
        }
        options.server.udp_max_reply_bytes = static_cast<uint32_t>(number);
        break;
      case 's':
        options.memcache.unix_socket = optarg;
        break;
      case 'a': {
        // Octal, as memcached reads it (strtol base 8).
        const std::string_view mode = optarg;
        if (mode.empty() || mode.size() > 4 ||
            mode.find_first_not_of("01234567") != std::string_view::npos ||
            std::strtol(optarg, nullptr, 8) > 0777) {
          return Bad(absl::StrCat("-a must be an octal file mode (700, 755), not '", optarg, "'"));
        }
        options.memcache.unix_mask = static_cast<uint32_t>(std::strtol(optarg, nullptr, 8));
        break;
      }
      case kUnixSocket:
        options.server.resp_unix_path = optarg;
        break;
      case kUnixSocketPerm: {
        const std::string_view mode = optarg;
        if (mode.empty() || mode.size() > 4 ||
            mode.find_first_not_of("01234567") != std::string_view::npos ||
            std::strtol(optarg, nullptr, 8) > 0777) {
          return Bad(absl::StrCat("--unixsocketperm must be an octal file mode (700, 770), not '",
                                  optarg, "'"));
        }
        options.server.resp_unix_mode = static_cast<uint32_t>(std::strtol(optarg, nullptr, 8));
        break;
      }
      case kDir: {
        struct stat st {};
        if (stat(optarg, &st) != 0 || !S_ISDIR(st.st_mode)) {
          return Bad(absl::StrCat("--dir ", optarg, ": not a directory"));
        }
        options.persistence.dir = optarg;
        break;
      }
      case kDbFilename:
        if (std::string_view(optarg).find('/') != std::string_view::npos || *optarg == '\0') {
          return Bad("--dbfilename must be a file name, not a path");
        }
        options.persistence.dbfilename = optarg;
        break;
      case kSave: {
        // As redis.conf's `save` lines: the first replaces the default,
        // the next ones add; "" clears.
        const auto points = ParseSavePoints(optarg);
        if (!points) return Bad(absl::StrCat("--save '", optarg, "': Invalid save parameters"));
        if (!save_given) options.persistence.save.clear();
        save_given = true;
        if (points->empty()) options.persistence.save.clear();
        options.persistence.save.insert(options.persistence.save.end(), points->begin(),
                                        points->end());
        break;
      }
      case kRdbCompression:
        if (std::string(optarg) != "yes" && std::string(optarg) != "no") {
          return Bad("--rdbcompression must be yes or no");
        }
        options.persistence.compress = std::string(optarg) == "yes";
        break;
      case kLoadRdb:
        options.load_rdb = optarg;
        break;
      case kProtectedConfigs:
        if (std::string(optarg) != "yes" && std::string(optarg) != "no") {
          return Bad("--enable-protected-configs must be yes or no");
        }
        options.protected_configs = std::string(optarg) == "yes";
        break;
      case 'A':
        options.memcache.shutdown_enabled = true;
        break;
      case 'r':
        options.enable_coredumps = true;
        break;
      case 'k':
        options.lock_memory = true;
        break;
      case 'v':
        // -v, -vv, -vvv; --verbose[=N].
        if (optarg != nullptr) {
          if (!ParseInt(optarg, 0, 2, &number)) {
            return Bad(absl::StrCat("--verbose must be 0, 1 or 2, not '", optarg, "'"));
          }
          options.verbosity = static_cast<uint32_t>(number);
        } else {
          ++options.verbosity;
        }
        break;
      case 'P':
        options.pid_file = optarg;
        break;
      case 'R':
        if (!ParseInt(optarg, 1, std::numeric_limits<int32_t>::max(), &number)) {
          return Bad("Number of requests per event must be greater than 0");
        }
        options.memcache.reqs_per_event = static_cast<uint32_t>(number);
        break;
      case 'C':
        options.memcache.cas_enabled = false;
        break;
      case 'b':
        if (!ParseInt(optarg, 1, std::numeric_limits<int32_t>::max(), &number)) {
          return Bad(absl::StrCat("-b must be a positive backlog, not '", optarg, "'"));
        }
        options.memcache.tcp_backlog = static_cast<int>(number);
        break;
      case 'B': {
        const std::string_view protocol = optarg;
        protocol_given = true;
        if (protocol == "ascii") {
          options.memcache.binding = MemcacheBinding::kAscii;
        } else if (protocol == "auto") {
          options.memcache.binding = MemcacheBinding::kAuto;
        } else if (protocol == "binary") {
          options.memcache.binding = MemcacheBinding::kBinary;
        } else {
          return Bad(absl::StrCat("Invalid value for binding protocol: ", optarg,
                                  " -- should be one of auto, binary, or ascii"));
        }
        break;
      }
      case 'F':
        options.memcache.flush_enabled = false;
        break;
      case 'X':
        options.memcache.dump_enabled = false;
        break;
      case 'W':
        options.memcache.watch_enabled = false;
        break;
      case 'o':
        if (auto status = ParseExtended(optarg, &options); !status.ok()) return status;
        break;
      case 'D':
        // memcached: the key prefix delimiter, and stats detail on.
        if (std::string_view(optarg).size() != 1) {
          return Bad(absl::StrCat("-D takes one delimiter character, not '", optarg, "'"));
        }
        options.memcache.prefix_delimiter = optarg[0];
        options.detail_enabled = true;
        break;
      case 'h':
        options.action = Options::Action::kHelp;
        return options;
      case 'V':
        options.action = Options::Action::kVersion;
        return options;
      case ':':
        return Bad(absl::StrCat("option '", argv[optind - 1], "' needs a value"));
      default: {
        const std::string unknown = optopt != 0 ? absl::StrCat("-", std::string(1, static_cast<char>(optopt)))
                                                : std::string(argv[optind - 1]);
        return Bad(absl::StrCat("unknown option '", unknown, "' (xdpkv --help lists them)"));
      }
    }
  }
  if (optind < argc) return Bad(absl::StrCat("unexpected argument '", argv[optind], "'"));
  // As memcached: SASL is binary only, -Y's tokens ascii only (checked in
  // that order); without -B each picks its protocol, -Y last.
  if (options.memcache.sasl) {
    if (!protocol_given) {
      options.memcache.binding = MemcacheBinding::kBinary;
    } else if (options.memcache.binding != MemcacheBinding::kBinary) {
      return Bad("ERROR: You cannot allow the ASCII protocol while using SASL.");
    }
  }
  if (!options.auth_file.empty()) {
    if (!protocol_given) {
      options.memcache.binding = MemcacheBinding::kAscii;
    } else if (options.memcache.binding != MemcacheBinding::kAscii) {
      return Bad("ERROR: You cannot allow the BINARY protocol while using ascii authentication "
                 "tokens.");
    }
  }

  if (!item_size_text.empty()) {
    auto bytes = ParseItemSizeMax(item_size_text, options.xdp.memory_limit_bytes);
    if (!bytes.ok()) return bytes.status();
    options.server.memcache_options.max_value_bytes = *bytes;
  }
  options.memcache.item_size_max =
      static_cast<uint32_t>(options.server.memcache_options.max_value_bytes);
  options.memcache.tcp_port = options.server.memcache_tcp_port;
  options.memcache.udp_port = options.server.memcache_udp_port;
  if (!addresses.empty()) {
    options.server.addresses = addresses;
    options.memcache.listen = absl::StrJoin(addresses, ",");
  }
  options.server.udp_allow = udp_allow;
  options.server.tcp_backlog = options.memcache.tcp_backlog;
  // memcached: a unix socket "disables network support", TCP and UDP.
  if (!options.memcache.unix_socket.empty()) {
    options.server.memcache_tcp_port = 0;
    options.server.memcache_udp_port = 0;
    options.server.memcache_unix_path = options.memcache.unix_socket;
    options.server.memcache_unix_mode = options.memcache.unix_mask;
  }
  if (options.verbosity >= 2) {
    options.notes.push_back(absl::StrCat("-", std::string(options.verbosity, 'v'),
                                         ": xdpkv does not log client commands; the verbosity "
                                         "is kept for stats settings"));
  }
  return options;
}

void PrintUsage(FILE* out) {
  std::fprintf(
      out,
      "Usage: xdpkv [options]\n"
      "  -p, --port N          memcached TCP port (default 11211; 0 = off; -1 = a free\n"
      "                        port the kernel picks, as memcached's -p -1)\n"
      "  -U, --udp-port N      memcached UDP port, also answered by XDP (default 11211;\n"
      "                        0 = off; -1 = a free port)\n"
      "      --redis-port N    RESP port, TCP and UDP (default 6379; 0 = off; -1 = a\n"
      "                        free port)\n"
      "  -s, --unix-socket PATH  memcached over a unix stream socket; memcached's TCP and\n"
      "                        UDP are then off, as memcached does (RESP stays on)\n"
      "  -a, --unix-mask MODE  the socket's mode, octal (default 700)\n"
      "      --unixsocket PATH RESP over a unix stream socket (Redis's unixsocket)\n"
      "      --unixsocketperm MODE  its mode, octal (default: as the umask makes it)\n"
      "  -l, --listen ADDR     address to listen on, IPv4 or IPv6 (repeatable, or a\n"
      "                        comma-separated list; default 127.0.0.1)\n"
      "  -t, --threads N       event loops (default 2)\n"
      "  -c, --conn-limit N    memcached clients at once (default 1024); more are\n"
      "                        told 'ERROR Too many open connections' and closed\n"
      "      --maxclients N    RESP clients at once (default 10000), as Redis's maxclients\n"
      "  -b, --listen-backlog N  listen backlog of the TCP and unix sockets (default 1024)\n"
      "  -R, --max-reqs-per-event N  requests one memcached connection runs before others\n"
      "                        get a turn (default 20)\n"
      "  -I, --max-item-size N largest value: bytes, or with k/m (default and maximum 1m)\n"
      "  -m, --memory-limit MB memory limit of the store, as the kernel allocates it\n"
      "                        (its tables, items and values; default 64, as\n"
      "                        memcached). When full it evicts (--maxmemory-policy)\n"
      "      --maxmemory BYTES the same limit in Redis's terms (100mb, 2gb; 0 = none)\n"
      "      --maxmemory-policy POLICY  what to evict when full: allkeys-lru (default,\n"
      "                        as memcached), volatile-lru, allkeys-random,\n"
      "                        volatile-random, volatile-ttl, or noeviction (writes\n"
      "                        then get the peers' out-of-memory errors); allkeys-lfu\n"
      "                        and volatile-lfu keep Redis's LFU counters\n"
      "      --lfu-log-factor N, --lfu-decay-time MINUTES  Redis's LFU tunables\n"
      "                        (default 10 and 1)\n"
      "  -M, --disable-evictions  memcached's -M: noeviction\n"
      "  -C, --disable-cas     no CAS uniques (they read 0, as memcached -C)\n"
      "  -F, --disable-flush-all  flush_all answers CLIENT_ERROR flush_all not allowed\n"
      "  -X, --disable-dumping stats cachedump and lru_crawler metadump are refused\n"
      "  -W, --disable-watch   the watch command is refused\n"
      "  -A, --enable-shutdown the shutdown command stops the server\n"
      "  -B, --protocol P      ascii, binary or auto (the first byte decides)\n"
      "  -D CHAR               key prefix delimiter for stats detail; turns it on\n"
      "  -o, --extended LIST   idle_timeout=N: close memcached clients idle N seconds\n"
      "  -v, -vv               verbosity, as stats settings reports it\n"
      "  -P, --pidfile FILE    write the process id to FILE (removed at exit)\n"
      "  -k, --lock-memory     mlockall the server's memory\n"
      "  -r, --enable-coredumps  raise the core file limit to its maximum\n"
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
      "  -S, --enable-sasl     binary clients must authenticate with SASL PLAIN as a\n"
      "                        user of the file MEMCACHED_SASL_PWDB names\n"
      "                        (user:password lines); implies -B binary; UDP refused\n"
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
      "memcached's -d -u -i -f -n -L -S -e -Z -N and its other -o options are refused,\n"
      "each with its reason (docs/protocols.md, \"Flags\").\n"
      "  -h, --help            this text\n"
      "  -V, --version         print the version\n"
      "With MEMCACHED_PORT_FILENAME set, the bound ports are written to that file once\n"
      "serving, in memcached's format plus a RESP line (docs/protocols.md).\n");
}

}  // namespace xdpkv
