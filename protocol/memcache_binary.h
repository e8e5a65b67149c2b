// memcached's binary protocol as memcached 1.6.18 (proto_bin.c) reads and
// answers it: request frames parsed, response packets encoded. Deprecated
// by memcached since 1.6, still spoken by libmemcached's binary mode,
// spymemcached, PHP's binary option and SASL clients. Pure code: no
// sockets, no storage, no auth state (the caller says whether the
// connection has authenticated).
//
// A request is a 24-byte header (magic 0x80), then extras, key and value.
// memcached acts once it holds the header, extras and key: a refused
// request is answered before its value is read, and the value is then
// discarded as it arrives ("swallowed", ParseResult::swallow). Like the text
// parser (protocol/memcache_text.h), ParseRequest consumes nothing until it
// can return a whole result, and views in a Request point into the input.
#ifndef XDPKV_PROTOCOL_MEMCACHE_BINARY_H_
#define XDPKV_PROTOCOL_MEMCACHE_BINARY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/memcache_text.h"

namespace xdpkv::memcache::binary {

inline constexpr uint8_t kRequestMagic = 0x80;
inline constexpr uint8_t kResponseMagic = 0x81;
inline constexpr size_t kHeaderSize = 24;
// memcached's MAX_SASL_MECH_LEN: a longer mechanism name is refused.
inline constexpr size_t kMaxSaslMechanism = 32;
// memcached reads SASL data into an item it may not chunk: with its
// default slab_chunk_max (512 KiB) an item of key, data and its 59 bytes
// of overhead (header, NUL, \r\n, CAS) must fit one chunk.
inline constexpr size_t kMaxSaslItem = 512 * 1024;
inline constexpr size_t kSaslItemOverhead = 59;

// The opcodes memcached 1.6.18 answers (anything else, VERBOSITY 0x1b
// included, is "Unknown command").
enum class Opcode : uint8_t {
  kGet = 0x00,
  kSet = 0x01,
  kAdd = 0x02,
  kReplace = 0x03,
  kDelete = 0x04,
  kIncrement = 0x05,
  kDecrement = 0x06,
  kQuit = 0x07,
  kFlush = 0x08,
  kGetQ = 0x09,
  kNoop = 0x0a,
  kVersion = 0x0b,
  kGetK = 0x0c,
  kGetKQ = 0x0d,
  kAppend = 0x0e,
  kPrepend = 0x0f,
  kStat = 0x10,
  kSetQ = 0x11,
  kAddQ = 0x12,
  kReplaceQ = 0x13,
  kDeleteQ = 0x14,
  kIncrementQ = 0x15,
  kDecrementQ = 0x16,
  kQuitQ = 0x17,
  kFlushQ = 0x18,
  kAppendQ = 0x19,
  kPrependQ = 0x1a,
  kVerbosity = 0x1b,  // not served by memcached 1.6.18: Unknown command
  kTouch = 0x1c,
  kGat = 0x1d,
  kGatQ = 0x1e,
  kSaslListMechs = 0x20,
  kSaslAuth = 0x21,
  kSaslStep = 0x22,
  kGatK = 0x23,
  kGatKQ = 0x24,
};

enum class Status : uint16_t {
  kSuccess = 0x00,
  kKeyNotFound = 0x01,
  kKeyExists = 0x02,
  kValueTooLarge = 0x03,
  kInvalidArguments = 0x04,
  kNotStored = 0x05,
  kNonNumeric = 0x06,
  kAuthError = 0x20,
  kAuthContinue = 0x21,
  kUnknownCommand = 0x81,
  kOutOfMemory = 0x82,
};

// memcached's words for an error status (write_bin_error's), the body of
// its error responses: "Not found", "Data exists for key.", ...
std::string_view StatusText(Status status);

struct Header {
  uint8_t magic = 0;
  uint8_t opcode = 0;  // as sent: an error response echoes it
  uint16_t key_length = 0;
  uint8_t extras_length = 0;
  uint8_t data_type = 0;
  uint16_t vbucket = 0;  // a response's status
  uint32_t body_length = 0;
  uint32_t opaque = 0;
  uint64_t cas = 0;
};
// The first kHeaderSize bytes of `bytes`, big endian as sent; nullopt when
// there are fewer.
std::optional<Header> ParseHeader(std::string_view bytes);

struct Request {
  Header header;
  // The command: a quiet opcode (GETQ, SETQ, ...) as its loud one, `quiet`
  // set (memcached: no reply for success, nor for a get's miss; errors
  // are still sent).
  Opcode command = Opcode::kNoop;
  bool quiet = false;
  std::string_view key;
  // SET ADD REPLACE APPEND PREPEND: the value; SASL AUTH/STEP: the data.
  std::string_view value;
  uint32_t flags = 0;       // SET ADD REPLACE
  uint32_t expiration = 0;  // SET ADD REPLACE, TOUCH GAT GATK, INCR DECR, FLUSH
  uint64_t delta = 0;       // INCR DECR
  uint64_t initial = 0;     // INCR DECR
};

enum class ParseStatus : uint8_t {
  kRequest,   // `request` holds a complete request
  kNeedMore,  // not enough bytes yet; nothing consumed
  kError,     // answer `error` (or close: `close_now`), drop `consumed`
};

struct ParseOptions {
  size_t max_value_bytes = kDefaultMaxValueBytes;
  // -S: until the connection has authenticated, every command but the
  // SASL ones and VERSION is answered "Auth failure." and the connection
  // closed. Without -S the SASL commands are unknown.
  bool sasl = false;
  bool authenticated = false;
};

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  size_t consumed = 0;
  // kNeedMore: total buffered bytes needed before a retry can succeed.
  size_t need_at_least = 0;
  // kNeedMore: the request is accepted and its value is what is missing
  // (memcached is then reading the value, and sends nothing meanwhile).
  bool reading_value = false;
  // kRequest: the request. kError for a value over the size limit: the
  // refused request, its value empty (memcached unlinks a SET's old item).
  Request request;
  // kError: the status to answer, with memcached's words (StatusText).
  Status error = Status::kSuccess;
  // kError: bytes after `consumed` memcached discards as they arrive. For
  // an unknown opcode that is its whole body length again, past the extras
  // and key already read (memcached's arithmetic, followed).
  size_t swallow = 0;
  // kError: memcached closes once the reply is written.
  bool close_after_reply = false;
  // kError: a bad magic byte: memcached closes at once, with no reply and
  // without the replies it still holds unsent.
  bool close_now = false;
};

ParseResult ParseRequest(std::string_view input, const ParseOptions& options = {});

// --- Responses --------------------------------------------------------------

struct Response {
  uint8_t opcode = 0;
  Status status = Status::kSuccess;
  uint32_t opaque = 0;
  uint64_t cas = 0;
  std::string_view extras;
  std::string_view key;
  std::string_view value;
};
void AppendResponse(std::string* out, const Response& response);
// An error response to `request`, as write_bin_error: its opcode (quiet or
// not) and opaque, CAS 0, `text` as the body (StatusText(status) when
// empty).
void AppendError(std::string* out, const Header& request, Status status,
                 std::string_view text = {});

}  // namespace xdpkv::memcache::binary

#endif  // XDPKV_PROTOCOL_MEMCACHE_BINARY_H_
