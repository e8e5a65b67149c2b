#!/usr/bin/python3
"""Meta commands (mg ms md ma mn me) against memcached 1.6.18: seeded random
sequences, and a table of fixed cases, sent to both servers, replies
compared byte for byte.

Each sequence runs on one connection per server, command by command (each
followed by `mn`, whose MN ends the reply, so quiet replies are seen as
nothing). Generated commands mix every meta flag (valid and not, in any
order), base64 keys, classic commands on the same keys, and CAS tokens
taken from what each server returned for that key. What differs by design
is masked: CAS uniques are compared by order of appearance (xdpkv's start
from the clock), and the seconds of t, l and me's exp/la may differ by one
(the servers' clocks tick apart). After each sequence the counters are
compared. Exit 77 (CTest's skip) without root.

  meta_diff.py BINARY [--seed N] [--sequences N] [--length N] [--show]
"""
import argparse
import base64
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time

import loopback  # compat-tests/loopback.py

KEYS = ["a", "b", "n", "foo"]
TTLS = ["0", "100", "1000", "3000"]
RECACHE = ["50", "500", "2000", "5000"]
COUNTERS = ["cmd_get", "cmd_set", "cmd_touch", "cmd_meta", "get_hits", "get_misses",
            "delete_hits", "delete_misses", "incr_hits", "incr_misses", "decr_hits",
            "decr_misses", "cas_hits", "cas_misses", "cas_badval", "touch_hits",
            "touch_misses", "total_items"]

# Fixed cases: (name, [commands]); each runs on an empty store.
FIXED = [
    ("mg hit and miss, every output flag", [
        b"ms a 2 T100 F5\r\nhi", b"mg a v f t c s k l h Oab", b"mg zz v k Oab", b"mg zz q k",
        b"mg a q", b"mg a P L", b"mn"]),
    ("mg flag errors", [
        b"mg", b"mg a zz", b"mg a v v", b"mg a T", b"mg a Tx", b"mg a O" + b"x" * 32,
        b"mg a O" + b"x" * 31, b"mg a b", b"mg YQ! b", b"mg a " + b" ".join([b"v"] * 18),
        b"mg a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", b"mg " + b"k" * 251, b"mx a"]),
    ("ms modes and CAS", [
        b"ms a 1 c\r\nx", b"ms a 1 ME c\r\ny", b"ms b 1 ME c\r\ny", b"ms a 1 MA\r\nz",
        b"ms a 1 MP\r\nw", b"mg a v", b"ms zz 1 MR\r\nq", b"ms a 1 MR k\r\nr", b"ms a 1 C1 c\r\ns",
        b"ms zz 1 C1\r\ns", b"ms a 1 MS q\r\nt", b"mg a v", b"ms a 1 MZ\r\nu", b"ms a 1 zz\r\nu",
        b"ms a 1 O" + b"x" * 32 + b"\r\nu", b"ms a\r\nx", b"ms a x\r\nx", b"ms a 1\r\nxyz", b"mn"]),
    ("ms T and F", [b"ms a 2 T0 F4294967295\r\nhi", b"mg a f t v", b"ms a 2 T-1\r\nhi",
                    b"mg a v", b"ms a 2 Fx\r\nhi"]),
    ("md", [b"md a", b"ms a 1\r\nx", b"md a q", b"md a", b"ms a 1\r\nx", b"md a C1 k Oz",
            b"md a zz", b"md a C", b"md a v", b"md a O" + b"x" * 32, b"mn"]),
    ("stale-while-revalidate: md I, ms I with an older CAS", [
        b"ms a 2 T1000\r\nv1", b"md a I T300", b"mg a v c t", b"mg a v c", b"ms a 2 I C1\r\nv2",
        b"mg a v t", b"md a I", b"mg a"]),
    ("vivify and recache", [
        b"mg a N30 v t c", b"mg a v t", b"mg a N30 v", b"ms a 1 T100\r\nx", b"mg a R30 v",
        b"mg a R300 v", b"mg a R300 v", b"mg a h l", b"mg a u h", b"mg a h"]),
    ("ma", [b"ma n", b"ma n N0 J13 v", b"ma n v D5", b"ma n MD D100 v t c", b"ma n q",
            b"ma n M+ D2 v", b"ma n M- v", b"ma n MX", b"ma n MII", b"ma n Dx", b"ma n Jx",
            b"ms s 3\r\nabc", b"ma s", b"ma n N100 T200 t v", b"ma zz N0 J5 q", b"ma zz q v",
            b"ma n C1 v", b"mn"]),
    ("me", [b"me", b"me a", b"ms a 3 F9\r\nabc", b"me a", b"mg a", b"me a", b"me YQ== b",
            b"me YQ! b", b"me a x y"]),
    ("base64 keys", [b"ms Zm9v 1 b k c\r\nx", b"mg foo k v", b"mg Zm9v b k", b"md Zm9v b q",
                     b"mg foo", b"mg YQ== b k", b"ma YQ== b N0 v k", b"get a", b"me YQ== b"]),
]


