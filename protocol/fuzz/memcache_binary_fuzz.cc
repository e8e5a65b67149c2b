// libFuzzer target for the memcached binary parser. Besides "no crash", it
// checks the parser's contract on every input:
//  - results never point outside the input and always make progress;
//  - "need more" asks for more than is there, and consumes nothing;
//  - a request is never longer than its header says, and its key and
//    value lie in it, the key at most 250 bytes;
//  - a prefix of a parsed request is never a request (no state hidden
//    between calls), whichever auth state the caller passes;
//  - an encoded error response parses back as the header it claims.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/memcache_binary.h"

namespace bin = xdpkv::memcache::binary;

static void Check(bool ok) {
  if (!ok) std::abort();
}

static bool Within(std::string_view outer, std::string_view inner) {
  return inner.empty() || (inner.data() >= outer.data() &&
                           inner.data() + inner.size() <= outer.data() + outer.size());
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  bin::ParseOptions options;
  options.max_value_bytes = 4096;  // keep "too large" reachable
  // The first byte picks the auth state, so every path is reachable.
  if (!input.empty()) {
    options.sasl = (input[0] & 1) != 0;
    options.authenticated = (input[0] & 2) != 0;
  }
  std::string_view rest = input.empty() ? input : input.substr(1);
  for (int requests = 0; requests < 1000 && !rest.empty(); ++requests) {
    const bin::ParseResult r = bin::ParseRequest(rest, options);
    if (r.status == bin::ParseStatus::kNeedMore) {
      Check(r.consumed == 0 && r.need_at_least > rest.size());
      break;
    }
    Check(r.consumed >= bin::kHeaderSize && r.consumed <= rest.size());
    const bin::Header& h = r.request.header;
    if (r.status == bin::ParseStatus::kRequest) {
      Check(r.consumed <= bin::kHeaderSize + h.body_length);
      Check(r.request.key.size() == h.key_length && r.request.key.size() <= 250);
      Check(Within(rest.substr(0, r.consumed), r.request.key));
      Check(Within(rest.substr(0, r.consumed), r.request.value));
      const bin::ParseResult head = bin::ParseRequest(rest.substr(0, r.consumed - 1), options);
      Check(head.status == bin::ParseStatus::kNeedMore);
    } else {
      if (r.close_now) break;
      std::string encoded;
      bin::AppendError(&encoded, h, r.error);
      const auto back = bin::ParseHeader(encoded);
      Check(back.has_value() && back->magic == bin::kResponseMagic && back->opcode == h.opcode &&
            back->opaque == h.opaque && bin::kHeaderSize + back->body_length == encoded.size());
      if (r.close_after_reply) break;
      rest.remove_prefix(r.consumed);
      rest.remove_prefix(std::min(rest.size(), r.swallow));
      continue;
    }
    rest.remove_prefix(r.consumed);
  }
  return 0;
}
