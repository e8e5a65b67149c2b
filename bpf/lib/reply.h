/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reply assembly in scratch->reply and send_reply(), which turns the
 * request packet into the reply (headers swapped, lengths and checksums
 * set, packet resized) and returns XDP_TX, or counts why not and passes.
 * Multi-key reads (build_multi_get) are assembled here too: a bpf_loop
 * that parses, reads and appends one key per step.
 */
#ifndef XDPKV_LIB_REPLY_H
#define XDPKV_LIB_REPLY_H

#include "lib/admission.h"
#include "lib/counters.h"
#include "lib/csum.h"
#include "lib/parse_memcache.h"
#include "lib/parse_resp.h"
#include "lib/scratch.h"
#include "lib/store.h"
#include "lib/tc_handoff.h"

static __always_inline __u32 put(__u8 *buf, __u32 pos, const char *lit, __u32 n)
{
	for (__u32 i = 0; i < n; i++)
		buf[(pos + i) & REPLY_MASK] = lit[i];
	return pos + n;
}

/* Decimal digits of `value` into the reply at pos. The digits go to
 * scratch (right-aligned in s->digits) and their count through opaque(), so
 * the first loop's exits merge; the copy then moves MAX_DIGITS bytes
 * without a branch (those past the number are overwritten by the next put,
 * as put_words's are). */
static __always_inline __u32 put_uint(struct scratch *s, __u32 pos, __u64 value)
{
	__u32 n = 0, from;

	for (int i = MAX_DIGITS - 1; i >= 0; i--) {
		s->digits[i] = '0' + value % 10;
		value /= 10;
		n++;
		if (value == 0)
			break;
	}
	n = opaque(&s->request, n);
	from = MAX_DIGITS - n;
	for (__u32 i = 0; i < MAX_DIGITS; i++)
		s->reply[(pos + i) & REPLY_MASK] = s->digits[(from + i) & DIGITS_MASK];
	return pos + n;
}

/* Copies `n` (<= 8 * max_words) bytes from src + src_off into buf (the
 * reply) at pos, a word at a time. Whole words are written, so up to 7 bytes
 * past pos + n are clobbered (the next put overwrites them; the reply length
 * excludes them). Both buffers have BUF_SLACK bytes after their masked
 * range; src is indexed like the request buffer. */
static __always_inline __u32 put_words(__u8 *buf, __u32 pos, const __u8 *src, __u32 src_off,
				       __u32 n, __u32 max_words)
{
	for (__u32 i = 0; i < max_words; i++) {
		if (i * 8 >= n)
			break;
		*(__u64 *)(buf + ((pos + i * 8) & REPLY_MASK)) =
			*(const __u64 *)(src + ((src_off + i * 8) & BUF_MASK));
	}
	return pos + n;
}

/* What identifies a blob: the start of struct xdpkv_blob_header. */
struct blob_ident {
	__u64 blob_id;
	__u32 value_len;
	__u32 pad;
};
_Static_assert(__builtin_offsetof(struct xdpkv_blob_header, value_len) == 8, "blob_ident");

static __always_inline int blob_is(struct bpf_dynptr *blob, __u64 id, __u32 len)
{
	struct blob_ident ident;

	if (bpf_dynptr_read(&ident, 12, blob, 0, 0))
		return 0;
	return ident.blob_id == id && ident.value_len == len;
}

/* Copies the out-of-line value `id` of `len` bytes (as the item, read under
 * its lock, says) into the reply at pos, where it must end within
 * XDPKV_REPLY_MAX. A blob is never modified,
 * but once deleted its map element can be reused at once for another blob:
 * the header is checked against the item before and after the copy, and
 * blob ids are never reused, so a copy that overlapped a reuse is noticed.
 * Returns 0, or -1 if the blob is gone or changed: the item was written
 * since it was read. */
static __always_inline int put_blob(struct scratch *s, __u32 pos, __u64 id, __u32 len)
{
	struct bpf_dynptr blob;

	if (len > XDPKV_REPLY_MAX || pos + len > XDPKV_REPLY_MAX)
		return -1;
	if (blob_open(id, len, &blob) || !blob_is(&blob, id, len))
		return -1;
	VERIFIER_MASK(pos, REPLY_POS_MASK);
	if (bpf_dynptr_read(s->reply + pos, len, &blob, sizeof(struct xdpkv_blob_header), 0))
		return -1;
	return blob_is(&blob, id, len) ? 0 : -1;
}

