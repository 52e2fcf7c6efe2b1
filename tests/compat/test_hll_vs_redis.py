"""HyperLogLog commands, activekv against a real redis-server (RESP2 and RESP3, see ``diff``).

Replies must be identical, and so must the bytes GET returns (Redis's own sparse and dense
encodings, header and cached cardinality included), at every step.
"""

from __future__ import annotations

import random
import time

from tests.conftest import Differential
from tests.respclient import Reply


def _els(lo: int, hi: int) -> list[str]:
    return [f"e{i}" for i in range(lo, hi)]


def test_pfadd_pfcount_and_the_bytes(diff: Differential) -> None:
    diff.check_all(
        ("PFADD", "h", "a", "b", "c"), ("GET", "h"), ("TYPE", "h"), ("OBJECT", "ENCODING", "h"),
        ("STRLEN", "h"), ("PFADD", "h", "a"), ("PFADD", "h", "d"), ("GET", "h"),
        ("PFCOUNT", "h"), ("GET", "h"),  # the cache is written and valid
        ("PFCOUNT", "h"), ("PFADD", "h", "b"), ("GET", "h"),  # nothing changed: still valid
        ("PFADD", "h", "zz"), ("GET", "h"),  # invalidated, the old count kept in the bytes
        ("PFCOUNT", "h"), ("PFCOUNT", "nosuch"), ("EXISTS", "nosuch"),
        ("PFADD", "empty"), ("GET", "empty"), ("PFADD", "empty"), ("PFCOUNT", "empty"),
        ("GET", "empty"), ("PFADD", "bin", b"\x00\xff\r\n", b"", "x" * 300), ("GET", "bin"),
    )


def test_many_elements_sparse_to_dense(diff: Differential) -> None:
    """0..100k elements in growing batches: the sparse encoding, its promotion to dense at
    hll-sparse-max-bytes, the dense encoding and the counts all match Redis at each step."""
    lo = 0
    size = 1
    while lo < 100_000:
        hi = min(lo + size, 100_000)
        diff.check("PFADD", "h", *_els(lo, hi))
        diff.check("GET", "h")
        diff.check("PFDEBUG", "ENCODING", "h")
        if size % 3 == 0:
            diff.check("PFCOUNT", "h")
        lo = hi
        size = size * 2 if size < 4096 else size
    diff.check("PFCOUNT", "h")
    diff.check("GET", "h")


def test_sparse_stress_random_order(diff: Differential) -> None:
    """Many small PFADDs of random elements: the sparse opcodes as Redis writes them."""
    rng = random.Random(7)
    for step in range(120):
        diff.check("PFADD", "s", *[str(rng.randrange(10**9)) for _ in range(rng.choice([1, 3, 9]))])
        if step % 10 == 0:
            diff.check("GET", "s")
            diff.check("PFDEBUG", "DECODE", "s")
    diff.check("GET", "s")
    diff.check("PFCOUNT", "s")


def test_pfmerge_and_pfcount_of_several_keys(diff: Differential) -> None:
    diff.check_all(
        ("PFADD", "a", *_els(0, 300)), ("PFADD", "b", *_els(200, 700)),
        ("PFADD", "c", *_els(600, 20_000)),  # dense
        ("PFCOUNT", "a", "b"), ("PFCOUNT", "a", "b", "c"), ("PFCOUNT", "a", "nosuch", "b"),
        ("PFMERGE", "ab", "a", "b"), ("GET", "ab"), ("PFCOUNT", "ab"), ("PFDEBUG", "ENCODING", "ab"),
        ("PFMERGE", "abc", "a", "b", "c"), ("GET", "abc"), ("PFCOUNT", "abc"),
        ("PFDEBUG", "ENCODING", "abc"),
        ("PFMERGE", "a", "b"), ("GET", "a"), ("PFCOUNT", "a"),  # the destination is a source
        ("PFMERGE", "a"), ("GET", "a"),  # nothing merged: the cache is invalidated anyway
        ("PFMERGE", "new"), ("GET", "new"), ("PFCOUNT", "new"),
        ("PFMERGE", "new2", "nosuch"), ("GET", "new2"),
        ("PFCOUNT", "abc", "ab", "c"),
    )


