#!/usr/bin/python3
"""memcached UDP replies, datagram by datagram: xdpkv against memcached 1.6.18.

Starts Debian's memcached -U and xdpkv on loopback (ports the kernel picks),
stores the same items in both over TCP, then sends each case's request
datagram to both with the same request id and compares the lists of reply
datagrams, frame headers included, byte for byte and in arrival order.
After each request a `version` datagram (another request id) follows on the
same socket: its reply marks the end of the case's datagrams, so no quiet
timeout decides where a reply ends (both servers answer one socket's
datagrams in order). A case may name a documented deviation
(docs/protocols.md) instead of memcached's datagrams.

gets and gats show CAS values, and xdpkv's are not memcached's (nor as
long, so they move where datagrams are cut): those cases compare the
response objects instead, CAS values masked, after checking that each
server's datagrams are exactly its objects cut every 1392 bytes (sequence
from 0 and count per object; an empty object one bare header of count 0).

Two passes: xdpkv with --xdp-mode off (userspace frames every reply), then
with XDP attached to lo (generic), where the kernel answers what it can; a
case the kernel answered (xdp_memcache_* answer counters moved, from `stats`
over TCP) is marked [kernel]. A case that differs is a FAIL whichever path
answered. Exit 77 (CTest's skip) without root or without memcached.

  udp_framing_diff.py BINARY [--show]   --show prints every case's datagrams
  UDP_FRAMING_SEED=N                    seed of the random multi-gets
"""
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import time

import loopback  # compat-tests/loopback.py

BINARY = sys.argv[1] if len(sys.argv) > 1 else "build/bin/xdpkv"
SHOW = "--show" in sys.argv
SEED = int(os.environ.get("UDP_FRAMING_SEED", "1392"))
RANDOM_CASES = 24
# Bounds on one exchange: a case's datagrams arrive within this, and no
# case makes more (the biggest, the 1 MiB cap's, makes about 1,100).
EXCHANGE_WAIT_S = 10.0
MAX_DATAGRAMS = 5000
# Kernel XDP attach to lo may find another program there for a while (an
# XDP test of another build): retried this often, a second apart.
ATTACH_ATTEMPTS = 120
SO_RCVBUFFORCE = 33  # Linux; Python's socket module does not name it

SIZES = [0, 10, 128, 1000, 1391, 1392, 1393, 2000, 3000, 5000]
FLAGS = [0, 1, 42, 65535, 4294967295, 7, 100, 0, 123456, 3]
SCAN_KEYS = [b"m%03d" % i for i in range(100)]  # even ones stored, 128 bytes
TOO_LONG_KEY = b"k" * 251
CAP_ERROR = b"SERVER_ERROR out of memory writing get response\r\n"
SHOWS_CAS = re.compile(rb"(^|\n)(gets|gats) ")
VALUE_CAS = re.compile(rb"(VALUE \S+ \d+ \d+) \d+\r\n")
DATA_PER_DATAGRAM = 1392  # memcached's UDP_DATA_SIZE
# The counters of requests the kernel answered itself, XDP or its TC tier
# (docs/protocols.md).
KERNEL_ANSWERS = re.compile(rb"STAT xdp_memcache_(get_hits|get_misses|multi_gets|sets|"
                            rb"delete_hits|delete_misses|store_full|tc_replies) (\d+)\r\n")


class Deviation:
    """A documented difference (docs/protocols.md): xdpkv must send one
    datagram (sequence 0 of 1) per payload, not memcached's datagrams."""

    def __init__(self, why, *payloads):
        self.why, self.payloads = why, payloads


class Header:
    """A request frame header other than sequence 0 of 1."""

    def __init__(self, sequence, count):
        self.sequence, self.count = sequence, count


def key(size):
    return b"v%d" % size


