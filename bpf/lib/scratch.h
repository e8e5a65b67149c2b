/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-CPU working memory: the parsed request, the request and reply
 * buffers, the key and item copies, and the accessors that keep the
 * verifier's view of them small (opaque(), at()).
 */
#ifndef XDPKV_LIB_SCRATCH_H
#define XDPKV_LIB_SCRATCH_H

#include "lib/common.h"

/* OP_MG is a get with meta's flags and replies, OP_MS a set with them
 * (lib/parse_meta.h). */
enum op { OP_GET, OP_GETS, OP_SET, OP_DELETE, OP_MG, OP_MS };

/* Flags of an mg/ms (lib/parse_meta.h), one bit each. */
enum meta_flag {
	MF_VALUE = 1 << 0,       /* v */
	MF_CLIENT_FLAGS = 1 << 1, /* f */
	MF_CAS = 1 << 2,         /* c */
	MF_TTL_LEFT = 1 << 3,    /* t */
	MF_KEY = 1 << 4,         /* k */
	MF_OPAQUE = 1 << 5,      /* O */
	MF_QUIET = 1 << 6,       /* q */
	MF_SIZE = 1 << 7,        /* s */
	MF_SET_TTL = 1 << 8,     /* T */
	MF_SET_FLAGS = 1 << 9,   /* F */
	MF_COMPARE_CAS = 1 << 10, /* C */
};
/* Flag tokens one mg/ms may carry in the kernel: each flag once. */
#define META_MAX_FLAGS 16

/* What a parsed request asks for. Offsets index scratch->req. */
struct request {
	__u32 proto; /* enum xdpkv_proto */
	__u32 op;    /* enum op */
	__u32 key_off;
	__u32 key_len;
	__u32 value_off;
	__u32 value_len;
	__u32 flags;
	__s32 exptime;
	__u32 noreply;
	__u32 opaque;
	/* Where the request is in the packet (for the TC tier's mark). */
	__u32 payload_off;
	__u32 ipv6;
	/* Multi-key reads (get k1 k2 ..., MGET): the loop's state. */
	__u32 multi;   /* 1: several keys; cursor is where the next one starts */
	__u32 nkeys;   /* RESP: keys named by the array header */
	__u32 cursor;  /* offset in req of the next key */
	__u32 len;     /* the request's payload length, frame header included */
	__u32 rpos;    /* reply bytes assembled so far */
	__u32 obj_start; /* TC tier: where the reply's current object starts */
	__u32 status;  /* MGET_RUNNING, MGET_DONE, or the xdpkv_reason to pass with */
	/* mg/ms (lib/parse_meta.h): the flags seen (enum meta_flag), their
	 * letters in request order (a reply echoes them in that order), the
	 * opaque token's place, what the reply's flags show. */
	__u32 meta_flags;
	__u32 meta_count;
	__u8 meta_order[META_MAX_FLAGS];
	__u32 opaque_off; /* the O token, its 'O' included */
	__u32 opaque_len;
	__u32 meta_code;  /* the reply's code: META_CODE() */
	__u32 meta_shows; /* enum meta_shows: which flags the reply answers */
	__u64 compare_cas; /* ms C; XDPKV_CAS_ANY without it */
	__u64 reply_cas;   /* what a c flag shows */
	__u32 reason;      /* the xdpkv_reason an mg/ms ended with */
};

/* Per-CPU working memory: the stack is too small for these. Values that
 * cross a loop live here and are read back through `volatile`: the
 * verifier does not track map memory, so a loop's many exit states merge
 * instead of each being verified to the end of the program. */
struct scratch {
	struct request request;
	union {
		__u8 req[XDPKV_REQ_PEEK + BUF_SLACK];
		/* xdpkv_store_cas's input; named here so that the object's
		 * BTF carries its layout (proxy/xdp_loader_test.cc). */
		struct xdpkv_cas_request cas_request;
	};
	__u8 reply[REPLY_BUF_LEN + BUF_SLACK];
	struct xdpkv_key256 key;
	__u64 key_tag; /* xdpkv_key_tag(&key), set wherever key is */
	/* An item without its lock semantics (scratch maps cannot hold
	 * spin locks): the same bytes as struct xdpkv_item. */
	__u8 item[sizeof(struct xdpkv_item)];
	/* An out-of-line value as the kernel writes it (up to the 2 KiB
	 * class): header, then the value; what blob maps are updated from. */
	struct {
		struct xdpkv_blob_header header;
		__u8 value[XDPKV_WRITE_VALUE_MAX];
	} blob;
	__u8 hdrs[HDRS_MAX];
	__u8 digits[DIGITS_MASK + 1]; /* put_uint's, right-aligned in MAX_DIGITS */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} xdpkv_scratch SEC(".maps");

typedef volatile struct request vreq;

/* Forgets what the verifier knows about v (see struct scratch). */
static __always_inline __u32 opaque(vreq *req, __u32 v)
{
	req->opaque = v;
	return req->opaque;
}

static __always_inline __u8 at(const __u8 *buf, __u32 i)
{
	return buf[i & BUF_MASK];
}

#endif /* XDPKV_LIB_SCRATCH_H */
