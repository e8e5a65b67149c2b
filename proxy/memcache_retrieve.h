// A memcached get/gets/gat/gats answered key by key, so a session can stop
// part way when its client has not collected the replies yet and resume
// later (proxy/session.cc). Defined next to the other memcached commands in
// proxy/memcache_handlers.cc.
#ifndef XDPKV_PROXY_MEMCACHE_RETRIEVE_H_
#define XDPKV_PROXY_MEMCACHE_RETRIEVE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/memcache_text.h"
#include "proxy/handlers.h"

namespace xdpkv {

struct RetrieveProgress {
  size_t answered = 0;  // keys answered by this call, from the first
  bool done = false;    // the reply is complete (END, or the error that ended it)
};

// Answers `keys` of a retrieval command (`op`, and `exptime` for gat/gats)
// in order, appending to `out`. Returns early, with keys left, once
// out->size() exceeds `out_limit` (at least one key is answered per call).
// A store error drops the values this call appended and sends the error
// alone, as memcached does with the part of a multi-get it still holds.
// With `objects` (UDP), records where memcached's response object of each
// key ends in `out` (END joins the last key's; a get of no keys, or the
// error, is one object), for memcache::FrameUdpReply.
// `ahead`: items read before this command's turn (a pipeline's gets, read
// together by the session); a key found at its front is taken from there.
RetrieveProgress RetrieveKeys(memcache::Op op, int32_t exptime,
                              std::span<const std::string_view> keys, Store& store,
                              const ServerContext& context, std::string* out, size_t out_limit,
                              std::vector<memcache::UdpResponseObject>* objects = nullptr,
                              ReadAhead* ahead = nullptr);

}  // namespace xdpkv

#endif  // XDPKV_PROXY_MEMCACHE_RETRIEVE_H_
