// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpkv's XDP fast path: single-key GET/SET/DELETE over UDP, answered from
 * the store maps with XDP_TX; everything else XDP_PASSes to the userspace
 * server, which serves the same maps (docs/architecture.md).
 *
 * Contract of this file:
 *  - Headers are read through pointers checked against data_end first.
 *  - The UDP payload (up to XDPKV_REQ_PEEK bytes) is copied into per-CPU
 *    scratch and parsed there: every index into scratch is masked to its
 *    buffer, every loop has a named bound.
 *  - Items are read by copying under the item's spin lock and written with
 *    BPF_F_LOCK (see xdpkv_layout.h), never modified through a pointer.
 *  - Every exit is counted under (protocol, reason) in xdpkv_stats.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdpkv_layout.h"

#define XDPKV_REQ_PEEK 512   /* request bytes the kernel path parses */
#define XDPKV_REPLY_MAX 512  /* reply payload the kernel path builds */
#define BUF_MASK 511         /* both buffers are 512 bytes... */
#define BUF_SLACK 8          /* ...plus room for one word read or written at any index */
#define FRAME_HEADER_LEN 8
#define MAX_DIGITS 20
#define ETH_IPV4_UDP_LEN (14 + 20 + 8)
#define ETH_IPV6_UDP_LEN (14 + 40 + 8)
#define HDRS_MAX 64
#define NS_PER_MS 1000000ULL

/* Keeps clang from turning a byte loop into memcpy/memmove, which BPF
 * cannot lower for variable lengths. */
#define NO_MEMCPY_IDIOM() asm volatile("" ::: "memory")

/* A mask the compiler cannot drop: it may know a bound the verifier lost. */
#define VERIFIER_MASK(var, mask) asm volatile("%[v] &= %[m]" : [v] "+r"(var) : [m] "i"(mask))

#define ENOMEM 12
#define E2BIG 7
#define EEXIST 17

const volatile struct xdpkv_config config = {
	.memcache_udp_port = 11211,
	.resp_udp_port = 6379,
};

/* Next CAS unique. Userspace seeds it above anything already stored and
 * takes its own values from it too (the .bss map is mmapped). */
__u64 xdpkv_next_cas = 1;
/* CLOCK_REALTIME minus CLOCK_BOOTTIME in ms, kept current by userspace, to
 * turn memcached's absolute exptimes into boot-time milliseconds. */
__s64 xdpkv_unix_minus_boot_ms = 0;

#define ITEM_MAP(name, key_type)                           \
	struct {                                           \
		__uint(type, BPF_MAP_TYPE_HASH);           \
		__uint(map_flags, BPF_F_NO_PREALLOC);      \
		__uint(max_entries, 1 << 20);              \
		__type(key, key_type);                     \
		__type(value, struct xdpkv_item);          \
	} name SEC(".maps")

ITEM_MAP(xdpkv_items_k16, struct xdpkv_key16);
ITEM_MAP(xdpkv_items_k32, struct xdpkv_key32);
ITEM_MAP(xdpkv_items_k64, struct xdpkv_key64);
ITEM_MAP(xdpkv_items_k128, struct xdpkv_key128);
ITEM_MAP(xdpkv_items_k256, struct xdpkv_key256);

/* Out-of-line values: userspace's (see xdpkv_layout.h); defined here so
 * they are created, pinned and found like the item maps. */
#define BLOB_MAP(name, class_shift)                                              \
	struct {                                                                 \
		__uint(type, BPF_MAP_TYPE_HASH);                                 \
		__uint(map_flags, BPF_F_NO_PREALLOC);                            \
		__uint(max_entries, 1 << 16);                                    \
		__uint(key_size, sizeof(__u64));                                 \
		__uint(value_size, sizeof(struct xdpkv_blob_header) + (1 << (class_shift))); \
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
BLOB_MAP(xdpkv_blobs_128k, 17);
BLOB_MAP(xdpkv_blobs_256k, 18);
BLOB_MAP(xdpkv_blobs_512k, 19);
BLOB_MAP(xdpkv_blobs_1m, 20);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpkv_counters);
} xdpkv_stats SEC(".maps");

enum op { OP_GET, OP_GETS, OP_SET, OP_DELETE };

/* What a parsed request asks for. Offsets index scratch->req. */
struct request {
	__u32 proto; /* enum xdpkv_proto */
	__u32 op;    /* enum op */
	__u32 key_off;
	__u32 key_len;
	__u32 value_off;
	__u32 value_len;
	__u32 flags;
	__s32 exptime;
	__u32 noreply;
	__u32 opaque;
};

/* Per-CPU working memory: the stack is too small for these. Values that
 * cross a loop live here and are read back through `volatile`: the
 * verifier does not track map memory, so a loop's many exit states merge
 * instead of each being verified to the end of the program. */
