// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A load generator that needs no per-packet userspace work (bench/):
 *  - xdpkv_gen runs under BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES
 *    on the client end of a veth pair. It writes a request template into
 *    every frame (recycled frames still hold whatever the server wrote into
 *    them) and XDP_TXes it to the server end.
 *    Three templates, one per request kind: a read of one key (memcached
 *    `get`, RESP `GET`), a write (`set`, `SET`) and a scan (memcached
 *    `get k1 ... kN`, RESP `MGET`). With a key sequence loaded (gen_keys),
 *    each entry names the kind and the item of the next request, and the
 *    frame's keys are rewritten from it (keys as bench/workload.h names
 *    them: "k", zero padding, the item number; a scan reads N consecutive
 *    items from the entry's, as xdpkv-bench's scans do).
 *    Every frame gets its own memcached request id, and the time it was
 *    sent (or due) is kept under that id (gen_requests).
 *    Paced (gen_gap_count > 0): the program sends a frame only once its
 *    send time has come (the previous one's plus the next gap of
 *    gen_gap_ns: Poisson arrivals at the offered rate) and drops the frame
 *    otherwise, so one long test run is an open loop.
 *  - xdpkv_sink is attached to the client end: it matches each reply
 *    datagram to its request by id and counts the request complete only
 *    once every datagram of its reply arrived (memcached's UDP framing: a
 *    reply is one or more objects, e.g. one per key of a multi-key get,
 *    each cut into datagrams numbered within it; docs/protocols.md). A
 *    complete request's round trip goes into a log-bucketed histogram
 *    (gen_latency). It drops the replies and passes everything else.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdpkv_gen_layout.h"

#define GEN_LATE_NS 20000
#define REQUEST_IDS (1 << 16) /* the memcached frame's request id is 16 bits */
/* The memcached UDP frame header follows Ethernet, IPv4 without options
 * and UDP (the templates are built that way; replies come back the same). */
#define FRAME_OFFSET (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr))

/* Set by userspace through the skeleton (mmapped .data/.bss). */
struct gen_template gen_templates[GEN_KINDS];
__u16 sink_server_port = 11211; /* host order */

__u32 gen_key_count; /* entries in gen_keys; 0: send the GET template as is */
__u32 gen_items;     /* keys are items 0..gen_items-1 (a scan wraps around) */
__u32 gen_gap_count; /* entries in gen_gap_ns; 0: send as fast as possible */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEN_KEYS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} gen_gap_ns SEC(".maps");

/* The workload: one entry per request, in the order they are sent. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEN_KEYS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} gen_keys SEC(".maps");

/* Each item's number as the GEN_KEY_DIGITS zero-padded decimal digits that
 * end its key, first digit in the low byte: filled by userspace, so the
 * generator never divides (a scan writes 100 keys per frame). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEN_ITEMS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} gen_item_digits SEC(".maps");

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

/* The request in flight under each id, and what of its reply has arrived.
 * A plain array: the sink may run on another CPU. */
struct gen_request {
	__u64 sent_ns;        /* bpf_ktime_get_ns when sent (or due); 0: none in flight */
	__u16 objects;        /* reply objects that make it complete */
	__u16 objects_seen;   /* objects whose last datagram arrived */
	__u16 datagrams_seen;
	__u16 datagrams_due;  /* the datagram counts of the objects seen, summed */
	__u8 kind;
	__u8 ends_with_end;
	__u8 pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, REQUEST_IDS);
	__type(key, __u32);
	__type(value, struct gen_request);
} gen_requests SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * GEN_LATENCY_BUCKETS);
	__type(key, __u32);
	__type(value, __u64);
} gen_latency SEC(".maps");

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

/* Writes item's digits (gen_item_digits) as the key's last characters,
 * ending at frame offset `end`. */
