#!/usr/bin/python3
"""Writes two RDB files holding every compact encoding by hand, for the
reader's tests and the fuzzer's seeds (proxy/rdb/fuzz_corpus/):

  old-encodings.rdb       version 10: what Redis before 7 wrote (ziplists,
                          zipmap, quicklist v1, text zset scores), and
                          Redis 7's listpacks, quicklist v2 with a plain
                          node, intsets of each width, every integer and
                          string form of ziplist and listpack entries.
  redis72-set-listpack.rdb version 11: Redis 7.2's set listpack.

Redis 7.0 cannot write the old encodings but still loads them: with
--check, the first file is loaded into redis-server (and redis-check-rdb)
and each key compared with what this script meant, so the bytes are
Redis's encodings, not only this script's idea of them.

  make_encodings_rdb.py OUT_DIR [--check]
"""
import os
import struct
import subprocess
import sys
import tempfile
import time

# ---- Redis's encodings ----


def rdb_len(n):
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | n >> 8, n & 0xff])
    return b"\x80" + struct.pack(">I", n)


def rdb_str(b):
    return rdb_len(len(b)) + b


def ziplist_entry(prev, v):
    prevlen = bytes([prev]) if prev < 254 else b"\xfe" + struct.pack("<I", prev)
    if isinstance(v, int):
        if 0 <= v <= 12:
            enc = bytes([0xf1 + v])
        elif -128 <= v <= 127:
            enc = b"\xfe" + struct.pack("<b", v)
        elif -2**15 <= v < 2**15:
            enc = b"\xc0" + struct.pack("<h", v)
        elif -2**23 <= v < 2**23:
            enc = b"\xf0" + struct.pack("<i", v)[:3]
        elif -2**31 <= v < 2**31:
            enc = b"\xd0" + struct.pack("<i", v)
        else:
            enc = b"\xe0" + struct.pack("<q", v)
    else:
        n = len(v)
        if n < 64:
            enc = bytes([n]) + v
        elif n < 16384:
            enc = bytes([0x40 | n >> 8, n & 0xff]) + v
        else:
            enc = b"\x80" + struct.pack(">I", n) + v
    return prevlen + enc


def ziplist(values):
    body, prev, tail = b"", 0, 10
    for v in values:
        entry = ziplist_entry(prev, v)
        tail = 10 + len(body)
        body += entry
        prev = len(entry)
    return struct.pack("<IIH", 10 + len(body) + 1, tail, min(len(values), 0xffff)) + body + b"\xff"


def backlen(n):
    size = 1 if n <= 127 else 2 if n < 16383 else 3 if n < 2097151 else 4 if n < 268435455 else 5
    out = []
    for i in range(size):
        bits = (n >> (7 * (size - 1 - i))) & 127
        out.append(bits if i == 0 else bits | 128)
    return bytes(out)


def listpack_entry(v):
    if isinstance(v, int):
        if 0 <= v <= 127:
            enc = bytes([v])
        elif -4096 <= v < 4096:
            u = v & 0x1fff
            enc = bytes([0xc0 | u >> 8, u & 0xff])
        elif -2**15 <= v < 2**15:
            enc = b"\xf1" + struct.pack("<h", v)
        elif -2**23 <= v < 2**23:
            enc = b"\xf2" + struct.pack("<i", v)[:3]
        elif -2**31 <= v < 2**31:
            enc = b"\xf3" + struct.pack("<i", v)
        else:
            enc = b"\xf4" + struct.pack("<q", v)
    else:
        n = len(v)
        if n < 64:
            enc = bytes([0x80 | n]) + v
        elif n < 4096:
            enc = bytes([0xe0 | n >> 8, n & 0xff]) + v
        else:
            enc = b"\xf0" + struct.pack("<I", n) + v
    return enc + backlen(len(enc))


def listpack(values):
    body = b"".join(listpack_entry(v) for v in values)
    return struct.pack("<IH", 6 + len(body) + 1, min(len(values), 0xffff)) + body + b"\xff"


def intset(values, width):
    fmt = {2: "<h", 4: "<i", 8: "<q"}[width]
    return struct.pack("<II", width, len(values)) + b"".join(
        struct.pack(fmt, v) for v in sorted(values))


def zipmap(pairs, free=0):
    def length(n):
        return bytes([n]) if n < 254 else b"\xfe" + struct.pack("<I", n)
    body = b"".join(length(len(k)) + k + length(len(v)) + bytes([free]) + v + b"\0" * free
                    for k, v in pairs)
    return bytes([len(pairs)]) + body + b"\xff"


def crc64(data):
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x95ac9329ac4bc9b5 if crc & 1 else crc >> 1
    return crc


def rdb_file(version, entries):
    body = b"REDIS%04d" % version + b"\xfe\x00\xfb" + rdb_len(len(entries)) + b"\x00"
    for type_byte, key, payload, expire_ms in entries:
        if expire_ms is not None:
            body += b"\xfc" + struct.pack("<Q", expire_ms)
        body += bytes([type_byte]) + rdb_str(key) + payload
    body += b"\xff"
    return body + struct.pack("<Q", crc64(body))


def text(v):
    return v if isinstance(v, bytes) else str(v).encode()


# ---- the keys: (type, key, payload, expiry) and what Redis must show ----
INTS = [0, 12, 13, -1, 127, 128, -129, 4095, -4096, 40000, -8388608, 8388607, 2**31 - 1,
        -2**31, 2**40, -2**63, 2**63 - 1]
