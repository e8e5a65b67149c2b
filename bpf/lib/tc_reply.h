/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The TC tier's replies (bpf/xdpkv_tc.bpf.c): reads assembled in a per-CPU
 * output buffer as memcached's reply objects (one per key of a get, END on
 * the last; RESP: one per command), a plan of the datagrams that carry them
 * (memcached's UDP framing: each object cut into payloads of at most 1392
 * bytes, numbered from 0 with the object's datagram count; an empty object
 * is one 8-byte datagram whose count is 0 if it is the reply's first, and
 * is dropped anywhere else, as memcached drops it), then sent one by one
 * from the request's skb with bpf_clone_redirect.
 *
 * Everything is read and assembled before the first datagram goes out, so
 * a read that cannot finish (a blob replaced under us, too big a reply)
 * still passes the untouched request to userspace.
 */
#ifndef XDPKV_LIB_TC_REPLY_H
#define XDPKV_LIB_TC_REPLY_H

#include "lib/counters.h"
#include "lib/csum.h"
#include "lib/reply.h"
#include "lib/scratch.h"
#include "lib/store.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

/* Reply bytes one request may get from the TC tier (frame headers not
 * counted); bigger replies are userspace's. */
#define TC_OUT_LEN 65536
#define TC_OUT_MASK (TC_OUT_LEN - 1)
#define TC_MAX_DATAGRAMS 256
#define TC_DATAGRAM_PAYLOAD (XDPKV_REPLY_MAX - FRAME_HEADER_LEN) /* 1392 */
/* A value line: "VALUE " key flags length cas CRLF, at most 6 + 250 +
 * 3 * 21 + 2 bytes, copied in words. */
#define TC_LINE_WORDS 48

struct tc_datagram {
	__u32 off; /* of its payload in tc_out.bytes */
	__u16 len; /* payload bytes after the frame header */
	__u16 seq; /* frame header: sequence number in its object */
	__u16 total; /* frame header: datagrams of its object */
	__u16 pad;
	__u32 csum; /* IPv6: the payload's 32-bit ones'-complement sum */
	__u32 pad2;
};

struct tc_out {
	__u32 ndatagrams;
	__u32 pad;
	struct tc_datagram plan[TC_MAX_DATAGRAMS];
	/* Replies are assembled in [0, TC_OUT_LEN); the rest is room the
	 * verifier needs to see a copy of up to TC_OUT_LEN bytes made at any
	 * masked position, plus a word's slack. */
	__u8 bytes[2 * TC_OUT_LEN + BUF_SLACK];
};

/* One entry per CPU, indexed by bpf_get_smp_processor_id() (the loader
 * sizes it): a per-CPU array cannot hold values this big. A CPU runs one
 * TC program at a time, so its entry is never shared. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tc_out);
} xdpkv_tc_out SEC(".maps");

static __always_inline struct tc_out *tc_out_buffer(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&xdpkv_tc_out, &cpu);
}

/* Copies n (<= 8 * max_words) bytes from src into the output at pos, a
 * word at a time (up to 7 bytes past pos + n are clobbered; the next
 * append overwrites them). The caller has checked pos + n <= TC_OUT_LEN. */
static __always_inline __u32 out_words(struct tc_out *o, __u32 pos, const __u8 *src, __u32 n,
				       __u32 max_words)
{
	for (__u32 i = 0; i < max_words; i++) {
		if (i * 8 >= n)
			break;
		*(__u64 *)(o->bytes + ((pos + i * 8) & TC_OUT_MASK)) = *(const __u64 *)(src + i * 8);
	}
	return pos + n;
}

static __always_inline __u32 out_text(struct tc_out *o, __u32 pos, const char *lit, __u32 n)
{
	for (__u32 i = 0; i < n; i++)
		o->bytes[(pos + i) & TC_OUT_MASK] = lit[i];
	return pos + n;
}

