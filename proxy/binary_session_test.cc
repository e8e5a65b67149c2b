// memcached's binary protocol through in-process sessions (no sockets, no
// BPF): what a client sends over one connection, what it gets back.
// compat-tests/binary_diff.py compares the same against memcached itself.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocol/memcache_binary.h"
#include "proxy/session.h"
#include "proxy/testing/memory_store.h"

namespace xdpkv {
namespace {

namespace bin = memcache::binary;
using bin::Opcode;
using bin::Status;

std::string BigEndian(uint64_t value, size_t width) {
  std::string bytes(width, '\0');
  for (size_t i = 0; i < width; ++i) bytes[width - 1 - i] = static_cast<char>(value >> (8 * i));
  return bytes;
}

std::string Request(Opcode opcode, std::string_view key = {}, std::string_view extras = {},
                    std::string_view value = {}, uint32_t opaque = 0, uint64_t cas = 0) {
  std::string out;
  out.push_back(static_cast<char>(bin::kRequestMagic));
  out.push_back(static_cast<char>(opcode));
  out += BigEndian(key.size(), 2);
  out.push_back(static_cast<char>(extras.size()));
  out += std::string(3, '\0');
  out += BigEndian(extras.size() + key.size() + value.size(), 4);
  out += BigEndian(opaque, 4);
  out += BigEndian(cas, 8);
  out.append(extras).append(key).append(value);
  return out;
}

std::string SetExtras(uint32_t flags, uint32_t expiration) {
  return BigEndian(flags, 4) + BigEndian(expiration, 4);
}

struct Packet {
  bin::Header header;
  std::string extras, key, value;
};

std::vector<Packet> Packets(std::string_view bytes) {
  std::vector<Packet> packets;
  while (auto h = bin::ParseHeader(bytes)) {
    if (bytes.size() < bin::kHeaderSize + h->body_length) break;
    std::string_view body = bytes.substr(bin::kHeaderSize, h->body_length);
    packets.push_back({*h, std::string(body.substr(0, h->extras_length)),
                       std::string(body.substr(h->extras_length, h->key_length)),
                       std::string(body.substr(h->extras_length + h->key_length))});
    bytes.remove_prefix(bin::kHeaderSize + h->body_length);
  }
  EXPECT_TRUE(bytes.empty()) << "trailing bytes";
  return packets;
}

Status StatusOf(const Packet& p) { return static_cast<Status>(p.header.vbucket); }

class BinarySessions : public ::testing::Test {
 protected:
  BinarySessions() {
    context_.now_boot_ms = [] { return uint64_t{1'000'000}; };
    context_.unix_minus_boot_ms = 1'700'000'000'000;
    context_.runtime = &runtime_;
    context_.stats = &stats_;
  }

  std::string Feed(MemcacheSession& session, std::string_view input) {
    std::string out;
    used_ = session.Feed(input, &out);
    return out;
  }
  std::string Once(std::string_view input) {
    MemcacheSession session(store_, context_);
    std::string out = Feed(session, input);
    closing_ = session.closing();
    return out;
  }

