#!/usr/bin/python3
"""RDB save and load speed, xdpkv beside redis-server 7.0 on the same data
(issue 15's measure): N items of 16-byte keys and 128-byte values (random
letters and digits: LZF gains little), written with `redis-cli --pipe`.

xdpkv (--xdp-mode off; the store is the same BPF maps either way): SAVE and
BGSAVE as the client sees them, then the load at start of a fresh store
(the server's own "loaded N keys ... in S s" line). redis-server: SAVE, DEBUG
RELOAD (save + flush + load), and the load at start ("DB loaded from disk").
Both with rdbcompression yes (the default). Writes bench/results/rdb-speed.json
(or --out).

--kind hash|list|set|zset makes each item a collection of 8 elements of 16
bytes (hash: 8 fields of 8 bytes with 16-byte values; zset: integer scores)
instead of a string: the collections' save and load.

  bench/rdb-speed.py XDPKV_BINARY [--items N] [--kind KIND] [--out PATH]
"""
import json
import os
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "compat-tests"))
import loopback  # noqa: E402
import redis  # noqa: E402

WAIT_S = 600


def command(*args):
    out = b"*%d\r\n" % len(args)
    for arg in args:
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out


def protocol_file(path, items, kind):
    rng = random.Random(1)
    letters = (string.ascii_letters + string.digits).encode()
    with open(path, "wb") as f:
        for i in range(items):
            key = b"key:%012d" % i  # 16 bytes
            if kind == "string":
                f.write(command(b"SET", key, bytes(rng.choices(letters, k=128))))
                continue
            elements = [bytes(rng.choices(letters, k=16)) for _ in range(8)]
            if kind == "hash":
                args = [b"HSET", key] + [x for e in elements for x in (e[:8], e)]
            elif kind == "list":
                args = [b"RPUSH", key] + elements
            elif kind == "set":
                args = [b"SADD", key] + elements
            else:
                args = [b"ZADD", key] + [x for n, e in enumerate(elements)
                                         for x in (str(n).encode(), e)]
            f.write(command(*args))


def fill(port, path):
    with open(path, "rb") as f:
        subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f, check=True,
                       stdout=subprocess.DEVNULL, timeout=WAIT_S)


def timed(fn):
    start = time.monotonic()
    fn()
    return time.monotonic() - start


def wait_bgsave(client):
    end = time.monotonic() + WAIT_S
    while time.monotonic() < end and client.info("persistence")["rdb_bgsave_in_progress"]:
        time.sleep(0.01)


def rates(items, size, seconds):
    return {"seconds": round(seconds, 3), "keys_per_s": round(items / seconds),
            "mb_per_s": round(size / seconds / 1e6, 1)}


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/bin/xdpkv"
    items = int(sys.argv[sys.argv.index("--items") + 1]) if "--items" in sys.argv else 1_000_000
    kind = sys.argv[sys.argv.index("--kind") + 1] if "--kind" in sys.argv else "string"
    out = (sys.argv[sys.argv.index("--out") + 1] if "--out" in sys.argv
           else os.path.join(os.path.dirname(__file__), "results", "rdb-speed.json"))
    tmp = tempfile.mkdtemp(prefix="xdpkv-rdb-speed-")
    pin = f"/sys/fs/bpf/xdpkv-rdb-speed-{os.getpid()}"
    results = {"items": items, "kind": kind, "key_bytes": 16,
               "value_bytes": 128 if kind == "string" else "8 elements of 16"}
    try:
        proto = os.path.join(tmp, "proto")
        protocol_file(proto, items, kind)
        # xdpkv
        args = ["--xdp-mode", "off", "--pin-dir", pin, "--fresh", "-m", "1024", "--dir", tmp]
        server = loopback.start_xdpkv(binary, args)
        client = redis.Redis(port=server.resp_port, socket_timeout=WAIT_S)
        fill(server.resp_port, proto)
        assert client.dbsize() == items, client.dbsize()
        save = timed(client.save)
        size = os.path.getsize(os.path.join(tmp, "dump.rdb"))
        bgsave = timed(lambda: (client.bgsave(), wait_bgsave(client)))
        loopback.stop(server, timeout=WAIT_S)
        server.cleanup()
        server = loopback.start_xdpkv(binary, args)
        loaded = re.search(r"loaded (\d+) keys .* in ([\d.]+) s", server.output())
        assert loaded and int(loaded.group(1)) == items, server.output()
        results["xdpkv"] = {"file_bytes": size, "save": rates(items, size, save),
                            "bgsave": rates(items, size, bgsave),
                            "load_at_start": rates(items, size, float(loaded.group(2)))}
        loopback.stop(server, timeout=WAIT_S)
        server.cleanup()
        shutil.rmtree(pin, ignore_errors=True)
        os.unlink(os.path.join(tmp, "dump.rdb"))
        # redis-server
        server = loopback.start_redis(["--enable-debug-command", "yes"])
        client = redis.Redis(port=server.port, socket_timeout=WAIT_S)
        fill(server.port, proto)
        assert client.dbsize() == items
        save = timed(client.save)
        size = os.path.getsize(os.path.join(server.workdir, "dump.rdb"))
        reload = timed(lambda: client.execute_command("DEBUG", "RELOAD"))
        dump = os.path.join(tmp, "redis.rdb")
        shutil.copy(os.path.join(server.workdir, "dump.rdb"), dump)
        loopback.stop(server, timeout=WAIT_S)
        server.cleanup()
        server = loopback.start_redis(["--dir", tmp, "--dbfilename", "redis.rdb"])
        loaded = re.search(r"DB loaded from disk: ([\d.]+) seconds", server.output())
        results["redis-server"] = {"file_bytes": size, "save": rates(items, size, save),
                                   "debug_reload": rates(items, size, reload),
                                   "load_at_start": rates(items, size, float(loaded.group(1)))}
        loopback.stop(server, timeout=WAIT_S)
        server.cleanup()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(pin, ignore_errors=True)
    results["measured"] = time.strftime("%Y-%m-%d")
    print(json.dumps(results, indent=2))
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
