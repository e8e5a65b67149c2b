// The RDB writer and reader: exact bytes of each encoding, round trips,
// streams and modules read past and counted, and refusals (truncation,
// bit flips, versions, types that cannot be read past). The collections'
// encodings: rdb_types_test.cc.
#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "proxy/rdb/crc64.h"
#include "proxy/rdb/item_meta.h"
#include "proxy/rdb/rdb_reader.h"
#include "proxy/rdb/rdb_test_util.h"
#include "proxy/rdb/rdb_writer.h"

namespace xdpkv::rdb {
namespace {

using std::string_literals::operator""s;

TEST(Crc64, MatchesRedisCheckValue) {
  // Redis's crc64 self test (src/crc64.c).
  EXPECT_EQ(Crc64(0, "123456789", 9), 0xe9c6d914c4b8d9caULL);
}

// Bit by bit, as the polynomial defines it: the tables must agree.
uint64_t BitwiseCrc64(std::string_view data) {
  uint64_t crc = 0;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int i = 0; i < 8; ++i) crc = (crc & 1) ? (crc >> 1) ^ 0x95ac9329ac4bc9b5ULL : crc >> 1;
  }
  return crc;
}

TEST(Crc64, PiecesEqualWhole) {
  std::mt19937_64 rng(7);
  std::string data(4099, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  const uint64_t whole = Crc64(0, data.data(), data.size());
  EXPECT_EQ(whole, BitwiseCrc64(data));
  for (size_t cut : {0, 1, 7, 8, 9, 100, 4098, 4099}) {
    uint64_t crc = Crc64(0, data.data(), cut);
    crc = Crc64(crc, data.data() + cut, data.size() - cut);
    EXPECT_EQ(crc, whole) << cut;
  }
}

TEST(Writer, CanonicalInt32IsRedisString2ll) {
  int32_t v = 0;
  EXPECT_TRUE(CanonicalInt32("0", &v));
  EXPECT_TRUE(CanonicalInt32("-2147483648", &v));
  EXPECT_EQ(v, INT32_MIN);
  EXPECT_TRUE(CanonicalInt32("2147483647", &v));
  for (std::string_view s : {"", "2147483648", "-2147483649", "007", "-0", "+1", " 1", "1 ", "1.5",
                             "12345678901", "0x10", "-"}) {
    EXPECT_FALSE(CanonicalInt32(s, &v)) << s;
  }
}

// The bytes of one string key with no expiry, as the writer encodes it,
// between the header and EOF.
std::string EncodedKey(std::string_view key, std::string_view value, bool compress = true) {
  StringSink sink;
  Writer writer(&sink, {.compress = compress});
  EXPECT_TRUE(writer.String(key, value, -1).ok());
  EXPECT_TRUE(writer.Finish().ok());
  return sink.data.substr(0, sink.data.size() - 9);  // EOF and CRC
}

TEST(Writer, EncodesAsRedisDoes) {
  EXPECT_EQ(EncodedKey("k", "v"), "\x00\x01k\x01v"s);
  EXPECT_EQ(EncodedKey("k", "12"), "\x00\x01k\xc0\x0c"s);
  EXPECT_EQ(EncodedKey("k", "-300"), "\x00\x01k\xc1\xd4\xfe"s);
  EXPECT_EQ(EncodedKey("k", "70000"), "\x00\x01k\xc2\x70\x11\x01\x00"s);
  EXPECT_EQ(EncodedKey("k", "007"),
            "\x00\x01k\x03"
            "007"s);
  EXPECT_EQ(EncodedKey("7", ""), "\x00\xc0\x07\x00"s);  // keys are strings too
  // 64 bytes: a 14-bit length; incompressible, so raw.
  std::string random(64, '\0');
  std::mt19937 rng(1);
  for (char& c : random) c = static_cast<char>(rng());
  EXPECT_EQ(EncodedKey("k", random), "\x00\x01k\x40\x40"s + random);
  // Compressible: LZF, with the compressed and the plain length.
  const std::string zeros(1000, 'a');
  const std::string lzf = EncodedKey("k", zeros);
  ASSERT_GT(lzf.size(), 3u);
  EXPECT_EQ(static_cast<uint8_t>(lzf[3]), 0xc3);
  EXPECT_LT(lzf.size(), 40u);
  EXPECT_EQ(EncodedKey("k", zeros, /*compress=*/false).size(), 3 + 2 + zeros.size());
}

TEST(Writer, HeaderAuxSelectResizeExpiry) {
  StringSink sink;
  Writer writer(&sink);
  ASSERT_TRUE(writer.Header().ok());
  ASSERT_TRUE(writer.Aux("redis-bits", "64").ok());
  ASSERT_TRUE(writer.SelectDb(0).ok());
  ASSERT_TRUE(writer.ResizeDb(1, 1).ok());
  ASSERT_TRUE(writer.String("k", "v", 0x0102030405060708).ok());
  ASSERT_TRUE(writer.Finish().ok());
  const std::string body =
      "REDIS0010\xfa\x0aredis-bits\xc0\x40\xfe\x00\xfb\x01\x01"
      "\xfc\x08\x07\x06\x05\x04\x03\x02\x01\x00\x01k\x01v\xff"s;
  ASSERT_EQ(sink.data.substr(0, body.size()), body);
  const uint64_t crc = Crc64(0, body.data(), body.size());
  std::string tail(8, '\0');
  for (int i = 0; i < 8; ++i) tail[i] = static_cast<char>(crc >> (8 * i));
  EXPECT_EQ(sink.data.substr(body.size()), tail);
  EXPECT_EQ(writer.bytes(), sink.data.size());
}

TEST(RoundTrip, StringsOfEverySizeAndEncoding) {
  std::mt19937 rng(3);
  std::vector<std::pair<std::string, std::string>> items = {
      {"empty", ""},
      {"int8", "-128"},
      {"int16", "32767"},
      {"int32", "-2147483648"},
      {"int64", "9223372036854775807"},
      {"lead0", "0123"},
      {"neg0", "-0"},
      {"text", "hello world"},
      {"1234", "key is an integer"},
  };
  for (size_t size : {20, 21, 63, 64, 16383, 16384, 100000, 1 << 20}) {
    std::string compressible(size, 'x');
    std::string random(size, '\0');
    for (char& c : random) c = static_cast<char>(rng());
    items.emplace_back("c" + std::to_string(size), compressible);
    items.emplace_back("r" + std::to_string(size), random);
  }
  for (bool compress : {true, false}) {
    StringSink sink;
    Writer writer(&sink, {.compress = compress});
    ASSERT_TRUE(writer.Header().ok());
    ASSERT_TRUE(writer.Aux("ctime", "1700000000").ok());
    ASSERT_TRUE(writer.SelectDb(0).ok());
    int64_t expire = 1'700'000'000'000;
    for (const auto& [key, value] : items) {
      ASSERT_TRUE(writer.String(key, value, (expire++ % 2) ? expire : -1).ok());
    }
    ASSERT_TRUE(writer.Finish().ok());
    const Read read = ReadAll(sink.data);
    ASSERT_TRUE(read.status.ok()) << read.status;
    EXPECT_TRUE(read.stats.checksum_verified);
    ASSERT_EQ(read.aux.size(), 1u);
    EXPECT_EQ(read.aux[0].second, "1700000000");
    ASSERT_EQ(read.keys.size(), items.size());
    expire = 1'700'000'000'000;
    for (size_t i = 0; i < items.size(); ++i) {
      EXPECT_EQ(read.keys[i].key, items[i].first);
      EXPECT_EQ(StringOf(read.keys[i]), items[i].second) << items[i].first;
      EXPECT_EQ(read.keys[i].expire_ms, (expire++ % 2) ? expire : -1);
    }
  }
}

TEST(Reader, EveryTruncationAndBitFlipIsRefused) {
  StringSink sink;
  Writer writer(&sink);
  ASSERT_TRUE(writer.Header().ok());
  ASSERT_TRUE(writer.SelectDb(0).ok());
  ASSERT_TRUE(writer.String("key", std::string(300, 'z'), 1).ok());
  ASSERT_TRUE(writer.String("n", "42", -1).ok());
  ASSERT_TRUE(writer.String("raw", "some value", -1).ok());
  ASSERT_TRUE(writer.Finish().ok());
  const std::string& file = sink.data;
  ASSERT_TRUE(ReadAll(file).status.ok());
  for (size_t cut = 0; cut < file.size(); ++cut) {
    EXPECT_FALSE(ReadAll(file.substr(0, cut)).status.ok()) << cut;
  }
  EXPECT_FALSE(ReadAll(file + "x").status.ok());
  for (size_t byte = 0; byte < file.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = file;
      flipped[byte] = static_cast<char>(flipped[byte] ^ (1 << bit));
      EXPECT_FALSE(ReadAll(flipped).status.ok()) << byte << ":" << bit;
    }
  }
}

