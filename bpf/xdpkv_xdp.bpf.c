// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The XDP fast path, xdpkv_xdp: one memcached get/gets (one key or many),
 * set or delete, meta mg or ms, or RESP GET/MGET/SET/DEL per datagram,
 * answered from the store maps with XDP_TX;
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
#include "lib/parse_meta.h"
#include "lib/parse_resp.h"
#include "lib/store_write.h"
#include "lib/reply.h"
#include "lib/reply_meta.h"
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
	int result = store_request_value(s, req, 0);
	__u32 n;

	/* Past the memory limit: userspace evicts and writes, where the
	 * policy allows eviction; else the peers' out-of-memory error. */
	if (result == WRITE_NO_ROOM && xdpkv_memory.evicts)
		return finish(req->proto, XDPKV_PASS_NO_MEMORY, XDP_PASS);
	if (result == WRITE_FULL || result == WRITE_NO_ROOM) {
		if (req->proto == XDPKV_PROTO_MEMCACHE)
			unlink_key(s);
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

/* ---- meta commands ---------------------------------------------------------- */

/* mg and ms are parsed, run and answered up to the sending in one bpf_loop
 * step (meta_step): a callback, whose paths the verifier checks once per
 * state that reaches it instead of multiplying with the main program's
 * (measured: mg and ms cost 67k verified instructions this way). They are
 * the classic commands' read and write (read_key, store_request_value)
 * and value copy (put_value_bytes), with meta's syntax (lib/parse_meta.h)
 * and reply lines (lib/reply_meta.h). */

/* How an mg/ms ends: request.status the verdict (XDP_TX: the reply's
 * length in request.rpos), request.reason its counter. */
static __always_inline long meta_done(vreq *req, __u32 verdict, __u32 reason, __u32 reply_len)
{
	req->status = verdict;
	req->reason = reason;
	req->rpos = reply_len;
	return 1;
}

/* ...or with a meta line still to build (meta_step builds every one):
 * its code, what its flags show (a c showing `cas`), its counter. */
#define META_LINE 0
static __always_inline long meta_line(vreq *req, __u32 code, __u32 shows, __u64 cas,
				      __u32 reason)
{
	req->meta_code = code;
	req->meta_shows = shows;
	req->reply_cas = cas;
	req->reason = reason;
	return META_LINE;
}

/* An mg hit the kernel answers: 0, or the reason to pass it. What
 * memcached shows of an item's stale state and recache win (X W Z), and
 * the base64 form of a key written through one (k), are userspace's. */
static __always_inline __u32 meta_hit_check(struct scratch *s, vreq *req)
{
	struct xdpkv_item *copy = (struct xdpkv_item *)s->item;
	__u32 bits = copy->mc_bits;

	if (bits & (XDPKV_MC_STALE | XDPKV_MC_TOKEN_SENT))
		return XDPKV_PASS_META_ITEM;
	if ((bits & XDPKV_MC_KEY_BINARY) && (req->meta_flags & MF_KEY))
		return XDPKV_PASS_META_ITEM;
	return 0;
}

/* mg: a get (read_key; another type is not there to memcached) answered
 * EN, or HD/VA with the flags asked for (the value after VA's line). A hit
 * is marked fetched as memcached's mg marks it. */
static __always_inline long meta_get(struct scratch *s, vreq *req)
{
	struct xdpkv_item *copy = (struct xdpkv_item *)s->item;
	__u32 reason;

	if (!read_key(s) || copy->type != XDPKV_TYPE_STRING) {
		if (req->noreply)
			return meta_done(req, XDP_DROP, XDPKV_META_GET_MISS, 0); /* q: no EN */
		return meta_line(req, META_CODE('E', 'N'), SHOW_ECHO, 0, XDPKV_META_GET_MISS);
	}
	reason = meta_hit_check(s, req);
	if (reason)
		return meta_done(req, XDP_PASS, reason, 0);
	mark_fetched(s);
	return meta_line(req, req->meta_flags & MF_VALUE ? META_CODE('V', 'A') : META_CODE('H', 'D'),
			 SHOW_ITEM, copy->cas, XDPKV_META_GET_HIT);
}

/* ms: a set (store_request_value), with C a compare-and-swap; answered HD
 * (nothing with q), EX or NF, or as set answers a full store. */
static __always_inline long meta_set(struct scratch *s, vreq *req)
{
	int result = store_request_value(s, req, req->compare_cas != XDPKV_CAS_ANY);
	__u32 reason;

	if (result == WRITE_NO_ROOM && xdpkv_memory.evicts)
		return meta_done(req, XDP_PASS, XDPKV_PASS_NO_MEMORY, 0);
	if (result == WRITE_FULL || result == WRITE_NO_ROOM) {
		unlink_key(s);
		return meta_done(req, XDP_TX, XDPKV_STORE_FULL,
				 REPLY_TEXT(s, "SERVER_ERROR out of memory storing object\r\n"));
	}
	if (result == WRITE_DELETING)
		return meta_done(req, XDP_PASS, XDPKV_PASS_DELETING, 0);
	if (result == WRITE_EXISTS)
		return meta_line(req, META_CODE('E', 'X'), SHOW_CAS, 0, XDPKV_META_CAS_EXISTS);
	if (result == WRITE_NOT_FOUND)
		return meta_line(req, META_CODE('N', 'F'), SHOW_CAS, 0, XDPKV_META_CAS_MISS);
	if (result != WRITE_STORED)
		return meta_done(req, XDP_PASS, XDPKV_PASS_BUSY, 0);
	reason = req->compare_cas != XDPKV_CAS_ANY ? XDPKV_META_CAS_HIT : XDPKV_META_SET;
	if (req->noreply)
		return meta_done(req, XDP_DROP, reason, 0); /* q: no HD */
	return meta_line(req, META_CODE('H', 'D'), SHOW_CAS, req->reply_cas, reason);
}

/* bpf_loop's body, run once: the whole mg/ms but its sending. */
static long meta_step(__u64 index, void *unused)
{
	struct scratch *s;
	__u32 zero = 0;
	vreq *req;
	int reason, pos;

	s = bpf_map_lookup_elem(&xdpkv_scratch, &zero);
	if (!s)
		return 1;
	req = &s->request;
	reason = parse_meta(req, s->req, req->len);
	if (reason)
		return meta_done(req, XDP_PASS, reason, 0);
	load_key(s, req);
	if ((req->op == OP_MG ? meta_get(s, req) : meta_set(s, req)) != META_LINE)
		return 1;
	pos = put_meta_line(s, req);
	if (req->meta_code == META_CODE('V', 'A')) {
		pos = put_value_bytes(s, req, pos);
		if (pos < 0)
			return meta_done(req, XDP_PASS, -pos, 0);
	}
	return meta_done(req, XDP_TX, req->reason, pos);
}

static __always_inline int do_meta(struct xdp_md *ctx, struct scratch *s)
{
	vreq *req = &s->request;
	__u32 verdict, reason;

	meta_done(req, XDP_PASS, XDPKV_PASS_BUSY, 0);
	bpf_loop(1, meta_step, NULL, 0);
	verdict = req->status;
	reason = req->reason;
	if (verdict == XDP_TX)
		return send_reply(ctx, s, req->ipv6, req->rpos, XDPKV_PROTO_MEMCACHE, reason, 0);
	return finish(XDPKV_PROTO_MEMCACHE, reason, verdict == XDP_DROP ? XDP_DROP : XDP_PASS);
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

	if (proto == XDPKV_PROTO_MEMCACHE && is_meta_request(s->req, payload_len))
		return do_meta(ctx, s);
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
