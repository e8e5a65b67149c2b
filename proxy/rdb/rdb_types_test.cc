// The collections in RDB files: the writer's plain encodings byte for
// byte and back, every encoding Redis has written them in (the files
// make_encodings_rdb.py wrote, which redis-server 7.0 loads as meant), the
// compact encodings' refusals, what Redis refuses (repeats, NaN), and the
// reader's bound on what it keeps.
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "proxy/rdb/compact_encodings.h"
#include "proxy/rdb/rdb_reader.h"
#include "proxy/rdb/rdb_test_util.h"
#include "proxy/rdb/rdb_writer.h"

namespace xdpkv::rdb {
namespace {

using std::string_literals::operator""s;
using Fields = std::vector<std::pair<std::string, std::string>>;
using Strings = std::vector<std::string>;

// The bytes between the header and EOF that `write` produces.
template <typename Write>
std::string Body(Write write) {
  StringSink sink;
  Writer writer(&sink);
  EXPECT_TRUE(write(writer).ok());
  EXPECT_TRUE(writer.Finish().ok());
  return sink.data.substr(0, sink.data.size() - 9);
}

TEST(Writer, CollectionsInRedisPlainEncodings) {
  EXPECT_EQ(Body([](Writer& w) {
              return w.Hash("h", Fields{{"f", "v"}, {"n", "12"}}, -1);
            }),
            "\x04\x01h\x02\x01"
            "f\x01v\x01n\xc0\x0c"s);
  EXPECT_EQ(Body([](Writer& w) {
              return w.List("l", Strings{"a", "7"}, -1);
            }),
            "\x01\x01l\x02\x01"
            "a\xc0\x07"s);
  EXPECT_EQ(Body([](Writer& w) { return w.Set("s", Strings{"x"}, 5); }),
            "\xfc\x05\x00\x00\x00\x00\x00\x00\x00\x02\x01s\x01\x01x"s);
  const std::vector<ZsetEntry> entries = {{"m", 1.5}};
  EXPECT_EQ(Body([&](Writer& w) { return w.Zset("z", entries, -1); }),
            "\x05\x01z\x01\x01m\x00\x00\x00\x00\x00\x00\xf8\x3f"s);
}

TEST(RoundTrip, CollectionsOfEverySize) {
  Fields fields;
  Strings elements;
  std::vector<ZsetEntry> entries;
  for (int i = 0; i < 20000; ++i) {  // counts past 16383: 32-bit lengths
    fields.emplace_back("f" + std::to_string(i), std::string(static_cast<size_t>(i % 70), 'v'));
    elements.push_back(i % 2 ? std::to_string(i) : std::string(static_cast<size_t>(i % 90), 'e'));
    entries.push_back({"m" + std::to_string(i), i % 3 ? i / 7.0 : -INFINITY});
  }
  entries.push_back({"inf", INFINITY});
  StringSink sink;
  Writer writer(&sink);
  ASSERT_TRUE(writer.Header().ok());
  ASSERT_TRUE(writer.SelectDb(3).ok());
  ASSERT_TRUE(writer.Hash("h", fields, 1'700'000'000'000).ok());
  ASSERT_TRUE(writer.List("l", elements, -1).ok());
  ASSERT_TRUE(writer.Set("s", Strings{"1", "x", ""}, -1).ok());
  ASSERT_TRUE(writer.Zset("z", entries, -1).ok());
  ASSERT_TRUE(writer.Hash("empty", Fields{}, -1).ok());
  ASSERT_TRUE(writer.Finish().ok());
  const Read read = ReadAll(sink.data);
  ASSERT_TRUE(read.status.ok()) << read.status;
  ASSERT_EQ(read.keys.size(), 5u);
  EXPECT_EQ(read.keys[0].db, 3u);
  EXPECT_EQ(read.keys[0].expire_ms, 1'700'000'000'000);
  EXPECT_EQ(std::get<HashValue>(read.keys[0].value).fields, fields);
  EXPECT_EQ(std::get<ListValue>(read.keys[1].value).elements, elements);
  EXPECT_EQ(std::get<SetValue>(read.keys[2].value).members, (Strings{"1", "x", ""}));
  const auto& got = std::get<ZsetValue>(read.keys[3].value).entries;
  ASSERT_EQ(got.size(), entries.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].member, entries[i].member);
    EXPECT_EQ(got[i].score, entries[i].score);
  }
  EXPECT_TRUE(std::get<HashValue>(read.keys[4].value).fields.empty());  // the caller skips it
  EXPECT_TRUE(read.stats.skipped.empty());
}

