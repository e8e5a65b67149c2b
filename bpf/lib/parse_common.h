/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Cursor helpers over scratch->req shared by the request parsers: literal
 * matches and decimal numbers, every read masked, every loop bounded.
 */
#ifndef XDPKV_LIB_PARSE_COMMON_H
#define XDPKV_LIB_PARSE_COMMON_H

#include "lib/scratch.h"

/* Case-sensitive match of a literal at `pos`; false past `len`. */
static __always_inline int match(const __u8 *buf, __u32 len, __u32 pos, const char *lit, __u32 n)
{
	if (pos + n > len)
		return 0;
	for (__u32 i = 0; i < n; i++)
		if (at(buf, pos + i) != (__u8)lit[i])
			return 0;
	return 1;
}

/* ASCII case-insensitive match against an upper-case literal. */
static __always_inline int match_nocase(const __u8 *buf, __u32 len, __u32 pos, const char *lit,
					__u32 n)
{
	if (pos + n > len)
		return 0;
	for (__u32 i = 0; i < n; i++) {
		__u8 c = at(buf, pos + i);

		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		if (c != (__u8)lit[i])
			return 0;
	}
	return 1;
}

/* Unsigned decimal at *pos (digits only); advances *pos. -1 if no digits,
 * too many digits, or more than `max` (at most 2^32-1). Results come back
 * opaque. */
static __always_inline int parse_uint(vreq *req, const __u8 *buf, __u32 len, __u32 *pos,
				      __u64 max, __u64 *out)
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
		if (value > max)
			return -1;
	}
	if (digits == 0 || digits == MAX_DIGITS)
		return -1;
	*pos = opaque(req, start + digits);
	*out = opaque(req, (__u32)value);
	return 0;
}

#endif /* XDPKV_LIB_PARSE_COMMON_H */
