/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The layout shared by the XDP program (bpf/xdpkv.bpf.c) and userspace
 * (proxy/). Fixed-width kernel types only: include <linux/types.h> first.
 * No other includes, so the BPF target and C++ read it the same way;
 * proxy/bpf_layout.h holds the C++ static_asserts on sizes and offsets.
 */
#ifndef XDPKV_LAYOUT_H
#define XDPKV_LAYOUT_H

/* Why the program finished a packet. One per-CPU counter per reason in the
 * `xdpkv_stats` map; userspace renders them by name. Append only: the
 * numbering is part of the layout. */
enum xdpkv_reason {
	XDPKV_NOT_OURS = 0,       /* not UDP to one of our ports: passed */
	XDPKV_PASS_MALFORMED = 1, /* our port, but headers truncated or odd */
	XDPKV_REASON_COUNT,
};

/* Value of the single-entry per-CPU array `xdpkv_stats`. */
struct xdpkv_counters {
	__u64 packets[XDPKV_REASON_COUNT];
};

/* Ports, set through the skeleton's rodata before load. */
struct xdpkv_config {
	__u16 memcache_udp_port; /* host byte order; 0 = disabled */
	__u16 resp_udp_port;     /* host byte order; 0 = disabled */
	__u32 reserved;
};

#endif /* XDPKV_LAYOUT_H */