/* blob_open() for every value class a TC reply can carry. */
static __always_inline int blob_open_tc(__u64 id, __u32 value_len, struct bpf_dynptr *blob)
{
	BLOB_OPEN_CLASS(xdpkv_blobs_256, 256)
	BLOB_OPEN_CLASS(xdpkv_blobs_512, 512)
	BLOB_OPEN_CLASS(xdpkv_blobs_1k, 1024)
	BLOB_OPEN_CLASS(xdpkv_blobs_2k, 2048)
	BLOB_OPEN_CLASS(xdpkv_blobs_4k, 4096)
	BLOB_OPEN_CLASS(xdpkv_blobs_8k, 8192)
	BLOB_OPEN_CLASS(xdpkv_blobs_16k, 16384)
	BLOB_OPEN_CLASS(xdpkv_blobs_32k, 32768)
	BLOB_OPEN_CLASS(xdpkv_blobs_64k, 65536)
	return -1;
}
_Static_assert(TC_OUT_LEN == 65536, "blob_open_tc opens the classes up to TC_OUT_LEN");

/* put_blob() into the output: the blob checked against the item before
 * and after the copy. Returns 0, or -1 if it is gone or changed. */
static __always_inline int out_blob(struct tc_out *o, __u32 pos, __u64 id, __u32 len)
{
	struct bpf_dynptr blob;

	if (len == 0 || len > TC_OUT_LEN)
		return -1;
	len -= 1;
	VERIFIER_MASK(len, TC_OUT_MASK);
	len += 1;
	VERIFIER_MASK(pos, TC_OUT_MASK);
	if (blob_open_tc(id, len, &blob) || !blob_is(&blob, id, len))
		return -1;
	if (bpf_dynptr_read(o->bytes + pos, len, &blob, sizeof(struct xdpkv_blob_header), 0))
		return -1;
	return blob_is(&blob, id, len) ? 0 : -1;
}

/* A hit's element (value line, value, CRLF) appended at pos. Returns the
 * position after it, or -reason. */
static __always_inline int out_hit(struct scratch *s, vreq *req, struct tc_out *o, __u32 pos)
{
	struct xdpkv_item *copy = (struct xdpkv_item *)s->item;
	__u32 len = copy->value_len;
	__u32 line = put_value_line(s, req, 0);

	if (line > TC_LINE_WORDS * 8 || len > TC_OUT_LEN || pos + line + len + 2 > TC_OUT_LEN)
		return -XDPKV_PASS_REPLY_TOO_BIG;
	pos = opaque(req, out_words(o, pos, s->reply, line, TC_LINE_WORDS));
	if (copy->blob_id != 0) {
		if (out_blob(o, pos, copy->blob_id, len))
			return -XDPKV_PASS_BUSY;
	} else {
		if (len > XDPKV_INLINE_VALUE_MAX)
			return -XDPKV_PASS_BIG_VALUE;
		out_words(o, pos, copy->inline_value, len, XDPKV_INLINE_VALUE_MAX / 8);
	}
	pos = opaque(req, pos + len);
	return out_text(o, pos, "\r\n", 2);
}

/* Plans the datagrams of the reply object [start, end). Returns 0, or -1
 * if the plan is full. */
static __always_inline int plan_object(struct tc_out *o, __u32 start, __u32 end)
{
	__u32 len = end - start, n = o->ndatagrams;
	__u32 total = (len + TC_DATAGRAM_PAYLOAD - 1) / TC_DATAGRAM_PAYLOAD;
	struct tc_datagram *d;

	if (n + (total ? total : 1) > TC_MAX_DATAGRAMS)
		return -1;
	if (total == 0) {
		/* An empty object is a bare frame header that counts 0
		 * datagrams. */
		d = &o->plan[n & (TC_MAX_DATAGRAMS - 1)];
		d->off = start;
		d->len = 0;
		d->seq = 0;
		d->total = 0;
		o->ndatagrams = n + 1;
		return 0;
	}
	for (__u32 k = 0; k < TC_OUT_LEN / TC_DATAGRAM_PAYLOAD + 1; k++) {
		__u32 off = k * TC_DATAGRAM_PAYLOAD;

		if (k >= total)
			break;
		d = &o->plan[(n + k) & (TC_MAX_DATAGRAMS - 1)];
		d->off = start + off;
		d->len = len - off < TC_DATAGRAM_PAYLOAD ? len - off : TC_DATAGRAM_PAYLOAD;
		d->seq = k;
		d->total = total;
	}
	o->ndatagrams = n + total;
	return 0;
}

