#include "protocol/resp.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace xdpkv::resp {
namespace {

std::vector<std::string> Args(const ParseResult& r) {
  return std::vector<std::string>(r.command.args.begin(), r.command.args.end());
}

ParseResult ExpectCommand(std::string_view input, std::vector<std::string> args) {
  ParseResult r = ParseCommand(input);
  EXPECT_EQ(r.status, ParseStatus::kCommand) << input << " -> " << r.error_reply;
  EXPECT_EQ(r.consumed, input.size()) << input;
  EXPECT_EQ(Args(r), args) << input;
  return r;
}

void ExpectError(std::string_view input, std::string_view reply) {
  ParseResult r = ParseCommand(input);
  ASSERT_EQ(r.status, ParseStatus::kError) << input;
  EXPECT_EQ(r.error_reply, reply) << input;
}

// --- multibulk -----------------------------------------------------------------

TEST(RespParse, Multibulk) {
  const std::string input = "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n";
  ParseResult r = ExpectCommand(input, {"GET", "foo"});
  EXPECT_EQ(r.command.args[1].data(), input.data() + 17);  // no copy
}

TEST(RespParse, BinarySafeBulk) {
  const std::string value("a\r\n\0b", 5);
  ExpectCommand("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\n" + value + "\r\n", {"SET", "k", value});
}

TEST(RespParse, EmptyBulkAndEmptyMultibulk) {
  ExpectCommand("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", {"ECHO", ""});
  for (std::string_view input : {"*0\r\n", "*-1\r\n", "*-5\r\n"}) {
    ParseResult r = ParseCommand(input);
    EXPECT_EQ(r.status, ParseStatus::kEmpty) << input;
    EXPECT_EQ(r.consumed, input.size());
  }
}

TEST(RespParse, MultibulkErrors) {
  ExpectError("*x\r\n", reply::kInvalidMultibulkLength);
  ExpectError("*01\r\n", reply::kInvalidMultibulkLength);
  ExpectError("*+1\r\n", reply::kInvalidMultibulkLength);
  ExpectError("*\r\n", reply::kInvalidMultibulkLength);
  ExpectError("*2147483648\r\n", reply::kInvalidMultibulkLength);
  // Redis 7 accepts counts up to INT_MAX and waits for the elements.
  EXPECT_EQ(ParseCommand("*2147483647\r\n").status, ParseStatus::kNeedMore);
  ExpectError("*99999999999999999999\r\n", reply::kInvalidMultibulkLength);
  ExpectError("*1\r\n:5\r\n", "-ERR Protocol error: expected '$', got ':'\r\n");
  ExpectError("*1\r\nPING\r\n", "-ERR Protocol error: expected '$', got 'P'\r\n");
  ExpectError("*1\r\n$-1\r\n", reply::kInvalidBulkLength);
  ExpectError("*1\r\n$x\r\n", reply::kInvalidBulkLength);
  ExpectError("*1\r\n$536870913\r\n", reply::kInvalidBulkLength);
  ExpectError("*" + std::string(kMaxInlineSize + 1, '1'), reply::kTooBigMultibulkCount);
  ExpectError("*1\r\n$" + std::string(kMaxInlineSize + 1, '1'), reply::kTooBigBulkCount);
}

TEST(RespParse, BulkLimitIsConfigurable) {
  ParseOptions options;
  options.max_bulk_length = 4;
  EXPECT_EQ(ParseCommand("*1\r\n$5\r\n", options).error_reply, reply::kInvalidBulkLength);
  EXPECT_EQ(ParseCommand("*1\r\n$4\r\nPING\r\n", options).status, ParseStatus::kCommand);
  // The default is Redis's proto-max-bulk-len, 512 MB.
  EXPECT_EQ(ParseCommand("*1\r\n$536870912\r\n").status, ParseStatus::kNeedMore);
}

// --- inline --------------------------------------------------------------------

TEST(RespParse, Inline) {
  ExpectCommand("PING\r\n", {"PING"});
  ExpectCommand("set  k   v\n", {"set", "k", "v"});
  ExpectCommand("\tGET\tk \r\n", {"GET", "k"});
}

TEST(RespParse, InlineQuotes) {
  ExpectCommand("SET \"a b\" 'c d'\r\n", {"SET", "a b", "c d"});
  ExpectCommand("ECHO \"\\x41\\n\\t\\\\\\\"\"\r\n", {"ECHO", "A\n\t\\\""});
  ExpectCommand("ECHO 'it\\'s'\r\n", {"ECHO", "it's"});
  ExpectCommand("ECHO \"\\q\"\r\n", {"ECHO", "q"});
  ExpectCommand("ECHO a\"b c\"\r\n", {"ECHO", "ab c"});
  ExpectCommand("ECHO \"\"\r\n", {"ECHO", ""});
}

TEST(RespParse, InlineUnquotedArgsSurviveMove) {
  ParseResult r = ParseCommand("ECHO \"hello world\"\r\n");
  ASSERT_EQ(r.status, ParseStatus::kCommand);
  Command moved = std::move(r.command);
  ASSERT_EQ(moved.args.size(), 2u);
  EXPECT_EQ(moved.args[1], "hello world");
}

TEST(RespParse, InlineErrors) {
  ExpectError("ECHO \"abc\r\n", reply::kUnbalancedQuotes);
  ExpectError("ECHO 'abc\r\n", reply::kUnbalancedQuotes);
  ExpectError("ECHO \"a\"b\r\n", reply::kUnbalancedQuotes);
  ExpectError("ECHO 'a'b\r\n", reply::kUnbalancedQuotes);
  ExpectError(std::string(kMaxInlineSize + 1, 'a'), reply::kTooBigInline);
  EXPECT_EQ(ParseCommand(std::string(kMaxInlineSize, 'a')).status, ParseStatus::kNeedMore);
}

TEST(RespParse, EmptyInlineLines) {
  for (std::string_view input : {"\r\n", "\n", "   \r\n"}) {
    ParseResult r = ParseCommand(input);
    EXPECT_EQ(r.status, ParseStatus::kEmpty) << input;
    EXPECT_EQ(r.consumed, input.size());
  }
}

// --- incremental -------------------------------------------------------------------

TEST(RespParse, EverySplitPointNeedsMoreThenParses) {
  const std::vector<std::string> requests = {
      "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n",
      "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n0123456789\r\n",
      "*1\r\n$0\r\n\r\n",
      "PING\r\n",
      "SET k \"v w\"\n",
  };
  for (const std::string& request : requests) {
    ASSERT_EQ(ParseCommand(request).status, ParseStatus::kCommand) << request;
    for (size_t cut = 0; cut < request.size(); ++cut) {
      ParseResult part = ParseCommand(std::string_view(request).substr(0, cut));
      EXPECT_EQ(part.status, ParseStatus::kNeedMore) << request << " cut at " << cut;
      EXPECT_EQ(part.consumed, 0u);
      EXPECT_GT(part.need_at_least, cut);
      EXPECT_LE(part.need_at_least, request.size());
    }
  }
}

TEST(RespParse, NeedMoreTellsHowMuchABulkNeeds) {
  ParseResult r = ParseCommand("*2\r\n$3\r\nSET\r\n$1000\r\nabc");
  ASSERT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.need_at_least, 13u + 7u + 1000u + 2u);
}

