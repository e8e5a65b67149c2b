#!/usr/bin/python3
"""End-to-end test of the XDP fast path with the real xdpkv binary.

Requests the kernel answers must be answered byte for byte; requests it
passes on must be answered, correctly, by the userspace server. Two
setups, each with plain UDP sockets as clients:
  lo    generic XDP on the loopback interface, clients on 127.0.0.1 and ::1
  veth  native XDP on a veth pair between two network namespaces this test
        creates (server side and client side; the client end also runs an
        XDP program, which veth needs for XDP_TX to deliver)

Each request must get the right datagrams (memcached -U's framing: one
reply object per key of a get, each cut into datagrams of at most 1400
bytes; docs/protocols.md), and the counters xdpkv prints on SIGTERM must
show the kernel answered. The study's workload (1000-byte values, a
100-key get and MGET of 128-byte values) and memcached's meta commands mg
and ms must be answered by the kernel alone, XDP or its TC tier:
userspace's own counters (`stats` userspace_cmd_get/_set, which its mg and
ms count in too) do not move while they run. The servers bind ports the kernel
picks (-1) and report them in their port file (MEMCACHED_PORT_FILENAME;
compat-tests/loopback.py), so no other process can take a port between a
test's choice and the server's bind. Traffic only goes to loopback or to
the two hosts this test creates (198.18.0.0/30, the RFC 2544 benchmarking
range), every wait is bounded, and the namespaces are removed on exit.
Exit code 77 (CTest's skip) without root, with the reason printed.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "compat-tests"))
import loopback  # compat-tests/loopback.py: port files, bounded waits

FRAME = b"\x00\x2a\x00\x00\x00\x01\x00\x00"  # request id 42, seq 0, 1 datagram
REPLY_TIMEOUT_S = 2.0
QUIET_S = 0.15  # no more datagrams of a reply after this long (they follow in microseconds)
MAX_DATAGRAMS = 1000
DATAGRAM_PAYLOAD = 1392  # memcached's 1400 minus the frame header


def framed(objects, request_id=42):
    """memcached's UDP framing of one request's reply objects: each cut into
    datagrams of DATAGRAM_PAYLOAD bytes, numbered within the object; an
    empty object is a bare header counting 0 datagrams if it comes first,
    and is dropped anywhere else (docs/protocols.md)."""
    out = []
    for index, obj in enumerate(objects):
        chunks = [obj[i:i + DATAGRAM_PAYLOAD] for i in range(0, len(obj), DATAGRAM_PAYLOAD)]
        for seq, chunk in enumerate(chunks):
            out.append(request_id.to_bytes(2, "big") + seq.to_bytes(2, "big")
                       + len(chunks).to_bytes(2, "big") + b"\x00\x00" + chunk)
        if not chunks and index == 0:
            out.append(request_id.to_bytes(2, "big") + b"\x00" * 6)
    return out


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for arg in args:
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out


# Every byte value, CR and LF among them.
BIG_VALUE = bytes((i * 31 + 7) & 0xff for i in range(1000))


# (port kind, request payload, expected reply: one datagram's payload after
# FRAME, a list of whole datagrams, or None for no reply)
def exchanges(big_key):
    return [
        ("mc", b"set e2e 5 0 5\r\nhello\r\n", b"STORED\r\n"),
        ("mc", b"get e2e\r\n", b"VALUE e2e 5 5\r\nhello\r\nEND\r\n"),
        ("mc", b"get missing\r\n", b"END\r\n"),
        ("resp", resp(b"GET", b"e2e"), b"$5\r\nhello\r\n"),
        ("resp", resp(b"SET", big_key, b"x" * 128), b"+OK\r\n"),
        ("mc", b"get " + big_key + b"\r\n",
         b"VALUE " + big_key + b" 0 128\r\n" + b"x" * 128 + b"\r\nEND\r\n"),
        ("mc", b"set quiet 0 0 1 noreply\r\nq\r\n", None),  # stored, no reply
        ("mc", b"get quiet\r\n", b"VALUE quiet 0 1\r\nq\r\nEND\r\n"),
        ("mc", b"delete e2e\r\n", b"DELETED\r\n"),
        ("resp", resp(b"DEL", b"e2e"), b":0\r\n"),
        # Writes of values up to a datagram: the kernel's (blobs). Reading
        # them back is the kernel's where the frame can grow that far
        # (veth), else userspace's (lo): the same bytes either way.
        ("mc", b"set big 3 0 1000\r\n" + BIG_VALUE + b"\r\n", b"STORED\r\n"),
        ("mc", b"get big\r\n", b"VALUE big 3 1000\r\n" + BIG_VALUE + b"\r\nEND\r\n"),
        ("resp", resp(b"SET", b"rbig", BIG_VALUE[:700]), b"+OK\r\n"),
        ("resp", resp(b"GET", b"rbig"), b"$700\r\n" + BIG_VALUE[:700] + b"\r\n"),
        # Multi-key reads: XDP answers an MGET that fits one datagram; a
        # memcached multi-get is one reply object per key (the TC tier's).
        ("mc", b"get e2e " + big_key + b"\r\n",
         framed([b"", b"VALUE " + big_key + b" 0 128\r\n" + b"x" * 128 + b"\r\nEND\r\n"])),
        ("resp", resp(b"MGET", b"e2e", big_key), b"*2\r\n$-1\r\n$128\r\n" + b"x" * 128 + b"\r\n"),
        # Passed on by the kernel (two spaces between keys), answered by userspace.
        ("mc", b"get e2e  " + big_key + b"\r\n",
         framed([b"", b"VALUE " + big_key + b" 0 128\r\n" + b"x" * 128 + b"\r\nEND\r\n"])),
        ("resp", resp(b"INCR", b"e2e"), b":1\r\n"),
    ]


def scan_value(i):
    return bytes((i + j * 7) & 0xff for j in range(128))


# The study's workload, which the kernel must answer alone.
def kernel_only_exchanges():
    keys = [b"scan%02d" % i for i in range(100)]
    out = [("mc", b"set %s %d 0 128\r\n" % (key, i) + scan_value(i) + b"\r\n", b"STORED\r\n")
           for i, key in enumerate(keys) if i % 10 != 9]
    hit = lambda i: b"VALUE %s %d 128\r\n" % (keys[i], i) + scan_value(i) + b"\r\n"
    objects = [hit(i) if i % 10 != 9 else b"" for i in range(100)]
    objects[-1] += b"END\r\n"
    out.append(("mc", b"get " + b" ".join(keys) + b"\r\n", framed(objects)))
    mget = b"*100\r\n" + b"".join(
        b"$128\r\n" + scan_value(i) + b"\r\n" if i % 10 != 9 else b"$-1\r\n" for i in range(100))
    out.append(("resp", resp(b"MGET", *keys), framed([mget])))
    out.append(("mc", b"set big2 4 0 1000\r\n" + BIG_VALUE + b"\r\n", b"STORED\r\n"))
    out.append(("mc", b"get big2\r\n", b"VALUE big2 4 1000\r\n" + BIG_VALUE + b"\r\nEND\r\n"))
    out.append(("resp", resp(b"GET", b"big2"), b"$1000\r\n" + BIG_VALUE + b"\r\n"))
    return out


# memcached's meta commands, which the kernel answers too (quiet ones with
# nothing; C1 is never an item's CAS unique, so it is EX).
def meta_exchanges():
    return [
        ("mc", b"ms e2emeta 5 F7 O42 k\r\nhello\r\n", b"HD O42 ke2emeta\r\n"),
        ("mc", b"mg e2emeta v f s t k O9\r\n", b"VA 5 f7 s5 t-1 ke2emeta O9\r\nhello\r\n"),
        ("mc", b"mg e2emeta\r\n", b"HD\r\n"),
        ("mc", b"mg nometa k\r\n", b"EN knometa\r\n"),
        ("mc", b"mg nometa q\r\n", None),
        ("mc", b"ms e2emeta 2 T100 q\r\nhi\r\n", None),
        ("mc", b"mg e2emeta v\r\n", b"VA 2\r\nhi\r\n"),
        ("mc", b"ms e2emeta 1 C1\r\nx\r\n", b"EX\r\n"),
        ("mc", b"ms nometa 1 C1 k\r\nx\r\n", b"NF knometa\r\n"),
        ("mc", b"ms e2emeta 1000 F1\r\n" + BIG_VALUE + b"\r\n", b"HD\r\n"),
        ("mc", b"mg e2emeta s f\r\n", b"HD s1000 f1\r\n"),
    ]


def receive_all(sock):
    """Every datagram of one reply: until none came for QUIET_S (the first
    may take REPLY_TIMEOUT_S), at most MAX_DATAGRAMS."""
    datagrams = []
    sock.settimeout(REPLY_TIMEOUT_S)
    while len(datagrams) < MAX_DATAGRAMS:
        try:
            datagram, _ = sock.recvfrom(65536)
        except socket.timeout:
            break
        datagrams.append(datagram)
        sock.settimeout(QUIET_S)
    return datagrams


def run_exchanges(sock, host, mc_port, resp_port, items, failures):
    for kind, payload, expected in items:
        port = mc_port if kind == "mc" else resp_port
        sock.sendto(FRAME + payload, (host, port))
        got = receive_all(sock)
        if expected is None:
            want = []
        elif isinstance(expected, list):
            want = expected
        else:
            want = [FRAME + expected]
        if got != want:
            failures.append(f"{payload[:60]!r}: expected {len(want)} datagrams "
                            f"{[d[:40] for d in want[:3]]!r}..., got {len(got)} "
                            f"{[d[:40] for d in got[:3]]!r}...")


def userspace_counts(sock, host, mc_port):
    """userspace_cmd_get and _set from `stats` over UDP."""
    sock.sendto(FRAME + b"stats\r\n", (host, mc_port))
    text = b"".join(d[8:] for d in receive_all(sock)).decode(errors="replace")
    counts = dict(re.findall(r"STAT (userspace_cmd_(?:get|set)) (\d+)", text))
    return {name: int(value) for name, value in counts.items()}


def client(host, mc_port, resp_port, family):
    """Runs the exchanges; prints a JSON list of failures."""
    failures = []
    sock = socket.socket(family, socket.SOCK_DGRAM)
    # A kernel reply arrives at once and each datagram is charged a page of
    # the receive buffer (docs/protocols.md): room for a 100-key reply.
    SO_RCVBUFFORCE = 33
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)
    run_exchanges(sock, host, mc_port, resp_port, exchanges(b"k" * 200), failures)
    before = userspace_counts(sock, host, mc_port)
    run_exchanges(sock, host, mc_port, resp_port, kernel_only_exchanges() + meta_exchanges(),
                  failures)
    after = userspace_counts(sock, host, mc_port)
    if not before or before != after:
        failures.append(f"userspace served part of the kernel's workload: {before} -> {after}")
    print(json.dumps(failures))


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


def port_args():
    """Fixed ports if given on the command line, else the kernel's choice."""
    if ARGS.mc_port and ARGS.resp_port:
        return ["-p", str(ARGS.mc_port), "-U", str(ARGS.mc_port),
                "--redis-port", str(ARGS.resp_port)]
    return ["-p", "-1", "-U", "-1", "--redis-port", "-1"]


