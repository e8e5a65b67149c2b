// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The TC tier, xdpkv_tc (clsact ingress, attached beside the XDP program):
 * answers the reads XDP handed over (bpf/lib/tc_handoff.h) because their
 * reply needs several datagrams (memcached multi-key gets, values over one
 * datagram, MGETs that do not fit one) or more room than XDP could give
 * the frame. The skb can grow (bpf_skb_change_tail) and be sent several
 * times (bpf_clone_redirect), which XDP cannot do. Everything else goes on
 * to the stack untouched. Compiled as part of xdpkv.bpf.c.
 */
#include "lib/common.h"
#include "lib/counters.h"
#include "lib/maps.h"
#include "lib/scratch.h"
#include "lib/parse_memcache.h"
#include "lib/parse_resp.h"
#include "lib/store.h"
#include "lib/tc_handoff.h"
#include "lib/tc_reply.h"

SEC("tc")
int xdpkv_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	struct tc_mark *meta = (void *)(long)skb->data_meta;
	struct tc_reply_base base = {};
	struct tc_mark mark;
	struct tc_out *o;
	struct scratch *s;
	__u32 zero = 0, len, sent = 0, planned, reason, proto;
	vreq *req;
	int n;

	if ((void *)(meta + 1) > data || meta->magic != TC_MARK_MAGIC)
		return TC_ACT_OK;
	mark = *meta;
	if (mark.proto != XDPKV_PROTO_MEMCACHE && mark.proto != XDPKV_PROTO_RESP)
		return TC_ACT_OK;
	/* 1 or 2, as the verifier sees it too (it indexes the counters). */
	proto = mark.proto - 1;
	VERIFIER_MASK(proto, 1);
	proto += 1;
	mark.proto = proto;
	len = mark.payload_len;
	if (len < FRAME_HEADER_LEN + 4 || len > XDPKV_REQ_PEEK)
		return finish(proto, XDPKV_PASS_MALFORMED, TC_ACT_OK);

	s = bpf_map_lookup_elem(&xdpkv_scratch, &zero);
	o = tc_out_buffer();
	if (!s || !o)
		return finish(proto, XDPKV_PASS_BUSY, TC_ACT_OK);
	req = &s->request;
	__builtin_memset(&s->request, 0, sizeof(s->request));
	req->proto = proto;
	req->len = len;
	if (bpf_skb_load_bytes(skb, mark.payload_off, s->req, len))
		return finish(proto, XDPKV_PASS_MALFORMED, TC_ACT_OK);
	if (proto == XDPKV_PROTO_MEMCACHE)
		reason = parse_memcache(req, s->req, len);
	else
		reason = parse_resp(req, s->req, len);
	if (reason)
		return finish(proto, reason, TC_ACT_OK);
	if (req->op != OP_GET && req->op != OP_GETS)
		return finish(proto, XDPKV_PASS_UNSUPPORTED, TC_ACT_OK);
	if (!req->multi)
		load_key(s, req);

	n = tc_build(s, req, o);
	if (n < 0) {
		reason = opaque(req, -n);
		if (reason >= XDPKV_REASON_COUNT)
			reason = XDPKV_PASS_BUSY;
		return finish(proto, reason, TC_ACT_OK);
	}
	if ((__u32)n > mark.reply_cap)
		return finish(proto, XDPKV_PASS_REPLY_CAP, TC_ACT_OK);
	if (tc_reply_headers(skb, s, o, mark.ipv6, &base))
		return finish(proto, XDPKV_PASS_MALFORMED, TC_ACT_OK);

	/* From here on the skb is the reply: whatever happens, it is dropped. */
	planned = o->ndatagrams;
	for (__u32 i = 0; i < TC_MAX_DATAGRAMS; i++) {
		struct tc_datagram d;

		if (i >= planned)
			break;
		d = o->plan[i];
		if (tc_send_one(skb, s, o, mark.ipv6, &base, &d))
			break;
		sent++;
	}
	count_n(proto, XDPKV_TC_DATAGRAMS, sent);
	if (sent < planned)
		return finish(proto, XDPKV_TC_SEND_FAILED, TC_ACT_SHOT);
	return finish(proto, XDPKV_TC_REPLY, TC_ACT_SHOT);
}