TEST(RespParse, PipelinedCommandsOneByOne) {
  const std::string input = "*1\r\n$4\r\nPING\r\nECHO x\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n";
  std::string_view rest = input;
  std::vector<std::string> names;
  while (true) {
    ParseResult r = ParseCommand(rest);
    if (r.status != ParseStatus::kCommand) {
      EXPECT_EQ(r.status, ParseStatus::kNeedMore);
      break;
    }
    names.emplace_back(r.command.args[0]);
    rest.remove_prefix(r.consumed);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"PING", "ECHO", "GET"}));
  EXPECT_EQ(rest, "*1\r\n");
}

// --- one connection's parser: state kept across reads -------------------------

// Feeds `input` to one Parser in pieces that end at each of `cuts`, as reads
// would deliver it; returns every command's arguments, or the error reply.
std::vector<std::vector<std::string>> FeedInPieces(Parser& parser, std::string_view input,
                                                   const std::vector<size_t>& cuts,
                                                   std::string* error = nullptr) {
  std::vector<std::vector<std::string>> commands;
  std::string buffer;  // the connection's unconsumed bytes
  size_t fed = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    buffer.append(input.substr(fed, end - fed));
    fed = end;
    while (true) {
      ParseResult r = parser.Parse(buffer);
      if (r.status == ParseStatus::kNeedMore) {
        EXPECT_EQ(r.consumed, 0u);
        EXPECT_GT(r.need_at_least, buffer.size());
        break;
      }
      if (r.status == ParseStatus::kError) {
        if (error) *error = r.error_reply;
        return commands;
      }
      if (r.status == ParseStatus::kCommand) commands.push_back(Args(r));
      buffer.erase(0, r.consumed);
    }
  }
  return commands;
}

