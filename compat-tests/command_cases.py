"""peer_diff.py's cases for the bit commands, COPY, SWAPDB, OBJECT, LCS and
the blocking commands: each request runs on an empty store against
redis-server 7.0 and xdpkv, replies compared byte for byte. Wrong arity,
wrong type and out-of-range arguments for each; the blocking commands only
where they answer at once (a pop, an error, MULTI) or after a short
timeout, so no case waits long."""

# Bits on strings (bitops.c).
BIT_CASES = [
    ("setbit/getbit", b"SETBIT b 7 1\r\nSETBIT b 7 1\r\nSETBIT b 100 0\r\nGET b\r\n"
     b"GETBIT b 7\r\nGETBIT b 6\r\nGETBIT b 100000\r\nGETBIT nope 3\r\nSTRLEN b\r\n"),
    ("setbit/getbit errors", b"SETBIT b -1 1\r\nSETBIT b 4294967296 1\r\nSETBIT b x 1\r\n"
     b"SETBIT b 1 2\r\nSETBIT b 1 -1\r\nSETBIT b 1 x\r\nGETBIT b -1\r\nGETBIT b 1.5\r\n"
     b"RPUSH l a\r\nSETBIT l 1 1\r\nGETBIT l 1\r\nSETBIT l -1 1\r\nSETBIT b 1\r\n"
     b"GETBIT b\r\nSETBIT b 1 1 1\r\n"),
    ("bitcount", b"SET s foobar\r\nBITCOUNT s\r\nBITCOUNT s 0 0\r\nBITCOUNT s 1 1 BYTE\r\n"
     b"BITCOUNT s 5 30 BIT\r\nBITCOUNT s -3 -1 bit\r\nBITCOUNT s -1 -3\r\nBITCOUNT s 0\r\n"
     b"BITCOUNT s 0 1 2\r\nBITCOUNT s 0 1 foo\r\nBITCOUNT s x 1\r\nBITCOUNT nope x\r\n"
     b"BITCOUNT nope 0 1 foo\r\nBITCOUNT s 0 9223372036854775807 bit\r\n"
     b"BITCOUNT s -9223372036854775808 -1 bit\r\nRPUSH l a\r\nBITCOUNT l\r\nBITCOUNT\r\n"),
    ("bitpos", b"SET m \"\\x00\\xff\\xf0\"\r\nBITPOS m 1\r\nBITPOS m 0\r\nBITPOS m 1 2\r\n"
     b"BITPOS m 1 2 -1 byte\r\nBITPOS m 1 7 15 bit\r\nBITPOS m 0 7 15 bit\r\n"
     b"BITPOS m 0 8 15 bit\r\nBITPOS m 0 1\r\nBITPOS m 0 1 -1\r\nBITPOS nope 1\r\n"
     b"BITPOS nope 0\r\nBITPOS nope 0 x\r\nBITPOS m 2\r\nBITPOS m x\r\nBITPOS m 1 x\r\n"
     b"BITPOS m 1 0 x\r\nBITPOS m 1 0 1 foo\r\nBITPOS m 1 0 1 bit 3\r\nSET e \"\"\r\n"
     b"BITPOS e 0\r\nBITPOS e 1\r\nBITPOS e 0 0 -1\r\nRPUSH l a\r\nBITPOS l 1\r\n"
     b"BITPOS l 5\r\nBITPOS m\r\n"),
    ("bitop", b"SET a \"\\xff\\x0f\"\r\nSET b \"\\x0f\"\r\nBITOP AND d a b\r\nGET d\r\n"
     b"BITOP OR d a b nope\r\nGET d\r\nBITOP XOR d a b\r\nGET d\r\nBITOP NOT d a\r\nGET d\r\n"
     b"BITOP NOT d a b\r\nBITOP FOO d a\r\nSET d x EX 100\r\nBITOP or d a\r\nTTL d\r\n"
     b"BITOP and d nope nope2\r\nEXISTS d\r\nRPUSH l x\r\nBITOP and d a l\r\n"
     b"BITOP and l a\r\nTYPE l\r\nBITOP and d\r\n"),
    ("bitfield", b"BITFIELD f SET i8 0 -100 GET i8 0 GET u8 0\r\n"
     b"BITFIELD f INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 102 1\r\n"
     b"BITFIELD f OVERFLOW FAIL INCRBY u2 100 1 INCRBY u2 100 1 INCRBY u2 100 1\r\n"
     b"BITFIELD f OVERFLOW SAT INCRBY i8 #1 100 INCRBY i8 #1 100 INCRBY i8 #1 -300\r\n"
     b"BITFIELD f SET u63 0 9223372036854775807 GET u63 0 GET i64 0 SET i64 0 -1\r\n"
     b"BITFIELD f SET i64 0 9223372036854775807 INCRBY i64 0 1 OVERFLOW SAT INCRBY i64 0 1\r\n"
     b"BITFIELD f OVERFLOW WRAP SET u4 0 17 GET u4 0 SET i4 0 9 GET i4 0 SET u8 0 -1\r\n"
     b"BITFIELD f GET u64 0\r\nBITFIELD f GET i65 0\r\nBITFIELD f GET i0 0\r\n"
     b"BITFIELD f GET x8 0\r\nBITFIELD f GET u8 -1\r\nBITFIELD f GET u8 #-1\r\n"
     b"BITFIELD f SET u8 0 x\r\nBITFIELD f FOO u8 0\r\nBITFIELD f GET u8\r\n"
     b"BITFIELD f OVERFLOW FOO\r\nBITFIELD f OVERFLOW\r\nBITFIELD f\r\nBITFIELD\r\n"
     b"BITFIELD nope GET u8 0\r\nEXISTS nope\r\nBITFIELD n SET u8 #4294967296 1\r\n"
     b"BITFIELD n OVERFLOW FAIL SET u8 0 1000\r\nGET n\r\nRPUSH l a\r\n"
     b"BITFIELD l GET u8 0\r\nBITFIELD l SET u8 0 1\r\n"),
    ("bitfield_ro", b"SET f \"\\xff\"\r\nBITFIELD_RO f GET u8 0 GET i16 #3\r\n"
     b"BITFIELD_RO f SET u8 0 1\r\nBITFIELD_RO f FOO\r\nBITFIELD_RO f\r\nBITFIELD_RO\r\n"
     b"RPUSH l a\r\nBITFIELD_RO l GET u8 0\r\nBITFIELD_RO l INCRBY u8 0 1\r\n"),
]

