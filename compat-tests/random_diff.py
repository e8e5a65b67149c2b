#!/usr/bin/python3
"""Seeded random command sequences for one of Redis's collection families,
sent to redis-server 7.0 and to xdpkv (--xdp-mode off), replies compared
one by one.

  random_diff.py FAMILY BINARY [--seed N] [--sequences N] [--length N]

FAMILY is lists, sets, zsets, bits (random_strings.py) or keyspace (strings,
COPY, RENAME, MOVE, SELECT, SWAPDB, OBJECT ENCODING, LCS; random_strings.py,
which says where OBJECT ENCODING is compared loosely). Each sequence starts
on an empty store and
runs --length commands over a few keys (one holding a string, for
WRONGTYPE) and a small pool of members, so commands meet each other's
results: pushes and pops, intsets turning into hash tables, ties of
scores. Replies must be byte-identical, except where Redis's own answer
is not determined: the members of a set kept as a hash table come in
Redis's hash-table order (compared sorted, as peer_diff's Unordered), and
random picks (SRANDMEMBER, ZRANDMEMBER) are compared by their shape only.
SPOP is sent with counts that take the whole set (random otherwise), so
both servers keep the same data. The seed is printed; --seed replays a run.
Exit 77 (CTest's skip) without root.
"""
import os
import random
import shutil
import socket
import subprocess
import sys
import time

import loopback  # compat-tests/loopback.py
from collection_cases import encode_sorted, parse_reply
from random_strings import Loose, bits_command, keyspace_command


