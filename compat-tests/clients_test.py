#!/usr/bin/python3
"""Real clients against the real xdpkv binary: Debian's python3-pymemcache
and python3-redis, and redis-cli. Runs every check twice, with the XDP
program attached to lo (generic) and with --xdp-mode off (userspace only,
same store), on free loopback ports. Exit code 77 (CTest's skip) without
root, saying why.
"""
import os
import socket
import subprocess
import sys
import traceback

from pymemcache.client.base import Client as MemcacheClient
import redis

BINARY = sys.argv[1] if len(sys.argv) > 1 else "build/bin/xdpkv"


def free_port():
    while True:
        with socket.socket() as tcp, socket.socket(type=socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            try:
                udp.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


class Server:
    def __init__(self, mode):
        self.mc_port, self.resp_port = free_port(), free_port()
        self.pin_dir = f"/sys/fs/bpf/xdpkv-compat-{os.getpid()}-{mode}"
        self.proc = subprocess.Popen(
            [BINARY, "--xdp-mode", mode, "-p", str(self.mc_port), "-U", str(self.mc_port),
             "--redis-port", str(self.resp_port), "--pin-dir", self.pin_dir, "--fresh"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in self.proc.stdout:
            if "XDP attached" in line or "XDP off" in line:
                return
        raise RuntimeError("xdpkv did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        subprocess.run(["rm", "-rf", self.pin_dir])


def memcache_checks(server):
    mc = MemcacheClient(("127.0.0.1", server.mc_port), timeout=5, default_noreply=False)
    yield "memcache set/get", lambda: (
        mc.set("k", b"hello") and mc.get("k") == b"hello")
    binary = bytes(range(256)) + b"\r\nEND\r\n"
    yield "memcache binary-safe value", lambda: (
        mc.set("bin", binary) and mc.get("bin") == binary)
    yield "memcache get_many", lambda: (
        mc.get_many(["k", "bin", "nope"]) == {"k": b"hello", "bin": binary})
    def gets():
        value, cas = mc.gets("k")
        mc.set("k", b"again")
        value2, cas2 = mc.gets("k")
        return value == b"hello" and value2 == b"again" and cas != cas2
    yield "memcache gets: CAS changes on write", gets
    yield "memcache delete", lambda: (
        mc.delete("k") is True and mc.get("k") is None and mc.delete("k") is False)
    big = os.urandom(1 << 20)
    yield "memcache 1 MiB value", lambda: mc.set("big", big) and mc.get("big") == big
    yield "memcache version", lambda: mc.version() == b"0.1.0"
    yield "memcache stats", lambda: b"pid" in mc.stats()
    def ttl():
        mc.set("gone", b"x", expire=-1)
        return mc.get("gone") is None
    yield "memcache negative exptime", ttl


def redis_checks(server):
    r = redis.Redis(host="127.0.0.1", port=server.resp_port, socket_timeout=5)
    yield "redis ping/echo", lambda: r.ping() and r.echo("hi") == b"hi"
    yield "redis set/get", lambda: r.set("rk", "v1") and r.get("rk") == b"v1"
    yield "redis mget/exists", lambda: (
        r.mget("rk", "nope") == [b"v1", None] and r.exists("rk", "rk", "nope") == 2)
    def pipeline():
        p = r.pipeline(transaction=False)
        for i in range(100):
            p.set(f"p{i}", i)
        for i in range(100):
            p.get(f"p{i}")
        results = p.execute()
        return results[:100] == [True] * 100 and results[100:] == [str(i).encode() for i in range(100)]
    yield "redis pipeline of 200", pipeline
    binary = bytes(range(256))
    yield "redis binary-safe value", lambda: r.set("rb", binary) and r.get("rb") == binary
    big = os.urandom(1 << 20)
    yield "redis 1 MiB value", lambda: r.set("rbig", big) and r.get("rbig") == big
    yield "redis delete", lambda: r.delete("rk", "nope") == 1 and r.get("rk") is None
    def unknown():
        try:
            r.execute_command("NOSUCH", "a")
        except redis.ResponseError as e:
            return str(e) == "unknown command 'NOSUCH', with args beginning with: 'a' "
        return False
    yield "redis unknown command error", unknown
    def cli():
        out = subprocess.run(["redis-cli", "-p", str(server.resp_port), "set", "cli", "v"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        got = subprocess.run(["redis-cli", "-p", str(server.resp_port), "get", "cli"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        return out == "OK" and got == "v"
    yield "redis-cli set/get", cli


def cross_checks(server):
    mc = MemcacheClient(("127.0.0.1", server.mc_port), timeout=5, default_noreply=False)
    r = redis.Redis(host="127.0.0.1", port=server.resp_port, socket_timeout=5)
    yield "memcache write, redis read", lambda: mc.set("x1", b"m") and r.get("x1") == b"m"
    yield "redis write, memcache read", lambda: r.set("x2", "r") and mc.get("x2") == b"r"


def main():
    if os.geteuid() != 0:
        print("compat clients: skipped: needs root (the server loads BPF)")
        return 77
    passed = failed = 0
    for mode in ("generic", "off"):
        server = Server(mode)
        try:
            for checks in (memcache_checks, redis_checks, cross_checks):
                for name, check in checks(server):
                    try:
                        ok = bool(check())
                    except Exception:
                        traceback.print_exc()
                        ok = False
                    print(f"{'ok  ' if ok else 'FAIL'} [{mode}] {name}")
                    passed += ok
                    failed += not ok
        finally:
            server.stop()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
