/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The store's writes: in place under the item's lock (replace_locked), or
 * as a new entry; out-of-line values into the blob maps; a request's
 * value with memcached's exptime rules (xdpkv_layout.h).
 */
#ifndef XDPKV_LIB_STORE_WRITE_H
#define XDPKV_LIB_STORE_WRITE_H

#include "lib/store.h"

/* Outcome of write_item. */
enum write_result {
	WRITE_STORED = 0,
	WRITE_FULL = 1,     /* the map is full */
	WRITE_DELETING = 2, /* the entry is being deleted: try again later */
	WRITE_FAILED = 3,   /* another map error, or lost races twice */
	WRITE_NO_ROOM = 4,  /* past the memory limit */
	WRITE_EXISTS = 5,   /* a compare-and-swap met another version */
	WRITE_NOT_FOUND = 6, /* a compare-and-swap found no item */
};

/* Outcome of replace_locked. */
enum replace_result {
	REPLACED = 0,
	REPLACE_REUSED = 1,   /* the element holds another key now */
	REPLACE_DELETING = 2, /* marked XDPKV_ITEM_DELETING */
	REPLACE_CHANGED = 3,  /* not the expected version */
};

/* The one in-place write of an existing item (the kernel's SET and the
 * store program's replace): under the item's lock, if it still holds our
 * key (`key_tag`), is not being deleted and is the `expected_cas` version
 * (XDPKV_CAS_ANY: any), writes `item`'s fields and inline value over it.
 * The replaced version goes to *old: whole, or (save_inline 0) only what
 * freeing its blob needs, and its expiry. */
static __always_inline int replace_locked(struct xdpkv_item *it, const struct xdpkv_item *item,
					  __u64 key_tag, __u64 expected_cas,
					  struct xdpkv_item *old, int save_inline)
{
	__u64 *dst = (__u64 *)it->inline_value;
	const __u64 *src = (const __u64 *)item->inline_value;
	__u64 *saved = (__u64 *)old->inline_value;
	int result = REPLACED;

	bpf_spin_lock(&it->lock);
	if (it->key_tag != key_tag) {
		result = REPLACE_REUSED;
	} else if (it->state & XDPKV_ITEM_DELETING) {
		result = REPLACE_DELETING;
	} else if (expected_cas != XDPKV_CAS_ANY && it->cas != expected_cas) {
		result = REPLACE_CHANGED;
	} else {
		old->value_len = it->value_len;
		old->blob_id = it->blob_id;
		old->expires_at_ms = it->expires_at_ms;
		if (save_inline) {
			old->cas = it->cas;
			old->flags = it->flags;
			old->state = it->state;
			old->key_tag = it->key_tag;
		}
		it->value_len = item->value_len;
		it->cas = item->cas;
		it->expires_at_ms = item->expires_at_ms;
		it->flags = item->flags;
		it->blob_id = item->blob_id;
		it->atime_ms = item->atime_ms;
		it->type = item->type;
		it->mc_bits = item->mc_bits;
		if (save_inline)
			for (int i = 0; i < XDPKV_INLINE_VALUE_MAX / 8; i++)
				saved[i] = dst[i];
		for (int i = 0; i < XDPKV_INLINE_VALUE_MAX / 8; i++)
			dst[i] = src[i];
	}
	bpf_spin_unlock(&it->lock);
	return result;
}

/* Stores scratch->item under scratch->key: in place under the entry's
 * lock when there is a live entry, else as a new entry. The version it
 * replaced loses its blob. With request.compare_cas (ms C), only over
 * that version: WRITE_EXISTS if another is there, WRITE_NOT_FOUND if none. */
