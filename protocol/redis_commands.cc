#include "protocol/redis_commands.h"

namespace xdpkv::resp {
namespace {

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char AsciiUpper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// Redis keeps CR and LF out of an error line by turning them into spaces.
void ReplaceNewlines(std::string* s) {
  for (char& c : *s) {
    if (c == '\r' || c == '\n') c = ' ';
  }
}

std::string Upper(std::string_view name) {
  std::string upper(name);
  for (char& c : upper) c = AsciiUpper(c);
  return upper;
}

}  // namespace

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

std::string UnknownCommandError(std::span<const std::string_view> args) {
  if (args.empty()) return "-ERR unknown command '', with args beginning with: \r\n";
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

std::string UnknownSubcommandError(std::string_view container, std::string_view subcommand) {
  std::string reply = "-ERR unknown subcommand '";
  reply.append(subcommand.substr(0, 128)).append("'. Try ").append(Upper(container));
  reply.append(" HELP.");
  ReplaceNewlines(&reply);
  return reply.append("\r\n");
}

std::string HelpReply(std::string_view container, std::span<const std::string_view> lines) {
  // Redis's addReplyHelp: a header, the lines, then HELP's own entry.
  std::string reply = "*" + std::to_string(lines.size() + 3) + "\r\n";
  reply.append("+").append(Upper(container));
  reply.append(" <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n");
  for (std::string_view line : lines) reply.append("+").append(line).append("\r\n");
  return reply.append("+HELP\r\n+    Prints this help.\r\n");
}

std::optional<std::string> CheckCommand(std::span<const std::string_view> args) {
  return CheckCommand(args, CommandRegistry<void (*)()>());
}

}  // namespace xdpkv::resp
