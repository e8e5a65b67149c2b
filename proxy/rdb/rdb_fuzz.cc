// libFuzzer target for the RDB reader (proxy/rdb/). Checks, on every input:
//  - the reader never crashes, never allocates past its string limit, and
//    ends (every event consumes bytes);
//  - a file it reads whole, written again with the writer (its strings and
//    collections of every encoding, in the writer's plain ones, expiries
//    and auxiliary fields), reads back to the same entries: the writer and
//    the reader agree on everything the reader produces;
//  - DecodeItemMeta on an auxiliary value either refuses it or gives
//    entries that, encoded again, decode to the same entries.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "proxy/rdb/item_meta.h"
#include "proxy/rdb/rdb_reader.h"
#include "proxy/rdb/rdb_writer.h"

namespace rdb = xdpkv::rdb;

static void Check(bool ok) {
  if (!ok) std::abort();
}

namespace {

struct Parsed {
  bool ok = false;
  std::vector<std::pair<std::string, std::string>> aux;
  std::vector<rdb::Entry> keys;
};

Parsed ReadAll(std::string_view data) {
  rdb::MemorySource source(data);
  rdb::Reader reader(&source, {.max_string_bytes = 1 << 20, .max_collection_bytes = 1 << 20});
  Parsed parsed;
  for (size_t events = 0; events <= data.size() + 1; ++events) {
    rdb::Event event;
    auto kind = reader.Next(&event);
    if (!kind.ok()) return parsed;
    if (*kind == rdb::Event::kEnd) {
      parsed.ok = true;
      return parsed;
    }
    if (*kind == rdb::Event::kAux) parsed.aux.emplace_back(event.aux_key, event.aux_value);
    if (*kind == rdb::Event::kKey) parsed.keys.push_back(std::move(event.entry));
  }
  std::abort();  // more events than bytes: something consumed nothing
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const Parsed first = ReadAll(input);
  for (const auto& [key, value] : first.aux) {
    if (key != rdb::kItemMetaAux) continue;
    // Not every accepted encoding is the one the writer makes (a base
    // below the smallest CAS, longer varints), but the entries survive.
    auto meta = rdb::DecodeItemMeta(value);
    if (!meta.ok()) continue;
    auto again = rdb::DecodeItemMeta(rdb::EncodeItemMeta(*meta));
    Check(again.ok() && *again == *meta);
  }
  if (!first.ok) return 0;

  rdb::StringSink sink;
  rdb::Writer writer(&sink, {.compress = size % 2 == 0});
  Check(writer.Header().ok());
  for (const auto& [key, value] : first.aux) Check(writer.Aux(key, value).ok());
  uint64_t db = UINT64_MAX;
  std::vector<const rdb::Entry*> written;
  for (const rdb::Entry& entry : first.keys) {
    if (std::holds_alternative<rdb::Skipped>(entry.value) ||
        std::holds_alternative<rdb::Oversized>(entry.value)) {
      continue;
    }
    if (entry.db != db) Check(writer.SelectDb(db = entry.db).ok());
    const std::string_view key = entry.key;
    const int64_t expire = entry.expire_ms;
    const absl::Status status = std::visit(
        [&](const auto& v) -> absl::Status {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, rdb::StringValue>)
            return writer.String(key, v.value, expire);
          if constexpr (std::is_same_v<V, rdb::HashValue>)
            return writer.Hash(key, v.fields, expire);
          if constexpr (std::is_same_v<V, rdb::ListValue>)
            return writer.List(key, v.elements, expire);
          if constexpr (std::is_same_v<V, rdb::SetValue>) return writer.Set(key, v.members, expire);
          if constexpr (std::is_same_v<V, rdb::ZsetValue>)
            return writer.Zset(key, v.entries, expire);
          return absl::InternalError("not written");
        },
        entry.value);
    Check(status.ok());
    written.push_back(&entry);
  }
  Check(writer.Finish().ok());
  const Parsed second = ReadAll(sink.data);
  Check(second.ok);
  Check(second.aux == first.aux);
  Check(second.keys.size() == written.size());
  for (size_t i = 0; i < written.size(); ++i) {
    Check(second.keys[i].db == written[i]->db);
    Check(second.keys[i].key == written[i]->key);
    Check(second.keys[i].expire_ms == written[i]->expire_ms);
    Check(second.keys[i].value == written[i]->value);
  }
  return 0;
}
