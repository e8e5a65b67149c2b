/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The layout shared by the XDP traffic generator (bpf/xdpkv_gen.bpf.c) and
 * its userspace (bench/xdp_gen.cc): request templates, the workload's
 * entries, the counters. Fixed-width kernel types only: include
 * <linux/types.h> first. No other includes, so the BPF target and C++ read
 * it the same way.
 */
#ifndef XDPKV_GEN_LAYOUT_H
#define XDPKV_GEN_LAYOUT_H

/* A live frame holds a page less the headroom (256) and skb_shared_info
 * (320): 3520 bytes; a 100-key get of 16-byte keys is 1.8 KB. */
#define GEN_TEMPLATE_MAX 3072
#define GEN_SCAN_KEYS_MAX 128
/* Only the last GEN_KEY_DIGITS characters of a key are rewritten (the
 * template holds the zero padding); items: at most GEN_ITEMS_MAX. */
#define GEN_KEY_DIGITS 7
#define GEN_ITEMS_MAX (1 << 22)
#define GEN_KEYS_MAX (1 << 20)
/* Latency buckets: 8 per power of two of nanoseconds (12% wide), up to
 * 2^40; gen_latency holds two histograms of that shape, all requests
 * first, then scans alone. */
#define GEN_LATENCY_SUB_BITS 3
#define GEN_LATENCY_BUCKETS (40 << GEN_LATENCY_SUB_BITS)

enum gen_kind { GEN_GET, GEN_SET, GEN_SCAN, GEN_KINDS };
/* A gen_keys entry: the item number, the request kind in the top bits. */
#define GEN_KIND_SHIFT 30
#define GEN_ITEM_MASK ((1u << GEN_KIND_SHIFT) - 1)

/* One request kind's frame, and where its keys are. */
struct gen_template {
	__u32 len;        /* 0: this kind is not sent */
	__u32 key_end;    /* frame offset just past the first key */
	__u32 key_stride; /* from one key to the next (a scan) */
	__u32 keys;       /* keys in the request (1, or a scan's) */
	__u32 objects;    /* reply objects that make the reply complete */
	__u32 ends_with_end; /* the reply ends at a datagram ending in "END\r\n" */
	__u8 bytes[GEN_TEMPLATE_MAX];
};

enum gen_counter {
	GEN_SENT,
	GEN_NO_ROOM,
	SINK_COMPLETE,    /* requests whose whole reply arrived */
	SINK_OTHER,
	GEN_SENT_WRITES,
	SINK_UNMATCHED,   /* a datagram whose request id has none in flight (late, or twice) */
	GEN_LATE,         /* paced: sent more than GEN_LATE_NS after it was due */
	GEN_SENT_SCANS,
	SINK_SCANS_COMPLETE,
	SINK_DATAGRAMS,   /* reply datagrams matched to a request */
	SINK_INCOMPLETE,  /* a reply ended with datagrams or objects missing before its end */
	SINK_NO_END,      /* a get's reply whose objects all came, the last without END */
	GEN_COUNTER_COUNT,
};

#endif /* XDPKV_GEN_LAYOUT_H */
