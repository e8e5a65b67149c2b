#!/usr/bin/python3
"""Hashes and sorted sets the way applications use them, with redis-py
against the real xdpkv binary (--xdp-mode off) and redis-server 7.0 side by
side, results compared:

  - a session store: each session a hash (HSET mapping, HGETALL,
    HINCRBY of a hit counter, HDEL on logout) with an EXPIRE that is
    refreshed on every request (TTL read back), sessions listed with SCAN
    MATCH/TYPE, logged-out ones deleted;
  - a leaderboard: ZADD of players with scores, ZINCRBY as games end,
    the top ten with ZREVRANGE WITHSCORES, ranks with ZREVRANK, a page of
    ZRANGE BYSCORE LIMIT, ZCOUNT of a band, ZREM of a banned player, all
    in one pipeline per round as web applications batch them.

The workload is seeded and the same on both servers. Exit code 77 (CTest's
skip) without root.

  apps_test.py XDPKV_BINARY
"""
import os
import random
import sys

import loopback  # compat-tests/loopback.py

import redis

BINARY = sys.argv[1] if len(sys.argv) > 1 else "build/bin/xdpkv"
SESSIONS = 200
REQUESTS = 2000
PLAYERS = 150
ROUNDS = 60


def session_store(r, rng):
    """Returns what the application saw, in order."""
    seen = []
    r.flushall()
    for s in range(SESSIONS):
        key = f"session:{s}"
        r.hset(key, mapping={"user": f"u{s}", "cart": "", "hits": 0, "theme": rng.choice("ld")})
        r.expire(key, 1800)
    for _ in range(REQUESTS):
        s = rng.randrange(SESSIONS)
        key = f"session:{s}"
        p = r.pipeline(transaction=False)
        p.hincrby(key, "hits", 1)
        p.hset(key, "cart", rng.choice(["", "a", "a,b", "c"]))
        p.expire(key, 1800)
        p.hgetall(key)
        p.ttl(key)
        hits, _, _, fields, ttl = p.execute()
        # A TTL just set to 1800 reads 1800 (or 1799 if a second ticked).
        seen.append((key, hits, sorted(fields.items()), ttl in (1799, 1800)))
        if rng.random() < 0.02:  # logout
            seen.append(("logout", key, r.hdel(key, "user"), r.delete(key)))
    live = sorted(k.decode() for k in r.scan_iter(match="session:*", _type="hash", count=1000))
    seen.append(("live", live))
    seen.append(("lengths", [r.hlen(k) for k in live[:20]]))
    return seen


def leaderboard(r, rng):
    seen = []
    r.flushall()
    r.zadd("board", {f"p{i}": rng.randint(0, 1000) for i in range(PLAYERS)})
    for round_ in range(ROUNDS):
        p = r.pipeline(transaction=False)
        for _ in range(10):
            p.zincrby("board", rng.randint(-20, 50), f"p{rng.randrange(PLAYERS)}")
        p.zrevrange("board", 0, 9, withscores=True)
        me = f"p{rng.randrange(PLAYERS)}"
        p.zrevrank("board", me)
        p.zscore("board", me)
        p.zrangebyscore("board", 400, 600, start=5, num=10, withscores=True)
        p.zcount("board", "(500", "+inf")
        if round_ % 10 == 9:
            p.zrem("board", f"p{rng.randrange(PLAYERS)}")
        p.zcard("board")
        seen.append(p.execute())
    return seen


def run(port):
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)
    return {"session store": session_store(r, random.Random(17)),
            "leaderboard": leaderboard(r, random.Random(23))}


def main():
    if os.geteuid() != 0:
        print("skipped: xdpkv's store is BPF maps, which need root (CAP_BPF) here")
        return 77
    expected, got = loopback.run_beside_redis(BINARY, "apps", run)
    failures = 0
    for name, want in expected.items():
        steps = len(want)
        differing = [i for i in range(max(steps, len(got[name])))
                     if i >= steps or i >= len(got[name]) or got[name][i] != want[i]]
        if differing:
            i = differing[0]
            print(f"FAIL {name}: {len(differing)} of {steps} steps differ; first, step {i}:\n"
                  f"     redis-server {want[i] if i < steps else None!r}\n"
                  f"     xdpkv        {got[name][i] if i < len(got[name]) else None!r}")
            failures += 1
        else:
            print(f"ok   {name}: {steps} steps as redis-server's")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
