// libFuzzer target for the memcached text parser. Besides "no crash", it
// checks the parser's contract on every input:
//  - results never point outside the input and always make progress;
//  - "need more" asks for more than is there;
//  - a command parsed from a prefix-complete buffer is the same command when
//    the bytes arrive in two pieces (no state hidden between calls);
//  - every key handed out is a valid memcached key.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/memcache_text.h"

namespace mc = xdpkv::memcache;

static void Check(bool ok) {
  if (!ok) std::abort();
}

static bool Within(std::string_view outer, std::string_view inner) {
  return inner.empty() ||
         (inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size());
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  mc::ParseOptions options;
  options.max_value_bytes = 4096;  // keep "too large" reachable
  options.max_retrieval_line = 8192;

  std::string_view rest = input;
  for (int commands = 0; commands < 1000 && !rest.empty(); ++commands) {
    const mc::ParseResult r = mc::ParseCommand(rest, options);
    if (r.status == mc::ParseStatus::kNeedMore) {
      Check(r.consumed == 0 && r.need_at_least > rest.size());
      break;
    }
    Check(r.consumed > 0 && r.consumed <= rest.size());
    if (r.status == mc::ParseStatus::kCommand) {
      for (std::string_view key : r.command.keys) {
        Check(!key.empty() && key.size() <= mc::kMaxKeyLength && Within(rest, key));
        for (char c : key) Check(static_cast<unsigned char>(c) > ' ' && c != 0x7f);
      }
      Check(Within(rest, r.command.data));
      if (mc::IsStorage(r.command.op)) Check(r.command.keys.size() == 1);

      // Split feed: the first piece alone must not yield a different command.
      const size_t cut = r.consumed / 2;
      const mc::ParseResult head = mc::ParseCommand(rest.substr(0, cut), options);
      Check(head.status == mc::ParseStatus::kNeedMore ||
            (head.status == mc::ParseStatus::kError && cut > mc::kMaxCommandLine));
    }
    if (r.close_connection) break;
    rest.remove_prefix(r.consumed);
  }

  if (size >= mc::kUdpFrameHeaderSize) {
    const auto header = mc::ParseUdpFrameHeader(input);
    Check(header.has_value());
    std::string encoded;
    mc::AppendUdpFrameHeader(&encoded, *header);
    Check(encoded == input.substr(0, mc::kUdpFrameHeaderSize));
  }
  return 0;
}
