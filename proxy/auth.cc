#include "proxy/auth.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace xdpkv {
namespace {

// Equal, in time that depends on the lengths only (as memcached's
// safe_memcmp and Redis's time_independent_strcmp): a wrong password's
// reply does not tell how much of it was right.
bool EqualInConstantTime(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

// memcached's tokenize_command over a C string: tokens split by single
// spaces (runs skipped); `text` ends at its first NUL, as strlen sees it.
std::vector<std::string_view> Tokenize(std::string_view text) {
  text = text.substr(0, text.find('\0'));
  std::vector<std::string_view> tokens;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ' ') {
      if (i > start) tokens.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return tokens;
}

// memcached's safe_strtoul: strtoul's number (leading blanks and a sign
// allowed), ended by a blank or the token's end; a negative number is
// refused; the result is cut to 32 bits as memcached stores it.
bool SafeStrtoul(std::string_view token, uint32_t* out) {
  const std::string text(token);
  char* end = nullptr;
  errno = 0;
  const unsigned long value = std::strtoul(text.c_str(), &end, 10);
  if (errno == ERANGE || end == text.c_str()) return false;
  const bool ended = *end == '\0' || *end == ' ' || (*end >= '\t' && *end <= '\r');
  if (!ended) return false;
  if (static_cast<long>(value) < 0 &&
      std::memchr(text.c_str(), '-', static_cast<size_t>(end - text.c_str())) != nullptr) {
    return false;
  }
  *out = static_cast<uint32_t>(value);
  return true;
}

// memcached's read buffer (READ_BUFFER_SIZE): an auth payload that does
// not fit is never completed there (the connection closes when the buffer
// is full); xdpkv closes at once.
constexpr size_t kMaxAuthPayload = 16384;
// memcached closes a connection whose unauthenticated line has no newline
// after this many bytes.
constexpr size_t kMaxAuthLine = 2048;

}  // namespace

void RedisPassword::Set(std::string password) {
  std::lock_guard lock(mu_);
  required_.store(!password.empty(), std::memory_order_relaxed);
  password_ = std::move(password);
}

std::string RedisPassword::Get() const {
  std::lock_guard lock(mu_);
  return password_;
}

bool RedisPassword::Check(std::string_view user, std::string_view password) const {
  if (user != "default") return false;
  std::lock_guard lock(mu_);
  if (password_.empty()) return true;  // Redis's nopass default user
  return EqualInConstantTime(password, password_);
}

absl::StatusOr<MemcacheAuthFile> MemcacheAuthFile::Load(const std::string& path) {
  FILE* file = path.empty() ? nullptr : std::fopen(path.c_str(), "r");
  if (file == nullptr) {
    const char* why = std::strerror(path.empty() ? ENOENT : errno);
    return absl::NotFoundError(absl::StrCat("Could not open authfile [", path,
                                            "] for reading, error ", why, ": ", why));
  }
  // As authfile_load: fgets lines of at most 255 bytes (the rest of a
  // longer line is read as the next line), each needing a ':'; the
  // password ends at \r, \n or the line's end; at most 8 entries.
  constexpr int kMaxEntryLen = 256;
  constexpr size_t kMaxEntries = 8;
  std::vector<std::pair<std::string, std::string>> entries;
  char line[kMaxEntryLen];
  bool malformed = false;
  while (entries.size() < kMaxEntries && std::fgets(line, kMaxEntryLen, file) != nullptr) {
    const std::string_view text(line, std::strlen(line));
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos) {
      malformed = true;
      break;
    }
    std::string_view password = text.substr(colon + 1);
    password = password.substr(0, password.find_first_of("\r\n"));
    entries.emplace_back(std::string(text.substr(0, colon)), std::string(password));
  }
  std::fclose(file);
  if (malformed) {
    return absl::InvalidArgumentError(
        absl::StrCat("Authfile [", path, "] has a malformed entry. Should be 'user:password'"));
  }
  return FromEntries(std::move(entries));
}

absl::StatusOr<MemcacheAuthFile> MemcacheAuthFile::LoadSaslPwdb(const std::string& path) {
  FILE* file = path.empty() ? nullptr : std::fopen(path.c_str(), "r");
  if (file == nullptr) {
    return absl::NotFoundError(absl::StrCat("Could not open the SASL password file [", path,
                                            "]: ", std::strerror(path.empty() ? ENOENT : errno)));
  }
  // As sasl_server_userdb_checkpass: fgets lines of at most 255 bytes; the
  // password ends at ':', \r, \n or the line's end.
  constexpr int kMaxEntryLen = 256;
  std::vector<std::pair<std::string, std::string>> entries;
  char line[kMaxEntryLen];
  while (std::fgets(line, kMaxEntryLen, file) != nullptr) {
    const std::string_view text(line, std::strlen(line));
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view user = text.substr(0, colon);
    std::string_view password = text.substr(colon + 1);
    password = password.substr(0, password.find_first_of(":\r\n"));
    const bool seen = std::any_of(entries.begin(), entries.end(),
                                  [&](const auto& entry) { return entry.first == user; });
    if (!seen) entries.emplace_back(std::string(user), std::string(password));
  }
  const bool read_error = std::ferror(file) != 0;
  std::fclose(file);
  if (read_error) {
    return absl::InternalError(absl::StrCat("reading the SASL password file [", path, "] failed"));
  }
  return FromEntries(std::move(entries));
}

