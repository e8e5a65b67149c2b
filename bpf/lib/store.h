/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The store: key classes, locked copies, versioned deletes, blob frees,
 * expiry and reads (xdpkv_layout.h); its writes are lib/store_write.h.
 */
#ifndef XDPKV_LIB_STORE_H
#define XDPKV_LIB_STORE_H

#include "lib/maps.h"
#include "lib/recency.h"
#include "lib/scratch.h"

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
	s->key_tag = xdpkv_key_tag(&s->key);
}

/* ---- memory (struct xdpkv_memory) ---------------------------------------- */

/* Takes `cost` bytes of the limit for an element about to be inserted.
 * Returns 0, or -ENOSPC if that would pass the limit (nothing taken). */
static __always_inline long memory_reserve(__u32 cost)
{
	__u64 limit = xdpkv_memory.limit_bytes;
	__u64 before = __sync_fetch_and_add(&xdpkv_memory.used_bytes, cost);

	if (limit != 0 && before + cost > limit) {
		__sync_fetch_and_add(&xdpkv_memory.used_bytes, -(__s64)cost);
		return -ENOSPC;
	}
	return 0;
}

/* Gives back what an element that is gone (or was never inserted) took. */
static __always_inline void memory_release(__u32 cost)
{
	__sync_fetch_and_add(&xdpkv_memory.used_bytes, -(__s64)cost);
}

/* What an item of the key class of a key of `len` bytes takes. */
static __always_inline __u32 item_cost(__u32 len)
{
	if (len <= 16)
		return xdpkv_memory.item_cost[0];
	if (len <= 64)
		return xdpkv_memory.item_cost[1];
	return xdpkv_memory.item_cost[2];
}

static __always_inline struct xdpkv_item *store_lookup(struct scratch *s)
{
	__u32 n = s->key.len & XDPKV_KEY_LEN_MASK;

	if (n <= 16)
		return bpf_map_lookup_elem(&xdpkv_items_k16, &s->key);
	if (n <= 64)
		return bpf_map_lookup_elem(&xdpkv_items_k64, &s->key);
	return bpf_map_lookup_elem(&xdpkv_items_k256, &s->key);
}

static __always_inline long store_insert_raw(struct scratch *s)
{
	__u32 n = s->key.len & XDPKV_KEY_LEN_MASK;

	if (n <= 16)
		return bpf_map_update_elem(&xdpkv_items_k16, &s->key, s->item, BPF_NOEXIST);
	if (n <= 64)
		return bpf_map_update_elem(&xdpkv_items_k64, &s->key, s->item, BPF_NOEXIST);
	return bpf_map_update_elem(&xdpkv_items_k256, &s->key, s->item, BPF_NOEXIST);
}

/* Inserts scratch->item under scratch->key if the key is absent and the
 * memory limit has room (-ENOSPC if not). */
static __always_inline long store_insert(struct scratch *s)
{
	__u32 cost = item_cost(s->key.len & XDPKV_KEY_LEN_MASK);
	long err;

	if (memory_reserve(cost))
		return -ENOSPC;
	err = store_insert_raw(s);
	if (err)
		memory_release(cost);
	return err;
}

static __always_inline long store_delete_raw(struct scratch *s)
{
	__u32 n = s->key.len & XDPKV_KEY_LEN_MASK;

	if (n <= 16)
		return bpf_map_delete_elem(&xdpkv_items_k16, &s->key);
	if (n <= 64)
		return bpf_map_delete_elem(&xdpkv_items_k64, &s->key);
	return bpf_map_delete_elem(&xdpkv_items_k256, &s->key);
}

/* Removes the map entry of scratch->key. Only the one who marked the item
 * XDPKV_ITEM_DELETING may call this (see xdpkv_layout.h). */
static __always_inline long store_delete(struct scratch *s)
{
	long err = store_delete_raw(s);

	if (!err)
		memory_release(item_cost(s->key.len & XDPKV_KEY_LEN_MASK));
	return err;
}