/* bpf_loop's body: one key of a read, appended to the output; memcached
 * closes the key's object after it. Keys come from the request as
 * build_multi_get's do (next_key()); a single-key read's key is loaded. */
static long tc_read_step(__u64 index, void *unused)
{
	struct tc_out *o = tc_out_buffer();
	struct scratch *s;
	__u32 zero = 0, pos;
	vreq *req;
	int last = 1, end, hit;

	s = bpf_map_lookup_elem(&xdpkv_scratch, &zero);
	if (!s || !o)
		return 1;
	req = &s->request;
	if (req->multi) {
		last = next_key(s, req, index);
		if (last < 0) {
			req->status = -last;
			return 1;
		}
		load_key(s, req);
	}
	pos = req->rpos;
	hit = read_key(s);
	if (hit && ((struct xdpkv_item *)s->item)->type != XDPKV_TYPE_STRING) {
		/* A RESP GET of another type is WRONGTYPE (userspace's words);
		 * MGET and memcached read it as nothing. */
		if (req->proto == XDPKV_PROTO_RESP && !req->multi) {
			req->status = XDPKV_PASS_WRONGTYPE;
			return 1;
		}
		hit = 0;
	}
	if (hit) {
		end = out_hit(s, req, o, pos);
		if (end < 0) {
			req->status = -end;
			return 1;
		}
		pos = end;
	} else if (req->proto == XDPKV_PROTO_RESP) {
		if (pos + 5 > TC_OUT_LEN) {
			req->status = XDPKV_PASS_REPLY_TOO_BIG;
			return 1;
		}
		pos = out_text(o, pos, "$-1\r\n", 5);
	}
	if (req->proto == XDPKV_PROTO_MEMCACHE) {
		if (last) {
			if (pos + 5 > TC_OUT_LEN) {
				req->status = XDPKV_PASS_REPLY_TOO_BIG;
				return 1;
			}
			pos = out_text(o, pos, "END\r\n", 5);
		}
		/* memcached sends an empty object (a miss) only at the head of
		 * a reply: after an object went out it drops empty ones. */
		if ((pos != req->obj_start || index == 0) && plan_object(o, req->obj_start, pos)) {
			req->status = XDPKV_PASS_REPLY_TOO_BIG;
			return 1;
		}
		req->obj_start = pos;
	}
	req->rpos = pos;
	if (last) {
		req->status = MGET_DONE;
		return 1;
	}
	return 0;
}

/* Reads the request's keys into the output and plans its datagrams.
 * Returns the reply's UDP payload bytes (frame headers included), or
 * -reason to pass the request to userspace. */
static __always_inline int tc_build(struct scratch *s, vreq *req, struct tc_out *o)
{
	__u32 pos = 0, status, n;

	o->ndatagrams = 0;
	req->status = MGET_RUNNING;
	req->obj_start = 0;
	if (req->proto == XDPKV_PROTO_RESP && req->multi) {
		n = put(s->reply, 0, "*", 1);
		n = opaque(req, put_uint(s, n, req->nkeys));
		n = put(s->reply, n, "\r\n", 2);
		if (n > 32)
			return -XDPKV_PASS_BUSY;
		pos = out_words(o, 0, s->reply, n, 4);
	}
	req->rpos = pos;
	bpf_loop(req->multi ? MAX_MULTI_KEYS : 1, tc_read_step, NULL, 0);
	status = req->status;
	if (status == MGET_RUNNING)
		return -XDPKV_PASS_UNSUPPORTED;
	if (status != MGET_DONE)
		return -(int)status;
	/* RESP: the command's reply is one object. */
	if (req->proto == XDPKV_PROTO_RESP && plan_object(o, 0, req->rpos))
		return -XDPKV_PASS_REPLY_TOO_BIG;
	n = o->ndatagrams;
	return req->rpos + n * FRAME_HEADER_LEN;
}

