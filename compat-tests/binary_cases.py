"""The request bytes of binary_diff.py: memcached binary protocol frames,
and the fixed cases sent to memcached 1.6.18 and to xdpkv. Each case is
(name, [the payload of each connection, in order][, option]); a payload is
bytes (a closing NOOP is sent after it), or (bytes, False) for none.
"""
import struct

HEADER = struct.Struct(">BBHBBHIIQ")
OP = dict(GET=0x00, SET=0x01, ADD=0x02, REPLACE=0x03, DELETE=0x04, INCR=0x05, DECR=0x06,
          QUIT=0x07, FLUSH=0x08, GETQ=0x09, NOOP=0x0a, VERSION=0x0b, GETK=0x0c, GETKQ=0x0d,
          APPEND=0x0e, PREPEND=0x0f, STAT=0x10, SETQ=0x11, ADDQ=0x12, REPLACEQ=0x13,
          DELETEQ=0x14, INCRQ=0x15, DECRQ=0x16, QUITQ=0x17, FLUSHQ=0x18, APPENDQ=0x19,
          PREPENDQ=0x1a, VERBOSITY=0x1b, TOUCH=0x1c, GAT=0x1d, GATQ=0x1e, SASL_LIST=0x20,
          SASL_AUTH=0x21, SASL_STEP=0x22, GATK=0x23, GATKQ=0x24)
END_OPAQUE = 0x5e5e5e5e  # the closing NOOP's
MAX_VALUE = 1024 * 1024  # both servers' default -I
USER, PASSWORD = b"testuser", b"testpass"
WRITES = {OP[name] for name in ("SET", "ADD", "REPLACE", "SETQ", "ADDQ", "REPLACEQ")}
COUNTERS = ["cmd_get", "cmd_set", "cmd_touch", "cmd_flush", "get_hits", "get_misses",
            "delete_hits", "delete_misses", "incr_hits", "incr_misses", "decr_hits",
            "decr_misses", "cas_hits", "cas_misses", "cas_badval", "touch_hits", "touch_misses",
            "total_items", "curr_items", "auth_cmds", "auth_errors"]


def req(op, key=b"", extras=b"", value=b"", opaque=0, cas=0, magic=0x80, bodylen=None):
    op = OP[op] if isinstance(op, str) else op
    if bodylen is None:
        bodylen = len(extras) + len(key) + len(value)
    return HEADER.pack(magic, op, len(key), len(extras), 0, 0, bodylen, opaque, cas) + extras + key + value


def ex_set(flags=0, exp=0):
    return struct.pack(">II", flags, exp)


def ex_incr(delta, initial=0, exp=0):
    return struct.pack(">QQI", delta, initial, exp)


def ex_exp(exp):
    return struct.pack(">I", exp)


def plain(user=USER, password=PASSWORD, authzid=b""):
    return authzid + b"\0" + user + b"\0" + password


