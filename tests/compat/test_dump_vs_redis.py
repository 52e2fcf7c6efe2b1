"""DUMP and RESTORE against a real redis-server (RESP2 and RESP3, see ``diff``).

For every type and encoding: the same commands build the value on both servers, our DUMP is
byte for byte Redis's wherever Redis's bytes do not depend on its hash-table order (strings in
each encoding, LZF included, lists, intsets, listpacks, skiplist zsets), and a payload from
either server RESTOREs on the other to the same value, TTL included. Errors are compared as
Redis prints them.
"""

from __future__ import annotations

import random

import pytest

from server.harness.processes import ServerProcess
from server.rdb.crc64 import crc64
from tests.compat.helpers import check_near
from tests.conftest import Differential
from tests.respclient import RespConnection

LONG = "x" * 100
BIG_LIST = [f"element-{i}-" + "v" * (i % 50) for i in range(700)]  # several quicklist nodes

# name -> (commands that build key "k", the commands that read it back, byte-identical DUMP)
CASES: dict[str, tuple[list[tuple[str, ...]], list[tuple[str, ...]], bool]] = {
    "int8": ([("SET", "k", "12")], [("GET", "k")], True),
    "int16": ([("SET", "k", "-3000")], [("GET", "k")], True),
    "int32": ([("SET", "k", "2000000000")], [("GET", "k")], True),
    "int64 as text": ([("SET", "k", "12345678901234")], [("GET", "k")], True),
    "not canonical int": ([("SET", "k", "007")], [("GET", "k")], True),
    "short string": ([("SET", "k", "hello world")], [("GET", "k")], True),
    "empty string": ([("SET", "k", "")], [("GET", "k")], True),
    "binary": ([("SET", "k", "a\x00b\r\n\xff")], [("GET", "k")], True),
    "lzf string": ([("SET", "k", LONG)], [("GET", "k")], True),
    "lzf text": ([("SET", "k", "the quick brown fox jumps over the lazy dog " * 20)], [("GET", "k")], True),
    "incompressible 21+": ([("SET", "k", "abcdefghijklmnopqrstuvwxyz0123456789")], [("GET", "k")], True),
    "big string": ([("SET", "k", "0123456789abcdef" * 4096)], [("GET", "k")], True),
    "random 8k": ([("SET", "k", bytes(random.Random(5).getrandbits(8) for _ in range(8192)))], [("GET", "k")], True),
    # over LZF_MAX we store it raw (Redis compresses it): the same value, other bytes
    "huge string": ([("SET", "k", "0123456789abcdef" * 8192)], [("GET", "k")], False),
    "list small": ([("RPUSH", "k", "a", "1", "-5", "200", "70000", "-9000000", "5000000000", LONG)],
                   [("LRANGE", "k", "0", "-1")], True),
    "list big": ([("RPUSH", "k", *BIG_LIST)], [("LRANGE", "k", "0", "-1"), ("LLEN", "k")], True),
    "list big element": ([("RPUSH", "k", "a", "b" * 9000, "c")], [("LRANGE", "k", "0", "-1")], True),
    "intset16": ([("SADD", "k", "5", "-3", "100")], [("SMEMBERS", "k")], True),
    "intset32": ([("SADD", "k", "5", "70000")], [("SMEMBERS", "k")], True),
    "intset64": ([("SADD", "k", "5", "-9000000000")], [("SMEMBERS", "k")], True),
    "set hashtable": ([("SADD", "k", "a", "b", "c", "1")], [("SMEMBERS", "k")], False),
    "set large intset": ([("SADD", "k", *[str(i * 7) for i in range(600)])], [("SCARD", "k"), ("SMEMBERS", "k")], False),
    "hash listpack": ([("HSET", "k", "f1", "v1", "n", "123", "neg", "-77", "f3", LONG[:60])],
                      [("HGETALL", "k")], True),
    "hash hashtable": ([("HSET", "k", "f", "v", "long", LONG)], [("HGETALL", "k")], False),
    "zset listpack": ([("ZADD", "k", "1", "a", "2.5", "b", "-3", "c", "1e20", "d", "inf", "e", "-inf", "f", "0", "g")],
                      [("ZRANGE", "k", "0", "-1", "WITHSCORES")], True),
    "zset skiplist": ([("ZADD", "k", "1", "a", "2.5", "b", "3", LONG)], [("ZRANGE", "k", "0", "-1", "WITHSCORES")], True),
    # built at the head, Redis's nodes split elsewhere than RPUSH's: the same list, other bytes
    "list lpush": ([("LPUSH", "k", *BIG_LIST)], [("LRANGE", "k", "0", "-1")], False),
    "intset 512": ([("SADD", "k", *[str(i) for i in range(512)])], [("SCARD", "k")], True),
    "hash 512 fields": ([("HSET", "k", *[x for i in range(512) for x in (f"f{i}", str(i))])],
                        [("HGETALL", "k")], True),
    "hash 513 fields": ([("HSET", "k", *[x for i in range(513) for x in (f"f{i}", str(i))])],
                        [("HGETALL", "k")], False),
    "hash 64-byte value": ([("HSET", "k", "f", "v" * 64)], [("HGETALL", "k")], True),
    "zset 128": ([("ZADD", "k", *[x for i in range(128) for x in (str(i), f"m{i}")])],
                 [("ZRANGE", "k", "0", "-1", "WITHSCORES")], True),
    "zset 129": ([("ZADD", "k", *[x for i in range(129) for x in (str(i), f"m{i}")])],
                 [("ZRANGE", "k", "0", "-1", "WITHSCORES")], True),
    "zset many": ([("ZADD", "k", *[x for i in range(200) for x in (str(i / 3), f"m{i}")])],
                  [("ZRANGE", "k", "0", "-1", "WITHSCORES")], True),
}