TEST(Reader, ErrorsSayWhatAndWhere) {
  EXPECT_EQ(ReadAll("REDIS0010\x00"s).status.message(),
            "RDB truncated: the file ends at byte 10 inside an entry");
  EXPECT_EQ(ReadAll("REDIS0010\x00\x03k"s).status.message(),
            "RDB corrupt at byte 11: a string of 3 bytes where 1 are left (truncated?)");
  EXPECT_EQ(ReadAll("REDIS0012").status.message(),
            "RDB version 12 is not supported (this reader knows 1 to 11, Redis 7.2's)");
  EXPECT_EQ(ReadAll("RADIS0010").status.message(), "not an RDB file: it does not start with REDIS");
  EXPECT_EQ(ReadAll(File("\x1e\x01k")).status.message(),
            "RDB corrupt at byte 10: unknown value type 30");
  EXPECT_EQ(ReadAll(File("\x06\x01k")).status.message(),
            "RDB corrupt at byte 12: a module value in the pre-GA module format (type 6), which "
            "cannot be read without its module");
  EXPECT_TRUE(absl::StrContains(ReadAll(File("\xf6\x01x")).status.message(), "opcode 246"));
  std::string bad_crc = File("\x00\x01k\x01v"s);
  bad_crc.back() ^= 1;
  EXPECT_TRUE(absl::StrContains(ReadAll(bad_crc).status.message(), "checksum mismatch"));
  // A length no file this size holds is refused before it is allocated.
  EXPECT_TRUE(absl::StrContains(ReadAll(File("\x00\x01k\x80\x00\x10\x00\x00"s)).status.message(),
                                "bytes where"));
  EXPECT_TRUE(
      absl::StrContains(ReadAll(File("\x00\x01k\x01v"s), {.max_string_bytes = 0}).status.message(),
                        "over the limit"));
}

