// memcached text protocol, as memcached 1.6 speaks it: request parsing,
// reply encoding and the UDP frame header. Pure code: no sockets, no storage.
//
// Parsing is incremental and stateless: ParseCommand() looks at the bytes a
// connection has buffered and either returns one complete command (and how
// many bytes it used), says it needs more bytes (and consumes nothing), or
// returns the error reply memcached would send. Keys and values in a Command
// are views into the caller's buffer, valid until it consumes those bytes.
#ifndef XDPKV_PROTOCOL_MEMCACHE_TEXT_H_
#define XDPKV_PROTOCOL_MEMCACHE_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"

namespace xdpkv::memcache {

// memcached's KEY_MAX_LENGTH.
inline constexpr size_t kMaxKeyLength = 250;
// memcached closes a connection whose buffered bytes hold no newline after
// this many, unless the line is a get/gets (multi-gets are unbounded there).
inline constexpr size_t kMaxCommandLine = 2048;
// memcached's default item size limit (-I 1m).
inline constexpr size_t kDefaultMaxValueBytes = 1024 * 1024;

// Replies, word for word as memcached sends them.
namespace reply {
inline constexpr std::string_view kError = "ERROR\r\n";
inline constexpr std::string_view kBadFormat =
    "CLIENT_ERROR bad command line format\r\n";
inline constexpr std::string_view kBadDataChunk = "CLIENT_ERROR bad data chunk\r\n";
inline constexpr std::string_view kLineTooLong = "CLIENT_ERROR line too long\r\n";
inline constexpr std::string_view kInvalidExptime =
    "CLIENT_ERROR invalid exptime argument\r\n";
inline constexpr std::string_view kInvalidDelta =
    "CLIENT_ERROR invalid numeric delta argument\r\n";
inline constexpr std::string_view kNonNumeric =
    "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
inline constexpr std::string_view kDeleteUsage =
    "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n";
inline constexpr std::string_view kObjectTooLarge =
    "SERVER_ERROR object too large for cache\r\n";
inline constexpr std::string_view kOutOfMemory =
    "SERVER_ERROR out of memory storing object\r\n";
inline constexpr std::string_view kMultiPacket =
    "SERVER_ERROR multi-packet request not supported\r\n";
// Sent to a client accepted over the connection limit (-c), before closing.
inline constexpr std::string_view kTooManyConnections = "ERROR Too many open connections\r\n";
inline constexpr std::string_view kStored = "STORED\r\n";
inline constexpr std::string_view kNotStored = "NOT_STORED\r\n";
inline constexpr std::string_view kExists = "EXISTS\r\n";
inline constexpr std::string_view kNotFound = "NOT_FOUND\r\n";
inline constexpr std::string_view kDeleted = "DELETED\r\n";
inline constexpr std::string_view kTouched = "TOUCHED\r\n";
inline constexpr std::string_view kOk = "OK\r\n";
inline constexpr std::string_view kEnd = "END\r\n";
inline constexpr std::string_view kReset = "RESET\r\n";
}  // namespace reply

enum class Op : uint8_t {
  kGet,
  kGets,
  kGat,
  kGats,
  kSet,
  kAdd,
  kReplace,
  kAppend,
  kPrepend,
  kCas,
  kDelete,
  kIncr,
  kDecr,
  kTouch,
  kFlushAll,
  kVersion,
  kVerbosity,
  kStats,
  kQuit,
  // Admin commands (proxy/memcache_admin.cc).
  kShutdown,       // shutdown [graceful]
  kCacheMemlimit,  // cache_memlimit <megabytes> [noreply]
  kWatch,          // watch [<log type>...]
  kLruCrawler,     // lru_crawler <subcommand> <args>
  // Meta commands (protocol.txt, "Meta Commands"; proxy/memcache_meta.cc).
  kMetaGet,         // mg <key> <flag>*
  kMetaSet,         // ms <key> <datalen> <flag>* + data
  kMetaDelete,      // md <key> <flag>*
  kMetaArithmetic,  // ma <key> <flag>*
  kMetaNoop,        // mn
  kMetaDebug,       // me <key> [b]
};

// A meta command's flags, checked as memcached 1.6.18 checks them before
// it looks at the item (_meta_flag_preparse): each flag at most once, the
// numbers valid, a `b` key decoded. Which flags a reply echoes, and in
// what order, is the handler's: it walks `tokens`.
struct MetaFlags {
  absl::InlinedVector<std::string_view, 8> tokens;  // every flag token, in order
  bool quiet = false;       // q: no reply for the nominal outcome
  bool value = false;       // v
  bool no_bump = false;     // u
  bool invalidate = false;  // I
  std::optional<int32_t> ttl;          // T
  std::optional<int32_t> vivify_ttl;   // N
  std::optional<int32_t> recache_ttl;  // R
  uint32_t client_flags = 0;           // F
  std::optional<uint64_t> compare_cas; // C
  uint64_t delta = 1;                  // D
  uint64_t initial = 0;                // J
  char mode = 0;                       // M
  bool Has(char flag) const {
    for (std::string_view token : tokens) {
      if (token[0] == flag) return true;
    }
    return false;
  }
};
// memcached's longest opaque token (O and its value).
inline constexpr size_t kMaxOpaqueToken = 32;

// The command's name as a client types it ("get", "flush_all", ...).
std::string_view OpName(Op op);
bool IsRetrieval(Op op);  // get, gets, gat, gats
bool IsStorage(Op op);    // set, add, replace, append, prepend, cas

struct Command {
  Op op = Op::kGet;
  // Retrieval commands: every key (gat/gats may legally have none).
  // Every other keyed command: exactly one, keys[0].
  absl::InlinedVector<std::string_view, 4> keys;
  uint32_t flags = 0;
  // As sent: relative seconds up to 30 days, else absolute unix time;
  // negative means already expired. gat/gats and touch use it too.
  int32_t exptime = 0;
  uint64_t cas_unique = 0;  // cas
  uint64_t delta = 0;       // incr, decr
  std::string_view data;    // storage commands: exactly the declared bytes
  int32_t delay = 0;        // flush_all
  // flush_all: the delay is not a number; the reply is then
  // reply::kInvalidExptime, unless flush_all is disabled (-F), which
  // memcached checks first.
  bool delay_invalid = false;
  uint32_t verbosity = 0;   // verbosity
  // stats, shutdown, watch, lru_crawler: the tokens after the name.
  absl::InlinedVector<std::string_view, 2> args;
  uint32_t memlimit_mb = 0;  // cache_memlimit
  bool noreply = false;
  // Meta commands: their flags, and the key decoded from base64 (`b`);
  // keys[0] is then the key as sent.
  MetaFlags meta;
  bool key_binary = false;
  std::string binary_key;