def items(rng):
    """The items both servers hold: (key, flags, value)."""
    out = [(key(size), flags, rng.randbytes(size)) for size, flags in zip(SIZES, FLAGS)]
    out += [(k, i, rng.randbytes(128)) for i, k in enumerate(SCAN_KEYS) if i % 2 == 0]
    return out


def get(verb, *keys):
    return verb + b" " + b" ".join(keys) + b"\r\n"


def fixed_cases():
    """(name, request body[, Header][, Deviation]). The cases that upset
    memcached's one UDP connection for later datagrams (quit) come last."""
    cases = [(f"get {key(s).decode()} ({s} bytes)", get(b"get", key(s))) for s in SIZES]
    cases += [
        ("get miss", b"get nope\r\n"),
        ("gets hit", get(b"gets", key(10))),
        ("gets hits and misses", get(b"gets", key(1392), b"nope", key(3000), key(0))),
        ("get a hit then a miss", get(b"get", key(10), b"nope")),
        ("get a miss then a hit", get(b"get", b"nope", key(10))),
        ("get misses only", get(b"get", b"nope1", b"nope2", b"nope3")),
        ("get misses between hits", get(b"get", key(10), b"no1", b"no2", key(128))),
        ("get 100 keys of 128 bytes, hits and misses interleaved", get(b"get", *SCAN_KEYS)),
        ("get 100 keys of 128 bytes, a miss first", get(b"get", *SCAN_KEYS[1:], SCAN_KEYS[0])),
        ("gets 100 keys of 128 bytes", get(b"gets", *SCAN_KEYS)),
        ("get of every size", get(b"get", *[key(s) for s in SIZES])),
        ("get mixing sizes and misses", get(b"get", b"no1", key(1392), b"no2", b"no3", key(3000),
                                            key(0), b"no4", key(1393), key(5000), b"no5")),
        ("get a key twice", get(b"get", key(2000), key(2000))),
        ("set then get", b"set b 0 0 1\r\ny\r\n" + get(b"get", key(10), b"b", b"nope")),
        ("delete miss, unknown command", b"delete nope\r\nbogus\r\n"),
        ("a command, then a get starting with a miss",
         b"delete nope\r\n" + get(b"get", b"no", key(10))),
        ("two gets", get(b"get", key(10), b"no") + get(b"get", b"no", key(128))),
        ("touch, incr, decr", b"touch nope 0\r\ntouch b 0\r\nset n 0 0 2\r\n10\r\nincr n 5\r\n"
                              b"decr n 20\r\nget n\r\n"),
        ("noreply alone", b"set q 0 0 1 noreply\r\nq\r\n"),
        ("noreply, then a get starting with a miss",
         b"set q 0 0 1 noreply\r\nq\r\ndelete nope noreply\r\n" + get(b"get", b"no", b"q")),
        ("a command, noreply, get",
         b"delete nope\r\nset q 0 0 1 noreply\r\nq\r\n" + get(b"get", b"no", b"q")),
        ("unknown command", b"bogus\r\n"),
        ("empty line", b"\r\n"),
        ("get without a key", b"get\r\n"),
        ("key too long in a multi-get", get(b"get", key(10), TOO_LONG_KEY, key(128))),
        ("key too long, then a get", get(b"get", TOO_LONG_KEY) + get(b"get", b"no", key(10))),
        ("bad command line", b"set k 0 0 x\r\n"),
        ("bad data chunk", b"set w 0 0 2\r\nabcd\r\nget w\r\n"),
        ("incr of a non-number", b"incr v10 1\r\n"),
        ("gat", get(b"gat 0", key(10), b"nope", key(1392))),
        ("gats, a miss first", get(b"gats 0", b"nope", key(3000), key(0))),
        ("gat of no keys", b"gat 0\r\n"),
        ("gat with a bad exptime", get(b"gat x", key(10))),
        ("stats detail dump", b"stats detail dump\r\n"),
        # Meta commands: one object each (none when quiet); mn sends what
        # is held.
        ("meta commands", b"ms mm 2\r\nhi\r\nmg mm v s\r\nmg nope v k\r\nmd nope q\r\nmn\r\n"
                          b"mg mm s q\r\nma nope q\r\n"),
        ("quiet misses, then mn", b"mg no1 q\r\nmg no2 q\r\nmn\r\nmg no3 q\r\nmg mm v\r\n"),
        ("meta errors", b"mg mm v v\r\nms mm 2 zz\r\nhi\r\nmd mm zz\r\nme nope\r\n"),
        # memcached yields after the 21st request and every 20 more, sending
        # what it holds: the get's miss heads a flush only then.
        *[(f"{n} commands, then a get starting with a miss",
           b"delete nope\r\n" * n + get(b"get", b"no", key(10))) for n in (19, 20, 21, 22, 40, 41)],
        ("20 gets of a miss, a command, get", get(b"get", b"no") * 20 + b"delete nope\r\n"
                                              + get(b"get", b"no", key(10))),
        # Documented deviations.
        ("request header of 2 datagrams", get(b"get", key(10)), Header(0, 2),
         Deviation("xdpkv refuses a request of more than one datagram with memcached's words; "
                   "memcached 1.6.18 drops it silently",
                   b"SERVER_ERROR multi-packet request not supported\r\n")),
        ("request header of sequence 1 of 1", get(b"get", key(10)), Header(1, 1),
         Deviation("xdpkv takes only sequence 0 of 1; memcached 1.6.18 looks at the count alone",
                   b"SERVER_ERROR multi-packet request not supported\r\n")),
        ("request without a newline", b"delete nope\r\nget v10",
         Deviation("a datagram is all there is: xdpkv answers ERROR for an incomplete request, "
                   "memcached waits silently", b"NOT_FOUND\r\n", b"ERROR\r\n")),
        ("key too long after another command",
         b"delete nope\r\n" + get(b"get", key(10), TOO_LONG_KEY),
         Deviation("memcached drops the replies it has not sent yet (NOT_FOUND) before its "
                   "CLIENT_ERROR; xdpkv keeps them, over TCP too",
                   b"NOT_FOUND\r\n", b"CLIENT_ERROR bad command line format\r\n")),
        ("more than 1 MiB of reply", get(b"get", *[key(5000)] * 300),
         Deviation("xdpkv caps one datagram's replies at 1 MiB; memcached sends them all",
                   CAP_ERROR)),
        # Last: after quit memcached's UDP connection loses the rest of any
        # later datagram past its 21st request.
        ("get, quit, get", get(b"get", key(10)) + b"quit\r\n" + get(b"get", key(10))),
        ("quit", b"quit\r\n"),
    ]
    return cases