/* The line before a value: RESP's "$<len>\r\n", memcached's
 * "VALUE <key> <flags> <len>[ <cas>]\r\n". Each variable-length piece goes
 * through opaque() (struct scratch). */
static __always_inline __u32 put_value_line(struct scratch *s, vreq *req, __u32 pos)
{
	struct xdpkv_item *copy = (struct xdpkv_item *)s->item;

	if (req->proto == XDPKV_PROTO_RESP) {
		pos = put(s->reply, pos, "$", 1);
		pos = opaque(req, put_uint(s, pos, copy->value_len));
		return put(s->reply, pos, "\r\n", 2);
	}
	pos = put(s->reply, pos, "VALUE ", 6);
	pos = opaque(req, put_words(s->reply, pos, s->key.bytes, 0, s->key.len,
				    XDPKV_KEY_BYTES_MAX / 8));
	pos = put(s->reply, pos, " ", 1);
	pos = opaque(req, put_uint(s, pos, copy->flags));
	pos = put(s->reply, pos, " ", 1);
	pos = opaque(req, put_uint(s, pos, copy->value_len));
	if (req->op == OP_GETS) {
		pos = put(s->reply, pos, " ", 1);
		pos = opaque(req, put_uint(s, pos, copy->cas));
	}
	return put(s->reply, pos, "\r\n", 2);
}

/* What follows the value. */
static __always_inline __u32 put_value_end(struct scratch *s, vreq *req, __u32 pos)
{
	if (req->proto == XDPKV_PROTO_RESP)
		return put(s->reply, pos, "\r\n", 2);
	return put(s->reply, pos, "\r\nEND\r\n", 7);
}

/* Turns the request in the packet into a reply carrying scratch->reply's
 * first `reply_len` bytes as its UDP payload, and returns XDP_TX; or counts
 * why it could not and returns XDP_PASS. A read whose frame cannot grow
 * enough (`to_tc`) goes to the TC tier, which can. */