BIG = b"x" * (MAX_VALUE + 1)
PAST = 1_000_000_000  # an absolute time long gone: expired at once
FAR = 4_000_000_000  # an absolute time decades away
FIXED = [
    ("get and getk, hit and miss, flags, opaque", [
        req("SET", b"a", ex_set(0xdeadbeef, 0), b"value", opaque=1) + req("GET", b"a", opaque=2) +
        req("GETK", b"a", opaque=3) + req("GET", b"zz", opaque=4) + req("GETK", b"zz", opaque=5)]),
    ("quiet gets", [
        req("SET", b"a", ex_set(1, 0), b"v") + req("GETQ", b"a") + req("GETQ", b"zz") +
        req("GETKQ", b"a") + req("GETKQ", b"zz") + req("GETQ", b"a", opaque=9)]),
    ("set add replace append prepend, loud and quiet", [
        req("ADD", b"a", ex_set(0, 0), b"1") + req("ADD", b"a", ex_set(0, 0), b"2") +
        req("ADDQ", b"a", ex_set(0, 0), b"2") + req("REPLACE", b"zz", ex_set(0, 0), b"3") +
        req("REPLACEQ", b"zz", ex_set(0, 0), b"3") + req("REPLACEQ", b"a", ex_set(5, 0), b"4") +
        req("APPEND", b"a", b"", b"5") + req("PREPENDQ", b"a", b"", b"6") +
        req("APPEND", b"zz", b"", b"7") + req("PREPENDQ", b"zz", b"", b"7") +
        req("SETQ", b"b", ex_set(0, 0), b"") + req("GETK", b"a") + req("GETK", b"b")]),
    ("CAS on every write", [
        req("SET", b"a", ex_set(0, 0), b"1") + req("SET", b"a", ex_set(0, 0), b"2", cas=12345) +
        req("ADD", b"zz", ex_set(0, 0), b"2", cas=12345) +
        req("REPLACE", b"zz", ex_set(0, 0), b"2", cas=12345) +
        req("APPEND", b"a", b"", b"2", cas=12345) + req("PREPEND", b"zz", b"", b"2", cas=12345) +
        req("DELETE", b"a", cas=12345) + req("DELETE", b"zz", cas=12345) +
        req("INCR", b"a", ex_incr(1), cas=12345) + req("GET", b"a")]),
    ("incr and decr", [
        req("SET", b"n", ex_set(3, 0), b"10") + req("DECR", b"n", ex_incr(1)) + req("GET", b"n") +
        req("INCR", b"n", ex_incr(2**64 - 1)) + req("INCRQ", b"n", ex_incr(5)) +
        req("DECR", b"n", ex_incr(100)) + req("INCR", b"new", ex_incr(1, 42, 0)) +
        req("INCR", b"new", ex_incr(1, 42, 0)) + req("DECR", b"gone", ex_incr(1, 42, 0xffffffff)) +
        req("DECRQ", b"gone", ex_incr(1, 42, 0xffffffff)) + req("INCRQ", b"new2", ex_incr(1, 7, 100)) +
        req("GETK", b"new2") + req("SET", b"s", ex_set(0, 0), b"abc") + req("INCR", b"s", ex_incr(1)) +
        req("SET", b"e", ex_set(0, 0), b"") + req("INCR", b"e", ex_incr(1)) +
        req("INCR", b"big", ex_incr(1, 2**64 - 1, 0)) + req("INCR", b"big", ex_incr(1))]),
    ("touch, gat, gatk and quiet", [
        req("SET", b"a", ex_set(9, 0), b"v") + req("TOUCH", b"a", ex_exp(100)) +
        req("TOUCH", b"zz", ex_exp(100)) + req("GAT", b"a", ex_exp(0)) +
        req("GATK", b"a", ex_exp(FAR)) + req("GATQ", b"zz", ex_exp(1)) +
        req("GATKQ", b"a", ex_exp(100)) + req("GATKQ", b"zz", ex_exp(100)) +
        req("GAT", b"a", ex_exp(PAST)) + req("GET", b"a")]),
    ("expirations on writes", [
        req("SET", b"b", ex_set(0, FAR), b"v") + req("GET", b"b") +
        req("ADD", b"c", ex_set(0, 0xffffffff), b"v") + req("GET", b"c")]),
    # Deviation: a write already expired shows CAS 0 (memcached links a dead
    # item and shows its CAS); the CAS of write responses is not compared.
    ("writes already expired", [
        req("SET", b"a", ex_set(0, PAST), b"v") + req("GET", b"a") +
        req("SET", b"a", ex_set(0, 0), b"v") + req("REPLACEQ", b"a", ex_set(0, PAST), b"w") +
        req("GET", b"a") + req("ADD", b"a", ex_set(0, PAST), b"v")], "mask-write-cas"),
    ("delete", [
        req("SET", b"a", ex_set(0, 0), b"v") + req("DELETEQ", b"a") + req("DELETE", b"a") +
        req("DELETEQ", b"a") + req("GET", b"a")]),
    ("flush", [
        req("SET", b"a", ex_set(0, 0), b"v") + req("FLUSHQ") + req("GET", b"a") +
        req("SET", b"a", ex_set(0, 0), b"v") + req("FLUSH", extras=ex_exp(0)) + req("GET", b"a") +
        req("SET", b"b", ex_set(0, 0), b"v") + req("FLUSH") + req("GET", b"b")]),
    ("version, noop, quit", [req("VERSION") + req("NOOP", opaque=7) + req("QUIT", opaque=8) +
                             req("NOOP")]),
    ("quitq closes without a word", [req("GETK", b"zz") + req("QUITQ") + req("NOOP")]),
    ("unknown opcodes swallow their body past the key", [
        req(0x40, b"k", b"", b"xyz") + b"\0" + req("NOOP", opaque=1),
        req("VERBOSITY", extras=ex_exp(1)) + b"1234" + req("NOOP", opaque=2),
        req(0xff, bodylen=8) + b"12345678" + req("GETK", b"zz")]),
    ("SASL commands without -S", [
        req("SASL_LIST") + req("SASL_AUTH", b"PLAIN", b"", plain()) +
        req("SASL_STEP", b"PLAIN", b"", plain())]),
    ("key and extras past the body: closed", [(req("GET", b"abc", bodylen=1) + req("NOOP"), False)]),
    ("keys of 250 and 251", [req("GETK", b"k" * 250), req("GET", b"k" * 251) + req("NOOP")]),
    ("malformed frames: invalid, closed", [
        req("NOOP", b"k"), req("VERSION", value=b"x"), req("QUIT", extras=b"1234"), req("GET"),
        req("GET", b"k", value=b"v"), req("SET", b"k", b"1234"), req("SET", extras=ex_set()),
        req("DELETE", b"k", b"1234"), req("INCR", b"k", b"12345678"),
        req("APPEND", b"k", b"1234", b"v"), req("FLUSH", extras=b"12"), req("FLUSH", b"k"),
        req("TOUCH", b"k"), req("STAT", extras=b"1234"), req("SASL_LIST", b"k")]),
    ("a bad magic closes at once, dropping what was not sent", [
        (req("GETK", b"zz") + req("NOOP", magic=0x81), False),
        (req("GET", b"zz") + req("NOOP", magic=0x81), False),
        (req("NOOP", opaque=3) + req("GETK", b"zz") + b"get a\r\n" + b" " * 20, False)]),
    ("too large: refused, swallowed, a set unlinks the old value", [
        req("SET", b"a", ex_set(0, 0), b"old") + req("SET", b"a", ex_set(0, 0), BIG) +
        req("GET", b"a") + req("SET", b"b", ex_set(0, 0), b"old") +
        req("ADD", b"b", ex_set(0, 0), BIG) + req("GET", b"b") + req("APPEND", b"b", b"", BIG) +
        req("GET", b"b")]),
    ("append past the limit", [
        req("SET", b"a", ex_set(0, 0), b"x" * (MAX_VALUE - 200)) + req("APPEND", b"a", b"", b"y" * 300) +
        req("PREPENDQ", b"a", b"", b"y" * 300) + req("APPEND", b"a", b"", b"y" * 10)]),
    ("STAT reports", [
        req("STAT", b"reset") + req("STAT", b"detail on") + req("SET", b"p:1", ex_set(0, 0), b"v") +
        req("GET", b"p:1") + req("GET", b"p:2") + req("DELETE", b"p:1") + req("STAT", b"detail dump") +
        req("STAT", b"detail off") + req("STAT", b"detail") + req("STAT", b"detail bogus") +
        req("STAT", b"conns") + req("STAT", b"cachedump 1 1") + req("STAT", b"bogus") +
        req("STAT", b"resetting")]),
    ("STAT and TOUCH leave a body past the key to the next request", [
        req("STAT", b"reset", bodylen=5 + 24) + req("NOOP", opaque=11),
        req("SET", b"a", ex_set(0, 0), b"v") + req("TOUCH", b"a", ex_exp(0), bodylen=5 + 24) +
        req("NOOP", opaque=12)]),
    ("pipelined across commands", [
        b"".join(req("SETQ", b"k%d" % i, ex_set(i, 0), b"v%d" % i) for i in range(30)) +
        b"".join(req("GETKQ", b"k%d" % i) for i in range(0, 40, 3)) + req("NOOP", opaque=1)]),
]