def _build(diff: Differential, commands: list[tuple[str, ...]]) -> None:
    for cmd in commands:
        diff.check(*cmd)


def _reads(diff: Differential, reads: list[tuple[str, ...]], key: str) -> None:
    for cmd in reads:
        diff.check(cmd[0], key, *cmd[2:], unordered=cmd[0] in ("SMEMBERS", "HGETALL"))


@pytest.mark.parametrize("name", list(CASES))
def test_dump_matches_redis_and_restores_both_ways(diff: Differential, name: str) -> None:
    build, reads, identical = CASES[name]
    _build(diff, build)
    diff.check("OBJECT", "ENCODING", "k")
    ref, ours = diff.both("DUMP", "k")
    assert ref.type == ours.type == "$"
    if identical:
        assert ours.value == ref.value, name
    # Redis's payload restored here, ours restored at Redis: the same value on both.
    assert diff.ours.call("RESTORE", "from-redis", "0", ref.value).value == "OK"
    assert diff.ref.call("RESTORE", "from-redis", "0", ref.value).value == "OK"
    assert diff.ref.call("RESTORE", "from-us", "0", ours.value).value == "OK"
    assert diff.ours.call("RESTORE", "from-us", "0", ours.value).value == "OK"
    for key in ("from-redis", "from-us"):
        _reads(diff, reads, key)
        diff.check("TYPE", key)
        diff.check("TTL", key)


def test_dump_of_a_missing_key_is_nil(diff: Differential) -> None:
    diff.check("DUMP", "nokey")


def test_restore_with_ttl_and_absttl(diff: Differential) -> None:
    diff.check("SET", "k", "v")
    payload = diff.ref.call("DUMP", "k").value
    diff.check("RESTORE", "a", "5000", payload)
    check_near(diff, "PTTL", "a", tolerance=200)
    diff.check("RESTORE", "b", "2569591501000", payload, "ABSTTL")
    diff.check("PEXPIRETIME", "b")
    # an absolute time in the past: OK, and no key
    diff.check("RESTORE", "c", "1000", payload, "ABSTTL")
    diff.check("EXISTS", "c")
    # REPLACE with an expired time deletes the old key
    diff.check("RESTORE", "a", "1", payload, "ABSTTL", "REPLACE")
    diff.check("EXISTS", "a")


