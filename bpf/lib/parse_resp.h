/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * RESP request (one multibulk GET/SET/DEL/MGET) -> scratch->request. Fills
 * the request and returns 0, or returns the XDPKV_PASS_* reason.
 */
#ifndef XDPKV_LIB_PARSE_RESP_H
#define XDPKV_LIB_PARSE_RESP_H

#include "lib/parse_common.h"

/* "$<n>\r\n<bytes>\r\n" at *pos, at most `max` bytes: offset and length
 * go to *off and *n (fields of the request). */
static __always_inline int parse_bulk(vreq *req, const __u8 *buf, __u32 len, __u32 *pos,
				      __u32 max, volatile __u32 *off, volatile __u32 *n)
{
	__u64 number;
	__u32 p = *pos;

	if (!match(buf, len, p, "$", 1))
		return XDPKV_PASS_BAD_REQUEST;
	p += 1;
	/* Redis refuses leading zeros ("$03"): leave the error to userspace. */
	if (at(buf, p) == '0' && p + 1 < len && at(buf, p + 1) != '\r')
		return XDPKV_PASS_BAD_REQUEST;
	if (parse_uint(req, buf, len, &p, 0x7fffffffULL, &number))
		return XDPKV_PASS_BAD_REQUEST;
	if (!match(buf, len, p, "\r\n", 2))
		return XDPKV_PASS_BAD_REQUEST;
	p += 2;
	if (number > max)
		return XDPKV_PASS_BIG_VALUE;
	*off = p;
	*n = (__u32)number;
	p = opaque(req, p + *n);
	if (!match(buf, len, p, "\r\n", 2))
		return XDPKV_PASS_BAD_REQUEST;
	*pos = p + 2;
	return 0;
}

/* "*<n>\r\n$4\r\nMGET\r\n" at pos: the keys are parsed by the loop that
 * reads them (multi_get_step), from request.cursor on. */
static __always_inline int parse_mget(vreq *req, const __u8 *buf, __u32 len, __u32 pos)
{
	__u64 count;

	pos += 1;
	/* Redis refuses leading zeros ("*03"): its error is userspace's. */
	if (at(buf, pos) == '0')
		return XDPKV_PASS_UNSUPPORTED;
	if (parse_uint(req, buf, len, &pos, MAX_MULTI_KEYS, &count) || count < 2)
		return XDPKV_PASS_UNSUPPORTED;
	if (!match(buf, len, pos, "\r\n$4\r\n", 6))
		return XDPKV_PASS_UNSUPPORTED;
	pos += 6;
	if (!match_nocase(buf, len, pos, "MGET\r\n", 6))
		return XDPKV_PASS_UNSUPPORTED;
	req->op = OP_GET;
	req->multi = 1;
	req->nkeys = (__u32)count - 1;
	req->cursor = pos + 6;
	return 0;
}

static __always_inline int parse_resp(vreq *req, const __u8 *buf, __u32 len)
{
	__u32 pos = FRAME_HEADER_LEN;
	int err;

	if (match(buf, len, pos, "*2\r\n$3\r\n", 8)) {
		pos += 8;
		if (match_nocase(buf, len, pos, "GET\r\n", 5))
			req->op = OP_GET;
		else if (match_nocase(buf, len, pos, "DEL\r\n", 5))
			req->op = OP_DELETE;
		else
			return XDPKV_PASS_UNSUPPORTED;
	} else if (match(buf, len, pos, "*3\r\n$3\r\n", 8)) {
		pos += 8;
		if (!match_nocase(buf, len, pos, "SET\r\n", 5))
			return XDPKV_PASS_UNSUPPORTED;
		req->op = OP_SET;
	} else if (match(buf, len, pos, "*", 1)) {
		return parse_mget(req, buf, len, pos);
	} else {
		return XDPKV_PASS_UNSUPPORTED;
	}
	pos += 5;
	err = parse_bulk(req, buf, len, &pos, XDPKV_MAX_KEY_LEN, &req->key_off, &req->key_len);
	if (err)
		return err == XDPKV_PASS_BIG_VALUE ? XDPKV_PASS_UNSUPPORTED : err;
	if (req->key_len == 0)
		return XDPKV_PASS_UNSUPPORTED;
	if (req->op == OP_SET) {
		err = parse_bulk(req, buf, len, &pos, XDPKV_WRITE_VALUE_MAX, &req->value_off,
				 &req->value_len);
		if (err)
			return err;
		if (req->value_len > config.max_value_len)
			return XDPKV_PASS_BIG_VALUE;
	}
	if (pos != len)
		return XDPKV_PASS_UNSUPPORTED;
	return 0;
}

#endif /* XDPKV_LIB_PARSE_RESP_H */
