// Helpers shared by the RDB module's tests: whole files from a body, a
// reader run to the end, the files in fuzz_corpus/.
#ifndef XDPKV_PROXY_RDB_RDB_TEST_UTIL_H_
#define XDPKV_PROXY_RDB_RDB_TEST_UTIL_H_

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/rdb/crc64.h"
#include "proxy/rdb/rdb_reader.h"

namespace xdpkv::rdb {

struct Read {
  std::vector<std::pair<std::string, std::string>> aux;
  std::vector<Entry> keys;
  ReadStats stats;
  absl::Status status;
};

inline Read ReadAll(std::string_view data, ReaderOptions options = {}) {
  MemorySource source(data);
  Reader reader(&source, options);
  Read read;
  for (int i = 0; i < 1'000'000; ++i) {
    Event event;
    auto kind = reader.Next(&event);
    if (!kind.ok()) {
      read.status = kind.status();
      break;
    }
    if (*kind == Event::kEnd) break;
    if (*kind == Event::kAux) read.aux.emplace_back(event.aux_key, event.aux_value);
    if (*kind == Event::kKey) read.keys.push_back(std::move(event.entry));
  }
  read.stats = reader.stats();
  return read;
}

inline std::string StringOf(const Entry& entry) {
  const auto* s = std::get_if<StringValue>(&entry.value);
  return s == nullptr ? "<not a string>" : s->value;
}

// A valid file of `body` (after the header), with EOF and its CRC.
inline std::string File(std::string_view body, std::string_view version = "0010") {
  std::string file = "REDIS" + std::string(version) + std::string(body) + "\xff";
  const uint64_t crc = Crc64(0, file.data(), file.size());
  for (int i = 0; i < 8; ++i) file.push_back(static_cast<char>(crc >> (8 * i)));
  return file;
}

// A file of fuzz_corpus/ ("" if it cannot be read).
inline std::string CorpusFile(std::string_view name) {
  std::ifstream in(std::string(XDPKV_RDB_CORPUS_DIR) + "/" + std::string(name), std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace xdpkv::rdb

#endif  // XDPKV_PROXY_RDB_RDB_TEST_UTIL_H_
