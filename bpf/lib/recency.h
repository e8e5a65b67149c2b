/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a hit leaves on its item for eviction (proxy/eviction.h chooses
 * from it): the access time, and under an LFU policy Redis's LFU counter,
 * raised logarithmically by hits and decayed by idle minutes, as Redis's
 * evict.c keeps it (LFULogIncr, LFUDecrAndReturn).
 */
#ifndef XDPKV_LIB_RECENCY_H
#define XDPKV_LIB_RECENCY_H

#include "lib/common.h"
#include "lib/maps.h"

/* An access time up to a minute ahead of the clock read (a hit on another
 * CPU that read it later) is not idle time (IdleMs in proxy/eviction.h). */
#define RECENCY_AHEAD_MS 60000u

/* What follows is written without branches (each comparison a sign bit,
 * `is_negative`; the policy a factor), and runs whatever the policy:
 * read_key inlines it in every read path, and branches there multiply the
 * states the verifier walks (measured on xdpkv_xdp: 14k more verified
 * instructions with them, 5k without; a bpf_loop callback, 25k). */
static __always_inline __u64 is_negative(__s64 v)
{
	return (__u64)v >> 63;
}

/* The counter less one per lfu-decay-time minutes since atime_ms. */
static __always_inline __u32 lfu_decayed(__u32 counter, __u32 atime_ms, __u32 now_ms)
{
	__u64 idle = (__u32)(now_ms - atime_ms);
	__u64 periods;
	__s64 left;

	/* An access time ahead of now is no idle time. */
	idle *= 1 - (((idle + RECENCY_AHEAD_MS) >> 32) & 1);
	/* A decay time of 0 (never) divides by zero, which BPF defines as 0. */
	periods = idle / 60000 / xdpkv_memory.lfu_decay_minutes;
	left = (__s64)counter - (__s64)periods;
	return (__u32)(left * (__s64)(1 - is_negative(left)));
}

/* Up by one with odds 1 / ((counter - XDPKV_LFU_INIT) * lfu-log-factor + 1),
 * to at most XDPKV_LFU_MAX. */
static __always_inline __u32 lfu_log_incr(__u32 counter)
{
	__s64 over_init = (__s64)counter - XDPKV_LFU_INIT;
	__u64 base = (__u64)over_init * (1 - is_negative(over_init));
	__u64 odds = base * xdpkv_memory.lfu_log_factor + 1;
	__u64 capped = is_negative((__s64)(1ULL << 31) - (__s64)odds);
	__u64 draw, up;

	/* Odds past 2^31 are never won in 2^32 draws anyway; capped, the
	 * product below stays under 2^63. */
	odds = odds * (1 - capped) + (1ULL << 31) * capped;
	draw = (__u64)bpf_get_prandom_u32() * odds;
	up = is_negative((__s64)draw - (__s64)(1ULL << 32)) &
	     is_negative((__s64)counter - (__s64)XDPKV_LFU_MAX);
	return counter + (__u32)up;
}

/* A hit on `it`, read into `copy` at `now_ms`: each field is a plain
 * store, racing other hits harmlessly, made only when it changes, so a
 * hit dirties the item's cache line at most once a millisecond (and on
 * the counter's rare steps). `copy` follows, so its reader knows the item
 * was touched. */
static __always_inline void touch_recency(struct xdpkv_item *it, struct xdpkv_item *copy,
					  __u32 now_ms)
{
	__u32 old = copy->lfu;
	__u32 counter = lfu_log_incr(lfu_decayed(old, copy->atime_ms, now_ms));

	/* Without an LFU policy (lfu 0), the counter stays. */
	counter = old + (counter - old) * (xdpkv_memory.lfu & 1);
	if (counter != old) {
		it->lfu = counter;
		copy->lfu = counter;
	}
	if (copy->atime_ms != now_ms) {
		it->atime_ms = now_ms;
		copy->atime_ms = now_ms;
	}
}

#endif /* XDPKV_LIB_RECENCY_H */