def random_cases(rng, stored_keys):
    """Seeded multi-gets of stored keys and misses, in random order."""
    pool = stored_keys + [b"miss%d" % i for i in range(20)]
    cases = []
    for i in range(RANDOM_CASES):
        verb = rng.choice([b"get", b"get", b"gets", b"gat 0", b"gats 0"])
        keys = [rng.choice(pool) for _ in range(rng.randint(1, 40))]
        cases.append((f"random {i}: {verb.decode()} of {len(keys)} keys", get(verb, *keys)))
    return cases


def main():
    if os.geteuid() != 0:
        print("skipped: xdpkv's store is BPF maps, which need root (CAP_BPF) here")
        return 77
    if not shutil.which("memcached"):
        print("skipped: memcached is not installed (scripts/install-deps.sh installs it)")
        return 77
    print(f"seed {SEED} (UDP_FRAMING_SEED)")
    rng = random.Random(SEED)
    stored = items(rng)
    cases = fixed_cases()
    quit_cases = [c for c in cases if b"quit" in c[1]]
    cases = [c for c in cases if b"quit" not in c[1]]
    cases += random_cases(rng, [k for k, _, _ in stored]) + quit_cases

    failures = sum(run_pass(mode, stored, cases) for mode in ("off", "generic"))
    print("all cases as expected" if not failures else f"{failures} case(s) FAILED")
    return 1 if failures else 0


