// The stored encodings of Redis's collections (proxy/typed_value.h), without
// a store.
#include "proxy/typed_value.h"

#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace xdpkv {
namespace {

TEST(HashValue, KeepsInsertionOrderAndRoundTrips) {
  HashValue hash;
  EXPECT_TRUE(hash.Set("b", "2"));
  EXPECT_TRUE(hash.Set("a", std::string("\0\r\n", 3)));
  EXPECT_FALSE(hash.Set("b", "22"));  // in place
  EXPECT_TRUE(hash.Set("", ""));      // empty field and value are fields too
  auto decoded = HashValue::Decode(hash.Encode());
  ASSERT_TRUE(decoded.has_value());
  ASSERT_EQ(decoded->size(), 3u);
  EXPECT_EQ(decoded->fields()[0], (HashValue::Field{"b", "22"}));
  EXPECT_EQ(decoded->fields()[1], (HashValue::Field{"a", std::string("\0\r\n", 3)}));
  EXPECT_EQ(*decoded->Find(""), "");
  EXPECT_TRUE(decoded->Erase("b"));
  EXPECT_FALSE(decoded->Erase("b"));
  EXPECT_EQ(decoded->Find("b"), nullptr);
  EXPECT_EQ(decoded->fields()[0].first, "a");
}

TEST(HashValue, RefusesWhatIsNotAnEncoding) {
  EXPECT_TRUE(HashValue::Decode("").has_value());  // the empty hash
  EXPECT_FALSE(HashValue::Decode("abc").has_value());
  std::string cut = HashValue().Encode();
  HashValue one;
  one.Set("field", "value");
  cut = one.Encode();
  for (size_t n = 1; n < cut.size(); ++n) {
    EXPECT_FALSE(HashValue::Decode(cut.substr(0, n)).has_value()) << n;
  }
  std::string huge("\xff\xff\xff\x7f", 4);  // a length past the end
  EXPECT_FALSE(HashValue::Decode(huge).has_value());
}

// Every proper prefix of a one-element encoding from `from` bytes on (the
// shorter ones may be the empty collection's) is refused.
template <typename Value>
void ExpectPrefixesRefused(const std::string& encoding, size_t from = 1) {
  for (size_t n = from; n < encoding.size(); ++n) {
    EXPECT_FALSE(Value::Decode(encoding.substr(0, n)).has_value()) << n;
  }
}

TEST(ListValue, KeepsOrderAndRoundTrips) {
  ListValue list;
  list.elements().push_back("b");
  list.elements().push_front(std::string("\0\r\n", 3));
  list.elements().push_back("");
  list.elements().push_back("b");  // repeats are elements too
  auto decoded = ListValue::Decode(list.Encode());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->elements(), list.elements());
  EXPECT_TRUE(ListValue::Decode("").has_value());  // the empty list
}

TEST(ListValue, RefusesWhatIsNotAnEncoding) {
  ListValue one;
  one.elements().push_back("element");
  ExpectPrefixesRefused<ListValue>(one.Encode());
  EXPECT_FALSE(ListValue::Decode(std::string("\xff\xff\xff\x7f", 4)).has_value());
  EXPECT_FALSE(ListValue::Decode(one.Encode() + "x").has_value());
}

TEST(SetValue, IsAnIntsetInNumericOrderUntilItCannotBe) {
  SetValue set;
  EXPECT_TRUE(set.Add("10"));
  EXPECT_TRUE(set.Add("-2"));
  EXPECT_TRUE(set.Add("9223372036854775807"));
  EXPECT_FALSE(set.Add("10"));
  EXPECT_TRUE(set.intset());
  EXPECT_EQ(set.members(), (std::vector<std::string>{"-2", "10", "9223372036854775807"}));
  EXPECT_FALSE(set.Contains("010"));  // not the integer 10: a string
  EXPECT_TRUE(set.Add("010"));
  EXPECT_FALSE(set.intset());
  EXPECT_TRUE(set.Remove("010"));
  EXPECT_FALSE(set.intset());  // never back, as Redis
  EXPECT_TRUE(set.Contains("10"));
  auto decoded = SetValue::Decode(set.Encode());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_FALSE(decoded->intset());
  EXPECT_EQ(decoded->members(), set.members());
}

TEST(SetValue, An513thIntegerMakesAHashTable) {
  SetValue set;
  for (int i = 512; i >= 1; --i) set.Add(std::to_string(i));
  EXPECT_TRUE(set.intset());
  EXPECT_EQ(set.members().front(), "1");
  set.Add("513");
  EXPECT_FALSE(set.intset());
  EXPECT_EQ(set.size(), 513u);
}

