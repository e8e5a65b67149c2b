/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every exit of the XDP program goes through finish(): it counts the
 * packet under (protocol, reason) in xdpkv_stats and returns the verdict.
 */
#ifndef XDPKV_LIB_COUNTERS_H
#define XDPKV_LIB_COUNTERS_H

#include "lib/maps.h"

/* Adds n to the counter (proto, reason). */
static __always_inline void count_n(enum xdpkv_proto proto, enum xdpkv_reason reason, __u64 n)
{
	__u32 zero = 0;
	struct xdpkv_counters *counters = bpf_map_lookup_elem(&xdpkv_stats, &zero);

	if (counters && proto < XDPKV_PROTO_COUNT && reason < XDPKV_REASON_COUNT)
		counters->count[proto][reason] += n;
}

static __always_inline int finish(enum xdpkv_proto proto, enum xdpkv_reason reason, int verdict)
{
	count_n(proto, reason, 1);
	return verdict;
}

#endif /* XDPKV_LIB_COUNTERS_H */
