// One server per store: a second loader on a pinned store that is in use,
// an incomplete store, or a pin dir that is not the host's bpffs is refused
// with a clear message, and the store is left as it was.
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "proxy/bpf_store.h"
#include "proxy/xdp_loader.h"

namespace xdpkv {
namespace {

class StoreGuard : public ::testing::Test {
 protected:
  void SetUp() override {
    pin_dir_ = "/sys/fs/bpf/xdpkv-guard-test-" + std::to_string(getpid());
    auto probe = XdpLoader::Load(Config(/*fresh=*/true));
    if (!probe.ok()) GTEST_SKIP() << "no BPF rights here: " << probe.status().message();
  }
  void TearDown() override { std::filesystem::remove_all(pin_dir_); }

  XdpConfig Config(bool fresh) const {
    XdpConfig config;
    config.pin_dir = pin_dir_;
    config.fresh = fresh;
    config.max_items_per_class = 1024;  // small maps: quick to create
    return config;
  }
  size_t Pins() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(pin_dir_)) ++n;
    return n;
  }

  std::string pin_dir_;
};

TEST_F(StoreGuard, ASecondServerOnALiveStoreIsRefusedAndChangesNothing) {
  auto first = XdpLoader::Load(Config(/*fresh=*/true));
  ASSERT_TRUE(first.ok()) << first.status();
  auto store = BpfStore::ForLoader(**first);
  ASSERT_TRUE(store->Set("kept", "value", 0, 0).ok());
  const size_t pins = Pins();

  for (bool fresh : {false, true}) {
    auto second = XdpLoader::Load(Config(fresh));
    ASSERT_FALSE(second.ok()) << "fresh=" << fresh;
    EXPECT_NE(second.status().message().find("in use by another xdpkv"), std::string::npos)
        << second.status();
  }
  EXPECT_EQ(Pins(), pins);
  auto item = store->Get("kept");
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_EQ((*item)->value, "value");

  // Once the first is gone, the next one serves the same store.
  store.reset();
  first->reset();
  auto next = XdpLoader::Load(Config(/*fresh=*/false));
  ASSERT_TRUE(next.ok()) << next.status();
  item = BpfStore::ForLoader(**next)->Get("kept");
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_EQ((*item)->value, "value");
}

TEST_F(StoreGuard, AnIncompleteStoreIsRefusedUntilFresh) {
  {
    auto loader = XdpLoader::Load(Config(/*fresh=*/true));
    ASSERT_TRUE(loader.ok()) << loader.status();
    ASSERT_TRUE(BpfStore::ForLoader(**loader)->Set("k", std::string(1000, 'v'), 0, 0).ok());
  }
  ASSERT_TRUE(std::filesystem::remove(pin_dir_ + "/xdpkv_blobs_1k"));
  auto refused = XdpLoader::Load(Config(/*fresh=*/false));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("incomplete (missing xdpkv_blobs_1k)"),
            std::string::npos)
      << refused.status();
  auto fresh = XdpLoader::Load(Config(/*fresh=*/true));
  EXPECT_TRUE(fresh.ok()) << fresh.status();
}

// `ip netns exec` gives the server a private mount namespace with a /sys
// of its own: pins there would vanish at every restart.
TEST_F(StoreGuard, APinDirOutsideTheHostsBpffsIsRefused) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (unshare(CLONE_NEWNS) != 0) _exit(2);
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(3);
    if (mount("none", "/sys/fs/bpf", "tmpfs", 0, nullptr) != 0) _exit(4);
    auto loader = XdpLoader::Load(Config(/*fresh=*/true));
    if (loader.ok()) _exit(5);
    _exit(loader.status().message().find("not a bpffs") != std::string::npos ? 0 : 6);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2-4: namespace set-up failed, 5: loaded, 6: other error";
}

}  // namespace
}  // namespace xdpkv
