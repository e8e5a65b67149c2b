#include "protocol/memcache_binary.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace xdpkv::memcache::binary {
namespace {

std::string BigEndian(uint64_t value, size_t width) {
  std::string bytes(width, '\0');
  for (size_t i = 0; i < width; ++i) {
    bytes[width - 1 - i] = static_cast<char>((value >> (8 * i)) & 0xff);
  }
  return bytes;
}

struct Frame {
  uint8_t opcode = 0;
  std::string extras;
  std::string key;
  std::string value;
  uint32_t opaque = 0;
  uint64_t cas = 0;
  std::optional<uint32_t> body_length;  // a lie, when set
  uint8_t magic = kRequestMagic;
};

std::string Encode(const Frame& f) {
  std::string out;
  out.push_back(static_cast<char>(f.magic));
  out.push_back(static_cast<char>(f.opcode));
  out += BigEndian(f.key.size(), 2);
  out.push_back(static_cast<char>(f.extras.size()));
  out.push_back(0);
  out += BigEndian(0, 2);
  out += BigEndian(f.body_length.value_or(f.extras.size() + f.key.size() + f.value.size()), 4);
  out += BigEndian(f.opaque, 4);
  out += BigEndian(f.cas, 8);
  return out + f.extras + f.key + f.value;
}

uint8_t Code(Opcode opcode) { return static_cast<uint8_t>(opcode); }

ParseResult ExpectRequest(const std::string& input, Opcode command, ParseOptions options = {}) {
  ParseResult r = ParseRequest(input, options);
  EXPECT_EQ(r.status, ParseStatus::kRequest) << static_cast<int>(r.error);
  EXPECT_EQ(r.request.command, command);
  return r;
}

void ExpectError(const std::string& input, Status status, size_t consumed, size_t swallow,
                 bool close, ParseOptions options = {}) {
  ParseResult r = ParseRequest(input, options);
  ASSERT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.error, status);
  EXPECT_EQ(r.consumed, consumed);
  EXPECT_EQ(r.swallow, swallow);
  EXPECT_EQ(r.close_after_reply, close);
  EXPECT_FALSE(r.close_now);
}

TEST(MemcacheBinaryParse, GetAndItsQuietForms) {
  for (Opcode op : {Opcode::kGet, Opcode::kGetQ, Opcode::kGetK, Opcode::kGetKQ}) {
    const std::string input = Encode({.opcode = Code(op), .key = "foo", .opaque = 0xdeadbeef});
    ParseResult r = ParseRequest(input);
    ASSERT_EQ(r.status, ParseStatus::kRequest);
    EXPECT_EQ(r.consumed, input.size());
    EXPECT_EQ(r.request.key, "foo");
    EXPECT_EQ(r.request.key.data(), input.data() + kHeaderSize);  // a view into the input
    EXPECT_EQ(r.request.header.opaque, 0xdeadbeefu);
    EXPECT_EQ(r.request.header.opcode, Code(op));
    EXPECT_EQ(r.request.quiet, op == Opcode::kGetQ || op == Opcode::kGetKQ);
    EXPECT_EQ(r.request.command, op == Opcode::kGetQ    ? Opcode::kGet
                                 : op == Opcode::kGetKQ ? Opcode::kGetK
                                                        : op);
  }
}

TEST(MemcacheBinaryParse, SetCarriesFlagsExpirationCasAndValue) {
  const std::string input = Encode({.opcode = Code(Opcode::kSetQ),
                                    .extras = BigEndian(0xcafe, 4) + BigEndian(3600, 4),
                                    .key = "k",
                                    .value = std::string("v\0\r\nx", 5),
                                    .cas = 77});
  ParseResult r = ExpectRequest(input, Opcode::kSet);
  EXPECT_TRUE(r.request.quiet);
  EXPECT_EQ(r.consumed, input.size());
  EXPECT_EQ(r.request.flags, 0xcafeu);
  EXPECT_EQ(r.request.expiration, 3600u);
  EXPECT_EQ(r.request.header.cas, 77u);
  EXPECT_EQ(r.request.value, std::string("v\0\r\nx", 5));
}