STRS = [b"", b"a", b"x" * 63, b"y" * 64, b"z" * 4095, b"w" * 4096, b"v" * 16384, b"007"]
LIST = [b"head"] + INTS + STRS + [b"tail"]
HASH = [(b"f", b"v"), (b"num", 42), (b"neg", -70000), (b"big", b"b" * 300), (b"e", b"")]
ZSET = [(b"m1", -3), (b"m2", b"2.5"), (b"m3", 7), (b"m4", b"1e10")]  # by score
QUICKLIST_NODES = [[b"a", b"b"], [], [1, 2, 3]]


def entries():
    flat_hash = [x for pair in HASH for x in pair]
    flat_zset = [x for pair in ZSET for x in pair]
    return [
        (10, b"list-ziplist", rdb_str(ziplist(LIST)), None),
        (18, b"list-quicklist2", rdb_len(3) + b"\x02" + rdb_str(listpack(LIST)) + b"\x01"
         + rdb_str(b"plain node " * 10) + b"\x02" + rdb_str(listpack([])), 4102444800000),
        (14, b"list-quicklist1", rdb_len(3) + b"".join(rdb_str(ziplist(n))
                                                       for n in QUICKLIST_NODES), None),
        (9, b"hash-zipmap", rdb_str(zipmap([(b"f1", b"v1"), (b"long", b"L" * 300), (b"n", b"")],
                                           free=2)), None),
        (13, b"hash-ziplist", rdb_str(ziplist(flat_hash)), None),
        (16, b"hash-listpack", rdb_str(listpack(flat_hash)), None),
        (12, b"zset-ziplist", rdb_str(ziplist(flat_zset)), None),
        (17, b"zset-listpack", rdb_str(listpack(flat_zset)), None),
        (3, b"zset-text", rdb_len(3) + rdb_str(b"a") + b"\x031.5" + rdb_str(b"b") + b"\xfe"
         + rdb_str(b"c") + b"\xff", None),
        (11, b"set-intset16", rdb_str(intset([-5, 3, 32767], 2)), None),
        (11, b"set-intset32", rdb_str(intset([-2**31, 0, 70000], 4)), None),
        (11, b"set-intset64", rdb_str(intset([-2**63, 1, 2**63 - 1], 8)), None),
    ]


# What each key holds, as Redis's commands show it.
EXPECTED = {
    b"list-ziplist": ("list", [text(v) for v in LIST]),
    b"list-quicklist2": ("list", [text(v) for v in LIST] + [b"plain node " * 10]),
    b"list-quicklist1": ("list", [text(v) for n in QUICKLIST_NODES for v in n]),
    b"hash-zipmap": ("hash", [(b"f1", b"v1"), (b"long", b"L" * 300), (b"n", b"")]),
    b"hash-ziplist": ("hash", [(k, text(v)) for k, v in HASH]),
    b"hash-listpack": ("hash", [(k, text(v)) for k, v in HASH]),
    b"zset-ziplist": ("zset", [(m, float(text(s))) for m, s in ZSET]),
    b"zset-listpack": ("zset", [(m, float(text(s))) for m, s in ZSET]),
    b"zset-text": ("zset", [(b"c", float("-inf")), (b"a", 1.5), (b"b", float("inf"))]),
    b"set-intset16": ("set", [b"-5", b"3", b"32767"]),
    b"set-intset32": ("set", [b"-2147483648", b"0", b"70000"]),
    b"set-intset64": ("set", [b"-9223372036854775808", b"1", b"9223372036854775807"]),
}


def check_with_redis(path):
    """Loads `path` into redis-server 7.0; returns a list of differences."""
    import redis  # python3-redis
    check = subprocess.run(["redis-check-rdb", path], capture_output=True, text=True)
    if "RDB looks OK" not in check.stdout:
        return [f"redis-check-rdb: {check.stdout}{check.stderr}"]
    workdir = tempfile.mkdtemp(prefix="xdpkv-encodings-")
    os.link(path, os.path.join(workdir, "dump.rdb"))
    sock = os.path.join(workdir, "redis.sock")
    proc = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock, "--dir",
                             workdir, "--save", ""], stdout=subprocess.DEVNULL)
    problems = []
    try:
        for _ in range(500):
            if os.path.exists(sock):
                break
            time.sleep(0.01)
        client = redis.Redis(unix_socket_path=sock)
        while client.info("persistence")["loading"]:
            time.sleep(0.01)
        for key, (kind, want) in EXPECTED.items():
            if kind == "list":
                got = client.lrange(key, 0, -1)
            elif kind == "hash":  # a long value makes it a hash table: any order
                got, want = sorted(client.hgetall(key).items()), sorted(want)
            elif kind == "set":
                got, want = sorted(client.smembers(key)), sorted(want)
            else:
                got = client.zrange(key, 0, -1, withscores=True)
            if got != want:
                problems.append(f"{key!r}: redis-server has {got!r}, meant {want!r}")
    finally:
        proc.terminate()
        proc.wait()
        for name in os.listdir(workdir):
            os.unlink(os.path.join(workdir, name))
        os.rmdir(workdir)
    return problems


def main():
    out = sys.argv[1]
    old = os.path.join(out, "old-encodings.rdb")
    with open(old, "wb") as f:
        f.write(rdb_file(10, entries()))
    with open(os.path.join(out, "redis72-set-listpack.rdb"), "wb") as f:
        f.write(rdb_file(11, [(20, b"set-listpack", rdb_str(listpack([b"a", 7, b"b" * 70, -300])),
                               None)]))
    if "--check" in sys.argv:
        problems = check_with_redis(old)
        for problem in problems:
            print(problem)
        print("redis-server 7.0 loads every key as meant" if not problems else "MISMATCH")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
