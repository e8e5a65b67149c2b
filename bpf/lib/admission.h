/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Admission: whether the kernel path may answer a request at all. XDP runs
 * before netfilter and before the stack's own checks, so a request is
 * answered only if the host's stack would have accepted it and the operator
 * allowed its source (docs/architecture.md, "Admission"):
 *
 *  - it arrived on an interface the loader described (xdpkv_ifaces);
 *  - its destination MAC is the interface's own, never a group address (on
 *    lo, whose frames all come from this host, any unicast MAC);
 *  - the IPv4 total length, or IPv6 payload length, equals the UDP length,
 *    and the frame holds them (it may be longer: Ethernet padding);
 *  - its destination IP is one the server listens on, on that interface
 *    (xdpkv_admit_dst, kept current by userspace);
 *  - its source is not martian: 0.0.0.0/8, broadcast, multicast, an
 *    IPv4-mapped or unspecified IPv6 address, and, off lo, loopback or one
 *    of this host's own addresses or subnet broadcasts (xdpkv_host_addrs);
 *  - its source port is not 0 nor one of our service ports: a reply to our
 *    own port would be answered again, forever;
 *  - its source is in the --udp-allow LPM trie (xdpkv_udp_allow);
 *  - the IPv4 header checksum is right, and the UDP checksum too (when
 *    non-zero over IPv4; always present over IPv6).
 *
 * Anything else is XDP_PASSed, counted by reason: the stack then does with
 * it what it would have done without us. admit_request() also leaves, per
 * CPU, the most reply bytes this request may get (reply_cap_allows()).
 */
#ifndef XDPKV_LIB_ADMISSION_H
#define XDPKV_LIB_ADMISSION_H

#include "lib/counters.h"
#include "lib/csum.h"
#include "lib/maps.h"
#include "lib/parse_l2l4.h"

/* UDP checksums are verified over datagrams up to this long; longer ones
 * are passed (none fits the kernel path's request buffer anyway). */
#define ADMIT_CSUM_CHUNK 512
#define ADMIT_CSUM_CHUNKS 8
#define ADMIT_CSUM_MAX (ADMIT_CSUM_CHUNK * ADMIT_CSUM_CHUNKS)
#define ADMIT_NO_CAP 0xffffffffu

const volatile struct xdpkv_admission_config admission_config = {
	.service_ports = {11211, 6379, 0, 0},
	.max_reply_bytes = 400,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct xdpkv_iface);
} xdpkv_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct xdpkv_addr_key);
	__type(value, __u32);
} xdpkv_admit_dst SEC(".maps");

/* Keyed with ifindex 0: host-wide. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct xdpkv_addr_key);
	__type(value, __u32);
} xdpkv_host_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, struct xdpkv_allow_key);
	__type(value, __u32);
} xdpkv_udp_allow SEC(".maps");

struct admission_scratch {
	__u8 buf[ADMIT_CSUM_CHUNK + 4]; /* a chunk of the datagram, zero-padded */
	__u32 reply_cap;                /* for the request being handled */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct admission_scratch);
} xdpkv_admission_scratch SEC(".maps");

/* An address as the maps hold it: IPv4 as ::ffff:a.b.c.d. */
struct addr16 {
	__u32 w[4];
};

static __always_inline void addr_from_v4(struct addr16 *a, __be32 v4)
{
	a->w[0] = 0;
	a->w[1] = 0;
	a->w[2] = bpf_htonl(0xffff);
	a->w[3] = v4;
}

static __always_inline void addr_from_v6(struct addr16 *a, const struct in6_addr *v6)
{
	a->w[0] = v6->in6_u.u6_addr32[0];
	a->w[1] = v6->in6_u.u6_addr32[1];
	a->w[2] = v6->in6_u.u6_addr32[2];
	a->w[3] = v6->in6_u.u6_addr32[3];
}

static __always_inline int addr_is_mapped_v4(const struct addr16 *a)
{
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == bpf_htonl(0xffff);
}

static __always_inline int addr_is_loopback(const struct addr16 *a)
{
	if (addr_is_mapped_v4(a))
		return (a->w[3] & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000);
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == 0 && a->w[3] == bpf_htonl(1);
}

/* Martian whatever the interface: never a sender the stack accepts. */
static __always_inline int source_always_martian(const struct addr16 *a, int ipv6)
{
	if (!ipv6) {
		__be32 v4 = a->w[3];

		return (v4 & bpf_htonl(0xff000000)) == 0 ||                   /* 0.0.0.0/8 */
		       (v4 & bpf_htonl(0xf0000000)) == bpf_htonl(0xe0000000) || /* multicast */
		       v4 == 0xffffffff;                                        /* broadcast */
	}
	if ((a->w[0] & bpf_htonl(0xff000000)) == bpf_htonl(0xff000000))
		return 1; /* multicast */
	if (addr_is_mapped_v4(a))
		return 1; /* the stack drops IPv4-mapped sources on the wire */
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == 0 && a->w[3] == 0; /* :: */
}

