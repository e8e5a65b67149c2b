// Redis's glob-style patterns (KEYS, SCAN MATCH), matched as Redis's
// stringmatchlen does: * ? [abc] [^abc] [a-z] and \ escapes; binary safe.
#ifndef XDPKV_PROTOCOL_GLOB_H_
#define XDPKV_PROTOCOL_GLOB_H_

#include <string_view>

namespace xdpkv::resp {

bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace xdpkv::resp

#endif  // XDPKV_PROTOCOL_GLOB_H_