TEST(SetValue, RefusesWhatIsNotAnEncoding) {
  SetValue one;
  one.Add("7");
  ExpectPrefixesRefused<SetValue>(one.Encode(), 2);  // 1 byte: the empty set
  EXPECT_FALSE(SetValue::Decode("").has_value());
  EXPECT_FALSE(SetValue::Decode(std::string("\x02", 1)).has_value());  // no such encoding
  SetValue two;
  two.Add("1");
  two.Add("2");
  std::string swapped = two.Encode();  // "1" and "2" out of order
  std::swap(swapped[5], swapped[10]);
  EXPECT_FALSE(SetValue::Decode(swapped).has_value());
  SetValue word;
  word.Add("x");
  std::string as_intset = word.Encode();
  as_intset[0] = '\0';  // an intset holding a non-integer
  EXPECT_FALSE(SetValue::Decode(as_intset).has_value());
  std::string repeated = word.Encode() + word.Encode().substr(1);
  EXPECT_FALSE(SetValue::Decode(repeated).has_value());
}

TEST(ZSetValue, OrdersByScoreThenBytesAndRoundTrips) {
  ZSetValue zset;
  EXPECT_TRUE(zset.Set("b", 1));
  EXPECT_TRUE(zset.Set("a", 1));
  EXPECT_TRUE(zset.Set("c", -std::numeric_limits<double>::infinity()));
  EXPECT_TRUE(zset.Set(std::string("\xff", 1), 1));  // bytes compare unsigned
  EXPECT_FALSE(zset.Set("c", 2));                    // moved
  std::vector<std::string> order;
  for (const auto& entry : zset.entries()) order.push_back(entry.member);
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "\xff", "c"}));
  EXPECT_EQ(zset.Rank("c"), 3u);
  EXPECT_EQ(zset.Score("c"), 2.0);
  EXPECT_FALSE(zset.Score("z").has_value());
  auto decoded = ZSetValue::Decode(zset.Encode());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->size(), 4u);
  EXPECT_EQ(decoded->Score("\xff"), 1.0);
  EXPECT_TRUE(decoded->Erase("a"));
  EXPECT_FALSE(decoded->Erase("a"));
  decoded->EraseRange(0, 2);
  ASSERT_EQ(decoded->size(), 1u);
  EXPECT_EQ(decoded->entries()[0].member, "c");
  EXPECT_FALSE(decoded->Score("b").has_value());
}

TEST(ZSetValue, RefusesWhatIsNotAnEncoding) {
  ZSetValue one;
  one.Set("member", 1.5);
  ExpectPrefixesRefused<ZSetValue>(one.Encode());
  EXPECT_TRUE(ZSetValue::Decode("").has_value());  // the empty sorted set
  ZSetValue two;
  two.Set("a", 1);
  two.Set("b", 2);
  const std::string a = one.Encode(), pair = two.Encode();
  // Out of order: b's entry before a's.
  const size_t half = pair.size() / 2;
  EXPECT_FALSE(ZSetValue::Decode(pair.substr(half) + pair.substr(0, half)).has_value());
  // The same member twice (at two scores).
  ZSetValue other;
  other.Set("member", 2.5);
  EXPECT_FALSE(ZSetValue::Decode(a + other.Encode()).has_value());
  // A NaN score.
  ZSetValue nan;
  nan.Set("x", 0);
  std::string bytes = nan.Encode();
  const double quiet_nan = std::numeric_limits<double>::quiet_NaN();
  std::memcpy(bytes.data(), &quiet_nan, 8);
  EXPECT_FALSE(ZSetValue::Decode(bytes).has_value());
}

// A snapshot's load builds each collection in one go: the same value as
// adding its elements one at a time.
TEST(FromDistinct, EqualsAddingOneByOne) {
  const std::vector<HashValue::Field> fields = {{"b", "2"}, {"a", "1"}, {"c", ""}};
  HashValue hash;
  for (const auto& [field, value] : fields) hash.Set(field, value);
  EXPECT_EQ(HashValue::FromDistinct(fields).Encode(), hash.Encode());

  for (const std::vector<std::string>& members :
       {std::vector<std::string>{"10", "-2", "3"}, std::vector<std::string>{"10", "x", "-2"}}) {
    SetValue set;
    for (const std::string& m : members) set.Add(m);
    const SetValue built = SetValue::FromDistinct(members);
    EXPECT_EQ(built.intset(), set.intset());
    EXPECT_EQ(built.Encode(), set.Encode());
  }
  std::vector<std::string> many;
  for (int i = 513; i >= 1; --i) many.push_back(std::to_string(i));
  EXPECT_FALSE(SetValue::FromDistinct(many).intset());  // past 512 integers, as Redis loads it
  many.pop_back();
  EXPECT_TRUE(SetValue::FromDistinct(many).intset());

  const std::vector<ZSetValue::Entry> entries = {
      {2, "b"}, {1, "z"}, {1, "a"}, {-std::numeric_limits<double>::infinity(), "c"}};
  ZSetValue zset;
  for (const auto& e : entries) zset.Set(e.member, e.score);
  const ZSetValue built = ZSetValue::FromDistinct(entries);
  EXPECT_EQ(built.Encode(), zset.Encode());
  EXPECT_EQ(built.Score("z"), 1.0);
  EXPECT_EQ(built.Rank("b"), 3u);
}

}  // namespace
}  // namespace xdpkv
