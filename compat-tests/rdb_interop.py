#!/usr/bin/python3
"""RDB snapshots against the real binaries: the three round trips with
Debian's redis-server 7.0 and redis-check-rdb, a reboot-like restart, and
crash safety (docs/protocols.md, "Persistence").

  1. redis-server -> dump -> xdpkv: thousands of strings (0 B to 1 MiB,
     integer-like, compressible with rdbcompression yes, random; with and
     without TTL, some expired by the time of the load) and thousands of
     hashes, lists, sets and sorted sets in four databases, small and big
     (so redis-server writes listpacks, intsets, quicklists with packed
     and plain nodes, hash tables and skiplists; compat-tests/rdb_values.py),
     a stream and a list past xdpkv's value limit: xdpkv loads every key
     into its database, compared key by key (GET, HGETALL, LRANGE,
     SMEMBERS, ZRANGE WITHSCORES, PTTL), drops the expired ones and
     counts and names the two it skipped.
  2. xdpkv -> dump -> redis-server: the same kinds of keys written into
     xdpkv; redis-check-rdb says OK and redis-server loads every key,
     value and TTL in every database.
  3. xdpkv -> dump -> xdpkv after a reboot-like restart (the pinned maps
     removed; SIGTERM with a save schedule wrote the dump): every key of
     every type, value, TTL, memcached flags and CAS unique; a restart
     that keeps the pinned store does not read the dump.
  4. kill -9 during BGSAVE leaves the previous dump whole and loadable; a
     truncated or bit-flipped dump makes xdpkv refuse to start, leaving no
     store pinned (the next start with a good dump loads it).

  5. With XDP on lo, the kernel's SETs count in rdb_changes_since_last_save
     and are in the dump.

Servers run on loopback ports the kernel picks (compat-tests/loopback.py),
xdpkv with --xdp-mode off (but for 5) and pin dirs of its own under
/sys/fs/bpf, removed afterwards. Exit 77 (CTest's skip) without root.

  rdb_interop.py XDPKV_BINARY
"""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import loopback  # compat-tests/loopback.py
import rdb_values  # compat-tests/rdb_values.py
import redis

BINARY = sys.argv[1] if len(sys.argv) > 1 else "build/bin/xdpkv"
MIB = 1 << 20
TTL_SLACK_MS = rdb_values.TTL_SLACK_MS
WAIT_S = 60.0          # bound on every wait below


def xdpkv(pin_dir, args, fresh=True):
    started = loopback.start_xdpkv(
        BINARY, ["--xdp-mode", "off", "--pin-dir", pin_dir, "-m", "512"]
        + (["--fresh"] if fresh else []) + list(args))
    started.client = redis.Redis(port=started.resp_port, socket_timeout=WAIT_S)
    return started


def run_xdpkv_to_exit(pin_dir, args):
    """Starts xdpkv expecting it to refuse: (exit code, output)."""
    proc = subprocess.run([BINARY, "--xdp-mode", "off", "--pin-dir", pin_dir, "-p", "-1", "-U",
                           "-1", "--redis-port", "-1", "-m", "512", "--fresh"] + list(args),
                          capture_output=True, text=True, timeout=WAIT_S)
    return proc.returncode, proc.stdout + proc.stderr


def stop(started):
    code = loopback.stop(started, timeout=WAIT_S)
    output = started.output()
    started.cleanup()
    return code, output


def memcache(port, request, until=b"END\r\n"):
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as s:
        s.sendall(request)
        data = b""
        end = time.monotonic() + WAIT_S
        while not data.endswith(until) and time.monotonic() < end:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        return data


def gets(port, key):
    """(flags, cas, value) from memcached's gets, or None."""
    reply = memcache(port, b"gets " + key + b"\r\n")
    m = re.match(rb"VALUE \S+ (\d+) (\d+) (\d+)\r\n", reply)
    if not m:
        return None
    start = m.end()
    return int(m.group(1)), int(m.group(3)), reply[start:start + int(m.group(2))]