/* Deletes the out-of-line value an item version pointed to (none: id 0).
 * Called once that version is replaced or deleted: nothing points to the
 * blob any more, and a reader that still holds the old item finds it gone
 * and reads the item again. */
/* Deletes the chunks of a value over 64 KiB. A global function, so the
 * verifier checks its loop once rather than at every blob_free (inlined,
 * it cost xdpkv_xdp 27k verified instructions). */
__noinline int blob_free_chunks(__u64 id, __u32 value_len)
{
	struct xdpkv_chunk_key key = { .blob_id = id };

	for (__u32 i = 0; i < XDPKV_MAX_CHUNKS; i++) {
		if (i * XDPKV_CHUNK_PAYLOAD >= value_len)
			break;
		key.index = i;
		if (bpf_map_delete_elem(&xdpkv_blobs_chunked, &key) == 0)
			memory_release(xdpkv_memory.chunk_cost);
	}
	return 0;
}

#define BLOB_FREE_CLASS(map, cls, class_bytes)                                  \
	if (value_len <= (class_bytes)) {                                        \
		if (bpf_map_delete_elem(&map, &id) == 0)                         \
			memory_release(xdpkv_memory.blob_cost[cls]);             \
		return;                                                          \
	}

static __always_inline void blob_free(__u64 id, __u32 value_len)
{
	if (id == 0)
		return;
	BLOB_FREE_CLASS(xdpkv_blobs_256, 0, 256)
	BLOB_FREE_CLASS(xdpkv_blobs_512, 1, 512)
	BLOB_FREE_CLASS(xdpkv_blobs_1k, 2, 1024)
	BLOB_FREE_CLASS(xdpkv_blobs_2k, 3, 2048)
	BLOB_FREE_CLASS(xdpkv_blobs_4k, 4, 4096)
	BLOB_FREE_CLASS(xdpkv_blobs_8k, 5, 8192)
	BLOB_FREE_CLASS(xdpkv_blobs_16k, 6, 16384)
	BLOB_FREE_CLASS(xdpkv_blobs_32k, 7, 32768)
	BLOB_FREE_CLASS(xdpkv_blobs_64k, 8, 65536)
	blob_free_chunks(id, value_len);
}

/* Points `blob` at the out-of-line value `id` of `value_len` bytes, for the
 * value classes a one-datagram reply can carry (up to 2 KiB). Returns 0,
 * or -1 if the blob is gone (its item was written since it was read) or its
 * class is not one of those. */
#define BLOB_OPEN_CLASS(map, class_bytes)                                       \
	if (value_len <= (class_bytes)) {                                       \
		struct map##_value *v = bpf_map_lookup_elem(&map, &id);          \
									        \
		if (!v)                                                          \
			return -1;                                               \
		return bpf_dynptr_from_mem(v, sizeof(*v), 0, blob) ? -1 : 0;     \
	}

