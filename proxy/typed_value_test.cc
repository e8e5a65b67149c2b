// The stored encodings of Redis's collections (proxy/typed_value.h), without
// a store.
#include "proxy/typed_value.h"

#include <string>

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

// Every proper prefix of a one-element encoding is refused.
template <typename Value>
void ExpectPrefixesRefused(const std::string& encoding) {
  for (size_t n = 1; n < encoding.size(); ++n) {
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

}  // namespace
}  // namespace xdpkv
