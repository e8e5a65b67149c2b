/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What every part of the xdpkv BPF object includes: kernel headers, the
 * layout shared with userspace, buffer sizes and the verifier idioms.
 */
#ifndef XDPKV_LIB_COMMON_H
#define XDPKV_LIB_COMMON_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdpkv_layout.h"

/* Request bytes the kernel path parses: a 100-key get of 16-byte keys is
 * 1.7 KB, as MGET 2.3 KB. */
#define XDPKV_REQ_PEEK 4096
#define BUF_MASK 4095        /* the request buffer is 4096 bytes... */
#define BUF_SLACK 8          /* ...plus room for one word read or written at any index */
/* Reply payload the kernel path builds, frame header included: one
 * datagram of memcached's UDP limit. Longer replies are userspace's. */
#define XDPKV_REPLY_MAX 1400
/* The reply buffer: a power of two that holds a reply position (at most
 * REPLY_POS_MASK) plus a copy of up to XDPKV_REPLY_MAX bytes made there,
 * the bound the verifier checks a blob copy against... */
#define REPLY_BUF_LEN 4096
#define REPLY_MASK (REPLY_BUF_LEN - 1) /* ...plus BUF_SLACK */
#define REPLY_POS_MASK 2047
/* Largest value the kernel writes: the 2 KiB blob class holds any value a
 * one-datagram request carries. */
#define XDPKV_WRITE_VALUE_MAX 2048
/* Keys one multi-key read may name: a request of XDPKV_REQ_PEEK bytes
 * names fewer (each key takes at least two bytes). */
#define MAX_MULTI_KEYS 2048
/* Bytes per bpf_csum_diff call: older kernels take at most 512. */
#define CSUM_CHUNK 512
#define FRAME_HEADER_LEN 8
#define MAX_DIGITS 20
#define DIGITS_MASK 31
#define ETH_IPV4_UDP_LEN (14 + 20 + 8)
#define ETH_IPV6_UDP_LEN (14 + 40 + 8)
#define HDRS_MAX 128 /* headers, and the TC tier's frame header after them */
#define NS_PER_MS 1000000ULL

/* Keeps clang from turning a byte loop into memcpy/memmove, which BPF
 * cannot lower for variable lengths. */
#define NO_MEMCPY_IDIOM() asm volatile("" ::: "memory")

/* A mask the compiler cannot drop: it may know a bound the verifier lost. */
#define VERIFIER_MASK(var, mask) asm volatile("%[v] &= %[m]" : [v] "+r"(var) : [m] "i"(mask))

#define ENOMEM 12
#define E2BIG 7
#define EEXIST 17
#define ENOSPC 28

#endif /* XDPKV_LIB_COMMON_H */