TEST(Reader, ChecksumZeroIsNotCheckedAndOldVersionsHaveNone) {
  std::string file = "REDIS0010\x00\x01k\x01v\xff"s + std::string(8, '\0');
  Read read = ReadAll(file);
  ASSERT_TRUE(read.status.ok()) << read.status;
  EXPECT_FALSE(read.stats.checksum_verified);
  ASSERT_EQ(read.keys.size(), 1u);
  read = ReadAll("REDIS0004\xfe\x00\xfd\x10\x00\x00\x00\x00\x01k\x01v\xff"s);
  ASSERT_TRUE(read.status.ok()) << read.status;
  ASSERT_EQ(read.keys.size(), 1u);
  EXPECT_EQ(read.keys[0].expire_ms, 16000);
}

// Streams and module values, the types xdpkv does not hold, read past and
// counted; the string after each is read whole, so each skip consumed
// exactly its value.
TEST(Reader, OtherTypesAreReadPastAndCounted) {
  const std::string next_key = "\x00\x04next\x02ok"s;
  struct Case {
    std::string name;
    std::string entry;
  } cases[] = {
      {"module",
       "\x07\x01m\x81\x01\x02\x03\x04\x05\x06\x07\x08"
       "\x01\x05\x02\x07\x03"
       "abcd"
       "\x04"
       "abcdefgh"
       "\x05\x02xy\x00"s},
      // One node, counters, one group with one pending entry and one
      // consumer owning it; then the v2 and v3 layouts.
      {"stream", "\x0f\x01x\x01\x10" + std::string(16, 'i') +
                     "\x02lp"
                     "\x01\x02\x03"
                     "\x01\x01g\x02\x03"
                     "\x01" +
                     std::string(24, 'p') +
                     "\x01"
                     "\x01\x01"
                     "c" +
                     std::string(8, 't') + "\x01" + std::string(16, 'i')},
      {"stream",
       "\x13\x01x\x00"s
       "\x01\x02\x03\x04\x05\x06\x07\x08"
       "\x01\x01g\x02\x03\x04"
       "\x00"
       "\x01\x01"
       "c" +
           std::string(8, 't') + "\x00"s},
      {"stream",
       "\x15\x01x\x00"s
       "\x01\x02\x03\x04\x05\x06\x07\x08"
       "\x01\x01g\x02\x03\x04"
       "\x00"
       "\x01\x01"
       "c" +
           std::string(16, 't') + "\x00"s},
  };
  for (const Case& c : cases) {
    const Read read = ReadAll(File("\xfe\x00"s + c.entry + next_key));
    ASSERT_TRUE(read.status.ok()) << c.name << ": " << read.status;
    ASSERT_EQ(read.keys.size(), 2u) << c.name;
    EXPECT_TRUE(std::holds_alternative<Skipped>(read.keys[0].value)) << c.name;
    EXPECT_EQ(StringOf(read.keys[1]), "ok") << c.name;
    EXPECT_EQ(read.stats.keys, 2u);
    ASSERT_EQ(read.stats.skipped.size(), 1u) << c.name;
    EXPECT_EQ(read.stats.skipped.begin()->first, c.name);
    EXPECT_EQ(read.stats.skipped.begin()->second, 1u);
  }
}

