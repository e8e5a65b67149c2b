"""random_diff.py's generators for strings: the `bits` family (SETBIT
GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO among the string commands
that change the same values) and the `keyspace` family (strings, COPY of
every type, RENAME, MOVE, SELECT, SWAPDB, OBJECT ENCODING, LCS).

A generator is called with the random source and the sequence's state
(a dict, empty when a sequence starts), and returns one command. OBJECT
ENCODING of a string depends on its history in Redis, not only on its
value (a string grown in place is "raw"; docs/protocols.md): the state
remembers which keys such a write touched, and OBJECT ENCODING of one of
them is returned as a Loose command, compared only as "some string
encoding".
"""

KEYS = ["k1", "k2", "k3", "str"]


class Loose(list):
    """A command whose reply is compared by its kind only (normalize in
    random_diff.py)."""


def key(r):
    return r.choice(KEYS) if r.random() < 0.9 else "missing"


def value(r):
    return r.choice(["", "a", "foobar", "\x00\xff", "12", "-7", "0", "x" * 50, "ab\r\nc",
                     "\u00e9t\u00e9", str(r.randint(-100, 100))])


def bit_offset(r):
    return str(r.choice([0, 1, 7, 8, 9, 15, 16, 31, 63, 64, r.randint(0, 100)]))


def signed(r):
    return str(r.choice([0, 1, -1, 2, -2, 5, 100, -100, 127, 128, -129, 255, 1 << 31,
                         (1 << 63) - 1, -(1 << 63), r.randint(-300, 300)]))


def field_type(r):
    if r.random() < 0.5:
        return "i" + str(r.choice([1, 2, 3, 4, 5, 8, 16, 32, 63, 64]))
    return "u" + str(r.choice([1, 2, 3, 4, 5, 8, 16, 32, 62, 63]))


def field_offset(r):
    return "#" + str(r.randint(0, 6)) if r.random() < 0.3 else str(r.randint(0, 70))


def bitfield_ops(r, read_only):
    ops = []
    for _ in range(r.randint(1, 4)):
        kind = "GET" if read_only else r.choice(["GET", "SET", "INCRBY", "OVERFLOW"])
        if kind == "OVERFLOW":
            ops += ["OVERFLOW", r.choice(["WRAP", "SAT", "FAIL", "wrap"])]
        elif kind == "GET":
            ops += ["GET", field_type(r), field_offset(r)]
        else:
            ops += [kind, field_type(r), field_offset(r), signed(r)]
    return ops


def byte_range(r):
    args = [str(r.choice([0, 1, 2, -1, -2, 5, 100, -100])) for _ in range(2)]
    if r.random() < 0.5:
        args.append(r.choice(["BYTE", "BIT", "bit"]))
    return args


def bits_command(r, state):
    k = key(r)
    kind = r.choices(["setbit", "getbit", "count", "pos", "op", "field", "string", "bad"],
                     [6, 3, 3, 3, 3, 5, 4, 1])[0]
    if kind == "setbit":
        return ["SETBIT", k, bit_offset(r), r.choice(["0", "1", "1"])]
    if kind == "getbit":
        return ["GETBIT", k, bit_offset(r)]
    if kind == "count":
        return ["BITCOUNT", k] + (byte_range(r) if r.random() < 0.7 else [])
    if kind == "pos":
        cmd = ["BITPOS", k, r.choice(["0", "1"])]
        if r.random() < 0.7:
            cmd += byte_range(r)[:r.randint(1, 3)]
        return cmd
    if kind == "op":
        op = r.choice(["AND", "OR", "XOR", "NOT", "and"])
        sources = [key(r)] if op == "NOT" else [key(r) for _ in range(r.randint(1, 3))]
        return ["BITOP", op, key(r)] + sources
    if kind == "field":
        if r.random() < 0.3:
            return ["BITFIELD_RO", k] + bitfield_ops(r, True)
        return ["BITFIELD", k] + bitfield_ops(r, False)
    if kind == "string":
        return r.choice([["SET", k, value(r)], ["GET", k], ["APPEND", k, value(r)],
                         ["SETRANGE", k, str(r.randint(0, 12)), value(r)], ["STRLEN", k],
                         ["GETRANGE", k, "0", "-1"], ["DEL", k], ["INCR", k]])
    return r.choice([["SETBIT", k, "-1", "1"], ["SETBIT", k, "1", "2"], ["GETBIT", k, "x"],
                     ["BITCOUNT", k, "0"], ["BITPOS", k, "2"], ["BITOP", "NOT", k, k, k],
                     ["BITFIELD", k, "GET", "u64", "0"], ["BITFIELD_RO", k, "SET", "u8", "0", "1"],
                     ["SETBIT", "lst", "1", "1"], ["BITCOUNT", "lst"], ["BITOP", "OR", k, "lst"],
                     ["BITFIELD", "lst", "GET", "u8", "0"], ["BITPOS", "lst", "1"]])


