// The Redis commands xdpkv knows, with Redis 7's arities, and the errors
// Redis sends for unknown commands and wrong argument counts. Pure data and
// string formatting; the server owns what each command does.
#ifndef XDPKV_PROTOCOL_REDIS_COMMANDS_H_
#define XDPKV_PROTOCOL_REDIS_COMMANDS_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace xdpkv::resp {

struct CommandSpec {
  std::string_view name;  // lower case, as Redis prints it in errors
  // Redis's arity: N means exactly N arguments counting the command name,
  // -N means at least N.
  int arity;
  // Container commands (CLIENT, CONFIG, COMMAND): their subcommands.
  std::span<const CommandSpec> subcommands = {};
};

// Case-insensitive lookup; nullptr when Redis 7 would not know it either
// (or xdpkv does not serve it).
const CommandSpec* FindCommand(std::string_view name);
const CommandSpec* FindSubcommand(const CommandSpec& container, std::string_view name);

// ASCII case-insensitive equality, as Redis compares command and option
// names.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Every command xdpkv knows (COMMAND COUNT, COMMAND LIST).
std::span<const CommandSpec> AllCommands();

bool ArityMatches(int arity, size_t argc);

// Checks a command's name and argument count. Returns the complete error
// reply ("-ERR ...\r\n") Redis would send, or nullopt when the command may
// run. For container commands the subcommand is checked too.
std::optional<std::string> CheckCommand(std::span<const std::string_view> args);

// "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"
std::string UnknownCommandError(std::span<const std::string_view> args);
// "-ERR wrong number of arguments for 'get' command\r\n"
std::string WrongArityError(std::string_view full_name);

}  // namespace xdpkv::resp

#endif  // XDPKV_PROTOCOL_REDIS_COMMANDS_H_