TEST(Reader, OpcodesAroundKeys) {
  // A function library, module aux data, IDLE and FREQ, two databases.
  const std::string body =
      "\xfa\x09redis-ver\x06"
      "7.0.15"
      "\xf5\x04"
      "code"
      "\xf7\x81\x00\x00\x00\x00\x00\x00\x00\x01\x02\x02\x05\x02xy\x00"
      "\xfe\x00\xfb\x02\x01"
      "\xf8\x05\xfc\x10\x27\x00\x00\x00\x00\x00\x00\x00\x01"
      "a\x01"
      "1"
      "\xf9\x07\x00\x01"
      "b\x01"
      "2"
      "\xfe\x03\x00\x01"
      "c\x01"
      "3"s;
  const Read read = ReadAll(File(body));
  ASSERT_TRUE(read.status.ok()) << read.status;
  ASSERT_EQ(read.keys.size(), 3u);
  EXPECT_EQ(read.keys[0].expire_ms, 10000);
  EXPECT_EQ(read.keys[1].expire_ms, -1);
  EXPECT_EQ(read.keys[2].db, 3u);
  EXPECT_EQ(read.stats.functions_skipped, 1u);
  EXPECT_EQ(read.stats.module_aux_skipped, 1u);
  EXPECT_TRUE(read.stats.skipped.empty());
}

