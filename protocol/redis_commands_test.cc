#include "protocol/redis_commands.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace xdpkv::resp {
namespace {

std::optional<std::string> Check(std::vector<std::string_view> args) { return CheckCommand(args); }

TEST(RedisCommands, LookupIsCaseInsensitive) {
  ASSERT_NE(FindCommand("GET"), nullptr);
  EXPECT_EQ(FindCommand("gEt")->name, "get");
  EXPECT_EQ(FindCommand("nosuch"), nullptr);
}

TEST(RedisCommands, EveryServedCommandIsKnown) {
  for (std::string_view name :
       {"GET", "SET", "SETNX", "SETEX", "PSETEX", "GETSET", "GETDEL", "GETEX", "MGET", "MSET",
        "MSETNX", "DEL", "UNLINK", "EXISTS", "INCR", "DECR", "INCRBY", "DECRBY", "INCRBYFLOAT",
        "APPEND", "STRLEN", "GETRANGE", "SETRANGE", "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT",
        "TTL", "PTTL", "PERSIST", "TYPE", "KEYS", "SCAN", "RANDOMKEY", "RENAME", "RENAMENX",
        "DBSIZE", "FLUSHDB", "FLUSHALL", "PING", "ECHO", "SELECT", "TIME", "INFO", "COMMAND",
        "CLIENT", "HELLO", "CONFIG", "QUIT"}) {
    EXPECT_NE(FindCommand(name), nullptr) << name;
  }
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
