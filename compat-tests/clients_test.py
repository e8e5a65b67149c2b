#!/usr/bin/python3
"""Real clients against the real xdpkv binary: Debian's python3-pymemcache
and python3-redis, redis-cli, libmemcached's memccapable (-a and -b), and
the C libraries (libmemcached, also in its binary and UDP modes and with
SASL against -S, and hiredis, via c_clients.cc).
Runs every check twice, with the XDP program attached to lo (generic) and
with --xdp-mode off (userspace only, same store), on loopback ports the
kernel picks (read from the server's port file, compat-tests/loopback.py);
then bad input and 10k idle connections, and a restart that must keep the
data. Exit code 77 (CTest's skip) without root, saying why.

  clients_test.py XDPKV_BINARY C_CLIENTS_BINARY
"""
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import loopback  # compat-tests/loopback.py

from pymemcache.client.base import Client as MemcacheClient
import redis

BINARY = sys.argv[1] if len(sys.argv) > 1 else "build/bin/xdpkv"
C_CLIENTS = sys.argv[2] if len(sys.argv) > 2 else "build/bin/c_clients"
IDLE_CONNECTIONS = 10000



class Server:
    def __init__(self, mode, pin_dir=None, fresh=True):
        self.pin_dir = pin_dir or f"/sys/fs/bpf/xdpkv-compat-{os.getpid()}-{mode}"
        # memcached TCP and UDP on one port (c_clients uses it for both).
        # The idle crowd below is 10k connections: above memcached's default
        # -c 1024, as it would be for memcached itself.
        try:
            self.started = loopback.start_xdpkv(
                BINARY, ["--xdp-mode", mode, "--pin-dir", self.pin_dir,
                         "-c", str(IDLE_CONNECTIONS + 100),
                         "--maxclients", str(IDLE_CONNECTIONS + 100)]
                + (["--fresh"] if fresh else []))
        except Exception:
            # A server that pinned its store and then failed (XDP on lo
            # taken by another process) leaves the pins: remove them.
            subprocess.run(["rm", "-rf", self.pin_dir])
            raise
        self.proc = self.started.proc
        self.mc_port, self.resp_port = self.started.mc_port, self.started.resp_port

    def stop(self, keep_data=False):
        """SIGTERM; returns the exit code (None: it had to be killed)."""
        code = loopback.stop(self.started)
        self.started.cleanup()
        if not keep_data:
            subprocess.run(["rm", "-rf", self.pin_dir])
        return code


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
    yield "memcache version", lambda: mc.version().startswith(b"1.6.18-xdpkv-")
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


