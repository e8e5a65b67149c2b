// A bpffs directory for a test's pinned store, named by the test's pid so
// runs cannot collide, removed with everything in it afterwards.
#ifndef XDPKV_PROXY_TESTING_PIN_DIR_H_
#define XDPKV_PROXY_TESTING_PIN_DIR_H_

#include <unistd.h>

#include <filesystem>
#include <string>

namespace xdpkv::testing {

class PinDir {
 public:
  explicit PinDir(const std::string& name)
      : path_("/sys/fs/bpf/xdpkv-" + name + "-" + std::to_string(getpid())) {}
  ~PinDir() { std::filesystem::remove_all(path_); }
  PinDir(const PinDir&) = delete;
  PinDir& operator=(const PinDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace xdpkv::testing

#endif  // XDPKV_PROXY_TESTING_PIN_DIR_H_