/* bpf_loop's body, over IPv6 only: datagram `index`'s payload sum
 * (plan.csum), so sending it costs a few additions. */
static long tc_csum_step(__u64 index, void *unused)
{
	struct tc_out *o = tc_out_buffer();
	struct tc_datagram *d;
	__u32 off, len, whole;
	__u8 tail[4] = {};
	__s64 sum = 0;

	if (!o)
		return 1;
	d = &o->plan[index & (TC_MAX_DATAGRAMS - 1)];
	off = d->off;
	len = d->len;
	if (len > TC_DATAGRAM_PAYLOAD)
		return 1;
	whole = len & ~3u;
	for (__u32 done = 0; done < TC_DATAGRAM_PAYLOAD; done += CSUM_CHUNK) {
		__u32 from = off + done, n;

		if (done >= whole)
			break;
		n = whole - done;
		if (n > CSUM_CHUNK)
			n = CSUM_CHUNK;
		VERIFIER_MASK(n, 2 * CSUM_CHUNK - 4);
		VERIFIER_MASK(from, TC_OUT_MASK);
		sum = bpf_csum_diff(0, 0, (__be32 *)(o->bytes + from), n, sum);
	}
	for (__u32 i = 0; i < 3; i++) {
		if (whole + i >= len)
			break;
		tail[i] = o->bytes[(off + whole + i) & TC_OUT_MASK];
	}
	sum = bpf_csum_diff(0, 0, (__be32 *)tail, 4, sum);
	d->csum = fold_csum((__u64)sum);
	return 0;
}

/* What every datagram of a reply shares, computed once: the headers (in
 * s->hdrs, swapped into the reply's, followed by the frame header with the
 * request id) and the checksum sums over the fields that do not change. */
struct tc_reply_base {
	__u32 hdr_len;   /* Ethernet, IP and UDP */
	__u64 ip_sum;    /* IPv4 header, total length and checksum 0 */
	__u64 udp6_sum;  /* IPv6 pseudo header and UDP/frame headers, lengths, sequence, count and checksum 0 */
};

/* Sends planned datagram d: the skb resized and rewritten as the reply,
 * then cloned out of the interface it came in on. Returns 0 if it went
 * out. */
