/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reply lines of the meta commands mg and ms, byte for byte as userspace's
 * (proxy/memcache_meta.cc): a two-letter code (or `VA <len>`), then the
 * request's flags that show something, in the order the request gave them,
 * then CRLF. The flag walk is a bpf_loop callback: one step verified for
 * any number of flags.
 */
#ifndef XDPKV_LIB_REPLY_META_H
#define XDPKV_LIB_REPLY_META_H

#include "lib/parse_meta.h"
#include "lib/reply.h"
#include "lib/store.h"

/* A reply's two-letter code, as request.meta_code holds it. */
#define META_CODE(a, b) ((__u32)(a) | (__u32)(b) << 8)

/* What a reply's flags show (request.meta_shows): O and k always. */
enum meta_shows {
	SHOW_ECHO = 0,     /* EN: O and k only */
	SHOW_CAS = 1,      /* ms: c too, request.reply_cas */
	SHOW_ITEM = 3,     /* an mg hit: c, s, t, f of scratch->item too */
};

/* memcached's t: seconds of TTL left, rounded up (userspace's TtlLeft);
 * -1 (none) as U64_MAX. */
#define TTL_NONE (~0ULL)
static __always_inline __u64 ttl_left(__u64 expires_at_ms)
{
	__u64 now;

	if (expires_at_ms == 0)
		return TTL_NONE;
	now = now_boot_ms();
	return expires_at_ms > now ? (expires_at_ms - now + 999) / 1000 : 0;
}

/* bpf_loop's body: the request's flag `index` into the reply at
 * request.rpos, if it shows anything. One number printed per flag at most:
 * one put_uint for all of them. */
static long meta_flag_out_step(__u64 index, void *unused)
{
	struct xdpkv_item *copy;
	struct scratch *s;
	__u32 zero = 0, pos, shows;
	__u64 number;
	vreq *req;
	__u8 c;

	s = bpf_map_lookup_elem(&xdpkv_scratch, &zero);
	if (!s)
		return 1;
	req = &s->request;
	if (index >= req->meta_count)
		return 1;
	copy = (struct xdpkv_item *)s->item;
	c = req->meta_order[index & (META_MAX_FLAGS - 1)];
	shows = req->meta_shows;
	pos = req->rpos;
	if (pos > XDPKV_REPLY_MAX)
		return 1;
	if (c == 'O') {
		pos = put(s->reply, pos, " ", 1);
		pos = put_words(s->reply, pos, s->req, req->opaque_off, req->opaque_len,
				META_OPAQUE_MAX / 8);
	} else if (c == 'k') {
		pos = put(s->reply, pos, " k", 2);
		pos = put_words(s->reply, pos, s->key.bytes, 0, s->key.len, XDPKV_KEY_BYTES_MAX / 8);
	} else if ((c == 'c' && (shows & SHOW_CAS)) ||
		   ((c == 's' || c == 'f' || c == 't') && shows == SHOW_ITEM)) {
		if (c == 'c')
			number = req->reply_cas;
		else if (c == 's')
			number = copy->value_len;
		else if (c == 'f')
			number = copy->flags;
		else
			number = ttl_left(copy->expires_at_ms);
		s->reply[pos & REPLY_MASK] = ' ';
		s->reply[(pos + 1) & REPLY_MASK] = c;
		if (number == TTL_NONE)
			pos = put(s->reply, pos + 2, "-1", 2);
		else
			pos = put_uint(s, pos + 2, number);
	}
	req->rpos = opaque(req, pos);
	return 0;
}

/* The reply line of an mg/ms after the frame header: its code
 * (request.meta_code: two letters; `VA` is followed by the value's length),
 * the request's flags as request.meta_shows answers them, CRLF. */
static __always_inline __u32 put_meta_line(struct scratch *s, vreq *req)
{
	struct xdpkv_item *copy = (struct xdpkv_item *)s->item;
	__u32 code = req->meta_code;
	__u32 pos = FRAME_HEADER_LEN + 2;

	s->reply[FRAME_HEADER_LEN] = code & 0xff;
	s->reply[FRAME_HEADER_LEN + 1] = code >> 8;
	if (code == META_CODE('V', 'A')) {
		pos = put(s->reply, pos, " ", 1);
		pos = opaque(req, put_uint(s, pos, copy->value_len));
	}
	req->rpos = pos;
	bpf_loop(META_MAX_FLAGS, meta_flag_out_step, NULL, 0);
	pos = opaque(req, req->rpos);
	return put(s->reply, pos, "\r\n", 2);
}

#endif /* XDPKV_LIB_REPLY_META_H */
