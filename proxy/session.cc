#include "proxy/session.h"

#include <algorithm>
#include <atomic>

#include "protocol/resp.h"

namespace xdpkv {

size_t MemcacheSession::Feed(std::string_view input, std::string* out) {
  size_t used = 0;
  while (!closing_) {
    std::string_view rest = input.substr(used);
    if (swallow_ > 0) {
      const size_t n = std::min(swallow_, rest.size());
      swallow_ -= n;
      used += n;
      if (swallow_ > 0) break;
      continue;
    }
    if (rest.empty()) break;
    const memcache::ParseResult r = memcache::ParseCommand(rest, options_);
    if (r.status == memcache::ParseStatus::kNeedMore) break;
    used += r.consumed;
    if (r.status == memcache::ParseStatus::kError) {
      out->append(r.error_reply);
      swallow_ = r.swallow;
      closing_ = r.close_connection;
      continue;
    }
    if (HandleMemcache(r.command, store_, context_, out) == AfterReply::kClose) closing_ = true;
  }
  return used;
}

RespSession::RespSession(Store& store, const ServerContext& context)
    : store_(store), context_(context) {
  static std::atomic<uint64_t> next_id{1};
  client_.id = next_id.fetch_add(1, std::memory_order_relaxed);
}

size_t RespSession::Feed(std::string_view input, std::string* out) {
  size_t used = 0;
  while (!closing_ && used < input.size()) {
    const resp::ParseResult r = resp::ParseCommand(input.substr(used));
    if (r.status == resp::ParseStatus::kNeedMore) break;
    if (r.status == resp::ParseStatus::kError) {
      out->append(r.error_reply);  // Redis closes after a protocol error
      closing_ = true;
      break;
    }
    used += r.consumed;
    if (r.status == resp::ParseStatus::kEmpty) continue;
    if (HandleResp(r.command.args, store_, context_, client_, out) == AfterReply::kClose) closing_ = true;
  }
  return used;
}

std::vector<std::string> HandleMemcacheDatagram(std::string_view datagram, Store& store,
                                                const ServerContext& context,
                                                const memcache::ParseOptions& options) {
  const auto header = memcache::ParseUdpFrameHeader(datagram);
  if (!header) return {};  // not even a frame: nothing to answer to
  std::string reply;
  if (!memcache::IsSingleDatagramRequest(*header)) {
    reply = memcache::reply::kMultiPacket;
  } else {
    MemcacheSession session(store, context, options);
    const std::string_view body = datagram.substr(memcache::kUdpFrameHeaderSize);
    const size_t used = session.Feed(body, &reply);
    // A datagram is all there is: an incomplete request will never finish.
    if (used < body.size() && !session.closing()) {
      reply.append(memcache::reply::kError);
    }
  }
  if (reply.empty()) return {};
  return memcache::SplitUdpReply(header->request_id, reply);
}

std::vector<std::string> HandleRespDatagram(std::string_view datagram, Store& store,
                                            const ServerContext& context) {
  const auto header = memcache::ParseUdpFrameHeader(datagram);
  if (!header) return {};
  std::string reply;
  memcache::AppendUdpFrameHeader(&reply, {header->request_id, 0, 1, 0});
  const size_t frame_len = reply.size();
  if (!memcache::IsSingleDatagramRequest(*header)) {
    resp::AppendError(&reply, "ERR multi-datagram requests are not supported");
  } else {
    RespSession session(store, context);
    const std::string_view body = datagram.substr(memcache::kUdpFrameHeaderSize);
    const size_t used = session.Feed(body, &reply);
    if (used < body.size() && !session.closing()) {
      resp::AppendError(&reply, "ERR Protocol error: incomplete request in datagram");
    }
  }
  if (reply.size() == frame_len) return {};
  return {reply};
}

}  // namespace xdpkv
