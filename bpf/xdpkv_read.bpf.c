// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpkv_store_read: userspace's batched reads (struct xdpkv_read_slot in
 * xdpkv_layout.h), run with BPF_PROG_TEST_RUN: each key of a slot read as
 * the fast path reads it, a copy of its item under the item's lock, into
 * the slot. Compiled as part of xdpkv.bpf.c (one object, one skeleton).
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/scratch.h"
#include "lib/store.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XDPKV_READ_SLOTS);
	__type(key, __u32);
	__type(value, struct xdpkv_read_slot);
} xdpkv_read_slots SEC(".maps");

/* bpf_loop's body: key `index` of the slot. */
static long read_slot_step(__u64 index, void *slot_index)
{
	__u32 zero = 0, i = index & (XDPKV_READ_BATCH - 1);
	struct xdpkv_read_slot *slot;
	struct xdpkv_item *it, *copy;
	struct scratch *s;

	s = bpf_map_lookup_elem(&xdpkv_scratch, &zero);
	slot = bpf_map_lookup_elem(&xdpkv_read_slots, slot_index);
	if (!s || !slot)
		return 1;
	__builtin_memcpy(&s->key, &slot->keys[i], sizeof(s->key));
	if ((s->key.len & XDPKV_KEY_LEN_MASK) == 0 ||
	    (s->key.len & XDPKV_KEY_LEN_MASK) > XDPKV_MAX_KEY_LEN) {
		slot->found[i] = 0;
		return 0;
	}
	s->key_tag = xdpkv_key_tag(&s->key);
	it = store_lookup(s);
	if (!it) {
		slot->found[i] = 0;
		return 0;
	}
	copy_item_locked(s, it);
	copy = (struct xdpkv_item *)s->item;
	/* Recency for eviction, as a kernel hit's (read_key); the copy says
	 * so, so userspace does not count the hit again. */
	if (!(copy->state & XDPKV_ITEM_DELETING))
		touch_recency(it, copy, (__u32)now_boot_ms());
	__builtin_memcpy(slot->items[i], s->item, sizeof(struct xdpkv_item));
	slot->found[i] = 1;
	return 0;
}

SEC("xdp")
int xdpkv_store_read(struct xdp_md *ctx)
{
	struct xdpkv_read_request request;
	struct xdpkv_read_slot *slot;
	__u32 count;

	if (bpf_xdp_load_bytes(ctx, 0, &request, sizeof(request)))
		return XDPKV_CAS_BAD_REQUEST;
	if (request.slot >= XDPKV_READ_SLOTS)
		return XDPKV_CAS_BAD_REQUEST;
	slot = bpf_map_lookup_elem(&xdpkv_read_slots, &request.slot);
	if (!slot)
		return XDPKV_CAS_BAD_REQUEST;
	count = slot->count;
	if (count > XDPKV_READ_BATCH)
		return XDPKV_CAS_BAD_REQUEST;
	bpf_loop(count, read_slot_step, &request.slot, 0);
	return XDPKV_CAS_STORED;
}
