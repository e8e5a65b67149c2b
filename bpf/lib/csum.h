/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internet checksum helpers.
 */
#ifndef XDPKV_LIB_CSUM_H
#define XDPKV_LIB_CSUM_H

#include "lib/common.h"

static __always_inline __u16 fold_csum(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

#endif /* XDPKV_LIB_CSUM_H */