static __always_inline int send_reply(struct xdp_md *ctx, struct scratch *s, int ipv6,
				      __u32 reply_len, enum xdpkv_proto proto,
				      enum xdpkv_reason reason, int to_tc)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 hdr_len = ipv6 ? ETH_IPV6_UDP_LEN : ETH_IPV4_UDP_LEN;
	__s32 old_len = (__s32)(data_end - data);
	__s32 delta;
	struct ethhdr *eth = (void *)s->hdrs;
	struct udphdr *udp;
	__u8 mac[ETH_ALEN];
	__u16 port;

	if (reply_len == 0 || reply_len > XDPKV_REPLY_MAX)
		return finish(proto, XDPKV_PASS_NO_ROOM, XDP_PASS);
	if (!reply_cap_allows(reply_len))
		return finish(proto, XDPKV_PASS_REPLY_CAP, XDP_PASS);
	/* [1, REPLY_BUF_LEN] as far as the verifier can see, and unchanged. */
	reply_len -= 1;
	VERIFIER_MASK(reply_len, REPLY_MASK);
	reply_len += 1;

	/* Save the request's headers, then size the packet for the reply:
	 * tail growth where the driver left room, else head growth (256
	 * bytes of headroom are guaranteed in native mode). */
	if (ipv6) {
		if (bpf_xdp_load_bytes(ctx, 0, s->hdrs, ETH_IPV6_UDP_LEN))
			return finish(proto, XDPKV_PASS_MALFORMED, XDP_PASS);
	} else {
		if (bpf_xdp_load_bytes(ctx, 0, s->hdrs, ETH_IPV4_UDP_LEN))
			return finish(proto, XDPKV_PASS_MALFORMED, XDP_PASS);
	}
	delta = (__s32)(hdr_len + reply_len) - old_len;
	if (delta > 0) {
		if (bpf_xdp_adjust_tail(ctx, delta) && bpf_xdp_adjust_head(ctx, -delta)) {
			if (to_tc)
				return hand_to_tc(ctx, &s->request, XDPKV_PASS_NO_ROOM);
			return finish(proto, XDPKV_PASS_NO_ROOM, XDP_PASS);
		}
	} else if (delta < 0) {
		if (bpf_xdp_adjust_tail(ctx, delta))
			return finish(proto, XDPKV_PASS_NO_ROOM, XDP_PASS);
	}

	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);

	if (ipv6) {
		struct ipv6hdr *ip6 = (void *)(s->hdrs + 14);
		struct in6_addr addr = ip6->saddr;
		__be32 pseudo[2];
		__u32 padded;
		__s64 sum;

		ip6->saddr = ip6->daddr;
		ip6->daddr = addr;
		ip6->payload_len = bpf_htons(8 + reply_len);
		ip6->hop_limit = 64;
		udp = (void *)(s->hdrs + 14 + 40);
		port = udp->source;
		udp->source = udp->dest;
		udp->dest = port;
		udp->len = bpf_htons(8 + reply_len);
		udp->check = 0;
		/* Checksum over pseudo header, UDP header and payload; the
		 * payload is zero-padded to a multiple of 4 for csum_diff. */
		for (__u32 i = 0; i < 3; i++)
			s->reply[(reply_len + i) & REPLY_MASK] = 0;
		pseudo[0] = bpf_htonl(8 + reply_len);
		pseudo[1] = bpf_htonl(IPPROTO_UDP);
		sum = bpf_csum_diff(0, 0, (__be32 *)&ip6->saddr, 32, 0);
		sum = bpf_csum_diff(0, 0, pseudo, sizeof(pseudo), sum);
		sum = bpf_csum_diff(0, 0, (__be32 *)udp, 8, sum);
		padded = (reply_len + 3) & ~3u;
		for (__u32 off = 0; off < XDPKV_REPLY_MAX; off += CSUM_CHUNK) {
			__u32 n;

			if (off >= padded)
				break;
			n = padded - off;
			if (n > CSUM_CHUNK)
				n = CSUM_CHUNK;
			/* clang may pass a 64-bit copy the clamp never saw. */
			VERIFIER_MASK(n, 2 * CSUM_CHUNK - 4);
			sum = bpf_csum_diff(0, 0, (__be32 *)(s->reply + off), n, sum);
		}
		udp->check = ~fold_csum((__u64)sum);
		if (udp->check == 0)
			udp->check = 0xffff;
		if (bpf_xdp_store_bytes(ctx, 0, s->hdrs, ETH_IPV6_UDP_LEN))
			return finish(proto, XDPKV_PASS_NO_ROOM, XDP_PASS);
	} else {
		struct iphdr *ip = (void *)(s->hdrs + 14);
		__be32 addr = ip->saddr;
		__u16 *words = (__u16 *)ip;
		__u64 sum = 0;

		ip->saddr = ip->daddr;
		ip->daddr = addr;
		ip->tot_len = bpf_htons(20 + 8 + reply_len);
		ip->ttl = 64;
		ip->check = 0;
		for (int i = 0; i < 10; i++)
			sum += words[i];
		ip->check = ~fold_csum(sum);
		udp = (void *)(s->hdrs + 14 + 20);
		port = udp->source;
		udp->source = udp->dest;
		udp->dest = port;
		udp->len = bpf_htons(8 + reply_len);
		udp->check = 0; /* optional over IPv4 */
		if (bpf_xdp_store_bytes(ctx, 0, s->hdrs, ETH_IPV4_UDP_LEN))
			return finish(proto, XDPKV_PASS_NO_ROOM, XDP_PASS);
	}
	if (bpf_xdp_store_bytes(ctx, hdr_len, s->reply, reply_len))
		return finish(proto, XDPKV_PASS_NO_ROOM, XDP_PASS);
	return finish(proto, reason, XDP_TX);
}

/* Replies that carry no item: a literal after the frame header. */
#define REPLY_TEXT(s, literal) put((s)->reply, FRAME_HEADER_LEN, literal, sizeof(literal) - 1)

/* ---- multi-key reads -------------------------------------------------------- */

/* request.status of a multi-key read; any other value is the xdpkv_reason
 * to pass the request with. */
enum multi_get_status {
	MGET_RUNNING = 0,
	MGET_DONE = 1,
};

/* A hit's value (inline or out of line) and CRLF at pos, after its line
 * (a get's or an mg's). Returns the position after it, or -reason. */
static __always_inline int put_value_bytes(struct scratch *s, vreq *req, __u32 pos)
{
	struct xdpkv_item *copy = (struct xdpkv_item *)s->item;
	__u32 len = copy->value_len;

	if (len > XDPKV_REPLY_MAX || pos + len + 2 > XDPKV_REPLY_MAX)
		return -XDPKV_PASS_REPLY_TOO_BIG;
	if (copy->blob_id != 0) {
		/* Gone or changed: the item was written since it was read. */
		if (put_blob(s, pos, copy->blob_id, len))
			return -XDPKV_PASS_BUSY;
	} else {
		if (len > XDPKV_INLINE_VALUE_MAX)
			return -XDPKV_PASS_BIG_VALUE;
		put_words(s->reply, pos, copy->inline_value, 0, len, XDPKV_INLINE_VALUE_MAX / 8);
	}
	pos = opaque(req, pos + len);
	return put(s->reply, pos, "\r\n", 2);
}