static __always_inline int put_key_digits(struct xdp_md *ctx, __u32 end, __u32 item)
{
	void *data_end = (void *)(long)ctx->data_end;
	__u32 start = end - GEN_KEY_DIGITS; /* below 0 wraps, and is refused */
	__u64 *digits, text;
	__u8 *p;

	digits = bpf_map_lookup_elem(&gen_item_digits, &item);
	if (!digits)
		return -1;
	text = *digits;
	/* Bounded after the barrier: folded into the pointer as
	 * data + end - 7, the stores would sit at negative offsets, which the
	 * verifier refuses. */
	asm volatile("" : "+r"(start));
	if (start > GEN_TEMPLATE_MAX - GEN_KEY_DIGITS)
		return -1;
	p = (__u8 *)(long)ctx->data + start;
	if ((void *)(p + GEN_KEY_DIGITS) > data_end)
		return -1;
	for (int i = 0; i < GEN_KEY_DIGITS; i++)
		p[i] = text >> (8 * i);
	return 0;
}

/* Rewrites the request's keys: items `first`, first + 1, ... (wrapping
 * at gen_items). */
static __always_inline int write_keys(struct xdp_md *ctx, const struct gen_template *t,
				      __u32 first)
{
	__u32 keys = t->keys, end = t->key_end, stride = t->key_stride;
	__u32 items = *(volatile __u32 *)&gen_items, item = first;

	for (__u32 k = 0; k < GEN_SCAN_KEYS_MAX; k++) {
		if (k >= keys)
			break;
		if (put_key_digits(ctx, end + k * stride, item))
			return -1;
		/* Modulo, not a compare: a branch per key would multiply the
		 * verifier's states. */
		item = items ? (item + 1) % items : 0;
	}
	return 0;
}

/* Copies the template into the frame, resizing the frame to it. */
static __always_inline int write_template(struct xdp_md *ctx, const struct gen_template *t)
{
	__u32 len = t->len;
	__s32 delta;

	if (len == 0 || len > GEN_TEMPLATE_MAX)
		return -1;
	delta = (__s32)len - (__s32)(ctx->data_end - ctx->data);
	if (delta && bpf_xdp_adjust_tail(ctx, delta))
		return -1;
	return bpf_xdp_store_bytes(ctx, 0, (void *)t->bytes, len);
}

/* The latency histogram's bucket for `ns`: 8 buckets per power of two. */
static __always_inline __u32 latency_bucket(__u64 ns)
{
	__u32 log = 0;
	__u64 v = ns;

	if (ns < (1 << GEN_LATENCY_SUB_BITS))
		return (__u32)ns;
	/* floor(log2(ns)) by halving steps: no loop for the verifier. */
	if (v >> 32) { v >>= 32; log += 32; }
	if (v >> 16) { v >>= 16; log += 16; }
	if (v >> 8) { v >>= 8; log += 8; }
	if (v >> 4) { v >>= 4; log += 4; }
	if (v >> 2) { v >>= 2; log += 2; }
	if (v >> 1) { log += 1; }
	/* The GEN_LATENCY_SUB_BITS bits under the top one pick the sub-bucket. */
	return ((log - GEN_LATENCY_SUB_BITS + 1) << GEN_LATENCY_SUB_BITS) |
	       (__u32)((ns >> (log - GEN_LATENCY_SUB_BITS)) & ((1 << GEN_LATENCY_SUB_BITS) - 1));
}

static __always_inline void record_latency(__u64 ns, int scan)
{
	__u32 bucket = latency_bucket(ns);
	__u64 *n;

	if (bucket >= GEN_LATENCY_BUCKETS)
		bucket = GEN_LATENCY_BUCKETS - 1;
	n = bpf_map_lookup_elem(&gen_latency, &bucket);
	if (n)
		(*n)++;
	if (!scan)
		return;
	bucket += GEN_LATENCY_BUCKETS;
	n = bpf_map_lookup_elem(&gen_latency, &bucket);
	if (n)
		(*n)++;
}