def start_server(prefix, args):
    """Starts xdpkv (prefix: e.g. ip netns exec) and waits, bounded, for its
    port file, written once it serves with XDP attached. Returns the
    loopback.Started; .udp_ports is (memcached UDP, RESP UDP)."""
    server = loopback.start_with_port_file(args, prefix=prefix)
    if "attached" not in server.output():
        loopback.stop(server)
        server.cleanup()
        raise RuntimeError(f"xdpkv did not attach XDP: {server.output()}")
    ports = server.ports
    server.udp_ports = (ports.get("UDP INET", ports.get("UDP INET6")),
                        ports.get("RESP INET", ports.get("RESP INET6")))
    return server


def stop_server(server):
    loopback.stop(server)
    out = server.output()
    server.cleanup()
    match = re.search(r"counters:(.*)", out)
    counters = {}
    for item in (match.group(1).split() if match else []):
        name, value = item.split("=")
        counters[name] = int(value)
    return counters


def check_counters(name, counters, errors):
    expected_at_least = {
        "memcache.sets": 3, "memcache.get_hits": 2, "memcache.get_misses": 1,
        "memcache.delete_hits": 1, "memcache.pass_unsupported": 1,
        "resp.get_hits": 1, "resp.sets": 2, "resp.delete_misses": 1,
        "resp.pass_unsupported": 1, "resp.multi_gets": 1,
        "memcache.tc_replies": 2, "resp.tc_replies": 1, "memcache.tc_datagrams": 90,
        "memcache.meta_get_hits": 4, "memcache.meta_get_misses": 2, "memcache.meta_sets": 3,
        "memcache.meta_cas_exists": 1, "memcache.meta_cas_misses": 1,
    }
    for counter, minimum in expected_at_least.items():
        if counters.get(counter, 0) < minimum:
            errors.append(f"{name}: counter {counter}={counters.get(counter, 0)} < {minimum}")
    print(f"{name}: counters {json.dumps(counters, sort_keys=True)}")


