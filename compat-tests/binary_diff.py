#!/usr/bin/python3
"""memcached's binary protocol against memcached 1.6.18, byte for byte.

The same request bytes go to memcached and to xdpkv (--xdp-mode off), each
pair of servers started alike:
1. default flags: fixed cases (every opcode, quiet forms, CAS, errors and
   the connections they close, swallowed bodies, STAT), then seeded random
   sequences, each command followed by a NOOP whose reply ends its answer;
   the counters (text `stats`) compared after each sequence;
2. -S: the SASL exchange (memcached's users in a sasldb made here through
   libsasl2, xdpkv's in the MEMCACHED_SASL_PWDB file: the same user);
3. -C -F -B binary;
4. UDP (-U): each response framed on its own.
Responses are compared as packets: header fields, extras, key, value; CAS
uniques by order of first appearance (xdpkv's start from the clock), the
VERSION text masked (xdpkv's is 1.6.18-xdpkv-<version>), stats values only
for counters both keep. A case ends when the server closes, or with the
closing NOOP's reply, or after a short wait where memcached answers
nothing (its reply held while it swallows). Documented differences
(docs/protocols.md, "Binary protocol") are not exercised here.
Exit 77 (CTest's skip) without root or without memcached.

  binary_diff.py BINARY [--seed N] [--sequences N] [--length N] [--show]
"""
import argparse
import ctypes
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

import loopback  # compat-tests/loopback.py

HEADER = struct.Struct(">BBHBBHIIQ")
OP = dict(GET=0x00, SET=0x01, ADD=0x02, REPLACE=0x03, DELETE=0x04, INCR=0x05, DECR=0x06,
          QUIT=0x07, FLUSH=0x08, GETQ=0x09, NOOP=0x0a, VERSION=0x0b, GETK=0x0c, GETKQ=0x0d,
          APPEND=0x0e, PREPEND=0x0f, STAT=0x10, SETQ=0x11, ADDQ=0x12, REPLACEQ=0x13,
          DELETEQ=0x14, INCRQ=0x15, DECRQ=0x16, QUITQ=0x17, FLUSHQ=0x18, APPENDQ=0x19,
          PREPENDQ=0x1a, VERBOSITY=0x1b, TOUCH=0x1c, GAT=0x1d, GATQ=0x1e, SASL_LIST=0x20,
          SASL_AUTH=0x21, SASL_STEP=0x22, GATK=0x23, GATKQ=0x24)
END_OPAQUE = 0x5e5e5e5e  # the closing NOOP's
MAX_VALUE = 1024 * 1024  # both servers' default -I
USER, PASSWORD = b"testuser", b"testpass"
WRITES = {OP[name] for name in ("SET", "ADD", "REPLACE", "SETQ", "ADDQ", "REPLACEQ")}
COUNTERS = ["cmd_get", "cmd_set", "cmd_touch", "cmd_flush", "get_hits", "get_misses",
            "delete_hits", "delete_misses", "incr_hits", "incr_misses", "decr_hits",
            "decr_misses", "cas_hits", "cas_misses", "cas_badval", "touch_hits", "touch_misses",
            "total_items", "curr_items", "auth_cmds", "auth_errors"]


def req(op, key=b"", extras=b"", value=b"", opaque=0, cas=0, magic=0x80, bodylen=None):
    op = OP[op] if isinstance(op, str) else op
    if bodylen is None:
        bodylen = len(extras) + len(key) + len(value)
    return HEADER.pack(magic, op, len(key), len(extras), 0, 0, bodylen, opaque, cas) + extras + key + value


def ex_set(flags=0, exp=0):
    return struct.pack(">II", flags, exp)


def ex_incr(delta, initial=0, exp=0):
    return struct.pack(">QQI", delta, initial, exp)


def ex_exp(exp):
    return struct.pack(">I", exp)


def plain(user=USER, password=PASSWORD, authzid=b""):
    return authzid + b"\0" + user + b"\0" + password


def split_packets(data):
    """Whole response packets, and the bytes after the last one."""
    packets = []
    while len(data) >= 24:
        magic, op, keylen, extlen, dtype, status, bodylen, opaque, cas = HEADER.unpack(data[:24])
        if len(data) < 24 + bodylen:
            break
        body = data[24:24 + bodylen]
        packets.append(dict(magic=magic, op=op, keylen=keylen, extlen=extlen, dtype=dtype,
                            status=status, bodylen=bodylen, opaque=opaque, cas=cas,
                            extras=body[:extlen], key=body[extlen:extlen + keylen],
                            value=body[extlen + keylen:]))
        data = data[24 + bodylen:]
    return packets, data