/* One hit's reply element at pos: the value line, the value, CRLF.
 * Returns the position after it, or -reason. */
static __always_inline int put_hit(struct scratch *s, vreq *req, __u32 pos)
{
	return put_value_bytes(s, req, put_value_line(s, req, pos));
}

/* The key at request.cursor into request.key_off/key_len, the cursor
 * moved past it. Returns 1 if it is the request's last key, 0 if more
 * follow, or -reason. Anything unusual (double spaces, an empty RESP key)
 * is userspace's, which answers it as the peers do. */
static __always_inline int next_key(struct scratch *s, vreq *req, __u64 index)
{
	__u32 len = req->len, pos = req->cursor;
	__u8 c;

	if (req->proto == XDPKV_PROTO_RESP) {
		int err = parse_bulk(req, s->req, len, &pos, XDPKV_MAX_KEY_LEN, &req->key_off,
				     &req->key_len);

		if (err)
			return err == XDPKV_PASS_BIG_VALUE ? -XDPKV_PASS_UNSUPPORTED : -err;
		if (req->key_len == 0)
			return -XDPKV_PASS_UNSUPPORTED;
		req->cursor = pos;
		if (index + 1 < req->nkeys)
			return 0;
		/* One command per datagram. */
		return pos == len ? 1 : -XDPKV_PASS_UNSUPPORTED;
	}
	c = at(s->req, pos);
	if (c == ' ' || c == '\r' || c == '\n')
		return -XDPKV_PASS_UNSUPPORTED;
	if (scan_text_key(req, s->req, len, &pos))
		return -XDPKV_PASS_BAD_REQUEST;
	if (match(s->req, len, pos, "\r\n", 2))
		return pos + 2 == len ? 1 : -XDPKV_PASS_UNSUPPORTED;
	if (!match(s->req, len, pos, " ", 1))
		return -XDPKV_PASS_BAD_REQUEST;
	req->cursor = pos + 1;
	return 0;
}

/* bpf_loop's body: one key of a RESP MGET, read as a single-key GET
 * reads it (read_key()), its element appended to the reply. The verifier
 * checks it once, whatever the number of keys. */
static long multi_get_step(__u64 index, void *unused)
{
	struct scratch *s;
	__u32 zero = 0, pos;
	vreq *req;
	int last, end;

	s = bpf_map_lookup_elem(&xdpkv_scratch, &zero);
	if (!s)
		return 1;
	req = &s->request;
	last = next_key(s, req, index);
	if (last < 0) {
		req->status = -last;
		return 1;
	}
	load_key(s, req);
	pos = req->rpos;
	/* MGET reads a key of another type as nil, as Redis's does. */
	if (read_key(s) && ((struct xdpkv_item *)s->item)->type == XDPKV_TYPE_STRING) {
		end = put_hit(s, req, pos);
		if (end < 0) {
			req->status = -end;
			return 1;
		}
		pos = end;
	} else {
		pos = put(s->reply, pos, "$-1\r\n", 5);
	}
	if (pos > XDPKV_REPLY_MAX) {
		req->status = XDPKV_PASS_REPLY_TOO_BIG;
		return 1;
	}
	req->rpos = pos;
	if (last) {
		req->status = MGET_DONE;
		return 1;
	}
	return 0;
}

/* Assembles the whole reply to a RESP MGET (request.multi) after the frame
 * header: an array of bulks and nulls. (memcached's multi-key get is one
 * reply object per key, so several datagrams: the TC tier's.) Returns its
 * length, or -reason if it does not fit one datagram or the request is
 * userspace's after all. */
static __always_inline int build_multi_get(struct scratch *s, vreq *req)
{
	__u32 pos = FRAME_HEADER_LEN;
	__u32 status;

	req->status = MGET_RUNNING;
	pos = put(s->reply, pos, "*", 1);
	pos = opaque(req, put_uint(s, pos, req->nkeys));
	pos = put(s->reply, pos, "\r\n", 2);
	req->rpos = pos;
	bpf_loop(MAX_MULTI_KEYS, multi_get_step, NULL, 0);
	status = req->status;
	if (status == MGET_RUNNING)
		return -XDPKV_PASS_UNSUPPORTED; /* more keys than the loop takes */
	if (status != MGET_DONE)
		return -(int)status;
	return req->rpos;
}

#endif /* XDPKV_LIB_REPLY_H */