def test_restore_busykey_and_replace(diff: Differential) -> None:
    diff.check("SADD", "s", "1", "2")
    diff.check("SET", "k", "old")
    payload = diff.ref.call("DUMP", "s").value
    diff.check("RESTORE", "k", "0", payload)
    diff.check("GET", "k")
    diff.check("RESTORE", "k", "0", payload, "REPLACE")
    diff.check("TYPE", "k")
    diff.check("SMEMBERS", "k", unordered=True)


def test_restore_errors(diff: Differential) -> None:
    diff.check("SET", "k", "v")
    good = diff.ref.call("DUMP", "k").value
    bad_crc = good[:-1] + bytes([good[-1] ^ 1])
    newer = good[:-10] + b"\x0b\x00" + good[-8:]
    for args in [
        ("RESTORE", "n", "0", bad_crc),
        ("RESTORE", "n", "0", newer),
        ("RESTORE", "n", "0", "short"),
        ("RESTORE", "n", "0", ""),
        ("RESTORE", "n", "-1", good),
        ("RESTORE", "n", "abc", good),
        ("RESTORE", "k", "0", good),
        ("RESTORE", "k", "-1", good),  # BUSYKEY is checked before the TTL
        ("RESTORE", "n", "0", good, "BOGUS"),
        ("RESTORE", "n", "0", good, "IDLETIME", "-1"),
        ("RESTORE", "n", "0", good, "IDLETIME", "x"),
        ("RESTORE", "n", "0", good, "IDLETIME"),
        ("RESTORE", "n", "0", good, "FREQ", "256"),
        ("RESTORE", "n", "0", good, "FREQ", "-1"),
        ("RESTORE", "n", "0", good, "FREQ", "5", "IDLETIME", "5"),
        ("RESTORE", "n", "0", good, "IDLETIME", "5", "FREQ", "5"),
        ("RESTORE", "n", "0", good, "REPLACE", "ABSTTL", "IDLETIME", "10"),
        ("RESTORE", "n"),
        ("DUMP",),
        ("DUMP", "a", "b"),
        ("EXISTS", "n"),
    ]:
        diff.check(*args)


def test_restore_of_a_corrupt_body_is_bad_data_format(diff: Differential) -> None:
    def sign(body: bytes) -> bytes:
        body += b"\x0a\x00"
        return body + crc64(body).to_bytes(8, "little")

    for body in [
        b"\x08abc",  # type 8: not an object type
        b"\x0f\x00",  # a Redis 6 stream cut short after its node count
        b"\x00\x05ab",  # truncated string
        b"\x02\x00",  # empty set
        b"\x02\x02\x01a\x01a",  # duplicate set members
        b"\x10\x07\x07\x00\x00\x00\x00\x00\xff",  # empty hash listpack
        b"\x0b\x04\x02\x00\x00\x00",  # truncated intset
        b"\x12\x01\x05\x01a",  # bad quicklist container
        b"\xff",
    ]:
        diff.check("RESTORE", "n", "0", sign(body))
    diff.check("EXISTS", "n")


# -- payloads of older Redis versions (RDB 9: ziplists, quicklists of ziplists, zipmaps) ------


def _sign(body: bytes, version: int = 9) -> bytes:
    body += version.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


