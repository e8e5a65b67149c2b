"""The list, set and sorted-set cases of peer_diff.py (each request runs
on an empty store against redis-server 7.0 and xdpkv, replies compared
byte for byte), and Unordered, for the replies whose order Redis leaves
to its hash table. compat-tests/random_diff.py reuses the reply parser.
"""


class Unordered:
    """Replies whose order Redis leaves arbitrary (the members of a set
    kept as a hash table, and what is built from one): both sides' arrays,
    nested ones too, are compared with their elements sorted. Only for
    cases where Redis's order is its hash table's; an intset's order is
    compared as it is."""

    def __call__(self, data):
        replies, pos = [], 0
        while pos < len(data):
            reply, pos = parse_reply(data, pos)
            replies.append(reply)
        return b"".join(encode_sorted(reply) for reply in replies)


def parse_reply(data, pos):
    """One RESP2 reply at `pos`: (bytes of a leaf, or a list of replies for
    an array), and the position after it. ValueError or IndexError when the
    data ends before the reply does."""
    end = data.index(b"\r\n", pos)
    kind, head = data[pos:pos + 1], data[pos + 1:end]
    if kind == b"$" and int(head) >= 0:
        stop = end + 2 + int(head) + 2
        if stop > len(data):
            raise IndexError("incomplete bulk string")
        return data[pos:stop], stop
    if kind == b"*" and int(head) >= 0:
        items, pos = [], end + 2
        for _ in range(int(head)):
            item, pos = parse_reply(data, pos)
            items.append(item)
        return items, pos
    return data[pos:end + 2], end + 2


def encode_sorted(reply):
    if isinstance(reply, bytes):
        return reply
    items = sorted(encode_sorted(item) for item in reply)
    return b"*%d\r\n" % len(items) + b"".join(items)


UNORDERED = Unordered()


