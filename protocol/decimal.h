// Appends integers in decimal without going through streams or printf.
// (Debian's Abseil predates std::string_view interop, so StrCat is not used
// on protocol paths that work in std::string_view.)
#ifndef XDPKV_PROTOCOL_DECIMAL_H_
#define XDPKV_PROTOCOL_DECIMAL_H_

#include <charconv>
#include <concepts>
#include <string>

namespace xdpkv {

template <std::integral T>
void AppendDecimal(std::string* out, T value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, end);
}

}  // namespace xdpkv

#endif  // XDPKV_PROTOCOL_DECIMAL_H_