TEST(MemcacheBinaryParse, IncrementExtras) {
  const std::string input =
      Encode({.opcode = Code(Opcode::kDecrementQ),
              .extras = BigEndian(5, 8) + BigEndian(~uint64_t{0}, 8) + BigEndian(0xffffffff, 4),
              .key = "n"});
  ParseResult r = ExpectRequest(input, Opcode::kDecrement);
  EXPECT_EQ(r.request.delta, 5u);
  EXPECT_EQ(r.request.initial, ~uint64_t{0});
  EXPECT_EQ(r.request.expiration, 0xffffffffu);
}

TEST(MemcacheBinaryParse, NeedsWholeFramesAndConsumesNothingUntilThen) {
  const std::string input = Encode({.opcode = Code(Opcode::kSet),
                                    .extras = std::string(8, '\0'),
                                    .key = "key",
                                    .value = "value"});
  for (size_t cut = 0; cut < input.size(); ++cut) {
    ParseResult r = ParseRequest(std::string_view(input).substr(0, cut));
    ASSERT_EQ(r.status, ParseStatus::kNeedMore) << cut;
    EXPECT_EQ(r.consumed, 0u);
    EXPECT_GT(r.need_at_least, cut);
  }
  EXPECT_EQ(ParseRequest(input).status, ParseStatus::kRequest);
}

TEST(MemcacheBinaryParse, BadMagicClosesAtOnce) {
  ParseResult r = ParseRequest(Encode({.opcode = Code(Opcode::kNoop), .magic = 0x81}));
  ASSERT_EQ(r.status, ParseStatus::kError);
  EXPECT_TRUE(r.close_now);
  // Decided only once a whole header is in (memcached reads 24 bytes first).
  EXPECT_EQ(ParseRequest("version\r\n").status, ParseStatus::kNeedMore);
}

TEST(MemcacheBinaryParse, KeyAndExtrasLongerThanTheBodyIsUnknownAndCloses) {
  // memcached waits for the key the header announces before it looks.
  const std::string input = Encode({.opcode = Code(Opcode::kGet), .key = "abc", .body_length = 1});
  EXPECT_EQ(ParseRequest(std::string_view(input).substr(0, kHeaderSize + 2)).status,
            ParseStatus::kNeedMore);
  ExpectError(input, Status::kUnknownCommand, input.size(), 0, true);
}

TEST(MemcacheBinaryParse, KeysOver250AreInvalidAndClose) {
  const std::string input = Encode({.opcode = Code(Opcode::kGet), .key = std::string(251, 'k')});
  ExpectError(input, Status::kInvalidArguments, input.size(), 0, true);
  ExpectRequest(Encode({.opcode = Code(Opcode::kGet), .key = std::string(250, 'k')}), Opcode::kGet);
}

TEST(MemcacheBinaryParse, MalformedFramesAreInvalidAndClose) {
  const std::string bad[] = {
      Encode({.opcode = Code(Opcode::kNoop), .key = "k"}),
      Encode({.opcode = Code(Opcode::kVersion), .value = "x"}),
      Encode({.opcode = Code(Opcode::kQuitQ), .extras = "1234"}),
      Encode({.opcode = Code(Opcode::kGet)}),  // no key
      Encode({.opcode = Code(Opcode::kGet), .key = "k", .value = "v"}),
      Encode({.opcode = Code(Opcode::kSet), .extras = "1234", .key = "k"}),
      Encode({.opcode = Code(Opcode::kSet), .extras = std::string(8, '\0')}),
      Encode({.opcode = Code(Opcode::kDelete), .extras = "1234", .key = "k"}),
      Encode({.opcode = Code(Opcode::kIncrement), .extras = std::string(8, '\0'), .key = "k"}),
      Encode({.opcode = Code(Opcode::kAppend), .extras = "1234", .key = "k", .value = "v"}),
      Encode({.opcode = Code(Opcode::kFlush), .extras = "12"}),
      Encode({.opcode = Code(Opcode::kFlush), .key = "k"}),
      Encode({.opcode = Code(Opcode::kTouch), .key = "k"}),
      Encode({.opcode = Code(Opcode::kStat), .extras = "1234"}),
  };
  for (const std::string& input : bad) {
    SCOPED_TRACE(static_cast<int>(input[1]));
    ParseResult r = ParseRequest(input);
    ASSERT_EQ(r.status, ParseStatus::kError);
    EXPECT_EQ(r.error, Status::kInvalidArguments);
    EXPECT_TRUE(r.close_after_reply);
    EXPECT_EQ(r.request.header.opcode, static_cast<uint8_t>(input[1]));
  }
}

