#!/usr/bin/python3
"""memcached's command-line flags, and both peers' unix sockets, against the
real servers.

1. Scenarios: memcached 1.6.18 and xdpkv (--xdp-mode off) started with the
   same flag (-C, -F, -R, -b/-B, -I, -o idle_timeout, -A); the same raw
   requests to both, replies compared byte for byte (counters and settings
   by the named fields only, as peer_diff.py does).
2. Unix sockets: memcached -s/-a and redis-server --unixsocket/
   --unixsocketperm next to xdpkv with the same flags: requests over the
   socket, the socket file's mode, and memcached's TCP being off.
3. Every flag and -o suboption `memcached --help` lists: xdpkv either takes
   it or refuses it with one line that names it (none is ignored silently).
Exit 77 (CTest's skip) without root, saying why.

  flags_diff.py BINARY [--show]
"""
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

import loopback  # compat-tests/loopback.py
from peer_diff import Deviation, Fields, exchange_until

BINARY = sys.argv[1] if len(sys.argv) > 1 else "build/bin/xdpkv"
SHOW = "--show" in sys.argv
# -o idle_timeout: how long a test waits, at most, for the close.
IDLE_CLOSE_WAIT_S = 20.0
SENTINEL = b"version\r\n"
SENTINEL_RE = re.compile(rb"VERSION [^\r]*\r\n$")


class Closes:
    """A case whose connection must be closed by the server after the
    request, within a bound (-o idle_timeout)."""

    def __init__(self, wait_s):
        self.wait_s = wait_s


def settings(*names):
    return Fields(*names)


# (flags for both, [(case name, request bytes or list of them, extra...)])
SCENARIOS = [
    ("-C", ["-C"], [
        ("gets and gats show CAS 0", b"set a 0 0 1\r\nx\r\ngets a\r\ngats 0 a\r\n"),
        ("cas cannot match", b"set a 0 0 1\r\nx\r\ncas a 0 0 1 0\r\ny\r\ncas a 0 0 1 1\r\ny\r\n"
                             b"cas zz 0 0 1 0\r\ny\r\nget a\r\n"),
        ("cas counters", b"stats reset\r\nset a 0 0 1\r\nx\r\ncas a 0 0 1 0\r\ny\r\n"
                         b"cas zz 0 0 1 0\r\ny\r\nstats\r\n",
         Fields("cas_misses", "cas_hits", "cas_badval", "cmd_set")),
        ("stats settings", b"stats settings\r\n", settings("cas_enabled")),
    ]),
    ("-F", ["-F"], [
        ("flush_all refused", b"set a 0 0 1\r\nx\r\nflush_all\r\nflush_all noreply\r\n"
                              b"flush_all 10\r\nflush_all x\r\nget a\r\n"),
        ("refusals are counted", b"stats reset\r\nflush_all\r\nflush_all x\r\nstats\r\n",
         Fields("cmd_flush")),
        ("stats settings", b"stats settings\r\n", settings("flush_enabled")),
    ]),
    ("-R 3", ["-R", "3"], [
        ("requests answered in order across yields", b"verbosity 1\r\n" * 10),
        ("yields counted", [b"stats reset\r\n", b"verbosity 1\r\n" * 10, b"stats\r\n"],
         Fields("conn_yields")),
        ("stats settings", b"stats settings\r\n", settings("reqs_per_event")),
    ]),
    ("-b 7 -B ascii", ["-b", "7", "-B", "ascii"], [
        ("stats settings", b"stats settings\r\n", settings("tcp_backlog", "binding_protocol")),
    ]),
    ("-B auto", ["-B", "auto"], [
        ("stats settings", b"stats settings\r\n", settings("binding_protocol")),
    ]),
    ("-I 512k", ["-I", "512k"], [
        ("a value over -I is refused", b"set k 0 0 2\r\nv1\r\nset k 0 0 524289\r\n"
                                       + b"x" * 524289 + b"\r\nget k\r\nset j 0 0 524000\r\n"
                                       + b"y" * 524000 + b"\r\n"),
        # memcached counts its item header and key against -I, xdpkv the
        # value alone (docs/protocols.md).
        ("a value of exactly -I bytes", b"set j 0 0 524288\r\n" + b"y" * 524288 + b"\r\n",
         Deviation("-I bounds the value; memcached's item header counts too", b"STORED\r\n")),
        ("stats settings", b"stats settings\r\n", settings("item_size_max")),
    ]),
    ("-o idle_timeout=1", ["-o", "idle_timeout=1"], [
        ("an idle client is closed", b"verbosity 1\r\n", Closes(IDLE_CLOSE_WAIT_S)),
        ("and counted", b"stats\r\n", Fields("idle_kicks")),
        ("stats settings", b"stats settings\r\n", settings("idle_timeout")),
    ]),
    ("no -A", [], [
        ("shutdown is refused", b"shutdown\r\nshutdown graceful\r\nshutdown x\r\n"
                                b"shutdown noreply\r\n"),
        ("stats settings", b"stats settings\r\n", settings("shutdown_command")),
    ]),
    ("-A", ["-A"], [
        ("shutdown's bad forms", b"shutdown x\r\nshutdown graceful x\r\n"),
        ("stats settings", b"stats settings\r\n", settings("shutdown_command")),
        # Last: it stops the server (checked below).
        ("shutdown closes and stops", b"get a\r\nshutdown\r\n"),
    ]),
]