SASL_FIXED = [
    ("list, and VERSION before auth", [req("SASL_LIST") + req("VERSION")]),
    ("anything else before auth: Auth failure, closed",
     [req("GET", b"k"), req("NOOP"), req("GETQ", b"k"), req("STAT"), req("QUIT")]),
    ("PLAIN with the response at once", [req("SASL_AUTH", b"PLAIN", b"", plain(), opaque=5) + req("GET", b"k")]),
    ("a wrong password, then the right one", [
        req("SASL_AUTH", b"PLAIN", b"", plain(password=b"no")) + req("SASL_AUTH", b"plain", b"", plain()) +
        req("SET", b"k", ex_set(0, 0), b"v") + req("GET", b"k")]),
    ("wrong, then a command", [req("SASL_AUTH", b"PLAIN", b"", plain(password=b"no")) + req("GET", b"k")]),
    ("continue, then steps", [
        req("SASL_AUTH", b"PLAIN") + req("SASL_STEP", b"PLAIN", b"", plain(password=b"x")) +
        req("SASL_STEP", b"PLAIN") + req("SASL_STEP", b"FOO", b"", plain()) + req("GET", b"k")]),
    ("a step first", [req("SASL_STEP", b"PLAIN", b"", plain())]),
    ("a finished exchange does not start again", [
        req("SASL_AUTH", b"PLAIN", b"", plain()) + req("SASL_AUTH", b"PLAIN", b"", plain())],),
    ("done, continue, step, unknown mechanism, then auth", [
        req("SASL_AUTH", b"PLAIN", b"", plain()) + req("SASL_AUTH", b"PLAIN") +
        req("SASL_STEP", b"PLAIN", b"", plain()) + req("SASL_AUTH", b"XX") +
        req("SASL_AUTH", b"PLAIN", b"", plain()) + req("GET", b"k")]),
    ("PLAIN's forms", [
        req("SASL_AUTH", b"PLAIN", b"", plain(authzid=USER)) + req("GET", b"k"),
        req("SASL_AUTH", b"PLAIN", b"", plain(authzid=b"other")),
        req("SASL_AUTH", b"PLAIN", b"", plain() + b"\0"),
        req("SASL_AUTH", b"PLAIN", b"", USER),
        req("SASL_AUTH", b"PLAIN", b"", plain(user=b"")),
        req("SASL_AUTH", b"PLAIN", b"", plain(password=PASSWORD[:-1])),
        req("SASL_AUTH", b"CRAM-MD5", b"", plain())]),
    ("mechanism names of 32 and 33 bytes, data too big", [
        req("SASL_AUTH", b"P" * 32, b"", plain()), req("SASL_AUTH", b"P" * 33, b"", plain()),
        req("SASL_AUTH", b"PLAIN", b"", b"x" * 600000)]),
    ("malformed SASL frames", [req("SASL_AUTH", b"", b"", plain()), req("SASL_AUTH", b"PLAIN", b"1234"),
                              req("SASL_LIST", value=b"x")]),
    ("the text protocol: a bad magic once 24 bytes are in",
     [(b"version\r\n", False), (b"version\r\n" + b" " * 15, False)]),
]

