// The machinery of a Redis command table: one row per command with its
// name, flags, Redis 7 arity, key positions, handler and subcommands, as
// Dragonfly registers commands:
//
//   *registry << CI{"setnx", CO::kWrite | CO::kFast, 3, 1, 1}.Handle(SetNx);
//
// The rows themselves live with their handlers, by family (proxy/commands/);
// this file checks a command against a table the way Redis does before
// running it, and formats Redis's errors. Pure data and strings: the
// handler type is the caller's.
#ifndef XDPKV_PROTOCOL_REDIS_COMMANDS_H_
#define XDPKV_PROTOCOL_REDIS_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xdpkv::resp {

// Redis's command flags (the subset the table records).
namespace CO {
inline constexpr uint32_t kWrite = 1u << 0;
inline constexpr uint32_t kReadOnly = 1u << 1;
inline constexpr uint32_t kFast = 1u << 2;
inline constexpr uint32_t kAdmin = 1u << 3;
inline constexpr uint32_t kDenyOom = 1u << 4;
inline constexpr uint32_t kLoading = 1u << 5;
inline constexpr uint32_t kStale = 1u << 6;
inline constexpr uint32_t kNoScript = 1u << 7;
inline constexpr uint32_t kNoAuth = 1u << 8;  // runs before AUTH (AUTH, HELLO, QUIT)
// Not Redis's: runs alone, no other client's command alongside (SWAPDB,
// which changes what every client's database number names).
inline constexpr uint32_t kIsolated = 1u << 9;
inline constexpr uint32_t kBlocking = 1u << 10;  // may park its client (BLPOP, ...)
}  // namespace CO

// ASCII case-insensitive equality, as Redis compares command and option
// names.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Redis's arity: N means exactly N arguments counting the command name,
// -N means at least N.
bool ArityMatches(int arity, size_t argc);

// "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"
std::string UnknownCommandError(std::span<const std::string_view> args);
// "-ERR wrong number of arguments for 'get' command\r\n"
std::string WrongArityError(std::string_view full_name);
// "-ERR unknown subcommand 'x'. Try CLIENT HELP.\r\n" (container: "client")
std::string UnknownSubcommandError(std::string_view container, std::string_view subcommand);
// Redis's HELP reply for a container command: its header line, `lines`,
// and the HELP entry Redis appends, as simple strings.
std::string HelpReply(std::string_view container, std::span<const std::string_view> lines);

// One row of a command table.
template <typename Handler>
struct CommandInfo {
  CommandInfo(std::string_view name, uint32_t flags, int arity, int first_key = 0,
              int last_key = 0)
      : name(name), flags(flags), arity(arity), first_key(first_key), last_key(last_key) {}

  std::string_view name;  // lower case, as Redis prints it in errors
  uint32_t flags = 0;     // CO::
  int arity = 0;
  int first_key = 0;  // position of the first key argument; 0: no keys
  int last_key = 0;   // of the last; -1: the last argument
  Handler handler{};  // subcommands without one run their container's
  std::vector<CommandInfo> subcommands;  // CLIENT, CONFIG, COMMAND
  std::vector<std::string_view> help;    // container HELP's lines (HelpReply)

  CommandInfo&& Handle(Handler h) && {
    handler = h;
    return std::move(*this);
  }
  CommandInfo&& Sub(CommandInfo sub) && {
    subcommands.push_back(std::move(sub));
    return std::move(*this);
  }
  CommandInfo&& Help(std::vector<std::string_view> lines) && {
    help = std::move(lines);
    return std::move(*this);
  }
};

// Finds a row by name, ignoring case; nullptr when absent.
template <typename Row>
const Row* FindRow(std::span<const Row> rows, std::string_view name) {
  for (const Row& row : rows) {
    if (EqualsIgnoreCase(row.name, name)) return &row;
  }
  return nullptr;
}

// A protocol's command table.
template <typename Handler>
class CommandRegistry {
 public:
  using CI = CommandInfo<Handler>;

  CommandRegistry& operator<<(CI info) {
    commands_.push_back(std::move(info));
    return *this;
  }

  const CI* Find(std::string_view name) const { return FindRow<CI>(commands_, name); }
  std::span<const CI> All() const { return commands_; }

  // What Redis checks before it runs a command: a known name, the arity,
  // for a container a known subcommand and its arity.
  struct Lookup {
    const CI* command = nullptr;
    const CI* subcommand = nullptr;
    std::string error;  // the complete error reply when it may not run
    // The handler to run (the subcommand's, else the command's).
    Handler handler() const {
      return subcommand != nullptr && subcommand->handler ? subcommand->handler
                                                          : command->handler;
    }
  };
  Lookup Check(std::span<const std::string_view> args) const {
    Lookup lookup;
    if (args.empty()) {
      lookup.error = UnknownCommandError(std::span<const std::string_view>());
      return lookup;
    }
    lookup.command = Find(args[0]);
    if (lookup.command == nullptr) {
      lookup.error = UnknownCommandError(args);
      return lookup;
    }
    const CI& spec = *lookup.command;
    if (!spec.subcommands.empty() && args.size() >= 2) {
      lookup.subcommand = FindRow<CI>(spec.subcommands, args[1]);
      if (lookup.subcommand == nullptr) {
        lookup.error = UnknownSubcommandError(spec.name, args[1]);
      } else if (!ArityMatches(lookup.subcommand->arity, args.size())) {
        std::string full_name(spec.name);
        lookup.error = WrongArityError(full_name.append("|").append(lookup.subcommand->name));
      }
      return lookup;
    }
    if (!ArityMatches(spec.arity, args.size())) lookup.error = WrongArityError(spec.name);
    return lookup;
  }

 private:
  std::vector<CI> commands_;
};

// Checks `args` against `registry`: Redis's complete error reply, or
// nullopt when the command may run.
template <typename Handler>
std::optional<std::string> CheckCommand(std::span<const std::string_view> args,
                                        const CommandRegistry<Handler>& registry) {
  auto lookup = registry.Check(args);
  if (lookup.error.empty()) return std::nullopt;
  return std::move(lookup.error);
}

// Against an empty table: every command is unknown. Kept for the parser
// fuzzer (protocol/fuzz/resp_fuzz.cc), which checks only the reply's form;
// the server's table is in proxy/commands/.
std::optional<std::string> CheckCommand(std::span<const std::string_view> args);

}  // namespace xdpkv::resp

#endif  // XDPKV_PROTOCOL_REDIS_COMMANDS_H_