def test_type_errors_and_corruption(diff: Differential) -> None:
    diff.check_all(
        ("SADD", "set", "x"), ("PFADD", "set", "a"), ("PFCOUNT", "set"), ("PFCOUNT", "set", "x"),
        ("PFMERGE", "set", "x"), ("PFMERGE", "d", "set"), ("PFDEBUG", "ENCODING", "set"),
        ("SET", "str", "foo"), ("PFADD", "str", "a"), ("PFCOUNT", "str"), ("PFCOUNT", "x", "str"),
        ("PFMERGE", "str"), ("PFMERGE", "d2", "str"), ("PFDEBUG", "GETREG", "str"),
        ("EXISTS", "d", "d2"),
        ("SET", "short", "HYLL"), ("PFCOUNT", "short"),
        # Redis's own cases: bytes appended at the tail, broken magic, invalid encoding
        ("PFADD", "h", "a", "b", "c"), ("APPEND", "h", "hello"), ("PFCOUNT", "h"),
        ("PFCOUNT", "h", "x"), ("PFMERGE", "m", "h"), ("PFDEBUG", "TODENSE", "h"),
        ("DEL", "h"), ("PFADD", "h", "a", "b", "c"), ("SETRANGE", "h", 0, "0123"), ("PFCOUNT", "h"),
        ("DEL", "h"), ("PFADD", "h", "a", "b", "c"), ("SETRANGE", "h", 4, "x"), ("PFCOUNT", "h"),
        # dense of the wrong length
        ("DEL", "h"), ("PFADD", "h", *_els(0, 5000)), ("APPEND", "h", "hello"), ("PFCOUNT", "h"),
        # a valid cache is trusted without parsing (as Redis)
        ("DEL", "h"), ("PFADD", "h", "a", "b"), ("PFCOUNT", "h"), ("APPEND", "h", "\x01"),
        ("PFCOUNT", "h"), ("PFADD", "h", "c"), ("PFCOUNT", "h", "x"),
        ("PFADD",), ("PFCOUNT",), ("PFMERGE",), ("PFDEBUG", "ENCODING"), ("PFSELFTEST", "x"),
    )


def test_corruption_fuzzing_never_crashes(diff: Differential) -> None:
    """Redis's "Fuzzing dense/sparse encoding": random bytes over an HLL's registers; every
    reply (an error, or a count) is Redis's."""
    rng = random.Random(11)
    for trial in range(12):
        diff.check("DEL", "h")
        diff.check("PFADD", "h", *_els(0, rng.choice([10, 100, 800])))
        data = diff.check("GET", "h").value
        for _ in range(rng.randint(1, 3)):
            offset = rng.randrange(16, len(data))
            diff.check("SETRANGE", "h", offset, bytes([rng.randrange(256)]))
        for cmd in (("PFCOUNT", "h"), ("PFCOUNT", "h", "nosuch"), ("PFDEBUG", "ENCODING", "h")):
            diff.check(*cmd)
        if trial % 4 == 0:
            diff.check("PFMERGE", "m", "h")


def _xzero(n: int) -> bytes:
    return bytes([0x40 | (n - 1) >> 8, (n - 1) & 0xFF])


def test_odd_hll_strings_are_written_as_redis_writes_them(diff: Differential) -> None:
    """Strings Redis itself would not have written (unused header bytes set, VAL runs split
    another way, a corrupt tail): PFADD and PFMERGE change them exactly as Redis does."""
    head = b"HYLL\x01\x00\x00\x00" + bytes(8)
    split = head + _xzero(100) + b"\x80\x80" + _xzero(16282)  # two VAL:1,1 where one VAL:1,2 fits
    diff.check_all(
        ("SET", "a", split), ("PFCOUNT", "a"), ("GET", "a"), ("PFADD", "a", "x", "y"), ("GET", "a"),
        ("SET", "b", split), ("PFMERGE", "b", "a"), ("GET", "b"),
        ("PFADD", "c", "p", "q"), ("SETRANGE", "c", 6, "W"), ("PFADD", "c", "r"), ("GET", "c"),
        ("PFMERGE", "c", "a"), ("GET", "c"), ("PFADD", "c", *[f"e{i}" for i in range(3000)]), ("GET", "c"),
        ("PFADD", "d", *[f"e{i}" for i in range(3000)]), ("SETRANGE", "d", 5, "Z"), ("PFADD", "d", "z"),
        ("GET", "d"), ("PFMERGE", "d", "a"), ("GET", "d"),
        # corrupt: an extra ZERO at the tail; elements that land before it are written
        ("SET", "e", split + b"\x00"), ("PFADD", "e", "a"), ("GET", "e"), ("PFADD", "e", *[f"f{i}" for i in range(40)]),
        ("GET", "e"), ("PFCOUNT", "e"),
        ("SET", "g", head + _xzero(16384) + b"\x00"), ("PFADD", "g", *[f"g{i}" for i in range(1500)]), ("GET", "g"),
    )


def test_hll_written_with_set_works(diff: Differential) -> None:
    """Bytes taken from redis-server's GET and SET on both servers behave alike."""
    for n in (3, 200, 3000):
        diff.ref.call("DEL", "src")
        diff.ref.call("PFADD", "src", *_els(0, n))
        raw = diff.ref.call("GET", "src").value
        diff.check_all(
            ("SET", "k", raw), ("PFCOUNT", "k"), ("GET", "k"), ("PFADD", "k", "new1", "new2"),
            ("GET", "k"), ("PFCOUNT", "k"), ("GET", "k"), ("SET", "k2", raw), ("PFADD", "k2", "e1"),
            ("GET", "k2"), ("PFMERGE", "k3", "k", "k2"), ("GET", "k3"), ("PFCOUNT", "k", "k2"),
            ("SET", "k4", raw), ("PFDEBUG", "TODENSE", "k4"), ("GET", "k4"),
            ("SET", "k5", raw), ("PFMERGE", "k5", "k"), ("GET", "k5"),
        )