  std::string_view key() const {
    if (key_binary) return binary_key;
    return keys.empty() ? std::string_view() : keys[0];
  }
};

enum class ParseStatus : uint8_t {
  kCommand,   // `command` holds a complete command
  kNeedMore,  // not enough bytes yet; nothing consumed
  kError,     // send `error_reply` (may be empty: noreply), drop `consumed`
};

struct ParseOptions {
  size_t max_value_bytes = kDefaultMaxValueBytes;
  // Longest get/gets line we buffer before giving up on the connection.
  size_t max_retrieval_line = 8 * 1024 * 1024;
};

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  // Bytes of the input this result accounts for (0 for kNeedMore).
  size_t consumed = 0;
  // kNeedMore: total buffered bytes needed before a retry can succeed
  // (lets the caller wait for a large value without re-parsing).
  size_t need_at_least = 0;
  // kOk: the command. kError for a value over the item size limit: the
  // refused storage command, without its data.
  Command command;
  // kError: the reply to send, memcached's words. Empty when the request
  // asked for noreply, which memcached honours even for errors.
  std::string_view error_reply;
  // kError: bytes after `consumed` that belong to the rejected request (an
  // oversized value) and must be discarded as they arrive.
  size_t swallow = 0;
  // kError: memcached drops the connection after this one.
  bool close_connection = false;
  // kError with close_connection: memcached closes at once, without
  // sending the replies it still holds (those since its last flush) nor
  // any for this line. Set for an HTTP request line (IsHttpRequestLine).
  bool discard_unsent = false;
};

