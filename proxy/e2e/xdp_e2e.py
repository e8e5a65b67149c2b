#!/usr/bin/python3
"""End-to-end test of the XDP fast path with the real xdpkv binary.

Requests the kernel answers must be answered byte for byte; requests it
passes on must be answered, correctly, by the userspace server. Two
setups, each with plain UDP sockets as clients:
  lo    generic XDP on the loopback interface, clients on 127.0.0.1 and ::1
  veth  native XDP on a veth pair between two network namespaces this test
        creates (server side and client side; the client end also runs an
        XDP program, which veth needs for XDP_TX to deliver)

Each request must get the right reply, and the counters xdpkv prints on
SIGTERM must show the kernel answered. Traffic only goes to loopback or to
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

FRAME = b"\x00\x2a\x00\x00\x00\x01\x00\x00"  # request id 42, seq 0, 1 datagram
REPLY_TIMEOUT_S = 2.0


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for arg in args:
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out


# (port kind, request payload, expected reply payload or None for no reply)
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
        # Passed on by the kernel (two keys), answered by userspace.
        ("mc", b"get e2e " + big_key + b"\r\n",
         b"VALUE " + big_key + b" 0 128\r\n" + b"x" * 128 + b"\r\nEND\r\n"),
        ("resp", resp(b"MGET", b"e2e", big_key), b"*2\r\n$-1\r\n$128\r\n" + b"x" * 128 + b"\r\n"),
    ]


def client(host, mc_port, resp_port, family):
    """Runs the exchanges; prints a JSON list of failures."""
    failures = []
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.settimeout(REPLY_TIMEOUT_S)
    for kind, payload, expected in exchanges(b"k" * 200):
        port = mc_port if kind == "mc" else resp_port
        sock.sendto(FRAME + payload, (host, port))
        try:
            reply, _ = sock.recvfrom(4096)
        except socket.timeout:
            reply = None
        if expected is None:
            if reply is not None:
                failures.append(f"{payload!r}: expected no reply, got {reply!r}")
            continue
        if reply != FRAME + expected:
            failures.append(f"{payload!r}: expected {FRAME + expected!r}, got {reply!r}")
    print(json.dumps(failures))


def free_udp_port():
    """A UDP port nothing on this host listens on (v4 and v6) right now."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as v4:
            v4.bind(("127.0.0.1", 0))
            port = v4.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as v6:
                    v6.bind(("::1", port))
                return port
            except OSError:
                continue


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


def start_server(prefix, args):
    proc = subprocess.Popen(prefix + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    seen = ""
    while True:  # "xdpkv: serving ..." lines, then "xdpkv: XDP attached ..." or an error
        line = proc.stdout.readline()
        seen += line
        if "attached" in line:
            return proc
        if not line or "xdpkv: serving" not in line:
            proc.kill()
            raise RuntimeError(f"xdpkv did not start: {seen}{proc.stdout.read()}")


def stop_server(proc):
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    match = re.search(r"counters:(.*)", out)
    counters = {}
    for item in (match.group(1).split() if match else []):
        name, value = item.split("=")
        counters[name] = int(value)
    return counters


def check_counters(name, counters, errors):
    expected_at_least = {
        "memcache.sets": 1, "memcache.get_hits": 2, "memcache.get_misses": 1,
        "memcache.delete_hits": 1, "memcache.pass_unsupported": 1,
        "resp.get_hits": 1, "resp.sets": 1, "resp.delete_misses": 1,
        "resp.pass_unsupported": 1,
    }
    for counter, minimum in expected_at_least.items():
        if counters.get(counter, 0) < minimum:
            errors.append(f"{name}: counter {counter}={counters.get(counter, 0)} < {minimum}")
    print(f"{name}: counters {json.dumps(counters, sort_keys=True)}")


def client_failures(prefix, host, family_name):
    out = run(prefix + [sys.executable, __file__, "--client", host, "--family", family_name,
                        "--mc-port", str(ARGS.mc_port), "--resp-port", str(ARGS.resp_port)],
              timeout=60).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_lo(errors):
    tag = f"xdpkv-e2e-lo-{os.getpid()}"
    server = start_server([], [ARGS.binary, "--xdp-iface", "lo", "--xdp-mode", "generic",
                               "-p", str(ARGS.mc_port), "-U", str(ARGS.mc_port),
                               "--redis-port", str(ARGS.resp_port), "-l", "127.0.0.1",
                               "-l", "::1", "--pin-dir", f"/sys/fs/bpf/{tag}", "--fresh"])
    try:
        for host, family in (("127.0.0.1", "inet"), ("::1", "inet6")):
            for failure in client_failures([], host, family):
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
        server = start_server(netns(server_ns), [
            ARGS.binary, "--xdp-iface", server_if, "--xdp-mode", "native",
            "-p", str(ARGS.mc_port), "-U", str(ARGS.mc_port), "--redis-port", str(ARGS.resp_port),
            "-l", "198.18.0.1", "--pin-dir", f"/sys/fs/bpf/xdpkv-e2e-{pid}-server", "--fresh"])
        # The client end needs an XDP program for XDP_TX to deliver; with
        # both ports off ours passes everything.
        peer = start_server(netns(client_ns), [
            ARGS.binary, "--xdp-iface", client_if, "--xdp-mode", "native", "-p", "0", "-U", "0",
            "--redis-port", "0", "--pin-dir", f"/sys/fs/bpf/xdpkv-e2e-{pid}-peer", "--fresh"])
        try:
            for failure in client_failures(netns(client_ns), "198.18.0.1", "inet"):
                errors.append(f"veth: {failure}")
        finally:
            counters = stop_server(server)
            stop_server(peer)
        check_counters("veth (native)", counters, errors)
    finally:
        subprocess.run(["ip", "netns", "del", server_ns], capture_output=True)
        subprocess.run(["ip", "netns", "del", client_ns], capture_output=True)


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
    parser.add_argument("--mc-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--resp-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--family", default="inet", help=argparse.SUPPRESS)
    ARGS = parser.parse_args()
    if ARGS.client:
        family = socket.AF_INET6 if ARGS.family == "inet6" else socket.AF_INET
        client(ARGS.client, ARGS.mc_port, ARGS.resp_port, family)
        sys.exit(0)
    ARGS.mc_port = ARGS.mc_port or free_udp_port()
    ARGS.resp_port = ARGS.resp_port or free_udp_port()
    sys.exit(main())