# COPY, SWAPDB, OBJECT, LCS (db.c, object.c, t_string.c).
KEYSPACE_CASES = [
    ("copy", b"RPUSH l a b\r\nPEXPIRE l 100000\r\nCOPY l m\r\nLRANGE m 0 -1\r\nTTL m\r\n"
     b"SET s x\r\nCOPY s m\r\nCOPY s m REPLACE\r\nTYPE m\r\nCOPY nope m\r\nCOPY s s\r\n"
     b"COPY s s DB 1\r\nSELECT 1\r\nGET s\r\nSELECT 0\r\nCOPY s s DB 16\r\nCOPY s s DB -1\r\n"
     b"COPY s s DB x\r\nCOPY s s DB 99999999999\r\nCOPY s s DB\r\nCOPY s s FOO\r\n"
     b"COPY s\r\nSADD set 1 2\r\nCOPY set set2\r\nSMEMBERS set2\r\nHSET h f v\r\n"
     b"COPY h h2\r\nHGETALL h2\r\nZADD z 1 a\r\nCOPY z z2\r\nZRANGE z2 0 -1 WITHSCORES\r\n"),
    ("swapdb", b"SET a 0\r\nSELECT 1\r\nSET a 1\r\nRPUSH l x\r\nSELECT 2\r\nSET b 2\r\n"
     b"SWAPDB 1 2\r\nGET a\r\nGET b\r\nSWAPDB 0 2\r\nGET a\r\nLRANGE l 0 -1\r\nSELECT 0\r\n"
     b"GET a\r\nLRANGE l 0 -1\r\nDBSIZE\r\nSWAPDB 0 16\r\nSWAPDB x 1\r\nSWAPDB 1 x\r\n"
     b"SWAPDB 1 1\r\nSWAPDB -1 1\r\nSWAPDB 99999999999 1\r\nSWAPDB 1\r\nSWAPDB 0 1 2\r\n"
     b"FLUSHALL\r\nSWAPDB 0 1\r\nDBSIZE\r\n"),
    ("object", b"SET i 123\r\nSET i2 12345\r\nSET e abc\r\nSET r " + b"x" * 45 + b"\r\n"
     b"OBJECT ENCODING i\r\nOBJECT ENCODING i2\r\nOBJECT ENCODING e\r\nOBJECT ENCODING r\r\n"
     b"RPUSH l a\r\nOBJECT ENCODING l\r\nSADD s 1 2\r\nOBJECT ENCODING s\r\nSADD s a\r\n"
     b"OBJECT ENCODING s\r\nHSET h a b\r\nOBJECT ENCODING h\r\nHSET h c " + b"v" * 65 + b"\r\n"
     b"OBJECT ENCODING h\r\nZADD z 1 a\r\nOBJECT ENCODING z\r\nZADD z 2 " + b"m" * 65 + b"\r\n"
     b"OBJECT ENCODING z\r\nOBJECT ENCODING nope\r\nOBJECT FREQ i\r\nOBJECT FREQ nope\r\n"
     b"OBJECT IDLETIME nope\r\nOBJECT REFCOUNT nope\r\nOBJECT FOO i\r\nOBJECT ENCODING\r\n"
     b"OBJECT ENCODING a b\r\nOBJECT\r\nOBJECT HELP\r\nOBJECT help extra\r\n"),
    ("lcs", b"MSET a ohmytext b mynewtext\r\nLCS a b\r\nLCS a b LEN\r\nLCS a b IDX\r\n"
     b"LCS a b IDX MINMATCHLEN 4\r\nLCS a b IDX MINMATCHLEN 4 WITHMATCHLEN\r\n"
     b"LCS a b IDX WITHMATCHLEN MINMATCHLEN -5\r\nLCS a b IDX LEN\r\nLCS a b LEN LEN\r\n"
     b"LCS a b FOO\r\nLCS a b MINMATCHLEN\r\nLCS a b MINMATCHLEN x\r\nLCS a nope\r\n"
     b"LCS nope nope IDX\r\nRPUSH l a\r\nLCS a l\r\nLCS l a FOO\r\nLCS a\r\n"),
]

