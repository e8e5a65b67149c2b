// The kernel path and Redis's other types (one keyspace): a RESP GET of a
// hash passes to userspace (which answers WRONGTYPE), an MGET reads it as
// nil, memcached does not see it, and a kernel SET replaces it, as Redis's
// SET does. Needs BPF rights (root); skipped, saying why, without them.
#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "proxy/bpf_store.h"
#include "proxy/testing/packets.h"
#include "proxy/typed_value.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {
namespace {

using testing::BuildPacket;
using testing::ExpectedReply;
using testing::Frame;
using testing::Printable;
using testing::Resp;
using testing::RespCommand;
using testing::RunXdp;
using testing::kPass;
using testing::kTx;

class KernelTypes : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = XdpLoader::Load(XdpConfig{});
    if (!loaded.ok()) {
      GTEST_SKIP() << "no BPF rights here, XDP not tested: " << loaded.status().message();
    }
    loader_ = std::move(*loaded);
    store_ = BpfStore::ForLoader(*loader_);
    HashValue hash;
    hash.Set("field", "value");
    auto wrote = store_->Mutate("h", [&](const std::optional<StoredItem>&) {
      return Mutation::Write(hash.Encode(), 0, 0, ValueType::kHash);
    });
    ASSERT_TRUE(wrote.ok());
    ASSERT_TRUE(store_->Set("s", "v", 0, 0).ok());
  }

  void ExpectReply(std::string_view payload, std::string_view reply, testing::PacketOptions o) {
    const std::string request = BuildPacket(payload, o);
    auto result = RunXdp(loader_->program_fd(), request);
    ASSERT_EQ(result.verdict, kTx) << Printable(payload);
    EXPECT_EQ(Printable(result.packet), Printable(ExpectedReply(request, reply)));
  }

  uint64_t Count(xdpkv_proto proto, xdpkv_reason reason) {
    auto counters = loader_->ReadCounters();
    return counters.ok() ? counters->Get(proto, reason) : 0;
  }

  std::unique_ptr<XdpLoader> loader_;
  std::unique_ptr<BpfStore> store_;
};

TEST_F(KernelTypes, AGetOfAHashIsUserspacesWrongType) {
  const std::string request = BuildPacket(Frame(1) + RespCommand({"GET", "h"}), Resp());
  const uint64_t before = Count(XDPKV_PROTO_RESP, XDPKV_PASS_WRONGTYPE);
  auto result = RunXdp(loader_->program_fd(), request);
  EXPECT_EQ(result.verdict, kPass);
  EXPECT_EQ(result.packet, request);
  EXPECT_EQ(Count(XDPKV_PROTO_RESP, XDPKV_PASS_WRONGTYPE), before + 1);
}

TEST_F(KernelTypes, MgetReadsAHashAsNilAndMemcachedDoesNotSeeIt) {
  ExpectReply(Frame(2) + RespCommand({"MGET", "h", "s"}), Frame(2) + "*2\r\n$-1\r\n$1\r\nv\r\n",
              Resp());
  ExpectReply(Frame(3) + "get h\r\n", Frame(3) + "END\r\n", {});
}

TEST_F(KernelTypes, AKernelSetReplacesAHash) {
  ExpectReply(Frame(4) + RespCommand({"SET", "h", "now-a-string"}), Frame(4) + "+OK\r\n", Resp());
  auto item = store_->Get("h");
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_EQ((*item)->type, ValueType::kString);
  EXPECT_EQ((*item)->value, "now-a-string");
}

}  // namespace
}  // namespace xdpkv