static __always_inline int tc_send_one(struct __sk_buff *skb, struct scratch *s,
				       struct tc_out *o, int ipv6, const struct tc_reply_base *base,
				       const struct tc_datagram *d)
{
	__u32 len = d->len, off = d->off;
	__u16 udp_len = 8 + FRAME_HEADER_LEN + len;
	struct udphdr *udp;
	__u8 *frame;

	if (len > TC_DATAGRAM_PAYLOAD)
		return -1;
	if (ipv6) {
		struct ipv6hdr *ip6 = (void *)(s->hdrs + 14);
		__u64 sum;

		udp = (void *)(s->hdrs + ETH_IPV6_UDP_LEN - 8);
		frame = s->hdrs + ETH_IPV6_UDP_LEN;
		ip6->payload_len = bpf_htons(udp_len);
		udp->len = ip6->payload_len;
		/* The UDP length counts twice: pseudo header and UDP header. */
		sum = base->udp6_sum + 2 * (__u32)bpf_htons(udp_len) + bpf_htons(d->seq) +
		      bpf_htons(d->total) + d->csum;
		udp->check = ~fold_csum(sum);
		if (udp->check == 0)
			udp->check = 0xffff;
	} else {
		struct iphdr *ip = (void *)(s->hdrs + 14);

		udp = (void *)(s->hdrs + ETH_IPV4_UDP_LEN - 8);
		frame = s->hdrs + ETH_IPV4_UDP_LEN;
		ip->tot_len = bpf_htons(20 + udp_len);
		ip->check = ~fold_csum(base->ip_sum + ip->tot_len);
		udp->len = bpf_htons(udp_len);
	}
	*(__u16 *)(frame + 2) = bpf_htons(d->seq);
	*(__u16 *)(frame + 4) = bpf_htons(d->total);
	if (bpf_skb_change_tail(skb, base->hdr_len + FRAME_HEADER_LEN + len, 0))
		return -1;
	if (ipv6) {
		if (bpf_skb_store_bytes(skb, 0, s->hdrs, ETH_IPV6_UDP_LEN + FRAME_HEADER_LEN, 0))
			return -1;
	} else {
		if (bpf_skb_store_bytes(skb, 0, s->hdrs, ETH_IPV4_UDP_LEN + FRAME_HEADER_LEN, 0))
			return -1;
	}
	if (len) {
		VERIFIER_MASK(off, TC_OUT_MASK);
		if (bpf_skb_store_bytes(skb, base->hdr_len + FRAME_HEADER_LEN, o->bytes + off, len, 0))
			return -1;
	}
	return bpf_clone_redirect(skb, skb->ifindex, 0) ? -1 : 0;
}

/* Fills s->hdrs and *base from the request's headers (see struct
 * tc_reply_base); with IPv6, the plan's payload sums too. */
static __always_inline int tc_reply_headers(struct __sk_buff *skb, struct scratch *s,
					    struct tc_out *o, int ipv6, struct tc_reply_base *base)
{
	struct ethhdr *eth = (void *)s->hdrs;
	struct udphdr *udp;
	__u8 mac[ETH_ALEN];
	__u8 *frame;
	__u16 port;

	if (ipv6) {
		struct ipv6hdr *ip6 = (void *)(s->hdrs + 14);
		struct in6_addr addr;

		if (bpf_skb_load_bytes(skb, 0, s->hdrs, ETH_IPV6_UDP_LEN))
			return -1;
		addr = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = addr;
		ip6->hop_limit = 64;
		udp = (void *)(s->hdrs + ETH_IPV6_UDP_LEN - 8);
		frame = s->hdrs + ETH_IPV6_UDP_LEN;
		base->hdr_len = ETH_IPV6_UDP_LEN;
	} else {
		struct iphdr *ip = (void *)(s->hdrs + 14);
		__u16 *words = (__u16 *)ip;
		__be32 addr;

		if (bpf_skb_load_bytes(skb, 0, s->hdrs, ETH_IPV4_UDP_LEN))
			return -1;
		addr = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = addr;
		ip->ttl = 64;
		ip->tot_len = 0;
		ip->check = 0;
		base->ip_sum = 0;
		for (int i = 0; i < 10; i++)
			base->ip_sum += words[i];
		udp = (void *)(s->hdrs + ETH_IPV4_UDP_LEN - 8);
		udp->check = 0; /* optional over IPv4 */
		frame = s->hdrs + ETH_IPV4_UDP_LEN;
		base->hdr_len = ETH_IPV4_UDP_LEN;
	}
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	frame[0] = s->req[0];
	frame[1] = s->req[1];
	frame[6] = 0;
	frame[7] = 0;
	if (ipv6) {
		struct ipv6hdr *ip6 = (void *)(s->hdrs + 14);
		__u16 *words = (__u16 *)&ip6->saddr;
		__u64 sum = bpf_htons(IPPROTO_UDP) + udp->source + udp->dest +
			    *(__u16 *)frame;

		for (int i = 0; i < 16; i++)
			sum += words[i];
		base->udp6_sum = sum;
		bpf_loop(o->ndatagrams, tc_csum_step, NULL, 0);
	}
	return 0;
}

#endif /* XDPKV_LIB_TC_REPLY_H */
