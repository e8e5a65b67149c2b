#include "protocol/base64.h"

#include <array>
#include <cstdint>

namespace xdpkv {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint8_t kSkip = 0x80;  // not of the alphabet: skipped, as memcached does

constexpr std::array<uint8_t, 256> DecodeTable() {
  std::array<uint8_t, 256> table{};
  for (auto& entry : table) entry = kSkip;
  for (uint8_t i = 0; i < 64; ++i) table[static_cast<uint8_t>(kAlphabet[i])] = i;
  table['='] = 0;
  return table;
}
constexpr std::array<uint8_t, 256> kDecode = DecodeTable();

}  // namespace

std::optional<std::string> Base64Decode(std::string_view encoded) {
  size_t count = 0;
  for (unsigned char c : encoded) count += kDecode[c] != kSkip;
  if (count == 0 || count % 4 != 0) return std::nullopt;
  std::string out;
  uint8_t block[4];
  size_t in_block = 0, pad = 0;
  for (unsigned char c : encoded) {
    const uint8_t value = kDecode[c];
    if (value == kSkip) continue;
    if (c == '=') ++pad;
    block[in_block++] = value;
    if (in_block < 4) continue;
    out.push_back(static_cast<char>((block[0] << 2) | (block[1] >> 4)));
    out.push_back(static_cast<char>((block[1] << 4) | (block[2] >> 2)));
    out.push_back(static_cast<char>((block[2] << 6) | block[3]));
    in_block = 0;
    if (pad > 0) {
      // Padding ends the data: what follows is not read.
      if (pad > 2) return std::nullopt;
      out.resize(out.size() - pad);
      break;
    }
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::string Base64Encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const uint32_t n = (static_cast<uint8_t>(data[i]) << 16) |
                       (static_cast<uint8_t>(data[i + 1]) << 8) | static_cast<uint8_t>(data[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  if (i < data.size()) {
    uint32_t n = static_cast<uint8_t>(data[i]) << 16;
    if (i + 1 < data.size()) n |= static_cast<uint8_t>(data[i + 1]) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < data.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace xdpkv
