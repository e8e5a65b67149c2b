/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The layout shared by the BPF programs (bpf/xdpkv.bpf.c and what it
 * includes) and userspace
 * (proxy/). Fixed-width kernel types only: include <linux/types.h> and
 * <linux/bpf.h> (for struct bpf_spin_lock) first. No other includes, so the
 * BPF target and C++ read it the same way; proxy/store_layout.h holds the
 * C++ static_asserts on sizes and offsets.
 *
 * The store (docs/architecture.md, "Store layout"):
 *  - An item's home is the hash map of its key-length class (16, 64, 256
 *    bytes): map key = { length, key bytes zero-padded to the class }. A
 *    key has exactly one home, so no write ever has to move an item
 *    between maps, and a 16-byte key hashes and compares 20 bytes. Three
 *    classes, not five: every map's bucket array is sized for the whole
 *    memory limit, and the 32- and 128-byte classes' items cost the same
 *    512 bytes as the 64- and 256-byte ones (docs/architecture.md).
 *  - The map value is struct xdpkv_item: metadata plus up to
 *    XDPKV_INLINE_VALUE_MAX value bytes inline. Larger values live out of
 *    line (blob_id != 0): written by userspace, read by the kernel for a
 *    GET whose reply fits one datagram, else by userspace.
 *  - Every write to an existing item goes through BPF_F_LOCK (in place,
 *    under the item's spin lock) and every read copies under that lock, so
 *    no reader sees half of one value and half of another.
 */
#ifndef XDPKV_LAYOUT_H
#define XDPKV_LAYOUT_H

#define XDPKV_MAX_KEY_LEN 250
#define XDPKV_KEY_CLASS_COUNT 3
/* Key bytes in the largest class (250 rounded up to the class size). */
#define XDPKV_KEY_BYTES_MAX 256
#define XDPKV_INLINE_VALUE_MAX 128

/* Map key of each class. `len` first, then the key zero-padded. `len`'s
 * low 16 bits are the key's length; above them userspace keeps the number
 * of the Redis database the key is in (SELECT), 0 for every key the kernel
 * path reads or writes, so a key is in one class and one database. */
#define XDPKV_KEY_LEN_MASK 0xffffu
#define XDPKV_KEY_DB_SHIFT 16
struct xdpkv_key16 {
	__u32 len;
	__u8 bytes[16];
};
struct xdpkv_key64 {
	__u32 len;
	__u8 bytes[64];
};
struct xdpkv_key256 {
	__u32 len;
	__u8 bytes[XDPKV_KEY_BYTES_MAX];
};

/* Map value: one item. */
/* 176 bytes: with a 16-byte key's map key (24) and the hash element's
 * header (48), 248, which bpf_mem_alloc's 8-byte header rounds to its
 * 256-byte class; 8 bytes more took the 512-byte one (docs/bench/
 * eviction.md: half the items in the same memory). Keep it so. */
struct xdpkv_item {
	struct bpf_spin_lock lock;
	__u32 value_len;     /* bytes of value, inline or out of line */
	__u64 cas;           /* memcached CAS unique; new on every write */
	__u64 expires_at_ms; /* CLOCK_BOOTTIME milliseconds; 0 = never */
	__u32 flags;         /* memcached client flags; 0 for RESP writes */
	__u8 state;          /* XDPKV_ITEM_* bits */
	/* Redis's LFU counter (XDPKV_LFU_INIT for a new item, kept over
	 * rewrites, as Redis keeps it): under an LFU policy, hits raise it
	 * logarithmically and idle minutes since atime_ms decay it
	 * (bpf/lib/recency.h, proxy/eviction.h). Written outside the lock,
	 * and only when it changes, as atime_ms is. */
	__u8 lfu;
	__u8 type;           /* XDPKV_TYPE_*: what the value holds */
	__u8 mc_bits;        /* XDPKV_MC_* memcached item flags; 0 for a new item */
	__u64 blob_id;       /* 0: value inline; else the out-of-line blob */
	__u32 key_tag;       /* xdpkv_key_tag() of the item's key */
	/* Eviction's recency: CLOCK_BOOTTIME milliseconds of the last write
	 * or hit, modulo 2^32 (it wraps every 49.7 days, so eviction compares
	 * ages, now - atime_ms, in the same modulus). Written outside the
	 * lock, and only when it changed, by hits: a hit does not dirty the
	 * item's cache line more than once a millisecond. */
	__u32 atime_ms;
	__u8 inline_value[XDPKV_INLINE_VALUE_MAX];
};

/* Redis's data types. The kernel serves strings only: a GET of another
 * type passes to userspace (Redis's WRONGTYPE), an MGET reads it as nil,
 * and a SET replaces it whatever it was, as Redis's SET does. Other types'
 * values are userspace's encodings (proxy/typed_value.h). */
#define XDPKV_TYPE_STRING 0u
#define XDPKV_TYPE_HASH 1u
#define XDPKV_TYPE_LIST 2u
#define XDPKV_TYPE_SET 3u
#define XDPKV_TYPE_ZSET 4u

/* memcached's per-item flags the meta protocol reports (mg h/l and its
 * W/X/Z flags, me and metadump's fetch=), kept by userspace. A write of a
 * new value clears them (the kernel's SET and ms write 0), as memcached's
 * new item starts without them. The kernel's mg sets FETCHED/ACTIVE as
 * memcached's does; its classic GET does not (docs/protocols.md, "Meta
 * commands"). */
#define XDPKV_MC_FETCHED 1u     /* fetched at least once (ITEM_FETCHED) */
#define XDPKV_MC_ACTIVE 2u      /* fetched again (ITEM_ACTIVE): atime_ms moved then */
#define XDPKV_MC_STALE 4u       /* marked stale by md I (ITEM_STALE) */
#define XDPKV_MC_TOKEN_SENT 8u  /* a recache win (W) was handed out (ITEM_TOKEN_SENT) */
#define XDPKV_MC_KEY_BINARY 16u /* written through a base64 key (ITEM_KEY_BINARY) */

/* A 32-bit fingerprint of a key (64-bit FNV-1a over the map key's 32-bit
 * words, its length, then its bytes, folded), stored in its item. The maps
 * hand a deleted element to a new insert at once, so a program holding an
 * element pointer from a lookup may find it now holds another key: every
 * locked section compares the item's tag with its own key's and treats a
 * mismatch as "my key is no longer here" (docs/architecture.md, "Element
 * reuse"). 32 bits, not 64, keep the item in the kernel's 256-byte class:
 * a wrong match needs that race and a 1-in-2^32 tag collision at once. */
#define XDPKV_KEY_TAG_WORDS (1 + XDPKV_KEY_BYTES_MAX / 4)
static inline __u32 xdpkv_key_tag(const struct xdpkv_key256 *key)
{
	const __u32 *words = (const __u32 *)key;
	__u32 n = 1 + ((key->len & XDPKV_KEY_LEN_MASK) + 3) / 4;
	__u64 h = 0xcbf29ce484222325ULL;

	for (__u32 i = 0; i < XDPKV_KEY_TAG_WORDS; i++) {
		if (i >= n)
			break;
		h ^= words[i];
		h *= 0x100000001b3ULL;
	}
	return (__u32)(h ^ (h >> 32)); /* 32 bits: the item has room for no more */
}

/* The item is being deleted: whoever set this bit (under the item's lock,
 * after checking the version it meant to delete) deletes the map entry next,
 * and nobody else deletes or writes it. Readers treat it as absent; writers
 * wait for the entry to go, then insert (BPF_NOEXIST). A hash map deletes by
 * key only, so this is what makes "delete only the version I saw" (expiry,
 * CAS deletes) safe against a write landing between the check and the
 * delete (docs/architecture.md, "Deletes"). */
#define XDPKV_ITEM_DELETING 1u

/* Redis's LFU: a new item's counter (LFU_INIT_VAL) and its ceiling. */
#define XDPKV_LFU_INIT 5u
#define XDPKV_LFU_MAX 255u

/* Out-of-line values (blob_id != 0) up to 64 KiB: one hash map per
 * power-of-two value class, 256 bytes (class 0) to 64 KiB (class 8), keyed
 * by the blob id (a CAS unique, never reused). A blob is written once,
 * before any item points to it, and never modified; it names its owner so a
 * sweep can remove blobs no item points to any more. Longer values are
 * chunked (below). Written by userspace only. */
#define XDPKV_BLOB_CLASS_COUNT 9
#define XDPKV_BLOB_MIN_SHIFT 8
#define XDPKV_BLOB_CLASS_MAX (1 << 16)
#define XDPKV_MAX_VALUE_LEN (1 << 20)

struct xdpkv_blob_header {
	__u64 blob_id;
	__u32 value_len;
	__u32 key_len;
	/* CLOCK_BOOTTIME ms when written: the orphan sweep leaves blobs younger
	 * than XDPKV_BLOB_ORPHAN_AGE_MS alone (their writer may not have
	 * pointed its item at them yet). */
	__u64 created_ms;
	__u8 key[XDPKV_KEY_BYTES_MAX]; /* the owning item's key */
};
#define XDPKV_BLOB_ORPHAN_AGE_MS (10 * 60 * 1000)

/* Values over XDPKV_BLOB_CLASS_MAX (userspace's alone: the kernel answers
 * values up to the TC tier's 64 KiB) are chunks in xdpkv_blobs_chunked,
 * keyed by {blob id, index}, each with the blob's header (owner, length,
 * age: swept as blobs are) and XDPKV_CHUNK_PAYLOAD value bytes, chunk i
 * holding bytes [i * payload, (i + 1) * payload). A chunk element is the
 * kernel's element header (56 bytes), the key (16) and the chunk: exactly
 * 64 KiB, where a power-of-two class's element is just over its class and
 * above 8 KiB kmalloc doubles it (docs/architecture.md, "Large values"). */
#define XDPKV_CHUNK_PAYLOAD (65536 - 56 - 16 - 280)
#define XDPKV_MAX_CHUNKS \
	((XDPKV_MAX_VALUE_LEN + XDPKV_CHUNK_PAYLOAD - 1) / XDPKV_CHUNK_PAYLOAD)
struct xdpkv_chunk_key {
	__u64 blob_id;
	__u32 index;
	__u32 pad; /* 0 */
};
struct xdpkv_chunk {
	struct xdpkv_blob_header header;
	__u8 data[XDPKV_CHUNK_PAYLOAD];
};

/* Userspace's writes and deletes of existing items: the program
 * xdpkv_store_cas, run with BPF_PROG_TEST_RUN on this struct as its packet,
 * does `op` under the item's spin lock (the lock the fast path takes too),
 * honouring XDPKV_ITEM_DELETING. With XDPKV_CAS_ANY as expected_cas it acts
 * on whatever version is there. Its return value is an enum
 * xdpkv_cas_result; the item it replaced or deleted is copied back into
 * `item` (so the caller frees exactly that version's blob). */
enum xdpkv_cas_op {
	XDPKV_CAS_OP_REPLACE = 0,
	/* Marks the item XDPKV_ITEM_DELETING under the lock, then deletes the
	 * entry: no write can land in between. */
	XDPKV_CAS_OP_DELETE = 1,
	/* As DELETE, only if the item is also expired at item.expires_at_ms
	 * (the caller's now): a touch keeps the CAS unique. */
	XDPKV_CAS_OP_DELETE_EXPIRED = 2,
	/* Sets the item's recency (atime_ms and lfu) to item's, whatever its
	 * version: a userspace hit, for eviction (the kernel's hits write them
	 * themselves). */
	XDPKV_CAS_OP_RECENCY = 3,
	/* Sets only the item's mc_bits and atime_ms to item's (its value,
	 * expiry and CAS stay): memcached's per-item flags change on reads. */
	XDPKV_CAS_OP_SET_META = 4,
};
#define XDPKV_CAS_ANY 0ULL /* CAS uniques start above 0 */

struct xdpkv_cas_request {
	__u64 expected_cas;
	__u32 op; /* enum xdpkv_cas_op */
	__u32 reserved;
	struct xdpkv_key256 key;
	struct xdpkv_item item; /* in: the new item (lock ignored); out: the old one */
};

enum xdpkv_cas_result {
	XDPKV_CAS_STORED = 0,    /* replaced, or deleted */
	XDPKV_CAS_EXISTS = 1,    /* the item changed since it was read */
	XDPKV_CAS_NOT_FOUND = 2, /* the item is gone (or being deleted) */
	XDPKV_CAS_BAD_REQUEST = 3,
	XDPKV_CAS_BUSY = 4,      /* the map refused the delete; nothing changed */
};

/* Userspace's batched reads (MGET, multi-key gets): the program
 * xdpkv_store_read, run with BPF_PROG_TEST_RUN on a struct
 * xdpkv_read_request naming a slot of the map xdpkv_read_slots, copies the
 * item of each of the slot's keys, under the item's lock, into the slot:
 * one syscall for up to XDPKV_READ_BATCH keys instead of one each. The map
 * is mmapped by userspace (BPF_F_MMAPABLE), one slot per server thread, so
 * keys go in and items come out without copies through the syscall.
 * Items are raw bytes here: an mmapped map may not hold spin locks. */
#define XDPKV_READ_BATCH 32
#define XDPKV_READ_SLOTS 64
struct xdpkv_read_slot {
	__u32 count; /* keys in the slot, at most XDPKV_READ_BATCH */
	__u32 reserved;
	struct xdpkv_key256 keys[XDPKV_READ_BATCH];
	__u8 items[XDPKV_READ_BATCH][sizeof(struct xdpkv_item)];
	__u32 found[XDPKV_READ_BATCH]; /* 1: items[i] is keys[i]'s, as its lock saw it */
};
struct xdpkv_read_request {
	__u32 slot; /* < XDPKV_READ_SLOTS */
	__u32 reserved[3];
};

/* Userspace's batched writes (pipelined SET, INCR/INCRBY/DECR/DECRBY, MSET):
 * the program xdpkv_store_write, run with BPF_PROG_TEST_RUN on a struct
 * xdpkv_write_request naming a slot of the map xdpkv_write_slots (mmapped,
 * one per server thread, the same index as its read slot), applies the
 * slot's writes in order, each as the one-key path would under the item's
 * lock, and stops at the first it cannot do: `done` says how many it did
 * (a prefix), and userspace does the rest its own way. Never half a write:
 * one that is not done changed nothing. */
#define XDPKV_WRITE_BATCH 32
#define XDPKV_WRITE_SLOTS XDPKV_READ_SLOTS
enum xdpkv_write_op {
	/* items[i] (flags, expiry, CAS and blob set by userspace, blob written
	 * first) over whatever version is there, or as a new entry. */
	XDPKV_WRITE_OP_SET = 0,
	/* Redis's INCRBY by `number`: a live string item whose value is an
	 * inline decimal integer gets the sum, in place, keeping its flags
	 * and expiry; an absent key gets `number`. Anything else (another
	 * type, not an integer, a sum that might overflow, an expired item)
	 * is not done. */
	XDPKV_WRITE_OP_INCRBY = 1,
};
enum xdpkv_write_outcome {
	XDPKV_WRITE_INSERTED = 1, /* a new entry */
	XDPKV_WRITE_REPLACED = 2, /* over a version; old_expires_at_ms is its expiry */
};
struct xdpkv_write_entry {
	__u32 op;       /* in: enum xdpkv_write_op */
	__u32 outcome;  /* out: enum xdpkv_write_outcome, for the writes done */
	__s64 number;   /* INCRBY: in the increment, out the new value */
	__u64 cas;      /* out: the new version's CAS unique */
	__u64 old_expires_at_ms; /* out: the replaced version's expiry */
};
struct xdpkv_write_slot {
	__u32 count; /* in: writes in the slot, at most XDPKV_WRITE_BATCH */
	__u32 done;  /* out: how many were done, in order */
	struct xdpkv_write_entry entries[XDPKV_WRITE_BATCH];
	struct xdpkv_key256 keys[XDPKV_WRITE_BATCH];
	/* SET's new items; raw bytes, as the read slot's. */
	__u8 items[XDPKV_WRITE_BATCH][sizeof(struct xdpkv_item)];
};
struct xdpkv_write_request {
	__u32 slot; /* < XDPKV_WRITE_SLOTS */
	__u32 reserved[3];
};

/* The store's memory (docs/architecture.md, "Memory"): the bytes the
 * kernel allocated for the store maps' elements (items and blobs, each
 * rounded up to the allocation it takes), kept by whoever inserts or
 * deletes an element, kernel and userspace alike, against the limit for
 * elements (-m less the maps' fixed bucket arrays). An insert reserves its
 * element's cost first and is refused if that would pass the limit: the
 * kernel then passes the write to userspace (which evicts, when the policy
 * allows, and writes) or, without eviction, answers the peers' out-of-memory
 * error. A global of the object (.bss), set up by userspace at load from an
 * exact count of what the pinned maps hold. */
struct xdpkv_memory {
	__u64 used_bytes;  /* elements, as allocated; atomic adds only */
	__u64 limit_bytes; /* for elements; 0 = no limit */
	__u32 evicts;      /* 1: the policy evicts, so a full store passes writes up */
	__u32 lfu_log_factor; /* Redis's lfu-log-factor */
	__u32 item_cost[XDPKV_KEY_CLASS_COUNT];  /* bytes one item of each key class takes */
	__u32 blob_cost[XDPKV_BLOB_CLASS_COUNT]; /* bytes one blob of each value class takes */
	__u32 lfu_decay_minutes; /* Redis's lfu-decay-time; 0: counters never decay */
	__u32 lfu;         /* 1: an LFU policy: hits keep item.lfu */
	__u32 chunk_cost;  /* bytes one chunk of a value over 64 KiB takes */
};

/* Which protocol a counter belongs to. */
enum xdpkv_proto {
	XDPKV_PROTO_NONE = 0, /* not (yet) known to be one of ours */
	XDPKV_PROTO_MEMCACHE = 1,
	XDPKV_PROTO_RESP = 2,
	XDPKV_PROTO_COUNT,
};

/* Why the program finished a packet. Append only: userspace renders these
 * by name (proxy/store_layout.h), and the numbering is part of the layout. */
enum xdpkv_reason {
	XDPKV_NOT_OURS = 0,          /* not UDP to one of our ports */
	XDPKV_GET_HIT = 1,           /* answered from the map */
	XDPKV_GET_MISS = 2,          /* answered: not found or expired */
	XDPKV_SET = 3,               /* stored and answered */
	XDPKV_DELETE_HIT = 4,
	XDPKV_DELETE_MISS = 5,
	XDPKV_STORE_FULL = 6,        /* answered with the out-of-memory error */
	XDPKV_PASS_MALFORMED = 7,    /* headers cut short or inconsistent */
	XDPKV_PASS_FRAGMENT = 8,     /* IP fragment */
	XDPKV_PASS_IP_OPTIONS = 9,   /* IPv4 options or IPv6 extension headers */
	XDPKV_PASS_MULTI_DATAGRAM = 10, /* memcached frame says more than one datagram */
	XDPKV_PASS_UNSUPPORTED = 11, /* a command the kernel does not serve */
	XDPKV_PASS_BAD_REQUEST = 12, /* malformed: userspace sends the peer's error */
	XDPKV_PASS_BIG_VALUE = 13,   /* value not inline: userspace serves it */
	XDPKV_PASS_NO_ROOM = 14,     /* the packet could not grow to hold the reply */
	XDPKV_PASS_BUSY = 15,        /* a map operation failed for another reason */
	XDPKV_PASS_DELETING = 16,    /* a SET met an item being deleted: userspace retries */
	/* Admission (bpf/lib/admission.h): not what the host's stack would
	 * accept, or not what the operator allowed; the stack decides. */
	XDPKV_PASS_UNKNOWN_IFACE = 17, /* arrived on an interface the loader did not describe */
	XDPKV_PASS_FOREIGN_MAC = 18,   /* destination MAC not the interface's, or a group address */
	XDPKV_PASS_FOREIGN_DEST = 19,  /* destination IP not one the server listens on */
	XDPKV_PASS_MARTIAN_SOURCE = 20, /* loopback (off lo), broadcast, multicast, 0/8, our own */
	XDPKV_PASS_SELF_PORT = 21,     /* source port 0 or one of our service ports (loops) */
	XDPKV_PASS_BAD_LENGTH = 22,    /* IP and UDP lengths disagree (with the frame too) */
	XDPKV_PASS_BAD_CHECKSUM = 23,  /* IPv4 header or UDP checksum wrong (or absent on IPv6) */
	XDPKV_PASS_NOT_ALLOWED = 24,   /* source outside the --udp-allow list */
	XDPKV_PASS_REPLY_CAP = 25,     /* reply over --udp-max-reply-bytes for this source */
	/* Multi-key reads (get k1 k2 ..., MGET) in the kernel. */
	XDPKV_MULTI_GET = 26,          /* answered: one count per request, whatever its keys */
	XDPKV_PASS_REPLY_TOO_BIG = 27, /* the reply needs more than one datagram */
	/* The TC tier (bpf/xdpkv_tc.bpf.c): replies XDP cannot send. */
	XDPKV_PASS_TO_TC = 28,         /* XDP handed the request to the TC tier */
	XDPKV_TC_REPLY = 29,           /* TC answered a read: one count per request */
	XDPKV_TC_DATAGRAMS = 30,       /* datagrams the TC tier sent */
	XDPKV_TC_SEND_FAILED = 31,     /* TC could not send every datagram of a reply */
	XDPKV_PASS_NO_MEMORY = 32,     /* a write past the memory limit: userspace evicts */
	XDPKV_PASS_WRONGTYPE = 33,     /* a RESP GET of a key that is not a string */
	/* memcached's meta commands mg and ms in the kernel (docs/protocols.md,
	 * "Meta commands"). */
	XDPKV_META_GET_HIT = 34,       /* mg answered from the map */
	XDPKV_META_GET_MISS = 35,      /* mg answered: EN (nothing in quiet mode) */
	XDPKV_META_SET = 36,           /* ms without C stored and answered */
	XDPKV_META_CAS_HIT = 37,       /* ms with C: the CAS matched, stored */
	XDPKV_META_CAS_EXISTS = 38,    /* ms with C: answered EX (another version) */
	XDPKV_META_CAS_MISS = 39,      /* ms with C: answered NF (no such item) */
	XDPKV_PASS_META_FLAG = 40,     /* mg/ms with a flag, or a form of one, not served here */
	XDPKV_PASS_META_ITEM = 41,     /* mg of an item whose state (stale, won) is not shown here */
	XDPKV_REASON_COUNT,
};

/* Value of the single-entry per-CPU array `xdpkv_stats`. */
struct xdpkv_counters {
	__u64 count[XDPKV_PROTO_COUNT][XDPKV_REASON_COUNT];
};

/* Ports and memcached's CAS setting, set through the skeleton's rodata
 * before load. */
struct xdpkv_config {
	__u16 memcache_udp_port; /* host byte order; 0 = disabled */
	__u16 resp_udp_port;     /* host byte order; 0 = disabled */
	/* 0 with memcached's -C: CAS uniques read 0, so the kernel passes
	 * what would show or compare one (gets, mg c, ms c/C) to userspace. */
	__u32 cas_enabled;
	/* memcached's -I (Redis's proto-max-bulk-len here): a SET of a longer
	 * value passes to userspace, which refuses it in the peer's words. */
	__u32 max_value_len;
};

/* memcached's exptime: up to this many seconds it is relative. */
#define XDPKV_REALTIME_MAXDELTA (60 * 60 * 24 * 30)

/* ---- Admission (bpf/lib/admission.h; docs/architecture.md, "Admission") ----
 * Filled by userspace (proxy/xdp_loader.cc) after load and kept current.
 * Addresses are 16 bytes, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), so one
 * key type and one LPM trie serve both families. */

/* xdpkv_ifaces: ifindex -> what the kernel path needs of the interface. */
struct xdpkv_iface {
	__u8 mac[6];
	__u16 flags; /* XDPKV_IFACE_* */
};
#define XDPKV_IFACE_LOOPBACK 1u     /* lo: frames come from this host */
/* Local senders leave the UDP checksum to offload (lo, veth): the field
 * then holds only the pseudo-header sum, and that value is accepted too. */
#define XDPKV_IFACE_CSUM_PARTIAL 2u

/* xdpkv_admit_dst: (ingress ifindex, destination) pairs the kernel answers. */
struct xdpkv_addr_key {
	__u32 ifindex;
	__u8 addr[16];
};

/* xdpkv_host_addrs: addr -> XDPKV_HOST_* flags; never a source off lo. */
#define XDPKV_HOST_OWN 1u   /* an address of this host */
#define XDPKV_HOST_BCAST 2u /* an IPv4 subnet's broadcast address */

/* xdpkv_udp_allow: LPM trie of the sources the kernel may answer. */
struct xdpkv_allow_key {
	__u32 prefixlen; /* 0..128; an IPv4 /n is 96 + n */
	__u8 addr[16];
};

/* Rodata set before load. */
#define XDPKV_SERVICE_PORTS 4
struct xdpkv_admission_config {
	/* Host byte order; 0 = unused. Datagrams from these ports are never
	 * answered: a reply to our own port would be answered again. */
	__u16 service_ports[XDPKV_SERVICE_PORTS];
	/* Most UDP payload bytes of a reply to a non-loopback source. */
	__u32 max_reply_bytes;
	__u32 reserved;
};

#endif /* XDPKV_LAYOUT_H */