// A dump redis-server 7.0.15 wrote (fuzz_corpus/redis7-all-types.rdb): a
// string of each encoding, one of each other type, a stream with a group
// and a pending entry, a function library, a key in database 2.
TEST(Reader, ReadsRedisServerDump) {
  const std::string file = CorpusFile("redis7-all-types.rdb");
  ASSERT_FALSE(file.empty());
  const Read read = ReadAll(file);
  ASSERT_TRUE(read.status.ok()) << read.status;
  EXPECT_TRUE(read.stats.checksum_verified);
  std::map<std::string, const Entry*> keys;
  for (const Entry& entry : read.keys) keys[entry.key] = &entry;
  ASSERT_EQ(keys.size(), 11u);
  EXPECT_EQ(StringOf(*keys["s1"]), "hello");
  EXPECT_GT(keys["s1"]->expire_ms, 1'700'000'000'000);
  EXPECT_EQ(StringOf(*keys["n1"]), "12345");
  EXPECT_EQ(StringOf(*keys["neg"]), "-7");
  std::string ab;
  for (int i = 0; i < 100; ++i) ab += "ab";
  EXPECT_EQ(StringOf(*keys["big"]), ab);
  EXPECT_EQ(StringOf(*keys["otherdb"]), "x");
  EXPECT_EQ(keys["otherdb"]->db, 2u);
  EXPECT_EQ(read.stats.functions_skipped, 1u);
  const std::map<std::string, uint64_t> skipped = {{"stream", 1}};
  EXPECT_EQ(read.stats.skipped, skipped);
  // The collections, each in the encoding redis-server gave it.
  EXPECT_EQ(keys["h1"]->type, kTypeHashListpack);
  const auto fields = std::vector<std::pair<std::string, std::string>>{{"f1", "v1"}, {"f2", "v2"}};
  EXPECT_EQ(std::get<HashValue>(keys["h1"]->value).fields, fields);
  EXPECT_EQ(keys["l1"]->type, kTypeListQuicklist2);
  EXPECT_EQ(std::get<ListValue>(keys["l1"]->value).elements,
            (std::vector<std::string>{"a", "b", "c", "1", "2"}));
  EXPECT_EQ(keys["si"]->type, kTypeSetIntset);
  EXPECT_EQ(std::get<SetValue>(keys["si"]->value).members,
            (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(keys["ss"]->type, kTypeSet);
  auto members = std::get<SetValue>(keys["ss"]->value).members;
  std::sort(members.begin(), members.end());
  EXPECT_EQ(members, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(keys["z1"]->type, kTypeZsetListpack);
  const auto& entries = std::get<ZsetValue>(keys["z1"]->value).entries;
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].member, "a");
  EXPECT_EQ(entries[0].score, 1);
  EXPECT_EQ(entries[1].member, "b");
  EXPECT_EQ(entries[1].score, 2.5);
  bool has_version = false;
  for (const auto& [key, value] : read.aux) has_version |= key == "redis-ver" && value == "7.0.15";
  EXPECT_TRUE(has_version);
}

TEST(ItemMeta, RoundTripAndRefusals) {
  std::vector<ItemMeta> items = {
      {0, 1'700'000'000'000'001}, {7, 1'700'000'000'000'000}, {UINT32_MAX, UINT64_MAX}};
  const std::string encoded = EncodeItemMeta(items);
  EXPECT_EQ(encoded[0], '\0');
  auto decoded = DecodeItemMeta(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, items);
  EXPECT_TRUE(DecodeItemMeta(EncodeItemMeta({})).ok());
  EXPECT_FALSE(DecodeItemMeta("").ok());
  EXPECT_FALSE(DecodeItemMeta("\x01"s).ok());
  EXPECT_FALSE(DecodeItemMeta(encoded.substr(0, encoded.size() - 1)).ok());
  EXPECT_FALSE(DecodeItemMeta(encoded + "x").ok());
  EXPECT_FALSE(DecodeItemMeta("\x00\xff\xff\xff\xff\x0f\x00"s).ok());  // count over the bytes
  EXPECT_FALSE(DecodeItemMeta("\x00\x01\x00\x80\x80\x80\x80\x10\x00"s).ok());  // flags > 32 bits
}

}  // namespace
}  // namespace xdpkv::rdb