def arg(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


FAMILY = sys.argv[1] if len(sys.argv) > 1 else "lists"
BINARY = sys.argv[2] if len(sys.argv) > 2 else "build/bin/xdpkv"
SEED = int(arg("--seed", str(int(time.time() * 1000) % 1000000007)))
SEQUENCES = int(arg("--sequences", "300"))
LENGTH = int(arg("--length", "30"))

KEYS = ["k1", "k2", "k3", "str"]  # "str" holds a string


def key(r):
    return r.choice(KEYS) if r.random() < 0.9 else "missing"


def index(r):
    return str(r.choice([0, 1, 2, -1, -2, -3, 5, 10, -10, r.randint(-20, 20)]))


# --- lists -----------------------------------------------------------------------

def element(r):
    return r.choice(["a", "b", "c", "1", "2", "", "a b"])


def list_command(r, state=None):
    k = key(r)
    kind = r.choices(["push", "pop", "read", "edit", "move", "bad"],
                     [6, 3, 4, 3, 2, 1])[0]
    if kind == "push":
        return [r.choice(["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]), k] + \
            [element(r) for _ in range(r.randint(1, 4))]
    if kind == "pop":
        cmd = [r.choice(["LPOP", "RPOP"]), k]
        return cmd + [str(r.choice([0, 1, 2, 5, -1]))] if r.random() < 0.6 else cmd
    if kind == "read":
        c = r.choice(["LLEN", "LRANGE", "LINDEX", "LPOS"])
        if c == "LLEN":
            return [c, k]
        if c == "LRANGE":
            return [c, k, index(r), index(r)]
        if c == "LINDEX":
            return [c, k, index(r)]
        cmd = [c, k, element(r)]
        for opt in r.sample(["RANK", "COUNT", "MAXLEN"], r.randint(0, 3)):
            value = {"RANK": r.choice([1, 2, -1, -2, 0]), "COUNT": r.choice([0, 1, 2, -1]),
                     "MAXLEN": r.choice([0, 1, 3, -1])}[opt]
            cmd += [opt, str(value)]
        return cmd
    if kind == "edit":
        c = r.choice(["LSET", "LINSERT", "LREM", "LTRIM"])
        if c == "LSET":
            return [c, k, index(r), element(r)]
        if c == "LINSERT":
            return [c, k, r.choice(["BEFORE", "AFTER", "before", "middle"]), element(r),
                    element(r)]
        if c == "LREM":
            return [c, k, str(r.choice([0, 1, -1, 2, -2])), element(r)]
        return [c, k, index(r), index(r)]
    if kind == "move":
        if r.random() < 0.3:
            return ["RPOPLPUSH", k, key(r)]
        return ["LMOVE", k, key(r), r.choice(["LEFT", "RIGHT", "left"]),
                r.choice(["LEFT", "RIGHT", "up"])]
    return r.choice([["LRANGE", k, "x", "1"], ["LPOS", k, "a", "RANK"], ["LPOP", k, "1", "2"],
                     ["LINDEX", k], ["TYPE", k], ["DEL", k], ["EXISTS", k]])


# --- sets ------------------------------------------------------------------------

def member(r):
    if r.random() < 0.7:
        return str(r.randint(-3, 12))
    return r.choice(["a", "b", "c", "007", "-0", "9223372036854775807", "x y"])


def set_command(r, state=None):
    k = key(r)
    keys = [key(r) for _ in range(r.randint(1, 3))]
    kind = r.choices(["add", "rem", "read", "combine", "store", "move", "random", "bad"],
                     [7, 3, 5, 3, 2, 2, 2, 1])[0]
    if kind == "add":
        return ["SADD", k] + [member(r) for _ in range(r.randint(1, 5))]
    if kind == "rem":
        return ["SREM", k] + [member(r) for _ in range(r.randint(1, 4))]
    if kind == "read":
        c = r.choice(["SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SSCAN"])
        if c in ("SMEMBERS", "SCARD"):
            return [c, k]
        if c == "SISMEMBER":
            return [c, k, member(r)]
        if c == "SMISMEMBER":
            return [c, k] + [member(r) for _ in range(r.randint(1, 3))]
        # Cursor 0 and a COUNT past the set's size: Redis's whole hash
        # table in one step too (its cursors over a hash table are its own).
        cmd = [c, k, "0", "COUNT", "1000"]
        if r.random() < 0.3:
            cmd += ["MATCH", r.choice(["1*", "*", "?", "a*"])]
        return cmd
    if kind == "combine":
        c = r.choice(["SINTER", "SUNION", "SDIFF", "SINTERCARD"])
        if c == "SINTERCARD":
            cmd = [c, str(len(keys))] + keys
            return cmd + ["LIMIT", str(r.choice([0, 1, 2]))] if r.random() < 0.4 else cmd
        return [c] + keys
    if kind == "store":
        return [r.choice(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), key(r)] + keys
    if kind == "move":
        return ["SMOVE", k, key(r), member(r)]
    if kind == "random":
        c = r.choice(["SPOP", "SRANDMEMBER", "SRANDMEMBER"])
        if c == "SPOP":
            return [c, k, r.choice(["100", "0"])]
        return [c, k] + ([] if r.random() < 0.3 else [r.choice(["0", "1", "2", "-3", "100"])])
    return r.choice([["SPOP", k, "-1"], ["SRANDMEMBER", k, "x"], ["SINTERCARD", "0", k],
                     ["SSCAN", k, "x"], ["TYPE", k], ["DEL", k], ["SMOVE", k, k, "1"]])


# --- sorted sets -----------------------------------------------------------------

def score(r):
    return r.choice(["0", "1", "2", "3", "-1", "1.5", "-0", "0.1", "inf", "-inf", "1e17",
                     str(r.randint(-5, 5))])


def bound(r):
    return r.choice(["-inf", "+inf", "0", "1", "(1", "2", "(2", "1.5", "3", "(-1", "x"])


def lex(r):
    return r.choice(["-", "+", "[a", "(a", "[b", "(c", "[d", "a"])


def zmember(r):
    return r.choice(["a", "b", "c", "d", "e", "1", "10"])


def zset_command(r, state=None):
    k = key(r)
    keys = [key(r) for _ in range(r.randint(1, 3))]
    kind = r.choices(["add", "rem", "read", "range", "pop", "combine", "random", "bad"],
                     [7, 2, 4, 6, 2, 3, 1, 1])[0]
    if kind == "add":
        if r.random() < 0.2:
            return ["ZINCRBY", k, score(r), zmember(r)]
        opts = [o for o in ["NX", "XX", "GT", "LT", "CH", "INCR"] if r.random() < 0.15]
        pairs = 1 if "INCR" in opts else r.randint(1, 3)
        cmd = ["ZADD", k] + opts
        for _ in range(pairs):
            cmd += [score(r), zmember(r)]
        return cmd
    if kind == "rem":
        c = r.choice(["ZREM", "ZREMRANGEBYRANK", "ZREMRANGEBYSCORE", "ZREMRANGEBYLEX"])
        if c == "ZREM":
            return [c, k] + [zmember(r) for _ in range(r.randint(1, 3))]
        if c == "ZREMRANGEBYRANK":
            return [c, k, index(r), index(r)]
        if c == "ZREMRANGEBYSCORE":
            return [c, k, bound(r), bound(r)]
        return [c, k, lex(r), lex(r)]
    if kind == "read":
        c = r.choice(["ZSCORE", "ZMSCORE", "ZCARD", "ZRANK", "ZREVRANK", "ZCOUNT", "ZLEXCOUNT",
                      "ZSCAN"])
        if c == "ZCARD":
            return [c, k]
        if c in ("ZSCORE", "ZRANK", "ZREVRANK"):
            return [c, k, zmember(r)]
        if c == "ZMSCORE":
            return [c, k] + [zmember(r) for _ in range(r.randint(1, 3))]
        if c == "ZCOUNT":
            return [c, k, bound(r), bound(r)]
        if c == "ZLEXCOUNT":
            return [c, k, lex(r), lex(r)]
        return [c, k, "0"] + (["MATCH", r.choice(["a*", "1*"])] if r.random() < 0.3 else [])
    if kind == "range":
        c = r.choice(["ZRANGE", "ZRANGE", "ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZRANGEBYLEX",
                      "ZREVRANGEBYLEX", "ZREVRANGE", "ZRANGESTORE"])
        by = {"ZRANGEBYSCORE": "score", "ZREVRANGEBYSCORE": "score", "ZRANGEBYLEX": "lex",
              "ZREVRANGEBYLEX": "lex", "ZREVRANGE": "rank"}.get(c)
        opts = []
        if by is None:
            by = r.choice(["rank", "score", "lex"])
            opts += {"rank": [], "score": ["BYSCORE"], "lex": ["BYLEX"]}[by]
            if r.random() < 0.3:
                opts.append("REV")
        lo, hi = {"rank": (index, index), "score": (bound, bound), "lex": (lex, lex)}[by]
        if r.random() < 0.3:
            opts += ["LIMIT", str(r.choice([0, 1, 2, -1])), str(r.choice([0, 1, 2, -1, 5]))]
        if c != "ZRANGESTORE" and r.random() < 0.4:
            opts.append("WITHSCORES")
        head = [c, key(r), k] if c == "ZRANGESTORE" else [c, k]
        return head + [lo(r), hi(r)] + opts
    if kind == "pop":
        cmd = [r.choice(["ZPOPMIN", "ZPOPMAX"]), k]
        return cmd + [str(r.choice([0, 1, 2, 10]))] if r.random() < 0.6 else cmd
    if kind == "combine":
        c = r.choice(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE", "ZUNION", "ZINTER", "ZDIFF",
                      "ZINTERCARD"])
        cmd = [c] + ([key(r)] if c.endswith("STORE") else []) + [str(len(keys))] + keys
        if c in ("ZUNIONSTORE", "ZINTERSTORE", "ZUNION", "ZINTER"):
            if r.random() < 0.4:
                cmd += ["WEIGHTS"] + [r.choice(["1", "2", "-1", "0.5", "0"]) for _ in keys]
            if r.random() < 0.4:
                cmd += ["AGGREGATE", r.choice(["SUM", "MIN", "MAX"])]
        if c in ("ZUNION", "ZINTER", "ZDIFF") and r.random() < 0.5:
            cmd.append("WITHSCORES")
        if c == "ZINTERCARD" and r.random() < 0.4:
            cmd += ["LIMIT", str(r.choice([0, 1, 2]))]
        return cmd
    if kind == "random":
        return ["ZRANDMEMBER", k] + r.choice([[], ["0"], ["100"], ["-3"], ["2", "WITHSCORES"],
                                              ["100", "WITHSCORES"]])
    return r.choice([["ZADD", k, "x", "a"], ["ZADD", k, "NX", "XX", "1", "a"],
                     ["ZRANGE", k, "0", "-1", "LIMIT", "0", "1"], ["ZPOPMIN", k, "-1"],
                     ["ZUNIONSTORE", "d", "0", k], ["TYPE", k], ["DEL", k], ["SADD", k, "1"]])


GENERATORS = {"lists": list_command, "sets": set_command, "zsets": zset_command,
              "bits": bits_command, "keyspace": keyspace_command}
# What each sequence starts with after FLUSHALL (the connection's SELECT
# lasts from one sequence to the next).
PRELUDE = {"bits": [["SET", "str", "v"], ["RPUSH", "lst", "x"]],
           "keyspace": [["SELECT", "0"], ["SET", "str", "v"]]}
# Replies in Redis's hash-table order (for sets kept as one, and KEYS).
UNORDERED = {"SMEMBERS", "SINTER", "SUNION", "SDIFF", "SSCAN", "SPOP", "KEYS"}
# OBJECT ENCODING of a string whose encoding Redis keeps from its history
# (random_strings.Loose): any string encoding matches any other.
STRING_ENCODINGS = {b"$3\r\nint\r\n", b"$6\r\nembstr\r\n", b"$3\r\nraw\r\n"}
# Replies that are random picks: compared by shape.
RANDOM = {"SRANDMEMBER", "ZRANDMEMBER"}


def shape(reply):
    if isinstance(reply, list):
        return ("array", len(reply))
    return (reply[:1], reply[:1] in (b"-", b":") and reply)


def normalize(command, reply):
    name = command[0].upper()
    if isinstance(command, Loose) and reply in STRING_ENCODINGS:
        return b"<a string encoding>"
    if name in RANDOM:
        whole = len(command) > 2 and command[2] == "100"  # at least the whole set
        if not whole:
            return shape(reply)
        return reply_bytes(reply) if name == "ZRANDMEMBER" else encode_sorted(reply)
    if name in UNORDERED:
        return encode_sorted(reply)
    return reply_bytes(reply)


def reply_bytes(reply):
    if isinstance(reply, bytes):
        return reply
    return b"*%d\r\n" % len(reply) + b"".join(reply_bytes(item) for item in reply)


def encode(command):
    out = b"*%d\r\n" % len(command)
    for part in command:
        data = part.encode()
        out += b"$%d\r\n%s\r\n" % (len(data), data)
    return out


def exchange(sock, commands):
    sock.sendall(b"".join(encode(c) for c in commands))
    data, replies, pos = b"", [], 0
    deadline = time.monotonic() + 10
    while len(replies) < len(commands):
        try:
            reply, end = parse_reply(data, pos)
            replies.append(reply)
            pos = end
            continue
        except (ValueError, IndexError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(replies)} of {len(commands)} replies")
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return replies


def main():
    if FAMILY not in GENERATORS:
        print(f"unknown family {FAMILY!r}: {', '.join(GENERATORS)}")
        return 2
    if os.geteuid() != 0:
        print("skipped: xdpkv's store is BPF maps, which need root (CAP_BPF) here")
        return 77
    if not shutil.which("redis-server"):
        print("redis-server is not installed (scripts/install-deps.sh installs it)")
        return 1
    print(f"random_diff {FAMILY}: seed {SEED}, {SEQUENCES} sequences of {LENGTH} commands "
          f"(replay: --seed {SEED})")
    pin_dir = f"/sys/fs/bpf/xdpkv-randomdiff-{os.getpid()}"
    servers, differences, commands_sent = [], 0, 0
    try:
        redis = loopback.start_redis()
        servers.append(redis)
        xdpkv = loopback.start_with_port_file(
            [BINARY, "--xdp-mode", "off", "-p", "-1", "-U", "0", "--redis-port", "-1",
             "--pin-dir", pin_dir, "--fresh"])
        servers.append(xdpkv)
        socks = [socket.create_connection(("127.0.0.1", port), timeout=10)
                 for port in (redis.port, xdpkv.ports["RESP INET"])]
        r = random.Random(SEED)
        generate = GENERATORS[FAMILY]
        for sequence in range(SEQUENCES):
            commands = [["FLUSHALL"]] + PRELUDE.get(FAMILY, [["SET", "str", "v"]])
            state = {}
            commands += [generate(r, state) for _ in range(LENGTH)]
            commands_sent += len(commands)
            peer, ours = (exchange(s, commands) for s in socks)
            for command, a, b in zip(commands, peer, ours):
                if normalize(command, a) == normalize(command, b):
                    continue
                differences += 1
                if differences <= 20:
                    print(f"DIFF sequence {sequence}: {' '.join(command)}\n"
                          f"     redis: {reply_bytes(a)!r}\n     xdpkv: {reply_bytes(b)!r}")
    finally:
        for server in servers:
            server.proc.terminate()
        for server in servers:
            loopback.stop(server)
            server.cleanup()
        subprocess.run(["rm", "-rf", pin_dir])
    print(f"{SEQUENCES} sequences, {commands_sent} commands: {differences} differences "
          f"(seed {SEED})")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