# Lists (t_list.c).
LIST_CASES = [
    ("lpush/rpush/lrange/llen", b"RPUSH l a b c\r\nLPUSH l x y\r\nLRANGE l 0 -1\r\n"
     b"LRANGE l -2 -1\r\nLRANGE l 1 100\r\nLRANGE l 5 1\r\nLRANGE l -100 -50\r\n"
     b"LRANGE l 9 20\r\nLRANGE nope 0 -1\r\nLLEN l\r\nLLEN nope\r\nLRANGE l x 1\r\n"
     b"LRANGE l 0 9223372036854775808\r\nRPUSH l \"\" \"a b\"\r\nLRANGE l -2 -1\r\n"),
    ("lpushx/rpushx", b"LPUSHX l a\r\nRPUSHX l a\r\nEXISTS l\r\nRPUSH l a\r\nLPUSHX l b c\r\n"
     b"RPUSHX l d e\r\nLRANGE l 0 -1\r\n"),
    ("lpop/rpop, with a count, removing an emptied list",
     b"RPUSH l a b c d\r\nLPOP l\r\nRPOP l\r\nLPOP l 0\r\nRPOP l 5\r\nEXISTS l\r\n"
     b"LPOP l\r\nLPOP l 1\r\nRPOP l 0\r\nLPOP l -1\r\nLPOP l x\r\nLPOP l 1 2\r\n"
     b"RPUSH l a b c\r\nLPOP l 2\r\nRPOP l 1\r\nTYPE l\r\n"),
    ("lindex/lset", b"RPUSH l a b c\r\nLINDEX l 0\r\nLINDEX l -1\r\nLINDEX l 3\r\n"
     b"LINDEX l -4\r\nLINDEX l x\r\nLINDEX nope x\r\nLSET l 1 B\r\nLSET l -1 C\r\n"
     b"LSET l 3 x\r\nLSET l -4 x\r\nLSET l x y\r\nLSET nope 0 x\r\nLSET nope x y\r\n"
     b"LRANGE l 0 -1\r\n"),
    ("linsert", b"RPUSH l a b a\r\nLINSERT l BEFORE a x\r\nLINSERT l after a y\r\n"
     b"LINSERT l before z q\r\nLINSERT l middle a q\r\nLINSERT nope before a q\r\n"
     b"LINSERT nope middle a q\r\nLRANGE l 0 -1\r\nEXISTS nope\r\n"),
    ("lrem", b"RPUSH l a b a c a b\r\nLREM l 2 a\r\nLRANGE l 0 -1\r\nLREM l -1 b\r\n"
     b"LRANGE l 0 -1\r\nLREM l 0 z\r\nLREM l x a\r\nLREM nope 0 a\r\nLREM l 0 a\r\n"
     b"LREM l -9223372036854775808 b\r\nLRANGE l 0 -1\r\nLREM l 0 c\r\nEXISTS l\r\n"),
    ("ltrim", b"RPUSH l a b c d e\r\nLTRIM l 1 -2\r\nLRANGE l 0 -1\r\nLTRIM l -100 100\r\n"
     b"LRANGE l 0 -1\r\nLTRIM l 1 0\r\nEXISTS l\r\nLTRIM nope 0 1\r\nLTRIM l x 1\r\n"
     b"RPUSH l a b c\r\nLTRIM l 5 10\r\nEXISTS l\r\nRPUSH l a b c\r\nLTRIM l -1 -1\r\n"
     b"LRANGE l 0 -1\r\n"),
    ("lpos", b"RPUSH l a b c a b c\r\nLPOS l a\r\nLPOS l c RANK -1\r\nLPOS l a RANK 2\r\n"
     b"LPOS l a RANK 3\r\nLPOS l a COUNT 0\r\nLPOS l b COUNT 1\r\nLPOS l a RANK -1 COUNT 0\r\n"
     b"LPOS l c MAXLEN 3\r\nLPOS l c COUNT 0 MAXLEN 4\r\nLPOS l a RANK 2 COUNT 1 MAXLEN 3\r\n"
     b"LPOS l z\r\nLPOS l z COUNT 2\r\nLPOS nope a\r\nLPOS nope a COUNT 1\r\n"
     b"LPOS l a RANK 0\r\nLPOS l a COUNT -1\r\nLPOS l a MAXLEN -1\r\nLPOS l a RANK x\r\n"
     b"LPOS l a FOO\r\nLPOS l a RANK\r\nLPOS l a RANK -9223372036854775808\r\n"
     b"LPOS nope a RANK 0\r\n"),
    ("lmove/rpoplpush", b"RPUSH s a b c\r\nLMOVE s d LEFT RIGHT\r\nLMOVE s d right left\r\n"
     b"LRANGE s 0 -1\r\nLRANGE d 0 -1\r\nRPOPLPUSH s d\r\nEXISTS s\r\nLRANGE d 0 -1\r\n"
     b"RPOPLPUSH d d\r\nLMOVE d d LEFT RIGHT\r\nLRANGE d 0 -1\r\nLMOVE nope d left left\r\n"
     b"RPOPLPUSH nope d\r\nLMOVE d e up left\r\nLMOVE d e left down\r\nSET str v\r\n"
     b"LMOVE d str left left\r\nLMOVE str d left left\r\nRPOPLPUSH nope str\r\n"
     b"RPOPLPUSH d str\r\nLRANGE d 0 -1\r\n"),
    ("list arity", b"LPUSH l\r\nRPUSH\r\nLPUSHX l\r\nLPOP\r\nLLEN\r\nLLEN l x\r\nLRANGE l 0\r\n"
     b"LINDEX l\r\nLSET l 0\r\nLINSERT l before a\r\nLREM l 0\r\nLTRIM l 0\r\nLPOS l\r\n"
     b"LMOVE a b left\r\nRPOPLPUSH a\r\nRPOPLPUSH a b c\r\n"),
    ("list wrongtype both ways", b"SET s v\r\nLPUSH s a\r\nRPUSH s a\r\nLPUSHX s a\r\n"
     b"RPUSHX s a\r\nLPOP s\r\nRPOP s 1\r\nLLEN s\r\nLRANGE s 0 -1\r\nLINDEX s 0\r\n"
     b"LSET s 0 a\r\nLINSERT s before a b\r\nLREM s 0 a\r\nLTRIM s 0 1\r\nLPOS s a\r\n"
     b"LMOVE s d left left\r\nRPUSH l a\r\nGET l\r\nINCR l\r\nAPPEND l x\r\nSTRLEN l\r\n"
     b"HSET l f v\r\nHGET l f\r\nTYPE l\r\nSET l v\r\nTYPE l\r\nLRANGE l 0 -1\r\n"
     b"LPOP s 0\r\nLINSERT s middle a b\r\nLPOS s a RANK 0\r\nLRANGE s x 0\r\n"),
    ("keyspace commands on a list", b"RPUSH l a b\r\nEXISTS l\r\nEXPIRE l 100\r\nTTL l\r\n"
     b"RENAME l m\r\nLRANGE m 0 -1\r\nTTL m\r\nTYPE m\r\nLPOP m 2\r\nTTL m\r\n"
     b"RPUSH m x\r\nTTL m\r\nDEL m\r\nEXISTS m\r\n"),
]

