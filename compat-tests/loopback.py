"""Helpers shared by the tests that start servers on loopback (compat-tests/
and proxy/e2e/xdp_e2e.py): no test guesses a free port and hopes it stays
free. xdpkv and memcached bind ports the kernel picks (`-p -1`) and report
them in a port file (MEMCACHED_PORT_FILENAME, docs/protocols.md);
redis-server, which has no such file, is retried on a new port when its
port was taken before it could bind."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

# Bounds on waiting for a server to come up (it binds, loads BPF, attaches).
PORT_FILE_WAIT_S = 60.0
REDIS_START_ATTEMPTS = 20


class Started:
    """A server process started by start_with_port_file or start_redis.

    proc: the Popen; ports: {"TCP INET": 41505, "UDP INET6": ..., "RESP INET": ...}
    (the first port of each kind); output(): what it printed so far."""

    def __init__(self, proc, ports, workdir, log_path):
        self.proc, self.ports, self.workdir, self.log_path = proc, ports, workdir, log_path

    def output(self):
        try:
            with open(self.log_path, errors="replace") as log:
                return log.read()
        except OSError:
            return ""

    def cleanup(self):
        """Removes the port file's directory (after the process is gone)."""
        shutil.rmtree(self.workdir, ignore_errors=True)


def parse_port_file(text):
    ports = {}
    for line in text.splitlines():
        kind, sep, port = line.rpartition(": ")
        if sep:
            ports.setdefault(kind, int(port))
    return ports


def start_with_port_file(cmd, prefix=(), wait_s=PORT_FILE_WAIT_S, env=None):
    """Runs prefix + cmd with MEMCACHED_PORT_FILENAME set (and `env`'s
    variables; stdout and stderr to a log file) and waits, bounded, for the
    port file: the server writes
    it under a temporary name and renames it, so once there it is whole.
    Returns a Started; raises RuntimeError (with the server's output) if the
    process exits first or the wait runs out."""
    workdir = tempfile.mkdtemp(prefix="xdpkv-ports-")
    port_file = os.path.join(workdir, "ports")
    log_path = os.path.join(workdir, "log")
    env = dict(os.environ, **(env or {}), MEMCACHED_PORT_FILENAME=port_file)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(list(prefix) + list(cmd), stdout=log, stderr=subprocess.STDOUT,
                                env=env)
    started = Started(proc, {}, workdir, log_path)
    end = time.monotonic() + wait_s
    while not os.path.exists(port_file):
        problem = None
        if proc.poll() is not None:
            problem = f"exited with {proc.returncode} before writing its port file"
        elif time.monotonic() > end:
            problem = f"wrote no port file in {wait_s:.0f} s"
            proc.kill()
            proc.wait()
        if problem:
            output = started.output()
            started.cleanup()
            raise RuntimeError(f"{cmd[0]} {problem}: {output}")
        time.sleep(0.02)
    with open(port_file) as f:
        started.ports = parse_port_file(f.read())
    return started


def start_xdpkv(binary, args, prefix=()):
    """xdpkv on kernel-chosen ports (memcached TCP and UDP share one, RESP
    one): args must not name ports. Returns a Started; .mc_port and
    .resp_port are set (None when that listener is not on IPv4)."""
    started = start_with_port_file(
        [binary, "-p", "-1", "-U", "-1", "--redis-port", "-1"] + list(args), prefix=prefix)
    started.mc_port = started.ports.get("TCP INET")
    started.resp_port = started.ports.get("RESP INET")
    return started


def _free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(args=(), wait_s=PORT_FILE_WAIT_S):
    """redis-server on 127.0.0.1: it has no port file and treats port 0 as
    "no TCP", so this picks a free port and, if another process takes it
    before redis-server binds (it logs EADDRINUSE and exits), tries a new
    one (bounded). Ready is redis-server's own "Ready to accept connections"
    line, so a stranger on the port is never mistaken for it. Returns a
    Started with .port."""
    problem = ""
    for _ in range(REDIS_START_ATTEMPTS):
        port = _free_tcp_port()
        workdir = tempfile.mkdtemp(prefix="xdpkv-redis-")
        log_path = os.path.join(workdir, "log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                     "--save", "", "--appendonly", "no", "--dir", workdir]
                                    + list(args), stdout=log, stderr=subprocess.STDOUT)
        started = Started(proc, {"TCP INET": port}, workdir, log_path)
        started.port = port
        end = time.monotonic() + wait_s
        while True:
            output = started.output()
            if "Ready to accept connections" in output:
                return started
            if proc.poll() is not None or time.monotonic() > end:
                break
            time.sleep(0.02)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        started.cleanup()
        problem = output
        if "Address already in use" not in output:
            break
    raise RuntimeError(f"redis-server did not start: {problem}")


def stop(started, timeout=10):
    """SIGTERM, bounded wait; returns the exit code (killed if it hangs)."""
    started.proc.terminate()
    try:
        return started.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        started.proc.kill()
        started.proc.wait()
        return None


def run_beside_redis(binary, name, run, announce=False):
    """`run(port)` against a fresh redis-server, then against xdpkv
    (--xdp-mode off, its own pin dir under /sys/fs/bpf, removed after):
    returns (redis-server's result, xdpkv's). Both servers are stopped
    whatever happens."""
    pin_dir = f"/sys/fs/bpf/xdpkv-{name}-{os.getpid()}"
    servers = []
    try:
        xdpkv = start_with_port_file(
            [binary, "--xdp-mode", "off", "-p", "-1", "-U", "0", "--redis-port", "-1",
             "--pin-dir", pin_dir, "--fresh"])
        servers.append(xdpkv)
        peer = start_redis()
        servers.append(peer)
        if announce:
            print("redis-server:", flush=True)
        expected = run(peer.port)
        if announce:
            print("xdpkv:", flush=True)
        return expected, run(xdpkv.ports["RESP INET"])
    finally:
        for server in servers:
            server.proc.terminate()
        for server in servers:
            stop(server)
            server.cleanup()
        subprocess.run(["rm", "-rf", pin_dir])