  testing::MemoryStore store_;
  ServerStats stats_;
  RuntimeConfig runtime_;
  ServerContext context_;
  size_t used_ = 0;
  bool closing_ = false;
};

TEST_F(BinarySessions, PipelineWithQuietCommands) {
  const std::string input =
      Request(Opcode::kSetQ, "a", SetExtras(7, 0), "abc") + Request(Opcode::kGetQ, "zz") +
      Request(Opcode::kGetKQ, "a", {}, {}, 42) + Request(Opcode::kAddQ, "a", SetExtras(0, 0), "x") +
      Request(Opcode::kGetK, "zz") + Request(Opcode::kNoop, {}, {}, {}, 99);
  const std::vector<Packet> p = Packets(Once(input));
  ASSERT_EQ(p.size(), 4u);  // the quiet successes and the GETQ miss say nothing
  EXPECT_EQ(p[0].header.opcode, static_cast<uint8_t>(Opcode::kGetKQ));
  EXPECT_EQ(p[0].header.opaque, 42u);
  EXPECT_EQ(p[0].extras, BigEndian(7, 4));
  EXPECT_EQ(p[0].key, "a");
  EXPECT_EQ(p[0].value, "abc");
  EXPECT_NE(p[0].header.cas, 0u);
  EXPECT_EQ(StatusOf(p[1]), Status::kKeyExists);  // a quiet command's error is sent
  EXPECT_EQ(p[1].value, "Data exists for key.");
  EXPECT_EQ(StatusOf(p[2]), Status::kKeyNotFound);  // GETK's miss carries the key
  EXPECT_EQ(p[2].key, "zz");
  EXPECT_EQ(p[2].value, "");
  EXPECT_EQ(p[3].header.opaque, 99u);
  EXPECT_EQ(used_, input.size());
}

TEST_F(BinarySessions, CasGuardsSetDeleteAndIncrement) {
  std::vector<Packet> p = Packets(Once(Request(Opcode::kSet, "k", SetExtras(0, 0), "1")));
  const uint64_t cas = p[0].header.cas;
  p = Packets(Once(Request(Opcode::kSet, "k", SetExtras(0, 0), "2", 0, cas + 1) +
                   Request(Opcode::kDelete, "k", {}, {}, 0, cas + 1) +
                   Request(Opcode::kIncrement, "k",
                           BigEndian(5, 8) + BigEndian(0, 8) + BigEndian(0, 4), {}, 0, cas + 1) +
                   Request(Opcode::kAdd, "nope", SetExtras(0, 0), "x", 0, 5) +
                   Request(Opcode::kIncrement, "k",
                           BigEndian(5, 8) + BigEndian(0, 8) + BigEndian(0, 4), {}, 0, cas)));
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(StatusOf(p[0]), Status::kKeyExists);
  EXPECT_EQ(StatusOf(p[1]), Status::kKeyExists);
  EXPECT_EQ(StatusOf(p[2]), Status::kKeyExists);
  EXPECT_EQ(StatusOf(p[3]), Status::kKeyNotFound);  // add with a CAS is a cas: nothing to match
  EXPECT_EQ(StatusOf(p[4]), Status::kSuccess);
  EXPECT_EQ(p[4].value, BigEndian(6, 8));
  EXPECT_NE(p[4].header.cas, cas);
  EXPECT_EQ(stats_.cas_misses.load(), 1u);
}

TEST_F(BinarySessions, IncrementCreatesWithItsInitialValueUnlessTold) {
  const std::string extras = BigEndian(3, 8) + BigEndian(40, 8) + BigEndian(0, 4);
  const std::string no_create = BigEndian(3, 8) + BigEndian(40, 8) + BigEndian(0xffffffff, 4);
  std::vector<Packet> p = Packets(Once(Request(Opcode::kDecrement, "n", no_create) +
                                       Request(Opcode::kIncrement, "n", extras) +
                                       Request(Opcode::kIncrement, "n", extras) +
                                       Request(Opcode::kSet, "s", SetExtras(0, 0), "abc") +
                                       Request(Opcode::kDecrement, "s", extras)));
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(StatusOf(p[0]), Status::kKeyNotFound);
  EXPECT_EQ(p[1].value, BigEndian(40, 8));
  EXPECT_EQ(p[2].value, BigEndian(43, 8));
  EXPECT_EQ(StatusOf(p[4]), Status::kNonNumeric);
  EXPECT_EQ(p[4].value, "Non-numeric server-side value for incr or decr");
  EXPECT_EQ(stats_.decr_misses.load(), 1u);
  EXPECT_EQ(stats_.incr_misses.load(), 0u);  // a creation is no miss
}

TEST_F(BinarySessions, TouchAndGatSetTheExpiryAndCountAsTouches) {
  Once(Request(Opcode::kSet, "k", SetExtras(3, 0), "v"));
  const std::vector<Packet> p = Packets(Once(Request(Opcode::kTouch, "k", BigEndian(100, 4)) +
                                             Request(Opcode::kGatK, "k", BigEndian(200, 4)) +
                                             Request(Opcode::kGatQ, "zz", BigEndian(1, 4)) +
                                             Request(Opcode::kTouch, "zz", BigEndian(1, 4))));
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].extras, BigEndian(3, 4));  // a touch shows the flags, no value
  EXPECT_EQ(p[0].value, "");
  EXPECT_EQ(p[1].key, "k");
  EXPECT_EQ(p[1].value, "v");
  EXPECT_EQ(StatusOf(p[2]), Status::kKeyNotFound);
  EXPECT_EQ(store_.Get("k").value()->expires_at_ms, 1'000'000u + 200'000u);
  EXPECT_EQ(stats_.touch_hits.load(), 2u);
  EXPECT_EQ(stats_.touch_misses.load(), 2u);
  EXPECT_EQ(stats_.cmd_get.load(), 0u);
}

TEST_F(BinarySessions, FirstByteDecidesUnlessTheBindingSays) {
  EXPECT_EQ(Once("version\r\n"), "VERSION 1.6.18-xdpkv-0.1.0\r\n");
  EXPECT_EQ(Packets(Once(Request(Opcode::kVersion))).at(0).value, "1.6.18-xdpkv-0.1.0");
  // Once binary, always binary: a text line is a bad magic, closed at once
  // with the replies still held dropped (GET's miss, an error, was sent:
  // memcached sends what it holds after an error; GETK's is held).
  const std::string text = "version\r\n" + std::string(15, ' ');
  EXPECT_EQ(Packets(Once(Request(Opcode::kGet, "zz") + text)).size(), 1u);
  EXPECT_TRUE(closing_);
  EXPECT_EQ(Once(Request(Opcode::kGetK, "zz") + text), "");
  context_.memcache.binding = MemcacheBinding::kAscii;
  EXPECT_EQ(Once(Request(Opcode::kNoop)).substr(0, 5), "ERROR");
  context_.memcache.binding = MemcacheBinding::kBinary;
  EXPECT_EQ(Once("version\r\n"), "");  // a header is 24 bytes: still waiting
  EXPECT_FALSE(closing_);
}

TEST_F(BinarySessions, MalformedRequestsAnswerThenClose) {
  const std::string out = Once(Request(Opcode::kNoop, "k") + Request(Opcode::kNoop));
  const std::vector<Packet> p = Packets(out);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(StatusOf(p[0]), Status::kInvalidArguments);
  EXPECT_TRUE(closing_);
}

TEST_F(BinarySessions, RepliesWaitWhileAValueIsStillArriving) {
  MemcacheSession session(store_, context_);
  const std::string set = Request(Opcode::kSet, "k", SetExtras(0, 0), "value");
  // memcached reads the SET's value before it sends GETK's miss.
  EXPECT_EQ(Feed(session, Request(Opcode::kGetK, "zz") + set.substr(0, set.size() - 2)), "");
  EXPECT_EQ(used_, bin::kHeaderSize + 2);
  const std::vector<Packet> p = Packets(Feed(session, set));
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(StatusOf(p[0]), Status::kKeyNotFound);
  EXPECT_EQ(StatusOf(p[1]), Status::kSuccess);
  // An unknown command's swallowed body holds its reply the same way.
  const std::string unknown = Request(Opcode::kVerbosity, {}, BigEndian(1, 4));
  EXPECT_EQ(Feed(session, unknown), "");
  EXPECT_EQ(Packets(Feed(session, "1234")).at(0).value, "Unknown command");
}

TEST_F(BinarySessions, TooLargeValuesAreSwallowedAndASetUnlinksTheOld) {
  Once(Request(Opcode::kSet, "k", SetExtras(0, 0), "old"));
  const std::string big(memcache::kDefaultMaxValueBytes + 1, 'x');
  const std::string out = Once(Request(Opcode::kSet, "k", SetExtras(0, 0), big) +
                               Request(Opcode::kGet, "k") + Request(Opcode::kNoop));
  const std::vector<Packet> p = Packets(out);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(StatusOf(p[0]), Status::kValueTooLarge);
  EXPECT_EQ(p[0].value, "Too large.");
  EXPECT_EQ(StatusOf(p[1]), Status::kKeyNotFound);
}

TEST_F(BinarySessions, StatPacketsMirrorTheTextReports) {
  Once(Request(Opcode::kSet, "a:1", SetExtras(0, 0), "v"));
  std::vector<Packet> p = Packets(Once(Request(Opcode::kStat, "settings", {}, {}, 5)));
  ASSERT_GT(p.size(), 10u);
  EXPECT_EQ(p.back().key, "");  // the empty packet ends a report
  EXPECT_EQ(p.back().value, "");
  bool saw_binding = false;
  for (const Packet& packet : p) {
    EXPECT_EQ(packet.header.opaque, 5u);
    EXPECT_EQ(packet.header.opcode, static_cast<uint8_t>(Opcode::kStat));
    if (packet.key == "binding_protocol") saw_binding = packet.value == "auto-negotiate";
  }
  EXPECT_TRUE(saw_binding);
  p = Packets(Once(Request(Opcode::kStat, "detail on") + Request(Opcode::kGet, "a:1") +
                   Request(Opcode::kStat, "detail dump") + Request(Opcode::kStat, "conns")));
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[0].key, "");
  EXPECT_EQ(p[2].key, "detailed");
  EXPECT_EQ(p[2].value, "PREFIX a get 1 hit 1 set 0 del 0\r\nEND\r\n");
  EXPECT_EQ(StatusOf(p[4]), Status::kKeyNotFound);  // conns: the text protocol's only
}

