/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * memcached text request (one datagram, one command) -> scratch->request.
 * Fills the request and returns 0, or returns the XDPKV_PASS_* reason. A
 * get/gets of several keys is parsed up to its first key (request.multi).
 */
#ifndef XDPKV_LIB_PARSE_MEMCACHE_H
#define XDPKV_LIB_PARSE_MEMCACHE_H

#include "lib/maps.h"
#include "lib/parse_common.h"

/* Bytes that end a memcached key or make it invalid: space and below
 * (CR, LF and the control characters) and DEL. key_stops() is non-zero iff
 * one of a word's eight bytes is one (the bit tricks are exact about
 * whether there is one, not about which). */
#define REPEAT_BYTE(b) (0x0101010101010101ULL * (b))
static __always_inline __u64 key_stops(__u64 word)
{
	__u64 del = word ^ REPEAT_BYTE(0x7f);

	return ((word - REPEAT_BYTE(0x21)) & ~word & REPEAT_BYTE(0x80)) |
	       ((del - REPEAT_BYTE(0x01)) & ~del & REPEAT_BYTE(0x80));
}

/* A memcached key at *pos: bytes up to a space or CR, 1..250 printable.
 * Whole words first, then the bytes of the word where it ends: the
 * verifier walks 32 + 8 steps, not 251. */
#define KEY_WORDS (XDPKV_KEY_BYTES_MAX / 8)
static __always_inline int scan_text_key(vreq *req, const __u8 *buf, __u32 len, __u32 *pos)
{
	__u32 start = *pos;
	__u32 n = 0;

	for (__u32 i = 0; i < KEY_WORDS; i++) {
		__u32 p = start + i * 8;

		if (p + 8 > len || key_stops(*(const __u64 *)(buf + (p & BUF_MASK))))
			break;
		n += 8;
	}
	n = opaque(req, n);
	for (__u32 i = 0; i < 8; i++) {
		__u32 p = start + n;
		__u8 c;

		if (p >= len)
			break;
		c = at(buf, p);
		if (c == ' ' || c == '\r' || c == '\n')
			break;
		if (c < 0x20 || c == 0x7f)
			return -1;
		n++;
	}
	req->key_off = start;
	req->key_len = n;
	n = req->key_len;
	if (n == 0 || n > XDPKV_MAX_KEY_LEN)
		return -1;
	*pos = opaque(req, start + n);
	return 0;
}


static __always_inline int parse_memcache(vreq *req, const __u8 *buf, __u32 len)
{
	__u32 pos = FRAME_HEADER_LEN;
	__u64 number;
	__u32 op;

	if (match(buf, len, pos, "get ", 4)) {
		op = OP_GET;
		pos += 4;
	} else if (match(buf, len, pos, "gets ", 5)) {
		/* -C: every CAS unique reads 0 (userspace's). */
		if (!config.cas_enabled)
			return XDPKV_PASS_UNSUPPORTED;
		op = OP_GETS;
		pos += 5;
	} else if (match(buf, len, pos, "set ", 4)) {
		op = OP_SET;
		pos += 4;
	} else if (match(buf, len, pos, "delete ", 7)) {
		op = OP_DELETE;
		pos += 7;
	} else {
		return XDPKV_PASS_UNSUPPORTED;
	}
	req->op = op;
	pos = opaque(req, pos);
	if (scan_text_key(req, buf, len, &pos))
		return XDPKV_PASS_BAD_REQUEST;

	if (op == OP_SET) {
		if (!match(buf, len, pos, " ", 1))
			return XDPKV_PASS_BAD_REQUEST;
		pos++;
		if (parse_uint(req, buf, len, &pos, 0xffffffffULL, &number))
			return XDPKV_PASS_BAD_REQUEST;
		req->flags = (__u32)number;
		if (!match(buf, len, pos, " ", 1))
			return XDPKV_PASS_BAD_REQUEST;
		pos++;
		if (match(buf, len, pos, "-", 1)) {
			pos++;
			if (parse_uint(req, buf, len, &pos, 0x80000000ULL, &number))
				return XDPKV_PASS_BAD_REQUEST;
			req->exptime = -(__s32)(__u32)number;
		} else {
			if (parse_uint(req, buf, len, &pos, 0x7fffffffULL, &number))
				return XDPKV_PASS_BAD_REQUEST;
			req->exptime = (__s32)number;
		}
		if (!match(buf, len, pos, " ", 1))
			return XDPKV_PASS_BAD_REQUEST;
		pos++;
		if (parse_uint(req, buf, len, &pos, 0x7fffffffULL, &number))
			return XDPKV_PASS_BAD_REQUEST;
		if (number > XDPKV_WRITE_VALUE_MAX)
			return XDPKV_PASS_BIG_VALUE;
		req->value_len = (__u32)number;
	}
	if (op == OP_SET || op == OP_DELETE) {
		if (match(buf, len, pos, " noreply", 8)) {
			req->noreply = 1;
			pos += 8;
		}
	}
	if (!match(buf, len, pos, "\r\n", 2)) {
		/* "get a b": a multi-key read, whose loop (multi_get_step)
		 * parses its keys from the first one on as it reads them. */
		if ((op == OP_GET || op == OP_GETS) && match(buf, len, pos, " ", 1)) {
			req->multi = 1;
			req->cursor = req->key_off;
			return 0;
		}
		return XDPKV_PASS_BAD_REQUEST;
	}
	pos += 2;
	if (op == OP_SET) {
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

#endif /* XDPKV_LIB_PARSE_MEMCACHE_H */
