#!/usr/bin/python3
"""Blocking list and sorted-set commands the way applications use them,
with redis-py against the real xdpkv binary (--xdp-mode off) and
redis-server 7.0 side by side:

  - a job queue: producers RPUSH jobs, consumers BLPOP them with a
    timeout until the queue stays empty; every job must be consumed
    exactly once (counted and printed per consumer);
  - timeouts: BLPOP, BRPOPLPUSH, BLMOVE, BZPOPMIN and BLMPOP on empty keys
    answer nil once their timeout passes;
  - fairness: clients parked one after another on a key get the elements
    of one push in the order they parked;
  - a reliable queue: BLMOVE into a processing list, LREM when done;
  - inside MULTI a blocking command answers nil at once;
  - a client that disconnects while parked takes nothing.

Waits are bounded (socket timeouts, joins with a limit); nothing asserts
how long a timeout took. Exit code 77 (CTest's skip) without root.

  job_queue_test.py XDPKV_BINARY
"""
import os
import socket
import sys
import threading
import time

import loopback  # compat-tests/loopback.py

import redis

BINARY = sys.argv[1] if len(sys.argv) > 1 else "build/bin/xdpkv"
PRODUCERS = 3
JOBS_PER_PRODUCER = 300
CONSUMERS = 4
WAIT_S = 30  # the bound on any one wait


def client(port):
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=WAIT_S)


def wait_parked(r, count):
    """Until `count` clients are parked (INFO clients' blocked_clients)."""
    end = time.monotonic() + WAIT_S
    while r.info("clients")["blocked_clients"] != count:
        if time.monotonic() > end:
            raise TimeoutError(f"{count} clients never parked")
        time.sleep(0.01)


def job_queue(port):
    """Returns (jobs consumed per consumer, duplicates, missing)."""
    r = client(port)
    r.delete("jobs")
    consumed = [[] for _ in range(CONSUMERS)]
    producing = [PRODUCERS]
    lock = threading.Lock()

    def produce(n):
        p = client(port)
        for j in range(JOBS_PER_PRODUCER):
            p.rpush("jobs", f"p{n}:{j}")
        with lock:
            producing[0] -= 1

    def consume(n):
        c = client(port)
        while True:
            job = c.blpop("jobs", timeout=0.25)
            if job is not None:
                consumed[n].append(job[1].decode())
                continue
            with lock:
                if producing[0] == 0:
                    break
        # Whatever was pushed after the last timeout is taken too.
        while (job := c.lpop("jobs")) is not None:
            consumed[n].append(job.decode())

    threads = [threading.Thread(target=consume, args=(n,)) for n in range(CONSUMERS)]
    threads += [threading.Thread(target=produce, args=(n,)) for n in range(PRODUCERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_S * 4)
        if t.is_alive():
            raise TimeoutError("a producer or consumer did not finish")
    everything = [job for jobs in consumed for job in jobs]
    expected = {f"p{n}:{j}" for n in range(PRODUCERS) for j in range(JOBS_PER_PRODUCER)}
    return [len(jobs) for jobs in consumed], len(everything) - len(set(everything)), \
        len(expected - set(everything))


def timeouts(port):
    r = client(port)
    r.delete("empty", "empty2", "dst")
    return [r.blpop("empty", timeout=0.1), r.brpoplpush("empty", "dst", timeout=0.1),
            r.blmove("empty", "dst", 0.1, "LEFT", "RIGHT"), r.bzpopmin("empty", timeout=0.1),
            r.execute_command("BLMPOP", "0.1", "2", "empty", "empty2", "LEFT"),
            r.exists("dst")]


def in_order(port, key, parker, push):
    """Clients parked on `key` one by one, then one push: what each got."""
    r = client(port)
    r.delete(key)
    got = [None] * 3

    def park(n):
        got[n] = parker(client(port), n)

    threads = []
    for n in range(3):
        threads.append(threading.Thread(target=park, args=(n,)))
        threads[-1].start()
        wait_parked(r, n + 1)
    push(r)
    for t in threads:
        t.join(WAIT_S)
    return got


def fairness(port):
    lists = in_order(port, "fair", lambda c, n: c.blpop(["other", "fair"], timeout=0),
                     lambda r: r.rpush("fair", "a", "b", "c"))
    zsets = in_order(port, "zfair", lambda c, n: c.bzpopmax("zfair", timeout=0),
                     lambda r: r.zadd("zfair", {"x": 1, "y": 2, "z": 3}))
    return lists, zsets


def reliable_queue(port):
    r = client(port)
    r.delete("tasks", "processing")
    got = []
    worker = threading.Thread(
        target=lambda: got.append(client(port).blmove("tasks", "processing", 0, "RIGHT", "LEFT")))
    worker.start()
    wait_parked(r, 1)
    r.lpush("tasks", "t1", "t2")
    worker.join(WAIT_S)
    in_flight = r.lrange("processing", 0, -1)
    r.lrem("processing", 1, got[0])
    return got, in_flight, r.lrange("tasks", 0, -1), r.llen("processing")


def in_multi(port):
    r = client(port)
    r.delete("nothing")
    with r.pipeline() as pipe:  # MULTI ... EXEC
        pipe.blpop("nothing", timeout=0).brpoplpush("nothing", "d", timeout=0)
        pipe.bzpopmin("nothing", timeout=0)
        return pipe.execute()


def disconnected(port):
    r = client(port)
    r.delete("left")
    gone = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
    gone.sendall(b"*3\r\n$5\r\nBLPOP\r\n$4\r\nleft\r\n$1\r\n0\r\n")
    wait_parked(r, 1)
    gone.close()
    wait_parked(r, 0)
    r.rpush("left", "kept")
    return r.lrange("left", 0, -1)


def run(port):
    results = {}
    counts, duplicates, missing = job_queue(port)
    print(f"  job queue: {PRODUCERS}x{JOBS_PER_PRODUCER} jobs, consumed per consumer {counts}, "
          f"{duplicates} twice, {missing} never", flush=True)
    results["job queue"] = (sum(counts), duplicates, missing)
    results["timeouts"] = timeouts(port)
    results["fairness"] = fairness(port)
    results["reliable queue"] = reliable_queue(port)
    results["in MULTI"] = in_multi(port)
    results["disconnected"] = disconnected(port)
    return results


def main():
    if os.geteuid() != 0:
        print("skipped: xdpkv's store is BPF maps, which need root (CAP_BPF) here")
        return 77
    expected, got = loopback.run_beside_redis(BINARY, "jobqueue", run, announce=True)
    failures = 0
    total = PRODUCERS * JOBS_PER_PRODUCER
    if got["job queue"] != (total, 0, 0):
        print(f"FAIL job queue: {got['job queue']}, want ({total}, 0, 0)")
        failures += 1
    for name, want in expected.items():
        if got[name] != want:
            print(f"FAIL {name}: xdpkv {got[name]!r}, redis-server {want!r}")
            failures += 1
        else:
            print(f"ok   {name}: {got[name]!r}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