# Sets (t_set.c): an intset's order is Redis's numeric one, compared as it
# is; a hash table's is arbitrary (UNORDERED).
SET_CASES = [
    ("sadd/smembers/sismember/smismember/scard on an intset",
     b"SADD s 5 1 3 -2 10 1\r\nSMEMBERS s\r\nSCARD s\r\nSISMEMBER s 3\r\nSISMEMBER s 4\r\n"
     b"SISMEMBER s x\r\nSISMEMBER nope 1\r\nSMISMEMBER s 1 4 5 x\r\nSMISMEMBER nope a\r\n"
     b"SCARD nope\r\nSMEMBERS nope\r\nSADD s 9223372036854775807 -9223372036854775808 0\r\n"
     b"SMEMBERS s\r\nSISMEMBER s 007\r\nSISMEMBER s +1\r\n"),
    ("a set of other members is a hash table, and stays one",
     b"SADD s b a 1\r\nSMEMBERS s\r\nSADD s 007 -0 +1 \"\" 9223372036854775808\r\n"
     b"SMEMBERS s\r\nSREM s a b 007 -0 +1 \"\" 9223372036854775808\r\nSMEMBERS s\r\n"
     b"SADD s 3 2\r\nSMEMBERS s\r\nSISMEMBER s 2\r\n", UNORDERED),
    ("an intset of 513 members is a hash table", b"SADD big " +
     b" ".join(b"%d" % i for i in range(513, 0, -1)) + b"\r\nSCARD big\r\nSMEMBERS big\r\n"
     b"SREM big 513\r\nSMEMBERS big\r\n", UNORDERED),
    ("srem removes an emptied set", b"SADD s 1 2\r\nSREM s 1 3\r\nSREM s 2 1\r\nEXISTS s\r\n"
     b"SREM s 2\r\nSREM nope 1\r\nTYPE s\r\n"),
    ("sinter/sunion/sdiff of intsets", b"SADD a 1 2 3 4\r\nSADD b 3 4 5\r\nSADD c 4 6\r\n"
     b"SINTER a b c\r\nSINTER a b\r\nSINTER b a\r\nSINTER a nope\r\nSINTER nope a\r\n"
     b"SUNION a b c\r\nSUNION nope\r\nSUNION c nope a\r\nSDIFF a b\r\nSDIFF a b c\r\n"
     b"SDIFF a a\r\nSDIFF a b a\r\nSDIFF nope a\r\nSDIFF a nope\r\nSINTER a\r\n"),
    ("sinterstore/sunionstore/sdiffstore", b"SADD a 1 2 3\r\nSADD b 2 3 4\r\nSET d x\r\n"
     b"SINTERSTORE d a b\r\nTYPE d\r\nSMEMBERS d\r\nSUNIONSTORE d a b\r\nSMEMBERS d\r\n"
     b"SDIFFSTORE d a b\r\nSMEMBERS d\r\nSINTERSTORE d a nope\r\nEXISTS d\r\n"
     b"SUNIONSTORE d nope\r\nEXISTS d\r\nSDIFFSTORE a a\r\nEXISTS a\r\nEXPIRE b 100\r\n"
     b"SUNIONSTORE b b\r\nTTL b\r\nSMEMBERS b\r\nSDIFFSTORE e b nope\r\nSMEMBERS e\r\n"),
    ("set operations over hash tables", b"SADD a x y 1\r\nSADD b y 1 z\r\nSADD c 1 2\r\n"
     b"SINTER a b\r\nSINTER a b c\r\nSUNION a b\r\nSUNION c\r\nSDIFF a b\r\nSDIFF b c\r\n"
     b"SINTERSTORE d a b\r\nSMEMBERS d\r\nSUNIONSTORE d a c\r\nSMEMBERS d\r\n"
     b"SDIFFSTORE d a b\r\nSMEMBERS d\r\n", UNORDERED),
    ("sintercard", b"SADD a 1 2 3 4\r\nSADD b 2 3 4 5\r\nSINTERCARD 2 a b\r\n"
     b"SINTERCARD 2 a b LIMIT 2\r\nSINTERCARD 2 a b LIMIT 0\r\nSINTERCARD 1 a\r\n"
     b"SINTERCARD 2 a nope\r\nSINTERCARD 0 a\r\nSINTERCARD -1 a\r\nSINTERCARD x a\r\n"
     b"SINTERCARD 3 a b\r\nSINTERCARD 2 a b LIMIT -1\r\nSINTERCARD 2 a b LIMIT x\r\n"
     b"SINTERCARD 2 a b LIMIT\r\nSINTERCARD 2 a b FOO 1\r\nSINTERCARD 1 a b\r\n"),
    ("spop/srandmember with a count at least the size", b"SADD s 5 1 3\r\nSRANDMEMBER s 3\r\n"
     b"SRANDMEMBER s 100\r\nSRANDMEMBER s 0\r\nSRANDMEMBER nope\r\n"
     b"SRANDMEMBER nope 5\r\nSRANDMEMBER nope -5\r\nSRANDMEMBER s x\r\n"
     b"SRANDMEMBER s 1 2\r\nSPOP nope\r\nSPOP nope 3\r\nSPOP s 0\r\nSPOP s -1\r\n"
     b"SPOP s x\r\nSPOP s 1 2\r\nSPOP s 3\r\nEXISTS s\r\nSADD t 9\r\nSPOP t\r\n"
     b"EXISTS t\r\nSADD t 9\r\nSRANDMEMBER t\r\nSRANDMEMBER t 1\r\nSPOP nope 0\r\n"),
    ("spop of a hash table's whole set", b"SADD s a b 1 2\r\nSPOP s 10\r\nSADD s a 3 2\r\n"
     b"SREM s a\r\nSPOP s 2\r\nEXISTS s\r\n", UNORDERED),
    ("smove", b"SADD s 1 2 3\r\nSMOVE s d 2\r\nSMOVE s d 9\r\nSMEMBERS s\r\nSMEMBERS d\r\n"
     b"SMOVE s s 1\r\nSMOVE s s 9\r\nSMOVE nope d 1\r\nSET str v\r\nSMOVE nope str 1\r\n"
     b"SMOVE s str 1\r\nSMOVE str s 1\r\nSMOVE s d 1\r\nSMOVE s d 3\r\nEXISTS s\r\n"
     b"SMEMBERS d\r\nSMOVE d e x\r\n"),
    ("sscan of an intset", b"SADD s 1 10 2 20\r\nSSCAN s 0\r\nSSCAN s 0 MATCH 1*\r\n"
     b"SSCAN s 0 MATCH * COUNT 1\r\nSSCAN s 7\r\nSSCAN s -1\r\nSSCAN s \"\"\r\nSSCAN s x\r\n"
     b"SSCAN s \" 1\"\r\nSSCAN s 18446744073709551616\r\nSSCAN nope 0 COUNT x\r\n"
     b"SSCAN s 0 COUNT 0\r\nSSCAN s 0 COUNT x\r\nSSCAN s 0 COUNT\r\nSSCAN s 0 FOO x\r\n"
     b"SSCAN nope x\r\n"),
    ("sscan of a hash table", b"SADD s a b ab 1\r\nSSCAN s 0\r\nSSCAN s 0 MATCH a*\r\n",
     UNORDERED),
    ("set arity", b"SADD s\r\nSREM s\r\nSMEMBERS\r\nSMEMBERS s x\r\nSISMEMBER s\r\n"
     b"SMISMEMBER s\r\nSCARD\r\nSPOP\r\nSRANDMEMBER\r\nSINTER\r\nSUNION\r\nSDIFF\r\n"
     b"SINTERSTORE d\r\nSUNIONSTORE d\r\nSDIFFSTORE d\r\nSINTERCARD 1\r\nSMOVE a b\r\n"
     b"SSCAN s\r\n"),
    ("set wrongtype both ways", b"SET s v\r\nSADD s a\r\nSREM s a\r\nSMEMBERS s\r\n"
     b"SISMEMBER s a\r\nSMISMEMBER s a\r\nSCARD s\r\nSPOP s\r\nSPOP s 2\r\n"
     b"SRANDMEMBER s\r\nSRANDMEMBER s 2\r\nSINTER s\r\nSINTER nope s\r\nSUNION s\r\n"
     b"SDIFF s\r\nSDIFF nope s\r\nSINTERSTORE d s\r\nSUNIONSTORE d s\r\nSDIFFSTORE d s\r\n"
     b"SINTERCARD 1 s\r\nSSCAN s 0\r\nSADD t 1\r\nGET t\r\nLPUSH t a\r\nHGET t a\r\n"
     b"TYPE t\r\nSET t v\r\nTYPE t\r\nRPUSH l a\r\nSADD l a\r\nSUNIONSTORE l t\r\n"
     b"SADD t 1\r\nSUNIONSTORE l t\r\nTYPE l\r\nSPOP s -1\r\nSRANDMEMBER s x\r\n"
     b"SSCAN s x\r\n"),
    ("keyspace commands on a set", b"SADD s a\r\nEXPIRE s 100\r\nSADD s b\r\nTTL s\r\n"
     b"RENAME s t\r\nSMEMBERS t\r\nTYPE t\r\nSREM t a\r\nTTL t\r\nDEL t\r\n"
     b"EXISTS t\r\n", UNORDERED),
]