TEST(MemcacheBinaryParse, UnknownOpcodesSwallowTheirBodyLengthPastTheKey) {
  // memcached's arithmetic: extras and key are read, then `body length`
  // more bytes are discarded. VERBOSITY is unknown to memcached 1.6.18.
  const std::string input = Encode({.opcode = Code(Opcode::kVerbosity), .extras = "1234"});
  ExpectError(input, Status::kUnknownCommand, input.size(), 4, false);
  const std::string other = Encode({.opcode = 0x40, .key = "k", .value = "xyz"});
  ExpectError(other, Status::kUnknownCommand, kHeaderSize + 1, 4, false);
}

TEST(MemcacheBinaryParse, TooLargeValuesAreRefusedBeforeTheyArrive) {
  ParseOptions options;
  options.max_value_bytes = 10;
  const std::string header_only = Encode({.opcode = Code(Opcode::kSet),
                                          .extras = std::string(8, '\0'),
                                          .key = "k",
                                          .body_length = 9 + 11});
  ParseResult r = ParseRequest(header_only, options);
  ASSERT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.error, Status::kValueTooLarge);
  EXPECT_EQ(r.consumed, header_only.size());
  EXPECT_EQ(r.swallow, 11u);
  EXPECT_FALSE(r.close_after_reply);
  EXPECT_EQ(r.request.command, Opcode::kSet);  // for the unlink of the old value
  EXPECT_EQ(r.request.key, "k");
  ExpectRequest(
      Encode({.opcode = Code(Opcode::kAppend), .key = "k", .value = std::string(10, 'v')}),
      Opcode::kAppend, options);
  ExpectError(Encode({.opcode = Code(Opcode::kPrepend), .key = "k", .value = std::string(11, 'v')}),
              Status::kValueTooLarge, kHeaderSize + 1, 11, false, options);
}

TEST(MemcacheBinaryParse, StatAndTouchLeaveABodyPastTheKeyForTheNextRequest) {
  const std::string stat = Encode({.opcode = Code(Opcode::kStat), .key = "items", .value = "zz"});
  ParseResult r = ExpectRequest(stat, Opcode::kStat);
  EXPECT_EQ(r.consumed, kHeaderSize + 5);
  const std::string touch =
      Encode({.opcode = Code(Opcode::kGatKQ), .extras = BigEndian(9, 4), .key = "k", .value = "z"});
  r = ExpectRequest(touch, Opcode::kGatK);
  EXPECT_TRUE(r.request.quiet);
  EXPECT_EQ(r.request.expiration, 9u);
  EXPECT_EQ(r.consumed, kHeaderSize + 5);
}

TEST(MemcacheBinaryParse, SaslCommandsAreUnknownWithoutSasl) {
  const std::string list = Encode({.opcode = Code(Opcode::kSaslListMechs)});
  ExpectError(list, Status::kUnknownCommand, list.size(), 0, false);
  const std::string auth = Encode(
      {.opcode = Code(Opcode::kSaslAuth), .key = "PLAIN", .value = std::string("\0u\0p", 4)});
  ExpectError(auth, Status::kUnknownCommand, kHeaderSize + 5, 4, false);
}