static __always_inline int mac_equal(const __u8 *a, const __u8 *b)
{
	return *(const __u32 *)a == *(const __u32 *)b &&
	       *(const __u16 *)(a + 4) == *(const __u16 *)(b + 4);
}

static __always_inline int is_service_port(__u16 port)
{
	if (port == 0)
		return 1;
	for (int i = 0; i < XDPKV_SERVICE_PORTS; i++)
		if (admission_config.service_ports[i] != 0 &&
		    admission_config.service_ports[i] == port)
			return 1;
	return 0;
}

struct pseudo_header {
	struct addr16 saddr; /* IPv4: only w[3] used, see udp_checksum_ok() */
	struct addr16 daddr;
	__be32 len;
	__be32 proto;
};

/* Whether the UDP checksum `check` (as in the packet) is right for the
 * datagram of udp_len bytes at udp_off: the one's-complement sum over the
 * pseudo header and the datagram, checksum included, is 0xffff. Where the
 * interface leaves checksums to offload, the pseudo-header sum alone (what
 * a local sender put there for the offload to finish) is accepted too. */
static __always_inline int udp_checksum_ok(struct xdp_md *ctx, struct admission_scratch *as,
					   const struct addr16 *saddr, const struct addr16 *daddr,
					   int ipv6, __u32 udp_off, __u32 udp_len, __u16 check,
					   int partial_ok)
{
	struct pseudo_header ph = {};
	__s64 sum;

	if (ipv6) {
		ph.saddr = *saddr;
		ph.daddr = *daddr;
	} else {
		/* Same 16-bit words as IPv4's pseudo header; zeros add nothing. */
		ph.saddr.w[3] = saddr->w[3];
		ph.daddr.w[3] = daddr->w[3];
	}
	ph.len = bpf_htonl(udp_len);
	ph.proto = bpf_htonl(IPPROTO_UDP);
	sum = bpf_csum_diff(0, 0, (__be32 *)&ph, sizeof(ph), 0);
	if (sum < 0)
		return 0;
	if (partial_ok && check == fold_csum((__u64)sum))
		return 1;
	if (udp_len > ADMIT_CSUM_MAX)
		return 0;
	for (__u32 i = 0; i < ADMIT_CSUM_CHUNKS; i++) {
		__u32 off = i * ADMIT_CSUM_CHUNK;
		__u32 n, padded;

		if (off >= udp_len)
			break;
		n = udp_len - off;
		if (n > ADMIT_CSUM_CHUNK)
			n = ADMIT_CSUM_CHUNK;
		/* [1, ADMIT_CSUM_CHUNK] for the verifier too, and unchanged. */
		n -= 1;
		VERIFIER_MASK(n, ADMIT_CSUM_CHUNK - 1);
		n += 1;
		if (bpf_xdp_load_bytes(ctx, udp_off + off, as->buf, n))
			return 0;
		as->buf[n] = 0;
		as->buf[n + 1] = 0;
		as->buf[n + 2] = 0;
		padded = (n + 3) & ~3u;
		sum = bpf_csum_diff(0, 0, (__be32 *)as->buf, padded, sum);
		if (sum < 0)
			return 0;
	}
	return fold_csum((__u64)sum) == 0xffff;
}

/* L2L4_OURS if the kernel path may answer the request parse_l2l4()
 * found; else the verdict, XDP_PASS, already counted. */
