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
 *    item number in zero-padded decimal); entries with GEN_WRITE set send
 *    the SET template instead of the GET one (both put the key at the same
 *    offset: "get k..." / "set k...").
 *    Every frame gets its own memcached request id, and the send time is
 *    kept under that id (gen_sent_ns).
 *    Paced (gen_gap_count > 0): the program sends a frame only once its
 *    send time has come (the previous one's plus the next gap of
 *    gen_gap_ns: Poisson arrivals at the offered rate) and drops the frame
 *    otherwise, so one long test run is an open loop.
 *  - xdpkv_sink is attached to the client end: it counts the server's
 *    replies, records each one's round trip (now - the send time of its
 *    request id) into a log-bucketed histogram (gen_latency), drops them,
 *    and passes everything else.
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
#define GEN_WRITE (1u << 31) /* in a gen_keys entry: send a SET */
#define GEN_LATE_NS 20000
#define REQUEST_IDS (1 << 16) /* the memcached frame's request id is 16 bits */
/* Latency buckets: 8 per power of two of nanoseconds (12% wide), up to 2^40. */
#define LATENCY_SUB_BITS 3
#define LATENCY_BUCKETS (40 << LATENCY_SUB_BITS)
/* The memcached UDP frame header follows Ethernet, IPv4 without options
 * and UDP (the templates are built that way; replies come back the same). */
#define FRAME_OFFSET (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr))

/* Set by userspace through the skeleton (mmapped .data/.bss). */
__u8 gen_template[TEMPLATE_MAX];
__u32 gen_template_len;
__u8 gen_set_template[TEMPLATE_MAX];
__u32 gen_set_template_len; /* 0: no writes */
__u16 sink_server_port = 11211; /* host order */

/* The key sequence: item numbers, in the order requests use them. */
__u32 gen_key_count;  /* entries in gen_keys; 0: send the template as is */
__u32 gen_key_offset; /* frame offset of the key's first digit */
__u32 gen_key_digits; /* digits after the key's "k" (key length - 1) */
__u32 gen_gap_count;  /* entries in gen_gap_ns; 0: send as fast as possible */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEN_KEYS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} gen_gap_ns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEN_KEYS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} gen_keys SEC(".maps");

struct gen_cursor {
	__u32 slot;       /* next entry of gen_keys */
	__u32 request_id; /* next request id (low 16 bits used) */
	__u64 due_ns;     /* paced: when the next frame is due; 0: now */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gen_cursor);
} gen_cursor SEC(".maps");

/* Send time (bpf_ktime_get_ns) of the request in flight under each id; 0
 * once its reply was seen. A plain array: the sink may run on another CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, REQUEST_IDS);
	__type(key, __u32);
	__type(value, __u64);
} gen_sent_ns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LATENCY_BUCKETS);
	__type(key, __u32);
	__type(value, __u64);
} gen_latency SEC(".maps");

enum gen_counter {
	GEN_SENT,
	GEN_NO_ROOM,
	SINK_REPLIES,
	SINK_OTHER,
	GEN_SENT_WRITES,
	SINK_UNMATCHED, /* a reply whose request id has no send time (late, or twice) */
	GEN_LATE,       /* paced: sent more than GEN_LATE_NS after it was due */
	GEN_COUNTER_COUNT,
};

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

/* Writes `item` into the frame's key. Keys of 8, 16 or 32 bytes (7, 15 or
 * 31 digits after the "k"). */
static __always_inline int write_key(struct xdp_md *ctx, __u32 item)
{
	__u32 digits = *(volatile __u32 *)&gen_key_digits;
	__u32 offset = *(volatile __u32 *)&gen_key_offset;
	void *end = (void *)(long)ctx->data_end;
	__u8 *p;

	if (offset > TEMPLATE_MAX)
		return -1;
	p = (__u8 *)(long)ctx->data + offset;
	switch (digits) {
	case 7:
		return put_digits(p, end, item, 7);
	case 15:
		return put_digits(p, end, item, 15);
	case 31:
		return put_digits(p, end, item, 31);
	default:
		return -1;
	}
}

/* Copies a template of `len` bytes (<= TEMPLATE_MAX) into the frame,
 * resizing the frame to it. */
static __always_inline int write_template(struct xdp_md *ctx, const __u8 *template, __u32 len)
{
	__s32 delta;

	if (len == 0 || len > TEMPLATE_MAX)
		return -1;
	delta = (__s32)len - (__s32)(ctx->data_end - ctx->data);
	if (delta && bpf_xdp_adjust_tail(ctx, delta))
		return -1;
	return bpf_xdp_store_bytes(ctx, 0, (void *)template, len);
}

