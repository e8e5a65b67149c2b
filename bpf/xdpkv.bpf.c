// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpkv's XDP program. Foundation stage: it classifies packets and counts
 * them, and passes everything to the stack. The GET/SET fast path lands on
 * top of this skeleton (see docs/architecture.md).
 *
 * Contract: every read from the packet goes through a bounds check against
 * data_end first; every exit is counted under an xdpkv_reason.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdpkv_layout.h"

const volatile struct xdpkv_config config = {
	.memcache_udp_port = 11211,
	.resp_udp_port = 6379,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdpkv_counters);
} xdpkv_stats SEC(".maps");

static __always_inline int finish(enum xdpkv_reason reason, int verdict)
{
	__u32 zero = 0;
	struct xdpkv_counters *counters = bpf_map_lookup_elem(&xdpkv_stats, &zero);

	if (counters && reason < XDPKV_REASON_COUNT)
		counters->packets[reason]++;
	return verdict;
}

SEC("xdp")
int xdpkv_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct udphdr *udp;
	__u16 dport;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return finish(XDPKV_NOT_OURS, XDP_PASS);
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP)
		return finish(XDPKV_NOT_OURS, XDP_PASS);
	if (ip->ihl != 5)
		return finish(XDPKV_NOT_OURS, XDP_PASS);
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end)
		return finish(XDPKV_PASS_MALFORMED, XDP_PASS);
	dport = bpf_ntohs(udp->dest);
	if (dport != config.memcache_udp_port && dport != config.resp_udp_port)
		return finish(XDPKV_NOT_OURS, XDP_PASS);
	return finish(XDPKV_PASS_MALFORMED, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