def more_memcache_checks(server):
    mc = MemcacheClient(("127.0.0.1", server.mc_port), timeout=5, default_noreply=False)
    def cas():
        mc.set("c", b"1")
        _, token = mc.gets("c")
        return mc.cas("c", b"2", token) is True and mc.cas("c", b"3", token) is False
    yield "pymemcache cas", cas
    yield "pymemcache incr/decr", lambda: (
        mc.set("n", b"5") and mc.incr("n", 10) == 15 and mc.decr("n", 100) == 0
        and mc.incr("none", 1) is None)
    yield "pymemcache add/append/prepend", lambda: (
        mc.add("a", b"b") and not mc.add("a", b"x") and mc.append("a", b"c")
        and mc.prepend("a", b"a") and mc.get("a") == b"abc")
    yield "pymemcache touch", lambda: mc.set("t", b"v") and mc.touch("t", 100) is True

    def memccapable(mode):
        out = subprocess.run(["memccapable", "-h", "127.0.0.1", "-p", str(server.mc_port), mode],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            print(out.stdout + out.stderr)
        return out.returncode == 0 and "All tests passed" in out.stdout
    yield "memccapable -a: all tests passed", lambda: memccapable("-a")
    yield "memccapable -b (binary protocol): all tests passed", lambda: memccapable("-b")


def more_redis_checks(server):
    r = redis.Redis(host="127.0.0.1", port=server.resp_port, socket_timeout=5)
    yield "redis incr/incrbyfloat/append", lambda: (
        r.set("i", 1) and r.incr("i", 4) == 5 and r.incrbyfloat("i", 0.5) == 5.5
        and r.append("i", "x") == 4)
    yield "redis set options and ttl", lambda: (
        r.set("e", "v", ex=100) and r.ttl("e") == 100 and r.set("e", "w", nx=True) is None
        and r.set("e", "w", xx=True, keepttl=True) and r.ttl("e") == 100 and r.persist("e"))
    def scan():
        keys = {f"scan:{i}" for i in range(500)}
        r.mset({k: "v" for k in keys})
        seen = set(k.decode() for k in r.scan_iter(match="scan:*", count=50))
        return seen == keys and set(k.decode() for k in r.keys("scan:1?")) == {
            f"scan:{i}" for i in range(10, 20)}
    yield "redis scan_iter and keys", scan
    yield "redis info has an xdp section", lambda: (
        "redis_version" in r.info("server") and "xdp_resp_get_hits" in r.info("xdp"))
    yield "redis dbsize/flushdb", lambda: r.dbsize() > 0 and r.flushdb() and r.dbsize() == 0
    yield "redis client setname/getname", lambda: (
        r.client_setname("compat") and r.client_getname() == "compat")


def external_checks(server):
    out = subprocess.run([C_CLIENTS, str(server.mc_port), str(server.resp_port)],
                         capture_output=True, text=True, timeout=120)
    lines = [l for l in out.stdout.splitlines() if l.startswith(("ok  ", "FAIL"))]
    for line in lines:
        yield "C: " + line[5:], lambda line=line: line.startswith("ok  ")
    yield "C clients ran to the end", lambda: out.returncode in (0, 1) and len(lines) >= 15


def sasl_checks():
    """-S: libmemcached's binary mode authenticating with SASL PLAIN (Cyrus
    SASL's client) as a user of the MEMCACHED_SASL_PWDB file."""
    workdir = tempfile.mkdtemp(prefix="xdpkv-sasl-")
    pwdb = os.path.join(workdir, "pwdb")
    with open(pwdb, "w") as f:
        f.write("alice:wonderland\n")
    pin_dir = f"/sys/fs/bpf/xdpkv-compat-{os.getpid()}-sasl"
    started = None
    try:
        started = loopback.start_with_port_file(
            [BINARY, "--xdp-mode", "off", "-S", "-p", "-1", "-U", "0", "--redis-port", "0",
             "--pin-dir", pin_dir, "--fresh"], env={"MEMCACHED_SASL_PWDB": pwdb})
        out = subprocess.run([C_CLIENTS, "--sasl", str(started.ports["TCP INET"]), "alice",
                              "wonderland"], capture_output=True, text=True, timeout=60)
    finally:
        if started:
            loopback.stop(started)
            started.cleanup()
        subprocess.run(["rm", "-rf", pin_dir])
        shutil.rmtree(workdir, ignore_errors=True)
    lines = [l for l in out.stdout.splitlines() if l.startswith(("ok  ", "FAIL"))]
    for line in lines:
        yield "C: " + line[5:], lambda line=line: line.startswith("ok  ")
    yield "C SASL clients ran to the end", lambda: out.returncode in (0, 1) and len(lines) >= 3


def send_raw(port, data, close_early=False):
    """Sends data; returns what came back until the server closed. The
    server may close (or reset) before it has read everything: that is
    fine, bad input gets an error and the door."""
    reply = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(data)
            if close_early:
                return b""
            s.shutdown(socket.SHUT_WR)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return reply
                reply += chunk
        except (ConnectionResetError, BrokenPipeError, OSError):
            return reply


def robustness_checks(server):
    """Bad input and idle crowds must leave the server serving others."""
    mc = MemcacheClient(("127.0.0.1", server.mc_port), timeout=5, default_noreply=False)
    r = redis.Redis(host="127.0.0.1", port=server.resp_port, socket_timeout=5)
    def still_serving():
        return mc.set("alive", b"yes") and mc.get("alive") == b"yes" and r.ping()
    def garbage():
        noise = os.urandom(256 * 1024)
        send_raw(server.mc_port, noise)
        send_raw(server.resp_port, noise)
        return still_serving()
    yield "garbage bytes on both ports", garbage
    yield "memcached line too long: error, then closed", lambda: (
        send_raw(server.mc_port, b"x" * 4000) == b"CLIENT_ERROR line too long\r\n"
        and still_serving())
    yield "RESP inline request too big: error, then closed", lambda: (
        send_raw(server.resp_port, b"x" * (70 * 1024)).startswith(
            b"-ERR Protocol error: too big inline request") and still_serving())
    def mid_value():
        send_raw(server.mc_port, b"set half 0 0 100000\r\n" + b"v" * 500, close_early=True)
        send_raw(server.resp_port, b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$100000\r\nvv",
                 close_early=True)
        return still_serving() and mc.get("half") is None and r.get("half") is None
    yield "client gone mid-value: nothing stored", mid_value
    def idle_crowd():
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        crowd = []
        try:
            for i in range(IDLE_CONNECTIONS):
                port = server.mc_port if i % 2 else server.resp_port
                crowd.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            fresh_mc = MemcacheClient(("127.0.0.1", server.mc_port), timeout=5)
            ok = fresh_mc.set("crowd", b"ok") and fresh_mc.get("crowd") == b"ok"
            fresh_r = redis.Redis(host="127.0.0.1", port=server.resp_port, socket_timeout=5)
            ok = ok and fresh_r.set("crowd", "r") and fresh_r.get("crowd") == b"r"
            # The kernel completes a connection before the server accepts
            # it, and the two ports' backlogs drain apart: the count may
            # still be catching up when INFO is answered.
            for _ in range(100):
                info = fresh_r.info("clients")["connected_clients"]
                if info >= IDLE_CONNECTIONS:
                    break
                time.sleep(0.1)
            else:
                print(f"connected_clients stayed at {info}", flush=True)
            return ok and info >= IDLE_CONNECTIONS
        finally:
            for s in crowd:
                s.close()
    yield f"{IDLE_CONNECTIONS} idle connections, then a new client is served", idle_crowd


def restart_checks():
    """A stop and a start without --fresh serve the same data."""
    pin_dir = f"/sys/fs/bpf/xdpkv-compat-{os.getpid()}-restart"
    big = os.urandom(300 * 1024)
    server = Server("off", pin_dir=pin_dir)
    try:
        mc = MemcacheClient(("127.0.0.1", server.mc_port), timeout=5, default_noreply=False)
        mc.set("kept", b"small")
        mc.set("kept-big", big)
        redis.Redis(host="127.0.0.1", port=server.resp_port).set("kept-r", "rv", ex=1000)
        # In flight at the stop: 300 gets of a 300 KiB value (90 MB of
        # replies) sent and not yet read.
        in_flight = socket.create_connection(("127.0.0.1", server.mc_port), timeout=10)
        in_flight.sendall(b"get kept-big\r\n" * 300)
        time.sleep(0.2)
    finally:
        server.proc.terminate()
    received = b""
    while True:
        chunk = in_flight.recv(1 << 20)
        if not chunk:
            break
        received += chunk
    in_flight.close()
    code = server.stop(keep_data=True)
    yield "SIGTERM: exit code 0", lambda: code == 0
    yield "SIGTERM: requests in flight answered before closing", lambda: (
        received.count(b"END\r\n") == 300 and len(received) == 300 * (
            len(b"VALUE kept-big 0 307200\r\n") + len(big) + 2 + 5))
    server = Server("generic", pin_dir=pin_dir, fresh=False)
    try:
        mc = MemcacheClient(("127.0.0.1", server.mc_port), timeout=5)
        r = redis.Redis(host="127.0.0.1", port=server.resp_port, socket_timeout=5)
        yield "restart: values kept (inline, 300 KiB, TTL)", lambda: (
            mc.get("kept") == b"small" and mc.get("kept-big") == big
            and r.get("kept-r") == b"rv" and 990 <= r.ttl("kept-r") <= 1000)
    finally:
        server.stop()


def one_instance_checks(server):
    """A second server on busy ports, or on the live store, fails at once and
    changes nothing (SO_REUSEPORT would otherwise split the clients)."""
    r = redis.Redis(host="127.0.0.1", port=server.resp_port, socket_timeout=5)
    r.set("owner", "first")

    def second(args):
        return subprocess.run([BINARY, "--xdp-mode", "off"] + args, capture_output=True,
                              text=True, timeout=30)
    def busy_port():
        other_pins = f"/sys/fs/bpf/xdpkv-compat-{os.getpid()}-second"
        try:
            out = second(["-p", str(server.mc_port), "-U", "0", "--redis-port",
                          str(server.resp_port), "--pin-dir", other_pins, "--fresh"])
        finally:
            subprocess.run(["rm", "-rf", other_pins])
        return (out.returncode == 1 and "Address already in use" in out.stderr
                and all(r.get("owner") == b"first" for _ in range(6)))
    yield "a second server on busy ports is refused", busy_port
    def busy_store():
        out = second(["-p", "-1", "-U", "-1", "--redis-port", "-1", "--pin-dir", server.pin_dir,
                      "--fresh"])
        return (out.returncode == 1 and "in use by another xdpkv" in out.stderr
                and r.get("owner") == b"first")
    yield "--fresh on a live store is refused, the store kept", busy_store


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

    def run(label, checks):
        nonlocal passed, failed
        for name, check in checks:
            try:
                ok = bool(check())
            except Exception:
                traceback.print_exc()
                ok = False
            print(f"{'ok  ' if ok else 'FAIL'} [{label}] {name}", flush=True)
            passed += ok
            failed += not ok

    for mode in ("generic", "off"):
        server = Server(mode)
        try:
            for checks in (memcache_checks, redis_checks, more_memcache_checks,
                           more_redis_checks, external_checks, cross_checks, robustness_checks,
                           one_instance_checks):
                run(mode, checks(server))
        finally:
            server.stop()
    run("restart", restart_checks())
    run("-S", sasl_checks())
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