struct scratch {
	struct request request;
	__u8 req[XDPKV_REQ_PEEK + BUF_SLACK];
	__u8 reply[XDPKV_REPLY_MAX + BUF_SLACK];
	struct xdpkv_key256 key;
	/* An item without its lock semantics (scratch maps cannot hold
	 * spin locks): the same bytes as struct xdpkv_item. */
	__u8 item[sizeof(struct xdpkv_item)];
	__u8 hdrs[HDRS_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} xdpkv_scratch SEC(".maps");

/* ---- counters ---------------------------------------------------------- */

static __always_inline int finish(enum xdpkv_proto proto, enum xdpkv_reason reason, int verdict)
{
	__u32 zero = 0;
	struct xdpkv_counters *counters = bpf_map_lookup_elem(&xdpkv_stats, &zero);

	if (counters && proto < XDPKV_PROTO_COUNT && reason < XDPKV_REASON_COUNT)
		counters->count[proto][reason]++;
	return verdict;
}

/* ---- parsing helpers over scratch->req -------------------------------- */

typedef volatile struct request vreq;

/* Forgets what the verifier knows about v (see struct scratch). */
static __always_inline __u32 opaque(vreq *req, __u32 v)
{
	req->opaque = v;
	return req->opaque;
}

static __always_inline __u8 at(const __u8 *buf, __u32 i)
{
	return buf[i & BUF_MASK];
}

/* Case-sensitive match of a literal at `pos`; false past `len`. */
static __always_inline int match(const __u8 *buf, __u32 len, __u32 pos, const char *lit, __u32 n)
{
	if (pos + n > len)
		return 0;
	for (__u32 i = 0; i < n; i++)
		if (at(buf, pos + i) != (__u8)lit[i])
			return 0;
	return 1;
}

/* ASCII case-insensitive match against an upper-case literal. */
static __always_inline int match_nocase(const __u8 *buf, __u32 len, __u32 pos, const char *lit,
					__u32 n)
{
	if (pos + n > len)
		return 0;
	for (__u32 i = 0; i < n; i++) {
		__u8 c = at(buf, pos + i);

		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		if (c != (__u8)lit[i])
			return 0;
	}
	return 1;
}

/* Unsigned decimal at *pos (digits only); advances *pos. -1 if no digits,
 * too many digits, or more than `max` (at most 2^32-1). Results come back
 * opaque. */
static __always_inline int parse_uint(vreq *req, const __u8 *buf, __u32 len, __u32 *pos,
				      __u64 max, __u64 *out)
{
	__u64 value = 0;
	__u32 digits = 0;
	__u32 start = *pos;

	for (__u32 i = 0; i < MAX_DIGITS; i++) {
		__u32 p = start + i;
		__u8 c;

		if (p >= len)
			break;
		c = at(buf, p);
		if (c < '0' || c > '9')
			break;
		value = value * 10 + (c - '0');
		digits++;
		if (value > max)
			return -1;
	}
	if (digits == 0 || digits == MAX_DIGITS)
		return -1;
	*pos = opaque(req, start + digits);
	*out = opaque(req, (__u32)value);
	return 0;
}

/* A memcached key at *pos: bytes up to a space or CR, 1..250 printable. */
static __always_inline int scan_text_key(vreq *req, const __u8 *buf, __u32 len, __u32 *pos)
{
	__u32 start = *pos;
	__u32 n = 0;

	for (__u32 i = 0; i <= XDPKV_MAX_KEY_LEN; i++) {
		__u32 p = start + i;
		__u8 c;

		if (p >= len)
			break;
		c = at(buf, p);
		if (c == ' ' || c == '\r' || c == '\n')
			break;
		if (c < 0x20 || c == 0x7f)
			return -1;
		n++;
	}
	req->key_off = start;
	req->key_len = n;
	n = req->key_len;
	if (n == 0 || n > XDPKV_MAX_KEY_LEN)
		return -1;
	*pos = opaque(req, start + n);
	return 0;
}

/* ---- request parsers ----------------------------------------------------
 * Fill scratch->request and return 0, or return the XDPKV_PASS_* reason.
 */

static __always_inline int parse_memcache(vreq *req, const __u8 *buf, __u32 len)
{
	__u32 pos = FRAME_HEADER_LEN;
	__u64 number;
	__u32 op;

	if (match(buf, len, pos, "get ", 4)) {
		op = OP_GET;
		pos += 4;
	} else if (match(buf, len, pos, "gets ", 5)) {
		op = OP_GETS;
		pos += 5;
	} else if (match(buf, len, pos, "set ", 4)) {
		op = OP_SET;
		pos += 4;
	} else if (match(buf, len, pos, "delete ", 7)) {
		op = OP_DELETE;
		pos += 7;
	} else {
		return XDPKV_PASS_UNSUPPORTED;
	}
	req->op = op;
	pos = opaque(req, pos);
	if (scan_text_key(req, buf, len, &pos))
		return XDPKV_PASS_BAD_REQUEST;

	if (op == OP_SET) {
		if (!match(buf, len, pos, " ", 1))
			return XDPKV_PASS_BAD_REQUEST;
		pos++;
		if (parse_uint(req, buf, len, &pos, 0xffffffffULL, &number))
			return XDPKV_PASS_BAD_REQUEST;
		req->flags = (__u32)number;
		if (!match(buf, len, pos, " ", 1))
			return XDPKV_PASS_BAD_REQUEST;
		pos++;
		if (match(buf, len, pos, "-", 1)) {
			pos++;
			if (parse_uint(req, buf, len, &pos, 0x80000000ULL, &number))
				return XDPKV_PASS_BAD_REQUEST;
			req->exptime = -(__s32)(__u32)number;
		} else {
			if (parse_uint(req, buf, len, &pos, 0x7fffffffULL, &number))
				return XDPKV_PASS_BAD_REQUEST;
			req->exptime = (__s32)number;
		}
		if (!match(buf, len, pos, " ", 1))
			return XDPKV_PASS_BAD_REQUEST;
		pos++;
		if (parse_uint(req, buf, len, &pos, 0x7fffffffULL, &number))
			return XDPKV_PASS_BAD_REQUEST;
		if (number > XDPKV_INLINE_VALUE_MAX)
			return XDPKV_PASS_BIG_VALUE;
		req->value_len = (__u32)number;
	}
	if (op == OP_SET || op == OP_DELETE) {
		if (match(buf, len, pos, " noreply", 8)) {
			req->noreply = 1;
			pos += 8;
		}
	}
	if (!match(buf, len, pos, "\r\n", 2)) {
		/* "get a b": several keys are userspace's job. */
		if ((op == OP_GET || op == OP_GETS) && match(buf, len, pos, " ", 1))
			return XDPKV_PASS_UNSUPPORTED;
		return XDPKV_PASS_BAD_REQUEST;
	}
	pos += 2;
	if (op == OP_SET) {
		req->value_off = pos;
		pos = opaque(req, pos + req->value_len);
		if (!match(buf, len, pos, "\r\n", 2))
			return XDPKV_PASS_BAD_REQUEST;
		pos += 2;
	}
	/* One command per datagram on the fast path. */
	if (pos != len)
		return XDPKV_PASS_UNSUPPORTED;
	return 0;
}

/* "$<n>\r\n<bytes>\r\n" at *pos, at most `max` bytes: offset and length
 * go to *off and *n (fields of the request). */
static __always_inline int parse_bulk(vreq *req, const __u8 *buf, __u32 len, __u32 *pos,
				      __u32 max, volatile __u32 *off, volatile __u32 *n)
{
	__u64 number;
	__u32 p = *pos;

	if (!match(buf, len, p, "$", 1))
		return XDPKV_PASS_BAD_REQUEST;
	p += 1;
	/* Redis refuses leading zeros ("$03"): leave the error to userspace. */
	if (at(buf, p) == '0' && p + 1 < len && at(buf, p + 1) != '\r')
		return XDPKV_PASS_BAD_REQUEST;
	if (parse_uint(req, buf, len, &p, 0x7fffffffULL, &number))
		return XDPKV_PASS_BAD_REQUEST;
	if (!match(buf, len, p, "\r\n", 2))
		return XDPKV_PASS_BAD_REQUEST;
	p += 2;
	if (number > max)
		return XDPKV_PASS_BIG_VALUE;
	*off = p;
	*n = (__u32)number;
	p = opaque(req, p + *n);
	if (!match(buf, len, p, "\r\n", 2))
		return XDPKV_PASS_BAD_REQUEST;
	*pos = p + 2;
	return 0;
}

static __always_inline int parse_resp(vreq *req, const __u8 *buf, __u32 len)
{
	__u32 pos = FRAME_HEADER_LEN;
	int err;

	if (match(buf, len, pos, "*2\r\n$3\r\n", 8)) {
		pos += 8;
		if (match_nocase(buf, len, pos, "GET\r\n", 5))
			req->op = OP_GET;
		else if (match_nocase(buf, len, pos, "DEL\r\n", 5))
			req->op = OP_DELETE;
		else
			return XDPKV_PASS_UNSUPPORTED;
	} else if (match(buf, len, pos, "*3\r\n$3\r\n", 8)) {
		pos += 8;
		if (!match_nocase(buf, len, pos, "SET\r\n", 5))
			return XDPKV_PASS_UNSUPPORTED;
		req->op = OP_SET;
	} else {
		return XDPKV_PASS_UNSUPPORTED;
	}
	pos += 5;
	err = parse_bulk(req, buf, len, &pos, XDPKV_MAX_KEY_LEN, &req->key_off, &req->key_len);
	if (err)
		return err == XDPKV_PASS_BIG_VALUE ? XDPKV_PASS_UNSUPPORTED : err;
	if (req->key_len == 0)
		return XDPKV_PASS_UNSUPPORTED;
	if (req->op == OP_SET) {
		err = parse_bulk(req, buf, len, &pos, XDPKV_INLINE_VALUE_MAX, &req->value_off,
				 &req->value_len);
		if (err)
			return err;
	}
	if (pos != len)
		return XDPKV_PASS_UNSUPPORTED;
	return 0;
}

/* ---- the store ----------------------------------------------------------- */

/* Copies the request's key into scratch->key, zero-padded. */
static __always_inline void load_key(struct scratch *s, vreq *req)
{
	__u32 len = req->key_len;

	__builtin_memset(&s->key, 0, sizeof(s->key));
	s->key.len = len;
	for (__u32 i = 0; i < XDPKV_MAX_KEY_LEN; i++) {
		if (i >= len)
			break;
		s->key.bytes[i] = at(s->req, req->key_off + i);
		NO_MEMCPY_IDIOM();
	}
}

static __always_inline struct xdpkv_item *store_lookup(struct scratch *s)
{
	__u32 n = s->key.len;

	if (n <= 16)
		return bpf_map_lookup_elem(&xdpkv_items_k16, &s->key);
	if (n <= 32)
		return bpf_map_lookup_elem(&xdpkv_items_k32, &s->key);
	if (n <= 64)
		return bpf_map_lookup_elem(&xdpkv_items_k64, &s->key);
	if (n <= 128)
		return bpf_map_lookup_elem(&xdpkv_items_k128, &s->key);
	return bpf_map_lookup_elem(&xdpkv_items_k256, &s->key);
}

/* Inserts scratch->item under scratch->key if the key is absent. */
static __always_inline long store_insert(struct scratch *s)
{
	__u32 n = s->key.len;

	if (n <= 16)
		return bpf_map_update_elem(&xdpkv_items_k16, &s->key, s->item, BPF_NOEXIST);
	if (n <= 32)
		return bpf_map_update_elem(&xdpkv_items_k32, &s->key, s->item, BPF_NOEXIST);
	if (n <= 64)
		return bpf_map_update_elem(&xdpkv_items_k64, &s->key, s->item, BPF_NOEXIST);
	if (n <= 128)
		return bpf_map_update_elem(&xdpkv_items_k128, &s->key, s->item, BPF_NOEXIST);
	return bpf_map_update_elem(&xdpkv_items_k256, &s->key, s->item, BPF_NOEXIST);
}

/* Removes the map entry of scratch->key. Only the one who marked the item
 * XDPKV_ITEM_DELETING may call this (see xdpkv_layout.h). */
static __always_inline long store_delete(struct scratch *s)
{
	__u32 n = s->key.len;

	if (n <= 16)
		return bpf_map_delete_elem(&xdpkv_items_k16, &s->key);
	if (n <= 32)
		return bpf_map_delete_elem(&xdpkv_items_k32, &s->key);
	if (n <= 64)
		return bpf_map_delete_elem(&xdpkv_items_k64, &s->key);
	if (n <= 128)
		return bpf_map_delete_elem(&xdpkv_items_k128, &s->key);
	return bpf_map_delete_elem(&xdpkv_items_k256, &s->key);
}

/* Deletes the out-of-line value an item version pointed to (none: id 0).
 * Called once that version is replaced or deleted: nothing points to the
 * blob any more, and a reader that still holds the old item finds it gone
 * and reads the item again. */
static __always_inline void blob_free(__u64 id, __u32 value_len)
{
	if (id == 0)
		return;
	if (value_len <= 256)
		bpf_map_delete_elem(&xdpkv_blobs_256, &id);
	else if (value_len <= 512)
		bpf_map_delete_elem(&xdpkv_blobs_512, &id);
	else if (value_len <= 1024)
		bpf_map_delete_elem(&xdpkv_blobs_1k, &id);
	else if (value_len <= 2048)
		bpf_map_delete_elem(&xdpkv_blobs_2k, &id);
	else if (value_len <= 4096)
		bpf_map_delete_elem(&xdpkv_blobs_4k, &id);
	else if (value_len <= 8192)
		bpf_map_delete_elem(&xdpkv_blobs_8k, &id);
	else if (value_len <= 16384)
		bpf_map_delete_elem(&xdpkv_blobs_16k, &id);
	else if (value_len <= 32768)
		bpf_map_delete_elem(&xdpkv_blobs_32k, &id);
	else if (value_len <= 65536)
		bpf_map_delete_elem(&xdpkv_blobs_64k, &id);
	else if (value_len <= 131072)
		bpf_map_delete_elem(&xdpkv_blobs_128k, &id);
	else if (value_len <= 262144)
		bpf_map_delete_elem(&xdpkv_blobs_256k, &id);
	else if (value_len <= 524288)
		bpf_map_delete_elem(&xdpkv_blobs_512k, &id);
	else
		bpf_map_delete_elem(&xdpkv_blobs_1m, &id);
}

static __always_inline __u64 now_boot_ms(void)
{
	return bpf_ktime_get_boot_ns() / NS_PER_MS;
}

static __always_inline int expired(__u64 expires_at_ms, __u64 now_ms)
{
	return expires_at_ms != 0 && expires_at_ms <= now_ms;
}

/* Copies the item under its lock into scratch->item. */
static __always_inline void copy_item_locked(struct scratch *s, struct xdpkv_item *it)
{
	struct xdpkv_item *copy = (struct xdpkv_item *)s->item;
	__u64 *dst = (__u64 *)copy->inline_value;
	__u64 *src;

	bpf_spin_lock(&it->lock);
	src = (__u64 *)it->inline_value;
	copy->value_len = it->value_len;
	copy->cas = it->cas;
	copy->expires_at_ms = it->expires_at_ms;
	copy->flags = it->flags;
	copy->state = it->state;
	copy->blob_id = it->blob_id;
	for (int i = 0; i < XDPKV_INLINE_VALUE_MAX / 8; i++)
		dst[i] = src[i];
	bpf_spin_unlock(&it->lock);
}

/* What a delete found: the version it removed (for its blob and expiry). */
struct deleted {
	__u64 blob_id;
	__u64 expires_at_ms;
	__u32 value_len;
	__u32 done; /* 1: this call removed the item */
};

/* Deletes the item `it` (scratch->key's entry) if its CAS is `cas`
 * (XDPKV_CAS_ANY: whatever version is there): marks it deleting under its
 * lock, then removes the entry. A writer that lands in between finds the
 * mark and does not write into the doomed entry (see xdpkv_layout.h), so
 * no acknowledged write is ever removed by a delete meant for an older
 * version. Returns 1 if deleted, 0 if it changed (EXISTS), -1 if someone
 * else is deleting it already. */
static __always_inline int delete_version(struct scratch *s, struct xdpkv_item *it, __u64 cas,
					  struct deleted *out)
{
	int result;