static __always_inline int write_item(struct scratch *s)
{
	struct xdpkv_item *item = (struct xdpkv_item *)s->item;
	__u64 expected_cas = s->request.compare_cas;

	item->key_tag = s->key_tag;
	for (int attempt = 0; attempt < 2; attempt++) {
		struct xdpkv_item *it = store_lookup(s);
		struct xdpkv_item old;
		long err;

		if (it) {
			int replaced = replace_locked(it, item, s->key_tag, expected_cas, &old, 0);

			if (replaced == REPLACE_REUSED)
				continue; /* another key's now: look ours up again */
			if (replaced == REPLACE_DELETING)
				return expected_cas == XDPKV_CAS_ANY ? WRITE_DELETING : WRITE_NOT_FOUND;
			if (replaced == REPLACE_CHANGED)
				return WRITE_EXISTS;
			blob_free(old.blob_id, old.value_len);
			return WRITE_STORED;
		}
		if (expected_cas != XDPKV_CAS_ANY)
			return WRITE_NOT_FOUND;
		item->state = 0;
		err = store_insert(s);
		if (err == 0)
			return WRITE_STORED;
		if (err == -ENOSPC)
			return WRITE_NO_ROOM;
		if (err == -E2BIG || err == -ENOMEM)
			return WRITE_FULL;
		if (err != -EEXIST)
			return WRITE_FAILED;
		/* Someone inserted first: write over theirs. */
	}
	return WRITE_FAILED;
}

/* Inserts scratch->blob as the out-of-line value `id` of `len` bytes
 * (at most XDPKV_WRITE_VALUE_MAX) into its class's map, never over another. */
static __always_inline long blob_insert_raw(struct scratch *s, __u64 id, __u32 len)
{
	if (len <= 256)
		return bpf_map_update_elem(&xdpkv_blobs_256, &id, &s->blob, BPF_NOEXIST);
	if (len <= 512)
		return bpf_map_update_elem(&xdpkv_blobs_512, &id, &s->blob, BPF_NOEXIST);
	if (len <= 1024)
		return bpf_map_update_elem(&xdpkv_blobs_1k, &id, &s->blob, BPF_NOEXIST);
	return bpf_map_update_elem(&xdpkv_blobs_2k, &id, &s->blob, BPF_NOEXIST);
}

/* blob_insert_raw within the memory limit (-ENOSPC past it). */
static __always_inline long blob_insert(struct scratch *s, __u64 id, __u32 len)
{
	__u32 cls = len <= 256 ? 0 : len <= 512 ? 1 : len <= 1024 ? 2 : 3;
	__u32 cost = xdpkv_memory.blob_cost[cls & 3];
	long err;

	if (memory_reserve(cost))
		return -ENOSPC;
	err = blob_insert_raw(s, id, len);
	if (err)
		memory_release(cost);
	return err;
}

/* Stores scratch->item (value_len, flags, expiry and a fresh CAS set) with
 * the `len`-byte value at scratch->req + off out of line, in
 * BpfStore::WriteItem's order: the blob first, under the item's CAS as its
 * id (never used before), then the item pointing at it (write_item frees
 * the replaced version's blob). If the item cannot be written, the new
 * blob is deleted again. */
static __always_inline int write_blob_item(struct scratch *s, __u32 off, __u32 len)
{
	struct xdpkv_item *item = (struct xdpkv_item *)s->item;
	__u64 id = item->cas;
	struct bpf_dynptr request;
	int result;
	long err;

	if (len > XDPKV_WRITE_VALUE_MAX)
		return WRITE_FAILED;
	/* Nothing but what this write sent: the class's bytes past the
	 * value are zero, as userspace's are. */
	for (__u32 i = 0; i < XDPKV_WRITE_VALUE_MAX / 8; i++) {
		((__u64 *)s->blob.value)[i] = 0;
		NO_MEMCPY_IDIOM();
	}
	s->blob.header.blob_id = id;
	s->blob.header.value_len = len;
	s->blob.header.key_len = s->key.len;
	s->blob.header.created_ms = now_boot_ms();
	__builtin_memcpy(s->blob.header.key, s->key.bytes, XDPKV_KEY_BYTES_MAX);
	if (bpf_dynptr_from_mem(s->req, sizeof(s->req), 0, &request) ||
	    bpf_dynptr_read(s->blob.value, len, &request, off, 0))
		return WRITE_FAILED;
	err = blob_insert(s, id, len);
	if (err == -ENOSPC)
		return WRITE_NO_ROOM;
	if (err)
		return err == -E2BIG || err == -ENOMEM ? WRITE_FULL : WRITE_FAILED;
	item->blob_id = id;
	result = write_item(s);
	if (result != WRITE_STORED)
		blob_free(id, len);
	return result;
}

/* bpf_loop's body, run once: write_blob_item for the request's value,
 * its result in request.status. As a callback it is verified once, not
 * once for every path into a SET (which cost 80k verified instructions). */
