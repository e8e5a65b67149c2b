// One RESP connection in-process, over the in-memory store: what a client
// sends and gets back, command by command (tests of the command families).
#ifndef XDPKV_PROXY_TESTING_RESP_HARNESS_H_
#define XDPKV_PROXY_TESTING_RESP_HARNESS_H_

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/session.h"
#include "proxy/testing/memory_store.h"

namespace xdpkv::testing {

class RespHarness {
 public:
  RespHarness() {
    context_.now_boot_ms = [] { return uint64_t{1'000'000}; };
    context_.unix_minus_boot_ms = 1'700'000'000'000;
    context_.runtime = &runtime_;
    context_.stats = &stats_;
    session_ = std::make_unique<RespSession>(store_, context_);
  }

  // Sends one command (as a RESP array, so any bytes) and returns the reply.
  std::string operator()(std::initializer_list<std::string_view> args) {
    std::string request = "*" + std::to_string(args.size()) + "\r\n";
    for (std::string_view arg : args) {
      request.append("$").append(std::to_string(arg.size())).append("\r\n");
      request.append(arg).append("\r\n");
    }
    std::string out;
    session_->Feed(request, &out);
    return out;
  }

  MemoryStore& store() { return store_; }
  ServerContext& context() { return context_; }

 private:
  MemoryStore store_;
  ServerStats stats_;
  RuntimeConfig runtime_;
  ServerContext context_;
  std::unique_ptr<RespSession> session_;
};

}  // namespace xdpkv::testing

#endif  // XDPKV_PROXY_TESTING_RESP_HARNESS_H_
