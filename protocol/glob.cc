#include "protocol/glob.h"

#include <utility>

namespace xdpkv::resp {
namespace {

// Matches one character `c` against the single-character token at
// pattern[*p] (not a '*'), and moves *p past the token.
bool MatchToken(std::string_view pattern, size_t* p, char c) {
  const size_t n = pattern.size();
  switch (pattern[*p]) {
    case '?':
      ++*p;
      return true;
    case '\\':
      if (*p + 1 < n) {
        *p += 2;
        return pattern[*p - 1] == c;
      }
      ++*p;
      return c == '\\';
    case '[': {
      size_t i = *p + 1;
      const bool negate = i < n && pattern[i] == '^';
      if (negate) ++i;
      bool match = false;
      // As Redis: an unterminated class runs to the end of the pattern.
      while (i < n && pattern[i] != ']') {
        if (pattern[i] == '\\' && i + 1 < n) {
          match |= pattern[i + 1] == c;
          i += 2;
        } else if (i + 2 < n && pattern[i + 1] == '-') {
          auto lo = static_cast<unsigned char>(pattern[i]);
          auto hi = static_cast<unsigned char>(pattern[i + 2]);
          if (lo > hi) std::swap(lo, hi);
          const auto uc = static_cast<unsigned char>(c);
          match |= uc >= lo && uc <= hi;
          i += 3;
        } else {
          match |= pattern[i] == c;
          ++i;
        }
      }
      *p = i < n ? i + 1 : n;
      return match != negate;
    }
    default:
      return pattern[(*p)++] == c;
  }
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Each token but '*' matches exactly one character, so backtracking to
  // the latest '*' is enough (no exponential blow-up on "a*a*a*...b").
  size_t p = 0;
  size_t t = 0;
  size_t star_p = std::string_view::npos;
  size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      while (p < pattern.size() && pattern[p] == '*') ++p;
      star_p = p;
      star_t = t;
      continue;
    }
    size_t next = p;
    if (p < pattern.size() && MatchToken(pattern, &next, text[t])) {
      p = next;
      ++t;
      continue;
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace xdpkv::resp
