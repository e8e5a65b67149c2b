// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpkv_store_write: userspace's batched writes (struct xdpkv_write_slot in
 * xdpkv_layout.h), run with BPF_PROG_TEST_RUN: the slot's writes in order,
 * each as the one-key path does it (a replace in place under the item's
 * lock, honouring XDPKV_ITEM_DELETING and key_tag, the replaced version's
 * blob freed; or an insert that reserves its memory first), until one
 * cannot be done here. A write not done changed nothing: userspace does it
 * and everything after it its own way, so the writes stay in order.
 * Compiled as part of xdpkv.bpf.c (one object, one skeleton).
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/scratch.h"
#include "lib/store_write.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XDPKV_WRITE_SLOTS);
	__type(key, __u32);
	__type(value, struct xdpkv_write_slot);
} xdpkv_write_slots SEC(".maps");

/* The increments done here: an integer of at most INCR_MAX_CHARS
 * characters ('-' included, so |value| < 10^18) plus an increment of at
 * most INCR_MAX_DELTA in magnitude cannot overflow 64 bits, so no overflow
 * check is needed; userspace takes anything bigger, with Redis's errors. */
#define INCR_MAX_CHARS 18
#define INCR_MAX_DELTA 1000000000000000000LL
#define INCR_MAX_DIGITS 19 /* |sum| < 2 * 10^18 */

/* Byte `i` (< 24) of the three little-endian words w0, w1, w2. */
static __always_inline __u32 word_byte(__u64 w0, __u64 w1, __u64 w2, __u32 i)
{
	__u64 w = i < 8 ? w0 : i < 16 ? w1 : w2;

	return (w >> ((i & 7) * 8)) & 0xff;
}

/* Redis's string2ll (protocol/values.cc, ParseRedisInteger) for the values
 * the kernel takes on: a canonical decimal of 1..INCR_MAX_CHARS characters
 * in the first three words of an inline value. Returns 1 and *out; 0 for
 * anything else (not an integer, or longer). */
static __always_inline int parse_small_integer(__u64 w0, __u64 w1, __u64 w2, __u32 len,
					       __s64 *out)
{
	__u32 start = 0, c = word_byte(w0, w1, w2, 0);
	__s64 v = 0;

	if (len == 0 || len > INCR_MAX_CHARS)
		return 0;
	if (len == 1 && c == '0') {
		*out = 0;
		return 1;
	}
	if (c == '-')
		start = 1;
	if (start >= len)
		return 0;
	c = word_byte(w0, w1, w2, start);
	if (c < '1' || c > '9')
		return 0;
	for (__u32 i = 0; i < INCR_MAX_CHARS; i++) {
		if (i >= len)
			break;
		if (i < start)
			continue;
		c = word_byte(w0, w1, w2, i);
		if (c < '0' || c > '9')
			return 0;
		v = v * 10 + (c - '0');
	}
	*out = start ? -v : v;
	return 1;
}

/* n in decimal as Redis writes it (no leading zeros, '-' if negative),
 * zero-padded, into three little-endian words; returns its length.
 * |n| < 10^19. Each digit, last first, is put in front of those after it
 * (the words shifted up a byte): one loop, one exit per length. */
static __always_inline __u32 format_integer(__s64 n, __u64 *w0, __u64 *w1, __u64 *w2)
{
	__u64 mag = n < 0 ? (__u64)0 - (__u64)n : (__u64)n;
	__u64 a = 0, b = 0, c = 0, d;
	__u32 len = 0;

	for (int i = 0; i < INCR_MAX_DIGITS; i++) {
		d = '0' + mag % 10;
		mag /= 10;
		c = c << 8 | b >> 56;
		b = b << 8 | a >> 56;
		a = a << 8 | d;
		len++;
		if (!mag)
			break;
	}
	if (n < 0) {
		c = c << 8 | b >> 56;
		b = b << 8 | a >> 56;
		a = a << 8 | '-';
		len++;
	}
	*w0 = a;
	*w1 = b;
	*w2 = c;
	return len;
}

/* SET: slot->items[i] over whatever version of the key is there (its
 * blob freed), or as a new entry within the memory limit. */
static __always_inline int write_set(struct scratch *s, struct xdpkv_write_slot *slot,
				     struct xdpkv_write_entry *e, __u32 i)
{
	struct xdpkv_item *item = (struct xdpkv_item *)s->item;
	struct xdpkv_item old;
	struct xdpkv_item *it;

	__builtin_memcpy(s->item, slot->items[i], sizeof(struct xdpkv_item));
	if (item->value_len > XDPKV_MAX_VALUE_LEN ||
	    (item->blob_id == 0 && item->value_len > XDPKV_INLINE_VALUE_MAX))
		return 0;
	item->key_tag = s->key_tag;
	item->state = 0;
	it = store_lookup(s);
	if (it) {
		/* Being deleted, or reused for another key: userspace waits
		 * for the deleter and inserts, as its one-key write does. */
		if (replace_locked(it, item, s->key_tag, XDPKV_CAS_ANY, &old, 0) != REPLACED)
			return 0;
		blob_free(old.blob_id, old.value_len);
		e->outcome = XDPKV_WRITE_REPLACED;
		e->old_expires_at_ms = old.expires_at_ms;
	} else {
		/* Past the limit (userspace evicts), full, or inserted by
		 * someone else meanwhile: userspace's. */
		if (store_insert(s))
			return 0;
		e->outcome = XDPKV_WRITE_INSERTED;
		e->old_expires_at_ms = 0;
	}
	e->cas = item->cas;
	return 1;
}