std::string Text(int64_t v) { return std::to_string(v); }

// fuzz_corpus/old-encodings.rdb: make_encodings_rdb.py's keys, which
// redis-server 7.0 loads to these values (its --check).
TEST(Reader, EveryEncodingRedisHasWritten) {
  const std::string file = CorpusFile("old-encodings.rdb");
  ASSERT_FALSE(file.empty());
  const Read read = ReadAll(file);
  ASSERT_TRUE(read.status.ok()) << read.status;
  EXPECT_TRUE(read.stats.skipped.empty());
  std::map<std::string, const Entry*> keys;
  for (const Entry& entry : read.keys) keys[entry.key] = &entry;
  ASSERT_EQ(keys.size(), 12u);

  Strings list = {"head"};
  for (int64_t v : {int64_t{0}, int64_t{12}, int64_t{13}, int64_t{-1}, int64_t{127}, int64_t{128},
                    int64_t{-129}, int64_t{4095}, int64_t{-4096}, int64_t{40000}, int64_t{-8388608},
                    int64_t{8388607}, int64_t{2147483647}, int64_t{-2147483648LL}, int64_t{1} << 40,
                    INT64_MIN, INT64_MAX}) {
    list.push_back(Text(v));
  }
  for (const std::string& s :
       {""s, "a"s, std::string(63, 'x'), std::string(64, 'y'), std::string(4095, 'z'),
        std::string(4096, 'w'), std::string(16384, 'v'), "007"s}) {
    list.push_back(s);
  }
  list.push_back("tail");
  EXPECT_EQ(std::get<ListValue>(keys["list-ziplist"]->value).elements, list);
  Strings quicklist2 = list;
  std::string plain;
  for (int i = 0; i < 10; ++i) plain += "plain node ";
  quicklist2.push_back(plain);
  EXPECT_EQ(std::get<ListValue>(keys["list-quicklist2"]->value).elements, quicklist2);
  EXPECT_EQ(keys["list-quicklist2"]->expire_ms, 4102444800000);
  EXPECT_EQ(std::get<ListValue>(keys["list-quicklist1"]->value).elements,
            (Strings{"a", "b", "1", "2", "3"}));

  EXPECT_EQ(std::get<HashValue>(keys["hash-zipmap"]->value).fields,
            (Fields{{"f1", "v1"}, {"long", std::string(300, 'L')}, {"n", ""}}));
  const Fields hash = {
      {"f", "v"}, {"num", "42"}, {"neg", "-70000"}, {"big", std::string(300, 'b')}, {"e", ""}};
  EXPECT_EQ(std::get<HashValue>(keys["hash-ziplist"]->value).fields, hash);
  EXPECT_EQ(std::get<HashValue>(keys["hash-listpack"]->value).fields, hash);

  auto zset = [&](const std::string& key) {
    std::vector<std::pair<std::string, double>> got;
    for (const ZsetEntry& e : std::get<ZsetValue>(keys[key]->value).entries) {
      got.emplace_back(e.member, e.score);
    }
    return got;
  };
  const std::vector<std::pair<std::string, double>> scores = {
      {"m1", -3}, {"m2", 2.5}, {"m3", 7}, {"m4", 1e10}};
  EXPECT_EQ(zset("zset-ziplist"), scores);
  EXPECT_EQ(zset("zset-listpack"), scores);
  EXPECT_EQ(zset("zset-text"), (std::vector<std::pair<std::string, double>>{
                                   {"a", 1.5}, {"b", INFINITY}, {"c", -INFINITY}}));

  EXPECT_EQ(std::get<SetValue>(keys["set-intset16"]->value).members, (Strings{"-5", "3", "32767"}));
  EXPECT_EQ(std::get<SetValue>(keys["set-intset32"]->value).members,
            (Strings{"-2147483648", "0", "70000"}));
  EXPECT_EQ(std::get<SetValue>(keys["set-intset64"]->value).members,
            (Strings{Text(INT64_MIN), "1", Text(INT64_MAX)}));
}

