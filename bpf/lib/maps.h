/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The store maps, the counters and the globals userspace shares with the
 * programs (configuration, the CAS counter, the clock offset). Defined once
 * for the whole object, so every program sees the same maps.
 */
#ifndef XDPKV_LIB_MAPS_H
#define XDPKV_LIB_MAPS_H

#include "lib/common.h"

const volatile struct xdpkv_config config = {
	.memcache_udp_port = 11211,
	.resp_udp_port = 6379,
	.cas_enabled = 1,
	.max_value_len = XDPKV_MAX_VALUE_LEN,
};

/* Next CAS unique. Userspace seeds it above anything already stored and
 * takes its own values from it too (the .bss map is mmapped). */
__u64 xdpkv_next_cas = 1;
/* CLOCK_REALTIME minus CLOCK_BOOTTIME in ms, kept current by userspace, to
 * turn memcached's absolute exptimes into boot-time milliseconds. */
__s64 xdpkv_unix_minus_boot_ms = 0;
/* The store's memory against its limit (xdpkv_layout.h); userspace fills
 * the costs and the limit before attaching, and keeps used_bytes too. */
struct xdpkv_memory xdpkv_memory = {};

#define ITEM_MAP(name, key_type)                           \
	struct {                                           \
		__uint(type, BPF_MAP_TYPE_HASH);           \
		__uint(map_flags, BPF_F_NO_PREALLOC);      \
		__uint(max_entries, 1 << 20);              \
		__type(key, key_type);                     \
		__type(value, struct xdpkv_item);          \
	} name SEC(".maps")

ITEM_MAP(xdpkv_items_k16, struct xdpkv_key16);
ITEM_MAP(xdpkv_items_k64, struct xdpkv_key64);
ITEM_MAP(xdpkv_items_k256, struct xdpkv_key256);

/* Out-of-line values: userspace's (see xdpkv_layout.h); defined here so
 * they are created, pinned and found like the item maps. The value type
 * names the blob header, so the object's BTF carries its layout (checked
 * against C++'s in proxy/xdp_loader_test.cc). */
#define BLOB_MAP(name, class_shift)                                              \
	struct name##_value {                                                    \
		struct xdpkv_blob_header header;                                 \
		__u8 value[1 << (class_shift)];                                  \
	};                                                                       \
	_Static_assert(sizeof(struct name##_value) ==                            \
			       sizeof(struct xdpkv_blob_header) + (1 << (class_shift)), \
		       "no padding after the value");                            \
	struct {                                                                 \
		__uint(type, BPF_MAP_TYPE_HASH);                                 \
		__uint(map_flags, BPF_F_NO_PREALLOC);                            \
		__uint(max_entries, 1 << 16);                                    \
		__type(key, __u64);                                              \
		__type(value, struct name##_value);                              \
	} name SEC(".maps")

BLOB_MAP(xdpkv_blobs_256, 8);
BLOB_MAP(xdpkv_blobs_512, 9);
BLOB_MAP(xdpkv_blobs_1k, 10);
BLOB_MAP(xdpkv_blobs_2k, 11);
BLOB_MAP(xdpkv_blobs_4k, 12);
BLOB_MAP(xdpkv_blobs_8k, 13);
BLOB_MAP(xdpkv_blobs_16k, 14);
BLOB_MAP(xdpkv_blobs_32k, 15);
BLOB_MAP(xdpkv_blobs_64k, 16);

/* Values over 64 KiB, in chunks (xdpkv_layout.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 17); /* no -m: 8 GiB of values */
	__type(key, struct xdpkv_chunk_key);
	__type(value, struct xdpkv_chunk);
} xdpkv_blobs_chunked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpkv_counters);
} xdpkv_stats SEC(".maps");

#endif /* XDPKV_LIB_MAPS_H */
