// Redis's compact encodings, each stored in an RDB file as one string:
// ziplist (lists, hashes and sorted sets before Redis 7, quicklist v1
// nodes), listpack (Redis 7's hashes, sorted sets, quicklist v2 nodes;
// Redis 7.2's sets), intset (sets of integers) and zipmap (hashes before
// Redis 2.6). Pure functions over the blob's bytes.
//
// Each decoder checks the whole blob as Redis's deep integrity check does
// (the header's byte count, every entry inside the blob, each ziplist
// entry's link to the one before, each listpack entry's back length, the
// terminator, the header's element count, an intset's order) and hands
// `emit` each element in order as it goes, integers as their decimal text
// (as Redis's commands show them); after an error, what was emitted is to
// be dropped. A zipmap's elements are its fields and values, alternately.
#ifndef XDPKV_PROXY_RDB_COMPACT_ENCODINGS_H_
#define XDPKV_PROXY_RDB_COMPACT_ENCODINGS_H_

#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"

namespace xdpkv::rdb {

using ElementFn = absl::FunctionRef<void(std::string_view element)>;

// InvalidArgument, naming the encoding and what is wrong, for a blob that
// is not a valid encoding.
absl::Status DecodeZiplist(std::string_view blob, ElementFn emit);
absl::Status DecodeListpack(std::string_view blob, ElementFn emit);
// Redis refuses an empty intset (intsetValidateIntegrity); so does this.
absl::Status DecodeIntset(std::string_view blob, ElementFn emit);
absl::Status DecodeZipmap(std::string_view blob, ElementFn emit);

}  // namespace xdpkv::rdb

#endif  // XDPKV_PROXY_RDB_COMPACT_ENCODINGS_H_