# A Redis 6 hash ziplist {a: b, c: d} and quicklist (of ziplists) [a, b], as in Redis's own
# tests/integration/corrupt-dump.tcl (there with one byte broken); a Redis 2.4 zipmap hash;
# a linked list (RDB_TYPE_LIST), text-score zset (RDB_TYPE_ZSET) and a ziplist zset.
OLD_PAYLOADS = {
    "hash ziplist": b"\x0d\x1b\x1b\x00\x00\x00\x16\x00\x00\x00\x04\x00\x00\x02\x61\x00\x04\x02\x62\x00"
                    b"\x04\x02\x63\x00\x04\x02\x64\x00\xff",
    "quicklist ziplist": b"\x0e\x01\x13\x13\x00\x00\x00\x0e\x00\x00\x00\x02\x00\x00\x02\x61\x00\x04"
                         b"\x02\x62\x00\xff",
    "list ziplist ints": b"\x0a\x19\x19\x00\x00\x00\x13\x00\x00\x00\x04\x00\x00\xf3\x02\xfe\x85"
                         b"\x03\xc0\xe8\x03\x04\xf0\x40\x42\x0f\xff",
    "zipmap": b"\x09\x12\x02\x03foo\x03\x00bar\x01k\x02\x01vv\x00\xff",
    "linked list": b"\x01\x03\x01a\xc0\x07\x03xyz",
    "text zset": b"\x03\x03\x01a\x031.5\x01b\xfe\x01c\xff",
    "zset ziplist": b"\x0c\x18\x18\x00\x00\x00\x15\x00\x00\x00\x04\x00\x00\x01m\x03\x031.5\x05"
                    b"\x01n\x03\xf3\xff",
}
OLD_READS = {"hash ziplist": "HGETALL", "zipmap": "HGETALL", "quicklist ziplist": "LRANGE",
             "list ziplist ints": "LRANGE", "linked list": "LRANGE", "text zset": "ZRANGE",
             "zset ziplist": "ZRANGE"}


@pytest.mark.parametrize("name", list(OLD_PAYLOADS))
def test_restore_of_older_encodings(diff: Differential, name: str) -> None:
    payload = _sign(OLD_PAYLOADS[name])
    assert diff.check("RESTORE", "k", "0", payload).value == "OK"
    cmd = OLD_READS[name]
    if cmd == "HGETALL":
        diff.check("HGETALL", "k", unordered=True)
    elif cmd == "LRANGE":
        diff.check("LRANGE", "k", "0", "-1")
    else:
        diff.check("ZRANGE", "k", "0", "-1", "WITHSCORES")
    # and what we dump of it is what Redis 7.0 dumps of it (its 7.0 encoding)
    if cmd != "HGETALL":
        diff.check("DUMP", "k")


# Payloads with a valid CRC and a broken body, from Redis's corrupt-dump.tcl: Redis with
# sanitize-dump-payload yes answers "Bad data format"; we always check the body.
CORRUPT = [
    b"\x0E\x01\x1D\x1D\x00\x00\x00\x16\x00\x00\x00\x03\x00\x00\x04\x43\x43\x43\x43\x06\x04\x42\x42\x42"
    b"\x42\x06\x3F\x41\x41\x41\x41\xFF\x09\x00\x88\xA5\xCA\xA8\xC5\x41\xF4\x35",
    b"\x0D\x1B\x1B\x00\x00\x00\x16\x00\x00\x00\x04\x00\x00\x02\x61\x00\x04\x02\x62\x00\x04\x14\x63\x00"
    b"\x04\x02\x64\x00\xFF\x09\x00\xD9\x10\x54\x92\x15\xF5\x5F\x52",
    b"\x0D\x1B\x25\x00\x00\x00\x16\x00\x00\x00\x04\x00\x00\x02\x61\x00\x04\x02\x62\x00\x04\x02\x63\x00"
    b"\x04\x02\x64\x00\xFF\x09\x00\xB7\xF7\x6E\x9F\x43\x43\x14\xC6",
    b"\x0D\x1B\x1B\x00\x00\x00\x16\x00\x00\x00\x04\x00\x00\x02\x61\x00\x04\x02\x62\x00\x04\x02\x61\x00"
    b"\x04\x02\x64\x00\xFF\x09\x00\xA1\x98\x36\x78\xCC\x8E\x93\x2E",
    b"\x0E\x01\x13\x13\x00\x00\x00\x0E\x00\x00\x00\x02\x00\x00\x02\x61\x00\x0E\x02\x62\x00\xFF\x09\x00"
    b"\x49\x97\x30\xB2\x0D\xA1\xED\xAA",
    b"\x0E\x01\x13\x13\x00\x00\x00\x0E\x00\x00\x00\x02\x00\x00\x02\x61\x00\x02\x02\x62\x00\xFF\x09\x00"
    b"\xC7\x71\x03\x97\x07\x75\xB0\x63",
    b"\x0E\x01\x13\x13\x00\x00\x00\x0E\x00\x00\x00\x03\x00\x00\x02\x61\x00\x04\x02\x62\x00\xFF\x09\x00"
    b"\x4D\xE2\x0A\x2F\x08\x25\xDF\x91",
    b"\x0E\x01\x80\x00\x00\x00\x10\x41\x41\x41\x41\x41\x41\x41\x41\x02\x00\x00\x80\x41\x41\x41\x41\x07"
    b"\x00\x03\xC7\x1D\xEF\x54\x68\xCC\xF3",
    b"\x0A\x80\x00\x00\x00\x10\x41\x41\x41\x41\x41\x41\x41\x41\x02\x00\x00\x80\x41\x41\x41\x41\x07\x00"
    b"\x39\x5B\x49\xE0\xC1\xC6\xDD\x76",
]


