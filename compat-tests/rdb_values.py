"""Generated keys of every type for compat-tests/rdb_interop.py: written
into a server through redis-py and compared key by key against another
server that loaded them from a dump.

Values are {(db, key): (kind, value, ttl_ms or None)}, kind one of
string, hash, list, set, zset. Collections come small (redis-server keeps
them as listpacks and intsets, and writes them so) and big (hash tables,
skiplists, quicklists of many nodes, sets past 512 integers), with
integer-like and binary elements, empty strings, infinite scores, in
several databases.
"""
import redis

TTL_SLACK_MS = 30_000  # TTLs compared across servers: the test's own duration at most
KINDS = ("hash", "list", "set", "zset")


def _element(rng, width):
    if rng.random() < 0.3:
        return str(rng.randrange(-100_000, 100_000)).encode()  # listpack/ziplist integers
    return rng.randbytes(rng.randrange(0, width))


def typed_values(rng, count, dbs=(0, 1, 3, 15)):
    """`count` collections spread over `dbs`, the issue's two hashes (one
    of 1000 fields and one of 3), and a list near xdpkv's value limit."""
    values = {}
    for i in range(count):
        db = dbs[i % len(dbs)]
        kind = KINDS[(i // len(dbs)) % len(KINDS)]
        big = i % 10 == 0
        n = rng.randrange(200, 1200) if big else rng.randrange(1, 20)
        width = 100 if big and i % 20 == 0 else 12  # past 64 bytes: no listpack
        if kind == "hash":
            value = {b"f%d" % j: _element(rng, width) for j in range(n)}
        elif kind == "list":
            value = [_element(rng, width) for _ in range(n)]
        elif kind == "set":
            if i % 3 == 0:  # integers: an intset up to 512 of them, past that a hash table
                value = {str(rng.randrange(-2**40, 2**40)).encode() for _ in range(n)}
            else:
                value = {_element(rng, width) for _ in range(n)}
        else:
            value = {b"m%d" % j: rng.choice([rng.randrange(-100, 100), rng.uniform(-1e6, 1e6),
                                             float("inf"), float("-inf")])
                     for j in range(n)}
        ttl = rng.randrange(600_000, 7_200_000) if i % 3 == 0 else None
        values[(db, b"%s:%d" % (kind.encode(), i))] = (kind, value, ttl)
    values[(0, b"hash:1000")] = ("hash", {b"field:%d" % j: b"v%d" % j for j in range(1000)}, None)
    values[(0, b"hash:3")] = ("hash", {b"a": b"1", b"b": b"", b"c": b"x" * 10}, 3_600_000)
    # Near xdpkv's 1 MiB value limit as xdpkv encodes it (9000 x (4 + 100)).
    values[(3, b"list:900k")] = ("list", [rng.randbytes(100) for _ in range(9000)], None)
    return values


def write(port, values):
    clients = {}
    pipes = {}
    for n, ((db, key), (kind, value, ttl)) in enumerate(values.items()):
        if db not in pipes:
            clients[db] = redis.Redis(port=port, db=db, socket_timeout=60)
            pipes[db] = clients[db].pipeline(transaction=False)
        pipe = pipes[db]
        if kind == "string":
            pipe.set(key, value)
        elif kind == "hash":
            pipe.hset(key, mapping=value)
        elif kind == "list":
            pipe.rpush(key, *value)
        elif kind == "set":
            pipe.sadd(key, *value)
        else:
            pipe.zadd(key, value)
        if ttl is not None:
            pipe.pexpire(key, ttl)
        if n % 100 == 99:
            pipe.execute()
    for pipe in pipes.values():
        pipe.execute()


def _read(pipe, kind, key):
    if kind == "string":
        pipe.get(key)
    elif kind == "hash":
        pipe.hgetall(key)
    elif kind == "list":
        pipe.lrange(key, 0, -1)
    elif kind == "set":
        pipe.smembers(key)
    else:
        pipe.zrange(key, 0, -1, withscores=True)


def _same(kind, got, value):
    if kind == "set":
        return sorted(got) == sorted(value)
    if kind == "zset":  # by score, then by member's bytes
        return got == sorted(value.items(), key=lambda kv: (kv[1], kv[0]))
    return got == value


def compare(port, values, label):
    """Every key's value (its type's read) and TTL; returns a list of problems."""
    problems = []
    by_db = {}
    for (db, key), entry in values.items():
        by_db.setdefault(db, []).append((key, entry))
    for db, entries in sorted(by_db.items()):
        client = redis.Redis(port=port, db=db, socket_timeout=60)
        for start in range(0, len(entries), 100):
            chunk = entries[start:start + 100]
            pipe = client.pipeline(transaction=False)
            for key, (kind, _, _) in chunk:
                _read(pipe, kind, key)
                pipe.pttl(key)
            replies = pipe.execute(raise_on_error=False)
            for i, (key, (kind, value, ttl)) in enumerate(chunk):
                got, pttl = replies[2 * i], replies[2 * i + 1]
                if isinstance(got, Exception) or not _same(kind, got, value):
                    shown = got if isinstance(got, Exception) else f"{len(got)} elements"
                    problems.append(f"{label}: db {db} {kind} {key!r}: {shown}, "
                                    f"want {len(value)} elements")
                elif ttl is None and pttl != -1:
                    problems.append(f"{label}: db {db} {key!r}: TTL {pttl}, want none")
                elif ttl is not None and not (0 < pttl <= ttl and ttl - pttl < TTL_SLACK_MS):
                    problems.append(f"{label}: db {db} {key!r}: TTL {pttl}, want about {ttl}")
    return problems


# What redis-server 7.0 must hold them in, so that its dump has each
# type's compact and full encodings (lists are always quicklists in 7.0:
# their nodes are listpacks, or plain for big elements).
WANT_ENCODINGS = {"hash": {"listpack", "hashtable"}, "list": {"quicklist"},
                  "set": {"intset", "hashtable"}, "zset": {"listpack", "skiplist"}}


def encodings(port, values):
    """{kind: the set of OBJECT ENCODINGs redis-server gave its keys}."""
    seen = {}
    for (db, key), (kind, _, _) in values.items():
        if kind == "string":
            continue
        encoding = redis.Redis(port=port, db=db).object("encoding", key).decode()
        seen.setdefault(kind, set()).add(encoding)
    return seen


def raw_bytes(values):
    """The keys' and elements' bytes (scores as 8)."""
    total = 0
    for (_, key), (kind, value, _) in values.items():
        total += len(key)
        if kind == "string":
            total += len(value)
        elif kind in ("hash", "zset"):
            total += sum(len(k) + (8 if kind == "zset" else len(v)) for k, v in value.items())
        else:
            total += sum(len(e) for e in value)
    return total


def keys_per_db(values):
    counts = {}
    for db, _ in values:
        counts[db] = counts.get(db, 0) + 1
    return counts


def check_dbsize(port, values, label, extra=None):
    """DBSIZE of each database `values` uses: its keys (+ `extra`: {db: n})."""
    problems = []
    want = keys_per_db(values)
    for db, n in (extra or {}).items():
        want[db] = want.get(db, 0) + n
    for db, n in sorted(want.items()):
        got = redis.Redis(port=port, db=db, socket_timeout=60).dbsize()
        if got != n:
            problems.append(f"{label}: db {db}: DBSIZE {got}, want {n}")
    return problems
