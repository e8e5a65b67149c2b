#!/usr/bin/python3
"""End-to-end test of the memory limit with the real xdpkv binary.

xdpkv runs with -m 64 (its default policy, allkeys-lru) and XDP on the
loopback of a network namespace this test creates, and gets ten times its
limit in SETs: memcached and RESP, over TCP (userspace) and UDP (the kernel
path, which passes writes up when the store is full), inline values and
out-of-line ones. Every write must be stored, the newest of each kind must
read back intact, and INFO must show the store within its limit, having
evicted. Then with -M (noeviction) a full store must refuse writes with
memcached's and Redis's exact errors and keep what it has.

Traffic stays on the namespace's loopback; every wait is bounded; the
namespace and the pinned store are removed on exit. Exit code 77 (CTest's
skip) without root.
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "compat-tests"))
import loopback  # compat-tests/loopback.py: port files, bounded waits

LIMIT_MB = 64
TIMEOUT_S = 10.0


def value_of(tag, i, size):
    seed = f"{tag}:{i}:".encode()
    return (seed * (size // len(seed) + 1))[:size]


class Tcp:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def read_until(self, end):
        while end not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("connection closed")
            self.buf += chunk
        at = self.buf.index(end) + len(end)
        out, self.buf = self.buf[:at], self.buf[at:]
        return out

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for arg in args:
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out


def udp_request(sock, port, payload, request_id):
    frame = request_id.to_bytes(2, "big") + b"\x00\x00\x00\x01\x00\x00"
    sock.sendto(frame + payload, ("127.0.0.1", port))
    reply, _ = sock.recvfrom(65536)
    return reply[8:]


def mc_get(tcp, key):
    tcp.send(b"get " + key + b"\r\n")
    line = tcp.read_until(b"\r\n")
    if line == b"END\r\n":
        return None
    size = int(line.split()[3])
    data = tcp.read_exact(size + 2)[:-2]
    tcp.read_until(b"END\r\n")
    return data


def resp_get(tcp, key):
    tcp.send(resp(b"GET", key))
    line = tcp.read_until(b"\r\n")
    if line == b"$-1\r\n":
        return None
    return tcp.read_exact(int(line[1:-2]) + 2)[:-2]


def info(tcp, section):
    tcp.send(resp(b"INFO", section))
    size = int(tcp.read_until(b"\r\n")[1:-2])
    text = tcp.read_exact(size + 2).decode()
    return dict(re.findall(r"^(\w+):(\S*)\r$", text, re.M))


def fill(ports, failures):
    """The client: ten times the limit in SETs; prints what it found."""
    mc, rs = Tcp(ports["mc"]), Tcp(ports["resp"])
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.settimeout(TIMEOUT_S)
    target = 10 * LIMIT_MB << 20
    written = 0
    # (tag, how, value size): kernel path for what fits a datagram.
    kinds = [("mcbig", "mc-tcp", 100_000), ("mcsmall", "mc-tcp", 100),
             ("rbig", "resp-tcp", 60_000), ("udp", "mc-udp", 1000), ("udps", "mc-udp", 100),
             ("rudp", "resp-udp", 900)]
    counts = {tag: 0 for tag, _, _ in kinds}
    request_id = 0
    round_no = 0
    while written < target and round_no < 100_000:
        round_no += 1
        for tag, how, size in kinds:
            i = counts[tag]
            key = f"{tag}:{i}".encode()
            value = value_of(tag, i, size)
            if how == "mc-tcp":
                mc.send(b"set %s %d 0 %d\r\n%s\r\n" % (key, i % 65536, size, value))
                reply = mc.read_until(b"\r\n")
                ok = reply == b"STORED\r\n"
            elif how == "resp-tcp":
                rs.send(resp(b"SET", key, value))
                reply = rs.read_until(b"\r\n")
                ok = reply == b"+OK\r\n"
            elif how == "mc-udp":
                request_id = (request_id + 1) % 65536
                reply = udp_request(udp, ports["mc"],
                                    b"set %s %d 0 %d\r\n%s\r\n" % (key, i % 65536, size, value),
                                    request_id)
                ok = reply == b"STORED\r\n"
            else:
                request_id = (request_id + 1) % 65536
                reply = udp_request(udp, ports["resp"], resp(b"SET", key, value), request_id)
                ok = reply == b"+OK\r\n"
            if not ok:
                failures.append(f"{how} SET {key!r} got {reply[:80]!r}")
                return counts
            counts[tag] += 1
            written += size + len(key)
    # The newest of each kind read back intact.
    for tag, how, size in kinds:
        for i in range(max(0, counts[tag] - 5), counts[tag]):
            key = f"{tag}:{i}".encode()
            got = resp_get(rs, key) if how.startswith("resp") else mc_get(mc, key)
            if got != value_of(tag, i, size):
                failures.append(f"{key!r}: the newest write reads back as {got[:40] if got else got!r}")
    memory, stats = info(rs, b"memory"), info(rs, b"stats")
    used, limit = int(memory.get("used_memory", -1)), int(memory.get("maxmemory", -1))
    print(f"wrote {written} bytes in {sum(counts.values())} SETs; used_memory {used}, maxmemory "
          f"{limit}, kernel memlock {memory.get('xdp_kernel_memlock')}, evicted "
          f"{stats.get('evicted_keys')}")
    if limit != LIMIT_MB << 20:
        failures.append(f"maxmemory {limit}, not {LIMIT_MB} MiB")
    if not 0 < used <= limit:
        failures.append(f"used_memory {used} outside (0, {limit}]")
    if int(stats.get("evicted_keys", 0)) == 0:
        failures.append("nothing was evicted")
    if memory.get("maxmemory_policy") != "allkeys-lru":
        failures.append(f"maxmemory_policy {memory.get('maxmemory_policy')}")
    return counts


def refuse(ports, failures):
    """The client with -M: a full store refuses, with the peers' words."""
    mc, rs = Tcp(ports["mc"]), Tcp(ports["resp"])
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.settimeout(TIMEOUT_S)
    stored = 0
    for i in range(100_000):
        mc.send(b"set keep:%d 0 0 60000\r\n%s\r\n" % (i, value_of("keep", i, 60_000)))
        reply = mc.read_until(b"\r\n")
        if reply != b"STORED\r\n":
            if reply != b"SERVER_ERROR out of memory storing object\r\n":
                failures.append(f"-M: a full store answered {reply!r}")
            break
        stored += 1
    else:
        failures.append("-M: 6 GB stored in a 64 MB store")
    # Then small values into what is left, until that is refused too.
    for i in range(1_000_000):
        mc.send(b"set tiny:%d 0 0 10\r\n0123456789\r\n" % i)
        if mc.read_until(b"\r\n") != b"STORED\r\n":
            break
    rs.send(resp(b"SET", b"r", value_of("r", 0, 60_000)))
    reply = rs.read_until(b"\r\n")
    if reply != b"-OOM command not allowed when used memory > 'maxmemory'.\r\n":
        failures.append(f"-M: RESP SET on a full store answered {reply!r}")
    # The kernel path refuses as the peers do (nothing to evict for it).
    udp_reply = udp_request(udp, ports["mc"], b"set u 0 0 1000\r\n" + b"u" * 1000 + b"\r\n", 7)
    if udp_reply != b"SERVER_ERROR out of memory storing object\r\n":
        failures.append(f"-M: UDP set on a full store answered {udp_reply!r}")
    for i in range(0, stored, max(1, stored // 20)):
        if mc_get(mc, b"keep:%d" % i) != value_of("keep", i, 60_000):
            failures.append(f"-M: keep:{i} lost")
            break
    print(f"-M: {stored} values stored, then refused")


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


def with_server(ns, extra_args, client_mode):
    pin = f"/sys/fs/bpf/xdpkv-mem-{os.getpid()}-{client_mode}"
    prefix = ["nsenter", f"--net=/run/netns/{ns}"]
    server = loopback.start_with_port_file(
        [ARGS.binary, "--xdp-iface", "lo", "--xdp-mode", "generic", "-p", "-1", "-U", "-1",
         "--redis-port", "-1", "-m", str(LIMIT_MB), "--pin-dir", pin, "--fresh"] + extra_args,
        prefix=prefix)
    try:
        ports = {"mc": server.ports.get("TCP INET"), "resp": server.ports.get("RESP INET")}
        out = subprocess.run(prefix + [sys.executable, __file__, "--client", client_mode,
                                       "--mc-port", str(ports["mc"]),
                                       "--resp-port", str(ports["resp"])],
                             capture_output=True, text=True, timeout=600)
        print(out.stdout, end="")
        if out.returncode != 0:
            print(out.stderr, end="")
            return [f"{client_mode}: client failed"]
        return [line[6:] for line in out.stdout.splitlines() if line.startswith("FAIL: ")]
    finally:
        loopback.stop(server)
        server.cleanup()
        subprocess.run(["rm", "-rf", pin])


def main():
    if ARGS.client:
        failures = []
        ports = {"mc": ARGS.mc_port, "resp": ARGS.resp_port}
        (fill if ARGS.client == "fill" else refuse)(ports, failures)
        for failure in failures:
            print("FAIL:", failure)
        return 0
    if os.geteuid() != 0:
        print("memory_e2e: skipped: needs root (BPF and network namespace rights)")
        return 77
    ns = f"xkv-mem-{os.getpid()}"
    errors = []
    try:
        run(["ip", "netns", "add", ns])
        run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"])
        errors += with_server(ns, [], "fill")
        errors += with_server(ns, ["-M"], "refuse")
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    for error in errors:
        print("FAIL:", error)
    print("memory_e2e: %s" % ("FAILED" if errors else "passed"))
    return 1 if errors else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="build/bin/xdpkv")
    parser.add_argument("--client", choices=["fill", "refuse"])
    parser.add_argument("--mc-port", type=int)
    parser.add_argument("--resp-port", type=int)
    ARGS = parser.parse_args()
    sys.exit(main())