# Sorted sets (t_zset.c): scores read with strtod and printed with "%.17g",
# as Redis 7.0's addReplyDouble.
ZSET_CASES = [
    ("zadd/zscore and score formats", b"ZADD z 0.1 a 1e300 b 3 c -0 d 1.5e-7 e\r\n"
     b"ZRANGE z 0 -1 WITHSCORES\r\nZSCORE z a\r\nZSCORE z d\r\nZSCORE z nope\r\n"
     b"ZSCORE nope a\r\nZADD z inf f -inf g +inf h 0x10 i 4.9e-324 j 123456789012345678 k\r\n"
     b"ZMSCORE z f g h i j k nope\r\nZMSCORE nope a\r\nZCARD z\r\nZCARD nope\r\n"
     b"ZADD z nan x\r\nZADD z \" 1\" x\r\nZADD z 1e400 x\r\nZADD z 1e-400 x\r\n"
     b"ZADD z \"\" x\r\nZADD z 1x x\r\nZADD z 1 a x b\r\nZSCORE z a\r\n"),
    ("zadd options", b"ZADD z 1 a 2 b\r\nZADD z NX 5 a 3 c\r\nZADD z XX 5 a 4 d\r\n"
     b"ZADD z XX CH 6 a 1 b\r\nZADD z CH 6 a 7 b 8 e\r\nZADD z GT 1 a 9 b\r\n"
     b"ZADD z LT CH 1 a 9 b\r\nZADD z GT CH 10 new\r\nZRANGE z 0 -1 WITHSCORES\r\n"
     b"ZADD z INCR 2 a\r\nZADD z INCR NX 1 a\r\nZADD z INCR XX 1 nope\r\n"
     b"ZADD z INCR GT -1 a\r\nZADD z INCR LT -1 a\r\nZADD z XX 1 a\r\nZADD nope XX 1 a\r\n"
     b"ZADD nope XX INCR 1 a\r\nEXISTS nope\r\nZADD z nx ch incr 1 fresh\r\n"),
    ("zadd option errors", b"ZADD z NX XX 1 a\r\nZADD z GT LT 1 a\r\nZADD z NX GT 1 a\r\n"
     b"ZADD z NX LT 1 a\r\nZADD z INCR 1 a 2 b\r\nZADD z NX 1\r\nZADD z 1 a 2\r\n"
     b"ZADD z FOO 1 a\r\nZADD z NX\r\nZADD z NX XX x a\r\nEXISTS z\r\n"),
    ("zincrby", b"ZINCRBY z 2 a\r\nZINCRBY z 0.5 a\r\nZINCRBY z x a\r\nZINCRBY z nx a\r\n"
     b"ZINCRBY z inf a\r\nZINCRBY z -inf a\r\nZSCORE z a\r\nZINCRBY z -0 n\r\nZSCORE z n\r\n"
     b"ZINCRBY z 1e308 m\r\nZINCRBY z 1e308 m\r\n"),
    ("zrem removes an emptied sorted set", b"ZADD z 1 a 2 b\r\nZREM z a nope\r\nZREM z b a\r\n"
     b"EXISTS z\r\nZREM z a\r\nZREM nope a\r\n"),
    ("zrank/zrevrank", b"ZADD z 1 a 2 b 2 c 3 d\r\nZRANK z a\r\nZRANK z c\r\nZREVRANK z a\r\n"
     b"ZREVRANK z c\r\nZRANK z nope\r\nZRANK nope a\r\nZREVRANK nope a\r\n"),
    ("zrange by rank", b"ZADD z 1 a 2 b 3 c 4 d\r\nZRANGE z 0 -1\r\nZRANGE z 1 2 WITHSCORES\r\n"
     b"ZRANGE z -2 -1\r\nZRANGE z 2 1\r\nZRANGE z 5 10\r\nZRANGE z -100 100\r\n"
     b"ZRANGE z 0 -1 REV\r\nZRANGE z 0 0 REV WITHSCORES\r\nZREVRANGE z 0 1\r\n"
     b"ZREVRANGE z 0 1 WITHSCORES\r\nZRANGE z x 1\r\nZRANGE nope 0 -1\r\n"
     b"ZRANGE z 0 -1 LIMIT 0 1\r\nZRANGE z 0 -1 LIMIT 0 -1\r\nZREVRANGE z 0 1 REV\r\n"
     b"ZRANGE z 0 -1 FOO\r\nZRANGE z 0 -1 REV REV\r\nZRANGE z 0 -1 LIMIT 0\r\n"),
    ("zrange by score", b"ZADD z 1 a 2 b 3 c 4 d 5 e\r\nZRANGE z 2 4 BYSCORE\r\n"
     b"ZRANGE z (2 4 BYSCORE WITHSCORES\r\nZRANGE z 4 2 BYSCORE REV\r\n"
     b"ZRANGE z -inf +inf BYSCORE LIMIT 1 2\r\nZRANGE z +inf -inf BYSCORE REV LIMIT 1 2\r\n"
     b"ZRANGEBYSCORE z 2 (4\r\nZRANGEBYSCORE z -inf inf WITHSCORES LIMIT 2 -1\r\n"
     b"ZREVRANGEBYSCORE z 4 2\r\nZREVRANGEBYSCORE z (4 (2 WITHSCORES\r\n"
     b"ZRANGEBYSCORE z 1 5 LIMIT -1 2\r\nZRANGEBYSCORE z 1 5 LIMIT 10 2\r\n"
     b"ZRANGEBYSCORE z 1 5 LIMIT 0 0\r\nZRANGEBYSCORE z 3 3\r\nZRANGEBYSCORE z (3 3\r\n"
     b"ZRANGEBYSCORE z 5 1\r\nZRANGEBYSCORE z x 1\r\nZRANGEBYSCORE z 1 (x\r\n"
     b"ZRANGEBYSCORE z ( 2\r\nZRANGEBYSCORE z \"\" 2\r\nZRANGEBYSCORE z \" 2\" 3\r\n"
     b"ZRANGEBYSCORE z nan 3\r\nZRANGEBYSCORE z 1 2 BYSCORE\r\nZRANGEBYSCORE z 1 2 LIMIT 0\r\n"
     b"ZRANGEBYSCORE nope 0 1\r\nZRANGEBYSCORE z 1 5 WITHSCORES WITHSCORES LIMIT 0 1 LIMIT 1 1\r\n"),
    ("zrange by lex", b"ZADD z 0 a 0 b 0 c 0 d 0 e\r\nZRANGE z [b (d BYLEX\r\n"
     b"ZRANGE z - + BYLEX LIMIT 1 2\r\nZRANGE z (d [b BYLEX REV\r\nZRANGEBYLEX z - +\r\n"
     b"ZRANGEBYLEX z (a [c\r\nZRANGEBYLEX z [c +\r\nZRANGEBYLEX z + -\r\nZRANGEBYLEX z - -\r\n"
     b"ZREVRANGEBYLEX z + -\r\nZREVRANGEBYLEX z [d (a LIMIT 1 5\r\nZRANGEBYLEX z a c\r\n"
     b"ZRANGEBYLEX z [a +x\r\nZRANGE z - + BYLEX WITHSCORES\r\nZRANGEBYLEX z ( [\r\n"
     b"ZRANGEBYLEX nope - +\r\nZLEXCOUNT z - +\r\nZLEXCOUNT z [b (d\r\nZLEXCOUNT z x y\r\n"
     b"ZLEXCOUNT nope - +\r\nZADD m 1 a 2 b 0 c\r\nZRANGEBYLEX m - (b\r\nZLEXCOUNT m [b +\r\n"
     b"ZREVRANGEBYLEX m + [b\r\n"),
    ("zrangestore", b"ZADD z 1 a 2 b 3 c\r\nZRANGESTORE d z 0 1\r\nZRANGE d 0 -1 WITHSCORES\r\n"
     b"ZRANGESTORE d z (1 +inf BYSCORE REV LIMIT 0 1\r\nZRANGE d 0 -1 WITHSCORES\r\n"
     b"ZRANGESTORE d z 5 10\r\nEXISTS d\r\nSET d x\r\nZRANGESTORE d nope 0 -1\r\nEXISTS d\r\n"
     b"ZRANGESTORE d z 0 -1 WITHSCORES\r\nSET s v\r\nZRANGESTORE d s 0 -1\r\n"
     b"ZRANGESTORE s z 0 0\r\nTYPE s\r\n"),
    ("zcount", b"ZADD z 1 a 2 b 3 c\r\nZCOUNT z 1 2\r\nZCOUNT z (1 2\r\nZCOUNT z -inf +inf\r\n"
     b"ZCOUNT z 3 1\r\nZCOUNT z x 1\r\nZCOUNT nope 0 1\r\nZCOUNT z ( 1\r\n"),
    ("zpopmin/zpopmax", b"ZADD z 1 a 2 b 3 c\r\nZPOPMIN z\r\nZPOPMAX z\r\nZPOPMIN z 0\r\n"
     b"ZPOPMAX z 10\r\nEXISTS z\r\nZPOPMIN z\r\nZPOPMIN z 1 2\r\nZPOPMIN z -1\r\n"
     b"ZPOPMAX z x\r\nZADD z 1 a 2 b 3 c\r\nZPOPMIN z 2\r\n"),
    ("zremrangebyrank/score/lex", b"ZADD z 1 a 2 b 3 c 4 d 5 e\r\nZREMRANGEBYRANK z 0 0\r\n"
     b"ZREMRANGEBYRANK z -1 -1\r\nZREMRANGEBYRANK z 5 10\r\nZREMRANGEBYRANK z x 1\r\n"
     b"ZRANGE z 0 -1\r\nZREMRANGEBYSCORE z (2 3\r\nZREMRANGEBYSCORE z x 3\r\n"
     b"ZRANGE z 0 -1\r\nZADD l 0 a 0 b 0 c\r\nZREMRANGEBYLEX l [b +\r\nZREMRANGEBYLEX l x +\r\n"
     b"ZRANGE l 0 -1\r\nZREMRANGEBYLEX l - +\r\nEXISTS l\r\nZREMRANGEBYSCORE z -inf inf\r\n"
     b"EXISTS z\r\nZREMRANGEBYRANK nope 0 -1\r\nZREMRANGEBYSCORE nope 0 1\r\n"
     b"ZREMRANGEBYLEX nope - +\r\n"),
    ("zunionstore/zinterstore/zdiffstore", b"ZADD a 1 x 2 y 3 z\r\nZADD b 10 y 20 z 30 w\r\n"
     b"SADD s y w q\r\nZUNIONSTORE d 2 a b\r\nZRANGE d 0 -1 WITHSCORES\r\n"
     b"ZINTERSTORE d 2 a b WEIGHTS 2 0.5 AGGREGATE MAX\r\nZRANGE d 0 -1 WITHSCORES\r\n"
     b"ZUNIONSTORE d 3 a b s AGGREGATE MIN\r\nZRANGE d 0 -1 WITHSCORES\r\n"
     b"ZINTERSTORE d 2 b s\r\nZRANGE d 0 -1 WITHSCORES\r\nZDIFFSTORE d 2 b a\r\n"
     b"ZRANGE d 0 -1 WITHSCORES\r\nZDIFFSTORE d 2 a a\r\nEXISTS d\r\n"
     b"ZINTERSTORE d 2 a nope\r\nEXISTS d\r\nZUNIONSTORE d 1 nope\r\n"
     b"ZUNIONSTORE d 2 a b WEIGHTS inf -inf\r\nZRANGE d 0 -1 WITHSCORES\r\n"
     b"ZUNIONSTORE d 1 a WEIGHTS -1\r\nZRANGE d 0 -1 WITHSCORES\r\n"
     b"ZINTERSTORE d 2 a a WEIGHTS 1 2\r\nZRANGE d 0 -1 WITHSCORES\r\n"
     b"ZUNIONSTORE a 2 a b\r\nZRANGE a 0 -1 WITHSCORES\r\nZDIFFSTORE d 1 s\r\nTYPE d\r\n"),
    ("zunion/zinter/zdiff/zintercard", b"ZADD a 1 x 2 y 3 z\r\nZADD b 10 y 20 z 30 w\r\n"
     b"ZUNION 2 a b\r\nZUNION 2 a b WITHSCORES\r\nZINTER 2 a b WITHSCORES AGGREGATE SUM\r\n"
     b"ZDIFF 2 a b WITHSCORES\r\nZDIFF 1 nope\r\nZUNION 1 a WEIGHTS -1 WITHSCORES\r\n"
     b"ZINTERCARD 2 a b\r\nZINTERCARD 2 a b LIMIT 1\r\nZINTERCARD 2 a b LIMIT 0\r\n"
     b"ZINTERCARD 1 nope\r\nZADD c -0 x\r\nZUNION 2 a c WEIGHTS 0 1 AGGREGATE MIN WITHSCORES\r\n"
     b"ZUNION 2 a c WEIGHTS 0 -1 AGGREGATE MAX WITHSCORES\r\n"),
    ("combining errors", b"ZADD a 1 x\r\nSET str v\r\nZUNIONSTORE d 0 a\r\nZUNIONSTORE d -1 a\r\n"
     b"ZUNIONSTORE d x a\r\nZUNIONSTORE d 2 a\r\nZUNIONSTORE d 1 str\r\nZUNION 2 a str FOO\r\n"
     b"ZUNIONSTORE d 1 a WEIGHTS x\r\nZUNIONSTORE d 1 a WEIGHTS 1 2\r\n"
     b"ZUNIONSTORE d 1 a AGGREGATE AVG\r\nZUNIONSTORE d 1 a AGGREGATE\r\n"
     b"ZUNIONSTORE d 1 a WITHSCORES\r\nZDIFF 1 a WEIGHTS 1\r\nZDIFF 1 a AGGREGATE SUM\r\n"
     b"ZINTER 0 a\r\nZINTERCARD 0 a\r\nZINTERCARD x a\r\nZINTERCARD 1 a LIMIT -1\r\n"
     b"ZINTERCARD 1 a LIMIT\r\nZINTERCARD 1 a WITHSCORES\r\nZINTER 1 a LIMIT 1\r\n"
     b"ZDIFFSTORE d 0 a\r\nZINTERSTORE d 1 a WEIGHTS nan\r\n"),
    ("zrandmember and zscan", b"ZADD z 1 a 2 b 3 c\r\nZRANDMEMBER z 3\r\n"
     b"ZRANDMEMBER z 10 WITHSCORES\r\nZRANDMEMBER z 0\r\nZRANDMEMBER nope\r\n"
     b"ZRANDMEMBER nope 5\r\nZRANDMEMBER z x\r\nZRANDMEMBER z 1 FOO\r\nZRANDMEMBER z 1 2 3\r\n"
     b"ZRANDMEMBER z -9223372036854775808\r\nZRANDMEMBER z 4611686018427387904 WITHSCORES\r\n"
     b"ZADD one 5 m\r\nZRANDMEMBER one\r\nZRANDMEMBER one -2 WITHSCORES\r\n"
     b"ZADD z 100000000000000000 big 1.5 half -0 zero inf top\r\nZSCAN z 0\r\n"
     b"ZSCAN z 0 MATCH b*\r\nZSCAN z 5 COUNT 1\r\nZSCAN z x\r\nZSCAN nope 0 COUNT x\r\n"
     b"ZSCAN z 0 COUNT 0\r\nZSCAN z 0 NOPE\r\n"),
    ("sorted-set arity", b"ZADD z\r\nZADD z 1\r\nZINCRBY z 1\r\nZREM z\r\nZSCORE z\r\n"
     b"ZMSCORE z\r\nZCARD\r\nZCOUNT z 1\r\nZRANK z\r\nZREVRANK z\r\nZRANGE z 0\r\n"
     b"ZRANGEBYSCORE z 0\r\nZREVRANGEBYSCORE z 0\r\nZRANGEBYLEX z -\r\nZREVRANGEBYLEX z +\r\n"
     b"ZREVRANGE z 0\r\nZRANGESTORE d z 0\r\nZPOPMIN\r\nZPOPMAX\r\nZREMRANGEBYRANK z 0\r\n"
     b"ZREMRANGEBYSCORE z 0\r\nZREMRANGEBYLEX z -\r\nZLEXCOUNT z -\r\nZUNIONSTORE d 1\r\n"
     b"ZINTERSTORE d\r\nZDIFFSTORE d 1\r\nZUNION 1\r\nZINTER 1\r\nZDIFF 1\r\n"
     b"ZINTERCARD 1\r\nZRANDMEMBER\r\nZSCAN z\r\n"),
    ("sorted-set wrongtype both ways", b"SET s v\r\nZADD s 1 a\r\nZINCRBY s 1 a\r\n"
     b"ZREM s a\r\nZSCORE s a\r\nZMSCORE s a\r\nZCARD s\r\nZCOUNT s 0 1\r\nZRANK s a\r\n"
     b"ZRANGE s 0 -1\r\nZRANGEBYSCORE s 0 1\r\nZRANGEBYLEX s - +\r\nZPOPMIN s\r\n"
     b"ZPOPMAX s 2\r\nZREMRANGEBYRANK s 0 1\r\nZREMRANGEBYSCORE s 0 1\r\nZLEXCOUNT s - +\r\n"
     b"ZUNIONSTORE d 1 s\r\nZINTER 1 s\r\nZDIFF 1 s\r\nZRANDMEMBER s\r\nZRANDMEMBER s 2\r\n"
     b"ZSCAN s 0\r\nZADD z 1 a\r\nGET z\r\nSADD z a\r\nSMEMBERS z\r\nLPUSH z a\r\n"
     b"HGET z a\r\nTYPE z\r\nSUNION z\r\nZRANGE s x 1\r\nZCOUNT s x 1\r\nZADD s x a\r\n"
     b"ZRANGEBYSCORE s x 1\r\nZPOPMIN s -1\r\nZRANDMEMBER s x\r\n"),
    ("keyspace commands on a sorted set", b"ZADD z 1 a 2 b\r\nEXPIRE z 100\r\nZADD z 3 c\r\n"
     b"TTL z\r\nRENAME z y\r\nZRANGE y 0 -1\r\nTYPE y\r\nZPOPMIN y\r\nTTL y\r\nDEL y\r\n"
     b"EXISTS y\r\nZADD y 1 a\r\nSET y v\r\nTYPE y\r\n"),
]