TEST(MemcacheBinaryParse, UnderSaslOnlyTheExchangeAndVersionComeFirst) {
  const ParseOptions sasl{.sasl = true, .authenticated = false};
  ExpectRequest(Encode({.opcode = Code(Opcode::kVersion)}), Opcode::kVersion, sasl);
  ExpectRequest(Encode({.opcode = Code(Opcode::kSaslListMechs)}), Opcode::kSaslListMechs, sasl);
  ParseResult r = ExpectRequest(
      Encode(
          {.opcode = Code(Opcode::kSaslAuth), .key = "PLAIN", .value = std::string("\0u\0p", 4)}),
      Opcode::kSaslAuth, sasl);
  EXPECT_EQ(r.request.key, "PLAIN");
  EXPECT_EQ(r.request.value, std::string("\0u\0p", 4));
  for (Opcode op : {Opcode::kNoop, Opcode::kGet, Opcode::kQuit, Opcode::kStat}) {
    const std::string input = Encode({.opcode = Code(op), .key = op == Opcode::kGet ? "k" : ""});
    ExpectError(input, Status::kAuthError, input.size(), 0, true, sasl);
  }
  ExpectRequest(Encode({.opcode = Code(Opcode::kNoop)}), Opcode::kNoop,
                {.sasl = true, .authenticated = true});
  // A mechanism name over 32 bytes: invalid, its data swallowed, open.
  const std::string long_mech =
      Encode({.opcode = Code(Opcode::kSaslAuth), .key = std::string(33, 'P'), .value = "abc"});
  ExpectError(long_mech, Status::kInvalidArguments, kHeaderSize + 33, 3, false, sasl);
  // Data memcached has no item for.
  const std::string big =
      Encode({.opcode = Code(Opcode::kSaslAuth), .key = "PLAIN", .body_length = 5 + 600000});
  ExpectError(big, Status::kOutOfMemory, kHeaderSize + 5, 600000, false, sasl);
}

TEST(MemcacheBinaryEncode, ResponsesAndErrorsAsMemcachedWritesThem) {
  std::string out;
  AppendResponse(&out, {.opcode = Code(Opcode::kGetK),
                        .opaque = 0x01020304,
                        .cas = 0x1122334455667788,
                        .extras = BigEndian(5, 4),
                        .key = "k",
                        .value = "val"});
  EXPECT_EQ(out, std::string("\x81\x0c\x00\x01\x04\x00\x00\x00\x00\x00\x00\x08\x01\x02\x03\x04"
                             "\x11\x22\x33\x44\x55\x66\x77\x88\x00\x00\x00\x05kval",
                             32));
  out.clear();
  Header request;
  request.opcode = Code(Opcode::kAddQ);
  request.opaque = 9;
  AppendError(&out, request, Status::kKeyExists);
  EXPECT_EQ(out.substr(0, 2), "\x81\x12");
  EXPECT_EQ(out.substr(6, 2), std::string("\x00\x02", 2));
  EXPECT_EQ(out.substr(kHeaderSize), "Data exists for key.");
  EXPECT_EQ(ParseHeader(out)->body_length, 20u);
  EXPECT_EQ(ParseHeader(out)->opaque, 9u);
}

TEST(MemcacheBinaryEncode, StatusWordsAreMemcachedsOwn) {
  EXPECT_EQ(StatusText(Status::kKeyNotFound), "Not found");
  EXPECT_EQ(StatusText(Status::kValueTooLarge), "Too large.");
  EXPECT_EQ(StatusText(Status::kNotStored), "Not stored.");
  EXPECT_EQ(StatusText(Status::kNonNumeric), "Non-numeric server-side value for incr or decr");
  EXPECT_EQ(StatusText(Status::kAuthError), "Auth failure.");
  EXPECT_EQ(StatusText(Status::kUnknownCommand), "Unknown command");
  EXPECT_EQ(StatusText(Status::kOutOfMemory), "Out of memory");
  EXPECT_EQ(StatusText(Status::kInvalidArguments), "Invalid arguments");
}

}  // namespace
}  // namespace xdpkv::memcache::binary
