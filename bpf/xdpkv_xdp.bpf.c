// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The XDP fast path, xdpkv_xdp: one memcached get/gets (one key or many),
 * set or delete, or RESP GET/MGET/SET/DEL per datagram, answered from the
 * store maps with XDP_TX;
 * everything else XDP_PASSes to the userspace server, which serves the same
 * maps (docs/architecture.md). Compiled as part of xdpkv.bpf.c (one object,
 * one skeleton: see there); the contract is stated there too.
 */
#include "lib/common.h"
#include "lib/counters.h"
#include "lib/maps.h"
#include "lib/scratch.h"
#include "lib/parse_l2l4.h"
#include "lib/admission.h"
#include "lib/parse_memcache.h"
#include "lib/parse_resp.h"
#include "lib/store.h"
#include "lib/reply.h"
#include "lib/tc_handoff.h"

/* ---- commands --------------------------------------------------------------- */

/* A hit on an out-of-line value: answered if the reply fits one datagram
 * (memcached's UDP limit); else handed to the TC tier; if the blob changed
 * since the item was read, passed to userspace. */
static __always_inline int get_blob_hit(struct xdp_md *ctx, struct scratch *s, int ipv6,
					vreq *req)
{
	struct xdpkv_item *copy = (struct xdpkv_item *)s->item;
	__u32 pos, suffix;

	if (copy->value_len > XDPKV_REPLY_MAX)
		return hand_to_tc(ctx, req, XDPKV_PASS_BIG_VALUE);
	pos = put_value_line(s, req, FRAME_HEADER_LEN);
	suffix = req->proto == XDPKV_PROTO_RESP ? 2 : 7;
	if (pos + copy->value_len + suffix > XDPKV_REPLY_MAX)
		return hand_to_tc(ctx, req, XDPKV_PASS_BIG_VALUE);
	if (put_blob(s, pos, copy->blob_id, copy->value_len))
		return finish(req->proto, XDPKV_PASS_BUSY, XDP_PASS);
	pos = opaque(req, pos + copy->value_len);
	pos = put_value_end(s, req, pos);
	return send_reply(ctx, s, ipv6, pos, req->proto, XDPKV_GET_HIT, 1);
}

/* MGET: answered if the whole reply fits one datagram, else by the TC
 * tier. memcached's get k1 k2 ... / gets: the TC tier's (memcached frames
 * every key's reply object apart: several datagrams). */
static __always_inline int do_multi_get(struct xdp_md *ctx, struct scratch *s, int ipv6,
					vreq *req)
{
	__u32 reason;
	int n;

	if (req->proto == XDPKV_PROTO_MEMCACHE)
		return hand_to_tc(ctx, req, XDPKV_PASS_REPLY_TOO_BIG);
	n = build_multi_get(s, req);
	if (n == -XDPKV_PASS_REPLY_TOO_BIG)
		return hand_to_tc(ctx, req, XDPKV_PASS_REPLY_TOO_BIG);
	if (n < 0) {
		/* A reason the verifier sees bounded in the register used. */
		reason = opaque(req, -n);
		if (reason >= XDPKV_REASON_COUNT)
			reason = XDPKV_PASS_BUSY;
		return finish(req->proto, reason, XDP_PASS);
	}
	return send_reply(ctx, s, ipv6, n, req->proto, XDPKV_MULTI_GET, 1);
}

static __always_inline int do_get(struct xdp_md *ctx, struct scratch *s, int ipv6, vreq *req)
{
	struct xdpkv_item *copy = (struct xdpkv_item *)s->item;
	__u32 pos;
	__u32 n;

	int hit = read_key(s);

	/* Another type: Redis answers WRONGTYPE (userspace's words); to
	 * memcached, which has no types, it is not there. */
	if (hit && copy->type != XDPKV_TYPE_STRING) {
		if (req->proto == XDPKV_PROTO_RESP)
			return finish(req->proto, XDPKV_PASS_WRONGTYPE, XDP_PASS);
		hit = 0;
	}
	if (!hit) {
		if (req->proto == XDPKV_PROTO_RESP)
			n = REPLY_TEXT(s, "$-1\r\n");
		else
			n = REPLY_TEXT(s, "END\r\n");
		return send_reply(ctx, s, ipv6, n, req->proto, XDPKV_GET_MISS, 1);
	}
	if (copy->blob_id != 0)
		return get_blob_hit(ctx, s, ipv6, req);
	if (copy->value_len > XDPKV_INLINE_VALUE_MAX)
		return finish(req->proto, XDPKV_PASS_BIG_VALUE, XDP_PASS);
	pos = put_value_line(s, req, FRAME_HEADER_LEN);
	pos = opaque(req, put_words(s->reply, pos, copy->inline_value, 0, copy->value_len,
				    XDPKV_INLINE_VALUE_MAX / 8));
	pos = put_value_end(s, req, pos);
	return send_reply(ctx, s, ipv6, pos, req->proto, XDPKV_GET_HIT, 1);
}

