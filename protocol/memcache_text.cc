#include "protocol/memcache_text.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "protocol/base64.h"
#include "protocol/decimal.h"

namespace xdpkv::memcache {
namespace {

using Tokens = absl::InlinedVector<std::string_view, 8>;

// memcached splits a command line on single spaces only (tabs are part of a
// token) and ignores runs of spaces.
Tokens Tokenize(std::string_view line) {
  Tokens tokens;
  size_t pos = 0;
  while (pos < line.size()) {
    if (line[pos] == ' ') {
      ++pos;
      continue;
    }
    size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    tokens.push_back(line.substr(pos, end - pos));
    pos = end;
  }
  return tokens;
}

// Decimal numbers as memcached's safe_strto* accept them: an optional sign,
// digits, nothing else; out of range is an error; '-' is refused for unsigned.
template <typename T>
bool ParseDecimal(std::string_view token, T* out) {
  if (!token.empty() && token[0] == '+') token.remove_prefix(1);
  if (token.empty()) return false;
  if constexpr (std::is_unsigned_v<T>) {
    if (token[0] == '-') return false;
  }
  const char* end = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(token.data(), end, *out, 10);
  return ec == std::errc() && ptr == end;
}

// Keys: 1..250 bytes, no control characters (spaces cannot occur: they split
// tokens). memcached's own text parser only checks the length; the protocol
// document forbids control characters, and we enforce it.
bool ValidKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyLength) return false;
  return std::none_of(key.begin(), key.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

bool IsNoreply(std::string_view token) { return token == "noreply"; }

ParseResult Error(std::string_view reply, size_t consumed, bool noreply = false) {
  ParseResult r;
  r.status = ParseStatus::kError;
  r.consumed = consumed;
  r.error_reply = noreply ? std::string_view() : reply;
  return r;
}

ParseResult Ok(Command command, size_t consumed) {
  ParseResult r;
  r.status = ParseStatus::kCommand;
  r.consumed = consumed;
  r.command = std::move(command);
  return r;
}

ParseResult NeedMore(size_t need_at_least) {
  ParseResult r;
  r.status = ParseStatus::kNeedMore;
  r.need_at_least = need_at_least;
  return r;
}

struct OpEntry {
  std::string_view name;
  Op op;
};
constexpr OpEntry kOps[] = {
    {"get", Op::kGet},         {"gets", Op::kGets},
    {"gat", Op::kGat},         {"gats", Op::kGats},
    {"set", Op::kSet},         {"add", Op::kAdd},
    {"replace", Op::kReplace}, {"append", Op::kAppend},
    {"prepend", Op::kPrepend}, {"cas", Op::kCas},
    {"delete", Op::kDelete},   {"incr", Op::kIncr},
    {"decr", Op::kDecr},       {"touch", Op::kTouch},
    {"flush_all", Op::kFlushAll}, {"version", Op::kVersion},
    {"verbosity", Op::kVerbosity}, {"stats", Op::kStats},
    {"quit", Op::kQuit},
    {"shutdown", Op::kShutdown},
    {"cache_memlimit", Op::kCacheMemlimit},
    {"watch", Op::kWatch},
    {"lru_crawler", Op::kLruCrawler},
    // memcached's undocumented "binary get" of long ago, still a get.
    {"bget", Op::kGet},
    // (Parsed apart: every two-letter m? is a meta command to memcached.)
    {"mg", Op::kMetaGet}, {"ms", Op::kMetaSet}, {"md", Op::kMetaDelete},
    {"ma", Op::kMetaArithmetic}, {"mn", Op::kMetaNoop}, {"me", Op::kMetaDebug},
};

std::optional<Op> LookupOp(std::string_view name) {
  for (const auto& entry : kOps) {
    if (entry.name == name) return entry.op;
  }
  return std::nullopt;
}

// `tokens` excludes memcached's terminal token, so memcached's "ntokens" is
// tokens.size() + 1; the arity checks below are written in our count.

ParseResult ParseRetrieval(Op op, const Tokens& tokens, size_t line_consumed) {
  if (tokens.size() < 2) return Error(reply::kError, line_consumed);
  Command cmd;
  cmd.op = op;
  size_t first_key = 1;
  if (op == Op::kGat || op == Op::kGats) {
    if (!ParseDecimal(tokens[1], &cmd.exptime)) {
      return Error(reply::kInvalidExptime, line_consumed);
    }
    first_key = 2;
  }
  for (size_t i = first_key; i < tokens.size(); ++i) {
    if (!ValidKey(tokens[i])) return Error(reply::kBadFormat, line_consumed);
    cmd.keys.push_back(tokens[i]);
  }
  return Ok(std::move(cmd), line_consumed);
}

ParseResult ParseStorage(Op op, const Tokens& tokens, std::string_view input,
                         size_t line_consumed, const ParseOptions& options) {
  const bool is_cas = op == Op::kCas;
  const size_t base = is_cas ? 6 : 5;  // cmd key flags exptime bytes [cas]
  if (tokens.size() != base && tokens.size() != base + 1) {
    return Error(reply::kError, line_consumed);
  }
  Command cmd;
  cmd.op = op;
  // memcached only looks at the last token for "noreply"; anything else in
  // that position is ignored.
  cmd.noreply = tokens.size() == base + 1 && IsNoreply(tokens.back());
  if (!ValidKey(tokens[1])) return Error(reply::kBadFormat, line_consumed, cmd.noreply);
  cmd.keys.push_back(tokens[1]);
  int32_t bytes = 0;
  if (!ParseDecimal(tokens[2], &cmd.flags) || !ParseDecimal(tokens[3], &cmd.exptime) ||
      !ParseDecimal(tokens[4], &bytes)) {
    return Error(reply::kBadFormat, line_consumed, cmd.noreply);
  }
  if (is_cas && !ParseDecimal(tokens[5], &cmd.cas_unique)) {
    return Error(reply::kBadFormat, line_consumed, cmd.noreply);
  }
  if (bytes < 0 || bytes > std::numeric_limits<int32_t>::max() - 2) {
    return Error(reply::kBadFormat, line_consumed, cmd.noreply);
  }
  const size_t value_bytes = static_cast<size_t>(bytes);
  if (value_bytes > options.max_value_bytes) {
    ParseResult r = Error(reply::kObjectTooLarge, line_consumed, cmd.noreply);
    r.swallow = value_bytes + 2;
    // The refused command, without its value: memcached unlinks the old
    // item of a SET refused as too large.
    r.command = std::move(cmd);
    return r;
  }
  const size_t total = line_consumed + value_bytes + 2;
  if (input.size() < total) return NeedMore(total);
  // memcached reads exactly <bytes>+2 and then checks the terminator.
  if (input.substr(line_consumed + value_bytes, 2) != "\r\n") {
    return Error(reply::kBadDataChunk, total, cmd.noreply);
  }
  cmd.data = input.substr(line_consumed, value_bytes);
  return Ok(std::move(cmd), total);
}

// --- meta commands -------------------------------------------------------------

namespace meta_reply {
constexpr std::string_view kDuplicateFlag = "CLIENT_ERROR duplicate flag\r\n";
constexpr std::string_view kInvalidFlag = "CLIENT_ERROR invalid flag\r\n";
constexpr std::string_view kBadToken = "CLIENT_ERROR bad token in command line format\r\n";
constexpr std::string_view kDecodingKey = "CLIENT_ERROR error decoding key\r\n";
constexpr std::string_view kMLength = "CLIENT_ERROR incorrect length for M token\r\n";
constexpr std::string_view kInitial = "CLIENT_ERROR invalid numeric initial value\r\n";
constexpr std::string_view kDelta = "CLIENT_ERROR invalid numeric delta value\r\n";
constexpr std::string_view kInvalidOrDuplicate = "CLIENT_ERROR invalid or duplicate flag\r\n";
constexpr std::string_view kOpaqueTooLong = "CLIENT_ERROR opaque token too long\r\n";
constexpr std::string_view kGetFlagsTooLong = "CLIENT_ERROR options flags are too long\r\n";
constexpr std::string_view kFlagsTooLong = "CLIENT_ERROR options flags too long\r\n";
constexpr std::string_view kSetMode = "CLIENT_ERROR invalid mode for ms M token\r\n";
constexpr std::string_view kArithmeticMode = "CLIENT_ERROR invalid mode for ma M token\r\n";
}  // namespace meta_reply

// memcached's MFLAG_MAX_OPT_LENGTH: tokens of a meta line, its terminal
// token included (so 17 flags at most after a key).
constexpr size_t kMetaMaxTokens = 20;

// memcached's _meta_flag_preparse over tokens[first...]: the flags, the
// key decoded for `b`. Returns the error reply, or empty. A repeated or
// unknown flag stops at once; a bad value is noted and the scan goes on,
// the last such error being the one sent, as in memcached.
std::string_view PreparseMeta(const Tokens& tokens, size_t first, Command* cmd) {
  MetaFlags& meta = cmd->meta;
  bool seen[127] = {};
  std::string_view error;
  auto number = [&](std::string_view digits, auto* out, std::string_view if_bad) {
    if (!ParseDecimal(digits, out)) error = if_bad;
  };
  for (size_t i = first; i < tokens.size(); ++i) {
    const std::string_view token = tokens[i];
    const auto flag = static_cast<unsigned char>(token[0]);
    if (flag >= 127 || seen[flag]) return meta_reply::kDuplicateFlag;
    seen[flag] = true;
    const std::string_view arg = token.substr(1);
    int32_t ttl = 0;
    switch (flag) {
      case 'b':
        if (auto decoded = Base64Decode(tokens[1]); decoded) {
          cmd->key_binary = true;
          cmd->binary_key = std::move(*decoded);
        } else {
          error = meta_reply::kDecodingKey;
        }
        break;
      case 'N':
      case 'T':
      case 'R':
        if (!ParseDecimal(arg, &ttl)) {
          error = meta_reply::kBadToken;
        } else {
          (flag == 'N' ? meta.vivify_ttl : flag == 'T' ? meta.ttl : meta.recache_ttl) = ttl;
        }
        break;
      case 'l':
      case 'O':
      case 'P':
      case 'L':
      case 'k':
      case 's':
      case 't':
      case 'c':
      case 'f':
      case 'h':
        break;  // echoed or answered by the handler, in token order
      case 'v':
        meta.value = true;
        break;
      case 'u':
        meta.no_bump = true;
        break;
      case 'q':
        meta.quiet = true;
        break;
      case 'F':
        // memcached marks the error without a message of its own: the
        // command's default is sent.
        number(arg, &meta.client_flags, reply::kBadFormat);
        break;
      case 'C': {
        uint64_t cas = 0;
        if (ParseDecimal(arg, &cas)) {
          meta.compare_cas = cas;
        } else {
          error = meta_reply::kBadToken;
        }
        break;
      }
      case 'M':
        if (token.size() != 2) {
          error = meta_reply::kMLength;
        } else {
          meta.mode = token[1];
        }
        break;
      case 'J':
        number(arg, &meta.initial, meta_reply::kInitial);
        break;
      case 'D':
        number(arg, &meta.delta, meta_reply::kDelta);
        break;
      case 'I':
        meta.invalidate = true;
        break;
      default:
        return meta_reply::kInvalidFlag;
    }
    meta.tokens.push_back(token);
  }
  return error;
}

bool OpaqueTooLong(const MetaFlags& meta) {
  for (std::string_view token : meta.tokens) {
    if (token[0] == 'O' && token.size() > kMaxOpaqueToken) return true;
  }
  return false;
}

// mg ms md ma mn me, checked as memcached checks them before it touches the
// item; the rest (opaque tokens of mg and ma, which memcached checks while
// it answers) is the handler's.
ParseResult ParseMeta(const Tokens& tokens, std::string_view input, size_t line_consumed,
                      const ParseOptions& options) {
  Command cmd;
  switch (tokens[0][1]) {
    case 'g': cmd.op = Op::kMetaGet; break;
    case 's': cmd.op = Op::kMetaSet; break;
    case 'd': cmd.op = Op::kMetaDelete; break;
    case 'a': cmd.op = Op::kMetaArithmetic; break;
    case 'n': cmd.op = Op::kMetaNoop; break;
    case 'e': cmd.op = Op::kMetaDebug; break;
    default: return Error(reply::kError, line_consumed);
  }
  if (cmd.op == Op::kMetaNoop) return Ok(std::move(cmd), line_consumed);
  if (cmd.op == Op::kMetaDebug) {
    // me <key> [b]: anything else after the key is not looked at.
    if (tokens.size() < 2 || tokens[1].size() > kMaxKeyLength) {
      return Error(reply::kBadFormat, line_consumed);
    }
    cmd.keys.push_back(tokens[1]);
    if (!ValidKey(tokens[1])) return Error(reply::kBadFormat, line_consumed);
    if (tokens.size() >= 3 && tokens[2] == "b") {
      auto decoded = Base64Decode(tokens[1]);
      if (!decoded) return Error(reply::kBadFormat, line_consumed);
      cmd.key_binary = true;
      cmd.binary_key = std::move(*decoded);
    }
    return Ok(std::move(cmd), line_consumed);
  }
  if (tokens.size() < 2) return Error(reply::kError, line_consumed);
  if (tokens[1].size() > kMaxKeyLength) return Error(reply::kBadFormat, line_consumed);
  const bool set = cmd.op == Op::kMetaSet;
  if (set && tokens.size() == 2) return Error(reply::kBadFormat, line_consumed);
  if (tokens.size() + 1 > kMetaMaxTokens) {
    return Error(cmd.op == Op::kMetaGet ? meta_reply::kGetFlagsTooLong : meta_reply::kFlagsTooLong,
                 line_consumed);
  }
  cmd.keys.push_back(tokens[1]);
  int32_t bytes = 0;
  if (set && (!ParseDecimal(tokens[2], &bytes) || bytes < 0 ||
              bytes > std::numeric_limits<int32_t>::max() - 2)) {
    return Error(reply::kBadFormat, line_consumed);
  }
  // From here on a refused ms swallows its data, as memcached does.
  const size_t value_bytes = static_cast<size_t>(bytes);
  auto refuse = [&](std::string_view error) {
    ParseResult r = Error(error, line_consumed);
    if (set) r.swallow = value_bytes + 2;
    return r;
  };
  std::string_view error = PreparseMeta(tokens, set ? 3 : 2, &cmd);
  if (!error.empty()) {
    const bool generic = cmd.op == Op::kMetaDelete || cmd.op == Op::kMetaArithmetic;
    return refuse(generic ? meta_reply::kInvalidOrDuplicate : error);
  }
  // xdpkv refuses control characters in keys as sent (docs/protocols.md).
  if (!ValidKey(tokens[1])) return refuse(reply::kBadFormat);
  cmd.noreply = cmd.meta.quiet;
  const char mode = cmd.meta.mode;
  switch (cmd.op) {
    case Op::kMetaDelete:
      if (OpaqueTooLong(cmd.meta)) return Error(meta_reply::kOpaqueTooLong, line_consumed);
      return Ok(std::move(cmd), line_consumed);
    case Op::kMetaArithmetic:
      if (mode != 0 && std::string_view("I+D-").find(mode) == std::string_view::npos) {
        return Error(meta_reply::kArithmeticMode, line_consumed);
      }
      return Ok(std::move(cmd), line_consumed);
    case Op::kMetaGet:
      return Ok(std::move(cmd), line_consumed);
    default:
      break;
  }
  // ms: its mode, its opaque tokens, its size, then its data.
  if (mode != 0 && std::string_view("EAPRS").find(mode) == std::string_view::npos) {
    return refuse(meta_reply::kSetMode);
  }
  if (OpaqueTooLong(cmd.meta)) return refuse(meta_reply::kOpaqueTooLong);
  if (value_bytes > options.max_value_bytes) {
    ParseResult r = refuse(reply::kObjectTooLarge);
    // The refused command, for the handler's unlink (memcached removes the
    // old value of a key whose write failed, whatever the mode).
    r.command = std::move(cmd);
    return r;
  }
  const size_t total = line_consumed + value_bytes + 2;
  if (input.size() < total) return NeedMore(total);
  if (input.substr(line_consumed + value_bytes, 2) != "\r\n") {
    return Error(reply::kBadDataChunk, total);  // never quiet, as memcached
  }
  cmd.data = input.substr(line_consumed, value_bytes);
  return Ok(std::move(cmd), total);
}

// memcached's cross-protocol guard (process_command_ascii): a line it does
// not know as a command whose last token starts with "HTTP/" ("GET /
// HTTP/1.1", "POST /x HTTP/1.0", a bare "HTTP/1.1") is taken for a browser
// or an HTTP request smuggled at the cache, and the connection is closed
// without a word. Only lines that reach memcached's last dispatch branch are
// checked: names starting with a letter it dispatches on first (a meta
// command's "m?", and g s a c i d t) answer ERROR, as do the other commands
// it knows that xdpkv does not serve.
bool IsHttpRequestLine(const Tokens& tokens) {
  const std::string_view name = tokens[0];
  if (name.size() == 2 && name[0] == 'm') return false;
  if (std::string_view("gsacidt").find(name[0]) != std::string_view::npos) return false;
  for (std::string_view known : {"replace", "prepend", "flush_all", "version", "quit",
                                 "lru_crawler", "watch", "verbosity", "lru", "extstore",
                                 "refresh_certs"}) {
    if (name == known) return false;
  }
  // memcached tokenizes at most 23 tokens; the 23rd then ends its list.
  constexpr size_t kMemcachedMaxTokens = 23;
  return tokens[std::min(tokens.size(), kMemcachedMaxTokens) - 1].starts_with("HTTP/");
}

ParseResult ParseLine(std::string_view line, std::string_view input, size_t line_consumed,
                      const ParseOptions& options) {
  const Tokens tokens = Tokenize(line);
  // No memcached command is shorter than two bytes.
  if (tokens.empty() || tokens[0].size() < 2) return Error(reply::kError, line_consumed);
  // memcached dispatches every two-letter m? to its meta commands first.
  if (tokens[0].size() == 2 && tokens[0][0] == 'm') {
    return ParseMeta(tokens, input, line_consumed, options);
  }
  const std::optional<Op> op = LookupOp(tokens[0]);
  if (!op) {
    if (IsHttpRequestLine(tokens)) {
      ParseResult r = Error("", line_consumed);
      r.close_connection = true;
      r.discard_unsent = true;
      return r;
    }
    return Error(reply::kError, line_consumed);
  }

  Command cmd;
  cmd.op = *op;
  switch (*op) {
    case Op::kGet:
    case Op::kGets:
    case Op::kGat:
    case Op::kGats:
      return ParseRetrieval(*op, tokens, line_consumed);

    case Op::kSet:
    case Op::kAdd:
    case Op::kReplace:
    case Op::kAppend:
    case Op::kPrepend:
    case Op::kCas:
      return ParseStorage(*op, tokens, input, line_consumed, options);

    case Op::kDelete: {
      // delete <key> [0] [noreply]: the legacy hold time must be 0.
      if (tokens.size() < 2 || tokens.size() > 4) return Error(reply::kError, line_consumed);
      if (tokens.size() > 2) {
        const bool hold_is_zero = tokens[2] == "0";
        cmd.noreply = IsNoreply(tokens.back());
        const bool valid = (tokens.size() == 3 && (hold_is_zero || cmd.noreply)) ||
                           (tokens.size() == 4 && hold_is_zero && cmd.noreply);
        if (!valid) return Error(reply::kDeleteUsage, line_consumed, cmd.noreply);
      }
      if (!ValidKey(tokens[1])) return Error(reply::kBadFormat, line_consumed, cmd.noreply);
      cmd.keys.push_back(tokens[1]);
      return Ok(std::move(cmd), line_consumed);
    }

    case Op::kIncr:
    case Op::kDecr:
    case Op::kTouch: {
      if (tokens.size() != 3 && tokens.size() != 4) return Error(reply::kError, line_consumed);
      cmd.noreply = IsNoreply(tokens.back());
      if (!ValidKey(tokens[1])) return Error(reply::kBadFormat, line_consumed, cmd.noreply);
      cmd.keys.push_back(tokens[1]);
      if (*op == Op::kTouch) {
        if (!ParseDecimal(tokens[2], &cmd.exptime)) {
          return Error(reply::kInvalidExptime, line_consumed, cmd.noreply);
        }
      } else if (!ParseDecimal(tokens[2], &cmd.delta)) {
        return Error(reply::kInvalidDelta, line_consumed, cmd.noreply);
      }
      return Ok(std::move(cmd), line_consumed);
    }

    case Op::kFlushAll: {
      if (tokens.size() > 3) return Error(reply::kError, line_consumed);
      cmd.noreply = IsNoreply(tokens.back());
      // flush_all [delay] [noreply]
      // A bad delay is the handler's to answer: memcached checks -F first.
      if (tokens.size() != (cmd.noreply ? 2u : 1u)) {
        cmd.delay_invalid = !ParseDecimal(tokens[1], &cmd.delay);
      }
      return Ok(std::move(cmd), line_consumed);
    }

    case Op::kVerbosity: {
      if (tokens.size() != 2 && tokens.size() != 3) return Error(reply::kError, line_consumed);
      cmd.noreply = IsNoreply(tokens.back());
      if (!ParseDecimal(tokens[1], &cmd.verbosity)) {
        return Error(reply::kBadFormat, line_consumed, cmd.noreply);
      }
      return Ok(std::move(cmd), line_consumed);
    }

    case Op::kStats:
    case Op::kShutdown:
    case Op::kLruCrawler:
      for (size_t i = 1; i < tokens.size(); ++i) cmd.args.push_back(tokens[i]);
      return Ok(std::move(cmd), line_consumed);

    case Op::kWatch:
      cmd.noreply = IsNoreply(tokens.back());
      for (size_t i = 1; i < tokens.size(); ++i) cmd.args.push_back(tokens[i]);
      return Ok(std::move(cmd), line_consumed);

    case Op::kCacheMemlimit:
      // memcached: ERROR for the wrong count or a bad number, noreply honoured.
      if (tokens.size() != 2 && tokens.size() != 3) return Error(reply::kError, line_consumed);
      cmd.noreply = IsNoreply(tokens.back());
      if (!ParseDecimal(tokens[1], &cmd.memlimit_mb)) {
        return Error(reply::kError, line_consumed, cmd.noreply);
      }
      return Ok(std::move(cmd), line_consumed);

    case Op::kVersion:
    case Op::kQuit:
      return Ok(std::move(cmd), line_consumed);

    case Op::kMetaGet:
    case Op::kMetaSet:
    case Op::kMetaDelete:
    case Op::kMetaArithmetic:
    case Op::kMetaNoop:
    case Op::kMetaDebug:
      break;  // ParseMeta's, before the lookup
  }
  return Error(reply::kError, line_consumed);
}

// memcached keeps buffering a line with no newline only for multi-gets.
bool LooksLikeMultiGet(std::string_view input) {
  size_t spaces = 0;
  while (spaces < input.size() && input[spaces] == ' ') ++spaces;
  if (spaces > 100) return false;
  std::string_view rest = input.substr(spaces);
  return rest.starts_with("get ") || rest.starts_with("gets ");
}

}  // namespace

std::string_view OpName(Op op) {
  for (const auto& entry : kOps) {
    if (entry.op == op) return entry.name;
  }
  return "?";
}

bool IsRetrieval(Op op) {
  return op == Op::kGet || op == Op::kGets || op == Op::kGat || op == Op::kGats;
}

bool IsStorage(Op op) {
  switch (op) {
    case Op::kSet:
    case Op::kAdd:
    case Op::kReplace:
    case Op::kAppend:
    case Op::kPrepend:
    case Op::kCas:
      return true;
    default:
      return false;
  }
}

ParseResult ParseCommand(std::string_view input, const ParseOptions& options) {
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) {
    const bool multiget = LooksLikeMultiGet(input);
    const size_t limit = multiget ? options.max_retrieval_line : kMaxCommandLine;
    if (input.size() > limit) {
      ParseResult r = Error(reply::kLineTooLong, input.size());
      r.close_connection = true;
      return r;
    }
    return NeedMore(input.size() + 1);
  }
  std::string_view line = input.substr(0, newline);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return ParseLine(line, input, newline + 1, options);
}