def run_pass(mode, stored, cases):
    """Both servers fresh (so CAS values agree), the same items, every case."""
    label = "xdp-off" if mode == "off" else "xdp-lo"
    pin_dir = f"/sys/fs/bpf/xdpkv-udpframe-{os.getpid()}-{mode}"
    xdpkv = start_xdpkv(mode, pin_dir)
    if xdpkv is None:
        print(f"---- {label}: NOT RUN: lo kept another XDP program for {ATTACH_ATTEMPTS} s")
        return 0
    failures = 0
    memcached = None
    try:
        memcached = loopback.start_with_port_file(
            ["memcached", "-u", "root", "-l", "127.0.0.1", "-p", "-1", "-U", "-1", "-t", "1"])
        peer = Peer(memcached.ports["TCP INET"], memcached.ports["UDP INET"])
        ours = Peer(xdpkv.ports["TCP INET"], xdpkv.ports["UDP INET"])
        peer.store(stored)
        ours.store(stored)
        print(f"---- {label}: xdpkv --xdp-mode {mode}, {len(cases)} cases")
        kernel_cases = 0
        for request_id, (name, body, *extras) in enumerate(cases, start=1):
            header = next((e for e in extras if isinstance(e, Header)), Header(0, 1))
            deviation = next((e for e in extras if isinstance(e, Deviation)), None)
            request = struct.pack(">HHHH", request_id, header.sequence, header.count, 0) + body
            theirs = peer.exchange_udp(request, request_id)
            kernel_before = ours.kernel_answers()
            mine = ours.exchange_udp(request, request_id)
            kernel = ours.kernel_answers() > kernel_before
            kernel_cases += kernel
            expected = theirs
            if deviation:
                expected = [frame(request_id, p) for p in deviation.payloads]
                ok = mine == expected
            elif SHOWS_CAS.search(body):
                theirs_objects = masked_objects(theirs)
                ok = theirs_objects is not None and masked_objects(mine) == theirs_objects
                name += " (objects compared, CAS masked)"
            else:
                ok = mine == expected
            failures += not ok
            path = "kernel" if kernel else "userspace"
            note = f" (deviation: {deviation.why})" if deviation else ""
            print(f"{'ok  ' if ok else 'FAIL'} [{label}] [{path}] {name}{note}")
            if not ok or SHOW:
                print(f"     memcached: {describe(theirs)}")
                if deviation:
                    print(f"     expected:  {describe(expected)}")
                print(f"     xdpkv:     {describe(mine)}")
        print(f"---- {label}: {len(cases) - failures} of {len(cases)} as expected; "
              f"the kernel answered {kernel_cases}")
    finally:
        for server in (memcached, xdpkv):
            if server is not None:
                loopback.stop(server)
                server.cleanup()
        subprocess.run(["rm", "-rf", pin_dir])
    return failures


def start_xdpkv(mode, pin_dir):
    """xdpkv on kernel-chosen ports; None if lo kept another XDP program."""
    for _ in range(ATTACH_ATTEMPTS):
        try:
            return loopback.start_xdpkv(BINARY, ["--xdp-mode", mode, "--pin-dir", pin_dir,
                                                 "--fresh", "-t", "1"])
        except RuntimeError as error:
            subprocess.run(["rm", "-rf", pin_dir])
            if "Device or resource busy" not in str(error):
                raise
        time.sleep(1)
    return None