def client_failures(prefix, host, family_name, udp_ports):
    mc_port, resp_port = udp_ports
    out = run(prefix + [sys.executable, __file__, "--client", host, "--family", family_name,
                        "--mc-port", str(mc_port), "--resp-port", str(resp_port)],
              timeout=60).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_lo(errors):
    tag = f"xdpkv-e2e-lo-{os.getpid()}"
    try:
        server = start_server([], [ARGS.binary, "--xdp-iface", "lo", "--xdp-mode", "generic"]
                              + port_args() + ["-l", "127.0.0.1", "-l", "::1",
                                               "--pin-dir", f"/sys/fs/bpf/{tag}", "--fresh"])
    except Exception:
        run(["rm", "-rf", f"/sys/fs/bpf/{tag}"])  # pinned before it failed
        raise
    try:
        for host, family in (("127.0.0.1", "inet"), ("::1", "inet6")):
            for failure in client_failures([], host, family, server.udp_ports):
                errors.append(f"lo {host}: {failure}")
    finally:
        counters = stop_server(server)
        run(["rm", "-rf", f"/sys/fs/bpf/{tag}"])
    check_counters("lo (generic)", counters, errors)


def test_veth(errors):
    pid = os.getpid()
    server_ns, client_ns = f"xkv-s-{pid}", f"xkv-c-{pid}"
    server_if, client_if = f"xkvs{pid}", f"xkvc{pid}"
    netns = lambda ns: ["ip", "netns", "exec", ns]
    try:
        run(["ip", "netns", "add", server_ns])
        run(["ip", "netns", "add", client_ns])
        run(["ip", "link", "add", server_if, "type", "veth", "peer", "name", client_if])
        run(["ip", "link", "set", server_if, "netns", server_ns])
        run(["ip", "link", "set", client_if, "netns", client_ns])
        for ns, ifname, addr in ((server_ns, server_if, "198.18.0.1/30"),
                                 (client_ns, client_if, "198.18.0.2/30")):
            run(netns(ns) + ["ip", "addr", "add", addr, "dev", ifname])
            run(netns(ns) + ["ip", "link", "set", ifname, "up"])
            run(netns(ns) + ["ip", "link", "set", "lo", "up"])
        # nsenter --net keeps the host's bpffs (ip netns exec would give the
        # server a private /sys, where xdpkv refuses to pin its store).
        server = start_server(["nsenter", f"--net=/run/netns/{server_ns}"], [
            ARGS.binary, "--xdp-iface", server_if, "--xdp-mode", "native"] + port_args() + [
            "-l", "198.18.0.1", "--udp-allow", "198.18.0.2/32",
            # A trusted client: whole replies, past the amplification cap.
            "--udp-max-reply-bytes", "65536",
            "--pin-dir", f"/sys/fs/bpf/xdpkv-e2e-{pid}-server", "--fresh"])
        try:
            # The client end needs an XDP program for XDP_TX to deliver; with
            # all its ports off ours passes everything.
            peer = start_server(["nsenter", f"--net=/run/netns/{client_ns}"], [
                ARGS.binary, "--xdp-iface", client_if, "--xdp-mode", "native", "-p", "0",
                "-U", "0", "--redis-port", "0",
                "--pin-dir", f"/sys/fs/bpf/xdpkv-e2e-{pid}-peer", "--fresh"])
            try:
                for failure in client_failures(netns(client_ns), "198.18.0.1", "inet",
                                               server.udp_ports):
                    errors.append(f"veth: {failure}")
            finally:
                stop_server(peer)
        finally:
            counters = stop_server(server)
        check_counters("veth (native)", counters, errors)
    finally:
        subprocess.run(["ip", "netns", "del", server_ns], capture_output=True)
        subprocess.run(["ip", "netns", "del", client_ns], capture_output=True)
        for side in ("server", "peer"):
            subprocess.run(["rm", "-rf", f"/sys/fs/bpf/xdpkv-e2e-{pid}-{side}"])


def main():
    if os.geteuid() != 0:
        print("xdp_e2e: skipped: needs root (BPF and network namespace rights)")
        return 77
    errors = []
    test_lo(errors)
    test_veth(errors)
    for error in errors:
        print("FAIL:", error)
    print("xdp_e2e: %s" % ("FAILED" if errors else "passed"))
    return 1 if errors else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="build/bin/xdpkv")
    parser.add_argument("--mc-port", type=int, default=0,
                        help="with --resp-port: fixed ports (default: the kernel's choice)")
    parser.add_argument("--resp-port", type=int, default=0)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--family", default="inet", help=argparse.SUPPRESS)
    ARGS = parser.parse_args()
    if ARGS.client:
        family = socket.AF_INET6 if ARGS.family == "inet6" else socket.AF_INET
        client(ARGS.client, ARGS.mc_port, ARGS.resp_port, family)
        sys.exit(0)
    sys.exit(main())