TEST_F(BinarySessions, SaslPlainBeforeAnythingElse) {
  const MemcacheAuthFile users = MemcacheAuthFile::FromEntries({{"user", "secret"}});
  context_.memcache_sasl = &users;
  const auto plain = [](std::string_view password) {
    return std::string("\0user\0", 6) + std::string(password);
  };
  MemcacheSession session(store_, context_);
  std::vector<Packet> p = Packets(Feed(
      session, Request(Opcode::kSaslListMechs) + Request(Opcode::kVersion) +
                   Request(Opcode::kSaslAuth, "PLAIN", {}, plain("no")) +
                   Request(Opcode::kSaslAuth, "plain") +
                   Request(Opcode::kSaslStep, "X", {}, plain("secret")) + Request(Opcode::kNoop)));
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p[0].value, "PLAIN");
  EXPECT_EQ(StatusOf(p[2]), Status::kAuthError);
  EXPECT_EQ(StatusOf(p[3]), Status::kAuthContinue);
  EXPECT_EQ(p[4].value, "Authenticated");
  EXPECT_EQ(StatusOf(p[5]), Status::kSuccess);
  EXPECT_EQ(stats_.auth_cmds.load(), 2u);
  EXPECT_EQ(stats_.auth_errors.load(), 1u);
  // A finished exchange cannot be run again: the next AUTH fails, and
  // leaves the connection unauthenticated, so it is closed at its next command.
  p = Packets(Feed(session, Request(Opcode::kSaslAuth, "PLAIN", {}, plain("secret")) +
                                Request(Opcode::kGet, "k") + Request(Opcode::kNoop)));
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(StatusOf(p[0]), Status::kAuthError);
  EXPECT_EQ(StatusOf(p[1]), Status::kAuthError);
  EXPECT_TRUE(session.closing());
}