/* The latency histogram's bucket for `ns`: 8 buckets per power of two. */
static __always_inline __u32 latency_bucket(__u64 ns)
{
	__u32 log = 0;
	__u64 v = ns;

	if (ns < (1 << LATENCY_SUB_BITS))
		return (__u32)ns;
	/* floor(log2(ns)) by halving steps: no loop for the verifier. */
	if (v >> 32) { v >>= 32; log += 32; }
	if (v >> 16) { v >>= 16; log += 16; }
	if (v >> 8) { v >>= 8; log += 8; }
	if (v >> 4) { v >>= 4; log += 4; }
	if (v >> 2) { v >>= 2; log += 2; }
	if (v >> 1) { log += 1; }
	/* The LATENCY_SUB_BITS bits under the top one pick the sub-bucket. */
	return ((log - LATENCY_SUB_BITS + 1) << LATENCY_SUB_BITS) |
	       (__u32)((ns >> (log - LATENCY_SUB_BITS)) & ((1 << LATENCY_SUB_BITS) - 1));
}

SEC("xdp")
int xdpkv_gen(struct xdp_md *ctx)
{
	__u32 keys = *(volatile __u32 *)&gen_key_count;
	__u32 gaps = *(volatile __u32 *)&gen_gap_count;
	__u32 zero = 0, entry = 0, id;
	struct gen_cursor *cursor;
	__u16 *frame_id;
	__u64 now, sent_at;
	int write;

	cursor = bpf_map_lookup_elem(&gen_cursor, &zero);
	if (!cursor)
		return XDP_DROP;
	now = bpf_ktime_get_ns();
	sent_at = now;
	if (gaps) {
		__u32 gap_slot = cursor->request_id % (gaps <= GEN_KEYS_MAX ? gaps : GEN_KEYS_MAX);
		__u32 *gap;

		if (cursor->due_ns > now)
			return XDP_DROP; /* not yet: the test run loops on */
		/* Latency counts from when the request was due. */
		sent_at = cursor->due_ns ? cursor->due_ns : now;
		if (now - sent_at > GEN_LATE_NS)
			count(GEN_LATE);
		gap = bpf_map_lookup_elem(&gen_gap_ns, &gap_slot);
		if (!gap)
			return XDP_DROP;
		/* From when it was due, not from now: a late frame does not
		 * push the later ones back (an open loop). */
		cursor->due_ns = (cursor->due_ns ? cursor->due_ns : now) + *gap;
	}
	if (keys) {
		__u32 slot = cursor->slot % (keys <= GEN_KEYS_MAX ? keys : GEN_KEYS_MAX);
		__u32 *e = bpf_map_lookup_elem(&gen_keys, &slot);

		cursor->slot = slot + 1;
		if (!e)
			return XDP_DROP;
		entry = *e;
	}
	write = (entry & GEN_WRITE) && *(volatile __u32 *)&gen_set_template_len;
	if (write ? write_template(ctx, gen_set_template, *(volatile __u32 *)&gen_set_template_len)
		  : write_template(ctx, gen_template, *(volatile __u32 *)&gen_template_len)) {
		count(GEN_NO_ROOM);
		return XDP_DROP;
	}
	if (keys && write_key(ctx, entry & ~GEN_WRITE))
		return XDP_DROP;

	/* A request id of its own, and its send time. */
	id = cursor->request_id++ & (REQUEST_IDS - 1);
	frame_id = (__u16 *)((__u8 *)(long)ctx->data + FRAME_OFFSET);
	if ((void *)(frame_id + 1) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	*frame_id = bpf_htons((__u16)id);
	bpf_map_update_elem(&gen_sent_ns, &id, &sent_at, BPF_ANY);

	count(GEN_SENT);
	if (write)
		count(GEN_SENT_WRITES);
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

	__u16 *frame_id = (void *)(udp + 1);
	__u32 id, bucket;
	__u64 *sent, *n;

	if ((void *)(frame_id + 1) > data_end || ip->ihl != 5)
		return XDP_DROP;
	id = bpf_ntohs(*frame_id);
	sent = bpf_map_lookup_elem(&gen_sent_ns, &id);
	if (!sent || *sent == 0) {
		count(SINK_UNMATCHED);
		return XDP_DROP;
	}
	bucket = latency_bucket(bpf_ktime_get_ns() - *sent);
	*sent = 0;
	if (bucket >= LATENCY_BUCKETS)
		bucket = LATENCY_BUCKETS - 1;
	n = bpf_map_lookup_elem(&gen_latency, &bucket);
	if (n)
		(*n)++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