static __always_inline int do_set(struct xdp_md *ctx, struct scratch *s, int ipv6, vreq *req)
{
	struct xdpkv_item *item = (struct xdpkv_item *)s->item;
	/* One clock read: expiry and recency share it. */
	__u64 now_ms = now_boot_ms();
	__s64 expiry = expiry_from_exptime(req->exptime, now_ms);
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
		item->atime_ms = (__u32)now_ms;
		item->type = XDPKV_TYPE_STRING;
		item->cas = __sync_fetch_and_add(&xdpkv_next_cas, 1);
		__u32 len = req->value_len, off = req->value_off;
		/* Values over the inline bytes go out of line (inline: 0). */
		__u32 inline_len = len <= XDPKV_INLINE_VALUE_MAX ? len : 0;
		__u64 *words = (__u64 *)item->inline_value;

		/* Whole words from the request, then zero what follows the
		 * value so stored items hold nothing but what was sent. */
		for (__u32 i = 0; i < XDPKV_INLINE_VALUE_MAX / 8; i++)
			words[i] = i * 8 < inline_len ? *(__u64 *)(s->req + ((off + i * 8) & BUF_MASK))
						      : 0;
		for (__u32 i = 0; i < 7; i++) {
			__u32 tail = inline_len + i;

			if (tail >= XDPKV_INLINE_VALUE_MAX || (tail & 7) == 0)
				break;
			item->inline_value[tail & (XDPKV_INLINE_VALUE_MAX - 1)] = 0;
		}
		result = inline_len == len ? write_item(s) : store_blob_value(s);
	}
	/* Past the memory limit: userspace evicts and writes, where the
	 * policy allows eviction; else the peers' out-of-memory error. */
	if (result == WRITE_NO_ROOM && xdpkv_memory.evicts)
		return finish(req->proto, XDPKV_PASS_NO_MEMORY, XDP_PASS);
	if (result == WRITE_FULL || result == WRITE_NO_ROOM) {
		/* As userspace, as memcached: a SET that cannot be stored
		 * unlinks the key's old value (none if the key was new). */
		if (req->proto == XDPKV_PROTO_MEMCACHE) {
			struct xdpkv_item *it = store_lookup(s);
			struct deleted gone = {};

			if (it)
				delete_version(s, it, XDPKV_CAS_ANY, &gone);
		}
		if (req->proto == XDPKV_PROTO_RESP)
			n = REPLY_TEXT(s, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
		else
			n = REPLY_TEXT(s, "SERVER_ERROR out of memory storing object\r\n");
		return send_reply(ctx, s, ipv6, n, req->proto, XDPKV_STORE_FULL, 0);
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
	return send_reply(ctx, s, ipv6, n, req->proto, XDPKV_SET, 0);
}

static __always_inline int do_delete(struct xdp_md *ctx, struct scratch *s, int ipv6,
				     vreq *req)
{
	struct xdpkv_item *it = store_lookup(s);
	enum xdpkv_reason reason = XDPKV_DELETE_MISS;
	struct deleted gone = {};
	int deleted = 0;
	__u32 n;

	if (it)
		deleted = delete_version(s, it, XDPKV_CAS_ANY, &gone);
	if (deleted == DELETE_FAILED)
		return finish(req->proto, XDPKV_PASS_BUSY, XDP_PASS);
	/* An expired item is already gone as far as clients know; an item
	 * someone else is deleting too. */
	if (deleted > 0 && !expired(gone.expires_at_ms, now_boot_ms()))
		reason = XDPKV_DELETE_HIT;
	if (req->noreply)
		return finish(req->proto, reason, XDP_DROP);
	if (req->proto == XDPKV_PROTO_RESP)
		n = reason == XDPKV_DELETE_HIT ? REPLY_TEXT(s, ":1\r\n")
					       : REPLY_TEXT(s, ":0\r\n");
	else
		n = reason == XDPKV_DELETE_HIT ? REPLY_TEXT(s, "DELETED\r\n")
					       : REPLY_TEXT(s, "NOT_FOUND\r\n");
	return send_reply(ctx, s, ipv6, n, req->proto, reason, 0);
}

/* ---- entry ------------------------------------------------------------------ */

SEC("xdp")
int xdpkv_xdp(struct xdp_md *ctx)
{
	struct l4_request l4;
	struct scratch *s;
	vreq *req;
	__u32 proto;
	__u32 zero = 0, payload_off, payload_len;
	int ipv6;
	int reason;

	reason = parse_l2l4(ctx, &l4);
	if (reason != L2L4_OURS)
		return reason;
	reason = admit_request(ctx, &l4);
	if (reason != L2L4_OURS)
		return reason;
	proto = l4.proto;
	payload_off = l4.payload_off;
	payload_len = l4.payload_len;
	ipv6 = l4.ipv6;
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
	req->payload_off = payload_off;
	req->len = payload_len;
	req->ipv6 = ipv6;
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
		if (req->multi)
			return do_multi_get(ctx, s, ipv6, req);
		return do_get(ctx, s, ipv6, req);
	case OP_SET:
		return do_set(ctx, s, ipv6, req);
	default:
		return do_delete(ctx, s, ipv6, req);
	}
}