def mn_exchange(sock, command):
    """Sends a command and `mn`; returns what came before the MN."""
    sock.sendall(command + b"\r\nmn\r\n")
    data = b""
    end = time.monotonic() + 5
    expected = 1 + (command == b"mn")
    while time.monotonic() < end:
        if data.endswith(b"MN\r\n") and data.count(b"MN\r\n") >= expected:
            return data[:-4]
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            return data + b"<closed>"
        data += chunk
    return data + b"<timeout>"


class Transcript:
    """One server's replies, with the CAS uniques it gave per key."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.last_cas = {}

    def run(self, template, key):
        # {cas}: the last CAS this server gave for the key (1, older than
        # any, if none); {cas!}: one newer than any it gave, so it matches
        # nothing and is never "older" (I) on either server.
        def fill(match):
            if match.group(1):
                last = self.last_cas.get(key)
                return str(last + 10**12 if last is not None else 10**18).encode()
            return str(self.last_cas.get(key, 1)).encode()

        command = re.sub(rb"\{cas(!)?\}", fill, template)
        reply = mn_exchange(self.sock, command)
        for cas in re.findall(rb"(?:^|\s)c(\d+)", reply.split(b"\r\n")[0]) + \
                re.findall(rb"cas=(\d+)", reply) + re.findall(rb"^VALUE \S+ \d+ \d+ (\d+)", reply, re.M):
            if int(cas) != 0:
                self.last_cas[key] = int(cas)
        return reply

    def close(self):
        self.sock.close()


def canonical(replies):
    """Each non-zero CAS unique replaced by its order of first appearance;
    the second numbers of t, l, exp= and la= kept apart for a ±1 check."""
    order = {}
    out, seconds = [], []

    def cas(match):
        value = int(match.group(2))
        if value == 0:
            return match.group(0)
        order.setdefault(value, len(order) + 1)
        return match.group(1) + b"#%d" % order[value]

    def second(match):
        seconds.append(int(match.group(2)))
        return match.group(1) + b"~"

    for reply in replies:
        lines = reply.split(b"\r\n")
        for i, line in enumerate(lines):
            if line.startswith(b"VALUE "):
                line = re.sub(rb"^(VALUE \S+ \d+ \d+ )(\d+)$", cas, line)
            elif re.match(rb"(VA|HD|EN|NS|EX|NF|ME)( |$)", line):
                line = re.sub(rb"((?:^| )c)(\d+)", cas, line)
                line = re.sub(rb"( cas=)(\d+)", cas, line)
                line = re.sub(rb"((?:^| )[tl]|exp=|la=)(-?\d+)", second, line)
            lines[i] = line
        out.append(b"\r\n".join(lines))
    return out, seconds


def b64(key):
    return base64.b64encode(key.encode()).decode()


def generate(rng, length):
    """A random sequence of (command template, key).

    Increments (ma, incr) go to key n alone, which is read only with `u`
    (no bump): memcached makes a new item for an increment that lands while
    the LRU bump of an item's second fetch is still queued, by its threads'
    timing (docs/protocols.md, "Meta commands"), which no test can expect."""
    commands = []
    for _ in range(length):
        kind = rng.choices(["mg", "ms", "md", "ma", "me", "mn", "classic"],
                           [30, 25, 10, 12, 6, 3, 14])[0]
        key = "n" if kind == "ma" else rng.choice(KEYS)
        binary = rng.random() < 0.15
        name = b64(key) if binary else key
        flags = []

        def some(options, p=0.3):
            return [o for o in options if rng.random() < p]

        if kind == "mg":
            flags = some(["v", "c", "f", "h", "k", "l", "s", "t", "q", "u", "Oop" + str(rng.randint(0, 99)),
                          "T" + rng.choice(TTLS), "N" + rng.choice(TTLS), "R" + rng.choice(RECACHE)], 0.25)
        elif kind == "ms":
            flags = some(["c", "k", "q", "I", "Oset", "T" + rng.choice(TTLS), "F" + str(rng.randint(0, 9)),
                          "C{cas}", "M" + rng.choice("EAPRS")], 0.25)
        elif kind == "md":
            flags = some(["q", "C{cas}", "I", "T" + rng.choice(TTLS), "k", "Odel"], 0.3)
        elif kind == "ma":
            flags = some(["N" + rng.choice(TTLS), "J" + str(rng.randint(0, 20)), "D" + str(rng.randint(0, 5)),
                          "M" + rng.choice("I+D-"), "q", "t", "c", "v", "k", "Oma", "C{cas}",
                          "T" + rng.choice(TTLS)], 0.25)
        if "C{cas}" in flags and rng.random() < 0.3:
            flags[flags.index("C{cas}")] = "C{cas!}"  # a CAS that does not match
        if key == "n" and kind == "mg" and "u" not in flags:
            flags.append("u")
        if binary and kind in ("mg", "ms", "md", "ma"):
            flags.append("b")
        rng.shuffle(flags)
        if rng.random() < 0.03:
            flags.append(rng.choice(["zz", "v v", "Tx", "O" + "x" * 32]))  # errors, now and then
        tail = (" " + " ".join(flags)) if flags else ""
        if kind == "ms":
            value = rng.choice(["x", "hello", str(rng.randint(0, 1000)), ""])
            command = f"ms {name} {len(value)}{tail}\r\n{value}"
        elif kind == "me":
            command = f"me {name}" + (" b" if binary else "")
        elif kind == "mn":
            command = "mn"
        elif kind == "classic" and key == "n":
            command = rng.choice([f"set n 3 0 2\r\n{rng.randint(10, 99)}", "delete n", "incr n 2",
                                  "decr n 1", "append n 0 0 1\r\n7", "cas n 0 0 1 {cas}\r\n5"])
        elif kind == "classic":
            command = rng.choice([f"set {key} 3 0 2\r\n{rng.randint(10, 99)}", f"get {key}",
                                  f"gets {key}", f"delete {key}", f"touch {key} 100",
                                  f"cas {key} 0 0 1 {{cas}}\r\nz", f"append {key} 0 0 1\r\n7"])
        else:
            command = f"{kind} {name}{tail}"
        commands.append((command.encode(), key))
    return commands


def stats(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    values = dict(re.findall(rb"STAT (\S+) (\S+)\r\n", data))
    return {name: values.get(name.encode()) for name in COUNTERS}


def run_sequence(ports, commands):
    transcripts = [Transcript(port) for port in ports]
    try:
        replies = [[t.run(command, key) for command, key in commands] for t in transcripts]
    finally:
        for t in transcripts:
            t.close()
    return replies


def compare(name, commands, replies, show):
    (peer, peer_s), (ours, ours_s) = canonical(replies[0]), canonical(replies[1])
    bad = [i for i in range(len(commands)) if peer[i] != ours[i]]
    seconds_ok = len(peer_s) == len(ours_s) and all(abs(a - b) <= 1 for a, b in zip(peer_s, ours_s))
    ok = not bad and seconds_ok
    print(f"{'ok  ' if ok else 'DIFF'} {name}")
    if not seconds_ok:
        print(f"     seconds apart by more than 1: peer {peer_s}\n     xdpkv {ours_s}")
    if not ok or show:
        for i, (command, _) in enumerate(commands):
            if show or i in bad or not seconds_ok:
                print(f"     {command!r}\n       peer:  {replies[0][i]!r}\n       xdpkv: {replies[1][i]!r}")
                if not show and i in bad:
                    break
    return ok


def flush(ports):
    for port in ports:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"flush_all\r\nstats reset\r\n")
            data = b""
            while not data.endswith(b"RESET\r\n"):
                data += s.recv(1024)


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
        print("memcached is not installed (scripts/install-deps.sh installs it)")
        return 1
    pin_dir = f"/sys/fs/bpf/xdpkv-metadiff-{os.getpid()}"
    servers = []
    failures = total = 0
    try:
        memcached = loopback.start_with_port_file(
            ["memcached", "-u", "root", "-l", "127.0.0.1", "-p", "-1", "-U", "0", "-t", "1"])
        servers.append(memcached)
        xdpkv = loopback.start_with_port_file(
            [args.binary, "--xdp-mode", "off", "-p", "-1", "-U", "0", "--redis-port", "0",
             "--pin-dir", pin_dir, "--fresh", "-t", "1"])
        servers.append(xdpkv)
        ports = (memcached.ports["TCP INET"], xdpkv.ports["TCP INET"])
        cases = [(name, [(c, "a") for c in commands]) for name, commands in FIXED]
        rng = random.Random(args.seed)
        cases += [(f"random sequence {i} (seed {args.seed})", generate(rng, args.length))
                  for i in range(args.sequences)]
        if args.only is not None:
            cases = [cases[len(FIXED) + args.only]]
        for name, commands in cases:
            total += 1
            flush(ports)
            replies = run_sequence(ports, commands)
            ok = compare(name, commands, replies, args.show)
            counters = [stats(port) for port in ports]
            if counters[0] != counters[1]:
                ok = False
                print(f"DIFF {name}: counters\n     peer:  {counters[0]}\n     xdpkv: {counters[1]}")
            failures += not ok
    finally:
        for server in servers:
            loopback.stop(server)
            server.cleanup()
        subprocess.run(["rm", "-rf", pin_dir])
    print(f"{total - failures} of {total} meta sequences byte-identical to memcached 1.6.18 "
          f"({len(FIXED)} fixed, {total - len(FIXED)} random, seed {args.seed})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
