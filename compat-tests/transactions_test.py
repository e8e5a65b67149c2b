#!/usr/bin/python3
"""Redis transactions the way applications use them, with redis-py against
the real xdpkv binary: a pipeline (redis-py wraps it in MULTI/EXEC), and
money transfers between accounts by several threads at once, each a WATCH /
MULTI / EXEC with retries (redis-py's transaction()). The total must never
change and every EXEC that aborted must have been retried: a stress test
that counts and prints. Runs against redis-server too, side by side, so a
difference in behaviour shows. Exit code 77 (CTest's skip) without root.

  transactions_test.py XDPKV_BINARY
"""
import os
import subprocess
import sys
import threading

import loopback  # compat-tests/loopback.py

import redis

BINARY = sys.argv[1] if len(sys.argv) > 1 else "build/bin/xdpkv"
ACCOUNTS = 5
START_BALANCE = 1000
THREADS = 4
TRANSFERS_PER_THREAD = 300


def pipeline_check(r):
    r.delete("p:a", "p:b")
    with r.pipeline() as pipe:  # transaction=True: MULTI ... EXEC
        pipe.set("p:a", 1).incr("p:a").incrby("p:b", 5).get("p:a").expire("p:a", 100)
        replies = pipe.execute()
    return replies == [True, 2, 5, b"2", True]


def transfers(r):
    """Returns (total after, aborted EXECs retried, transfers done)."""
    for i in range(ACCOUNTS):
        r.set(f"acct:{i}", START_BALANCE)
    retries = [0] * THREADS
    done = [0] * THREADS

    def worker(n):
        client = redis.Redis(host="127.0.0.1", port=r.connection_pool.connection_kwargs["port"])
        for t in range(TRANSFERS_PER_THREAD):
            src, dst = f"acct:{(n + t) % ACCOUNTS}", f"acct:{(n + 2 * t + 1) % ACCOUNTS}"
            if src == dst:
                continue

            def move(pipe):
                balance = int(pipe.get(src))
                pipe.multi()
                pipe.set(src, balance - 1)
                pipe.incr(dst)

            # redis-py retries on WatchError; count the retries ourselves.
            for _ in range(1000):
                try:
                    with client.pipeline() as pipe:
                        pipe.watch(src)
                        move(pipe)
                        pipe.execute()
                    done[n] += 1
                    break
                except redis.WatchError:
                    retries[n] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    total = sum(int(r.get(f"acct:{i}")) for i in range(ACCOUNTS))
    return total, sum(retries), sum(done)


def run(name, port):
    r = redis.Redis(host="127.0.0.1", port=port)
    failures = []
    if not pipeline_check(r):
        failures.append(f"{name}: a MULTI/EXEC pipeline's replies differ")
    total, retries, done = transfers(r)
    print(f"{name}: {done} transfers by {THREADS} threads, {retries} aborted EXECs retried, "
          f"total {total} (want {ACCOUNTS * START_BALANCE})")
    if total != ACCOUNTS * START_BALANCE:
        failures.append(f"{name}: the total changed: {total}")
    return failures


def main():
    if os.geteuid() != 0:
        print("skipped: xdpkv's store is BPF maps, which need root (CAP_BPF) here")
        return 77
    pin_dir = f"/sys/fs/bpf/xdpkv-tx-{os.getpid()}"
    failures = []
    redis_server = loopback.start_redis()
    xdpkv = loopback.start_xdpkv(BINARY, ["--xdp-mode", "off", "-t", "2", "--pin-dir", pin_dir,
                                          "--fresh"])
    try:
        failures += run("redis-server", redis_server.port)
        failures += run("xdpkv", xdpkv.resp_port)
    finally:
        for server in (redis_server, xdpkv):
            loopback.stop(server)
            server.cleanup()
        subprocess.run(["rm", "-rf", pin_dir])
    for failure in failures:
        print("FAIL:", failure)
    print("transactions_test: %s" % ("FAILED" if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