TEST_F(BinarySessions, SaslPlainResponses) {
  const MemcacheAuthFile users = MemcacheAuthFile::FromEntries({{"user", "secret"}});
  const auto run = [&](std::string_view response) {
    MemcacheSaslState state;
    return state.Auth("PLAIN", response, users);
  };
  using Result = MemcacheSaslState::Result;
  EXPECT_EQ(run(std::string("\0user\0secret", 12)), Result::kOk);
  EXPECT_EQ(run(std::string("user\0user\0secret", 16)), Result::kOk);
  EXPECT_EQ(run(std::string("other\0user\0secret", 17)), Result::kFailed);
  EXPECT_EQ(run(std::string("\0user\0secret\0", 13)), Result::kFailed);
  EXPECT_EQ(run(std::string("\0user\0secre", 11)), Result::kFailed);
  EXPECT_EQ(run("user"), Result::kFailed);
  MemcacheSaslState state;
  EXPECT_EQ(state.Step(std::string("\0user\0secret", 12), users), Result::kFailed);  // not started
  EXPECT_EQ(state.Auth("CRAM-MD5", "", users), Result::kFailed);
}

TEST_F(BinarySessions, UdpDatagramsFrameEachResponse) {
  // memcached frames each binary response on its own; a quiet miss's
  // empty response heads a flush as a bare header.
  std::string datagram("\x00\x07\x00\x00\x00\x01\x00\x00", 8);
  datagram += Request(Opcode::kGetQ, "zz") + Request(Opcode::kNoop);
  const std::vector<std::string> replies = HandleMemcacheDatagram(datagram, store_, context_);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0], std::string("\x00\x07\x00\x00\x00\x00\x00\x00", 8));
  EXPECT_EQ(replies[1].substr(0, 8), std::string("\x00\x07\x00\x00\x00\x01\x00\x00", 8));
  EXPECT_EQ(Packets(replies[1].substr(8)).size(), 1u);
  // Each datagram negotiates anew; one that ends inside a value sends
  // nothing memcached held, and no text ERROR for the request cut short.
  std::string text("\x00\x08\x00\x00\x00\x01\x00\x00version\r\n", 17);
  EXPECT_EQ(HandleMemcacheDatagram(text, store_, context_).at(0).substr(8),
            "VERSION 1.6.18-xdpkv-0.1.0\r\n");
  const std::string set = Request(Opcode::kSet, "k", SetExtras(0, 0), "value");
  std::string cut("\x00\x09\x00\x00\x00\x01\x00\x00", 8);
  cut += Request(Opcode::kGetK, "zz") + set.substr(0, set.size() - 2);
  EXPECT_TRUE(HandleMemcacheDatagram(cut, store_, context_).empty());
}

}  // namespace
}  // namespace xdpkv