// The fuzzer's seeds are whole, valid files: redis-server's dumps of
// every encoding, xdpkv's of every type, the hand-built ones.
TEST(Reader, EveryCorpusFileReads) {
  size_t files = 0;
  for (const auto& file : std::filesystem::directory_iterator(XDPKV_RDB_CORPUS_DIR)) {
    const std::string name = file.path().filename().string();
    const Read read = ReadAll(CorpusFile(name));
    EXPECT_TRUE(read.status.ok()) << name << ": " << read.status;
    EXPECT_FALSE(read.keys.empty()) << name;
    ++files;
  }
  EXPECT_GE(files, 7u);
}

TEST(Reader, Redis72SetListpack) {
  const Read read = ReadAll(CorpusFile("redis72-set-listpack.rdb"));
  ASSERT_TRUE(read.status.ok()) << read.status;
  ASSERT_EQ(read.keys.size(), 1u);
  EXPECT_EQ(std::get<SetValue>(read.keys[0].value).members,
            (Strings{"a", "7", std::string(70, 'b'), "-300"}));
}

Strings Decode(absl::Status (*decode)(std::string_view, ElementFn), std::string_view blob,
               absl::Status* status) {
  Strings out;
  *status = decode(blob, [&](std::string_view s) { out.emplace_back(s); });
  return out;
}

// Each encoding's ways to be wrong, refused with what is wrong.
TEST(CompactEncodings, MalformedBlobsAreRefused) {
  struct Case {
    absl::Status (*decode)(std::string_view, ElementFn);
    std::string blob, error;
  } cases[] = {
      // ziplist ["a", 5]: zlbytes 16, zltail 13, zllen 2.
      {DecodeZiplist,
       "\x10\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x01"
       "a\x03\xf6\xff"s,
       ""},
      {DecodeZiplist,
       "\x11\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x01"
       "a\x03\xf6\xff"s,
       "byte count"},
      {DecodeZiplist,
       "\x10\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x01"
       "a\x02\xf6\xff"s,
       "link to the one before"},
      {DecodeZiplist,
       "\x10\x00\x00\x00\x0b\x00\x00\x00\x02\x00\x00\x01"
       "a\x03\xf6\xff"s,
       "tail offset"},
      {DecodeZiplist,
       "\x10\x00\x00\x00\x0d\x00\x00\x00\x03\x00\x00\x01"
       "a\x03\xf6\xff"s,
       "says 3 entries and holds 2"},
      {DecodeZiplist,
       "\x10\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x01"
       "a\x03\xf6\xfe"s,
       "no terminator"},
      {DecodeZiplist,
       "\x10\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x05"
       "a\x03\xf6\xff"s,
       "past the end"},
      {DecodeZiplist,
       "\x10\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x01"
       "a\x03\xc5\xff"s,
       "unknown entry encoding"},
      // listpack ["a", 5]: total 12, count 2.
      {DecodeListpack,
       "\x0c\x00\x00\x00\x02\x00\x81"
       "a\x02\x05\x01\xff"s,
       ""},
      {DecodeListpack,
       "\x0c\x00\x00\x00\x02\x00\x81"
       "a\x03\x05\x01\xff"s,
       "back length"},
      {DecodeListpack,
       "\x0c\x00\x00\x00\x01\x00\x81"
       "a\x02\x05\x01\xff"s,
       "says 1 entries and holds 2"},
      {DecodeListpack,
       "\x0c\x00\x00\x00\x02\x00\x85"
       "a\x02\x05\x01\xff"s,
       "past the end"},
      {DecodeListpack,
       "\x0c\x00\x00\x00\x02\x00\xf5"
       "a\x02\x05\x01\xff"s,
       "unknown entry encoding"},
      {DecodeListpack,
       "\x0b\x00\x00\x00\x02\x00\x81"
       "a\x02\x05\x01\xff"s,
       "byte count"},
      {DecodeIntset, "\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00\x02\x00"s, ""},
      {DecodeIntset, "\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00"s, "out of order"},
      {DecodeIntset, "\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00\x01\x00"s, "repeated"},
      {DecodeIntset, "\x02\x00\x00\x00\x00\x00\x00\x00"s, "empty"},
      {DecodeIntset, "\x03\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00"s, "integer width"},
      {DecodeIntset, "\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x02\x00"s, "count"},
      {DecodeZipmap,
       "\x01\x01"
       "f\x01\x00v\xff"s,
       ""},
      {DecodeZipmap,
       "\x02\x01"
       "f\x01\x00v\xff"s,
       "says 2 entries and holds 1"},
      {DecodeZipmap,
       "\x01\x01"
       "f\x05\x00v\xff"s,
       "past the end"},
      {DecodeZipmap, "\x00\xff"s, "empty"},
  };
  for (const Case& c : cases) {
    absl::Status status;
    const Strings got = Decode(c.decode, c.blob, &status);
    if (c.error.empty()) {
      EXPECT_TRUE(status.ok()) << status;
      EXPECT_EQ(got.size(), 2u);
    } else {
      EXPECT_TRUE(absl::StrContains(status.message(), c.error))
          << "want '" << c.error << "', got: " << status;
    }
    // Every cut of a valid blob is refused.
    if (c.error.empty()) {
      for (size_t cut = 0; cut < c.blob.size(); ++cut) {
        EXPECT_FALSE(c.decode(c.blob.substr(0, cut), [](std::string_view) {}).ok()) << cut;
      }
    }
  }
}

