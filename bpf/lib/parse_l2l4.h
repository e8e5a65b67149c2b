/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Ethernet, IPv4 (no options, no fragments) or IPv6 (UDP directly after
 * the header), then UDP to one of our ports. Every header is read through
 * a pointer checked against data_end first.
 */
#ifndef XDPKV_LIB_PARSE_L2L4_H
#define XDPKV_LIB_PARSE_L2L4_H

#include "lib/counters.h"
#include "lib/maps.h"

/* parse_l2l4's return value when the packet is a request to one of our
 * ports; any other value is the verdict (already counted). */
#define L2L4_OURS -1

/* Where a request's UDP payload is. */
struct l4_request {
	__u32 proto;       /* enum xdpkv_proto: whose port it was sent to */
	__u32 payload_off; /* from the start of the packet */
	__u32 payload_len; /* UDP payload bytes, the frame header included */
	int ipv6;
};

static __always_inline int parse_l2l4(struct xdp_md *ctx, struct l4_request *out)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	__u32 proto;
	__u32 payload_off, payload_len;
	__u16 dport;
	int ipv6 = 0;

	if ((void *)(eth + 1) > data_end)
		return finish(XDPKV_PROTO_NONE, XDPKV_NOT_OURS, XDP_PASS);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP)
			return finish(XDPKV_PROTO_NONE, XDPKV_NOT_OURS, XDP_PASS);
		udp = (void *)(ip + 1);
		if (ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff))) {
			/* Options or fragments: only the stack reassembles. */
			if ((void *)(udp + 1) > data_end)
				return finish(XDPKV_PROTO_NONE, XDPKV_NOT_OURS, XDP_PASS);
			return finish(XDPKV_PROTO_NONE,
				      ip->ihl != 5 ? XDPKV_PASS_IP_OPTIONS : XDPKV_PASS_FRAGMENT,
				      XDP_PASS);
		}
		payload_off = ETH_IPV4_UDP_LEN;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return finish(XDPKV_PROTO_NONE, XDPKV_NOT_OURS, XDP_PASS);
		if (ip6->nexthdr != IPPROTO_UDP) {
			/* Extension headers (fragments among them) go up. */
			return finish(XDPKV_PROTO_NONE, XDPKV_NOT_OURS, XDP_PASS);
		}
		udp = (void *)(ip6 + 1);
		payload_off = ETH_IPV6_UDP_LEN;
		ipv6 = 1;
	} else {
		/* VLAN tags included: the stack handles them. */
		return finish(XDPKV_PROTO_NONE, XDPKV_NOT_OURS, XDP_PASS);
	}
	if ((void *)(udp + 1) > data_end)
		return finish(XDPKV_PROTO_NONE, XDPKV_NOT_OURS, XDP_PASS);

	dport = bpf_ntohs(udp->dest);
	if (dport != 0 && dport == config.memcache_udp_port)
		proto = XDPKV_PROTO_MEMCACHE;
	else if (dport != 0 && dport == config.resp_udp_port)
		proto = XDPKV_PROTO_RESP;
	else
		return finish(XDPKV_PROTO_NONE, XDPKV_NOT_OURS, XDP_PASS);

	payload_len = bpf_ntohs(udp->len);
	if (payload_len < 8 || payload_off + payload_len - 8 > (__u32)(data_end - data))
		return finish(proto, XDPKV_PASS_MALFORMED, XDP_PASS);
	out->proto = proto;
	out->payload_off = payload_off;
	out->payload_len = payload_len - 8;
	out->ipv6 = ipv6;
	return L2L4_OURS;
}

#endif /* XDPKV_LIB_PARSE_L2L4_H */