static __always_inline int admit_request(struct xdp_md *ctx, const struct l4_request *l4)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 frame_len = (__u32)(data_end - data);
	struct ethhdr *eth = data;
	enum xdpkv_proto proto = l4->proto;
	struct xdpkv_addr_key key = {};
	struct admission_scratch *as;
	struct xdpkv_allow_key allow;
	struct xdpkv_iface *iface;
	struct addr16 saddr, daddr;
	struct udphdr *udp;
	__u32 ifindex = ctx->ingress_ifindex;
	__u32 zero = 0, udp_len, udp_off;
	__u32 *flags;
	int loopback;

	iface = bpf_map_lookup_elem(&xdpkv_ifaces, &ifindex);
	if (!iface)
		return finish(proto, XDPKV_PASS_UNKNOWN_IFACE, XDP_PASS);
	loopback = iface->flags & XDPKV_IFACE_LOOPBACK;
	if ((void *)(eth + 1) > data_end)
		return finish(proto, XDPKV_PASS_MALFORMED, XDP_PASS);
	/* A group destination (broadcast, multicast) is never answered: one
	 * frame would make every host on the segment reply. A group source
	 * cannot have sent anything, and the reply would go to the group. */
	if ((eth->h_dest[0] & 1) || (!loopback && !mac_equal(eth->h_dest, iface->mac)))
		return finish(proto, XDPKV_PASS_FOREIGN_MAC, XDP_PASS);
	if (eth->h_source[0] & 1)
		return finish(proto, XDPKV_PASS_MARTIAN_SOURCE, XDP_PASS);

	if (l4->ipv6) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		udp = (void *)(ip6 + 1);
		if ((void *)(udp + 1) > data_end)
			return finish(proto, XDPKV_PASS_MALFORMED, XDP_PASS);
		udp_len = bpf_ntohs(udp->len);
		if (bpf_ntohs(ip6->payload_len) != udp_len)
			return finish(proto, XDPKV_PASS_BAD_LENGTH, XDP_PASS);
		addr_from_v6(&saddr, &ip6->saddr);
		addr_from_v6(&daddr, &ip6->daddr);
		udp_off = 14 + 40;
	} else {
		struct iphdr *ip = (void *)(eth + 1);
		__u16 *words = (__u16 *)ip;
		__u64 sum = 0;

		udp = (void *)(ip + 1);
		if ((void *)(udp + 1) > data_end)
			return finish(proto, XDPKV_PASS_MALFORMED, XDP_PASS);
		udp_len = bpf_ntohs(udp->len);
		if (bpf_ntohs(ip->tot_len) != 20 + udp_len)
			return finish(proto, XDPKV_PASS_BAD_LENGTH, XDP_PASS);
		for (int i = 0; i < 10; i++)
			sum += words[i];
		if (fold_csum(sum) != 0xffff)
			return finish(proto, XDPKV_PASS_BAD_CHECKSUM, XDP_PASS);
		addr_from_v4(&saddr, ip->saddr);
		addr_from_v4(&daddr, ip->daddr);
		udp_off = 14 + 20;
	}
	/* parse_l2l4() saw the UDP length fit the frame; the frame may be
	 * longer (Ethernet pads short frames). */
	if (udp_len < 8 || udp_off + udp_len > frame_len)
		return finish(proto, XDPKV_PASS_BAD_LENGTH, XDP_PASS);

	key.ifindex = ifindex;
	__builtin_memcpy(key.addr, &daddr, sizeof(daddr));
	if (!bpf_map_lookup_elem(&xdpkv_admit_dst, &key))
		return finish(proto, XDPKV_PASS_FOREIGN_DEST, XDP_PASS);

	if (source_always_martian(&saddr, l4->ipv6))
		return finish(proto, XDPKV_PASS_MARTIAN_SOURCE, XDP_PASS);
	if (!loopback) {
		/* On lo, our own addresses are where local clients send from. */
		if (addr_is_loopback(&saddr))
			return finish(proto, XDPKV_PASS_MARTIAN_SOURCE, XDP_PASS);
		key.ifindex = 0;
		__builtin_memcpy(key.addr, &saddr, sizeof(saddr));
		flags = bpf_map_lookup_elem(&xdpkv_host_addrs, &key);
		if (flags && *flags)
			return finish(proto, XDPKV_PASS_MARTIAN_SOURCE, XDP_PASS);
	}
	if (is_service_port(bpf_ntohs(udp->source)))
		return finish(proto, XDPKV_PASS_SELF_PORT, XDP_PASS);

	allow.prefixlen = 128;
	__builtin_memcpy(allow.addr, &saddr, sizeof(saddr));
	if (!bpf_map_lookup_elem(&xdpkv_udp_allow, &allow))
		return finish(proto, XDPKV_PASS_NOT_ALLOWED, XDP_PASS);

	as = bpf_map_lookup_elem(&xdpkv_admission_scratch, &zero);
	if (!as)
		return finish(proto, XDPKV_PASS_BUSY, XDP_PASS);
	/* IPv6 has no "no checksum". */
	if (l4->ipv6 && udp->check == 0)
		return finish(proto, XDPKV_PASS_BAD_CHECKSUM, XDP_PASS);
	if ((l4->ipv6 || udp->check != 0) &&
	    !udp_checksum_ok(ctx, as, &saddr, &daddr, l4->ipv6, udp_off, udp_len, udp->check,
			     iface->flags & XDPKV_IFACE_CSUM_PARTIAL))
		return finish(proto, XDPKV_PASS_BAD_CHECKSUM, XDP_PASS);

	as->reply_cap = addr_is_loopback(&saddr) ? ADMIT_NO_CAP : admission_config.max_reply_bytes;
	return L2L4_OURS;
}

/* Whether a reply of reply_len UDP payload bytes may go to the request
 * admit_request() let through last on this CPU (--udp-max-reply-bytes).
 * So every entry that replies (a TC tier too) must run admit_request() on
 * the request first: the cap read here is the last admitted request's. */
static __always_inline int reply_cap_allows(__u32 reply_len)
{
	__u32 zero = 0;
	struct admission_scratch *as = bpf_map_lookup_elem(&xdpkv_admission_scratch, &zero);

	return as && reply_len <= as->reply_cap;
}

/* The cap reply_cap_allows() applies, for a tier that answers later (the
 * TC tier gets it in the request's mark, bpf/lib/tc_handoff.h). */
static __always_inline __u32 reply_cap(void)
{
	__u32 zero = 0;
	struct admission_scratch *as = bpf_map_lookup_elem(&xdpkv_admission_scratch, &zero);

	return as ? as->reply_cap : 0;
}

#endif /* XDPKV_LIB_ADMISSION_H */