void AppendValue(std::string* out, std::string_view key, uint32_t flags,
                 std::string_view data, std::optional<uint64_t> cas) {
  out->append("VALUE ").append(key).push_back(' ');
  AppendDecimal(out, flags);
  out->push_back(' ');
  AppendDecimal(out, data.size());
  if (cas) {
    out->push_back(' ');
    AppendDecimal(out, *cas);
  }
  out->append("\r\n").append(data).append("\r\n");
}

void AppendNumber(std::string* out, uint64_t value) {
  AppendDecimal(out, value);
  out->append("\r\n");
}

void AppendVersion(std::string* out, std::string_view version) {
  out->append("VERSION ").append(version).append("\r\n");
}

void AppendStat(std::string* out, std::string_view name, std::string_view value) {
  out->append("STAT ").append(name).append(" ").append(value).append("\r\n");
}

std::optional<UdpFrameHeader> ParseUdpFrameHeader(std::string_view datagram) {
  if (datagram.size() < kUdpFrameHeaderSize) return std::nullopt;
  auto be16 = [&](size_t at) {
    return static_cast<uint16_t>((static_cast<unsigned char>(datagram[at]) << 8) |
                                 static_cast<unsigned char>(datagram[at + 1]));
  };
  return UdpFrameHeader{be16(0), be16(2), be16(4), be16(6)};
}

