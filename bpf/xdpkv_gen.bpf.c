// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A load generator that needs no per-packet userspace work (bench/):
 *  - xdpkv_gen runs under BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES
 *    on the client end of a veth pair. It writes the request template into
 *    every frame (recycled frames still hold whatever the server wrote into
 *    them) and XDP_TXes it to the server end.
 *    With a key sequence loaded (gen_keys), each frame's key digits are
 *    rewritten from the next entry, so the requests follow the workload's
 *    key popularity (keys as bench/workload.h names them: "k", then the
 *    item number in zero-padded decimal).
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
#define GEN_KEYS_MAX (1 << 20)

/* Set by userspace through the skeleton (mmapped .data/.bss). */
__u8 gen_template[TEMPLATE_MAX];
__u32 gen_template_len;
__u16 sink_server_port = 11211; /* host order */

/* The key sequence: item numbers, in the order requests use them. */
__u32 gen_key_count;  /* entries in gen_keys; 0: send the template as is */
__u32 gen_key_offset; /* frame offset of the key's first digit */
__u32 gen_key_digits; /* digits after the key's "k" (key length - 1) */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEN_KEYS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} gen_keys SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} gen_cursor SEC(".maps");

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

/* `value` as exactly `digits` zero-padded decimal digits at p (constant
 * `digits`, so the verifier sees each store inside the checked range). */
static __always_inline int put_digits(__u8 *p, void *end, __u32 value, const int digits)
{
	if ((void *)(p + digits) > end)
		return -1;
	for (int i = digits - 1; i >= 0; i--) {
		p[i] = '0' + value % 10;
		value /= 10;
	}
	return 0;
}

/* Writes the next item number of the sequence into the frame's key. Keys
 * of 8, 16 or 32 bytes (7, 15 or 31 digits after the "k"). */
static __always_inline int write_next_key(struct xdp_md *ctx)
{
	__u32 n = *(volatile __u32 *)&gen_key_count;
	__u32 digits = *(volatile __u32 *)&gen_key_digits;
	__u32 offset = *(volatile __u32 *)&gen_key_offset;
	void *end = (void *)(long)ctx->data_end;
	__u32 zero = 0, slot;
	__u32 *cursor, *item;
	__u8 *p;

	cursor = bpf_map_lookup_elem(&gen_cursor, &zero);
	if (!cursor || n == 0 || n > GEN_KEYS_MAX || offset > TEMPLATE_MAX)
		return -1;
	slot = *cursor % n;
	*cursor = slot + 1;
	item = bpf_map_lookup_elem(&gen_keys, &slot);
	if (!item)
		return -1;
	p = (__u8 *)(long)ctx->data + offset;
	switch (digits) {
	case 7:
		return put_digits(p, end, *item, 7);
	case 15:
		return put_digits(p, end, *item, 15);
	case 31:
		return put_digits(p, end, *item, 31);
	default:
		return -1;
	}
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
	if (*(volatile __u32 *)&gen_key_count && write_next_key(ctx))
		return XDP_DROP;
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