MemcacheAuthFile MemcacheAuthFile::FromEntries(
    std::vector<std::pair<std::string, std::string>> entries) {
  MemcacheAuthFile file;
  file.entries_ = std::move(entries);
  return file;
}

bool MemcacheAuthFile::Check(std::string_view user, std::string_view password) const {
  bool found = false;
  for (const auto& [u, p] : entries_) {
    // Every entry is compared, so the time does not tell which matched.
    const bool user_matches = EqualInConstantTime(user, u);
    const bool password_matches = EqualInConstantTime(password, p);
    found |= user_matches && password_matches;
  }
  return found;
}

MemcacheAuthStep MemcacheAuthState::Feed(std::string_view input, const MemcacheAuthFile& file) {
  MemcacheAuthStep step;
  size_t used = 0;
  if (!have_line_) {
    if (input.size() < 2) return step;  // "impossible for the auth command to be this short"
    const size_t newline = input.find('\n');
    if (newline == std::string_view::npos) {
      if (input.size() > kMaxAuthLine) step.kind = MemcacheAuthStep::kClose;
      return step;
    }
    // The \r stays in the last token, as in memcached (strtoul stops at it).
    const std::vector<std::string_view> tokens = Tokenize(input.substr(0, newline));
    used = newline + 1;
    uint32_t size = 0;
    if (tokens.size() < 5 || tokens[0] != "set" || !SafeStrtoul(tokens[4], &size)) {
      return {MemcacheAuthStep::kReply, used, kMemcacheUnauthenticated};
    }
    if (size_t{size} + 2 > kMaxAuthPayload) return {MemcacheAuthStep::kClose, used, {}};
    payload_ = size_t{size} + 2;
    have_line_ = true;
  }
  const std::string_view rest = input.substr(used);
  if (rest.size() < payload_) return {MemcacheAuthStep::kNeedMore, used, {}};
  const std::string_view payload = rest.substr(0, payload_);
  used += payload_;
  have_line_ = false;
  if (payload.substr(payload.size() - 2) != "\r\n") {
    return {MemcacheAuthStep::kReply, used, kMemcacheBadAuthTermination};
  }
  const std::vector<std::string_view> tokens = Tokenize(payload.substr(0, payload.size() - 2));
  if (tokens.size() < 2) return {MemcacheAuthStep::kReply, used, kMemcacheBadAuthFormat};
  if (!file.Check(tokens[0], tokens[1])) {
    return {MemcacheAuthStep::kReply, used, kMemcacheAuthFailure};
  }
  return {MemcacheAuthStep::kAuthenticated, used, "STORED\r\n"};
}

MemcacheSaslState::Result MemcacheSaslState::Check(std::string_view response,
                                                   const MemcacheAuthFile& users) {
  // Cyrus's PLAIN: authzid NUL authcid NUL password, nothing after; the
  // authcid must be someone, and the authzid (if any) that same someone.
  const size_t first = response.find('\0');
  if (first == std::string_view::npos) return Result::kFailed;
  const size_t second = response.find('\0', first + 1);
  if (second == std::string_view::npos) return Result::kFailed;
  const std::string_view authzid = response.substr(0, first);
  const std::string_view authcid = response.substr(first + 1, second - first - 1);
  const std::string_view password = response.substr(second + 1);
  if (password.find('\0') != std::string_view::npos || authcid.empty()) return Result::kFailed;
  if (!authzid.empty() && authzid != authcid) return Result::kFailed;
  return users.Check(authcid, password) ? Result::kOk : Result::kFailed;
}

MemcacheSaslState::Result MemcacheSaslState::Auth(std::string_view mechanism,
                                                  std::string_view response,
                                                  const MemcacheAuthFile& users) {
  // Cyrus matches mechanism names in any case.
  const bool plain = mechanism.size() == kMemcacheSaslMechanisms.size() &&
                     std::equal(mechanism.begin(), mechanism.end(),
                                kMemcacheSaslMechanisms.begin(), [](char a, char b) {
                                  return std::toupper(static_cast<unsigned char>(a)) == b;
                                });
  Result result = Result::kFailed;
  if (plain && response.empty()) {
    // PLAIN wants the client first: "continue", the doneflag untouched.
    started_ = true;
    return Result::kContinue;
  }
  if (plain && !done_) result = Check(response, users);
  started_ = result == Result::kOk;
  // A failed start clears the doneflag (Cyrus's sasl_server_start).
  done_ = result == Result::kOk;
  return result;
}

MemcacheSaslState::Result MemcacheSaslState::Step(std::string_view response,
                                                  const MemcacheAuthFile& users) {
  // A failed step leaves the exchange open: the next may still succeed.
  if (!started_ || done_) return Result::kFailed;
  const Result result = Check(response, users);
  done_ = result == Result::kOk;
  return result;
}

bool IsLoopbackPeer(const sockaddr_storage& peer) {
  if (peer.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(peer);
    return (ntohl(v4.sin_addr.s_addr) >> 24) == 127;
  }
  if (peer.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(peer);
    return IN6_IS_ADDR_LOOPBACK(&v6.sin6_addr);
  }
  return peer.ss_family == AF_UNIX;
}

}  // namespace xdpkv
