#include "protocol/redis_commands.h"

#include <array>


namespace xdpkv::resp {
namespace {

constexpr CommandSpec kClientSubcommands[] = {
    {"getname", 2}, {"id", 2},    {"info", 2},     {"list", -2},
    {"setinfo", 4}, {"setname", 3}, {"help", 2},
};
constexpr CommandSpec kConfigSubcommands[] = {
    {"get", -3}, {"set", -4}, {"resetstat", 2}, {"help", 2},
};
constexpr CommandSpec kCommandSubcommands[] = {
    {"count", 2}, {"docs", -2}, {"info", -2}, {"list", -2}, {"help", 2},
};

// Arities from Redis 7's command table.
constexpr CommandSpec kCommands[] = {
    {"append", 3},       {"client", -2, kClientSubcommands},
    {"command", -1, kCommandSubcommands},
    {"config", -2, kConfigSubcommands},
    {"dbsize", 1},       {"decr", 2},        {"decrby", 3},      {"del", -2},
    {"echo", 2},         {"exists", -2},     {"expire", -3},     {"expireat", -3},  {"expiretime", 2},
    {"flushall", -1},    {"flushdb", -1},    {"get", 2},         {"getdel", 2},
    {"getex", -2},       {"getrange", 4},    {"getset", 3},      {"hello", -1},
    {"incr", 2},         {"incrby", 3},      {"incrbyfloat", 3}, {"info", -1},
    {"keys", 2},         {"mget", -2},       {"mset", -3},       {"msetnx", -3},
    {"persist", 2},      {"pexpire", -3},    {"pexpireat", -3}, {"pexpiretime", 2},  {"ping", -1},
    {"psetex", 4},       {"pttl", 2},        {"quit", -1},       {"randomkey", 1},
    {"rename", 3},       {"renamenx", 3},    {"scan", -2},       {"select", 2},
    {"set", -3},         {"setex", 4},       {"setnx", 3},       {"setrange", 4},
    {"strlen", 2},       {"time", 1},        {"ttl", 2},         {"type", 2},
    {"unlink", -2},
};

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }


// Redis keeps CR and LF out of an error line by turning them into spaces.
void ReplaceNewlines(std::string* s) {
  for (char& c : *s) {
    if (c == '\r' || c == '\n') c = ' ';
  }
}

const CommandSpec* FindIn(std::span<const CommandSpec> table, std::string_view name) {
  for (const auto& spec : table) {
    if (EqualsIgnoreCase(spec.name, name)) return &spec;
  }
  return nullptr;
}

}  // namespace

const CommandSpec* FindCommand(std::string_view name) { return FindIn(kCommands, name); }

const CommandSpec* FindSubcommand(const CommandSpec& container, std::string_view name) {
  return FindIn(container.subcommands, name);
}

bool ArityMatches(int arity, size_t argc) {
  if (arity >= 0) return argc == static_cast<size_t>(arity);
  return argc >= static_cast<size_t>(-arity);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

std::span<const CommandSpec> AllCommands() { return kCommands; }

std::string UnknownCommandError(std::span<const std::string_view> args) {
  // Redis quotes each argument until 128 characters of them are shown.
  std::string shown;
  for (size_t i = 1; i < args.size() && shown.size() < 128; ++i) {
    const size_t room = 128 - shown.size();
    shown.append("'").append(args[i].substr(0, room)).append("' ");
  }
  std::string reply = "-ERR unknown command '";
  reply.append(args[0].substr(0, 128)).append("', with args beginning with: ").append(shown);
  ReplaceNewlines(&reply);
  return reply.append("\r\n");
}

std::string WrongArityError(std::string_view full_name) {
  std::string reply = "-ERR wrong number of arguments for '";
  return reply.append(full_name).append("' command\r\n");
}

std::optional<std::string> CheckCommand(std::span<const std::string_view> args) {
  if (args.empty()) return UnknownCommandError(std::array<std::string_view, 1>{""});
  const CommandSpec* spec = FindCommand(args[0]);
  if (spec == nullptr) return UnknownCommandError(args);
  if (!spec->subcommands.empty() && args.size() >= 2) {
    const CommandSpec* sub = FindSubcommand(*spec, args[1]);
    if (sub == nullptr) {
      std::string container(spec->name);
      for (char& c : container) c = static_cast<char>(c - 'a' + 'A');
      std::string reply = "-ERR unknown subcommand '";
      reply.append(args[1].substr(0, 128)).append("'. Try ").append(container).append(" HELP.");
      ReplaceNewlines(&reply);
      return reply.append("\r\n");
    }
    if (!ArityMatches(sub->arity, args.size())) {
      std::string full_name(spec->name);
      return WrongArityError(full_name.append("|").append(sub->name));
    }
    return std::nullopt;
  }
  if (!ArityMatches(spec->arity, args.size())) return WrongArityError(spec->name);
  return std::nullopt;
}

}  // namespace xdpkv::resp