	bpf_spin_lock(&it->lock);
	if (it->state & XDPKV_ITEM_DELETING) {
		result = -1;
	} else if (cas != XDPKV_CAS_ANY && it->cas != cas) {
		result = 0;
	} else {
		it->state |= XDPKV_ITEM_DELETING;
		out->blob_id = it->blob_id;
		out->value_len = it->value_len;
		out->expires_at_ms = it->expires_at_ms;
		result = 1;
	}
	bpf_spin_unlock(&it->lock);
	if (result != 1)
		return result;
	store_delete(s);
	blob_free(out->blob_id, out->value_len);
	out->done = 1;
	return 1;
}

/* Outcome of write_item. */
enum write_result {
	WRITE_STORED = 0,
	WRITE_FULL = 1,     /* the map is full */
	WRITE_DELETING = 2, /* the entry is being deleted: try again later */
	WRITE_FAILED = 3,   /* another map error, or lost races twice */
};

/* Stores scratch->item under scratch->key: in place under the entry's
 * lock when there is a live entry, else as a new entry. The version it
 * replaced loses its blob. */
static __always_inline int write_item(struct scratch *s)
{
	struct xdpkv_item *item = (struct xdpkv_item *)s->item;

	for (int attempt = 0; attempt < 2; attempt++) {
		struct xdpkv_item *it = store_lookup(s);
		__u64 old_blob = 0;
		__u32 old_len = 0;
		int deleting = 0;
		long err;

		if (it) {
			__u64 *dst = (__u64 *)it->inline_value;
			__u64 *src = (__u64 *)item->inline_value;

			bpf_spin_lock(&it->lock);
			if (it->state & XDPKV_ITEM_DELETING) {
				deleting = 1;
			} else {
				old_blob = it->blob_id;
				old_len = it->value_len;
				it->value_len = item->value_len;
				it->cas = item->cas;
				it->expires_at_ms = item->expires_at_ms;
				it->flags = item->flags;
				it->blob_id = item->blob_id;
				for (int i = 0; i < XDPKV_INLINE_VALUE_MAX / 8; i++)
					dst[i] = src[i];
			}
			bpf_spin_unlock(&it->lock);
			if (deleting)
				return WRITE_DELETING;
			blob_free(old_blob, old_len);
			return WRITE_STORED;
		}
		item->state = 0;
		err = store_insert(s);
		if (err == 0)
			return WRITE_STORED;
		if (err == -E2BIG || err == -ENOMEM)
			return WRITE_FULL;
		if (err != -EEXIST)
			return WRITE_FAILED;
		/* Someone inserted first: write over theirs. */
	}
	return WRITE_FAILED;
}

/* memcached exptime -> boot-time ms; 0 = never; -1 = already expired. */
static __always_inline __s64 expiry_from_exptime(__s32 exptime, __u64 now_ms)
{
	__s64 at;

	if (exptime == 0)
		return 0;
	if (exptime < 0)
		return -1;
	if (exptime <= XDPKV_REALTIME_MAXDELTA)
		return (__s64)now_ms + (__s64)exptime * 1000;
	at = (__s64)exptime * 1000 - xdpkv_unix_minus_boot_ms;
	if (at <= (__s64)now_ms)
		return -1;
	return at;
}

/* ---- replies -------------------------------------------------------------- */

static __always_inline __u32 put(__u8 *buf, __u32 pos, const char *lit, __u32 n)
{
	for (__u32 i = 0; i < n; i++)
		buf[(pos + i) & BUF_MASK] = lit[i];
	return pos + n;
}

static __always_inline __u32 put_uint(__u8 *buf, __u32 pos, __u64 value)
{
	char digits[MAX_DIGITS];
	__u32 n = 0;

	for (int i = 0; i < MAX_DIGITS; i++) {
		digits[i] = '0' + value % 10;
		value /= 10;
		n++;
		if (value == 0)
			break;
	}
	for (int i = MAX_DIGITS - 1; i >= 0; i--) {
		if ((__u32)i >= n)
			continue;
		buf[pos & BUF_MASK] = digits[i];
		pos++;
	}
	return pos;
}

/* Copies `n` (<= 8 * max_words) bytes from src + src_off into buf at pos, a
 * word at a time. Whole words are written, so up to 7 bytes past pos + n are
 * clobbered (the next put overwrites them; the reply length excludes them).
 * Both buffers have BUF_SLACK bytes after their masked range. */
static __always_inline __u32 put_words(__u8 *buf, __u32 pos, const __u8 *src, __u32 src_off,
				       __u32 n, __u32 max_words)
{
	for (__u32 i = 0; i < max_words; i++) {
		if (i * 8 >= n)
			break;
		*(__u64 *)(buf + ((pos + i * 8) & BUF_MASK)) =
			*(const __u64 *)(src + ((src_off + i * 8) & BUF_MASK));
	}
	return pos + n;
}

static __always_inline __u16 fold_csum(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Turns the request in the packet into a reply carrying scratch->reply's
 * first `reply_len` bytes as its UDP payload, and returns XDP_TX; or counts
 * why it could not and returns XDP_PASS. */
static __always_inline int send_reply(struct xdp_md *ctx, struct scratch *s, int ipv6,
				      __u32 reply_len, enum xdpkv_proto proto,
				      enum xdpkv_reason reason)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 hdr_len = ipv6 ? ETH_IPV6_UDP_LEN : ETH_IPV4_UDP_LEN;
	__s32 old_len = (__s32)(data_end - data);
	__s32 delta;
	struct ethhdr *eth = (void *)s->hdrs;
	struct udphdr *udp;
	__u8 mac[ETH_ALEN];
	__u16 port;

	if (reply_len == 0 || reply_len > XDPKV_REPLY_MAX - 4)
		return finish(proto, XDPKV_PASS_NO_ROOM, XDP_PASS);
	/* [1, XDPKV_REPLY_MAX] as far as the verifier can see, and unchanged. */
	reply_len -= 1;
	VERIFIER_MASK(reply_len, XDPKV_REPLY_MAX - 1);
	reply_len += 1;

	/* Save the request's headers, then size the packet for the reply:
	 * tail growth where the driver left room, else head growth (256
	 * bytes of headroom are guaranteed in native mode). */
	if (ipv6) {
		if (bpf_xdp_load_bytes(ctx, 0, s->hdrs, ETH_IPV6_UDP_LEN))
			return finish(proto, XDPKV_PASS_MALFORMED, XDP_PASS);
	} else {
		if (bpf_xdp_load_bytes(ctx, 0, s->hdrs, ETH_IPV4_UDP_LEN))
			return finish(proto, XDPKV_PASS_MALFORMED, XDP_PASS);
	}
	delta = (__s32)(hdr_len + reply_len) - old_len;
	if (delta > 0) {
		if (bpf_xdp_adjust_tail(ctx, delta) && bpf_xdp_adjust_head(ctx, -delta))
			return finish(proto, XDPKV_PASS_NO_ROOM, XDP_PASS);
	} else if (delta < 0) {
		if (bpf_xdp_adjust_tail(ctx, delta))
			return finish(proto, XDPKV_PASS_NO_ROOM, XDP_PASS);
	}

	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);

