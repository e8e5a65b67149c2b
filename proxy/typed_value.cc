#include "proxy/typed_value.h"

#include <cstdint>
#include <cstring>

namespace xdpkv {
namespace {

void PutLength(std::string* out, size_t n) {
  const uint32_t v = static_cast<uint32_t>(n);
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads one length-prefixed string at *pos; false if it runs past the end.
bool GetString(std::string_view bytes, size_t* pos, std::string* out) {
  if (bytes.size() - *pos < 4) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) {
    n |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[*pos + i])) << (8 * i);
  }
  *pos += 4;
  if (bytes.size() - *pos < n) return false;
  out->assign(bytes.substr(*pos, n));
  *pos += n;
  return true;
}

}  // namespace

std::optional<HashValue> HashValue::Decode(std::string_view bytes) {
  HashValue hash;
  size_t pos = 0;
  while (pos < bytes.size()) {
    Field field;
    if (!GetString(bytes, &pos, &field.first) || !GetString(bytes, &pos, &field.second)) {
      return std::nullopt;
    }
    hash.fields_.push_back(std::move(field));
  }
  return hash;
}

std::string HashValue::Encode() const {
  size_t total = 0;
  for (const auto& [field, value] : fields_) total += 8 + field.size() + value.size();
  std::string out;
  out.reserve(total);
  for (const auto& [field, value] : fields_) {
    PutLength(&out, field.size());
    out.append(field);
    PutLength(&out, value.size());
    out.append(value);
  }
  return out;
}

const std::string* HashValue::Find(std::string_view field) const {
  for (const auto& [name, value] : fields_) {
    if (name == field) return &value;
  }
  return nullptr;
}

bool HashValue::Set(std::string_view field, std::string_view value) {
  for (auto& [name, current] : fields_) {
    if (name == field) {
      current.assign(value);
      return false;
    }
  }
  fields_.emplace_back(std::string(field), std::string(value));
  return true;
}

bool HashValue::Erase(std::string_view field) {
  for (auto it = fields_.begin(); it != fields_.end(); ++it) {
    if (it->first == field) {
      fields_.erase(it);
      return true;
    }
  }
  return false;
}

}  // namespace xdpkv
