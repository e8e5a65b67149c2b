#!/usr/bin/python3
"""Byte-for-byte replies of xdpkv against the real peers.

Starts Debian's memcached and redis-server on loopback next to
xdpkv (--xdp-mode off: the server's own answers; the fast path has its
byte-exact tests in proxy/xdp_fastpath_test.cc), sends each case's raw
request bytes over TCP to both, and compares the replies. A case may name
a documented deviation (docs/protocols.md) instead of the peer's bytes.
Exit 77 (CTest's skip) without root, saying why.

  peer_diff.py BINARY [--show]   --show prints every case's replies
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import loopback  # compat-tests/loopback.py
from collection_cases import LIST_CASES, SET_CASES, ZSET_CASES, Unordered
from command_cases import BIT_CASES, BLOCKING_CASES, KEYSPACE_CASES, LFU_CASES

BINARY = sys.argv[1] if len(sys.argv) > 1 else "build/bin/xdpkv"
SHOW = "--show" in sys.argv


class Deviation:
    """A documented difference (docs/protocols.md): xdpkv must answer
    `ours`, not the peer's bytes."""

    def __init__(self, why, ours):
        self.why, self.ours = why, ours


class Fields:
    """Counters whose values are compared: both replies keep, of memcached's
    `STAT name value` lines and of INFO's `name:value` lines, only these
    names (other reply lines stay). INFO's db0 line keeps keys= and
    expires=; avg_ttl is an estimate in Redis."""

    def __init__(self, *names):
        self.names = set(names)

    def __call__(self, data):
        data = re.sub(rb"STAT (\S+) [^\r]*\r\n",
                      lambda m: m.group(0) if m.group(1).decode() in self.names else b"", data)
        return re.sub(rb"\$(\d+)\r\n(# .*?)\r\n(?=[^\r\n]*$|\r\n[^\r\n]|$)",
                      self._info, data, flags=re.S)

    def _info(self, match):
        payload = match.group(2)
        kept = []
        for line in payload.split(b"\r\n"):
            name = line.split(b":", 1)[0].decode(errors="replace")
            if line.startswith(b"#") or not line or name in self.names:
                kept.append(line)
            elif line.startswith(b"db0:"):
                kept.append(re.sub(rb",avg_ttl=\d+", b"", line))
        body = b"\r\n".join(kept)
        return b"$%d\r\n%s\r\n" % (len(body), body)


# (Not get_flushed: memcached's counts gets of items an earlier case's
# flush_all left in memory; xdpkv's flush_all removes them at once, so its
# count is 0: docs/protocols.md.)
MEMCACHE_COUNTERS = Fields(
    "total_connections", "cmd_get", "cmd_set", "cmd_flush", "cmd_touch", "get_hits",
    "get_misses", "delete_misses", "delete_hits", "incr_misses", "incr_hits", "decr_misses",
    "decr_hits", "cas_misses", "cas_hits", "cas_badval", "touch_hits", "touch_misses",
    "cmd_meta", "store_too_large", "store_no_memory", "auth_cmds", "auth_errors",
    "total_items", "rejected_connections", "conn_yields", "listen_disabled_num", "reclaimed",
    "evictions", "evicted_unfetched", "evicted_active", "direct_reclaims")

# xdpkv's own lines after memcached's in `stats` (docs/protocols.md).
OURS_ONLY = re.compile(rb"STAT (store_fixed_bytes|xdp_kernel_memlock|userspace_\w+|xdp_\w+) ")


def names_only(data):
    """The STAT names of a reply, in order, without their values (and
    without xdpkv's own lines): the field lists compared side by side."""
    return b"".join(m.group(1) + b"\n" for m in re.finditer(rb"STAT (\S+) [^\r]*\r\n", data)
                    if not OURS_ONLY.match(m.group(0))) + (b"END" if data.endswith(b"END\r\n") else b"")


class Until:
    """Sends each request alone (no sentinel after it) and reads until this
    regex matches the end of the reply: for replies after which memcached
    reads nothing more until new bytes come (lru_crawler metadump)."""

    def __init__(self, regex):
        self.regex = re.compile(regex)


def sorted_lines(data):
    """Each connection's reply lines, sorted."""
    return b"<next connection>".join(b"\n".join(sorted(part.split(b"\n")))
                                     for part in data.split(b"<next connection>"))


# stats settings: memcached 1.6.18 (Debian's) is built with extstore and
# TLS and lists their settings; xdpkv has neither and leaves them out.
def settings_names(data):
    return re.sub(rb"(ext_\w+|slab_automove_freeratio|ssl_\w+)\n", b"", names_only(data))


class Transform:
    """Replies compared after `fn` (masking what differs by design)."""

    def __init__(self, fn):
        self.fn = fn


def mask(*patterns):
    """Replaces each regex's first group with <n> (CAS uniques, times)."""
    def fn(data):
        for pattern in patterns:
            data = re.sub(pattern, lambda m: m.group(0).replace(m.group(1), b"<n>"), data)
        return data
    return Transform(fn)
REDIS_COUNTERS = Fields("total_connections_received", "total_commands_processed",
                        "expired_keys", "keyspace_hits", "keyspace_misses")

