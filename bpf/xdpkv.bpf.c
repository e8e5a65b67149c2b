// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The xdpkv BPF object: the XDP fast path (xdpkv_xdp.bpf.c), the TC tier
 * that sends the replies XDP cannot (xdpkv_tc.bpf.c), and the store
 * programs userspace runs with BPF_PROG_TEST_RUN (xdpkv_store.bpf.c for
 * one-key writes, xdpkv_read.bpf.c for batched reads, xdpkv_write.bpf.c
 * for batched writes), over
 * the maps in lib/maps.h (docs/architecture.md).
 *
 * Why one compilation unit that includes the entry files: the programs must
 * share every map and global (the store, the counters, the CAS counter, the
 * configuration), and the loader wants one object and one skeleton. Here
 * they are defined once and the skeleton is generated from one clang
 * output. Separate objects would need extern map and variable declarations
 * resolved by bpftool's static linker (`gen object`), a second place where
 * the maps are declared, for no gain: the helpers are always-inline, so
 * each program is compiled on its own either way. The helpers live in
 * lib/, one header per role, each including what it uses.
 *
 * Contract of the object:
 *  - Headers are read through pointers checked against data_end first.
 *  - The UDP payload (up to XDPKV_REQ_PEEK bytes) is copied into per-CPU
 *    scratch and parsed there: every index into scratch is masked to its
 *    buffer, every loop has a named bound.
 *  - Items are read by copying under the item's spin lock and written with
 *    BPF_F_LOCK (see xdpkv_layout.h), never modified through a pointer.
 *  - Every exit is counted under (protocol, reason) in xdpkv_stats.
 */
#include "xdpkv_xdp.bpf.c"
#include "xdpkv_store.bpf.c"
#include "xdpkv_tc.bpf.c"
#include "xdpkv_read.bpf.c"
#include "xdpkv_write.bpf.c"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
