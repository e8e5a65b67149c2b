/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * How XDP hands a request to the TC tier (bpf/xdpkv_tc.bpf.c): a read
 * whose reply needs several datagrams, or more room than XDP can give the
 * frame, is XDP_PASSed with a mark in the frame's metadata area. The stack
 * carries the metadata to the skb, where the TC program finds it; a
 * datagram without the mark is never answered by TC. The mark is written
 * only after admission (bpf/lib/admission.h) let the request through, and
 * only XDP can write metadata, so TC trusts it and does not run admission
 * again: it carries what admission decided (the reply cap) and where the
 * request's payload is, so TC parses only the memcached/RESP part again.
 *
 * Why not share scratch between the tiers: on a native driver the stack
 * may see the skb after XDP ran on later frames (GRO batches), so per-CPU
 * scratch can hold another request by then.
 */
#ifndef XDPKV_LIB_TC_HANDOFF_H
#define XDPKV_LIB_TC_HANDOFF_H

#include "lib/admission.h"
#include "lib/counters.h"
#include "lib/maps.h"
#include "lib/scratch.h"

#define TC_MARK_MAGIC 0x7c4b

struct tc_mark {
	__u16 magic;       /* TC_MARK_MAGIC */
	__u8 proto;        /* enum xdpkv_proto */
	__u8 ipv6;
	__u16 payload_off; /* UDP payload: offset from the Ethernet header */
	__u16 payload_len; /* frame header included */
	__u32 reply_cap;   /* most reply bytes this source may get */
};
_Static_assert(sizeof(struct tc_mark) % 4 == 0, "metadata grows in 4-byte steps");

/* Set by userspace once the TC program is attached: until then XDP passes
 * to userspace what TC would have answered. */
volatile __u32 xdpkv_tc_ready = 0;

/* XDP_PASSes the request (req) to the TC tier, counted as
 * XDPKV_PASS_TO_TC; without a TC tier, or if the frame has no room for
 * the mark, passes it to userspace counted as `otherwise`. Call it only
 * while the frame is still the request as it arrived. */
static __always_inline int hand_to_tc(struct xdp_md *ctx, vreq *req, enum xdpkv_reason otherwise)
{
	enum xdpkv_proto proto = req->proto;
	struct tc_mark *mark;
	void *data;

	if (!xdpkv_tc_ready)
		return finish(proto, otherwise, XDP_PASS);
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct tc_mark)))
		return finish(proto, otherwise, XDP_PASS);
	mark = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if ((void *)(mark + 1) > data)
		return finish(proto, otherwise, XDP_PASS);
	mark->magic = TC_MARK_MAGIC;
	mark->proto = proto;
	mark->ipv6 = req->ipv6;
	mark->payload_off = req->payload_off;
	mark->payload_len = req->len;
	mark->reply_cap = reply_cap();
	return finish(proto, XDPKV_PASS_TO_TC, XDP_PASS);
}

#endif /* XDPKV_LIB_TC_HANDOFF_H */