// What Redis refuses to load, the reader refuses too; an empty
// collection is read (the caller skips it, as Redis does).
TEST(Reader, RepeatsNanAndHalfPairsAreRefused) {
  const std::string next = "\x00\x04next\x02ok"s;
  const std::pair<std::string, std::string> refused[] = {
      {"\x04\x01h\x02\x01"
       "f\x01"
       "1\x01"
       "f\x01"
       "2"s,
       "repeated field"},
      {"\x02\x01s\x02\x01"
       "a\x01"
       "a"s,
       "repeated member"},
      {"\x05\x01z\x02\x01m\x00\x00\x00\x00\x00\x00\xf0\x3f\x01m\x00\x00\x00\x00\x00\x00\xf0\x3f"s,
       "repeated member"},
      {"\x05\x01z\x01\x01m\x00\x00\x00\x00\x00\x00\xf8\x7f"s, "NaN"},
      {"\x03\x01z\x01\x01m\xfd"s, "NaN"},
      {"\x03\x01z\x01\x01m\x01x"s, "not a number"},
      // A listpack hash of three elements: a field without its value.
      {"\x10\x01h\x0f\x0f\x00\x00\x00\x03\x00\x81"
       "a\x02\x81"
       "b\x02\x01\x01\xff"s,
       "without"},
      // A quicklist v2 node of container 3.
      {"\x12\x01l\x01\x03\x01x"s, "unknown container"},
  };
  for (const auto& [entry, error] : refused) {
    const Read read = ReadAll(File("\xfe\x00"s + entry + next));
    EXPECT_TRUE(absl::StrContains(read.status.message(), error))
        << "want '" << error << "', got: " << read.status;
  }
  const Read read = ReadAll(File("\xfe\x00\x02\x01s\x00\x01\x01l\x00"s + next));
  ASSERT_TRUE(read.status.ok()) << read.status;
  ASSERT_EQ(read.keys.size(), 3u);
  EXPECT_TRUE(std::get<SetValue>(read.keys[0].value).members.empty());
  EXPECT_TRUE(std::get<ListValue>(read.keys[1].value).elements.empty());
}

// A collection past max_collection_bytes is read past whole and comes
// back Oversized; what follows reads as usual.
TEST(Reader, CollectionsPastTheLimitAreNotKept) {
  StringSink sink;
  Writer writer(&sink);
  ASSERT_TRUE(writer.Header().ok());
  Strings elements(100, std::string(6, 'e'));  // 10 bytes each as counted
  ASSERT_TRUE(writer.List("at", elements, -1).ok());
  elements.push_back("e");
  ASSERT_TRUE(writer.List("past", elements, -1).ok());
  ASSERT_TRUE(writer.String("next", "ok", -1).ok());
  ASSERT_TRUE(writer.Finish().ok());
  const Read read = ReadAll(sink.data, {.max_collection_bytes = 1000});
  ASSERT_TRUE(read.status.ok()) << read.status;
  ASSERT_EQ(read.keys.size(), 3u);
  EXPECT_EQ(std::get<ListValue>(read.keys[0].value).elements.size(), 100u);
  EXPECT_TRUE(std::holds_alternative<Oversized>(read.keys[1].value));
  EXPECT_EQ(StringOf(read.keys[2]), "ok");
}

}  // namespace
}  // namespace xdpkv::rdb