def wait_closed(port, request, wait_s):
    """Sends `request`, reads until the server closes (bounded)."""
    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
        s.sendall(request)
        data = b""
        end = time.monotonic() + wait_s
        while time.monotonic() < end:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return data + b"<closed>"
            data += chunk
        return data + b"<still open>"


def run_scenarios(failures):
    total = 0
    for label, flags, cases in SCENARIOS:
        pin_dir = f"/sys/fs/bpf/xdpkv-flagsdiff-{os.getpid()}"
        servers = []
        try:
            memcached = loopback.start_with_port_file(
                ["memcached", "-u", "root", "-l", "127.0.0.1", "-p", "-1", "-U", "0", "-t", "1"]
                + flags)
            servers.append(memcached)
            xdpkv = loopback.start_with_port_file(
                [BINARY, "--xdp-mode", "off", "-p", "-1", "-U", "0", "--redis-port", "0",
                 "--pin-dir", pin_dir, "--fresh", "-t", "1"] + flags)
            servers.append(xdpkv)
            ports = (memcached.ports["TCP INET"], xdpkv.ports["TCP INET"])
            for name, request, *extra in cases:
                total += 1
                replies = []
                for port in ports:
                    closes = [e for e in extra if isinstance(e, Closes)]
                    if closes:
                        replies.append(wait_closed(port, request, closes[0].wait_s))
                        continue
                    requests = request if isinstance(request, list) else [request]
                    replies.append(b"<next connection>".join(
                        exchange_until(port, one, SENTINEL, SENTINEL_RE) for one in requests))
                peer, ours = replies
                for fields in (e for e in extra if isinstance(e, Fields)):
                    peer, ours = fields(peer), fields(ours)
                deviation = [e for e in extra if isinstance(e, Deviation)]
                if deviation:
                    name += f" (deviation: {deviation[0].why})"
                    peer = deviation[0].ours
                failures += report(f"[{label}] {name}", peer, ours)
            if "-A" in flags:
                # shutdown stopped both servers.
                total += 1
                exits = []
                for server in servers:
                    try:
                        exits.append(server.proc.wait(timeout=10))
                    except subprocess.TimeoutExpired:
                        exits.append("still running")
                failures += report(f"[{label}] the server exits", repr(exits[0]).encode(),
                                   repr(exits[1]).encode())
            if label == "-b 7 -B ascii":
                total += 1
                failures += report(f"[{label}] the listen backlog", backlog(ports[0]),
                                   backlog(ports[1]))
        finally:
            for server in servers:
                loopback.stop(server)
                server.cleanup()
            subprocess.run(["rm", "-rf", pin_dir])
    return total, failures


def backlog(port):
    """A listening socket's backlog, as ss shows it (Send-Q)."""
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True,
                         text=True).stdout.split()
    return out[2].encode() if len(out) > 2 else b"?"


def report(name, peer, ours):
    ok = peer == ours
    print(f"{'ok  ' if ok else 'DIFF'} {name}")
    if not ok or SHOW:
        print(f"     peer:  {peer!r}\n     xdpkv: {ours!r}")
    return 0 if ok else 1


def unix_exchange(path, request, sentinel, sentinel_re):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(request + sentinel)
        data = b""
        end = time.monotonic() + 5
        while time.monotonic() < end and not sentinel_re.search(data):
            chunk = s.recv(65536)
            if not chunk:
                return data + b"<closed>"
            data += chunk
        match = sentinel_re.search(data)
        return data[: match.start()] if match else data + b"<timeout>"


def wait_for_socket(path, proc, wait_s=60):
    end = time.monotonic() + wait_s
    while time.monotonic() < end and proc.poll() is None:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(path)
                return True
        except OSError:
            time.sleep(0.02)
    return False


def mode_of(path):
    return oct(stat.S_IMODE(os.stat(path).st_mode)).encode()


