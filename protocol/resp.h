// Redis RESP2: request parsing (multibulk and inline commands) and reply
// encoding. Pure code: no sockets, no storage.
//
// A Parser keeps its place across reads, as Redis's and Dragonfly's parsers
// do: it returns one complete command, or "need more" consuming nothing, or
// the protocol error Redis would send (after which Redis closes the
// connection). On "need more" it remembers how far it got (headers read,
// argument offsets, where the line search stopped), so a command that
// arrives a byte at a time is scanned once, not once per read. Arguments are
// views into the caller's buffer, except inline arguments that needed
// unquoting, which the Command owns. ParseCommand() is the stateless form.
#ifndef XDPKV_PROTOCOL_RESP_H_
#define XDPKV_PROTOCOL_RESP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"

namespace xdpkv::resp {

// Redis's PROTO_INLINE_MAX_SIZE: longest inline request or header line.
inline constexpr size_t kMaxInlineSize = 64 * 1024;
// Redis 7's limit on the element count of one multibulk request (INT_MAX;
// Redis 6 used 1024*1024).
inline constexpr int64_t kMaxMultibulkLength = 2147483647;
// Redis's default proto-max-bulk-len.
inline constexpr int64_t kDefaultMaxBulkLength = 512LL * 1024 * 1024;

// Protocol errors, word for word as Redis sends them.
namespace reply {
inline constexpr std::string_view kTooBigInline =
    "-ERR Protocol error: too big inline request\r\n";
inline constexpr std::string_view kUnbalancedQuotes =
    "-ERR Protocol error: unbalanced quotes in request\r\n";
inline constexpr std::string_view kTooBigMultibulkCount =
    "-ERR Protocol error: too big mbulk count string\r\n";
inline constexpr std::string_view kInvalidMultibulkLength =
    "-ERR Protocol error: invalid multibulk length\r\n";
inline constexpr std::string_view kTooBigBulkCount =
    "-ERR Protocol error: too big bulk count string\r\n";
inline constexpr std::string_view kInvalidBulkLength =
    "-ERR Protocol error: invalid bulk length\r\n";
// Sent to a client accepted over maxclients, before closing it.
inline constexpr std::string_view kMaxClients = "-ERR max number of clients reached\r\n";
inline constexpr std::string_view kOk = "+OK\r\n";
inline constexpr std::string_view kPong = "+PONG\r\n";
inline constexpr std::string_view kNullBulk = "$-1\r\n";
inline constexpr std::string_view kNullArray = "*-1\r\n";
inline constexpr std::string_view kEmptyArray = "*0\r\n";
}  // namespace reply

struct Command {
  absl::InlinedVector<std::string_view, 4> args;
  // Backing store for inline arguments that were unquoted; stable across
  // moves of the Command, so `args` may point into it.
  std::unique_ptr<char[]> unquoted;
};

enum class ParseStatus : uint8_t {
  kCommand,   // `command` holds a command with at least one argument
  kEmpty,     // an empty line or "*0": consume, reply nothing
  kNeedMore,  // not enough bytes yet; nothing consumed
  kError,     // send `error_reply`, then close the connection
};

struct ParseOptions {
  int64_t max_bulk_length = kDefaultMaxBulkLength;
};

// What a server that stores values of up to `max_value_bytes` accepts as one
// bulk argument: the value plus this slack, so a value somewhat over the
// store's limit still gets the command's own error (and the connection stays
// open); anything longer is `invalid bulk length` and the connection closes.
inline constexpr int64_t kBulkLengthSlack = 64 * 1024;

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  size_t consumed = 0;
  // kNeedMore: total buffered bytes needed before a retry can succeed.
  size_t need_at_least = 0;
  Command command;
  std::string error_reply;  // kError: a complete "-ERR ...\r\n" line
};

// One connection's parser.
class Parser {
 public:
  explicit Parser(const ParseOptions& options = {}) : options_(options) {}

  // `input` is the connection's unconsumed bytes, starting at a command.
  // After kNeedMore the caller keeps those bytes and passes them again with
  // whatever arrived since appended; the parser resumes where it stopped.
  // After any other result the caller drops `consumed` bytes and the next
  // call starts a new command. (Input shorter than what was already seen
  // breaks that contract; the parser then starts over from the first byte.)
  ParseResult Parse(std::string_view input);
  // Forgets a command still arriving: the next Parse starts a new command
  // at the input's first byte (a caller that parsed ahead and stopped
  // before the end rewinds with it).
  void StartOver() { Reset(); }

  // Bytes the parser has looked at (line searches, headers); a bulk's data
  // is skipped, not scanned. For tests.
  uint64_t bytes_scanned() const { return bytes_scanned_; }

 private:
  enum class State : uint8_t { kStart, kInline, kCount, kBulkHeader, kBulkData };
  // Finds the end of a header line ('\r' followed by one more byte) from
  // scan_from_; npos when incomplete. Counts what it looks at.
  size_t FindHeaderEnd(std::string_view input);
  void Reset();

  ParseOptions options_;
  State state_ = State::kStart;
  size_t pos_ = 0;        // start of the element being read, in the command
  size_t scan_from_ = 0;  // where the pending line search resumes
  int64_t remaining_ = 0;     // multibulk elements still to read
  int64_t bulk_length_ = 0;   // kBulkData: the element's length
  std::vector<std::pair<size_t, size_t>> spans_;  // offset, length of each argument
  uint64_t bytes_scanned_ = 0;
};

// Stateless: one Parser per call.
ParseResult ParseCommand(std::string_view input, const ParseOptions& options = {});

// Splits an inline command line the way Redis's sdssplitargs does: spaces
// separate arguments, "double quotes" take \n \r \t \b \a \\ \" and \xHH
// escapes, 'single quotes' take \'. Returns false on unbalanced quotes.
bool SplitInlineArgs(std::string_view line, std::string* storage,
                     absl::InlinedVector<std::pair<size_t, size_t>, 4>* spans);

// --- Replies ---------------------------------------------------------------

void AppendSimpleString(std::string* out, std::string_view s);
// `message` starts with the error code ("ERR ...", "WRONGTYPE ..."); CR and LF
// inside it become spaces, as Redis does, so the reply stays one line.
void AppendError(std::string* out, std::string_view message);
void AppendInteger(std::string* out, int64_t value);
void AppendBulk(std::string* out, std::string_view value);
void AppendNullBulk(std::string* out);
void AppendArrayHeader(std::string* out, size_t count);
void AppendNullArray(std::string* out);

}  // namespace xdpkv::resp

#endif  // XDPKV_PROTOCOL_RESP_H_
