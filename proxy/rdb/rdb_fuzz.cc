// libFuzzer target for the RDB reader (proxy/rdb/). Checks, on every input:
//  - the reader never crashes, never allocates past its string limit, and
//    ends (every event consumes bytes);
//  - a file it reads whole, written again with the writer (its strings,
//    expiries and auxiliary fields), reads back to the same entries: the
//    writer and the reader agree on everything the reader produces;
//  - DecodeItemMeta on an auxiliary value either refuses it or gives
//    entries that, encoded again, decode to the same entries.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
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
  rdb::Reader reader(&source, {.max_string_bytes = 1 << 20});
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
  std::vector<const rdb::Entry*> strings;
  for (const rdb::Entry& entry : first.keys) {
    const auto* s = std::get_if<rdb::StringValue>(&entry.value);
    if (s == nullptr) continue;
    if (entry.db != db) Check(writer.SelectDb(db = entry.db).ok());
    Check(writer.String(entry.key, s->value, entry.expire_ms).ok());
    strings.push_back(&entry);
  }
  Check(writer.Finish().ok());
  const Parsed second = ReadAll(sink.data);
  Check(second.ok);
  Check(second.aux == first.aux);
  Check(second.keys.size() == strings.size());
  for (size_t i = 0; i < strings.size(); ++i) {
    Check(second.keys[i].db == strings[i]->db);
    Check(second.keys[i].key == strings[i]->key);
    Check(second.keys[i].expire_ms == strings[i]->expire_ms);
    Check(std::get<rdb::StringValue>(second.keys[i].value).value ==
          std::get<rdb::StringValue>(strings[i]->value).value);
  }
  return 0;
}