static __always_inline int blob_open(__u64 id, __u32 value_len, struct bpf_dynptr *blob)
{
	BLOB_OPEN_CLASS(xdpkv_blobs_256, 256)
	BLOB_OPEN_CLASS(xdpkv_blobs_512, 512)
	BLOB_OPEN_CLASS(xdpkv_blobs_1k, 1024)
	BLOB_OPEN_CLASS(xdpkv_blobs_2k, 2048)
	return -1;
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
	copy->key_tag = it->key_tag;
	copy->atime_ms = it->atime_ms;
	copy->lfu = it->lfu;
	copy->type = it->type;
	copy->mc_bits = it->mc_bits;
	for (int i = 0; i < XDPKV_INLINE_VALUE_MAX / 8; i++)
		dst[i] = src[i];
	bpf_spin_unlock(&it->lock);
	/* The element now holds another key (ours was deleted since the
	 * lookup): ours was absent meanwhile, so read it as being deleted. */
	if (copy->key_tag != s->key_tag)
		copy->state = XDPKV_ITEM_DELETING;
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
 * version. With `expired_by_ms`, only if the item is expired at that time.
 * Returns 1 if deleted, 0 if it changed (EXISTS), -1 if someone else is
 * deleting it already, DELETE_FAILED if the map refused. */
#define DELETE_FAILED (-2)

static __always_inline int delete_version_if(struct scratch *s, struct xdpkv_item *it, __u64 cas,
					     __u64 expired_by_ms, struct deleted *out)
{
	int result;

	bpf_spin_lock(&it->lock);
	if ((it->state & XDPKV_ITEM_DELETING) || it->key_tag != s->key_tag) {
		/* Being deleted, or the element was reused for another key:
		 * ours is gone either way. */
		result = -1;
	} else if (cas != XDPKV_CAS_ANY && it->cas != cas) {
		result = 0;
	} else if (expired_by_ms != 0 &&
		   (it->expires_at_ms == 0 || it->expires_at_ms > expired_by_ms)) {
		/* Touched since it was seen expired (a touch keeps the CAS). */
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
	if (store_delete(s)) {
		/* The map refused (bucket lock busy): undo the mark, or the key
		 * would stay unwritable and unreadable for good. The item is as
		 * it was; the caller reports a busy store. */
		bpf_spin_lock(&it->lock);
		it->state &= ~XDPKV_ITEM_DELETING;
		bpf_spin_unlock(&it->lock);
		return DELETE_FAILED;
	}
	blob_free(out->blob_id, out->value_len);
	out->done = 1;
	return 1;
}

static __always_inline int delete_version(struct scratch *s, struct xdpkv_item *it, __u64 cas,
					  struct deleted *out)
{
	return delete_version_if(s, it, cas, 0, out);
}

/* Deletes the version `cas` that was seen expired, only if it still is at
 * `now_ms`: memcached's touch and Redis's EXPIRE keep the CAS unique, so the
 * CAS alone does not tell a touched item from the expired one. */
static __always_inline int delete_expired(struct scratch *s, struct xdpkv_item *it, __u64 cas,
					  __u64 now_ms, struct deleted *out)
{
	return delete_version_if(s, it, cas, now_ms, out);
}

/* Reads scratch->key as a GET does: a copy of its item under the item's
 * lock into scratch->item. Returns 1 for a hit; 0 if the key is absent,
 * being deleted, or expired (the version seen expired is deleted, if it
 * still is: a SET or a touch that landed since stays). */
static __always_inline int read_key(struct scratch *s)
{
	struct xdpkv_item *copy = (struct xdpkv_item *)s->item;
	struct xdpkv_item *it = store_lookup(s);
	struct deleted gone = {};
	__u64 now_ms;

	if (!it)
		return 0;
	copy_item_locked(s, it);
	if (copy->state & XDPKV_ITEM_DELETING)
		return 0;
	/* One clock read per hit: expiry and recency share it. */
	now_ms = now_boot_ms();
	if (expired(copy->expires_at_ms, now_ms)) {
		delete_expired(s, it, copy->cas, now_ms, &gone);
		return 0;
	}
	touch_recency(it, copy, (__u32)now_ms);
	return 1;
}

/* memcached's bump of an item an mg hit (do_item_bump): its first hit
 * marks it fetched, its second active, as userspace's FetchedBits; the
 * access time moved with read_key. Only the version scratch->item holds,
 * and only on those two hits: later ones find nothing to change and take
 * no lock. */
static __always_inline void mark_fetched(struct scratch *s)
{
	struct xdpkv_item *copy = (struct xdpkv_item *)s->item;
	__u16 bits = copy->mc_bits;
	struct xdpkv_item *it;

	if ((bits & XDPKV_MC_ACTIVE) && (bits & XDPKV_MC_FETCHED))
		return;
	it = store_lookup(s);
	if (!it)
		return;
	bpf_spin_lock(&it->lock);
	if (it->key_tag == s->key_tag && it->cas == copy->cas && it->mc_bits == bits &&
	    !(it->state & XDPKV_ITEM_DELETING))
		it->mc_bits = bits | (bits & XDPKV_MC_FETCHED ? XDPKV_MC_ACTIVE : XDPKV_MC_FETCHED);
	bpf_spin_unlock(&it->lock);
}

#endif /* XDPKV_LIB_STORE_H */
