#include "protocol/memcache_binary.h"

namespace xdpkv::memcache::binary {
namespace {

uint64_t BigEndian(std::string_view bytes, size_t at, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  }
  return value;
}

void AppendBigEndian(std::string* out, uint64_t value, size_t width) {
  for (size_t i = width; i > 0; --i) {
    out->push_back(static_cast<char>((value >> (8 * (i - 1))) & 0xff));
  }
}

ParseResult NeedMore(size_t total) {
  ParseResult r;
  r.status = ParseStatus::kNeedMore;
  r.need_at_least = total;
  return r;
}

// An error answering the request whose header is `h` (the response echoes
// its opcode and opaque).
ParseResult Error(const Header& h, Status status, size_t consumed, size_t swallow = 0) {
  ParseResult r;
  r.status = ParseStatus::kError;
  r.error = status;
  r.consumed = consumed;
  r.swallow = swallow;
  r.request.header = h;
  return r;
}

// memcached's answer to a malformed request (handle_binary_protocol_error):
// "Invalid arguments", then it closes.
ParseResult ProtocolError(const Header& h, size_t consumed) {
  ParseResult r = Error(h, Status::kInvalidArguments, consumed);
  r.close_after_reply = true;
  return r;
}

// The quiet opcodes and the commands they are quiet forms of.
std::optional<Opcode> LoudForm(Opcode quiet) {
  switch (quiet) {
    case Opcode::kGetQ:
      return Opcode::kGet;
    case Opcode::kGetKQ:
      return Opcode::kGetK;
    case Opcode::kSetQ:
      return Opcode::kSet;
    case Opcode::kAddQ:
      return Opcode::kAdd;
    case Opcode::kReplaceQ:
      return Opcode::kReplace;
    case Opcode::kDeleteQ:
      return Opcode::kDelete;
    case Opcode::kIncrementQ:
      return Opcode::kIncrement;
    case Opcode::kDecrementQ:
      return Opcode::kDecrement;
    case Opcode::kQuitQ:
      return Opcode::kQuit;
    case Opcode::kFlushQ:
      return Opcode::kFlush;
    case Opcode::kAppendQ:
      return Opcode::kAppend;
    case Opcode::kPrependQ:
      return Opcode::kPrepend;
    case Opcode::kGatQ:
      return Opcode::kGat;
    case Opcode::kGatKQ:
      return Opcode::kGatK;
    default:
      return std::nullopt;
  }
}

// What an unauthenticated connection may send under -S (memcached's
// authenticated()): the SASL exchange, and VERSION.
bool AllowedBeforeAuth(uint8_t opcode) {
  switch (static_cast<Opcode>(opcode)) {
    case Opcode::kSaslListMechs:
    case Opcode::kSaslAuth:
    case Opcode::kSaslStep:
    case Opcode::kVersion:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string_view StatusText(Status status) {
  switch (status) {
    case Status::kSuccess:
      return "";
    case Status::kKeyNotFound:
      return "Not found";
    case Status::kKeyExists:
      return "Data exists for key.";
    case Status::kValueTooLarge:
      return "Too large.";
    case Status::kInvalidArguments:
      return "Invalid arguments";
    case Status::kNotStored:
      return "Not stored.";
    case Status::kNonNumeric:
      return "Non-numeric server-side value for incr or decr";
    case Status::kAuthError:
      return "Auth failure.";
    case Status::kAuthContinue:
      return "";
    case Status::kUnknownCommand:
      return "Unknown command";
    case Status::kOutOfMemory:
      return "Out of memory";
  }
  return "";
}

std::optional<Header> ParseHeader(std::string_view bytes) {
  if (bytes.size() < kHeaderSize) return std::nullopt;
  Header h;
  h.magic = static_cast<uint8_t>(bytes[0]);
  h.opcode = static_cast<uint8_t>(bytes[1]);
  h.key_length = static_cast<uint16_t>(BigEndian(bytes, 2, 2));
  h.extras_length = static_cast<uint8_t>(bytes[4]);
  h.data_type = static_cast<uint8_t>(bytes[5]);
  h.vbucket = static_cast<uint16_t>(BigEndian(bytes, 6, 2));
  h.body_length = static_cast<uint32_t>(BigEndian(bytes, 8, 4));
  h.opaque = static_cast<uint32_t>(BigEndian(bytes, 12, 4));
  h.cas = BigEndian(bytes, 16, 8);
  return h;
}

ParseResult ParseRequest(std::string_view input, const ParseOptions& options) {
  const std::optional<Header> parsed = ParseHeader(input);
  if (!parsed) return NeedMore(kHeaderSize);
  const Header& h = *parsed;
  if (h.magic != kRequestMagic) {
    ParseResult r = Error(h, Status::kSuccess, kHeaderSize);
    r.close_now = true;
    return r;
  }
  // memcached waits for the extras and the key, whatever the body length
  // says, and then dispatches.
  const size_t ext = h.extras_length, keylen = h.key_length, body = h.body_length;
  const size_t base = kHeaderSize + ext + keylen;
  if (input.size() < base) return NeedMore(base);
  if (keylen + ext > body) {
    ParseResult r = Error(h, Status::kUnknownCommand, base);
    r.close_after_reply = true;
    return r;
  }
  if (options.sasl && !options.authenticated && !AllowedBeforeAuth(h.opcode)) {
    ParseResult r = Error(h, Status::kAuthError, base);
    r.close_after_reply = true;
    return r;
  }
  // The protocol carries 16-bit key lengths; memcached's items hold 250.
  if (keylen > kMaxKeyLength) return ProtocolError(h, base);

  Request req;
  req.header = h;
  const auto opcode = static_cast<Opcode>(h.opcode);
  const std::optional<Opcode> loud = LoudForm(opcode);
  req.command = loud.value_or(opcode);
  req.quiet = loud.has_value();
  const std::string_view extras = input.substr(kHeaderSize, ext);
  req.key = input.substr(kHeaderSize + ext, keylen);
  auto ok = [&](size_t consumed) {
    ParseResult r;
    r.status = ParseStatus::kRequest;
    r.consumed = consumed;
    r.request = req;
    return r;
  };
  // A request whose value follows its key: refused when too large (the
  // value swallowed), else read whole.
  auto with_value = [&](size_t value_bytes, size_t max_bytes, Status too_large) {
    if (value_bytes > max_bytes) {
      ParseResult r = Error(h, too_large, base, value_bytes);
      r.request = req;
      return r;
    }
    const size_t total = base + value_bytes;
    if (input.size() < total) {
      ParseResult r = NeedMore(total);
      r.reading_value = true;
      return r;
    }
    req.value = input.substr(base, value_bytes);
    return ok(total);
  };
  const bool bare = ext == 0 && keylen == 0 && body == 0;
  switch (req.command) {
    case Opcode::kVersion:
    case Opcode::kNoop:
    case Opcode::kQuit:
      return bare ? ok(base) : ProtocolError(h, base);
    case Opcode::kFlush:
      if (keylen != 0 || body != ext || (ext != 0 && ext != 4)) return ProtocolError(h, base);
      if (ext == 4) req.expiration = static_cast<uint32_t>(BigEndian(extras, 0, 4));
      return ok(base);
    case Opcode::kSet:
    case Opcode::kAdd:
    case Opcode::kReplace:
      if (ext != 8 || keylen == 0 || body < keylen + 8) return ProtocolError(h, base);
      req.flags = static_cast<uint32_t>(BigEndian(extras, 0, 4));
      req.expiration = static_cast<uint32_t>(BigEndian(extras, 4, 4));
      return with_value(body - keylen - ext, options.max_value_bytes, Status::kValueTooLarge);
    case Opcode::kAppend:
    case Opcode::kPrepend:
      if (keylen == 0 || ext != 0) return ProtocolError(h, base);
      return with_value(body - keylen, options.max_value_bytes, Status::kValueTooLarge);
    case Opcode::kGet:
    case Opcode::kGetK:
    case Opcode::kDelete:
      if (keylen == 0 || ext != 0 || body != keylen) return ProtocolError(h, base);
      return ok(base);
    case Opcode::kIncrement:
    case Opcode::kDecrement:
      if (keylen == 0 || ext != 20 || body != keylen + ext) return ProtocolError(h, base);
      req.delta = BigEndian(extras, 0, 8);
      req.initial = BigEndian(extras, 8, 8);
      req.expiration = static_cast<uint32_t>(BigEndian(extras, 16, 4));
      return ok(base);
    case Opcode::kStat:
      // Any body past the key is not read: it is parsed as the next request.
      return ext == 0 ? ok(base) : ProtocolError(h, base);
    case Opcode::kTouch:
    case Opcode::kGat:
    case Opcode::kGatK:
      if (ext != 4 || keylen == 0) return ProtocolError(h, base);
      req.expiration = static_cast<uint32_t>(BigEndian(extras, 0, 4));
      return ok(base);  // as STAT: a body past the key is the next request
    case Opcode::kSaslListMechs:
      if (!bare) return ProtocolError(h, base);
      return options.sasl ? ok(base) : Error(h, Status::kUnknownCommand, base);
    case Opcode::kSaslAuth:
    case Opcode::kSaslStep: {
      if (ext != 0 || keylen == 0) return ProtocolError(h, base);
      const size_t data = body - keylen;
      if (!options.sasl) return Error(h, Status::kUnknownCommand, base, data);
      if (keylen > kMaxSaslMechanism) return Error(h, Status::kInvalidArguments, base, data);
      // Data memcached has no item for: "Out of memory", swallowed.
      const size_t room = kMaxSaslItem - kSaslItemOverhead - keylen;
      return with_value(data, room, Status::kOutOfMemory);
    }
    default:
      return Error(h, Status::kUnknownCommand, base, body);
  }
}

void AppendResponse(std::string* out, const Response& r) {
  out->push_back(static_cast<char>(kResponseMagic));
  out->push_back(static_cast<char>(r.opcode));
  AppendBigEndian(out, r.key.size(), 2);
  out->push_back(static_cast<char>(r.extras.size()));
  out->push_back(0);  // data type: raw bytes
  AppendBigEndian(out, static_cast<uint16_t>(r.status), 2);
  AppendBigEndian(out, r.extras.size() + r.key.size() + r.value.size(), 4);
  AppendBigEndian(out, r.opaque, 4);
  AppendBigEndian(out, r.cas, 8);
  out->append(r.extras).append(r.key).append(r.value);
}

void AppendError(std::string* out, const Header& request, Status status, std::string_view text) {
  AppendResponse(out, {.opcode = request.opcode,
                       .status = status,
                       .opaque = request.opaque,
                       .value = text.empty() ? StatusText(status) : text});
}

}  // namespace xdpkv::memcache::binary
