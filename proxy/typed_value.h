// The stored encodings of Redis's types other than strings (the item's
// type says which; docs/architecture.md, "Redis's types"). A value is
// decoded, changed and encoded again whole by one read-modify-write of its
// item (Store::Mutate), which makes every command atomic against every
// other writer, the kernel's included, as Redis's are; the price is O(size)
// per command, as Redis's listpack encoding pays for small collections,
// and the 1 MiB value limit bounds a collection's encoding.
#ifndef XDPKV_PROXY_TYPED_VALUE_H_
#define XDPKV_PROXY_TYPED_VALUE_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xdpkv {

// A hash: its fields in insertion order (the order Redis keeps a small
// hash in, so HGETALL's replies match Redis's for them).
// Encoding: for each field, its length and bytes, then its value's
// (lengths as 4-byte little-endian).
class HashValue {
 public:
  using Field = std::pair<std::string, std::string>;

  // nullopt if `bytes` is not a hash's encoding.
  static std::optional<HashValue> Decode(std::string_view bytes);
  std::string Encode() const;

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  const std::vector<Field>& fields() const { return fields_; }
  // The field's value, or nullptr.
  const std::string* Find(std::string_view field) const;
  // Sets a field; true when it is new (appended), false when replaced in
  // place.
  bool Set(std::string_view field, std::string_view value);
  // True when the field was there.
  bool Erase(std::string_view field);

 private:
  std::vector<Field> fields_;
};

}  // namespace xdpkv

#endif  // XDPKV_PROXY_TYPED_VALUE_H_