def objects(datagrams):
    """The response objects a list of datagrams carries, or None unless it is
    exactly each object cut every 1392 bytes, sequence from 0 and count per
    object (an empty object: one bare header of count 0)."""
    out, i = [], 0
    while i < len(datagrams):
        if len(datagrams[i]) < 8:
            return None
        _, seq, count, reserved = struct.unpack(">HHHH", datagrams[i][:8])
        group = datagrams[i:i + max(count, 1)]
        if seq != 0 or reserved != 0 or len(group) < max(count, 1):
            return None
        for j, d in enumerate(group):
            last = j == len(group) - 1
            if len(d) < 8 or struct.unpack(">HHHH", d[:8])[1:] != (j, count, 0):
                return None
            if len(d) > 8 + DATA_PER_DATAGRAM or (not last and len(d) != 8 + DATA_PER_DATAGRAM):
                return None
            if last and count > 0 and len(d) == 8:
                return None
        out.append(b"".join(d[8:] for d in group))
        i += len(group)
    return out


def masked_objects(datagrams):
    """objects(), each VALUE line's CAS replaced by a mark."""
    found = objects(datagrams)
    if found is None:
        return None
    return [VALUE_CAS.sub(rb"\1 <cas>\r\n", o, count=1) if o.startswith(b"VALUE ") else o
            for o in found]


def frame(request_id, payload):
    return struct.pack(">HHHH", request_id, 0, 1, 0) + payload


def describe(datagrams):
    """Datagrams as `[seq/count len] first bytes`, runs of equal shape merged."""
    if not datagrams:
        return "(none)"
    parts = []
    for d in datagrams[:40]:
        if len(d) < 8:
            parts.append(f"<short {d!r}>")
            continue
        _, seq, count, _ = struct.unpack(">HHHH", d[:8])
        payload = d[8:]
        shown = payload if len(payload) <= 40 else payload[:24] + b"..." + payload[-10:]
        parts.append(f"[{seq}/{count} {len(d)}B {shown!r}]")
    more = f" ... {len(datagrams) - 40} more" if len(datagrams) > 40 else ""
    return f"{len(datagrams)} datagrams: " + " ".join(parts) + more


class Peer:
    """One server's memcached TCP and UDP ports on 127.0.0.1."""

    def __init__(self, tcp_port, udp_port):
        self.tcp_port, self.udp_port = tcp_port, udp_port

    def exchange_tcp(self, request, until=re.compile(rb"(END|OK|VERSION [^\r]*)\r\n$")):
        with socket.create_connection(("127.0.0.1", self.tcp_port), timeout=10) as s:
            s.sendall(request)
            data = b""
            end = time.monotonic() + EXCHANGE_WAIT_S
            while not until.search(data) and time.monotonic() < end:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
            return data

    def store(self, stored):
        request = b"".join(b"set %s %d 0 %d\r\n%s\r\n" % (k, f, len(v), v) for k, f, v in stored)
        reply = self.exchange_tcp(request + b"version\r\n")
        if reply.count(b"STORED\r\n") != len(stored):
            raise RuntimeError(f"storing the items on port {self.tcp_port}: {reply[:200]!r}")

    def kernel_answers(self):
        stats = self.exchange_tcp(b"stats\r\n")
        return sum(int(m.group(2)) for m in KERNEL_ANSWERS.finditer(stats))

    def exchange_udp(self, datagram, request_id):
        """The datagrams answering `datagram`, in arrival order: those before
        the reply to a `version` sent right after it on the same socket."""
        sentinel_id = request_id | 0x8000
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            # Room for the biggest case's datagrams however late we read.
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
            s.connect(("127.0.0.1", self.udp_port))
            s.send(datagram)
            s.send(struct.pack(">HHHH", sentinel_id, 0, 1, 0) + b"version\r\n")
            replies = []
            end = time.monotonic() + EXCHANGE_WAIT_S
            while len(replies) < MAX_DATAGRAMS:
                s.settimeout(max(0.01, end - time.monotonic()))
                try:
                    reply = s.recv(65536)
                except socket.timeout:
                    replies.append(b"<no sentinel reply: timed out>")
                    break
                if reply[:2] == struct.pack(">H", sentinel_id):
                    break
                replies.append(reply)
            return replies


if __name__ == "__main__":
    sys.exit(main())
