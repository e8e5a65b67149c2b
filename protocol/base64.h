// Base64 as memcached 1.6.18's meta commands use it for binary keys (the
// `b` flag): decoding skips characters outside the alphabet and wants the
// rest in whole blocks of four, '=' padding ending the input; encoding is
// the standard alphabet with padding, on one line.
#ifndef XDPKV_PROTOCOL_BASE64_H_
#define XDPKV_PROTOCOL_BASE64_H_

#include <optional>
#include <string>
#include <string_view>

namespace xdpkv {

// nullopt where memcached's base64_decode fails (returns 0): no data, a
// partial block, bad padding, or nothing decoded.
std::optional<std::string> Base64Decode(std::string_view encoded);
std::string Base64Encode(std::string_view data);

}  // namespace xdpkv

#endif  // XDPKV_PROTOCOL_BASE64_H_
