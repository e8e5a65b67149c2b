// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpkv_store_cas: userspace's writes and deletes of existing items, run
 * with BPF_PROG_TEST_RUN on a struct xdpkv_cas_request (xdpkv_layout.h), so
 * they take the same item spin lock as the fast path. Compiled as part of
 * xdpkv.bpf.c (one object, one skeleton: see there).
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/scratch.h"
#include "lib/store_write.h"

SEC("xdp")
int xdpkv_store_cas(struct xdp_md *ctx)
{
	struct xdpkv_cas_request *cas_req;
	struct xdpkv_item *old, *it;
	struct deleted gone = {};
	struct scratch *s;
	__u64 expected, old_blob;
	__u32 zero = 0, old_len;
	int result;

	s = bpf_map_lookup_elem(&xdpkv_scratch, &zero);
	if (!s)
		return XDPKV_CAS_BAD_REQUEST;
	_Static_assert(sizeof(struct xdpkv_cas_request) <= XDPKV_REQ_PEEK, "fits the scratch");
	if (bpf_xdp_load_bytes(ctx, 0, s->req, sizeof(struct xdpkv_cas_request)))
		return XDPKV_CAS_BAD_REQUEST;
	cas_req = &s->cas_request;
	if ((cas_req->key.len & XDPKV_KEY_LEN_MASK) == 0 ||
	    (cas_req->key.len & XDPKV_KEY_LEN_MASK) > XDPKV_MAX_KEY_LEN ||
	    cas_req->item.value_len > XDPKV_MAX_VALUE_LEN)
		return XDPKV_CAS_BAD_REQUEST;
	__builtin_memcpy(&s->key, &cas_req->key, sizeof(s->key));
	s->key_tag = xdpkv_key_tag(&s->key);
	expected = cas_req->expected_cas;
	it = store_lookup(s);
	if (!it)
		return XDPKV_CAS_NOT_FOUND;
	if (cas_req->op == XDPKV_CAS_OP_RECENCY) {
		int ours;

		bpf_spin_lock(&it->lock);
		ours = !(it->state & XDPKV_ITEM_DELETING) && it->key_tag == s->key_tag;
		if (ours) {
			it->atime_ms = cas_req->item.atime_ms;
			it->lfu = cas_req->item.lfu;
		}
		bpf_spin_unlock(&it->lock);
		return ours ? XDPKV_CAS_STORED : XDPKV_CAS_NOT_FOUND;
	}
	/* The version acted on goes back to the caller in the request's item. */
	old = (struct xdpkv_item *)s->item;
	if (cas_req->op == XDPKV_CAS_OP_DELETE || cas_req->op == XDPKV_CAS_OP_DELETE_EXPIRED) {
		result = delete_version_if(s, it, expected,
					   cas_req->op == XDPKV_CAS_OP_DELETE_EXPIRED
						   ? cas_req->item.expires_at_ms
						   : 0,
					   &gone);
		if (result == DELETE_FAILED)
			return XDPKV_CAS_BUSY;
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
	if (cas_req->op == XDPKV_CAS_OP_SET_META) {
		__u32 mc_bits = cas_req->item.mc_bits, atime_ms = cas_req->item.atime_ms;
		__u64 key_tag = s->key_tag;

		result = XDPKV_CAS_STORED;
		bpf_spin_lock(&it->lock);
		if (it->key_tag != key_tag || (it->state & XDPKV_ITEM_DELETING)) {
			result = XDPKV_CAS_NOT_FOUND;
		} else if (expected != XDPKV_CAS_ANY && it->cas != expected) {
			result = XDPKV_CAS_EXISTS;
		} else {
			it->mc_bits = mc_bits;
			it->atime_ms = atime_ms;
		}
		bpf_spin_unlock(&it->lock);
		return result;
	}
	switch (replace_locked(it, &cas_req->item, s->key_tag, expected, old, 1)) {
	case REPLACED:
		break;
	case REPLACE_CHANGED:
		return XDPKV_CAS_EXISTS;
	default: /* being deleted, or reused for another key since the lookup */
		return XDPKV_CAS_NOT_FOUND;
	}
	old_blob = old->blob_id;
	old_len = old->value_len;
	blob_free(old_blob, old_len);
	bpf_xdp_store_bytes(ctx, __builtin_offsetof(struct xdpkv_cas_request, item), old,
			    sizeof(struct xdpkv_item));
	return XDPKV_CAS_STORED;
}