def unix_sockets(failures):
    total = 0
    workdir = tempfile.mkdtemp(prefix="xdpkv-flagsdiff-")
    pin_dir = f"/sys/fs/bpf/xdpkv-flagsdiff-unix-{os.getpid()}"
    procs, started = [], []
    try:
        peer_mc, our_mc = os.path.join(workdir, "mc.sock"), os.path.join(workdir, "xmc.sock")
        peer_rd, our_rd = os.path.join(workdir, "rd.sock"), os.path.join(workdir, "xrd.sock")
        memcached = subprocess.Popen(["memcached", "-u", "root", "-s", peer_mc, "-a", "755",
                                      "-t", "1", "-p", "-1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(memcached)
        redis = loopback.start_redis(["--unixsocket", peer_rd, "--unixsocketperm", "770"])
        started.append(redis)
        # -p -1 is given too: -s turns memcached's TCP (and UDP) off anyway.
        xdpkv = loopback.start_with_port_file(
            [BINARY, "--xdp-mode", "off", "-p", "-1", "-U", "-1", "--redis-port", "-1",
             "--pin-dir", pin_dir, "--fresh", "-s", our_mc, "-a", "755", "--unixsocket", our_rd,
             "--unixsocketperm", "770"])
        started.append(xdpkv)
        if not wait_for_socket(peer_mc, memcached) or not wait_for_socket(our_mc, xdpkv.proc):
            raise RuntimeError("a unix socket did not come up")
        mask = lambda data: data.replace(peer_mc.encode(), b"<path>").replace(our_mc.encode(), b"<path>")
        for name, request, fields in [
                ("set/get over the socket", b"set a 0 0 2\r\nhi\r\nget a b\r\n", None),
                ("stats settings", b"stats settings\r\n", Fields("domain_socket", "umask", "tcpport")),
        ]:
            total += 1
            peer = mask(unix_exchange(peer_mc, request, SENTINEL, SENTINEL_RE))
            ours = mask(unix_exchange(our_mc, request, SENTINEL, SENTINEL_RE))
            if fields:
                peer, ours = fields(peer), fields(ours)
            failures += report(f"[memcached -s] {name}", peer, ours)
        total += 1
        failures += report("[memcached -s -a 755] the socket's mode", mode_of(peer_mc), mode_of(our_mc))
        total += 1
        # memcached writes no port file with -s; xdpkv's has no memcached lines.
        failures += report("[memcached -s] no memcached TCP or UDP",
                           b"False", repr(any(k.startswith(("TCP", "UDP"))
                                              for k in xdpkv.ports)).encode())
        sentinel, sentinel_re = b"ECHO __s__\r\n", re.compile(rb"\$5\r\n__s__\r\n$")
        total += 1
        request = b"SET k v\r\nGET k\r\nDEL k\r\nPING\r\n"
        failures += report("[redis --unixsocket] commands over the socket",
                           unix_exchange(peer_rd, request, sentinel, sentinel_re),
                           unix_exchange(our_rd, request, sentinel, sentinel_re))
        total += 1
        failures += report("[redis --unixsocketperm 770] the socket's mode", mode_of(peer_rd),
                           mode_of(our_rd))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        for server in started:
            loopback.stop(server)
            server.cleanup()
        subprocess.run(["rm", "-rf", pin_dir])
        shutil.rmtree(workdir, ignore_errors=True)
    return total, failures


# A value for each flag that takes one (memcached --help's <num>, <file>...).
FLAG_VALUES = {
    "-p": "0", "-U": "0", "-s": "/tmp/x.sock", "-a": "700", "-l": "127.0.0.1", "-u": "nobody",
    "-m": "64", "-c": "10", "-P": "/tmp/x.pid", "-f": "1.25", "-n": "48", "-D": ":", "-t": "2",
    "-R": "5", "-b": "10", "-B": "ascii", "-I": "1m", "-Y": "/tmp/x.auth", "-e": "/tmp/x.mem",
    "-o": "idle_timeout=1", "-N": "1",
}


def every_flag(failures):
    """Each flag and -o suboption of memcached --help: xdpkv takes it (then
    -h prints the usage and exits 0) or refuses it in one line naming it."""
    help_text = subprocess.run(["memcached", "--help"], capture_output=True, text=True).stdout
    flags = sorted(set(re.findall(r"^(-[A-Za-z]),?\s", help_text, re.M)))
    suboptions = re.findall(r"^   - ([a-z_0-9]+):", help_text, re.M)
    total = 0
    checks = [[flag] + ([FLAG_VALUES[flag]] if flag in FLAG_VALUES else []) for flag in flags]
    checks += [["-o", f"{name}=1"] for name in suboptions]
    for args in checks:
        total += 1
        run = subprocess.run([BINARY] + args + ["-h"], capture_output=True, text=True, timeout=30)
        lines = [line for line in run.stderr.splitlines() if line]
        if run.returncode == 0:
            verdict = "served"
            ok = True
        else:
            named = args[0] if args[0] != "-o" else args[1].split("=")[0]
            ok = len(lines) == 1 and named in lines[0] and lines[0].startswith("xdpkv: ")
            verdict = f"refused: {lines[0] if lines else run.stderr!r}"
        print(f"{'ok  ' if ok else 'BAD '} [flag {' '.join(args)}] {verdict}")
        failures += not ok
    return total, failures


def main():
    if os.geteuid() != 0:
        print("skipped: xdpkv's store is BPF maps, which need root (CAP_BPF) here")
        return 77
    for tool in ("memcached", "redis-server", "ss"):
        if not shutil.which(tool):
            print(f"{tool} is not installed (scripts/install-deps.sh installs it)")
            return 1
    failures = 0
    counts = []
    for suite in (run_scenarios, unix_sockets, every_flag):
        total, failures = suite(failures)
        counts.append(total)
    print(f"{sum(counts) - failures} of {sum(counts)} checks as expected ({counts[0]} flag "
          f"scenarios, {counts[1]} unix socket checks, {counts[2]} flags of memcached --help)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