def string_values(rng, count):
    """{key: (value, ttl_ms or None)}: every size class up to 1 MiB."""
    values = {}
    for i in range(count):
        kind = i % 6
        if kind == 0:
            value = str(rng.randrange(-2**40, 2**40)).encode()  # integer-like
        elif kind == 1:
            value = str(rng.randrange(-200, 200)).encode()
        elif kind == 2:
            value = (b"compressible-%d " % i) * rng.randrange(0, 200)  # LZF
        elif kind == 3:
            value = rng.randbytes(rng.randrange(0, 300))
        elif kind == 4:
            value = rng.randbytes(rng.randrange(300, 70000))
        else:
            value = b"0" + str(i).encode()  # not canonical: stays a string
        ttl = rng.randrange(600_000, 7_200_000) if i % 3 == 0 else None
        values[b"s:%d" % i] = (value, ttl)
    values[b"empty"] = (b"", None)
    values[b"max-1mib"] = (rng.randbytes(MIB), 3_600_000)
    values[b"max-1mib-zeros"] = (b"\0" * MIB, None)
    for i in range(8):
        values[b"big:%d" % i] = (rng.randbytes(rng.randrange(MIB // 2, MIB)), None)
    return values


def write_strings(client, values):
    pipe = client.pipeline(transaction=False)
    for n, (key, (value, ttl)) in enumerate(values.items()):
        pipe.set(key, value, px=ttl)
        if n % 200 == 199:
            pipe.execute()
    pipe.execute()


def compare_strings(client, values, label):
    """Every key's value and TTL; returns a list of problems."""
    problems = []
    keys = list(values)
    for start in range(0, len(keys), 200):
        chunk = keys[start:start + 200]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.get(key)
            pipe.pttl(key)
        replies = pipe.execute()
        for i, key in enumerate(chunk):
            value, ttl = values[key]
            got, pttl = replies[2 * i], replies[2 * i + 1]
            if got != value:
                problems.append(f"{label}: {key!r}: value {len(got or b'')} bytes, "
                                f"want {len(value)}")
            elif ttl is None and pttl != -1:
                problems.append(f"{label}: {key!r}: TTL {pttl}, want none")
            elif ttl is not None and not (0 < pttl <= ttl and ttl - pttl < TTL_SLACK_MS):
                problems.append(f"{label}: {key!r}: TTL {pttl}, want about {ttl}")
    return problems


def check_redis_to_xdpkv(tmp, rng):
    """redis-server 7.0 -> dump -> xdpkv."""
    problems = []
    values = string_values(rng, 3000)
    typed = rdb_values.typed_values(rng, 2000)
    typed[(1, b"db1-key")] = ("string", b"v", None)
    # Elements past the packed threshold: quicklist plain nodes.
    typed[(3, b"list:plain")] = ("list", [b"p" * 2000, b"small", rng.randbytes(5000)], None)
    started = loopback.start_redis(["--rdbcompression", "yes", "--enable-debug-command", "yes"])
    try:
        client = redis.Redis(port=started.port, socket_timeout=WAIT_S)
        client.execute_command("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1000")
        write_strings(client, values)
        rdb_values.write(started.port, typed)
        seen = rdb_values.encodings(started.port, typed)
        if seen != rdb_values.WANT_ENCODINGS:
            problems.append(f"redis-server holds the keys as {seen}, want "
                            f"{rdb_values.WANT_ENCODINGS}")
        # Past xdpkv's value limit (-I 1 MiB): skipped, counted.
        client.rpush("too-big", *[b"x" * 1000 for _ in range(2000)])
        client.xadd("st", {"f": "v"})  # a stream with a group: skipped, counted
        client.xgroup_create("st", "g", id="0")
        client.xreadgroup("g", "c", {"st": ">"}, count=1)
        for i in range(20):  # expire before the load
            client.set(b"gone:%d" % i, b"x" * i, px=200)
        client.function_load("#!lua name=lib\nredis.register_function('f', function() return 1 end)")
        client.save()
        dump = os.path.join(tmp, "redis.rdb")
        shutil.copy(os.path.join(started.workdir, "dump.rdb"), dump)
    finally:
        loopback.stop(started)
        started.cleanup()
    raw_bytes = sum(len(v) for v, _ in values.values()) + rdb_values.raw_bytes(typed)
    if os.path.getsize(dump) >= raw_bytes:
        problems.append("redis-server's dump is not smaller than its data: no LZF in it?")
    time.sleep(0.5)  # the gone:* keys' TTLs run out
    pin = f"/sys/fs/bpf/xdpkv-rdb-{os.getpid()}-a"
    server = xdpkv(pin, ["--load-rdb", dump])
    try:
        problems += compare_strings(server.client, values, "redis -> xdpkv")
        problems += rdb_values.compare(server.resp_port, typed, "redis -> xdpkv")
        problems += rdb_values.check_dbsize(server.resp_port, typed, "redis -> xdpkv",
                                            extra={0: len(values)})
        info = server.client.info("persistence")
        if info.get("xdpkv_rdb_last_load_keys_skipped") != 2:  # the stream, too-big
            problems.append(f"redis -> xdpkv: {info.get('xdpkv_rdb_last_load_keys_skipped')} "
                            "keys reported skipped, want 2")
        if info.get("rdb_last_load_keys_expired") != 20:
            problems.append(f"redis -> xdpkv: {info.get('rdb_last_load_keys_expired')} expired "
                            "keys dropped, want 20")
        if info.get("rdb_last_load_keys_loaded") != len(values) + len(typed):
            problems.append(f"redis -> xdpkv: {info.get('rdb_last_load_keys_loaded')} loaded, "
                            f"want {len(values) + len(typed)}")
    finally:
        code, output = stop(server)
        shutil.rmtree(pin, ignore_errors=True)
    for want in ("skipped 1 keys of type stream ", "skipped 1 function libraries",
                 "skipped 1 keys that are empty or over 250 bytes, or whose value is over"):
        if want not in output:
            problems.append(f"redis -> xdpkv: no warning '{want}' in: {output[-2000:]}")
    return problems


def check_xdpkv_to_redis_and_back(tmp, rng):
    """xdpkv -> dump -> redis-server (and redis-check-rdb); then the same
    dump after a reboot-like restart of xdpkv: flags and CAS too."""
    problems = []
    values = string_values(rng, 3000)
    typed = rdb_values.typed_values(rng, 2000)
    pin = f"/sys/fs/bpf/xdpkv-rdb-{os.getpid()}-b"
    dump_dir = os.path.join(tmp, "xdpkv")
    os.mkdir(dump_dir)
    server = xdpkv(pin, ["--dir", dump_dir, "--save", "3600 1"])
    try:
        write_strings(server.client, values)
        rdb_values.write(server.resp_port, typed)
        mc = {}
        for i in range(50):  # memcached items with flags
            key = b"mc:%d" % i
            value = b"v" * (i * 40)
            reply = memcache(server.mc_port, b"set %s %d 0 %d\r\n%s\r\n"
                             % (key, i * 1000003 % 2**32, len(value), value), until=b"\r\n")
            if reply != b"STORED\r\n":
                problems.append(f"memcached set {key!r}: {reply!r}")
            mc[key] = gets(server.mc_port, key)
    finally:
        code, output = stop(server)  # SIGTERM with a schedule: saves, as Redis
    if code != 0 or "DB saved on disk" not in output:
        return problems + [f"xdpkv did not save at SIGTERM (exit {code}): {output}"]
    dump = os.path.join(dump_dir, "dump.rdb")

    check = subprocess.run(["redis-check-rdb", dump], capture_output=True, text=True,
                           timeout=WAIT_S)
    if check.returncode != 0 or "RDB looks OK" not in check.stdout:
        problems.append(f"redis-check-rdb: {check.stdout}{check.stderr}")
    elif f"{len(values) + len(mc) + len(typed)} keys read" not in check.stdout:
        problems.append(f"redis-check-rdb read another count: {check.stdout[-300:]}")

    started = loopback.start_redis(["--dir", dump_dir, "--dbfilename", "dump.rdb"])
    try:
        client = redis.Redis(port=started.port, socket_timeout=WAIT_S)
        problems += compare_strings(client, values, "xdpkv -> redis")
        problems += rdb_values.compare(started.port, typed, "xdpkv -> redis")
        problems += rdb_values.check_dbsize(started.port, typed, "xdpkv -> redis",
                                            extra={0: len(values) + len(mc)})
        for key, (flags, value, cas) in ((k, (v[0], v[2], v[1])) for k, v in mc.items()):
            if client.get(key) != value:
                problems.append(f"xdpkv -> redis: {key!r}")
    finally:
        loopback.stop(started)
        started.cleanup()

    # A reboot-like restart: the pinned maps gone (bpffs is empty after a
    # reboot), the dump there.
    shutil.rmtree(pin, ignore_errors=True)
    server = xdpkv(pin, ["--dir", dump_dir], fresh=False)
    try:
        problems += compare_strings(server.client, values, "xdpkv -> xdpkv")
        problems += rdb_values.compare(server.resp_port, typed, "xdpkv -> xdpkv")
        problems += rdb_values.check_dbsize(server.resp_port, typed, "xdpkv -> xdpkv",
                                            extra={0: len(values) + len(mc)})
        for key, want in mc.items():
            got = gets(server.mc_port, key)
            if got != want:
                problems.append(f"xdpkv -> xdpkv: {key!r}: gets {got!r}, want {want!r}")
        # A write after the load gets a CAS above every restored one.
        memcache(server.mc_port, b"set after 0 0 1\r\nx\r\n", until=b"\r\n")
        after = gets(server.mc_port, b"after")
        if after is None or after[1] <= max(v[1] for v in mc.values()):
            problems.append(f"xdpkv -> xdpkv: a new CAS {after} not above the restored ones")
    finally:
        stop(server)
    # Restarted without --fresh: the pinned store is kept, the dump not read.
    server = xdpkv(pin, ["--dir", dump_dir], fresh=False)
    try:
        if server.client.get("after") != b"x":
            problems.append("restart without --fresh: the pinned store was not kept")
    finally:
        _, output = stop(server)
        shutil.rmtree(pin, ignore_errors=True)
    if "loading" in output:
        problems.append(f"restart without --fresh loaded the dump over the pinned store: {output}")
    return problems


def check_crash_safety(tmp, rng):
    """kill -9 during BGSAVE; truncated and bit-flipped dumps."""
    problems = []
    pin = f"/sys/fs/bpf/xdpkv-rdb-{os.getpid()}-c"
    dump_dir = os.path.join(tmp, "crash")
    os.mkdir(dump_dir)
    dump = os.path.join(dump_dir, "dump.rdb")
    server = xdpkv(pin, ["--dir", dump_dir, "--rdbcompression", "no", "-m", "1024"])
    try:
        server.client.set("generation", "1")
        server.client.save()
        with open(dump, "rb") as f:
            previous = f.read()
        # Enough data that a save takes a while: 300 MiB of values (each
        # takes 2 MiB of the store: -m 1024).
        blob = rng.randbytes(MIB)
        pipe = server.client.pipeline(transaction=False)
        for i in range(300):
            pipe.set(f"bulk:{i}", blob[i:] + blob[:i])
            if i % 20 == 19:
                pipe.execute()
        pipe.execute()
        server.client.set("generation", "2")
        server.client.bgsave()
        temp = os.path.join(dump_dir, f"temp-{server.proc.pid}.rdb")
        end = time.monotonic() + WAIT_S
        while time.monotonic() < end and not (os.path.exists(temp)
                                              and os.path.getsize(temp) > 10 * MIB):
            time.sleep(0.005)
        if not os.path.exists(temp):
            problems.append("BGSAVE: no temporary file seen before the kill")
        server.proc.kill()  # -9, mid-save
        server.proc.wait()
    finally:
        server.cleanup()
        shutil.rmtree(pin, ignore_errors=True)
    with open(dump, "rb") as f:
        if f.read() != previous:
            problems.append("kill -9 during BGSAVE changed the previous dump")
    for leftover in os.listdir(dump_dir):
        if leftover.startswith("temp-"):
            os.unlink(os.path.join(dump_dir, leftover))
    server = xdpkv(pin, ["--dir", dump_dir])
    try:
        if server.client.get("generation") != b"1" or server.client.dbsize() != 1:
            problems.append("the previous dump did not load after the kill")
    finally:
        stop(server)
        shutil.rmtree(pin, ignore_errors=True)

    # Truncated and bit-flipped: refused, nothing pinned, the good one loads.
    bad_dir = os.path.join(tmp, "bad")
    os.mkdir(bad_dir)
    cases = {"truncated": previous[:len(previous) - 3],
             "bit-flipped": previous[:20] + bytes([previous[20] ^ 0x04]) + previous[21:],
             "empty": b""}
    for name, data in cases.items():
        with open(os.path.join(bad_dir, "dump.rdb"), "wb") as f:
            f.write(data)
        code, output = run_xdpkv_to_exit(pin, ["--dir", bad_dir])
        if code == 0 or "refusing to start" not in output:
            problems.append(f"{name} dump: exit {code}: {output}")
        if os.path.exists(os.path.join(pin, "xdpkv_items_k16")):
            problems.append(f"{name} dump: a store was left pinned")
    server = xdpkv(pin, ["--dir", dump_dir])
    try:
        if server.client.get("generation") != b"1":
            problems.append("a good dump did not load after a refused start")
    finally:
        stop(server)
        shutil.rmtree(pin, ignore_errors=True)
    return problems


def check_shutdown(tmp):
    """SHUTDOWN SAVE saves and stops; --load-rdb over a kept store is refused."""
    problems = []
    pin = f"/sys/fs/bpf/xdpkv-rdb-{os.getpid()}-d"
    dump_dir = os.path.join(tmp, "shutdown")
    os.mkdir(dump_dir)
    server = xdpkv(pin, ["--dir", dump_dir])
    try:
        server.client.set("k", "v")
        try:
            server.client.execute_command("SHUTDOWN", "SAVE")
        except redis.ConnectionError:
            pass  # as with redis-server: no reply, the connection closes
        code = server.proc.wait(timeout=WAIT_S)
        if code != 0:
            problems.append(f"SHUTDOWN SAVE: exit {code}")
    finally:
        stop(server)
    if not os.path.exists(os.path.join(dump_dir, "dump.rdb")):
        problems.append("SHUTDOWN SAVE wrote no dump")
    code, output = subprocess.run(
        [BINARY, "--xdp-mode", "off", "--pin-dir", pin, "-p", "-1", "-U", "-1", "--redis-port",
         "-1", "--load-rdb", os.path.join(dump_dir, "dump.rdb")],
        capture_output=True, text=True, timeout=WAIT_S).returncode, ""
    if code == 0:
        problems.append("--load-rdb over a kept pinned store was not refused")
    shutil.rmtree(pin, ignore_errors=True)
    return problems


def check_kernel_writes(tmp):
    """With XDP on lo: the kernel's SETs count as changes and are saved."""
    problems = []
    pin = f"/sys/fs/bpf/xdpkv-rdb-{os.getpid()}-e"
    dump_dir = os.path.join(tmp, "kernel")
    os.mkdir(dump_dir)
    started = loopback.start_xdpkv(BINARY, ["--pin-dir", pin, "--fresh", "--dir", dump_dir])
    try:
        client = redis.Redis(port=started.resp_port, socket_timeout=WAIT_S)
        before = client.info("persistence")["rdb_changes_since_last_save"]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(5)
            for i in range(10):
                udp.sendto(b"\0\1\0\0\0\1\0\0" + b"set kernel:%d 7 0 2\r\nkv\r\n" % i,
                           ("127.0.0.1", started.ports["UDP INET"]))
                reply = udp.recv(2048)[8:]
                if reply != b"STORED\r\n":
                    problems.append(f"UDP set: {reply!r}")
        sets = client.info("xdp").get("xdp_memcache_sets", 0)
        if sets != 10:
            problems.append(f"the kernel answered {sets} of the 10 SETs (XDP on lo?)")
        changes = client.info("persistence")["rdb_changes_since_last_save"] - before
        if changes != 10:
            problems.append(f"rdb_changes_since_last_save grew by {changes}, want 10")
        client.save()
        if client.info("persistence")["rdb_changes_since_last_save"] != 0:
            problems.append("rdb_changes_since_last_save not 0 after SAVE")
    finally:
        stop(started)
    shutil.rmtree(pin, ignore_errors=True)
    server = xdpkv(pin, ["--dir", dump_dir], fresh=False)
    try:
        for i in range(10):
            if gets(server.mc_port, b"kernel:%d" % i)[::2] != (7, b"kv"):
                problems.append(f"kernel:{i} not in the dump with its flags")
    finally:
        stop(server)
        shutil.rmtree(pin, ignore_errors=True)
    return problems


def main():
    if os.geteuid() != 0:
        print("rdb interop: skipped: needs root (the server loads BPF)")
        return 77
    rng = random.Random(15)
    passed = failed = 0
    tmp = tempfile.mkdtemp(prefix="xdpkv-rdb-")
    try:
        for name, check in (("redis-server -> xdpkv", check_redis_to_xdpkv),
                            ("xdpkv -> redis-server -> xdpkv", check_xdpkv_to_redis_and_back),
                            ("crash safety", check_crash_safety),
                            ("shutdown", lambda tmp, rng: check_shutdown(tmp)),
                            ("kernel writes (XDP on lo)",
                             lambda tmp, rng: check_kernel_writes(tmp))):
            started = time.monotonic()
            try:
                problems = check(tmp, rng)
            except Exception:  # noqa: BLE001 - reported as a failure with its trace
                problems = [traceback.format_exc()]
            took = time.monotonic() - started
            if problems:
                failed += 1
                print(f"FAIL {name} ({took:.1f} s):")
                for problem in problems[:20]:
                    print(f"  {problem}")
                if len(problems) > 20:
                    print(f"  ... and {len(problems) - 20} more")
            else:
                passed += 1
                print(f"ok   {name} ({took:.1f} s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        # A check that failed midway leaves its pin directory: every one of
        # this run's goes (they are named by our pid).
        for suffix in "abcde":
            shutil.rmtree(f"/sys/fs/bpf/xdpkv-rdb-{os.getpid()}-{suffix}", ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