	if (ipv6) {
		struct ipv6hdr *ip6 = (void *)(s->hdrs + 14);
		struct in6_addr addr = ip6->saddr;
		__be32 pseudo[2];
		__s64 sum;

		ip6->saddr = ip6->daddr;
		ip6->daddr = addr;
		ip6->payload_len = bpf_htons(8 + reply_len);
		ip6->hop_limit = 64;
		udp = (void *)(s->hdrs + 14 + 40);
		port = udp->source;
		udp->source = udp->dest;
		udp->dest = port;
		udp->len = bpf_htons(8 + reply_len);
		udp->check = 0;
		/* Checksum over pseudo header, UDP header and payload; the
		 * payload is zero-padded to a multiple of 4 for csum_diff. */
		for (__u32 i = 0; i < 3; i++)
			s->reply[(reply_len + i) & BUF_MASK] = 0;
		pseudo[0] = bpf_htonl(8 + reply_len);
		pseudo[1] = bpf_htonl(IPPROTO_UDP);
		sum = bpf_csum_diff(0, 0, (__be32 *)&ip6->saddr, 32, 0);
		sum = bpf_csum_diff(0, 0, pseudo, sizeof(pseudo), sum);
		sum = bpf_csum_diff(0, 0, (__be32 *)udp, 8, sum);
		sum = bpf_csum_diff(0, 0, (__be32 *)s->reply, (reply_len + 3) & 0x1fc, sum);
		udp->check = ~fold_csum((__u64)sum);
		if (udp->check == 0)
			udp->check = 0xffff;
		if (bpf_xdp_store_bytes(ctx, 0, s->hdrs, ETH_IPV6_UDP_LEN))
			return finish(proto, XDPKV_PASS_NO_ROOM, XDP_PASS);
	} else {
		struct iphdr *ip = (void *)(s->hdrs + 14);
		__be32 addr = ip->saddr;
		__u16 *words = (__u16 *)ip;
		__u64 sum = 0;

		ip->saddr = ip->daddr;
		ip->daddr = addr;
		ip->tot_len = bpf_htons(20 + 8 + reply_len);
		ip->ttl = 64;
		ip->check = 0;
		for (int i = 0; i < 10; i++)
			sum += words[i];
		ip->check = ~fold_csum(sum);
		udp = (void *)(s->hdrs + 14 + 20);
		port = udp->source;
		udp->source = udp->dest;
		udp->dest = port;
		udp->len = bpf_htons(8 + reply_len);
		udp->check = 0; /* optional over IPv4 */
		if (bpf_xdp_store_bytes(ctx, 0, s->hdrs, ETH_IPV4_UDP_LEN))
			return finish(proto, XDPKV_PASS_NO_ROOM, XDP_PASS);
	}
	if (bpf_xdp_store_bytes(ctx, hdr_len, s->reply, reply_len))
		return finish(proto, XDPKV_PASS_NO_ROOM, XDP_PASS);
	return finish(proto, reason, XDP_TX);
}