SEC("xdp")
int xdpkv_gen(struct xdp_md *ctx)
{
	__u32 keys = *(volatile __u32 *)&gen_key_count;
	__u32 gaps = *(volatile __u32 *)&gen_gap_count;
	__u32 zero = 0, entry = 0, kind, id;
	const struct gen_template *t;
	struct gen_request *request;
	struct gen_cursor *cursor;
	__u16 *frame_id;
	__u64 now, sent_at;

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
	kind = entry >> GEN_KIND_SHIFT;
	if (kind >= GEN_KINDS)
		return XDP_DROP;
	t = &gen_templates[kind];
	if (write_template(ctx, t)) {
		count(GEN_NO_ROOM);
		return XDP_DROP;
	}
	if (keys && write_keys(ctx, t, entry & GEN_ITEM_MASK))
		return XDP_DROP;

	/* A request id of its own, and what its reply must bring. */
	id = cursor->request_id++ & (REQUEST_IDS - 1);
	frame_id = (__u16 *)((__u8 *)(long)ctx->data + FRAME_OFFSET);
	if ((void *)(frame_id + 1) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	*frame_id = bpf_htons((__u16)id);
	request = bpf_map_lookup_elem(&gen_requests, &id);
	if (!request)
		return XDP_DROP;
	request->objects = t->objects;
	request->objects_seen = 0;
	request->datagrams_seen = 0;
	request->datagrams_due = 0;
	request->kind = kind;
	request->ends_with_end = t->ends_with_end;
	request->sent_ns = sent_at;

	count(GEN_SENT);
	if (kind == GEN_SET)
		count(GEN_SENT_WRITES);
	else if (kind == GEN_SCAN)
		count(GEN_SENT_SCANS);
	return XDP_TX;
}

/* Whether the datagram's payload ends in "END\r\n". */
static __always_inline int ends_in_end(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	char tail[5];

	if (len < FRAME_OFFSET + 8 + sizeof(tail) ||
	    bpf_xdp_load_bytes(ctx, len - sizeof(tail), tail, sizeof(tail)))
		return 0;
	return tail[0] == 'E' && tail[1] == 'N' && tail[2] == 'D' && tail[3] == '\r' &&
	       tail[4] == '\n';
}

SEC("xdp")
int xdpkv_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u16 *frame = (void *)(udp + 1);
	struct gen_request *request;
	__u32 id, seq, total;
	int scan, end;

	if ((void *)(frame + 3) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP || ip->ihl != 5 ||
	    udp->source != bpf_htons(sink_server_port)) {
		count(SINK_OTHER);
		return XDP_PASS;
	}
	id = bpf_ntohs(frame[0]);
	seq = bpf_ntohs(frame[1]);
	total = bpf_ntohs(frame[2]);
	request = bpf_map_lookup_elem(&gen_requests, &id);
	if (!request || request->sent_ns == 0) {
		count(SINK_UNMATCHED);
		return XDP_DROP;
	}
	count(SINK_DATAGRAMS);
	request->datagrams_seen++;
	/* The last datagram of an object closes it; an empty object is one
	 * datagram counting 0. Datagrams arrive in order on a veth, so an
	 * object closed with datagrams missing is one that lost some. */
	if (total != 0 && seq + 1 < total)
		return XDP_DROP;
	request->objects_seen++;
	request->datagrams_due += total ? total : 1;
	/* A memcached get's reply ends where END is (memcached drops empty
	 * objects after the first, so a miss may leave fewer objects than
	 * keys: counted incomplete, not left waiting); others after their
	 * objects. */
	end = request->ends_with_end && ends_in_end(ctx);
	if (!end && request->objects_seen < request->objects)
		return XDP_DROP;

	scan = request->kind == GEN_SCAN;
	if (request->datagrams_seen != request->datagrams_due ||
	    request->objects_seen != request->objects)
		count(SINK_INCOMPLETE);
	else if (request->ends_with_end && !end)
		count(SINK_NO_END);
	else {
		record_latency(bpf_ktime_get_ns() - request->sent_ns, scan);
		count(SINK_COMPLETE);
		if (scan)
			count(SINK_SCANS_COMPLETE);
	}
	request->sent_ns = 0;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