def exchange(sock, payload, end=True, wait=0.4):
    """Sends payload (and a closing NOOP); returns (packets, trailing bytes,
    closed) once the NOOP's reply came, the server closed, or nothing came
    for `wait` seconds (memcached holding its reply)."""
    sock.sendall(payload + (req("NOOP", opaque=END_OPAQUE) if end else b""))
    data, closed = b"", False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        packets, rest = split_packets(data)
        if end and packets and packets[-1]["op"] == OP["NOOP"] and packets[-1]["opaque"] == END_OPAQUE:
            return packets[:-1], rest, False
        sock.settimeout(wait)
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    packets, rest = split_packets(data)
    return packets, rest, closed


class Canon:
    """CAS uniques by order of first appearance, per transcript."""

    def __init__(self):
        self.order = {}

    def cas(self, value):
        if value == 0:
            return 0
        return "#%d" % self.order.setdefault(value, len(self.order) + 1)

    def packets(self, packets, mask_write_cas=False):
        out = []
        for p in packets:
            value = p["value"]
            if mask_write_cas and p["op"] in WRITES and p["status"] == 0:
                p = dict(p, cas=0)  # an already expired write: docs/protocols.md
            if p["op"] == OP["VERSION"] and p["status"] == 0:
                value = b"<version>"
            out.append((hex(p["magic"]), hex(p["op"]), p["keylen"], p["extlen"], p["dtype"],
                        hex(p["status"]), p["opaque"], self.cas(p["cas"]), p["extras"], p["key"],
                        value if p["op"] != OP["STAT"] or p["status"] else b"<stat>"))
        return out


def stat_packets_ok(peer, ours):
    """STAT reports: the same framing, and each counter both servers keep
    at the same value; the names are each server's own."""
    problems = []
    for label, packets in (("peer", peer), ("xdpkv", ours)):
        if not packets or packets[-1]["key"] != b"" or packets[-1]["value"] != b"":
            problems.append(f"{label}: no empty packet ends the report")
    a = {p["key"]: p["value"] for p in peer}
    b = {p["key"]: p["value"] for p in ours}
    for name in COUNTERS:
        if name.encode() in a and name.encode() in b and a[name.encode()] != b[name.encode()]:
            problems.append(f"{name}: peer {a[name.encode()]!r}, xdpkv {b[name.encode()]!r}")
    return problems