static long write_blob_step(__u64 index, void *unused)
{
	struct scratch *s;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&xdpkv_scratch, &zero);
	if (!s)
		return 1;
	s->request.status = write_blob_item(s, s->request.value_off, s->request.value_len);
	return 1;
}

/* write_blob_item through write_blob_step. */
static __always_inline int store_blob_value(struct scratch *s)
{
	s->request.status = WRITE_FAILED;
	bpf_loop(1, write_blob_step, NULL, 0);
	return s->request.status;
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

/* The write of a set, RESP SET or ms: the request's value (at value_off,
 * value_len bytes), flags and exptime as a new version of scratch->key,
 * inline or out of line, under a fresh CAS (request.reply_cas once
 * written; 0 otherwise). An exptime already past stores nothing readable,
 * as memcached does: the old version is deleted. `with_cas` (a constant:
 * ms's C): only over the version request.compare_cas, as mg reads it
 * (expired, or of another type: WRITE_NOT_FOUND; another version:
 * WRITE_EXISTS); the write checks it again under the item's lock.
 * Returns an enum write_result. */
static __always_inline int store_request_value(struct scratch *s, vreq *req, int with_cas)
{
	struct xdpkv_item *item = (struct xdpkv_item *)s->item;
	__s64 expiry = expiry_from_exptime(req->exptime, now_boot_ms());
	__u64 cas = with_cas ? req->compare_cas : XDPKV_CAS_ANY;

	req->reply_cas = 0;
	if (with_cas) {
		if (!read_key(s) || item->type != XDPKV_TYPE_STRING)
			return WRITE_NOT_FOUND;
		if (item->cas != cas)
			return WRITE_EXISTS;
	}
	if (expiry < 0) {
		struct xdpkv_item *it = store_lookup(s);
		struct deleted gone = {};
		int deleted = 1;

		if (it)
			deleted = delete_version(s, it, cas, &gone);
		else if (with_cas)
			deleted = -1; /* gone since it was compared */
		if (deleted == 0)
			return WRITE_EXISTS;
		if (deleted == -1 && with_cas)
			return WRITE_NOT_FOUND;
		return deleted < 0 ? WRITE_DELETING : WRITE_STORED;
	}
	item->value_len = req->value_len;
	item->flags = req->flags;
	item->expires_at_ms = (__u64)expiry;
	item->state = 0;
	item->lfu = XDPKV_LFU_INIT; /* a new item's; a rewrite keeps the old one's */
	item->blob_id = 0;
	item->atime_ms = (__u32)now_boot_ms();
	item->type = XDPKV_TYPE_STRING;
	item->mc_bits = 0;
	item->cas = __sync_fetch_and_add(&xdpkv_next_cas, 1);
	__u32 len = req->value_len, off = req->value_off;
	/* Values over the inline bytes go out of line (inline: 0). */
	__u32 inline_len = len <= XDPKV_INLINE_VALUE_MAX ? len : 0;
	__u64 *words = (__u64 *)item->inline_value;
	int result;

	/* Whole words from the request, then zero what follows the value so
	 * stored items hold nothing but what was sent. */
	for (__u32 i = 0; i < XDPKV_INLINE_VALUE_MAX / 8; i++)
		words[i] = i * 8 < inline_len ? *(__u64 *)(s->req + ((off + i * 8) & BUF_MASK)) : 0;
	for (__u32 i = 0; i < 7; i++) {
		__u32 tail = inline_len + i;

		if (tail >= XDPKV_INLINE_VALUE_MAX || (tail & 7) == 0)
			break;
		item->inline_value[tail & (XDPKV_INLINE_VALUE_MAX - 1)] = 0;
	}
	result = inline_len == len ? write_item(s) : store_blob_value(s);
	if (result == WRITE_STORED)
		req->reply_cas = item->cas;
	return result;
}

/* As userspace, as memcached: a write that cannot be stored unlinks the
 * key's old value (none if the key was new). */
static __always_inline void unlink_key(struct scratch *s)
{
	struct xdpkv_item *it = store_lookup(s);
	struct deleted gone = {};

	if (it)
		delete_version(s, it, XDPKV_CAS_ANY, &gone);
}

#endif /* XDPKV_LIB_STORE_WRITE_H */
