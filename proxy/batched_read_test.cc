// BpfStore::GetMany (one run of xdpkv_store_read for up to XDPKV_READ_BATCH
// keys) answers exactly as Get does key by key: inline and out-of-line
// values, absent, expired (and removed), other types, keys that cannot
// exist, more keys than a batch; and stops at the caller's byte budget.
// Needs BPF rights (root); skipped, saying why, without them.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/bpf_store.h"
#include "proxy/testing/packets.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {
namespace {

using testing::EveryByteValue;

TEST(BatchedReads, GetManyAnswersAsGetDoes) {
  auto loaded = XdpLoader::Load(XdpConfig{});
  if (!loaded.ok()) GTEST_SKIP() << "no BPF rights here: " << loaded.status().message();
  auto store = BpfStore::ForLoader(**loaded);
  std::vector<std::string> keys;
  for (int i = 0; i < 75; ++i) {
    keys.push_back("k" + std::to_string(i));
    if (i % 5 == 0) continue;  // absent
    const std::string value = EveryByteValue(i % 3 == 0 ? 3000 : i, i);
    const uint64_t expiry = i % 7 == 0 ? NowBootMs() - 1 : 0;  // some expired
    auto cas = store->Set(keys.back(), value, static_cast<uint32_t>(i), expiry);
    ASSERT_TRUE(cas.ok());
    // memcached's per-item flags, for some (the batch copies them too).
    if (i % 2 == 0) ASSERT_TRUE(store->SetItemMeta(keys.back(), *cas, i % 32, 1).ok());
  }
  keys.push_back("");                     // cannot exist
  keys.push_back(std::string(251, 'x'));  // cannot exist
  std::vector<std::string_view> views(keys.begin(), keys.end());
  auto many = store->GetMany(views);
  ASSERT_EQ(many.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    auto one = store->Get(keys[i]);
    ASSERT_EQ(many[i].ok(), one.ok()) << i;
    if (!one.ok()) continue;
    ASSERT_EQ(many[i]->has_value(), one->has_value()) << keys[i];
    if (!one->has_value()) continue;
    EXPECT_EQ((*many[i])->value, (*one)->value) << keys[i];
    EXPECT_EQ((*many[i])->flags, (*one)->flags);
    EXPECT_EQ((*many[i])->cas, (*one)->cas);
    EXPECT_EQ((*many[i])->mc_bits, (*one)->mc_bits) << keys[i];
    EXPECT_EQ((*many[i])->type, (*one)->type);
  }
  // Expired ones were removed by the batched read, as Get removes them.
  auto expired = store->Get("k14");
  ASSERT_TRUE(expired.ok());
  EXPECT_FALSE(expired->has_value());
}

TEST(BatchedReads, StopsAtTheCallersBudgetAfterAtLeastOneValue) {
  auto loaded = XdpLoader::Load(XdpConfig{});
  if (!loaded.ok()) GTEST_SKIP() << "no BPF rights here: " << loaded.status().message();
  auto store = BpfStore::ForLoader(**loaded);
  for (const char* key : {"a", "b", "c", "d"}) {
    ASSERT_TRUE(store->Set(key, std::string(1000, 'v'), 0, 0).ok());
  }
  std::vector<std::string_view> keys = {"a", "b", "c", "d"};
  EXPECT_EQ(store->GetMany(keys, 0).size(), 1u);
  EXPECT_EQ(store->GetMany(keys, 1500).size(), 2u);  // past the budget after the second
  EXPECT_EQ(store->GetMany(keys).size(), 4u);
}

}  // namespace
}  // namespace xdpkv