NO_CAS_FIXED = [
    ("-C: CAS 0, a CAS on set ignored, on delete and incr never matching", [
        req("SET", b"a", ex_set(0, 0), b"1") + req("GETK", b"a") +
        req("SET", b"a", ex_set(0, 0), b"2", cas=99) + req("REPLACE", b"a", ex_set(0, 0), b"3", cas=99) +
        req("APPEND", b"a", b"", b"4", cas=99) + req("GET", b"a") + req("DELETE", b"a", cas=99) +
        req("SET", b"n", ex_set(0, 0), b"1") + req("INCR", b"n", ex_incr(1), cas=99) +
        req("INCR", b"n", ex_incr(1))]),
    ("-F: flush refused", [req("SET", b"a", ex_set(0, 0), b"1") + req("FLUSH") + req("FLUSHQ") +
                           req("GET", b"a")]),
    ("-B binary: text is a bad magic", [(b"get a\r\n" + b" " * 20, False)]),
]


UDP_CASES = [
    ("get hit", req("SET", b"a", ex_set(3, 0), b"v") + req("GET", b"a")),
    ("quiet miss, then noop", req("GETQ", b"zz") + req("NOOP")),
    ("several responses", req("GETK", b"zz") + req("GET", b"zz") + req("VERSION") + req("NOOP")),
    ("an unknown command, swallowed", req("GETK", b"zz") + req(0x40, b"k") + b"x" + req("NOOP")),
    ("a header cut short", req("GETK", b"zz") + req("NOOP")[:10]),
    ("a bad magic", req("GETK", b"zz") + req("NOOP", magic=0x81)),
    ("quit", req("GETK", b"zz") + req("QUIT") + req("NOOP")),
]