# The blocking commands where they answer without waiting long (t_list.c,
# t_zset.c, blocked.c); compat-tests/job_queue_test.py parks clients.
BLOCKING_CASES = [
    ("blocking pops that find something",
     b"RPUSH l a b c\r\nBLPOP nope l 0\r\nBRPOP l 0\r\nBRPOPLPUSH l d 0\r\n"
     b"BLMOVE d l RIGHT LEFT 0\r\nLRANGE l 0 -1\r\nZADD z 1 a 2 b 3 c\r\nBZPOPMIN z 0\r\n"
     b"BZPOPMAX nope z 0\r\nBLMPOP 0 2 nope l RIGHT COUNT 5\r\nBZMPOP 0 1 z MIN COUNT 1\r\n"
     b"EXISTS l\r\n"),
    ("blocking pops time out", b"BLPOP nope 0.01\r\nBRPOPLPUSH nope d 0.01\r\n"
     b"BLMOVE nope d LEFT RIGHT 0.01\r\nBZPOPMAX nope 0.01\r\nBLMPOP 0.01 1 nope LEFT\r\n"
     b"BZMPOP 0.01 1 nope MAX\r\nEXISTS d\r\n"),
    ("blocking pops' errors", b"BLPOP nope -1\r\nBLPOP nope x\r\nBLPOP nope nan\r\n"
     b"BLPOP nope inf\r\nBLPOP nope 1e300\r\nBLPOP nope 9223372036854775807\r\n"
     b"BLMOVE nope d FOO RIGHT 0\r\nBLMOVE nope d LEFT RIGHT x\r\nBLMPOP 0 0 k LEFT\r\n"
     b"BLMPOP 0 x k LEFT\r\nBLMPOP x 1 k LEFT\r\nBLMPOP 0 2 k LEFT\r\nBLMPOP 0 1 k FOO\r\n"
     b"BLMPOP 0 1 k LEFT COUNT 0\r\nBLMPOP 0 1 k LEFT COUNT 2 COUNT 3\r\nBZMPOP 0 1 z FOO\r\n"
     b"BZMPOP 0 1 z MIN COUNT -1\r\nSET s v\r\nBLPOP s 0\r\nBLPOP nope s 0\r\nBZPOPMIN s 0\r\n"
     b"BRPOPLPUSH s d 0\r\nRPUSH l a\r\nBLMOVE l s LEFT LEFT 0\r\nLRANGE l 0 -1\r\nBLPOP l\r\n"
     b"BRPOPLPUSH l d\r\nBLMOVE l d LEFT RIGHT\r\nBZPOPMIN z\r\nBLMPOP 0 1\r\n"),
    ("lmpop/zmpop", b"LMPOP 1 k LEFT\r\nLMPOP 0 k LEFT\r\nRPUSH k a b c\r\n"
     b"LMPOP 2 x k RIGHT COUNT 2\r\nLMPOP 1 k RIGHT COUNT 5\r\nLMPOP 1 k left count\r\n"
     b"ZADD z 1 a 2 b 3 c\r\nZMPOP 1 z MIN\r\nZMPOP 1 z MAX COUNT 10\r\nZMPOP 1 z MAX\r\n"
     b"ZMPOP 1 z FOO\r\nZMPOP 3 z MIN\r\nSET s v\r\nLMPOP 1 s LEFT\r\nZMPOP 1 s MIN\r\n"
     b"LMPOP 1\r\nZMPOP 1 z\r\n"),
    ("blocking pops in MULTI", b"MULTI\r\nBLPOP nope 0\r\nBRPOPLPUSH nope d 0\r\n"
     b"BLMOVE nope d LEFT LEFT 0\r\nBZPOPMAX nope 0\r\nBLMPOP 0 1 nope LEFT\r\n"
     b"BZMPOP 0 1 nope MAX\r\nEXEC\r\n"),
]

