/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * memcached meta request (one datagram, one command) -> scratch->request:
 * `mg <key> <flags>*` and `ms <key> <datalen> <flags>*` + data, with the
 * flags the kernel serves (mg: v f c t k O q s; ms: T F C q O k c), each at
 * most once, one space apart. Fills the request and returns 0, or returns
 * the XDPKV_PASS_* reason: any other flag, or another form of one
 * (`vx`, `F+1`, `C0`), is userspace's, which answers it as memcached does
 * (proxy/memcache_meta.cc). Not used by the TC tier: it answers gets only.
 */
#ifndef XDPKV_LIB_PARSE_META_H
#define XDPKV_LIB_PARSE_META_H

#include "lib/maps.h"
#include "lib/parse_common.h"
#include "lib/parse_memcache.h"

#define MG_FLAGS                                                                     \
	(MF_VALUE | MF_CLIENT_FLAGS | MF_CAS | MF_TTL_LEFT | MF_KEY | MF_OPAQUE | MF_QUIET | \
	 MF_SIZE)
#define MS_FLAGS (MF_SET_TTL | MF_SET_FLAGS | MF_COMPARE_CAS | MF_QUIET | MF_OPAQUE | MF_KEY | MF_CAS)
/* memcached's opaque tokens: at most 32 bytes, the 'O' included. */
#define META_OPAQUE_MAX 32

/* request.status while the flags are parsed; any other value is the
 * xdpkv_reason to pass the request with. */
enum meta_parse_status {
	META_PARSING = 0,
	META_PARSED = 1,
};

static __always_inline __u32 meta_flag_bit(__u8 c)
{
	switch (c) {
	case 'v': return MF_VALUE;
	case 'f': return MF_CLIENT_FLAGS;
	case 'c': return MF_CAS;
	case 't': return MF_TTL_LEFT;
	case 'k': return MF_KEY;
	case 'O': return MF_OPAQUE;
	case 'q': return MF_QUIET;
	case 's': return MF_SIZE;
	case 'T': return MF_SET_TTL;
	case 'F': return MF_SET_FLAGS;
	case 'C': return MF_COMPARE_CAS;
	default: return 0;
	}
}

/* Unsigned decimal of up to MAX_DIGITS - 1 digits at *pos (a CAS unique
 * fits), advancing *pos. -1 if there are none or too many. */
static __always_inline int parse_u64(vreq *req, const __u8 *buf, __u32 len, __u32 *pos,
				     __u64 *out)
{
	__u64 value = 0;
	__u32 digits = 0;
	__u32 start = *pos;

	for (__u32 i = 0; i < MAX_DIGITS; i++) {
		__u32 p = start + i;
		__u8 c;

		if (p >= len)
			break;
		c = at(buf, p);
		if (c < '0' || c > '9')
			break;
		value = value * 10 + (c - '0');
		digits++;
	}
	if (digits == 0 || digits == MAX_DIGITS)
		return -1;
	*out = value;
	*pos = opaque(req, start + digits);
	return 0;
}

/* The argument of flag `c`, whose letter was at *pos - 1: T's TTL (as
 * set's exptime: -2^31..2^31-1), F's client flags, C's CAS (one number
 * loop for the three), O's token. Returns 0 or the reason to pass with. */
static __always_inline int parse_meta_argument(vreq *req, const __u8 *buf, __u32 len, __u32 *pos,
					       __u8 c)
{
	__u32 start = *pos;
	__u64 number;
	int negative;

	if (c == 'O') {
		for (__u32 i = 0; i < META_OPAQUE_MAX; i++) {
			__u8 b;

			if (start + i >= len)
				break;
			b = at(buf, start + i);
			if (b == ' ' || b == '\r' || b == '\n')
				break;
			*pos = start + i + 1;
		}
		/* Too long (memcached's CLIENT_ERROR) if a byte of it is left. */
		req->opaque_off = start - 1;
		req->opaque_len = opaque(req, *pos) - (start - 1);
		return 0;
	}
	if (c != 'T' && c != 'F' && c != 'C')
		return 0;
	/* memcached also takes a '+': userspace's. */
	if (match(buf, len, start, "+", 1))
		return XDPKV_PASS_META_FLAG;
	negative = c == 'T' && match(buf, len, start, "-", 1);
	if (negative)
		*pos = start + 1;
	if (parse_u64(req, buf, len, pos, &number))
		return XDPKV_PASS_BAD_REQUEST;
	if (c == 'T') {
		if (number > (negative ? 0x80000000ULL : 0x7fffffffULL))
			return XDPKV_PASS_BAD_REQUEST;
		req->exptime = negative ? -(__s32)(__u32)number : (__s32)number;
	} else if (c == 'F') {
		if (number > 0xffffffffULL)
			return XDPKV_PASS_META_FLAG;
		req->flags = (__u32)number;
	} else {
		/* C0 compares as no CAS at all in memcached: userspace's. */
		if (number == XDPKV_CAS_ANY)
			return XDPKV_PASS_META_FLAG;
		req->compare_cas = number;
	}
	return 0;
}

