// CONFIG GET, SET, RESETSTAT: the parameters xdpkv reports, some of them
// settable (maxclients, client-query-buffer-limit, requirepass,
// protected-mode, maxmemory and its policy, backed by the RuntimeConfig
// and the store; dir, dbfilename, save and rdbcompression, backed by
// Persistence), with Redis 7.0's parsing, validation and error words
// (config.c).
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocol/glob.h"
#include "protocol/values.h"
#include "proxy/commands/redis_family.h"
#include "proxy/persistence.h"

namespace xdpkv::redis {
namespace {

// A value CONFIG SET parsed: a number or, for requirepass, text.
struct Parsed {
  uint64_t number = 0;
  std::string text;
};

// One parameter CONFIG knows.
struct Param {
  std::string_view name;
  std::string (*get)(const Call&);
  // Settable ones: parses and checks `value`, returning the value to set
  // or the error's words; then applies it. Read-only ones: nullptr (CONFIG
  // SET answers them as unknown, docs/protocols.md).
  bool (*parse)(std::string_view value, const Call&, Parsed* parsed,
                std::string* error) = nullptr;
  void (*apply)(const Parsed& parsed, const Call&) = nullptr;
};

std::string RangeError(int64_t low, int64_t high) {
  return absl::StrCat("argument must be between ", low, " and ", high, " inclusive");
}

// Redis's CONFIG_MIN_RESERVED_FDS: descriptors kept for other than clients.
constexpr uint64_t kReservedFds = 32;

// maxclients: an unsigned int of at least 1. Raising it needs that many
// descriptors: as Redis's updateMaxclients, the soft RLIMIT_NOFILE is
// raised if it can be, else the error says how many clients it allows
// (Redis's adjustOpenFilesLimit steps down by 16 to what the hard limit
// allows). Unlike Redis 7.0, whose check wraps for values near 2^32
// (maxclients + 32 as an unsigned int), the sum is computed in 64 bits.
// lfu-log-factor and lfu-decay-time: Redis's range, 0..INT_MAX.
bool ParseLfuParam(std::string_view value, const Call&, Parsed* parsed, std::string* error) {
  const auto n = ParseRedisInteger(value);
  if (!n) {
    *error = "argument couldn't be parsed into an integer";
    return false;
  }
  if (*n < 0 || *n > INT32_MAX) {
    *error = RangeError(0, INT32_MAX);
    return false;
  }
  parsed->number = static_cast<uint64_t>(*n);
  return true;
}

template <uint32_t LfuParams::*field>
std::string GetLfu(const Call& call) {
  return std::to_string(call.store.Memory().lfu.*field);
}

template <uint32_t LfuParams::*field>
void ApplyLfu(const Parsed& v, const Call& call) {
  LfuParams lfu = call.store.Memory().lfu;
  lfu.*field = static_cast<uint32_t>(v.number);
  call.store.SetLfuParams(lfu);
}

bool ParseMaxClients(std::string_view value, const Call& call, Parsed* value_out,
                     std::string* error) {
  const ServerContext& context = call.context;
  uint64_t* parsed = &value_out->number;
  const auto n = ParseRedisInteger(value);
  if (!n) {
    *error = "argument couldn't be parsed into an integer";
    return false;
  }
  if (*n < 1 || *n > int64_t{UINT32_MAX}) {
    *error = RangeError(1, UINT32_MAX);
    return false;
  }
  *parsed = static_cast<uint64_t>(*n);
  const uint64_t previous = context.runtime->maxclients.load(std::memory_order_relaxed);
  if (*parsed <= previous) return true;
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return true;
  const uint64_t needed = *parsed + kReservedFds;
  if (needed <= files.rlim_cur) return true;
  rlimit raised{needed, std::max<rlim_t>(files.rlim_max, needed)};
  if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return true;
  uint64_t best = files.rlim_cur;
  if (files.rlim_max > files.rlim_cur) {
    const uint64_t steps = (needed - files.rlim_max + 15) / 16;
    best = std::max<uint64_t>(best, needed - steps * 16);
  }
  *error = absl::StrCat("The operating system is not able to handle the specified number of "
                        "clients, try with ",
                        best > kReservedFds ? best - kReservedFds : 0);
  return false;
}

// client-query-buffer-limit: a memory value, 1 MiB to 2^63-1 bytes.
bool ParseQueryBufferLimit(std::string_view value, const Call&, Parsed* value_out,
                           std::string* error) {
  uint64_t* parsed = &value_out->number;
  const auto bytes = ParseRedisMemory(value);
  if (!bytes) {
    *error = "argument must be a memory value";
    return false;
  }
  // Redis reads the unsigned result as a long long: above 2^63-1 it is
  // negative, so out of range.
  if (*bytes < 1024 * 1024 || *bytes > uint64_t{INT64_MAX}) {
    *error = RangeError(1024 * 1024, INT64_MAX);
    return false;
  }
  *parsed = *bytes;
  return true;
}

std::string Fixed(std::string_view value) { return std::string(value); }

// A yes/no parameter, as Redis's boolean configs (any case).
bool ParseYesNo(std::string_view value, const Call&, Parsed* parsed, std::string* error) {
  if (Is(value, "yes") || Is(value, "no")) {
    parsed->number = Is(value, "yes");
    return true;
  }
  *error = "argument must be 'yes' or 'no'";
  return false;
}

// requirepass: any text; empty means no password. The kernel path answers
// UDP without a session, so turning auth on asks it to stop first
// (ServerContext::kernel_auth_gate); if it cannot, nothing is set. Turning
// auth off lets it answer again only once the password is gone
// (ApplyRequirePass), so a failure on either side leaves it closed.
bool ParseRequirePass(std::string_view value, const Call& call, Parsed* parsed,
                      std::string* error) {
  const ServerContext& context = call.context;
  parsed->text = std::string(value);
  if (value.empty() || AuthOn(context) || !context.kernel_auth_gate) return true;
  const absl::Status gate = context.kernel_auth_gate(true);
  if (gate.ok()) return true;
  *error = std::string(gate.message());
  return false;
}

void ApplyRequirePass(const Parsed& parsed, const Call& call) {
  const ServerContext& context = call.context;
  context.runtime->requirepass.Set(parsed.text);
  if (!AuthOn(context) && context.kernel_auth_gate) (void)context.kernel_auth_gate(false);
}

// maxmemory: a memory value; 0 is no limit. The store's fixed tables take
// part of any limit, so one at or below them is refused (Redis accepts any
// value and then evicts everything).
bool ParseMaxMemory(std::string_view value, const Call& call, Parsed* parsed, std::string* error) {
  const auto bytes = ParseRedisMemory(value);
  if (!bytes || *bytes == UINT64_MAX) {
    *error = "argument must be a memory value";
    return false;
  }
  const MemoryReport memory = call.store.Memory();
  if (*bytes != 0 && *bytes <= memory.fixed_bytes) {
    *error = absl::StrCat("the store's fixed tables take ", memory.fixed_bytes,
                          " bytes: maxmemory must be above that, or 0");
    return false;
  }
  parsed->number = *bytes;
  return true;
}

void ApplyMaxMemory(const Parsed& parsed, const Call& call) {
  (void)call.store.SetMemoryLimit(parsed.number);  // checked by ParseMaxMemory
}

bool ParseMaxMemoryPolicy(std::string_view value, const Call&, Parsed* parsed,
                          std::string* error) {
  const auto policy = ParseEvictionPolicy(value);
  if (!policy) {
    *error = "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
             "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction";
    return false;
  }
  parsed->number = static_cast<uint64_t>(*policy);
  return true;
}

// dir and dbfilename: where the server writes its dump, so Redis 7.0's
// protected configs (enable-protected-configs, off by default): CONFIG SET
// refuses them unless the server was started with it on.
bool ProtectedConfigAllowed(const Call& call, std::string* error) {
  if (call.context.protected_configs_enabled) return true;
  *error = "can't set protected config";
  return false;
}

bool NeedsPersistence(const Call& call, std::string* error) {
  if (call.context.persistence != nullptr) return true;
  *error = "persistence is not configured on this server";
  return false;
}

bool ParseDir(std::string_view value, const Call& call, Parsed* parsed, std::string* error) {
  if (!ProtectedConfigAllowed(call, error) || !NeedsPersistence(call, error)) return false;
  parsed->text = std::string(value);
  // Checked here so that one bad value sets nothing (SetDir checks again).
  struct stat st {};
  if (stat(parsed->text.c_str(), &st) != 0) {
    *error = std::strerror(errno);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    *error = std::strerror(ENOTDIR);
    return false;
  }
  return true;
}

bool ParseDbFilename(std::string_view value, const Call& call, Parsed* parsed,
                     std::string* error) {
  if (!ProtectedConfigAllowed(call, error) || !NeedsPersistence(call, error)) return false;
  if (value.find('/') != std::string_view::npos) {
    *error = "dbfilename can't be a path, just a filename";
    return false;
  }
  if (value.empty() || value == "." || value == "..") {
    *error = "dbfilename must name a file";
    return false;
  }
  parsed->text = std::string(value);
  return true;
}

bool ParseSave(std::string_view value, const Call& call, Parsed* parsed, std::string* error) {
  if (!NeedsPersistence(call, error)) return false;
  if (!ParseSavePoints(value)) {
    *error = "Invalid save parameters";
    return false;
  }
  parsed->text = std::string(value);
  return true;
}

std::string GetPersistence(const Call& call, std::string (*get)(const Persistence&)) {
  return call.context.persistence == nullptr ? std::string() : get(*call.context.persistence);
}

const Param kParams[] = {
    {"appendonly", [](const Call&) { return Fixed("no"); }},
    {"client-query-buffer-limit",
     [](const Call& call) { return std::to_string(call.context.runtime->client_query_buffer_limit); },
     ParseQueryBufferLimit,
     [](const Parsed& v, const Call& call) {
       call.context.runtime->client_query_buffer_limit = v.number;
     }},
    {"databases", [](const Call&) { return std::to_string(kDatabases); }},
    {"dbfilename",
     [](const Call& call) {
       return GetPersistence(call, [](const Persistence& p) { return p.dbfilename(); });
     },
     ParseDbFilename,
     [](const Parsed& v, const Call& call) { (void)call.context.persistence->SetDbFilename(v.text); }},
    {"dir",
     [](const Call& call) {
       return GetPersistence(call, [](const Persistence& p) { return p.dir(); });
     },
     ParseDir,
     [](const Parsed& v, const Call& call) { (void)call.context.persistence->SetDir(v.text); }},
    {"lfu-decay-time", GetLfu<&LfuParams::decay_minutes>, ParseLfuParam,
     ApplyLfu<&LfuParams::decay_minutes>},
    {"lfu-log-factor", GetLfu<&LfuParams::log_factor>, ParseLfuParam,
     ApplyLfu<&LfuParams::log_factor>},
    {"maxclients", [](const Call& call) { return std::to_string(call.context.runtime->maxclients); },
     ParseMaxClients,
     [](const Parsed& v, const Call& call) {
       call.context.runtime->maxclients = static_cast<uint32_t>(v.number);
     }},
    {"maxmemory", [](const Call& call) { return std::to_string(call.store.Memory().limit_bytes); },
     ParseMaxMemory, ApplyMaxMemory},
    {"maxmemory-policy",
     [](const Call& call) { return std::string(EvictionPolicyName(call.store.Memory().policy)); },
     ParseMaxMemoryPolicy,
     [](const Parsed& v, const Call& call) {
       call.store.SetEvictionPolicy(static_cast<EvictionPolicy>(v.number));
     }},
    {"port", [](const Call& call) { return std::to_string(call.context.tcp_port); }},
    {"protected-mode",
     [](const Call& call) { return Fixed(call.context.runtime->protected_mode ? "yes" : "no"); },
     ParseYesNo,
     [](const Parsed& v, const Call& call) { call.context.runtime->protected_mode = v.number != 0; }},
    {"proto-max-bulk-len", [](const Call& call) { return std::to_string(call.context.max_item_size); }},
    {"rdbcompression",
     [](const Call& call) {
       return GetPersistence(call, [](const Persistence& p) {
         return std::string(p.compress() ? "yes" : "no");
       });
     },
     [](std::string_view value, const Call& call, Parsed* parsed, std::string* error) {
       return NeedsPersistence(call, error) && ParseYesNo(value, call, parsed, error);
     },
     [](const Parsed& v, const Call& call) { call.context.persistence->SetCompress(v.number != 0); }},
    {"requirepass", [](const Call& call) { return call.context.runtime->requirepass.Get(); },
     ParseRequirePass, ApplyRequirePass},
    {"save",
     [](const Call& call) {
       return GetPersistence(call,
                             [](const Persistence& p) { return FormatSavePoints(p.save_points()); });
     },
     ParseSave,
     [](const Parsed& v, const Call& call) {
       call.context.persistence->SetSavePoints(*ParseSavePoints(v.text));
     }},
    {"timeout", [](const Call&) { return Fixed("0"); }},
};

const Param* FindParam(std::string_view name) {
  for (const Param& param : kParams) {
    if (Is(param.name, name)) return &param;
  }
  return nullptr;
}

void ConfigGet(Call& call) {
  std::vector<const Param*> matched;
  for (const Param& param : kParams) {
    for (size_t i = 2; i < call.args.size(); ++i) {
      if (resp::GlobMatch(call.args[i], param.name)) {
        matched.push_back(&param);
        break;
      }
    }
  }
  resp::AppendArrayHeader(call.out, matched.size() * 2);
  for (const Param* param : matched) {
    call.Bulk(param->name);
    call.Bulk(param->get(call));
  }
}

// CONFIG SET name value [name value ...], as Redis 7.0's configSetCommand:
// every name is checked first (unknown, duplicate), then every value; one
// bad value sets nothing.
void ConfigSet(Call& call) {
  if (call.args.size() % 2 != 0) return call.Error(kSyntax);
  std::vector<const Param*> params;
  for (size_t i = 2; i < call.args.size(); i += 2) {
    const Param* param = FindParam(call.args[i]);
    if (param == nullptr || param->parse == nullptr) {
      return call.Error(absl::StrCat("ERR Unknown option or number of arguments for CONFIG SET - '",
                                     Str(call.args[i]), "'"));
    }
    if (std::find(params.begin(), params.end(), param) != params.end()) {
      return call.Error(absl::StrCat("ERR CONFIG SET failed (possibly related to argument '",
                                     Str(call.args[i]), "') - duplicate parameter"));
    }
    params.push_back(param);
  }
  std::vector<Parsed> values(params.size());
  for (size_t p = 0; p < params.size(); ++p) {
    std::string error;
    if (!params[p]->parse(call.args[3 + 2 * p], call, &values[p], &error)) {
      return call.Error(absl::StrCat("ERR CONFIG SET failed (possibly related to argument '",
                                     Str(call.args[2 + 2 * p]), "') - ", error));
    }
  }
  for (size_t p = 0; p < params.size(); ++p) params[p]->apply(values[p], call);
  call.Ok();
}

}  // namespace

void Config(Call& call) {
  const std::string_view sub = call.args[1];
  if (Is(sub, "GET")) return ConfigGet(call);
  if (Is(sub, "SET")) return ConfigSet(call);
  if (Is(sub, "RESETSTAT")) {
    // As Redis's resetServerStats: the counters INFO stats shows, the
    // kernel's included (a baseline: memcached's view is not reset).
    call.context.stats->resp_baseline.Reset(ResettableCounters(call.context, call.store));
    return call.Ok();
  }
  call.Error(absl::StrCat("ERR unknown subcommand '", Str(sub), "'. Try CONFIG HELP."));
}

}  // namespace xdpkv::redis