def text_counters(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    values = dict(re.findall(rb"STAT (\S+) (\S+)\r\n", data))
    return {name: values.get(name.encode()) for name in COUNTERS if name.encode() in values}


def reset(ports, binary=None):
    """An empty store and zeroed counters on both: text flush_all and stats
    reset, or the binary requests given where the text protocol is off."""
    for port in ports:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            if binary is not None:
                exchange(s, binary)
            else:
                s.sendall(b"flush_all\r\nstats reset\r\n")
                data = b""
                while not data.endswith(b"RESET\r\n"):
                    data += s.recv(1024)


# Fixed cases: (name, [payload of each connection]); a payload is bytes, or
# (bytes, False) for no closing NOOP.
BIG = b"x" * (MAX_VALUE + 1)
PAST = 1_000_000_000  # an absolute time long gone: expired at once
FAR = 4_000_000_000  # an absolute time decades away
FIXED = [
    ("get and getk, hit and miss, flags, opaque", [
        req("SET", b"a", ex_set(0xdeadbeef, 0), b"value", opaque=1) + req("GET", b"a", opaque=2) +
        req("GETK", b"a", opaque=3) + req("GET", b"zz", opaque=4) + req("GETK", b"zz", opaque=5)]),
    ("quiet gets", [
        req("SET", b"a", ex_set(1, 0), b"v") + req("GETQ", b"a") + req("GETQ", b"zz") +
        req("GETKQ", b"a") + req("GETKQ", b"zz") + req("GETQ", b"a", opaque=9)]),
    ("set add replace append prepend, loud and quiet", [
        req("ADD", b"a", ex_set(0, 0), b"1") + req("ADD", b"a", ex_set(0, 0), b"2") +
        req("ADDQ", b"a", ex_set(0, 0), b"2") + req("REPLACE", b"zz", ex_set(0, 0), b"3") +
        req("REPLACEQ", b"zz", ex_set(0, 0), b"3") + req("REPLACEQ", b"a", ex_set(5, 0), b"4") +
        req("APPEND", b"a", b"", b"5") + req("PREPENDQ", b"a", b"", b"6") +
        req("APPEND", b"zz", b"", b"7") + req("PREPENDQ", b"zz", b"", b"7") +
        req("SETQ", b"b", ex_set(0, 0), b"") + req("GETK", b"a") + req("GETK", b"b")]),
    ("CAS on every write", [
        req("SET", b"a", ex_set(0, 0), b"1") + req("SET", b"a", ex_set(0, 0), b"2", cas=12345) +
        req("ADD", b"zz", ex_set(0, 0), b"2", cas=12345) +
        req("REPLACE", b"zz", ex_set(0, 0), b"2", cas=12345) +
        req("APPEND", b"a", b"", b"2", cas=12345) + req("PREPEND", b"zz", b"", b"2", cas=12345) +
        req("DELETE", b"a", cas=12345) + req("DELETE", b"zz", cas=12345) +
        req("INCR", b"a", ex_incr(1), cas=12345) + req("GET", b"a")]),
    ("incr and decr", [
        req("SET", b"n", ex_set(3, 0), b"10") + req("DECR", b"n", ex_incr(1)) + req("GET", b"n") +
        req("INCR", b"n", ex_incr(2**64 - 1)) + req("INCRQ", b"n", ex_incr(5)) +
        req("DECR", b"n", ex_incr(100)) + req("INCR", b"new", ex_incr(1, 42, 0)) +
        req("INCR", b"new", ex_incr(1, 42, 0)) + req("DECR", b"gone", ex_incr(1, 42, 0xffffffff)) +
        req("DECRQ", b"gone", ex_incr(1, 42, 0xffffffff)) + req("INCRQ", b"new2", ex_incr(1, 7, 100)) +
        req("GETK", b"new2") + req("SET", b"s", ex_set(0, 0), b"abc") + req("INCR", b"s", ex_incr(1)) +
        req("SET", b"e", ex_set(0, 0), b"") + req("INCR", b"e", ex_incr(1)) +
        req("INCR", b"big", ex_incr(1, 2**64 - 1, 0)) + req("INCR", b"big", ex_incr(1))]),
    ("touch, gat, gatk and quiet", [
        req("SET", b"a", ex_set(9, 0), b"v") + req("TOUCH", b"a", ex_exp(100)) +
        req("TOUCH", b"zz", ex_exp(100)) + req("GAT", b"a", ex_exp(0)) +
        req("GATK", b"a", ex_exp(FAR)) + req("GATQ", b"zz", ex_exp(1)) +
        req("GATKQ", b"a", ex_exp(100)) + req("GATKQ", b"zz", ex_exp(100)) +
        req("GAT", b"a", ex_exp(PAST)) + req("GET", b"a")]),
    ("expirations on writes", [
        req("SET", b"b", ex_set(0, FAR), b"v") + req("GET", b"b") +
        req("ADD", b"c", ex_set(0, 0xffffffff), b"v") + req("GET", b"c")]),
    # Deviation: a write already expired shows CAS 0 (memcached links a dead
    # item and shows its CAS); the CAS of write responses is not compared.
    ("writes already expired", [
        req("SET", b"a", ex_set(0, PAST), b"v") + req("GET", b"a") +
        req("SET", b"a", ex_set(0, 0), b"v") + req("REPLACEQ", b"a", ex_set(0, PAST), b"w") +
        req("GET", b"a") + req("ADD", b"a", ex_set(0, PAST), b"v")], "mask-write-cas"),
    ("delete", [
        req("SET", b"a", ex_set(0, 0), b"v") + req("DELETEQ", b"a") + req("DELETE", b"a") +
        req("DELETEQ", b"a") + req("GET", b"a")]),
    ("flush", [
        req("SET", b"a", ex_set(0, 0), b"v") + req("FLUSHQ") + req("GET", b"a") +
        req("SET", b"a", ex_set(0, 0), b"v") + req("FLUSH", extras=ex_exp(0)) + req("GET", b"a") +
        req("SET", b"b", ex_set(0, 0), b"v") + req("FLUSH") + req("GET", b"b")]),
    ("version, noop, quit", [req("VERSION") + req("NOOP", opaque=7) + req("QUIT", opaque=8) +
                             req("NOOP")]),
    ("quitq closes without a word", [req("GETK", b"zz") + req("QUITQ") + req("NOOP")]),
    ("unknown opcodes swallow their body past the key", [
        req(0x40, b"k", b"", b"xyz") + b"\0" + req("NOOP", opaque=1),
        req("VERBOSITY", extras=ex_exp(1)) + b"1234" + req("NOOP", opaque=2),
        req(0xff, bodylen=8) + b"12345678" + req("GETK", b"zz")]),
    ("SASL commands without -S", [
        req("SASL_LIST") + req("SASL_AUTH", b"PLAIN", b"", plain()) +
        req("SASL_STEP", b"PLAIN", b"", plain())]),
    ("key and extras past the body: closed", [(req("GET", b"abc", bodylen=1) + req("NOOP"), False)]),
    ("keys of 250 and 251", [req("GETK", b"k" * 250), req("GET", b"k" * 251) + req("NOOP")]),
    ("malformed frames: invalid, closed", [
        req("NOOP", b"k"), req("VERSION", value=b"x"), req("QUIT", extras=b"1234"), req("GET"),
        req("GET", b"k", value=b"v"), req("SET", b"k", b"1234"), req("SET", extras=ex_set()),
        req("DELETE", b"k", b"1234"), req("INCR", b"k", b"12345678"),
        req("APPEND", b"k", b"1234", b"v"), req("FLUSH", extras=b"12"), req("FLUSH", b"k"),
        req("TOUCH", b"k"), req("STAT", extras=b"1234"), req("SASL_LIST", b"k")]),
    ("a bad magic closes at once, dropping what was not sent", [
        (req("GETK", b"zz") + req("NOOP", magic=0x81), False),
        (req("GET", b"zz") + req("NOOP", magic=0x81), False),
        (req("NOOP", opaque=3) + req("GETK", b"zz") + b"get a\r\n" + b" " * 20, False)]),
    ("too large: refused, swallowed, a set unlinks the old value", [
        req("SET", b"a", ex_set(0, 0), b"old") + req("SET", b"a", ex_set(0, 0), BIG) +
        req("GET", b"a") + req("SET", b"b", ex_set(0, 0), b"old") +
        req("ADD", b"b", ex_set(0, 0), BIG) + req("GET", b"b") + req("APPEND", b"b", b"", BIG) +
        req("GET", b"b")]),
    ("append past the limit", [
        req("SET", b"a", ex_set(0, 0), b"x" * (MAX_VALUE - 200)) + req("APPEND", b"a", b"", b"y" * 300) +
        req("PREPENDQ", b"a", b"", b"y" * 300) + req("APPEND", b"a", b"", b"y" * 10)]),
    ("STAT reports", [
        req("STAT", b"reset") + req("STAT", b"detail on") + req("SET", b"p:1", ex_set(0, 0), b"v") +
        req("GET", b"p:1") + req("GET", b"p:2") + req("DELETE", b"p:1") + req("STAT", b"detail dump") +
        req("STAT", b"detail off") + req("STAT", b"detail") + req("STAT", b"detail bogus") +
        req("STAT", b"conns") + req("STAT", b"cachedump 1 1") + req("STAT", b"bogus") +
        req("STAT", b"resetting")]),
    ("STAT and TOUCH leave a body past the key to the next request", [
        req("STAT", b"reset", bodylen=5 + 24) + req("NOOP", opaque=11),
        req("SET", b"a", ex_set(0, 0), b"v") + req("TOUCH", b"a", ex_exp(0), bodylen=5 + 24) +
        req("NOOP", opaque=12)]),
    ("pipelined across commands", [
        b"".join(req("SETQ", b"k%d" % i, ex_set(i, 0), b"v%d" % i) for i in range(30)) +
        b"".join(req("GETKQ", b"k%d" % i) for i in range(0, 40, 3)) + req("NOOP", opaque=1)]),
]

SASL_FIXED = [
    ("list, and VERSION before auth", [req("SASL_LIST") + req("VERSION")]),
    ("anything else before auth: Auth failure, closed",
     [req("GET", b"k"), req("NOOP"), req("GETQ", b"k"), req("STAT"), req("QUIT")]),
    ("PLAIN with the response at once", [req("SASL_AUTH", b"PLAIN", b"", plain(), opaque=5) + req("GET", b"k")]),
    ("a wrong password, then the right one", [
        req("SASL_AUTH", b"PLAIN", b"", plain(password=b"no")) + req("SASL_AUTH", b"plain", b"", plain()) +
        req("SET", b"k", ex_set(0, 0), b"v") + req("GET", b"k")]),
    ("wrong, then a command", [req("SASL_AUTH", b"PLAIN", b"", plain(password=b"no")) + req("GET", b"k")]),
    ("continue, then steps", [
        req("SASL_AUTH", b"PLAIN") + req("SASL_STEP", b"PLAIN", b"", plain(password=b"x")) +
        req("SASL_STEP", b"PLAIN") + req("SASL_STEP", b"FOO", b"", plain()) + req("GET", b"k")]),
    ("a step first", [req("SASL_STEP", b"PLAIN", b"", plain())]),
    ("a finished exchange does not start again", [
        req("SASL_AUTH", b"PLAIN", b"", plain()) + req("SASL_AUTH", b"PLAIN", b"", plain())],),
    ("done, continue, step, unknown mechanism, then auth", [
        req("SASL_AUTH", b"PLAIN", b"", plain()) + req("SASL_AUTH", b"PLAIN") +
        req("SASL_STEP", b"PLAIN", b"", plain()) + req("SASL_AUTH", b"XX") +
        req("SASL_AUTH", b"PLAIN", b"", plain()) + req("GET", b"k")]),
    ("PLAIN's forms", [
        req("SASL_AUTH", b"PLAIN", b"", plain(authzid=USER)) + req("GET", b"k"),
        req("SASL_AUTH", b"PLAIN", b"", plain(authzid=b"other")),
        req("SASL_AUTH", b"PLAIN", b"", plain() + b"\0"),
        req("SASL_AUTH", b"PLAIN", b"", USER),
        req("SASL_AUTH", b"PLAIN", b"", plain(user=b"")),
        req("SASL_AUTH", b"PLAIN", b"", plain(password=PASSWORD[:-1])),
        req("SASL_AUTH", b"CRAM-MD5", b"", plain())]),
    ("mechanism names of 32 and 33 bytes, data too big", [
        req("SASL_AUTH", b"P" * 32, b"", plain()), req("SASL_AUTH", b"P" * 33, b"", plain()),
        req("SASL_AUTH", b"PLAIN", b"", b"x" * 600000)]),
    ("malformed SASL frames", [req("SASL_AUTH", b"", b"", plain()), req("SASL_AUTH", b"PLAIN", b"1234"),
                              req("SASL_LIST", value=b"x")]),
    ("the text protocol: a bad magic once 24 bytes are in",
     [(b"version\r\n", False), (b"version\r\n" + b" " * 15, False)]),
]

NO_CAS_FIXED = [
    ("-C: CAS 0, a CAS on set ignored, on delete and incr never matching", [
        req("SET", b"a", ex_set(0, 0), b"1") + req("GETK", b"a") +
        req("SET", b"a", ex_set(0, 0), b"2", cas=99) + req("REPLACE", b"a", ex_set(0, 0), b"3", cas=99) +
        req("APPEND", b"a", b"", b"4", cas=99) + req("GET", b"a") + req("DELETE", b"a", cas=99) +
        req("SET", b"n", ex_set(0, 0), b"1") + req("INCR", b"n", ex_incr(1), cas=99) +
        req("INCR", b"n", ex_incr(1))]),
    ("-F: flush refused", [req("SET", b"a", ex_set(0, 0), b"1") + req("FLUSH") + req("FLUSHQ") +
                           req("GET", b"a")]),
    ("-B binary: text is a bad magic", [(b"get a\r\n" + b" " * 20, False)]),
]


def run_fixed(ports, cases, show, reset_with=None):
    failures = 0
    for name, connections, *options in cases:
        mask = "mask-write-cas" in options
        reset(ports, reset_with)
        transcripts = []
        stats = []
        for port in ports:
            canon = Canon()
            transcript = []
            raw_stats = []
            for payload in connections:
                end = True
                if isinstance(payload, tuple):
                    payload, end = payload
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    packets, rest, closed = exchange(s, payload, end)
                raw_stats.append([p for p in packets if p["op"] == OP["STAT"] and p["status"] == 0])
                transcript.append((canon.packets(packets, mask), rest, closed))
            transcripts.append(transcript)
            stats.append(raw_stats)
        problems = []
        if transcripts[0] != transcripts[1]:
            problems.append("responses differ")
        for peer, ours in zip(*stats):
            if peer and ours:
                problems += stat_packets_ok(peer, ours)
        ok = not problems
        print(f"{'ok  ' if ok else 'DIFF'} {name}" + ("" if ok else ": " + "; ".join(problems)))
        if not ok or show:
            for i, (peer, ours) in enumerate(zip(*transcripts)):
                if peer != ours or show:
                    print(f"     connection {i}\n       peer:  {peer}\n       xdpkv: {ours}")
        failures += not ok
    return len(cases), failures


# --- random sequences ---------------------------------------------------------

KEYS = [b"a", b"b", b"n", b"p:1"]
EXPIRATIONS = [0, 100, 1000, FAR, PAST]


def generate(rng, length):
    """Commands as (opcode name, key, extras, value, cas kind, opaque):
    cas kind None (0), "last" (the server's last CAS for the key) or
    "wrong" (one it never gave).

    Increments go to key n alone, which is never read: memcached makes a
    new item (unpadded) for an increment that lands while the LRU bump of
    an item's fetch is still queued, by its threads' timing
    (docs/protocols.md, "Meta commands"), which no test can expect."""
    commands = []
    for _ in range(length):
        kind = rng.choices(["get", "store", "delete", "delta", "touch", "misc"],
                           [30, 30, 8, 14, 12, 6])[0]
        key = b"n" if kind == "delta" else rng.choice(KEYS if kind != "get" and kind != "touch"
                                                       else [k for k in KEYS if k != b"n"])
        quiet = rng.random() < 0.3
        cas = rng.choices([None, "last", "wrong"], [70, 20, 10])[0]
        opaque = rng.randrange(1 << 32)
        extras, value = b"", b""
        if kind == "get":
            op = rng.choice(["GET", "GETK"]) + ("Q" if quiet else "")
            cas = None
        elif kind == "store":
            op = rng.choice(["SET", "ADD", "REPLACE", "APPEND", "PREPEND"]) + ("Q" if quiet else "")
            value = rng.choice([b"", b"x", b"hello", str(rng.randrange(1000)).encode(), b"12 "])
            if op.startswith(("SET", "ADD", "REPLACE")):
                extras = ex_set(rng.choice([0, 1, 0xffffffff]), rng.choice(EXPIRATIONS))
        elif kind == "delete":
            op = "DELETEQ" if quiet else "DELETE"
        elif kind == "delta":
            op = rng.choice(["INCR", "DECR"]) + ("Q" if quiet else "")
            extras = ex_incr(rng.choice([0, 1, 7, 2**64 - 1]), rng.choice([0, 5, 99]),
                             rng.choice([0, 100, 0xffffffff, 0xffffffff]))
        elif kind == "touch":
            op = rng.choice(["TOUCH", "GAT", "GATK", "GATQ", "GATKQ"])
            extras = ex_exp(rng.choice(EXPIRATIONS))
            cas = None
        else:
            op = rng.choice(["NOOP", "VERSION", "STAT"])
            key = b"bogus" if op == "STAT" else b""
            cas = None
        commands.append((op, key, extras, value, cas, opaque))
    return commands


class Server:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.canon = Canon()
        self.last_cas = {}

    def run(self, command):
        op, key, extras, value, cas_kind, opaque = command
        cas = 0
        if cas_kind == "last":
            cas = self.last_cas.get(key, 1)
        elif cas_kind == "wrong":
            cas = self.last_cas.get(key, 0) + 10**12 + 7
        packets, rest, closed = exchange(self.sock, req(op, key, extras, value, opaque, cas))
        expired = OP[op] in WRITES and extras[4:] == ex_exp(PAST)
        for p in packets:
            if p["status"] == 0 and p["cas"] and not expired:
                self.last_cas[key] = p["cas"]
        return self.canon.packets(packets, mask_write_cas=expired), rest, closed


def run_random(ports, args):
    rng = random.Random(args.seed)
    failures = 0
    for n in range(args.sequences):
        commands = generate(rng, args.length)
        if args.only is not None and n != args.only:
            continue
        reset(ports)
        servers = [Server(port) for port in ports]
        bad = None
        transcript = []
        for i, command in enumerate(commands):
            answers = [server.run(command) for server in servers]
            transcript.append(answers)
            if answers[0] != answers[1]:
                bad = (i, command, answers)
                break
        for server in servers:
            server.sock.close()
        counters = [text_counters(port) for port in ports]
        if any(c[2][-4:] == ex_exp(PAST) for c in commands):  # the expiration ends the extras
            # An item written or touched already expired is still an item
            # to memcached until it is reclaimed (docs/protocols.md).
            for c in counters:
                c.pop("curr_items", None)
        ok = bad is None and counters[0] == counters[1]
        if not ok or args.show:
            print(f"{'ok  ' if ok else 'DIFF'} random sequence {n} (seed {args.seed})")
        if args.show:
            for command, answers in zip(commands, transcript):
                print(f"     {command}\n       peer:  {answers[0]}\n       xdpkv: {answers[1]}")
        if bad:
            i, command, answers = bad
            print(f"     command {i}: {command}\n       peer:  {answers[0]}\n       xdpkv: {answers[1]}")
        elif counters[0] != counters[1]:
            print(f"     counters\n       peer:  {counters[0]}\n       xdpkv: {counters[1]}")
        failures += not ok
    ran = args.sequences if args.only is None else 1
    print(f"{ran - failures} of {ran} random sequences identical")
    return ran, failures


# --- UDP ----------------------------------------------------------------------

UDP_CASES = [
    ("get hit", req("SET", b"a", ex_set(3, 0), b"v") + req("GET", b"a")),
    ("quiet miss, then noop", req("GETQ", b"zz") + req("NOOP")),
    ("several responses", req("GETK", b"zz") + req("GET", b"zz") + req("VERSION") + req("NOOP")),
    ("an unknown command, swallowed", req("GETK", b"zz") + req(0x40, b"k") + b"x" + req("NOOP")),
    ("a header cut short", req("GETK", b"zz") + req("NOOP")[:10]),
    ("a bad magic", req("GETK", b"zz") + req("NOOP", magic=0x81)),
    ("quit", req("GETK", b"zz") + req("QUIT") + req("NOOP")),
]


def udp_datagrams(port, payload, request_id):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        s.sendto(struct.pack(">HHHH", request_id, 0, 1, 0) + payload, ("127.0.0.1", port))
        replies = []
        try:
            while True:
                replies.append(s.recv(65536))
        except socket.timeout:
            pass
    return replies


def run_udp(udp_ports, tcp_ports):
    failures = 0
    for name, payload in UDP_CASES:
        reset(tcp_ports)
        got = []
        for port in udp_ports:
            canon = Canon()
            got.append([(d[:8], canon.packets(split_packets(d[8:])[0]), split_packets(d[8:])[1])
                        for d in udp_datagrams(port, payload, 77)])
        ok = got[0] == got[1]
        print(f"{'ok  ' if ok else 'DIFF'} UDP: {name}")
        if not ok:
            print(f"       peer:  {got[0]}\n       xdpkv: {got[1]}")
        failures += not ok
    return len(UDP_CASES), failures


# --- servers --------------------------------------------------------------------

def make_sasldb(directory):
    """A Cyrus sasldb holding USER, and the config that points memcached at
    it (SASL_CONF_PATH); False when libsasl2 cannot make one."""
    with open(os.path.join(directory, "memcached.conf"), "w") as conf:
        conf.write(f"mech_list: plain\nsasldb_path: {directory}/sasldb2\n")
    script = (
        "import ctypes, os, sys\n"
        "lib = ctypes.CDLL('libsasl2.so.2')\n"
        "conn = ctypes.c_void_p()\n"
        "ok = lib.sasl_server_init(None, b'memcached') == 0 and lib.sasl_server_new(\n"
        "    b'memcached', None, None, None, None, None, 0, ctypes.byref(conn)) == 0 and \\\n"
        "    lib.sasl_setpass(conn, sys.argv[1].encode(), sys.argv[2].encode(), len(sys.argv[2]),\n"
        "                     None, 0, 1) == 0\n"
        "sys.exit(0 if ok else 1)\n")
    run = subprocess.run([sys.executable, "-c", script, USER.decode(), PASSWORD.decode()],
                         env=dict(os.environ, SASL_CONF_PATH=directory), capture_output=True)
    return run.returncode == 0 and os.path.exists(os.path.join(directory, "sasldb2"))


def start_pair(binary, flags, pin_dir, env=None, xdpkv_env=None, udp=False):
    udp_port = "-1" if udp else "0"
    peer = loopback.start_with_port_file(
        ["memcached", "-u", "root", "-l", "127.0.0.1", "-p", "-1", "-U", udp_port, "-t", "1"] + flags,
        env=env)
    try:
        ours = loopback.start_with_port_file(
            [binary, "--xdp-mode", "off", "-l", "127.0.0.1", "-p", "-1", "-U", udp_port,
             "--redis-port", "0", "--pin-dir", pin_dir, "--fresh", "-t", "1"] + flags, env=xdpkv_env)
    except Exception:
        loopback.stop(peer)
        peer.cleanup()
        raise
    return peer, ours


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--seed", type=int, default=1618)
    parser.add_argument("--sequences", type=int, default=100)
    parser.add_argument("--length", type=int, default=40)
    parser.add_argument("--show", action="store_true")
    parser.add_argument("--only", type=int, default=None, help="run this random sequence alone")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("skipped: xdpkv's store is BPF maps, which need root (CAP_BPF) here")
        return 77
    if not shutil.which("memcached"):
        print("skipped: memcached is not installed (scripts/install-deps.sh installs it)")
        return 77
    pin_dir = f"/sys/fs/bpf/xdpkv-bindiff-{os.getpid()}"
    workdir = tempfile.mkdtemp(prefix="xdpkv-bindiff-")
    servers = []
    totals = []
    failures = 0

    def suite(label, run):
        nonlocal failures
        total, failed = run()
        totals.append((label, total))
        failures += failed

    try:
        peer, ours = start_pair(args.binary, [], pin_dir, udp=True)
        servers += [peer, ours]
        tcp = (peer.ports["TCP INET"], ours.ports["TCP INET"])
        udp = (peer.ports["UDP INET"], ours.ports["UDP INET"])
        suite("fixed", lambda: run_fixed(tcp, FIXED, args.show))
        suite("UDP", lambda: run_udp(udp, tcp))
        suite("random", lambda: run_random(tcp, args))
        for server in (peer, ours):
            loopback.stop(server)

        peer, ours = start_pair(args.binary, ["-C", "-F", "-B", "binary"], pin_dir)
        servers += [peer, ours]
        tcp = (peer.ports["TCP INET"], ours.ports["TCP INET"])
        # -F: no flush; the cases' keys are deleted instead.
        clear = req("DELETEQ", b"a") + req("DELETEQ", b"n") + req("STAT", b"reset")
        suite("-C -F -B binary", lambda: run_fixed(tcp, NO_CAS_FIXED, args.show, clear))
        for server in (peer, ours):
            loopback.stop(server)

        sasl_dir = os.path.join(workdir, "sasl")
        os.makedirs(sasl_dir)
        if make_sasldb(sasl_dir):
            pwdb = os.path.join(workdir, "pwdb")
            with open(pwdb, "w") as f:
                f.write(f"{USER.decode()}:{PASSWORD.decode()}\n")
            peer, ours = start_pair(args.binary, ["-S"], pin_dir, env={"SASL_CONF_PATH": sasl_dir},
                                    xdpkv_env={"MEMCACHED_SASL_PWDB": pwdb})
            servers += [peer, ours]
            tcp = (peer.ports["TCP INET"], ours.ports["TCP INET"])
            clear = req("SASL_AUTH", b"PLAIN", b"", plain()) + req("FLUSH") + req("STAT", b"reset")
            suite("-S", lambda: run_fixed(tcp, SASL_FIXED, args.show, clear))
        else:
            print("note: libsasl2 could not make a sasldb: the -S cases are skipped")
    finally:
        for server in servers:
            loopback.stop(server)
            server.cleanup()
        subprocess.run(["rm", "-rf", pin_dir])
        shutil.rmtree(workdir, ignore_errors=True)
    total = sum(n for _, n in totals)
    detail = ", ".join(f"{n} {label}" for label, n in totals)
    print(f"{total - failures} of {total} binary-protocol checks identical to memcached 1.6.18 "
          f"({detail}; seed {args.seed})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