void AppendUdpFrameHeader(std::string* out, const UdpFrameHeader& header) {
  for (uint16_t field :
       {header.request_id, header.sequence, header.datagram_count, header.reserved}) {
    out->push_back(static_cast<char>(field >> 8));
    out->push_back(static_cast<char>(field & 0xff));
  }
}

void AppendUdpObjectDatagrams(uint16_t request_id, std::string_view object,
                              std::vector<std::string>* datagrams) {
  const size_t count = (object.size() + kUdpMaxDatagramData - 1) / kUdpMaxDatagramData;
  // memcached's build_udp_header caps the count field (the sequence wraps);
  // one request's reply is bounded far below that.
  const auto count_field =
      static_cast<uint16_t>(std::min<size_t>(count, std::numeric_limits<uint16_t>::max()));
  for (size_t i = 0; i < std::max<size_t>(count, 1); ++i) {
    const std::string_view part =
        object.substr(std::min(object.size(), i * kUdpMaxDatagramData), kUdpMaxDatagramData);
    std::string datagram;
    datagram.reserve(kUdpFrameHeaderSize + part.size());
    AppendUdpFrameHeader(&datagram, {request_id, static_cast<uint16_t>(i), count_field, 0});
    datagram.append(part);
    datagrams->push_back(std::move(datagram));
  }
}

std::vector<std::string> FrameUdpReply(uint16_t request_id, std::string_view reply,
                                       const std::vector<UdpResponseObject>& objects) {
  std::vector<std::string> datagrams;
  size_t begin = 0;
  bool first_of_flush = true;
  auto frame = [&](size_t end) {
    const std::string_view object = reply.substr(begin, end - begin);
    if (!object.empty() || first_of_flush) {
      AppendUdpObjectDatagrams(request_id, object, &datagrams);
    }
    begin = end;
  };
  for (const UdpResponseObject& object : objects) {
    frame(object.end);
    first_of_flush = object.flush_after;
  }
  if (begin < reply.size()) frame(reply.size());
  return datagrams;
}

}  // namespace xdpkv::memcache