/* Replies that carry no item: a literal after the frame header. */
#define REPLY_TEXT(s, literal) put((s)->reply, FRAME_HEADER_LEN, literal, sizeof(literal) - 1)

/* ---- commands --------------------------------------------------------------- */

static __always_inline int do_get(struct xdp_md *ctx, struct scratch *s, int ipv6, vreq *req)
{
	struct xdpkv_item *copy = (struct xdpkv_item *)s->item;
	struct xdpkv_item *it;
	struct deleted gone = {};
	__u32 pos = FRAME_HEADER_LEN;
	__u32 n;

	it = store_lookup(s);
	if (it) {
		copy_item_locked(s, it);
		if (copy->state & XDPKV_ITEM_DELETING) {
			it = 0;
		} else if (expired(copy->expires_at_ms, now_boot_ms())) {
			/* Only the version seen expired: a SET that landed since
			 * stays. */
			delete_version(s, it, copy->cas, &gone);
			it = 0;
		}
	}
	if (!it) {
		if (req->proto == XDPKV_PROTO_RESP)
			n = REPLY_TEXT(s, "$-1\r\n");
		else
			n = REPLY_TEXT(s, "END\r\n");
		return send_reply(ctx, s, ipv6, n, req->proto, XDPKV_GET_MISS);
	}
	if (copy->blob_id != 0 || copy->value_len > XDPKV_INLINE_VALUE_MAX)
		return finish(req->proto, XDPKV_PASS_BIG_VALUE, XDP_PASS);

	/* Each variable-length piece goes through opaque() (struct scratch). */
	if (req->proto == XDPKV_PROTO_RESP) {
		pos = put(s->reply, pos, "$", 1);
		pos = opaque(req, put_uint(s->reply, pos, copy->value_len));
		pos = put(s->reply, pos, "\r\n", 2);
		pos = opaque(req, put_words(s->reply, pos, copy->inline_value, 0, copy->value_len,
					    XDPKV_INLINE_VALUE_MAX / 8));
		pos = put(s->reply, pos, "\r\n", 2);
	} else {
		pos = put(s->reply, pos, "VALUE ", 6);
		pos = opaque(req, put_words(s->reply, pos, s->key.bytes, 0, s->key.len,
					    XDPKV_KEY_BYTES_MAX / 8));
		pos = put(s->reply, pos, " ", 1);
		pos = opaque(req, put_uint(s->reply, pos, copy->flags));
		pos = put(s->reply, pos, " ", 1);
		pos = opaque(req, put_uint(s->reply, pos, copy->value_len));
		if (req->op == OP_GETS) {
			pos = put(s->reply, pos, " ", 1);
			pos = opaque(req, put_uint(s->reply, pos, copy->cas));
		}
		pos = put(s->reply, pos, "\r\n", 2);
		pos = opaque(req, put_words(s->reply, pos, copy->inline_value, 0, copy->value_len,
					    XDPKV_INLINE_VALUE_MAX / 8));
		pos = put(s->reply, pos, "\r\nEND\r\n", 7);
	}
	return send_reply(ctx, s, ipv6, pos, req->proto, XDPKV_GET_HIT);
}