ParseResult ParseCommand(std::string_view input, const ParseOptions& options = {});

// --- Replies ---------------------------------------------------------------

// "VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n"
void AppendValue(std::string* out, std::string_view key, uint32_t flags,
                 std::string_view data, std::optional<uint64_t> cas = std::nullopt);
// The number incr/decr returns: "<value>\r\n".
void AppendNumber(std::string* out, uint64_t value);
// "VERSION <version>\r\n"
void AppendVersion(std::string* out, std::string_view version);
// "STAT <name> <value>\r\n"
void AppendStat(std::string* out, std::string_view name, std::string_view value);

// --- UDP framing -----------------------------------------------------------

// Every memcached UDP datagram starts with this 8-byte header (big endian).
struct UdpFrameHeader {
  uint16_t request_id = 0;
  uint16_t sequence = 0;
  uint16_t datagram_count = 1;
  uint16_t reserved = 0;
};
inline constexpr size_t kUdpFrameHeaderSize = 8;
// memcached's UDP_MAX_PAYLOAD_SIZE: a reply datagram's payload, header
// included, is at most this many bytes.
inline constexpr size_t kUdpMaxDatagramPayload = 1400;

std::optional<UdpFrameHeader> ParseUdpFrameHeader(std::string_view datagram);
void AppendUdpFrameHeader(std::string* out, const UdpFrameHeader& header);
// True for a request xdpkv serves: one datagram, sequence 0 of 1 (memcached
// 1.6.18 looks at the count alone and drops the others without a reply;
// docs/protocols.md).
inline bool IsSingleDatagramRequest(const UdpFrameHeader& h) {
  return h.sequence == 0 && h.datagram_count == 1;
}
// memcached's UDP_DATA_SIZE: reply bytes per datagram, after the header.
inline constexpr size_t kUdpMaxDatagramData = kUdpMaxDatagramPayload - kUdpFrameHeaderSize;

// memcached 1.6.18 frames a UDP reply by response object (its mc_resp): the
// reply to one command, or to one key of a get/gets/gat/gats, whose last
// key's object carries the END (a miss's object is empty). It collects the
// objects of the requests it reads and sends what it holds ("flushes") after
// each retrieval command, after `quit`, after its reqs_per_event-th request
// (below) and when the datagram is used up.
struct UdpResponseObject {
  size_t end = 0;            // where the object's bytes end in the reply
  bool flush_after = false;  // memcached sends what it holds after this object
};

// memcached's -R default (reqs_per_event). It yields, sending what it
// holds, after the 21st request read at once (of a datagram, or of one
// read on TCP) and then after every 20 more (resuming costs it one count);
// with -R n, after the (n+1)th and every n more.
inline constexpr size_t kMemcachedRequestsPerEvent = 20;
inline bool MemcachedFlushesAfterRequest(size_t requests_answered,
                                         size_t reqs_per_event = kMemcachedRequestsPerEvent) {
  return requests_answered > reqs_per_event && (requests_answered - 1) % reqs_per_event == 0;
}

// One object's datagrams, appended to `datagrams`: ceil(size / 1392), each
// with the header {request_id, sequence i, count, 0}. An empty object is one
// bare 8-byte header whose count is 0, as memcached sends it.
void AppendUdpObjectDatagrams(uint16_t request_id, std::string_view object,
                              std::vector<std::string>* datagrams);

// A reply as memcached sends it over UDP, given its objects (ends
// ascending; bytes past the last end, when there are any, are one more
// object). Each object is framed on its own (AppendUdpObjectDatagrams), but
// an empty object goes out only when it is the first of a flush: once
// memcached has sent a datagram it also retires every empty object queued
// right behind that one (_transmit_post), without sending it.
std::vector<std::string> FrameUdpReply(uint16_t request_id, std::string_view reply,
                                       const std::vector<UdpResponseObject>& objects);

}  // namespace xdpkv::memcache

#endif  // XDPKV_PROTOCOL_MEMCACHE_TEXT_H_