TEST(RespParser, EverySplitPointGivesTheSameCommands) {
  const std::string input =
      "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n0123\r\n6789\r\n"
      "PING\r\n*0\r\n\r\n*1\r\n$0\r\n\r\nSET k \"v w\"\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
  const std::vector<std::vector<std::string>> want = {
      {"SET", "k", "0123\r\n6789"}, {"PING"}, {""}, {"SET", "k", "v w"}, {"GET", "k"}};
  for (size_t a = 0; a <= input.size(); ++a) {
    for (size_t b = a; b <= input.size(); b += 7) {
      Parser parser;
      EXPECT_EQ(FeedInPieces(parser, input, {a, b}), want) << "cuts " << a << " " << b;
    }
  }
}

TEST(RespParser, ErrorsAtEverySplitPoint) {
  const std::vector<std::pair<std::string, std::string_view>> cases = {
      {"*2\r\n$3\r\nGET\r\n:5\r\n", "-ERR Protocol error: expected ':', got ':'\r\n"},
      {"*1\r\n$2000\r\n", reply::kInvalidBulkLength},
      {"*x\r\n", reply::kInvalidMultibulkLength},
      {"SET \"a\n", reply::kUnbalancedQuotes},
  };
  ParseOptions options;
  options.max_bulk_length = 1000;
  for (const auto& [input, reply] : cases) {
    for (size_t cut = 0; cut <= input.size(); ++cut) {
      Parser parser(options);
      std::string error;
      FeedInPieces(parser, input, {cut}, &error);
      std::string want(reply);
      if (want.find("expected") != std::string::npos) want = "-ERR Protocol error: expected '$', got ':'\r\n";
      EXPECT_EQ(error, want) << input << " cut at " << cut;
    }
  }
}

// A command trickled a byte per read is looked at once, not once per read:
// the parser keeps its place (Redis's trickled `*2147483647` costs it 0.07 s
// of CPU; a parser that starts over on every read is quadratic).
TEST(RespParser, TrickledInputIsScannedOnce) {
  std::string many = "*2147483647\r\n";
  for (int i = 0; i < 3000; ++i) many += "$1\r\nx\r\n";
  const std::string big_bulk = "*1\r\n$100000\r\n" + std::string(100000, 'v');
  const std::string long_inline(60000, 'a');
  for (const std::string& input : {many, big_bulk, long_inline}) {
    Parser parser;
    std::string buffer;
    for (char c : input) {
      buffer.push_back(c);
      ASSERT_EQ(parser.Parse(buffer).status, ParseStatus::kNeedMore) << buffer.size();
    }
    // Every byte at most twice (a header's digits: found, then converted);
    // a bulk's data is not scanned at all.
    EXPECT_LE(parser.bytes_scanned(), 2 * input.size()) << input.substr(0, 20);
  }
}

TEST(RespParser, ManyArgumentsCompleteInOnePass) {
  constexpr int kArgs = 200000;
  std::string input = "*" + std::to_string(kArgs) + "\r\n";
  for (int i = 0; i < kArgs; ++i) input += "$1\r\nk\r\n";
  Parser parser;
  // Arrives in 4 KiB reads.
  std::vector<size_t> cuts;
  for (size_t at = 4096; at < input.size(); at += 4096) cuts.push_back(at);
  const auto commands = FeedInPieces(parser, input, cuts);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0].size(), static_cast<size_t>(kArgs));
  EXPECT_LE(parser.bytes_scanned(), 2 * input.size());
}

TEST(RespParser, BulkLongerThanTheLimitIsRefusedBeforeItsData) {
  ParseOptions options;
  options.max_bulk_length = 1024 * 1024 + kBulkLengthSlack;
  Parser parser(options);
  ParseResult r = parser.Parse("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" +
                               std::to_string(options.max_bulk_length + 1) + "\r\n");
  ASSERT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.error_reply, reply::kInvalidBulkLength);
  Parser fits(options);
  EXPECT_EQ(fits.Parse("*1\r\n$" + std::to_string(options.max_bulk_length) + "\r\n").status,
            ParseStatus::kNeedMore);
}

// --- replies ---------------------------------------------------------------------------

TEST(RespReply, EveryType) {
  std::string out;
  AppendSimpleString(&out, "OK");
  AppendError(&out, "ERR bad\r\nthing");
  AppendInteger(&out, -42);
  AppendBulk(&out, "hello");
  AppendBulk(&out, "");
  AppendNullBulk(&out);
  AppendArrayHeader(&out, 2);
  AppendNullArray(&out);
  EXPECT_EQ(out,
            "+OK\r\n-ERR bad  thing\r\n:-42\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*2\r\n*-1\r\n");
}

TEST(RespReply, EncodedCommandParsesBack) {
  const std::vector<std::string> args = {"SET", std::string("\0\r\n", 3), ""};
  std::string out;
  AppendArrayHeader(&out, args.size());
  for (const auto& arg : args) AppendBulk(&out, arg);
  ExpectCommand(out, args);
}

}  // namespace
}  // namespace xdpkv::resp