# The LFU policies (evict.c, object.c): a new key's counter, OBJECT FREQ
# looking without counting, a GET counting (from 5 every hit counts), the
# tunables. Ends by setting the policy back to xdpkv's default on both, so
# the cases after it see the same policy on each.
LFU_CASES = [
    ("lfu", b"CONFIG SET maxmemory-policy allkeys-lfu\r\nCONFIG GET maxmemory-policy\r\n"
     b"SET foo a\r\nOBJECT FREQ foo\r\nOBJECT FREQ foo\r\nOBJECT IDLETIME foo\r\nGET foo\r\n"
     b"OBJECT FREQ foo\r\nOBJECT FREQ nope\r\nCONFIG GET lfu-log-factor\r\n"
     b"CONFIG GET lfu-decay-time\r\nCONFIG SET lfu-log-factor -1\r\n"
     b"CONFIG SET lfu-log-factor x\r\nCONFIG SET lfu-decay-time 2147483648\r\n"
     b"CONFIG SET lfu-decay-time 5 lfu-log-factor 0\r\nCONFIG GET lfu-log-factor\r\n"
     b"CONFIG GET lfu-decay-time\r\n"
     b"CONFIG SET lfu-decay-time 1 lfu-log-factor 10\r\n"
     b"CONFIG SET maxmemory-policy volatile-lfu\r\nCONFIG GET maxmemory-policy\r\n"
     b"CONFIG SET maxmemory-policy allkeys-lru\r\nOBJECT FREQ foo\r\n"),
]