static __always_inline int do_set(struct xdp_md *ctx, struct scratch *s, int ipv6, vreq *req)
{
	struct xdpkv_item *item = (struct xdpkv_item *)s->item;
	__s64 expiry = expiry_from_exptime(req->exptime, now_boot_ms());
	int result = WRITE_STORED;
	__u32 n;

	if (expiry < 0) {
		/* Stored and already expired, as memcached does with a
		 * negative exptime: nothing may be read back. */
		struct xdpkv_item *it = store_lookup(s);
		struct deleted gone = {};

		if (it && delete_version(s, it, XDPKV_CAS_ANY, &gone) < 0)
			result = WRITE_DELETING;
	} else {
		item->value_len = req->value_len;
		item->flags = req->flags;
		item->expires_at_ms = (__u64)expiry;
		item->state = 0;
		item->blob_id = 0;
		item->cas = __sync_fetch_and_add(&xdpkv_next_cas, 1);
		__u32 len = req->value_len, off = req->value_off;
		__u64 *words = (__u64 *)item->inline_value;

		/* Whole words from the request, then zero what follows the
		 * value so stored items hold nothing but what was sent. */
		for (__u32 i = 0; i < XDPKV_INLINE_VALUE_MAX / 8; i++)
			words[i] = i * 8 < len ? *(__u64 *)(s->req + ((off + i * 8) & BUF_MASK)) : 0;
		for (__u32 i = 0; i < 7; i++) {
			__u32 tail = len + i;

			if (tail >= XDPKV_INLINE_VALUE_MAX || (tail & 7) == 0)
				break;
			item->inline_value[tail & (XDPKV_INLINE_VALUE_MAX - 1)] = 0;
		}
		result = write_item(s);
	}
	if (result == WRITE_FULL) {
		if (req->proto == XDPKV_PROTO_RESP)
			n = REPLY_TEXT(s, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
		else
			n = REPLY_TEXT(s, "SERVER_ERROR out of memory storing object\r\n");
		return send_reply(ctx, s, ipv6, n, req->proto, XDPKV_STORE_FULL);
	}
	if (result == WRITE_DELETING)
		return finish(req->proto, XDPKV_PASS_DELETING, XDP_PASS);
	if (result != WRITE_STORED)
		return finish(req->proto, XDPKV_PASS_BUSY, XDP_PASS);
	if (req->noreply)
		return finish(req->proto, XDPKV_SET, XDP_DROP);
	if (req->proto == XDPKV_PROTO_RESP)
		n = REPLY_TEXT(s, "+OK\r\n");
	else
		n = REPLY_TEXT(s, "STORED\r\n");
	return send_reply(ctx, s, ipv6, n, req->proto, XDPKV_SET);
}

static __always_inline int do_delete(struct xdp_md *ctx, struct scratch *s, int ipv6,
				     vreq *req)
{
	struct xdpkv_item *it = store_lookup(s);
	enum xdpkv_reason reason = XDPKV_DELETE_MISS;
	struct deleted gone = {};
	__u32 n;

	/* An expired item is already gone as far as clients know; an item
	 * someone else is deleting too. */
	if (it && delete_version(s, it, XDPKV_CAS_ANY, &gone) > 0 &&
	    !expired(gone.expires_at_ms, now_boot_ms()))
		reason = XDPKV_DELETE_HIT;
	if (req->noreply)
		return finish(req->proto, reason, XDP_DROP);
	if (req->proto == XDPKV_PROTO_RESP)
		n = reason == XDPKV_DELETE_HIT ? REPLY_TEXT(s, ":1\r\n")
					       : REPLY_TEXT(s, ":0\r\n");
	else
		n = reason == XDPKV_DELETE_HIT ? REPLY_TEXT(s, "DELETED\r\n")
					       : REPLY_TEXT(s, "NOT_FOUND\r\n");
	return send_reply(ctx, s, ipv6, n, req->proto, reason);
}

/* ---- entry ------------------------------------------------------------------ */

SEC("xdp")
int xdpkv_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	struct scratch *s;
	vreq *req;
	__u32 proto;
	__u32 zero = 0, payload_off, payload_len;
	__u16 dport;
	int ipv6 = 0;
	int reason;

	if ((void *)(eth + 1) > data_end)
		return finish(XDPKV_PROTO_NONE, XDPKV_NOT_OURS, XDP_PASS);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP)
			return finish(XDPKV_PROTO_NONE, XDPKV_NOT_OURS, XDP_PASS);
		udp = (void *)(ip + 1);
		if (ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff))) {
			/* Options or fragments: only the stack reassembles. */
			if ((void *)(udp + 1) > data_end)
				return finish(XDPKV_PROTO_NONE, XDPKV_NOT_OURS, XDP_PASS);
			return finish(XDPKV_PROTO_NONE,
				      ip->ihl != 5 ? XDPKV_PASS_IP_OPTIONS : XDPKV_PASS_FRAGMENT,
				      XDP_PASS);
		}
		payload_off = ETH_IPV4_UDP_LEN;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return finish(XDPKV_PROTO_NONE, XDPKV_NOT_OURS, XDP_PASS);
		if (ip6->nexthdr != IPPROTO_UDP) {
			/* Extension headers (fragments among them) go up. */
			return finish(XDPKV_PROTO_NONE, XDPKV_NOT_OURS, XDP_PASS);
		}
		udp = (void *)(ip6 + 1);
		payload_off = ETH_IPV6_UDP_LEN;
		ipv6 = 1;
	} else {
		/* VLAN tags included: the stack handles them. */
		return finish(XDPKV_PROTO_NONE, XDPKV_NOT_OURS, XDP_PASS);
	}
	if ((void *)(udp + 1) > data_end)
		return finish(XDPKV_PROTO_NONE, XDPKV_NOT_OURS, XDP_PASS);

	dport = bpf_ntohs(udp->dest);
	if (dport != 0 && dport == config.memcache_udp_port)
		proto = XDPKV_PROTO_MEMCACHE;
	else if (dport != 0 && dport == config.resp_udp_port)
		proto = XDPKV_PROTO_RESP;
	else
		return finish(XDPKV_PROTO_NONE, XDPKV_NOT_OURS, XDP_PASS);

	payload_len = bpf_ntohs(udp->len);
	if (payload_len < 8 || payload_off + payload_len - 8 > (__u32)(data_end - data))
		return finish(proto, XDPKV_PASS_MALFORMED, XDP_PASS);
	payload_len -= 8;
	if (payload_len > XDPKV_REQ_PEEK)
		return finish(proto, XDPKV_PASS_BIG_VALUE, XDP_PASS);
	if (payload_len < FRAME_HEADER_LEN + 4)
		return finish(proto, XDPKV_PASS_BAD_REQUEST, XDP_PASS);

	s = bpf_map_lookup_elem(&xdpkv_scratch, &zero);
	if (!s)
		return finish(proto, XDPKV_PASS_BUSY, XDP_PASS);
	req = &s->request;
	__builtin_memset(&s->request, 0, sizeof(s->request));
	req->proto = proto;
	if (bpf_xdp_load_bytes(ctx, payload_off, s->req, payload_len))
		return finish(proto, XDPKV_PASS_MALFORMED, XDP_PASS);

	/* Frame header: request id, sequence 0, one datagram. */
	if (s->req[2] != 0 || s->req[3] != 0 || s->req[4] != 0 || s->req[5] != 1)
		return finish(proto, XDPKV_PASS_MULTI_DATAGRAM, XDP_PASS);
	/* The reply's frame header: same id, sequence 0, count 1. */
	s->reply[0] = s->req[0];
	s->reply[1] = s->req[1];
	s->reply[2] = 0;
	s->reply[3] = 0;
	s->reply[4] = 0;
	s->reply[5] = 1;
	s->reply[6] = 0;
	s->reply[7] = 0;

	if (proto == XDPKV_PROTO_MEMCACHE)
		reason = parse_memcache(req, s->req, payload_len);
	else
		reason = parse_resp(req, s->req, payload_len);
	if (reason)
		return finish(proto, reason, XDP_PASS);

	load_key(s, req);
	switch (req->op) {
	case OP_GET:
	case OP_GETS:
		return do_get(ctx, s, ipv6, req);
	case OP_SET:
		return do_set(ctx, s, ipv6, req);
	default:
		return do_delete(ctx, s, ipv6, req);
	}
}

