#include "protocol/resp.h"

#include <algorithm>
#include <cstring>

#include "protocol/decimal.h"

namespace xdpkv::resp {
namespace {

ParseResult NeedMore(size_t need_at_least) {
  ParseResult r;
  r.status = ParseStatus::kNeedMore;
  r.need_at_least = need_at_least;
  return r;
}

ParseResult Error(std::string_view reply) {
  ParseResult r;
  r.status = ParseStatus::kError;
  r.error_reply = std::string(reply);
  return r;
}

ParseResult Empty(size_t consumed) {
  ParseResult r;
  r.status = ParseStatus::kEmpty;
  r.consumed = consumed;
  return r;
}

// Redis's string2ll: optional '-', no '+', no leading zeros, no spaces.
bool ParseStrictInt(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  bool negative = false;
  size_t i = 0;
  if (s[0] == '-') {
    negative = true;
    i = 1;
    if (s.size() == 1) return false;
  }
  if (s.size() - i > 1 && s[i] == '0') return false;
  uint64_t value = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  if (negative) {
    if (value > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    *out = static_cast<int64_t>(0 - value);
  } else {
    if (value > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(value);
  }
  return true;
}

// Inline command: `newline` is the index of its '\n'.
ParseResult ParseInline(std::string_view input, size_t newline) {
  std::string_view line = input.substr(0, newline);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

  ParseResult result;
  std::string storage;
  absl::InlinedVector<std::pair<size_t, size_t>, 4> spans;
  if (!SplitInlineArgs(line, &storage, &spans)) return Error(reply::kUnbalancedQuotes);
  if (spans.empty()) return Empty(newline + 1);

  // The split copies bytes (quotes change them); keep one owned buffer.
  result.command.unquoted = std::make_unique<char[]>(storage.size() + 1);
  std::memcpy(result.command.unquoted.get(), storage.data(), storage.size());
  for (auto [offset, length] : spans) {
    result.command.args.emplace_back(result.command.unquoted.get() + offset, length);
  }
  result.status = ParseStatus::kCommand;
  result.consumed = newline + 1;
  return result;
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// C's isspace in the "C" locale.
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

}  // namespace

bool SplitInlineArgs(std::string_view line, std::string* storage,
                     absl::InlinedVector<std::pair<size_t, size_t>, 4>* spans) {
  // Redis treats the line as a C string: a NUL byte ends it.
  if (const size_t nul = line.find('\0'); nul != std::string_view::npos) {
    line = line.substr(0, nul);
  }
  storage->clear();
  spans->clear();
  size_t p = 0;
  const size_t n = line.size();
  auto at = [&](size_t i) { return i < n ? line[i] : '\0'; };
  while (true) {
    while (p < n && IsSpace(line[p])) ++p;
    if (p >= n) return true;
    const size_t start = storage->size();
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    while (!done) {
      const char c = at(p);
      if (in_double) {
        if (c == '\\' && at(p + 1) == 'x' && IsHexDigit(at(p + 2)) && IsHexDigit(at(p + 3))) {
          storage->push_back(static_cast<char>(HexValue(at(p + 2)) * 16 + HexValue(at(p + 3))));
          p += 3;
        } else if (c == '\\' && p + 1 < n) {
          ++p;
          char unescaped;
          switch (line[p]) {
            case 'n': unescaped = '\n'; break;
            case 'r': unescaped = '\r'; break;
            case 't': unescaped = '\t'; break;
            case 'b': unescaped = '\b'; break;
            case 'a': unescaped = '\a'; break;
            default: unescaped = line[p]; break;
          }
          storage->push_back(unescaped);
        } else if (c == '"') {
          // A closing quote must be followed by a space or the end.
          if (p + 1 < n && !IsSpace(line[p + 1])) return false;
          done = true;
        } else if (p >= n) {
          return false;  // unterminated
        } else {
          storage->push_back(c);
        }
      } else if (in_single) {
        if (c == '\\' && at(p + 1) == '\'') {
          ++p;
          storage->push_back('\'');
        } else if (c == '\'') {
          if (p + 1 < n && !IsSpace(line[p + 1])) return false;
          done = true;
        } else if (p >= n) {
          return false;
        } else {
          storage->push_back(c);
        }
      } else {
        switch (c) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            storage->push_back(c);
            break;
        }
      }
      if (p < n) ++p;
    }
    spans->emplace_back(start, storage->size() - start);
  }
}

// A header line ("*<n>" or "$<n>") ends at the first '\r', which Redis
// assumes is followed by '\n' (it needs one more byte but does not check it).
size_t Parser::FindHeaderEnd(std::string_view input) {
  const size_t cr = input.find('\r', scan_from_);
  if (cr == std::string_view::npos) {
    bytes_scanned_ += input.size() - scan_from_;
    scan_from_ = input.size();
    return std::string_view::npos;
  }
  bytes_scanned_ += cr + 1 - scan_from_;
  scan_from_ = cr;  // found; look at it again only if its '\n' is missing
  if (cr + 1 >= input.size()) return std::string_view::npos;
  return cr;
}

void Parser::Reset() {
  state_ = State::kStart;
  pos_ = 0;
  scan_from_ = 0;
  remaining_ = 0;
  bulk_length_ = 0;
  spans_.clear();
  // A huge command's offsets are not kept around for the next small one.
  if (spans_.capacity() > 1024) spans_.shrink_to_fit();
}

ParseResult Parser::Parse(std::string_view input) {
  if (input.size() < scan_from_ || input.size() < pos_) Reset();  // contract broken
  while (true) {
    switch (state_) {
      case State::kStart:
        if (input.empty()) return NeedMore(1);
        if (input[0] == '*') {
          state_ = State::kCount;
          scan_from_ = 1;
        } else {
          state_ = State::kInline;
          scan_from_ = 0;
        }
        break;

      case State::kInline: {
        const size_t newline = input.find('\n', scan_from_);
        if (newline == std::string_view::npos) {
          bytes_scanned_ += input.size() - scan_from_;
          scan_from_ = input.size();
          if (input.size() > kMaxInlineSize) {
            Reset();
            return Error(reply::kTooBigInline);
          }
          return NeedMore(input.size() + 1);
        }
        bytes_scanned_ += newline + 1 - scan_from_;
        Reset();
        return ParseInline(input, newline);
      }

      case State::kCount: {
        const size_t count_end = FindHeaderEnd(input);
        if (count_end == std::string_view::npos) {
          // No '\r' at all (the search ran to the end) and too long.
          if (scan_from_ == input.size() && input.size() > kMaxInlineSize) {
            Reset();
            return Error(reply::kTooBigMultibulkCount);
          }
          return NeedMore(input.size() + 1);
        }
        int64_t count = 0;
        if (!ParseStrictInt(input.substr(1, count_end - 1), &count) ||
            count > kMaxMultibulkLength) {
          Reset();
          return Error(reply::kInvalidMultibulkLength);
        }
        bytes_scanned_ += count_end - 1;  // the digits, parsed once
        const size_t after = count_end + 2;
        if (count <= 0) {
          Reset();
          return Empty(after);
        }
        remaining_ = count;
        // The count is the client's word: grow as arguments actually arrive.
        spans_.reserve(static_cast<size_t>(std::min<int64_t>(count, 64)));
        pos_ = scan_from_ = after;
        state_ = State::kBulkHeader;
        break;
      }

      case State::kBulkHeader: {
        const size_t header_end = FindHeaderEnd(input);
        if (header_end == std::string_view::npos) {
          // Redis measures from the header's start, '\r' or not.
          if (scan_from_ == input.size() && input.size() - pos_ > kMaxInlineSize) {
            Reset();
            return Error(reply::kTooBigBulkCount);
          }
          return NeedMore(input.size() + 1);
        }
        if (input[pos_] != '$') {
          std::string reply = "-ERR Protocol error: expected '$', got ' '\r\n";
          reply[reply.size() - 4] = input[pos_];
          Reset();
          return Error(reply);
        }
        int64_t length = 0;
        if (!ParseStrictInt(input.substr(pos_ + 1, header_end - pos_ - 1), &length) ||
            length < 0 || length > options_.max_bulk_length) {
          Reset();
          return Error(reply::kInvalidBulkLength);
        }
        bytes_scanned_ += header_end - pos_;
        bulk_length_ = length;
        pos_ = header_end + 2;
        state_ = State::kBulkData;
        break;
      }

      case State::kBulkData: {
        const size_t needed = pos_ + static_cast<size_t>(bulk_length_) + 2;
        if (input.size() < needed) return NeedMore(needed);
        spans_.emplace_back(pos_, static_cast<size_t>(bulk_length_));
        pos_ = scan_from_ = needed;  // Redis skips the two bytes after the data unchecked.
        state_ = State::kBulkHeader;
        if (--remaining_ > 0) break;
        ParseResult result;
        result.command.args.reserve(spans_.size());
        for (auto [offset, length] : spans_) result.command.args.push_back(input.substr(offset, length));
        result.status = ParseStatus::kCommand;
        result.consumed = pos_;
        Reset();
        return result;
      }
    }
  }
}

ParseResult ParseCommand(std::string_view input, const ParseOptions& options) {
  Parser parser(options);
  return parser.Parse(input);
}

void AppendSimpleString(std::string* out, std::string_view s) {
  out->append("+").append(s).append("\r\n");
}

void AppendError(std::string* out, std::string_view message) {
  out->push_back('-');
  for (char c : message) out->push_back(c == '\r' || c == '\n' ? ' ' : c);
  out->append("\r\n");
}

void AppendInteger(std::string* out, int64_t value) {
  out->push_back(':');
  AppendDecimal(out, value);
  out->append("\r\n");
}

void AppendBulk(std::string* out, std::string_view value) {
  out->push_back('$');
  AppendDecimal(out, value.size());
  out->append("\r\n").append(value).append("\r\n");
}

void AppendNullBulk(std::string* out) { out->append(reply::kNullBulk); }

void AppendArrayHeader(std::string* out, size_t count) {
  out->push_back('*');
  AppendDecimal(out, count);
  out->append("\r\n");
}

void AppendNullArray(std::string* out) { out->append(reply::kNullArray); }

}  // namespace xdpkv::resp