# --- keyspace ----------------------------------------------------------------------

# Writes after which Redis's encoding of a string depends on its history:
# their keys (by database) are compared loosely until a plain write.
IN_PLACE = {"APPEND", "SETRANGE", "SETBIT", "INCRBYFLOAT"}
PLAIN = {"SET", "GETSET", "DEL", "GETDEL"}  # (INCR may fail and keep the string)


def element(r):
    return r.choice(["a", "b", "1", "2", "x y"])


def keyspace_command(r, state):
    db = state.setdefault("db", 0)
    unsure = state.setdefault("unsure", set())
    k = key(r)
    kind = r.choices(["string", "typed", "copy", "rename", "db", "object", "lcs", "read"],
                     [8, 4, 4, 2, 3, 4, 2, 3])[0]
    if kind == "string":
        name = r.choice(["SET", "GETSET", "APPEND", "SETRANGE", "INCR", "DECR", "INCRBY",
                         "INCRBYFLOAT", "SETBIT", "GETDEL", "DEL"])
        cmd = {"SET": ["SET", k, value(r)], "GETSET": ["GETSET", k, value(r)],
               "APPEND": ["APPEND", k, value(r)],
               "SETRANGE": ["SETRANGE", k, str(r.randint(0, 5)), value(r)],
               "INCRBY": ["INCRBY", k, str(r.randint(-5, 5))],
               "INCRBYFLOAT": ["INCRBYFLOAT", k, r.choice(["1", "0.5", "-2.5", "1e3"])],
               "SETBIT": ["SETBIT", k, bit_offset(r), "1"]}.get(name, [name, k])
        if name in IN_PLACE:
            unsure.add((db, k))
        elif name in PLAIN:
            unsure.discard((db, k))
        return cmd
    if kind == "typed":
        return r.choice([["RPUSH", k, element(r), element(r)], ["HSET", k, "f", element(r)],
                         ["SADD", k, element(r), str(r.randint(0, 3))],
                         ["ZADD", k, str(r.randint(0, 3)), element(r)]])
    if kind == "copy":
        dest = key(r)
        cmd = ["COPY", k, dest]
        target = db
        if r.random() < 0.3:
            target = r.choice([0, 1, 2, 16])
            cmd += ["DB", str(target)]
        if r.random() < 0.4:
            cmd.append("REPLACE")
        unsure.add((target, dest))
        return cmd
    if kind == "rename":
        dest = key(r)
        unsure.add((db, dest))
        return [r.choice(["RENAME", "RENAMENX"]), k, dest]
    if kind == "db":
        choice = r.choice(["SELECT", "SWAPDB", "MOVE", "DBSIZE"])
        if choice == "SELECT":
            state["db"] = r.choice([0, 0, 1, 2])
            return ["SELECT", str(state["db"])]
        if choice == "SWAPDB":
            # Which keys are unsure moves with the databases: all of them, then.
            unsure.update((d, name) for d in range(3) for name in KEYS)
            return ["SWAPDB", str(r.choice([0, 1, 2])), str(r.choice([0, 1, 2, 16]))]
        if choice == "MOVE":
            target = r.choice([0, 1, 2])
            unsure.add((target, k))
            return ["MOVE", k, str(target)]
        return ["DBSIZE"]
    if kind == "object":
        sub = r.choice(["ENCODING", "ENCODING", "ENCODING", "FREQ"])
        cmd = ["OBJECT", sub, k]
        return Loose(cmd) if sub == "ENCODING" and (db, k) in unsure else cmd
    if kind == "lcs":
        return ["LCS", k, key(r)] + r.choice([[], ["LEN"], ["IDX"], ["IDX", "WITHMATCHLEN"],
                                              ["IDX", "MINMATCHLEN", "2"]])
    return r.choice([["GET", k], ["TYPE", k], ["EXISTS", k, key(r)], ["STRLEN", k],
                     ["LRANGE", k, "0", "-1"], ["HGETALL", k], ["SMEMBERS", k],
                     ["ZRANGE", k, "0", "-1", "WITHSCORES"], ["KEYS", "*"]])