def test_string_commands_on_an_hll(diff: Differential) -> None:
    diff.check_all(
        ("PFADD", "h", *_els(0, 50)), ("GETRANGE", "h", 0, 20), ("GETBIT", "h", 3),
        ("BITCOUNT", "h"), ("MGET", "h", "x"), ("COPY", "h", "h2"), ("GET", "h2"),
        ("PFADD", "h2", "more"), ("GET", "h2"), ("RENAME", "h", "h3"), ("GET", "h3"),
        ("PFCOUNT", "h3"), ("INCR", "h3"), ("SET", "h3", "plain", "GET"), ("GET", "h3"),
        ("PFADD", "h3", "x"), ("PFADD", "h4", "x"), ("APPEND", "h4", "tail"), ("STRLEN", "h4"),
        ("PFADD", "h5", "x"), ("SETBIT", "h5", 200, 1), ("GET", "h5"), ("PFCOUNT", "h5"),
        ("PFADD", "h6", "a"), ("GETDEL", "h6"), ("EXISTS", "h6"),
        ("PFADD", "h7", "a"), ("SCAN", 0, "TYPE", "string", "MATCH", "h7"),
        ("PFADD", "h8", *_els(0, 3000)), ("DUMP", "h7"), ("DUMP", "h8"), ("MOVE", "h7", 1), ("EXISTS", "h7"),
    )
    for key in ("h7", "h8"):  # DUMP: a string payload; RESTORE gives a string HLL back
        diff.check("PFADD", key, "again")
        payload = diff.ours.call("DUMP", key).value
        diff.check_all(("RESTORE", key + "r", 0, payload), ("GET", key + "r"), ("PFADD", key + "r", "zz"),
                       ("GET", key + "r"), ("PFCOUNT", key + "r"))


def test_ttl_is_kept_by_hll_writes(diff: Differential) -> None:
    diff.check_all(
        ("PFADD", "h", "a"), ("EXPIRE", "h", 100), ("PFADD", "h", "b"), ("TTL", "h"),
        ("PFCOUNT", "h"), ("TTL", "h"), ("PFMERGE", "h", "nosuch"), ("TTL", "h"),
        ("PFDEBUG", "TODENSE", "h"), ("TTL", "h"), ("GET", "h"),
        ("SET", "s", "x"), ("PFMERGE", "h2", "h"), ("SET", "h3", diff.ref.call("GET", "h").value, "EX", 50),
        ("PFADD", "h3", "new"), ("TTL", "h3"), ("PFCOUNT", "h3"), ("TTL", "h3"),
        ("PFADD", "gone", "a"), ("PEXPIRE", "gone", 1),
    )
    time.sleep(0.01)
    diff.check_all(("PFCOUNT", "gone"), ("PFADD", "gone", "b"), ("GET", "gone"), ("TTL", "gone"))


def test_pfdebug(diff: Differential) -> None:
    diff.check_all(
        ("PFDEBUG", "ENCODING", "nosuch"), ("PFDEBUG", "NOSUCH", "nosuch"),
        ("PFADD", "h", "a", "b", "c"), ("PFDEBUG", "DECODE", "h"), ("PFDEBUG", "encoding", "h"),
        ("PFDEBUG", "Bogus", "h"), ("PFDEBUG", b"cut\x00off", "h"), ("PFDEBUG", "GETREG", "h"), ("PFDEBUG", "ENCODING", "h"),
        ("GET", "h"), ("PFDEBUG", "DECODE", "h"), ("PFDEBUG", "TODENSE", "h"),
        ("PFADD", "s", "x"), ("PFDEBUG", "todense", "s"), ("PFDEBUG", "TODENSE", "s"), ("GET", "s"),
        ("PFCOUNT", "s"), ("PFADD", "s", "y"), ("GET", "s"),
        ("PFDEBUG", "ENCODING", "h", "extra"),
    )


def test_pfselftest(diff: Differential) -> None:
    # Redis's own self test adds 10M elements (seconds): its reply is +OK, checked on ours alone
    assert diff.ours.call("PFSELFTEST") == Reply("+", "OK")
    diff.check("PFSELFTEST", "extra")


def test_inside_multi(diff: Differential) -> None:
    diff.check_all(
        ("MULTI",), ("PFADD", "h", "a"), ("PFCOUNT", "h"), ("PFMERGE", "d", "h"), ("GET", "d"),
        ("EXEC",),
    )