/* INCRBY e->number, as Store::Mutate does it but without a syscall: the
 * item copied under its lock, the sum computed from the copy, then written
 * in place under the lock only if the item is still that version (CAS and
 * expiry: a touch keeps the CAS) — keeping its flags and expiry, its
 * memcached flags cleared and its recency now, as Redis's INCR writes it.
 * Only for a live string item whose value is an inline small decimal
 * integer; an absent key becomes the increment (an insert). */
static __always_inline int write_incrby(struct scratch *s, struct xdpkv_write_entry *e)
{
	struct xdpkv_item *copy = (struct xdpkv_item *)s->item;
	__u64 *words = (__u64 *)copy->inline_value;
	__s64 delta = e->number, current = 0, sum;
	__u64 now_ms = now_boot_ms(), cas, w0, w1, w2;
	struct xdpkv_item *it;
	int done = 0;
	__u32 len;

	if (delta > INCR_MAX_DELTA || delta < -INCR_MAX_DELTA)
		return 0;
	it = store_lookup(s);
	if (it) {
		copy_item_locked(s, it);
		if ((copy->state & XDPKV_ITEM_DELETING) || copy->type != XDPKV_TYPE_STRING ||
		    copy->blob_id != 0 || expired(copy->expires_at_ms, now_ms) ||
		    !parse_small_integer(words[0], words[1], words[2], copy->value_len, &current))
			return 0;
	}
	sum = current + delta;
	len = format_integer(sum, &w0, &w1, &w2);
	cas = __sync_fetch_and_add(&xdpkv_next_cas, 1);
	if (!it) {
		__builtin_memset(s->item, 0, sizeof(struct xdpkv_item));
		words[0] = w0;
		words[1] = w1;
		words[2] = w2;
		copy->value_len = len;
		copy->cas = cas;
		copy->key_tag = s->key_tag;
		copy->atime_ms = (__u32)now_ms;
		copy->type = XDPKV_TYPE_STRING;
		copy->lfu = XDPKV_LFU_INIT; /* a new item's (in place, it keeps its own) */
		if (store_insert(s))
			return 0;
		e->outcome = XDPKV_WRITE_INSERTED;
		e->old_expires_at_ms = 0;
	} else {
		bpf_spin_lock(&it->lock);
		if (it->key_tag == s->key_tag && !(it->state & XDPKV_ITEM_DELETING) &&
		    it->cas == copy->cas && it->expires_at_ms == copy->expires_at_ms) {
			__u64 *value = (__u64 *)it->inline_value;

			/* The old value was at most 18 bytes: these words held
			 * all of it, and past them the item is zeros. */
			value[0] = w0;
			value[1] = w1;
			value[2] = w2;
			it->value_len = len;
			it->cas = cas;
			it->mc_bits = 0;
			it->atime_ms = (__u32)now_ms;
			done = 1;
		}
		bpf_spin_unlock(&it->lock);
		if (!done)
			return 0; /* written meanwhile: userspace reads it again */
		e->outcome = XDPKV_WRITE_REPLACED;
		e->old_expires_at_ms = copy->expires_at_ms;
	}
	e->number = sum;
	e->cas = cas;
	return 1;
}

/* bpf_loop's body: write `index` of the slot; stops the loop at the first
 * write not done. */
static long write_slot_step(__u64 index, void *slot_index)
{
	__u32 zero = 0, i = index & (XDPKV_WRITE_BATCH - 1), n;
	struct xdpkv_write_slot *slot;
	struct xdpkv_write_entry *e;
	struct scratch *s;
	int done = 0;

	s = bpf_map_lookup_elem(&xdpkv_scratch, &zero);
	slot = bpf_map_lookup_elem(&xdpkv_write_slots, slot_index);
	if (!s || !slot)
		return 1;
	__builtin_memcpy(&s->key, &slot->keys[i], sizeof(s->key));
	n = s->key.len & XDPKV_KEY_LEN_MASK;
	if (n == 0 || n > XDPKV_MAX_KEY_LEN)
		return 1;
	s->key_tag = xdpkv_key_tag(&s->key);
	e = &slot->entries[i];
	if (e->op == XDPKV_WRITE_OP_SET)
		done = write_set(s, slot, e, i);
	else if (e->op == XDPKV_WRITE_OP_INCRBY)
		done = write_incrby(s, e);
	if (!done)
		return 1;
	slot->done = i + 1;
	return 0;
}

SEC("xdp")
int xdpkv_store_write(struct xdp_md *ctx)
{
	struct xdpkv_write_request request;
	struct xdpkv_write_slot *slot;
	__u32 count;

	if (bpf_xdp_load_bytes(ctx, 0, &request, sizeof(request)))
		return XDPKV_CAS_BAD_REQUEST;
	if (request.slot >= XDPKV_WRITE_SLOTS)
		return XDPKV_CAS_BAD_REQUEST;
	slot = bpf_map_lookup_elem(&xdpkv_write_slots, &request.slot);
	if (!slot)
		return XDPKV_CAS_BAD_REQUEST;
	slot->done = 0;
	count = slot->count;
	if (count > XDPKV_WRITE_BATCH)
		return XDPKV_CAS_BAD_REQUEST;
	bpf_loop(count, write_slot_step, &request.slot, 0);
	return XDPKV_CAS_STORED;
}