/* bpf_loop's body: one flag token at request.cursor (after its space), or
 * the line's end. Verified once, whatever the number of flags. */
static long meta_flag_step(__u64 index, void *unused)
{
	struct scratch *s;
	__u32 zero = 0, pos, len, bit;
	vreq *req;
	int reason;
	__u8 c;

	s = bpf_map_lookup_elem(&xdpkv_scratch, &zero);
	if (!s)
		return 1;
	req = &s->request;
	len = req->len;
	pos = req->cursor;
	if (match(s->req, len, pos, "\r\n", 2)) {
		req->cursor = pos + 2;
		req->status = META_PARSED;
		return 1;
	}
	if (!match(s->req, len, pos, " ", 1)) {
		req->status = XDPKV_PASS_BAD_REQUEST;
		return 1;
	}
	if (index >= META_MAX_FLAGS) {
		req->status = XDPKV_PASS_META_FLAG;
		return 1;
	}
	pos++;
	c = at(s->req, pos);
	bit = meta_flag_bit(c);
	if (bit == 0) {
		req->status = c == ' ' || c == '\r' ? XDPKV_PASS_BAD_REQUEST : XDPKV_PASS_META_FLAG;
		return 1;
	}
	if (req->meta_flags & bit) {
		req->status = XDPKV_PASS_BAD_REQUEST; /* memcached: duplicate flag */
		return 1;
	}
	req->meta_flags |= bit;
	req->meta_order[index & (META_MAX_FLAGS - 1)] = c;
	req->meta_count = index + 1;
	pos++;
	reason = parse_meta_argument(req, s->req, len, &pos, c);
	if (reason) {
		req->status = reason;
		return 1;
	}
	/* What follows a token: a space or the line's end (else a flag with
	 * more to it, such as `vx` or a long opaque: userspace's). */
	if (!match(s->req, len, pos, " ", 1) && !match(s->req, len, pos, "\r\n", 2)) {
		req->status = c == 'O' ? XDPKV_PASS_BAD_REQUEST : XDPKV_PASS_META_FLAG;
		return 1;
	}
	req->cursor = pos;
	return 0;
}

static __always_inline int is_meta_request(const __u8 *buf, __u32 len)
{
	return match(buf, len, FRAME_HEADER_LEN, "mg ", 3) ||
	       match(buf, len, FRAME_HEADER_LEN, "ms ", 3);
}

static __always_inline int parse_meta(vreq *req, const __u8 *buf, __u32 len)
{
	__u32 pos = FRAME_HEADER_LEN + 3;
	__u64 number;
	__u32 status;

	req->op = at(buf, FRAME_HEADER_LEN + 1) == 'g' ? OP_MG : OP_MS;
	if (scan_text_key(req, buf, len, &pos))
		return XDPKV_PASS_BAD_REQUEST;
	if (req->op == OP_MS) {
		if (!match(buf, len, pos, " ", 1))
			return XDPKV_PASS_BAD_REQUEST;
		pos++;
		if (parse_uint(req, buf, len, &pos, 0x7fffffffULL, &number))
			return XDPKV_PASS_BAD_REQUEST;
		if (number > XDPKV_WRITE_VALUE_MAX)
			return XDPKV_PASS_BIG_VALUE;
		req->value_len = (__u32)number;
	}
	req->cursor = pos;
	req->status = META_PARSING;
	bpf_loop(META_MAX_FLAGS + 1, meta_flag_step, NULL, 0);
	status = req->status;
	if (status != META_PARSED)
		return status == META_PARSING ? XDPKV_PASS_META_FLAG : status;
	if (req->meta_flags & ~(req->op == OP_MG ? MG_FLAGS : MS_FLAGS))
		return XDPKV_PASS_META_FLAG;
	if ((req->meta_flags & MF_OPAQUE) && req->opaque_len > META_OPAQUE_MAX)
		return XDPKV_PASS_BAD_REQUEST;
	/* -C: CAS uniques read 0 and compares fail (userspace's). */
	if (!config.cas_enabled && (req->meta_flags & (MF_CAS | MF_COMPARE_CAS)))
		return XDPKV_PASS_META_FLAG;
	req->noreply = (req->meta_flags & MF_QUIET) != 0;
	pos = req->cursor;
	if (req->op == OP_MS) {
		req->value_off = pos;
		pos = opaque(req, pos + req->value_len);
		if (!match(buf, len, pos, "\r\n", 2))
			return XDPKV_PASS_BAD_REQUEST;
		pos += 2;
	}
	/* One command per datagram on the fast path. */
	if (pos != len)
		return XDPKV_PASS_UNSUPPORTED;
	return 0;
}

#endif /* XDPKV_LIB_PARSE_META_H */