def test_corrupt_payloads_are_refused(activekv: ServerProcess) -> None:
    conn = RespConnection(activekv.port)
    try:
        conn.call("FLUSHALL")
        for payload in CORRUPT:
            reply = conn.call("RESTORE", "key", "0", payload)
            assert reply.type == "-" and reply.value == "ERR Bad data format", (payload, reply)
        assert conn.call("EXISTS", "key").value == 0
        assert conn.call("PING").value == "PONG"
    finally:
        conn.close()


def test_dump_and_restore_inside_a_transaction(diff: Differential) -> None:
    diff.check("RPUSH", "l", "a", "b")
    payload = diff.ref.call("DUMP", "l").value
    diff.check_all(("MULTI",), ("DUMP", "l"), ("RESTORE", "copy", "0", payload), ("RESTORE", "l", "0", payload),
                   ("LRANGE", "copy", "0", "-1"), ("EXEC",))
    diff.check("LRANGE", "copy", "0", "-1")


def test_lzf_strings_dump_as_redis_compresses_them(diff: Differential) -> None:
    """Seeded random strings over 20 bytes (text, repeats with a changed byte, binary): our
    LZF output is Redis's, byte for byte."""
    rng = random.Random(2024)
    alphabets = [b"ab", b"abc ", b"xyzw0123", bytes(range(256))]
    for _ in range(150):
        alphabet = rng.choice(alphabets)
        n = rng.choice([21, 22, 33, 64, 100, 300, 1000, 5000])
        if rng.random() < 0.5:
            value = bytes(rng.choice(alphabet) for _ in range(n))
        else:
            chunk = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
            changed = bytearray((chunk * (n // len(chunk) + 1))[:n])
            changed[rng.randrange(n)] = rng.randrange(256)
            value = bytes(changed)
        diff.check("SET", "k", value)
        diff.check("DUMP", "k")


def test_hash_of_up_to_512_fields_is_a_listpack_scanned_whole(diff: Differential) -> None:
    """hash-max-listpack-entries is 512 by default in Redis 7.0 (its compiled-in value)."""
    diff.check("HSET", "h", *[x for i in range(300) for x in (f"f{i}", str(i))])
    diff.check("OBJECT", "ENCODING", "h")
    diff.check("HSCAN", "h", "0")  # a listpack: every field in one reply, cursor 0
    diff.check("HSET", "h", *[x for i in range(300, 513) for x in (f"f{i}", str(i))])
    diff.check("OBJECT", "ENCODING", "h")


def test_intset_of_up_to_512_members_is_scanned_whole_in_order(diff: Differential) -> None:
    members = [str(i * 37 % 1000 - 500) for i in range(400)]
    diff.check("SADD", "s", *members)
    diff.check("OBJECT", "ENCODING", "s")
    diff.check("SSCAN", "s", "0")
    diff.check("SSCAN", "s", "0", "MATCH", "-1*", "COUNT", "3")
    diff.check("DUMP", "s")