# (name, request bytes[, Deviation or Fields]); each case runs on an empty
# store. A list of requests is sent over one connection each, in turn.
MEMCACHE_CASES = [
    # First: memcached keeps flushed and expired items in its classes until
    # it reclaims them, so the counts below hold on fresh servers only.
    ("stats items and slabs: memcached's classes for the items held",
     b"set a 0 0 1\r\nx\r\nset bb 5 0 3\r\nyyy\r\nset big 0 0 1000\r\n" + b"z" * 1000 +
     b"\r\nstats items\r\nstats slabs\r\n",
     Fields("items:1:number", "items:12:number", "items:1:mem_requested", "items:12:mem_requested",
            "items:1:age_warm", "1:chunk_size", "1:chunks_per_page",
            "1:total_pages", "1:total_chunks", "1:used_chunks", "1:free_chunks",
            "1:free_chunks_end", "12:chunk_size", "12:chunks_per_page", "12:used_chunks",
            "12:free_chunks", "active_slabs")),
    ("set/get/gets many", b"set a 1 0 1\r\nx\r\nset b 2 0 2\r\nyz\r\nget a b c\r\n"),
    ("add", b"add k 1 0 1\r\na\r\nadd k 2 0 1\r\nb\r\nget k\r\n"),
    ("replace", b"replace k 0 0 1\r\na\r\nset k 0 0 1\r\nb\r\nreplace k 7 0 1\r\nc\r\nget k\r\n"),
    ("append/prepend keep flags",
     b"append k 0 0 1\r\na\r\nset k 5 0 1\r\nb\r\nappend k 9 0 2\r\ncd\r\n"
     b"prepend k 9 0 1\r\na\r\nget k\r\n"),
    ("cas on a missing key", b"cas k 0 0 1 12345\r\nx\r\n"),
    ("incr/decr", b"set n 3 0 2\r\n10\r\nincr n 5\r\ndecr n 3\r\ndecr n 100\r\nget n\r\n"
                  b"incr n 7\r\nget n\r\n"),
    ("incr wraps at 2^64", b"set n 0 0 20\r\n18446744073709551615\r\nincr n 2\r\nget n\r\n"),
    ("incr errors", b"incr nope 1\r\nset s 0 0 3\r\nabc\r\nincr s 1\r\nincr s x\r\n"
                    b"incr s -1\r\nset e 0 0 0\r\n\r\nincr e 1\r\n"),
    ("incr/decr noreply", b"set n 0 0 1\r\n1\r\nincr n 1 noreply\r\ndecr n 5 noreply\r\nget n\r\n"),
    ("touch", b"touch k 10\r\nset k 0 0 1\r\nv\r\ntouch k 10\r\nget k\r\ntouch k -1\r\nget k\r\n"),
    ("gat", b"set k 4 0 1\r\nv\r\ngat 100 k nope\r\ngat -1 k\r\nget k\r\n"),
    ("delete", b"delete k\r\nset k 0 0 1\r\nv\r\ndelete k\r\ndelete k noreply\r\ndelete k 0\r\n"),
    ("noreply storage", b"set a 0 0 1 noreply\r\nx\r\nadd a 0 0 1 noreply\r\ny\r\nget a\r\n"),
    ("flush_all", b"set a 0 0 1\r\nx\r\nflush_all\r\nget a\r\nflush_all noreply\r\n"),
    ("negative exptime", b"set a 0 -1 1\r\nx\r\nget a\r\nadd a 0 -1 1\r\ny\r\nget a\r\n"),
    ("verbosity", b"verbosity 1\r\nverbosity 1 noreply\r\nverbosity\r\n"),
    ("unknown command", b"bogus\r\n\r\nGET a\r\n"),
    ("bad command lines", b"set a\r\nset a 0 0 x\r\nget\r\nincr\r\ntouch a\r\n"),
    ("key too long", b"get " + b"k" * 251 + b"\r\nset " + b"k" * 251 + b" 0 0 1\r\nx\r\n"),
    ("bad data chunk", b"set a 0 0 1\r\nxyz\r\nget a\r\n"),
    ("binary value", b"set b 0 0 6\r\n\x00\r\n\xff\r\nget b\r\n"),
    ("stats reset", b"stats reset\r\n"),
    ("stats subcommands", b"stats noreply\r\nstats foo\r\nstats detail\r\nstats detail on\r\n"
                          b"stats sizes\r\n"),
    ("verbosity forms", b"verbosity noreply\r\nverbosity\r\nverbosity 1 2 3\r\nverbosity 1 x\r\n"
                        b"quit noreply\r\n"),
    ("stats counts every command", b"stats reset\r\nset a 0 0 1\r\nx\r\nget a b\r\nget a\r\n"
     b"delete a\r\ndelete a\r\nincr x 1\r\nset n 0 0 1\r\n1\r\nincr n 1\r\ndecr n 1\r\n"
     b"decr x 1\r\ntouch x 1\r\ntouch n 0\r\ncas x 0 0 1 1\r\ny\r\ncas n 0 0 1 1\r\ny\r\n"
     b"get n\r\nadd n 0 0 1\r\nz\r\nappend n 0 0 1\r\nz\r\nflush_all\r\nstats\r\n",
     MEMCACHE_COUNTERS),
    ("stats reset zeroes the counters", b"set a 0 0 1\r\nx\r\nget a b\r\ndelete a\r\n"
     b"touch a 1\r\nincr a 1\r\nstats reset\r\nstats\r\n", MEMCACHE_COUNTERS),
    ("a SET refused as too large unlinks the old value",
     b"set k 0 0 2\r\nv1\r\nset k 0 0 1048577\r\n" + b"x" * 1048577 + b"\r\nget k\r\n"
     b"set r 0 0 2\r\nv1\r\nappend r 0 0 1048577\r\n" + b"x" * 1048577 + b"\r\nget r\r\n"),
    ("quit", b"set a 0 0 1\r\nx\r\nquit\r\nget a\r\n"),
    # Cross-protocol safety: an HTTP request line closes the connection
    # without a word, and the replies memcached still held are lost.
    ("an HTTP request line closes", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("POST drops the replies memcached still held", b"set a 0 0 1\r\nx\r\nPOST /x HTTP/1.0\r\n"),
    ("a get sends what memcached held before an HTTP line",
     b"set a 0 0 1\r\nx\r\nget a\r\nset b 0 0 1\r\ny\r\nPUT / HTTP/2\r\n"),
    ("the HTTP check looks at the last token of unknown lines only",
     b"X HTTP/1.1\r\nmx HTTP/1.1\r\ngx HTTP/1.1\r\nfoo HTTP/1.1 x\r\nfoo http/1.1\r\n"
     b"lru HTTP/1.1\r\nbget a HTTP/1.1\r\ndelete_x HTTP/1.1\r\nsetx HTTP/1.1\r\n"),
    ("a bare HTTP/ token closes", b"version\r\nHTTP/1.0\r\n"),
    # Stats and admin (docs/protocols.md, "Stats and admin").
    ("stats has memcached's fields, in its order", b"stats\r\n", Transform(names_only)),
    ("stats settings has memcached's fields, in its order (but extstore's and TLS's)",
     b"stats settings\r\n", Transform(settings_names)),
    ("stats counts refused stores and items stored",
     b"stats reset\r\nset a 0 0 1\r\nx\r\nset big 0 0 1048577\r\n" + b"x" * 1048577 +
     b"\r\nadd a 0 0 1\r\ny\r\nappend a 0 0 1\r\nz\r\nincr a 1\r\nstats\r\n", MEMCACHE_COUNTERS),
    ("stats sizes", b"stats sizes\r\n"),
    ("stats detail: per-prefix counts in memcached's order",
     b"stats detail on\r\nset a:1 0 0 1\r\nx\r\nget a:1 a:2 b:1 nokey\r\nset b:2 0 0 1\r\ny\r\n"
     b"delete b:2\r\nset user:9 0 0 1\r\nz\r\nget user:9 zz:top\r\nstats detail dump\r\n"
     b"stats detail off\r\nget a:1\r\nstats detail dump\r\nstats reset\r\nstats detail dump\r\n"
     b"stats detail x\r\n"),
    ("stats cachedump's errors", b"stats cachedump\r\nstats cachedump 1\r\nstats cachedump x 1\r\n"
     b"stats cachedump 64 0\r\nstats cachedump 1 -1\r\n"),
    ("stats cachedump", b"set a 0 0 1\r\nx\r\nstats cachedump 1 0\r\n",
     Deviation("one LRU: every item is listed, where memcached lists its cold LRU only",
               b"STORED\r\nITEM a [1 b; 0 s]\r\nEND\r\n")),
    # Each dump on a connection of its own, alone: memcached reads nothing
    # pipelined after it until more bytes come. Lines sorted: the order of
    # the walk differs (docs/protocols.md).
    ("lru_crawler metadump", [b"set a 0 0 1\r\nx\r\nset b%c 5 100 3\r\nyyy\r\nget a\r\n",
                             b"lru_crawler metadump all\r\n", b"lru_crawler metadump 1,12\r\n",
                             b"lru_crawler metadump 2\r\n", b"lru_crawler metadump hash\r\n"],
     Until(rb"END\r\n$"), mask(rb"exp=(\d+)", rb"la=(\d+)", rb"cas=(\d+)"),
     Transform(sorted_lines)),
    ("lru_crawler's errors", b"lru_crawler\r\nlru_crawler foo\r\nlru_crawler metadump\r\n"
     b"lru_crawler metadump x\r\nlru_crawler metadump 0\r\nlru_crawler metadump 64\r\n"
     b"version\r\nlru_crawler metadump all\r\nlru_crawler crawl all\r\n",
     mask(rb"VERSION ([^\r]*)")),
    ("watch's errors", b"watch foo\r\nwatch fetchers x\r\nversion\r\nwatch\r\n",
     mask(rb"VERSION ([^\r]*)")),
    ("watch: the connection only watches", b"get a\r\nwatch fetchers mutations\r\n"),
    ("cache_memlimit", b"cache_memlimit\r\ncache_memlimit 7\r\ncache_memlimit 32\r\n"
     b"cache_memlimit 33 noreply\r\ncache_memlimit x\r\ncache_memlimit 1000000001\r\n"
     b"cache_memlimit 1 2 3\r\ncache_memlimit -5\r\ncache_memlimit 64\r\nstats settings\r\n",
     Fields("maxbytes")),
    ("verbosity is kept", b"verbosity 5\r\nstats settings\r\nverbosity 1\r\nstats settings\r\n"
     b"verbosity 0\r\n", Fields("verbosity")),
]

REDIS_CASES = [
    # Numbered databases (SELECT, MOVE, FLUSHDB, DBSIZE, INFO keyspace).
    ("select", b"SELECT 1\r\nSET k one\r\nSELECT 0\r\nGET k\r\nSET k zero\r\nSELECT 1\r\n"
               b"GET k\r\nDBSIZE\r\nSELECT 15\r\nSELECT 16\r\nSELECT -1\r\nSELECT x\r\n"
               b"GET k\r\nCONFIG GET databases\r\n"),
    ("move", b"SET k v\r\nMOVE k 2\r\nEXISTS k\r\nSELECT 2\r\nGET k\r\nSET k w\r\n"
             b"SELECT 0\r\nSET k v2\r\nMOVE k 2\r\nMOVE k 0\r\nMOVE k 16\r\nMOVE k x\r\n"
             b"MOVE nope 1\r\nHSET h a 1\r\nMOVE h 3\r\nSELECT 3\r\nHGET h a\r\n"),
    ("flushdb, flushall and dbsize per database",
     b"SET a 1\r\nSELECT 4\r\nSET b 2\r\nSET c 3\r\nDBSIZE\r\nINFO keyspace\r\n"
     b"FLUSHDB\r\nDBSIZE\r\nSELECT 0\r\nDBSIZE\r\nSELECT 5\r\nSET d 4\r\nFLUSHALL\r\n"
     b"DBSIZE\r\nSELECT 0\r\nDBSIZE\r\n"),
    ("watch in another database", b"SELECT 1\r\nSET k 1\r\nWATCH k\r\nSELECT 0\r\nSET k 2\r\n"
                                  b"SELECT 1\r\nMULTI\r\nGET k\r\nEXEC\r\n"),
    # Hashes (t_hash.c), and one keyspace: a key holds one type.
    ("hset/hget/hmget", b"HSET h a 1 b 2\r\nHSET h a 3 c 4\r\nHGET h a\r\nHGET h z\r\n"
                        b"HGET nope a\r\nHMGET h a z c\r\nHMGET nope a\r\nHMSET h d 5\r\n"
                        b"HGETALL h\r\nHKEYS h\r\nHVALS h\r\nHLEN h\r\nHLEN nope\r\n"),
    ("hset arity", b"HSET h a\r\nHSET h a 1 b\r\nHMSET h a\r\nHMSET h a 1 b\r\nHGETALL h\r\n"),
    ("hdel removes an emptied hash", b"HSET h a 1 b 2\r\nHDEL h a z\r\nHDEL h b\r\nEXISTS h\r\n"
                                     b"HDEL h b\r\nTYPE h\r\n"),
    ("hsetnx/hexists/hstrlen", b"HSETNX h a 1\r\nHSETNX h a 2\r\nHGET h a\r\nHEXISTS h a\r\n"
                               b"HEXISTS h b\r\nHEXISTS nope a\r\nHSET h s hello\r\n"
                               b"HSTRLEN h s\r\nHSTRLEN h z\r\nHSTRLEN nope s\r\n"),
    ("hincrby", b"HINCRBY h n 5\r\nHINCRBY h n -7\r\nHINCRBY h n x\r\nHSET h s abc\r\n"
                b"HINCRBY h s 1\r\nHSET h m 9223372036854775807\r\nHINCRBY h m 1\r\n"
                b"HGET h n\r\n"),
    ("hincrbyfloat", b"HINCRBYFLOAT h f 10.5\r\nHINCRBYFLOAT h f 0.1\r\nHINCRBYFLOAT h f x\r\n"
                     b"HSET h s abc\r\nHINCRBYFLOAT h s 1\r\nHINCRBYFLOAT h f inf\r\n"
                     b"HINCRBYFLOAT h i 5.0e3\r\n"),
    ("hscan", b"HSET h a 1 ab 2 b 3\r\nHSCAN h 0\r\nHSCAN h 0 MATCH a*\r\nHSCAN h 0 COUNT 0\r\n"
              b"HSCAN nope 0\r\nHSCAN h x\r\n"),
    ("hrandfield shapes", b"HSET h a 1\r\nHRANDFIELD h\r\nHRANDFIELD h 5\r\n"
                          b"HRANDFIELD h -2 WITHVALUES\r\nHRANDFIELD nope\r\nHRANDFIELD nope 3\r\n"
                          b"HRANDFIELD h x\r\nHRANDFIELD h 1 FOO\r\n"),
    ("wrongtype both ways", b"HSET h a 1\r\nGET h\r\nSTRLEN h\r\nAPPEND h x\r\nINCR h\r\n"
                            b"INCRBYFLOAT h 1\r\nGETRANGE h 0 1\r\nSETRANGE h 0 x\r\n"
                            b"GETSET h v\r\nGETDEL h\r\nGETEX h\r\nSET h v GET\r\nMGET h\r\n"
                            b"SET s v\r\nHGET s a\r\nHSET s a 1\r\nHLEN s\r\nHGETALL s\r\n"
                            b"HDEL s a\r\nHINCRBY s a 1\r\nTYPE h\r\nTYPE s\r\nTYPE nope\r\n"),
    ("set replaces any type", b"HSET h a 1\r\nSET h v\r\nGET h\r\nTYPE h\r\nHSET h a 1\r\n"
                              b"SETNX h v\r\nTYPE h\r\nMSET h v\r\nTYPE h\r\n"),
    ("keyspace commands on a hash", b"HSET h a 1\r\nEXISTS h\r\nEXPIRE h 100\r\nTTL h\r\n"
                                    b"RENAME h g\r\nHGET g a\r\nTYPE g\r\nDEL g\r\nEXISTS g\r\n"),
    *LIST_CASES, *SET_CASES, *ZSET_CASES, *BIT_CASES, *KEYSPACE_CASES, *BLOCKING_CASES,
    # Transactions (MULTI/EXEC/DISCARD/WATCH/UNWATCH), as Redis 7.0's multi.c.
    ("multi/exec", b"MULTI\r\nSET a 1\r\nINCR a\r\nGET a\r\nEXEC\r\nGET a\r\n"),
    ("exec/discard without multi", b"EXEC\r\nDISCARD\r\nUNWATCH\r\n"),
    ("multi nested, watch inside", b"MULTI\r\nMULTI\r\nWATCH k\r\nSET k v\r\nEXEC\r\n"
                                   b"GET k\r\n"),
    ("a refused command aborts exec", b"MULTI\r\nSET k v\r\nNOSUCH x\r\nSET k\r\nEXEC\r\n"
                                      b"GET k\r\nEXEC\r\n"),
    ("discard", b"MULTI\r\nSET k v\r\nDISCARD\r\nGET k\r\nEXEC\r\n"),
    ("runtime errors do not abort", b"MULTI\r\nSET k v\r\nINCR k\r\nGET k\r\nEXEC\r\n"),
    ("empty transaction", b"MULTI\r\nEXEC\r\n"),
    ("watch unchanged", b"SET k 1\r\nWATCH k\r\nMULTI\r\nINCR k\r\nEXEC\r\n"),
    ("watch sees our own write", b"SET k 1\r\nWATCH k\r\nSET k 2\r\nMULTI\r\nGET k\r\n"
                                 b"EXEC\r\nGET k\r\n"),
    ("watch sees a key appear and go", b"WATCH k\r\nSET k v\r\nMULTI\r\nGET k\r\nEXEC\r\n"
                                       b"SET g v\r\nWATCH g\r\nDEL g\r\nMULTI\r\nGET g\r\n"
                                       b"EXEC\r\n"),
    ("watch sees expire", b"SET k v\r\nWATCH k\r\nEXPIRE k 100\r\nMULTI\r\nTTL k\r\n"
                          b"EXEC\r\n"),
    ("unwatch", b"WATCH k\r\nSET k 1\r\nUNWATCH\r\nMULTI\r\nGET k\r\nEXEC\r\n"),
    ("exec unwatches", b"WATCH k\r\nMULTI\r\nEXEC\r\nSET k 1\r\nMULTI\r\nGET k\r\nEXEC\r\n"),
    ("watch arity", b"WATCH\r\nMULTI x\r\nEXEC x\r\n"),
    ("set/get/del", b"SET k v\r\nGET k\r\nDEL k nope\r\nGET k\r\n"),
    ("set NX XX GET", b"SET k a NX\r\nSET k b NX\r\nSET k c XX GET\r\nSET x y XX\r\n"
                      b"SET x y XX GET\r\nSET k d GET\r\nGET k\r\n"),
    ("set EX then TTL", b"SET k v EX 100\r\nTTL k\r\nSET k v\r\nTTL k\r\nTTL nope\r\n"),
    ("set KEEPTTL", b"SET k v EX 100\r\nSET k w KEEPTTL\r\nTTL k\r\nGET k\r\n"),
    ("set option errors", b"SET k v EX 0\r\nSET k v EX -5\r\nSET k v PX abc\r\nSET k v NX XX\r\n"
                          b"SET k v EX 10 PX 10\r\nSET k v EX\r\nSET k v FOO\r\n"
                          b"SET k v KEEPTTL EX 5\r\nSET k v EXAT 0\r\n"),
    ("set EXAT in the past", b"SET k v EXAT 1\r\nGET k\r\n"),
    ("setnx/setex/psetex", b"SETNX k a\r\nSETNX k b\r\nGET k\r\nSETEX k 100 c\r\nTTL k\r\n"
                           b"SETEX k 0 c\r\nSETEX k x c\r\nPSETEX k 100000 d\r\nTTL k\r\n"
                           b"PSETEX k -1 d\r\n"),
    ("getset/getdel", b"GETSET k a\r\nGETSET k b\r\nGETDEL k\r\nGETDEL k\r\nEXISTS k\r\n"),
    ("getex", b"SET k v\r\nGETEX k EX 100\r\nTTL k\r\nGETEX k PERSIST\r\nTTL k\r\n"
              b"GETEX nope\r\nGETEX k EX 0\r\nGETEX k FOO\r\nGETEX k EX 10 PX 10\r\n"),
    ("mset/mget/msetnx", b"MSET a 1 b 2\r\nMGET a b c\r\nMSETNX c 3 a 9\r\nMSETNX c 3 d 4\r\n"
                         b"MGET a c d\r\nMSET a\r\n"),
    ("exists counts repeats", b"SET a 1\r\nEXISTS a a b\r\nUNLINK a b\r\n"),
    ("incr family", b"INCR n\r\nINCRBY n 10\r\nDECR n\r\nDECRBY n 5\r\nGET n\r\n"
                    b"INCRBY n -3\r\nINCRBY n x\r\nSET s abc\r\nINCR s\r\n"
                    b"SET m 9223372036854775807\r\nINCR m\r\nDECRBY n -9223372036854775808\r\n"
                    b"SET z 007\r\nINCR z\r\nSET sp \" 1\"\r\nINCR sp\r\n"),
    ("incr keeps the ttl", b"SET n 1 EX 100\r\nINCR n\r\nTTL n\r\n"),
    ("incrbyfloat", b"SET f 10.50\r\nINCRBYFLOAT f 0.1\r\nINCRBYFLOAT f -5\r\nINCRBYFLOAT f 5.0e3\r\n"
                    b"INCRBYFLOAT g 3\r\nINCRBYFLOAT f abc\r\nSET s abc\r\nINCRBYFLOAT s 1\r\n"
                    b"INCRBYFLOAT f inf\r\nGET f\r\n"),
    ("append/strlen", b"APPEND k ab\r\nAPPEND k cd\r\nSTRLEN k\r\nSTRLEN nope\r\nGET k\r\n"),
    ("getrange", b"SET k \"This is a string\"\r\nGETRANGE k 0 3\r\nGETRANGE k -3 -1\r\n"
                 b"GETRANGE k 0 -1\r\nGETRANGE k 10 100\r\nGETRANGE k 5 2\r\nGETRANGE k -1 -5\r\n"
                 b"GETRANGE nope 0 -1\r\nGETRANGE k x 1\r\n"),
    ("setrange", b"SET k \"Hello World\"\r\nSETRANGE k 6 Redis\r\nGET k\r\nSETRANGE n 3 ab\r\n"
                 b"GET n\r\nSETRANGE e 5 \"\"\r\nEXISTS e\r\nSETRANGE k -1 x\r\n"),
    ("expire family", b"SET k v\r\nEXPIRE k 100\r\nTTL k\r\nEXPIRE k 50 GT\r\nEXPIRE k 200 GT\r\n"
                      b"TTL k\r\nEXPIRE k 100 LT\r\nTTL k\r\nEXPIRE k 10 NX\r\nPERSIST k\r\n"
                      b"PERSIST k\r\nEXPIRE k 10 XX\r\nEXPIRE nope 10\r\nEXPIRE k x\r\n"
                      b"EXPIRE k 10 NX XX\r\nEXPIRE k 10 GT LT\r\nEXPIRE k 10 FOO\r\n"
                      b"EXPIRE k -1\r\nEXISTS k\r\n"),
    ("expireat/pexpire", b"SET k v\r\nEXPIREAT k 1\r\nEXISTS k\r\nSET k v\r\n"
                         b"PEXPIRE k 100000\r\nTTL k\r\nPEXPIREAT k 1\r\nEXISTS k\r\n"),
    # Expiry arithmetic at the edges of 64 bits (Redis's tests/unit/expire.tcl
    # and the checks in expire.c / t_string.c): overflow is an error, a
    # result in the past deletes the key.
    ("expire overflow", b"SET k v\r\nPEXPIREAT k -9223372036854770000\r\nEXISTS k\r\n"
                        b"SET k v\r\nEXPIRE k 9223370399119966\r\nEXPIRE k 9223372036854776\r\n"
                        b"EXPIRE k -9223372036854776\r\nPEXPIRE k 9223372036854770000\r\n"
                        b"EXPIREAT k 9223372036854776\r\nEXPIRE nope 9223372036854776\r\n"
                        b"EXPIREAT k 9223372036854775\r\nPEXPIRETIME k\r\nEXPIRETIME k\r\n"
                        b"PEXPIREAT k 9223372036854775807\r\nPEXPIRETIME k\r\nEXPIRETIME k\r\n"
                        b"EXPIRE k -9223372036854775\r\nEXISTS k\r\n"),
    ("expire.tcl's overflow cases", b"SET foo bar\r\nEXPIRE foo 10000000000000000\r\n"
     b"EXPIRE foo -9223372036854775808\r\nPEXPIRE foo 9223372036854770000\r\n"
     b"PEXPIREAT foo 9223372036854770000\r\nSET foo bar EX 10000000000000000\r\n"
     b"SET foo bar EX -9999999999999999\r\nGETEX foo EX 10000000000000000\r\n"
     b"GETEX foo EX -9999999999999999\r\nSET foo bar\r\nEXPIRE foo -10 LT\r\nTTL foo\r\n"
     b"EXPIRE none 100 NX\r\n"),
    ("expiretime", b"EXPIRETIME nope\r\nPEXPIRETIME nope\r\nSET k v\r\nEXPIRETIME k\r\n"
                   b"PEXPIRETIME k\r\nPEXPIREAT k 1999999999499\r\nEXPIRETIME k\r\n"
                   b"PEXPIRETIME k\r\nPEXPIREAT k 1999999999500\r\nEXPIRETIME k\r\n"
                   b"EXPIREAT k 2000000000\r\nPEXPIRETIME k\r\nEXPIRETIME\r\n"),
    ("ttl rounds to the nearest second", b"SET k v PX 100300\r\nTTL k\r\nPEXPIRE k 100800\r\n"
                                         b"TTL k\r\nPSETEX k 2700 v\r\nTTL k\r\n"),
    ("set expiry overflow", b"SET k v EX 9223372036854775\r\nSET k v EX 9223372036854776\r\n"
                            b"SET k v PX 9223372036854775807\r\nSET k v PX 9223370399119966000\r\n"
                            b"SET k v PXAT 9223372036854775807\r\nPEXPIRETIME k\r\n"
                            b"SET k v EXAT 9223372036854775\r\nPEXPIRETIME k\r\n"
                            b"SET k v EXAT 9223372036854776\r\nSETEX k 9223372036854776 v\r\n"
                            b"SETEX k 9223372036854775 v\r\nPSETEX k 9223372036854775807 v\r\n"
                            b"PSETEX k 0 v\r\nSET k v PXAT 0\r\n"),
    ("set options as Redis parses them", b"SET k v EX 10 EX 20\r\nTTL k\r\nSET k v EX abc NX XX\r\n"
                                         b"SET k w KEEPTTL KEEPTTL\r\nTTL k\r\nSET k x NX NX GET GET\r\n"
                                         b"SET k v PX 10 EX 10\r\nSET k v EX 10 KEEPTTL\r\n"
                                         b"SET k v KEEPTTL PXAT 10\r\nSET k v PXAT 10 PXAT 1\r\n"
                                         b"EXISTS k\r\n"),
    ("getex expiry", b"GETEX nope EX 0\r\nGETEX nope EX abc\r\nGETEX nope FOO\r\nSET k v\r\n"
                     b"GETEX k EX 0\r\nGETEX k EX 9223372036854776\r\n"
                     b"GETEX k PXAT 9223372036854775807\r\nPEXPIRETIME k\r\n"
                     b"GETEX k PERSIST PERSIST\r\nTTL k\r\nGETEX k EX 1 EX 200\r\nTTL k\r\n"
                     b"GETEX k PERSIST EX 1\r\nGETEX k PXAT 1\r\nEXISTS k\r\n"),
    ("expire options, then the number, then the key",
     b"SET k v\r\nEXPIRE k x NX XX\r\nEXPIRE k x FOO\r\nEXPIRE k x\r\nEXPIRE k 100 GT GT\r\n"
     b"EXPIRE k 100 XX\r\nEXPIRE k 100 LT\r\nEXPIRE k 50 LT\r\nTTL k\r\nEXPIRE k 60 LT\r\n"
     b"EXPIRE k -1 GT\r\nEXPIRE k -1 LT\r\nEXISTS k\r\n"),
    ("type", b"SET k v\r\nTYPE k\r\nTYPE nope\r\n"),
    ("keys", b"MSET user:1 a user:2 b other c\r\nKEYS user:[1]\r\nKEYS nomatch*\r\n"),
    ("scan TYPE", b"SET s v\r\nRPUSH l a\r\nSADD t a\r\nZADD z 1 a\r\nHSET h a 1\r\n"
     b"SCAN 0 TYPE list\r\nSCAN 0 TYPE SET\r\nSCAN 0 TYPE zset\r\nSCAN 0 TYPE hash\r\n"
     b"SCAN 0 TYPE string\r\nSCAN 0 TYPE nope\r\nSCAN 0 TYPE list MATCH x*\r\n"),
    ("a collection past 1 MiB", b"*4\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$600000\r\n" +
     b"x" * 600000 + b"\r\n$600000\r\n" + b"y" * 600000 + b"\r\nLLEN l\r\nRPUSH l a\r\n",
     Deviation("a collection's encoding is at most -I (1 MiB)",
               b"-ERR list exceeds the largest value xdpkv stores (-I)\r\n:0\r\n:1\r\n")),
    ("scan argument errors", b"SCAN x\r\nSCAN 0 COUNT 0\r\nSCAN 0 COUNT x\r\nSCAN 0 FOO bar\r\n"
                             b"SCAN 0 MATCH\r\n"),
    ("rename", b"RENAME nope x\r\nSET a 1 EX 100\r\nRENAME a b\r\nGET a\r\nGET b\r\nTTL b\r\n"
               b"SET c 2\r\nRENAMENX b c\r\nRENAMENX b d\r\nGET d\r\nRENAME d d\r\n"),
    ("dbsize/flush", b"MSET a 1 b 2\r\nDBSIZE\r\nFLUSHDB\r\nDBSIZE\r\nFLUSHALL ASYNC\r\n"
                     b"FLUSHALL FOO\r\n"),
    ("randomkey on an empty store", b"RANDOMKEY\r\nSET only 1\r\nRANDOMKEY\r\n"),
    ("ping/echo/select", b"PING\r\nPING hi\r\nECHO x\r\nSELECT 0\r\nSELECT x\r\n"),
    ("select another db", b"SELECT 1\r\n"),
    ("client names", b"CLIENT GETNAME\r\nCLIENT SETNAME app\r\nCLIENT GETNAME\r\n"
                     b"CLIENT SETNAME \"a b\"\r\nCLIENT NOPE\r\n"),
    ("client setinfo", b"CLIENT SETINFO lib-name x\r\nCLIENT SETINFO foo x\r\n",
     Deviation("CLIENT SETINFO is Redis 7.2's (the peer here is 7.0)",
               b"+OK\r\n-ERR Unrecognized option 'foo'\r\n")),
    ("HELP of every container command", b"CLIENT HELP\r\nCONFIG help\r\nCOMMAND HELP\r\n"
                                        b"CLIENT HELP x\r\nCONFIG HELP x\r\nCLIENT\r\n"),
    ("hello", b"HELLO x\r\n"),
    # No password set (compat-tests/auth_diff.py has requirepass).
    ("AUTH without a password", b"AUTH x\r\nAUTH default anything\r\nAUTH foo bar\r\n"
                                b"HELLO 2 AUTH foo bar\r\nHELLO 2 AUTH default\r\n"
                                b"CONFIG GET requirepass\r\nCONFIG GET protected-mode\r\n"),
    ("hello 3", b"HELLO 3\r\n",
     Deviation("RESP2 only", b"-NOPROTO unsupported protocol version\r\n")),
    ("INFO stats counts every tier's commands",
     b"CONFIG RESETSTAT\r\nSET k v\r\nGET k\r\nGET nope\r\nMGET k nope k\r\nEXISTS k nope\r\n"
     b"TTL k\r\nTYPE nope\r\nSTRLEN k\r\nGETRANGE k 0 1\r\nSET k w GET\r\nGETSET k x\r\n"
     b"GETDEL nope\r\nINCR n\r\nAPPEND k y\r\nEXPIRE k 100\r\nRENAME k j\r\nGETEX j\r\n"
     b"SETNX j 1\r\nPEXPIRETIME nope\r\nFOO\r\nGET\r\nINFO stats\r\n", REDIS_COUNTERS),
    ("CONFIG RESETSTAT zeroes the counters", b"GET a\r\nSET a 1\r\nGET a\r\nCONFIG RESETSTAT\r\n"
     b"INFO stats\r\nINFO stats\r\n", REDIS_COUNTERS),
    ("INFO keyspace counts keys with a TTL", b"INFO keyspace\r\nMSET a 1 b 2 c 3\r\n"
     b"EXPIRE a 100\r\nPEXPIRE b 100000\r\nINFO keyspace\r\nPERSIST a\r\nINFO keyspace\r\n",
     REDIS_COUNTERS),
    ("config get", b"CONFIG GET save\r\nCONFIG GET appendonly\r\nCONFIG GET nosuchparam\r\n"),
    # Persistence: the errors byte for byte (the saves themselves are
    # compat-tests/rdb_interop.py's), and save points that end on none.
    ("persistence errors", b"BGSAVE x\r\nBGSAVE SCHEDULE y\r\nSAVE x\r\nLASTSAVE x\r\n"
     b"SHUTDOWN ABORT\r\nSHUTDOWN NOSAVE SAVE\r\nSHUTDOWN ABORT NOW\r\nSHUTDOWN FOO\r\n"
     b"CONFIG SET save 0\r\nCONFIG SET save \"1 2 3\"\r\nCONFIG SET save \"1 -1\"\r\n"
     b"CONFIG SET dir /tmp\r\nCONFIG SET dbfilename x.rdb\r\n"
     b"CONFIG SET save \"3600 1 300 100\"\r\nCONFIG GET save\r\nCONFIG SET save \"\"\r\n"
     b"CONFIG GET save\r\nCONFIG GET rdbcompression\r\n"),
    # CONFIG SET changes the server for later cases: each case ends on the
    # defaults (maxclients 10000, client-query-buffer-limit 1gb).
    ("config maxclients", b"CONFIG GET maxclients\r\nCONFIG SET maxclients abc\r\n"
                          b"CONFIG SET maxclients 0\r\nCONFIG SET maxclients -1\r\n"
                          b"CONFIG SET maxclients 4294967296\r\nCONFIG SET maxclients 1.5\r\n"
                          b"CONFIG SET maxclients 05\r\nCONFIG SET maxclients \"\"\r\n"
                          b"CONFIG SET maxclients 5000\r\nCONFIG GET maxclients\r\n"
                          b"CONFIG SET MAXCLIENTS 10000\r\nCONFIG GET maxclient*\r\n"),
    ("config client-query-buffer-limit",
     b"CONFIG GET client-query-buffer-limit\r\nCONFIG SET client-query-buffer-limit abc\r\n"
     b"CONFIG SET client-query-buffer-limit 1\r\nCONFIG SET client-query-buffer-limit 2mb\r\n"
     b"CONFIG GET client-query*\r\nCONFIG SET client-query-buffer-limit 1048576\r\n"
     b"CONFIG SET client-query-buffer-limit 9223372036854775807\r\n"
     b"CONFIG SET client-query-buffer-limit 9223372036854775808\r\n"
     b"CONFIG SET client-query-buffer-limit 18446744073709551616\r\n"
     b"CONFIG SET client-query-buffer-limit 99999999999999999999gb\r\n"
     b"CONFIG SET client-query-buffer-limit 9007199254740992kb\r\n"
     b"CONFIG SET client-query-buffer-limit 9007199254740991kb\r\n"
     b"CONFIG GET client-query-buffer-limit\r\n"
     b"CONFIG SET client-query-buffer-limit 8gb\r\nCONFIG SET client-query-buffer-limit -1\r\n"
     b"CONFIG SET client-query-buffer-limit 1k\r\nCONFIG SET client-query-buffer-limit 2000K\r\n"
     b"CONFIG GET client-query-buffer-limit\r\nCONFIG SET client-query-buffer-limit 1.5mb\r\n"
     b"CONFIG SET client-query-buffer-limit mb\r\nCONFIG SET client-query-buffer-limit 1024mb\r\n"
     b"CONFIG GET client-query-buffer-limit\r\n"),
    ("config set several at once", b"CONFIG SET maxclients 100 client-query-buffer-limit 2mb\r\n"
     b"CONFIG GET maxclients\r\nCONFIG SET maxclients 200 client-query-buffer-limit 1\r\n"
     b"CONFIG GET maxclients\r\nCONFIG SET maxclients 100 maxclients 200\r\n"
     b"CONFIG SET maxclients\r\nCONFIG SET maxclients 1 foo\r\nCONFIG SET foo 1\r\n"
     b"CONFIG SET maxclients 0 foo 1\r\n"
     b"CONFIG SET maxclients 10000 client-query-buffer-limit 1gb\r\n"),
    ("arity and unknown", b"GET\r\nSET k\r\nFOO a b\r\nGETRANGE k 1\r\nINCRBYFLOAT k\r\n"),
    ("protocol error", b"*1\r\n$4\r\nPING\r\n*1\r\n:5\r\n"),
    ("quit", b"SET k v\r\nQUIT\r\nGET k\r\n"),
    # Cross-protocol scripting: POST and Host: close the connection, the
    # replies to what came in the same read unsent.
    ("POST closes", b"SET k v\r\nPOST / HTTP/1.1\r\nGET k\r\n"),
    ("Host: closes", b"PING\r\nhoSt: example.com\r\n"),
    ("post as a multibulk command", b"*1\r\n$4\r\npost\r\n"),
    ("POST is not counted as a command",
     [b"CONFIG RESETSTAT\r\n", b"POST / HTTP/1.1\r\n", b"INFO stats\r\n"], REDIS_COUNTERS),
    *LFU_CASES,
]


def main():
    if os.geteuid() != 0:
        print("skipped: xdpkv's store is BPF maps, which need root (CAP_BPF) here")
        return 77
    for tool in ("memcached", "redis-server"):
        if not shutil.which(tool):
            print(f"{tool} is not installed (scripts/install-deps.sh installs it)")
            return 1
    # Ports the kernel picks, from the port files (memcached's own, and
    # xdpkv's in memcached's format); redis-server is retried on a new port
    # if its port is taken first.
    pin_dir = f"/sys/fs/bpf/xdpkv-peerdiff-{os.getpid()}"
    servers = []
    failures = 0
    try:
        memcached = loopback.start_with_port_file(
            ["memcached", "-u", "root", "-l", "127.0.0.1", "-p", "-1", "-U", "0", "-t", "1"])
        servers.append(memcached)
        redis = loopback.start_redis()
        servers.append(redis)
        xdpkv = loopback.start_with_port_file(
            [BINARY, "--xdp-mode", "off", "-p", "-1", "-U", "0", "--redis-port", "-1",
             "--pin-dir", pin_dir, "--fresh"])
        servers.append(xdpkv)
        mc_port, redis_port = memcached.ports["TCP INET"], redis.port
        x_mc, x_resp = xdpkv.ports["TCP INET"], xdpkv.ports["RESP INET"]
        suites = [
            ("memcache", MEMCACHE_CASES, mc_port, x_mc, b"flush_all\r\n", b"OK\r\n",
             b"version\r\n", re.compile(rb"VERSION [^\r]*\r\n$")),
            ("redis", REDIS_CASES, redis_port, x_resp, b"FLUSHALL\r\n", b"+OK\r\n",
             b"ECHO __sentinel__\r\n", re.compile(rb"\$12\r\n__sentinel__\r\n$")),
        ]
        for proto, cases, peer_port, our_port, flush, flushed, sentinel, sentinel_re in suites:
            for name, request, *extra in cases:
                replies = []
                until = [e for e in extra if isinstance(e, Until)]
                for port in (peer_port, our_port):
                    exchange_until(port, flush, b"", re.compile(re.escape(flushed) + b"$"))
                    replies.append(b"<next connection>".join(
                        exchange_until(port, one, b"", until[0].regex) if until and i > 0 else
                        exchange_until(port, one, sentinel, sentinel_re)
                        for i, one in enumerate(request if isinstance(request, list) else [request])))
                peer, ours = replies
                deviation = [e for e in extra if isinstance(e, Deviation)]
                for fields in (e for e in extra if isinstance(e, (Fields, Unordered))):
                    peer, ours = fields(peer), fields(ours)
                for transform in (e for e in extra if isinstance(e, Transform)):
                    peer, ours = transform.fn(peer), transform.fn(ours)
                expected = deviation[0].ours if deviation else peer
                ok = ours == expected
                failures += not ok
                label = "ok  " if ok else "DIFF"
                note = f" (deviation: {deviation[0].why})" if deviation else ""
                print(f"{label} [{proto}] {name}{note}")
                if not ok or SHOW:
                    print(f"     peer:     {peer!r}\n     expected: {expected!r}\n"
                          f"     xdpkv:    {ours!r}")
    finally:
        for server in servers:
            server.proc.terminate()
        for server in servers:
            loopback.stop(server)
            server.cleanup()
        subprocess.run(["rm", "-rf", pin_dir])
    total = len(MEMCACHE_CASES) + len(REDIS_CASES)
    deviations = sum(1 for case in MEMCACHE_CASES + REDIS_CASES
                     if any(isinstance(e, Deviation) for e in case[2:]))
    unordered = sum(1 for case in REDIS_CASES if any(isinstance(e, Unordered) for e in case[2:]))
    print(f"{total - failures} of {total} cases as expected: "
          f"{total - deviations - unordered} byte-identical to memcached 1.6 / Redis 7, "
          f"{unordered} identical but for Redis's hash-table order, "
          f"{deviations} documented deviations")
    return 1 if failures else 0


def exchange_until(port, request, sentinel, sentinel_re):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request + sentinel)
        data = b""
        end = time.monotonic() + 5
        while time.monotonic() < end:
            match = sentinel_re.search(data)
            if match:
                return data[: match.start()]
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                return data + b"<closed>"
            data += chunk
        return data + b"<timeout>"


if __name__ == "__main__":
    sys.exit(main())
