// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A load generator that needs no per-packet userspace work (bench/):
 *  - xdpkv_gen runs under BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES
 *    on the client end of a veth pair. It writes the request template into
 *    every frame (recycled frames still hold whatever the server wrote into
 *    them) and XDP_TXes it to the server end.
 *  - xdpkv_sink is attached to the client end: it counts the server's
 *    replies and drops them, and passes everything else.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TEMPLATE_MAX 512

/* Set by userspace through the skeleton (mmapped .data/.bss). */
__u8 gen_template[TEMPLATE_MAX];
__u32 gen_template_len;
__u16 sink_server_port = 11211; /* host order */

enum gen_counter { GEN_SENT, GEN_NO_ROOM, SINK_REPLIES, SINK_OTHER, GEN_COUNTER_COUNT };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GEN_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} gen_counters SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&gen_counters, &which);

	if (n)
		(*n)++;
}

SEC("xdp")
int xdpkv_gen(struct xdp_md *ctx)
{
	__u32 len = *(volatile __u32 *)&gen_template_len;
	__s32 delta;

	if (len == 0 || len > TEMPLATE_MAX)
		return XDP_DROP;
	delta = (__s32)len - (__s32)(ctx->data_end - ctx->data);
	if (delta && bpf_xdp_adjust_tail(ctx, delta)) {
		count(GEN_NO_ROOM);
		return XDP_DROP;
	}
	if (bpf_xdp_store_bytes(ctx, 0, gen_template, len)) {
		count(GEN_NO_ROOM);
		return XDP_DROP;
	}
	count(GEN_SENT);
	return XDP_TX;
}

SEC("xdp")
int xdpkv_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	if ((void *)(udp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP || udp->source != bpf_htons(sink_server_port)) {
		count(SINK_OTHER);
		return XDP_PASS;
	}
	count(SINK_REPLIES);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
