// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The floor of the benchmark topology (bench/xdp-gen.sh --floor): a server
 * that does nothing but answer. Every IPv4 UDP datagram to one of the
 * served ports goes back where it came from with XDP_TX, MACs, addresses
 * and ports swapped: no parsing past UDP, no lookup, no reply built. What
 * it costs per request is what this machine charges for receiving a frame
 * and sending one back; xdpkv's cost above it is xdpkv's own work.
 * Swapping leaves both checksums valid (their sums do not depend on the
 * order of the fields). Everything else passes.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Ports answered (host order): xdpkv's defaults, as xdp-gen.sh runs it. */
const volatile __u16 floor_memcache_port = 11211;
const volatile __u16 floor_resp_port = 6379;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} floor_reflected SEC(".maps");

SEC("xdp")
int xdpkv_floor(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u8 mac[ETH_ALEN];
	__u32 zero = 0;
	__be32 addr;
	__be16 port;
	__u64 *n;

	if ((void *)(udp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP || ip->ihl != 5 ||
	    (udp->dest != bpf_htons(floor_memcache_port) && udp->dest != bpf_htons(floor_resp_port)))
		return XDP_PASS;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	addr = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = addr;
	port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	n = bpf_map_lookup_elem(&floor_reflected, &zero);
	if (n)
		(*n)++;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
