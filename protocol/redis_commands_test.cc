#include "protocol/redis_commands.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace xdpkv::resp {
namespace {

using Handler = int;  // any type: the table does not call it
using CI = CommandInfo<Handler>;

// A table with Redis 7's rows for a few commands.
const CommandRegistry<Handler>& Table() {
  static const auto* registry = [] {
    auto* r = new CommandRegistry<Handler>;
    *r << CI{"get", CO::kReadOnly | CO::kFast, 2, 1, 1}.Handle(1)
       << CI{"set", CO::kWrite | CO::kDenyOom, -3, 1, 1}.Handle(2)
       << CI{"ping", CO::kFast, -1, 0, 0}.Handle(3)
       << CI{"command", CO::kLoading | CO::kStale, -1, 0, 0}.Handle(4)
       << CI{"client", CO::kAdmin, -2, 0, 0}
              .Handle(5)
              .Sub(CI{"setname", 0, 3}.Handle(6))
              .Sub(CI{"help", 0, 2})
       << CI{"config", CO::kAdmin, -2, 0, 0}.Handle(7).Sub(CI{"get", 0, -3});
    return r;
  }();
  return *registry;
}

std::optional<std::string> Check(std::vector<std::string_view> args) {
  return CheckCommand(args, Table());
}

TEST(RedisCommands, LookupIsCaseInsensitive) {
  ASSERT_NE(Table().Find("GET"), nullptr);
  EXPECT_EQ(Table().Find("gEt")->name, "get");
  EXPECT_EQ(Table().Find("nosuch"), nullptr);
}

TEST(RedisCommands, LookupFindsTheHandlerToRun) {
  const std::vector<std::string_view> setname = {"CLIENT", "SETNAME", "x"};
  EXPECT_EQ(Table().Check(setname).handler(), 6);
  // A subcommand without a handler runs its container's.
  const std::vector<std::string_view> help = {"client", "help"};
  EXPECT_EQ(Table().Check(help).handler(), 5);
  EXPECT_EQ(Table().Check(help).subcommand->name, "help");
}

TEST(RedisCommands, HelpInRedisForm) {
  const std::string_view lines[] = {"GET <pattern>", "    Return parameters."};
  EXPECT_EQ(HelpReply("config", lines),
            "*5\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
            "+GET <pattern>\r\n+    Return parameters.\r\n+HELP\r\n+    Prints this help.\r\n");
}

TEST(RedisCommands, WithoutATableEveryCommandIsUnknown) {
  EXPECT_EQ(CheckCommand(std::vector<std::string_view>{"GET", "k"}),
            "-ERR unknown command 'GET', with args beginning with: 'k' \r\n");
}

TEST(RedisCommands, Arity) {
  EXPECT_TRUE(ArityMatches(2, 2));
  EXPECT_FALSE(ArityMatches(2, 3));
  EXPECT_TRUE(ArityMatches(-3, 3));
  EXPECT_TRUE(ArityMatches(-3, 10));
  EXPECT_FALSE(ArityMatches(-3, 2));
}

TEST(RedisCommands, ValidCommandsPass) {
  EXPECT_EQ(Check({"GET", "k"}), std::nullopt);
  EXPECT_EQ(Check({"set", "k", "v", "EX", "10"}), std::nullopt);
  EXPECT_EQ(Check({"PING"}), std::nullopt);
  EXPECT_EQ(Check({"CLIENT", "SETNAME", "x"}), std::nullopt);
  EXPECT_EQ(Check({"config", "get", "maxmemory"}), std::nullopt);
  EXPECT_EQ(Check({"COMMAND"}), std::nullopt);
}

TEST(RedisCommands, WrongArityInRedisWords) {
  EXPECT_EQ(Check({"GET"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(Check({"GET", "a", "b"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(Check({"Set", "k"}), "-ERR wrong number of arguments for 'set' command\r\n");
  EXPECT_EQ(Check({"CLIENT"}), "-ERR wrong number of arguments for 'client' command\r\n");
  EXPECT_EQ(Check({"client", "setname"}),
            "-ERR wrong number of arguments for 'client|setname' command\r\n");
}

TEST(RedisCommands, UnknownCommandInRedisWords) {
  EXPECT_EQ(Check({"FOO"}), "-ERR unknown command 'FOO', with args beginning with: \r\n");
  EXPECT_EQ(Check({"foo", "a", "b c"}),
            "-ERR unknown command 'foo', with args beginning with: 'a' 'b c' \r\n");
  // Newlines inside names cannot break the reply line.
  EXPECT_EQ(Check({"a\r\nb"}), "-ERR unknown command 'a  b', with args beginning with: \r\n");
}

TEST(RedisCommands, UnknownCommandShowsAt128CharactersOfArgs) {
  const std::string long_arg(200, 'x');
  const std::string reply = *Check({"nope", long_arg, "more"});
  EXPECT_EQ(reply, "-ERR unknown command 'nope', with args beginning with: '" +
                       std::string(128, 'x') + "' \r\n");
}

TEST(RedisCommands, UnknownSubcommand) {
  EXPECT_EQ(Check({"CLIENT", "bogus"}), "-ERR unknown subcommand 'bogus'. Try CLIENT HELP.\r\n");
  EXPECT_EQ(Check({"config", "x"}), "-ERR unknown subcommand 'x'. Try CONFIG HELP.\r\n");
}

}  // namespace
}  // namespace xdpkv::resp
