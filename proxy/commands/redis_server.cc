// Redis's connection and server commands: PING ECHO SELECT TIME INFO
// COMMAND CLIENT HELLO CONFIG QUIT.
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cctype>
#include <ctime>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocol/glob.h"
#include "protocol/values.h"
#include "proxy/commands/redis_family.h"
#include "proxy/persistence.h"

namespace xdpkv::redis {
namespace {

void Ping(Call& call) {
  if (call.args.size() == 1) {
    call.out->append(resp::reply::kPong);
  } else if (call.args.size() == 2) {
    call.Bulk(call.args[1]);
  } else {
    call.out->append(resp::WrongArityError("ping"));
  }
}

void Select(Call& call) {
  const auto db = ParseRedisInteger(call.args[1]);
  if (!db) return call.Error(kNotInteger);
  if (*db < 0 || *db >= kDatabases || call.store.Database(static_cast<int>(*db)) == nullptr) {
    return call.Error("ERR DB index is out of range");
  }
  call.client.db = static_cast<int>(*db);
  call.Ok();
}

void Time(Call& call) {
  timeval tv;
  gettimeofday(&tv, nullptr);
  resp::AppendArrayHeader(call.out, 2);
  call.Bulk(std::to_string(tv.tv_sec));
  call.Bulk(std::to_string(tv.tv_usec));
}

// INFO keyspace's dbN lines. Redis keeps these counts; xdpkv walks the
// store once per database in hash-map batches (Store::Usage, as DBSIZE
// does): O(items) on the calling thread, ~0.7 s per million items. Like
// Redis's keys=, it counts expired items not yet removed. avg_ttl is the
// exact mean of the TTLs left, in ms (Redis: an estimate).
void AppendKeyspaceLine(Call& call, std::string* info) {
  Store* root = call.store.Database(0);
  for (int db = 0; db < kDatabases && root != nullptr; ++db) {
    Store* store = root->Database(db);
    if (store == nullptr) break;
    auto usage = store->Usage();
    if (!usage.ok() || usage->items == 0) continue;
    absl::StrAppend(info, "db", db, ":keys=", usage->items, ",expires=", usage->with_expiry,
                    ",avg_ttl=", usage->with_expiry ? usage->ttl_sum_ms / usage->with_expiry : 0,
                    "\r\n");
  }
}

void AppendInfoSection(Call& call, std::string_view section, std::string* info) {
  const ServerStats& s = *call.context.stats;
  const int64_t now = time(nullptr);
  auto line = [info](std::string_view name, const auto& value) {
    absl::StrAppend(info, Str(name), ":", value, "\r\n");
  };
  if (section == "server") {
    info->append("# Server\r\n");
    line("redis_version", "7.0.0");
    line("xdpkv_version", call.context.version);
    line("redis_mode", "standalone");
    line("os", "Linux");
    line("arch_bits", 64);
    line("process_id", static_cast<int64_t>(getpid()));
    line("tcp_port", call.context.tcp_port);
    line("uptime_in_seconds", now - call.context.started_unix);
    line("uptime_in_days", (now - call.context.started_unix) / 86400);
  } else if (section == "clients") {
    info->append("# Clients\r\n");
    line("connected_clients", ServerStats::Read(s.curr_connections));
    // Clients parked by a blocking command (proxy/blocking.h).
    line("blocked_clients", call.context.blocking ? call.context.blocking->parked() : 0);
  } else if (section == "memory") {
    // The store's memory as the kernel allocated it: its fixed tables,
    // items and values (docs/architecture.md, "Memory"); the server
    // process's own buffers are not in it.
    info->append("# Memory\r\n");
    const MemoryReport memory = call.store.Memory();
    line("used_memory", memory.used_bytes);
    line("used_memory_dataset", memory.used_bytes - memory.fixed_bytes);
    line("used_memory_overhead", memory.fixed_bytes);
    line("maxmemory", memory.limit_bytes);
    line("maxmemory_policy", std::string(EvictionPolicyName(memory.policy)));
    line("xdp_kernel_memlock", memory.kernel_memlock);
  } else if (section == "persistence") {
    // Redis 7.0's lines, in its order; those of things xdpkv does not
    // have (fork copy-on-write, AOF) at their idle values. The xdpkv_
    // lines say what the last save and load held.
    info->append("# Persistence\r\n");
    Persistence::Info p;
    if (call.context.persistence != nullptr) p = call.context.persistence->GetInfo();
    line("loading", 0);
    line("async_loading", 0);
    line("current_cow_peak", 0);
    line("current_cow_size", 0);
    line("current_cow_size_age", 0);
    line("current_fork_perc", "0.00");
    line("current_save_keys_processed", 0);
    line("current_save_keys_total", 0);
    line("rdb_changes_since_last_save", p.changes_since_last_save);
    line("rdb_bgsave_in_progress", p.bgsave_in_progress ? 1 : 0);
    line("rdb_last_save_time", p.last_save_time);
    line("rdb_last_bgsave_status", p.last_bgsave_ok ? "ok" : "err");
    line("rdb_last_bgsave_time_sec", p.last_bgsave_time_sec);
    line("rdb_current_bgsave_time_sec", p.current_bgsave_time_sec);
    line("rdb_saves", p.saves);
    line("rdb_last_cow_size", 0);
    line("rdb_last_load_keys_expired", p.last_load_keys_expired);
    line("rdb_last_load_keys_loaded", p.last_load_keys_loaded);
    line("aof_enabled", 0);
    line("aof_rewrite_in_progress", 0);
    line("aof_rewrite_scheduled", 0);
    line("aof_last_rewrite_time_sec", -1);
    line("aof_current_rewrite_time_sec", -1);
    line("aof_last_bgrewrite_status", "ok");
    line("aof_rewrites", 0);
    line("aof_rewrites_consecutive_failures", 0);
    line("aof_last_write_status", "ok");
    line("aof_last_cow_size", 0);
    line("module_fork_in_progress", 0);
    line("module_fork_last_cow_size", 0);
    line("xdpkv_rdb_last_save_keys", p.last_save_keys);
    line("xdpkv_rdb_last_save_bytes", p.last_save_bytes);
    line("xdpkv_rdb_last_load_keys_skipped", p.last_load_keys_skipped);
    line("xdpkv_rdb_last_save_error", p.last_error);
  } else if (section == "stats") {
    // Counts since the last CONFIG RESETSTAT, of both tiers: what userspace
    // served plus what the kernel answered itself (xdp_resp_*; every GET,
    // SET and DEL it answers is a command; its GETs are hits or misses).
    info->append("# Stats\r\n");
    const NamedCounters raw = ResettableCounters(call.context, call.store);
    auto since = [&](std::string_view name) {
      return s.resp_baseline.Since(name, CountOf(raw, name));
    };
    auto kernel = [&](std::initializer_list<std::string_view> outcomes) {
      uint64_t total = 0;
      for (std::string_view outcome : outcomes) {
        total += since(absl::StrCat("xdp_resp_", Str(outcome)));
      }
      return total;
    };
    line("total_connections_received", since("total_connections"));
    line("total_commands_processed",
         since("commands") + kernel({"get_hits", "get_misses", "sets", "delete_hits",
                                     "delete_misses", "store_full"}));
    line("expired_keys", since("expired_keys"));
    line("evicted_keys", since("store_evictions"));
    line("keyspace_hits", since("keyspace_hits") + kernel({"get_hits"}));
    line("keyspace_misses", since("keyspace_misses") + kernel({"get_misses"}));
  } else if (section == "keyspace") {
    info->append("# Keyspace\r\n");
    AppendKeyspaceLine(call, info);
  } else if (section == "xdp") {
    // The kernel's own counts, since the last CONFIG RESETSTAT.
    info->append("# Xdp\r\n");
    for (const auto& [name, count] : ResettableCounters(call.context, call.store)) {
      if (name.starts_with("xdp_")) line(name, s.resp_baseline.Since(name, count));
    }
  }
}

void Info(Call& call) {
  static constexpr std::string_view kDefault[] = {"server", "clients",  "memory", "persistence",
                                                  "stats",  "keyspace", "xdp"};
  std::vector<std::string> wanted;
  for (size_t i = 1; i < call.args.size(); ++i) {
    std::string name(call.args[i]);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "all" || name == "everything" || name == "default") {
      wanted.assign(std::begin(kDefault), std::end(kDefault));
      break;
    }
    wanted.push_back(std::move(name));
  }
  if (wanted.empty()) wanted.assign(std::begin(kDefault), std::end(kDefault));
  std::string info;
  for (const std::string& section : wanted) {
    if (!info.empty()) info.append("\r\n");
    AppendInfoSection(call, section, &info);
  }
  call.Bulk(info);
}

// COMMAND [INFO]'s entry for one row of the table, in Redis 7.0's shape:
// name, arity, flags, first key, last key, step, then ACL categories,
// tips and key specs (xdpkv has none: empty), and the subcommands'.
void AppendCommandInfo(Call& call, const CI& row, std::string_view container = {}) {
  resp::AppendArrayHeader(call.out, 10);
  call.Bulk(container.empty() ? Str(row.name) : absl::StrCat(Str(container), "|", Str(row.name)));
  call.Integer(row.arity);
  static constexpr std::pair<uint32_t, std::string_view> kFlagNames[] = {
      {resp::CO::kWrite, "write"},       {resp::CO::kReadOnly, "readonly"},
      {resp::CO::kDenyOom, "denyoom"},   {resp::CO::kAdmin, "admin"},
      {resp::CO::kNoScript, "noscript"}, {resp::CO::kBlocking, "blocking"},
      {resp::CO::kLoading, "loading"},   {resp::CO::kStale, "stale"},
      {resp::CO::kNoAuth, "no_auth"},    {resp::CO::kFast, "fast"}};
  std::vector<std::string_view> flags;
  for (const auto& [flag, name] : kFlagNames) {
    if (row.flags & flag) flags.push_back(name);
  }
  resp::AppendArrayHeader(call.out, flags.size());
  for (std::string_view flag : flags) resp::AppendSimpleString(call.out, flag);
  call.Integer(row.first_key);
  call.Integer(row.last_key);
  call.Integer(row.first_key == 0 ? 0 : 1);
  for (int empty = 0; empty < 3; ++empty) call.out->append(resp::reply::kEmptyArray);
  resp::AppendArrayHeader(call.out, row.subcommands.size());
  for (const CI& sub : row.subcommands) AppendCommandInfo(call, sub, row.name);
}

// COMMAND, COMMAND INFO, COUNT, LIST from the table; COMMAND DOCS answers
// an empty array (xdpkv keeps no documentation).
void Command(Call& call) {
  const auto commands = Commands().All();
  if (call.args.size() >= 2 && Is(call.args[1], "COUNT")) {
    return call.Integer(static_cast<int64_t>(commands.size()));
  }
  if (call.args.size() >= 2 && Is(call.args[1], "LIST")) {
    // Containers' subcommands too, as "container|sub", as Redis lists them.
    std::vector<std::string> names;
    for (const auto& command : commands) {
      names.emplace_back(command.name);
      for (const auto& sub : command.subcommands) {
        names.push_back(absl::StrCat(Str(command.name), "|", Str(sub.name)));
      }
    }
    std::sort(names.begin(), names.end());
    resp::AppendArrayHeader(call.out, names.size());
    for (const std::string& name : names) call.Bulk(name);
    return;
  }
  if (call.args.size() == 1) {
    resp::AppendArrayHeader(call.out, commands.size());
    for (const auto& command : commands) AppendCommandInfo(call, command);
    return;
  }
  if (Is(call.args[1], "INFO")) {
    if (call.args.size() == 2) {
      resp::AppendArrayHeader(call.out, commands.size());
      for (const auto& command : commands) AppendCommandInfo(call, command);
      return;
    }
    // Each name: its entry ("container|sub" for a subcommand), or nil.
    resp::AppendArrayHeader(call.out, call.args.size() - 2);
    for (size_t i = 2; i < call.args.size(); ++i) {
      const std::string_view name = call.args[i];
      const size_t bar = name.find('|');
      const CI* row = Commands().Find(name.substr(0, bar));
      const CI* sub = row != nullptr && bar != std::string_view::npos
                          ? resp::FindRow<CI>(row->subcommands, name.substr(bar + 1))
                          : nullptr;
      if (row == nullptr || (bar != std::string_view::npos && sub == nullptr)) {
        resp::AppendNullArray(call.out);
      } else {
        sub != nullptr ? AppendCommandInfo(call, *sub, row->name) : AppendCommandInfo(call, *row);
      }
    }
    return;
  }
  call.out->append(resp::reply::kEmptyArray);  // DOCS
}

bool ValidClientName(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

void Client(Call& call) {
  const std::string_view sub = call.args[1];
  if (Is(sub, "SETNAME")) {
    if (!ValidClientName(call.args[2])) {
      return call.Error("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    call.client.name = std::string(call.args[2]);
    return call.Ok();
  }
  if (Is(sub, "GETNAME")) {
    return call.client.name.empty() ? call.Null() : call.Bulk(call.client.name);
  }
  if (Is(sub, "SETINFO")) {
    if (Is(call.args[2], "LIB-NAME")) {
      call.client.lib_name = std::string(call.args[3]);
    } else if (Is(call.args[2], "LIB-VER")) {
      call.client.lib_version = std::string(call.args[3]);
    } else {
      return call.Error(absl::StrCat("ERR Unrecognized option '", Str(call.args[2]), "'"));
    }
    return call.Ok();
  }
  if (Is(sub, "ID")) return call.Integer(static_cast<int64_t>(call.client.id));
  if (Is(sub, "INFO") || Is(sub, "LIST")) {
    return call.Bulk(absl::StrCat("id=", call.client.id, " name=", call.client.name,
                                  " db=0 lib-name=", call.client.lib_name,
                                  " lib-ver=", call.client.lib_version, "\n"));
  }
  call.Error(absl::StrCat("ERR unknown subcommand '", Str(sub), "'. Try CLIENT HELP."));
}

void Hello(Call& call) {
  if (call.args.size() >= 2) {
    const auto version = ParseRedisInteger(call.args[1]);
    if (!version) return call.Error("ERR Protocol version is not an integer or out of range");
    if (*version != 2) return call.Error("NOPROTO unsupported protocol version");
  }
  // As Redis 7.0's helloCommand: every option checked first, then AUTH,
  // then the client must be authenticated, and only then is the name set.
  const std::string_view* user = nullptr;
  const std::string_view* name = nullptr;
  for (size_t i = 2; i < call.args.size(); ++i) {
    if (Is(call.args[i], "AUTH") && i + 2 < call.args.size()) {
      user = &call.args[i + 1];
      i += 2;
    } else if (Is(call.args[i], "SETNAME") && i + 1 < call.args.size()) {
      if (!ValidClientName(call.args[i + 1])) {
        return call.Error("ERR Client names cannot contain spaces, newlines or special characters.");
      }
      name = &call.args[++i];
    } else {
      return call.Error(absl::StrCat("ERR Syntax error in HELLO option '", Str(call.args[i]), "'"));
    }
  }
  if (user != nullptr && !Authenticate(call, user[0], user[1])) return call.Error(kRedisWrongPass);
  if (AuthRequired(call)) return call.Error(kRedisHelloNoAuth);
  if (name != nullptr) call.client.name = std::string(*name);
  // RESP2 has no map type: the map goes out as a flat array.
  resp::AppendArrayHeader(call.out, 14);
  call.Bulk("server");
  call.Bulk("redis");
  call.Bulk("version");
  call.Bulk("7.0.0");
  call.Bulk("proto");
  call.Integer(2);
  call.Bulk("id");
  call.Integer(static_cast<int64_t>(call.client.id));
  call.Bulk("mode");
  call.Bulk("standalone");
  call.Bulk("role");
  call.Bulk("master");
  call.Bulk("modules");
  call.out->append(resp::reply::kEmptyArray);
}

void Quit(Call& call) {
  call.Ok();
  call.close = true;
}

void Echo(Call& c) { c.Bulk(c.args[1]); }

// POST and Host: are Redis's commands against cross-protocol scripting (a
// browser made to send an HTTP request to the RESP port): the connection
// is closed at once, with no reply to anything it sent in the same read,
// and the warning logged at most once a minute, as Redis 7.0 does.
void SecurityWarning(Call& call) {
  static std::atomic<int64_t> logged_at{0};
  const int64_t now = time(nullptr);
  int64_t last = logged_at.load(std::memory_order_relaxed);
  if (now - last > 60 && logged_at.compare_exchange_strong(last, now)) {
    std::fprintf(stderr,
                 "xdpkv: Possible SECURITY ATTACK detected. It looks like somebody is sending "
                 "POST or Host: commands to Redis. This is likely due to an attacker attempting "
                 "to use Cross Protocol Scripting to compromise your Redis instance. Connection "
                 "aborted.\n");
  }
  call.close = true;
  call.discard_unsent = true;
}

// CLIENT HELP, CONFIG HELP, COMMAND HELP: the container row's lines, in
// Redis's words (they name Redis's subcommands, served or not, so the text
// is Redis's byte for byte).
void Help(Call& call) {
  const CI* container = Commands().Find(call.args[0]);
  call.out->append(resp::HelpReply(container->name, container->help));
}

}  // namespace

void RegisterServerFamily(Registry* registry) {
  using namespace resp::CO;  // NOLINT: the flags read as Redis's
  *registry
      << CI{"ping", kFast, -1, 0, 0}.Handle(Ping)
      << CI{"echo", kFast, 2, 0, 0}.Handle(Echo)
      << CI{"select", kLoading | kStale | kFast, 2, 0, 0}.Handle(Select)
      << CI{"time", kLoading | kStale | kFast, 1, 0, 0}.Handle(Time)
      << CI{"info", kLoading | kStale, -1, 0, 0}.Handle(Info)
      << CI{"command", kLoading | kStale, -1, 0, 0}
             .Handle(Command)
             .Sub(CI{"count", kLoading | kStale, 2})
             .Sub(CI{"docs", kLoading | kStale, -2})
             .Sub(CI{"info", kLoading | kStale, -2})
             .Sub(CI{"list", kLoading | kStale, -2})
             .Sub(CI{"help", kLoading | kStale, 2}.Handle(Help))
             .Help({
                 "(no subcommand)",
                 "    Return details about all Redis commands.",
                 "COUNT",
                 "    Return the total number of commands in this Redis server.",
                 "LIST",
                 "    Return a list of all commands in this Redis server.",
                 "INFO [<command-name> ...]",
                 "    Return details about multiple Redis commands.",
                 "    If no command names are given, documentation details for all",
                 "    commands are returned.",
                 "DOCS [<command-name> ...]",
                 "    Return documentation details about multiple Redis commands.",
                 "    If no command names are given, documentation details for all",
                 "    commands are returned.",
                 "GETKEYS <full-command>",
                 "    Return the keys from a full Redis command.",
                 "GETKEYSANDFLAGS <full-command>",
                 "    Return the keys and the access flags from a full Redis command.",
             })
      << CI{"client", kAdmin | kNoScript | kLoading | kStale, -2, 0, 0}
             .Handle(Client)
             .Sub(CI{"getname", kNoScript | kLoading | kStale, 2})
             .Sub(CI{"id", kNoScript | kLoading | kStale, 2})
             .Sub(CI{"info", kNoScript | kLoading | kStale, 2})
             .Sub(CI{"list", kAdmin | kNoScript | kLoading | kStale, -2})
             .Sub(CI{"setinfo", kNoScript | kLoading | kStale, 4})
             .Sub(CI{"setname", kNoScript | kLoading | kStale, 3})
             .Sub(CI{"help", kLoading | kStale, 2}.Handle(Help))
             .Help({
                 "CACHING (YES|NO)",
                 "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
                 "GETREDIR",
                 "    Return the client ID we are redirecting to when tracking is enabled.",
                 "GETNAME",
                 "    Return the name of the current connection.",
                 "ID",
                 "    Return the ID of the current connection.",
                 "INFO",
                 "    Return information about the current client connection.",
                 "KILL <ip:port>",
                 "    Kill connection made from <ip:port>.",
                 "KILL <option> <value> [<option> <value> [...]]",
                 "    Kill connections. Options are:",
                 "    * ADDR (<ip:port>|<unixsocket>:0)",
                 "      Kill connections made from the specified address",
                 "    * LADDR (<ip:port>|<unixsocket>:0)",
                 "      Kill connections made to specified local address",
                 "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
                 "      Kill connections by type.",
                 "    * USER <username>",
                 "      Kill connections authenticated by <username>.",
                 "    * SKIPME (YES|NO)",
                 "      Skip killing current connection (default: yes).",
                 "LIST [options ...]",
                 "    Return information about client connections. Options:",
                 "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
                 "      Return clients of specified type.",
                 "UNPAUSE",
                 "    Stop the current client pause, resuming traffic.",
                 "PAUSE <timeout> [WRITE|ALL]",
                 "    Suspend all, or just write, clients for <timeout> milliseconds.",
                 "REPLY (ON|OFF|SKIP)",
                 "    Control the replies sent to the current connection.",
                 "SETNAME <name>",
                 "    Assign the name <name> to the current connection.",
                 "UNBLOCK <clientid> [TIMEOUT|ERROR]",
                 "    Unblock the specified blocked client.",
                 "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
                 "         [OPTIN] [OPTOUT] [NOLOOP]",
                 "    Control server assisted client side caching.",
                 "TRACKINGINFO",
                 "    Report tracking status for the current connection.",
                 "NO-EVICT (ON|OFF)",
                 "    Protect current client connection from eviction.",
             })
      << CI{"hello", kNoScript | kLoading | kStale | kFast | kNoAuth, -1, 0, 0}.Handle(Hello)
      << CI{"config", kAdmin | kNoScript | kLoading | kStale, -2, 0, 0}
             .Handle(Config)
             .Sub(CI{"get", kAdmin | kNoScript | kLoading | kStale, -3})
             .Sub(CI{"set", kAdmin | kNoScript | kLoading | kStale, -4})
             .Sub(CI{"resetstat", kAdmin | kNoScript | kLoading | kStale, 2})
             .Sub(CI{"help", kLoading | kStale, 2}.Handle(Help))
             .Help({
                 "GET <pattern>",
                 "    Return parameters matching the glob-like <pattern> and their values.",
                 "SET <directive> <value>",
                 "    Set the configuration <directive> to <value>.",
                 "RESETSTAT",
                 "    Reset statistics reported by the INFO command.",
                 "REWRITE",
                 "    Rewrite the configuration file.",
             })
      << CI{"quit", kNoScript | kLoading | kStale | kFast | kNoAuth, -1, 0, 0}.Handle(Quit)
      << CI{"post", kLoading | kStale | kNoAuth, -1, 0, 0}.Handle(SecurityWarning)
      << CI{"host:", kLoading | kStale | kNoAuth, -1, 0, 0}.Handle(SecurityWarning);
}

}  // namespace xdpkv::redis
