#include "protocol/values.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <utility>

namespace xdpkv {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

}  // namespace

std::optional<int64_t> ParseRedisInteger(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  if (text == "0") return 0;
  size_t i = 0;
  const bool negative = text[0] == '-';
  if (negative) ++i;
  if (i >= text.size() || text[i] < '1' || text[i] > '9') return std::nullopt;
  uint64_t magnitude = 0;
  for (; i < text.size(); ++i) {
    if (!IsDigit(text[i])) return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (magnitude > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
    magnitude = magnitude * 10 + digit;
  }
  constexpr uint64_t kMaxPositive = std::numeric_limits<int64_t>::max();
  if (negative) {
    if (magnitude > kMaxPositive + 1) return std::nullopt;
    return static_cast<int64_t>(0 - magnitude);
  }
  if (magnitude > kMaxPositive) return std::nullopt;
  return static_cast<int64_t>(magnitude);
}

std::optional<long double> ParseRedisFloat(std::string_view text) {
  constexpr size_t kMaxChars = 5 * 1024;  // Redis's MAX_LONG_DOUBLE_CHARS
  if (text.empty() || text.size() >= kMaxChars || IsSpace(text[0])) return std::nullopt;
  const std::string copy(text);  // strtold needs a terminator
  char* end = nullptr;
  errno = 0;
  const long double value = std::strtold(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;  // also rejects embedded NULs
  if (errno == ERANGE && (std::isinf(value) || value == 0)) return std::nullopt;
  if (std::isnan(value)) return std::nullopt;
  return value;
}

std::string FormatRedisFloat(long double value) {
  char buffer[5 * 1024];
  int len = std::snprintf(buffer, sizeof(buffer), "%.17Lf", value);
  if (len <= 0 || static_cast<size_t>(len) >= sizeof(buffer)) return "0";
  std::string out(buffer, static_cast<size_t>(len));
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  if (out == "-0") out = "0";
  return out;
}

std::optional<uint64_t> ParseMemcacheCounter(std::string_view value) {
  size_t i = 0;
  while (i < value.size() && IsSpace(value[i])) ++i;
  if (i < value.size() && value[i] == '+') ++i;
  const size_t digits_start = i;
  uint64_t n = 0;
  for (; i < value.size() && IsDigit(value[i]); ++i) {
    const uint64_t digit = static_cast<uint64_t>(value[i] - '0');
    if (n > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
    n = n * 10 + digit;
  }
  if (value.empty() || i == digits_start) return std::nullopt;
  if (i < value.size() && !IsSpace(value[i])) return std::nullopt;
  return n;
}

std::optional<uint64_t> ParseRedisMemory(std::string_view text) {
  if (!text.empty() && text[0] == '-') return std::nullopt;
  size_t digits = 0;
  while (digits < text.size() && IsDigit(text[digits])) ++digits;
  std::string unit;
  for (char c : text.substr(digits)) unit.push_back(static_cast<char>(c | 0x20));
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1},          {"b", 1},          {"k", 1000},       {"kb", 1024},
      {"m", 1000000},   {"mb", 1 << 20},   {"g", 1000000000}, {"gb", uint64_t{1} << 30},
  };
  const auto* scale = std::find_if(std::begin(kUnits), std::end(kUnits),
                                   [&](const auto& u) { return unit == u.first; });
  if (scale == std::end(kUnits)) return std::nullopt;  // (| 0x20 folds letters only)
  if (digits >= 128) return std::nullopt;
  uint64_t value = 0;
  for (char c : text.substr(0, digits)) {
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return UINT64_MAX;
    value = value * 10 + digit;
  }
  if (value > UINT64_MAX / scale->second) return UINT64_MAX;
  return value * scale->second;
}

std::optional<uint64_t> ParseMemoryAmount(std::string_view text) {
  if (text.empty() || !IsDigit(text[0])) return std::nullopt;
  size_t digits = 0;
  while (digits < text.size() && IsDigit(text[digits])) ++digits;
  if (digits > 19) return std::nullopt;
  const auto bytes = ParseRedisMemory(text);
  if (!bytes || *bytes == UINT64_MAX) return std::nullopt;
  return bytes;
}

}  // namespace xdpkv
