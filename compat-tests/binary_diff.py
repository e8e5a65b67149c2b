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
(docs/protocols.md, "memcached binary protocol") are masked where
named. The fixed cases are in binary_cases.py.
Exit 77 (CTest's skip) without root or without memcached.

  binary_diff.py BINARY [--seed N] [--sequences N] [--length N] [--show]
"""
import argparse
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
from binary_cases import (COUNTERS, END_OPAQUE, FIXED, HEADER, NO_CAS_FIXED, OP, PASSWORD, PAST,
                          SASL_FIXED, UDP_CASES, USER, WRITES, FAR, ex_exp, ex_incr, ex_set, plain,
                          req)

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