/* ---- writes and deletes for userspace (see struct xdpkv_cas_request) --- */

SEC("xdp")
int xdpkv_store_cas(struct xdp_md *ctx)
{
	struct xdpkv_cas_request *cas_req;
	struct xdpkv_item *old, *it;
	struct deleted gone = {};
	struct scratch *s;
	__u64 expected, old_blob;
	__u32 zero = 0, old_len;
	__u64 *dst, *src, *saved;
	int result;

	s = bpf_map_lookup_elem(&xdpkv_scratch, &zero);
	if (!s)
		return XDPKV_CAS_BAD_REQUEST;
	_Static_assert(sizeof(struct xdpkv_cas_request) <= XDPKV_REQ_PEEK, "fits the scratch");
	if (bpf_xdp_load_bytes(ctx, 0, s->req, sizeof(struct xdpkv_cas_request)))
		return XDPKV_CAS_BAD_REQUEST;
	cas_req = (struct xdpkv_cas_request *)s->req;
	if (cas_req->key.len == 0 || cas_req->key.len > XDPKV_MAX_KEY_LEN ||
	    cas_req->item.value_len > XDPKV_MAX_VALUE_LEN)
		return XDPKV_CAS_BAD_REQUEST;
	__builtin_memcpy(&s->key, &cas_req->key, sizeof(s->key));
	expected = cas_req->expected_cas;
	it = store_lookup(s);
	if (!it)
		return XDPKV_CAS_NOT_FOUND;
	/* The version acted on goes back to the caller in the request's item. */
	old = (struct xdpkv_item *)s->item;
	if (cas_req->op == XDPKV_CAS_OP_DELETE) {
		result = delete_version(s, it, expected, &gone);
		if (result < 0)
			return XDPKV_CAS_NOT_FOUND;
		if (result == 0)
			return XDPKV_CAS_EXISTS;
		__builtin_memset(old, 0, sizeof(struct xdpkv_item));
		old->blob_id = gone.blob_id;
		old->value_len = gone.value_len;
		old->expires_at_ms = gone.expires_at_ms;
		bpf_xdp_store_bytes(ctx, __builtin_offsetof(struct xdpkv_cas_request, item), old,
				    sizeof(struct xdpkv_item));
		return XDPKV_CAS_STORED;
	}
	dst = (__u64 *)it->inline_value;
	src = (__u64 *)cas_req->item.inline_value;
	saved = (__u64 *)old->inline_value;
	bpf_spin_lock(&it->lock);
	if (it->state & XDPKV_ITEM_DELETING) {
		bpf_spin_unlock(&it->lock);
		return XDPKV_CAS_NOT_FOUND;
	}
	if (expected != XDPKV_CAS_ANY && it->cas != expected) {
		bpf_spin_unlock(&it->lock);
		return XDPKV_CAS_EXISTS;
	}
	old->value_len = it->value_len;
	old->cas = it->cas;
	old->expires_at_ms = it->expires_at_ms;
	old->flags = it->flags;
	old->state = it->state;
	old->blob_id = it->blob_id;
	it->value_len = cas_req->item.value_len;
	it->cas = cas_req->item.cas;
	it->expires_at_ms = cas_req->item.expires_at_ms;
	it->flags = cas_req->item.flags;
	it->blob_id = cas_req->item.blob_id;
	for (int i = 0; i < XDPKV_INLINE_VALUE_MAX / 8; i++) {
		saved[i] = dst[i];
		dst[i] = src[i];
	}
	bpf_spin_unlock(&it->lock);
	old_blob = old->blob_id;
	old_len = old->value_len;
	blob_free(old_blob, old_len);
	bpf_xdp_store_bytes(ctx, __builtin_offsetof(struct xdpkv_cas_request, item), old,
			    sizeof(struct xdpkv_item));
	return XDPKV_CAS_STORED;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
