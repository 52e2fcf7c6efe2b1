"""BITOP, BITFIELD, BITFIELD_RO, LCS and SUBSTR, activekv against a real redis-server (RESP2 and
RESP3, see ``diff``): every reply identical, errors included, and the bytes left behind."""

from __future__ import annotations

import random

from tests.conftest import Differential


def test_bitop(diff: Differential) -> None:
    diff.check_all(
        ("SET", "a", b"\x0f\xf0\xaa"), ("SET", "b", b"\xff\x00"), ("SET", "c", "x"),
        ("BITOP", "AND", "d", "a", "b"), ("GET", "d"), ("BITOP", "or", "d", "a", "b", "c"), ("GET", "d"),
        ("BITOP", "XOR", "d", "a", "b", "nosuch"), ("GET", "d"), ("BITOP", "NOT", "d", "a"), ("GET", "d"),
        ("BITOP", "AND", "d", "a", "nosuch"), ("GET", "d"), ("BITOP", "and", "d", "a"), ("GET", "d"),
        ("SET", "e", ""), ("BITOP", "OR", "d", "e", "nosuch"), ("EXISTS", "d"),  # empty: d deleted
        ("BITOP", "OR", "d", "nosuch"), ("BITOP", "NOT", "d", "e"), ("EXISTS", "d"),
        ("SET", "t", "v", "EX", 100), ("BITOP", "NOT", "t", "a"), ("TTL", "t"),  # the TTL goes
        ("SADD", "s", "m"), ("BITOP", "OR", "d", "a", "s"), ("BITOP", "OR", "s", "a"), ("TYPE", "s"),
        ("GET", "s"), ("BITOP", "NOT", "d", "a", "b"), ("BITOP", "NOT", "d"), ("BITOP", "NAND", "d", "a"),
        ("BITOP", "AND", "d"), ("BITOP",),
        ("PFADD", "h", "x"), ("BITOP", "NOT", "d", "h"), ("GET", "d"),  # an HLL is a string
    )


def test_bitfield_get_set_incrby(diff: Differential) -> None:
    diff.check_all(
        ("BITFIELD", "k", "SET", "u8", 0, 255, "GET", "u8", 0), ("GET", "k"),
        ("BITFIELD", "k", "SET", "i8", 0, -100, "GET", "i8", 0, "GET", "u8", 0), ("GET", "k"),
        ("BITFIELD", "k", "INCRBY", "u2", 100, 1, "OVERFLOW", "SAT", "incrby", "u2", 102, 1), ("GET", "k"),
        ("BITFIELD", "k", "GET", "u4", 0, "GET", "i4", 4, "GET", "u63", 0, "GET", "i64", 0, "GET", "u1", 7),
        ("BITFIELD", "k", "SET", "i64", 3, "-9223372036854775808", "GET", "i64", 3), ("GET", "k"),
        ("BITFIELD", "k", "GET", "u16", 1000), ("STRLEN", "k"),  # reading far out creates nothing
        ("BITFIELD", "k", "SET", "u8", "#3", 7, "GET", "u8", "#3", "GET", "i5", "#2"), ("GET", "k"),
        ("BITFIELD", "k"), ("BITFIELD", "nosuch", "GET", "u8", 0), ("EXISTS", "nosuch"),
        ("BITFIELD", "n2", "SET", "u3", 13, 1), ("GET", "n2"),
        ("SET", "t", "v", "EX", 100), ("BITFIELD", "t", "SET", "u8", 0, 65), ("TTL", "t"), ("GET", "t"),
    )


def test_bitfield_overflow(diff: Differential) -> None:
    cmds = []
    for kind in ("WRAP", "SAT", "FAIL"):
        for t, start, incrs in (("u8", 250, (3, 10, -300, 1000)), ("i8", 120, (5, 10, -300, -1000)),
                                ("i64", "9223372036854775800", (7, 8, "-9223372036854775808")),
                                ("u63", "9223372036854775800", (7, 8, -10)), ("u1", 0, (1, 1, -3)),
                                ("i1", 0, (-1, -1, 1))):
            cmds.append(("BITFIELD", "o", "OVERFLOW", kind, "SET", t, 0, start))
            for incr in incrs:
                cmds.append(("BITFIELD", "o", "OVERFLOW", kind, "INCRBY", t, 0, incr))
            cmds.append(("BITFIELD", "o", "OVERFLOW", kind, "SET", t, 0, -1, "SET", t, 0, 300, "GET", t, 0))
            cmds.append(("GET", "o"))
    cmds.append(("BITFIELD", "o", "OVERFLOW", "FAIL", "INCRBY", "u8", 0, 1000, "OVERFLOW", "WRAP",
                 "INCRBY", "u8", 0, 1000, "GET", "u8", 0))
    cmds.append(("BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", 800, 1000))  # created anyway
    cmds.append(("GET", "f"))
    diff.check_all(*cmds)


def test_bitfield_errors_and_bitfield_ro(diff: Differential) -> None:
    diff.check_all(
        ("SET", "k", "abc"), ("SADD", "s", "x"),
        ("BITFIELD", "k", "GET", "x8", 0), ("BITFIELD", "k", "GET", "u64", 0), ("BITFIELD", "k", "GET", "i65", 0),
        ("BITFIELD", "k", "GET", "i0", 0), ("BITFIELD", "k", "GET", "u", 0), ("BITFIELD", "k", "GET", "", 0),
        ("BITFIELD", "k", "GET", "u8", -1), ("BITFIELD", "k", "GET", "u8", "x"), ("BITFIELD", "k", "GET", "u8", "#-1"),
        ("BITFIELD", "k", "GET", "u8", "#x"), ("BITFIELD", "k", "GET", "u8", 4294967296),
        ("BITFIELD", "k", "GET", "u8", "#2305843009213693952"),  # wraps to 0 in C's 64-bit multiply
        ("BITFIELD", "k", "GET", "u8"), ("BITFIELD", "k", "SET", "u8", 0), ("BITFIELD", "k", "SET", "u8", 0, "x"),
        ("BITFIELD", "k", "SET", "u8", 0, "99999999999999999999"), ("BITFIELD", "k", "OVERFLOW"),
        ("BITFIELD", "k", "OVERFLOW", "bogus", "GET", "u8", 0), ("BITFIELD", "k", "BOGUS"),
        ("BITFIELD", "s", "GET", "u8", 0), ("BITFIELD", "s", "SET", "u8", 0, 1), ("BITFIELD", "s", "BOGUS"),
        ("BITFIELD", "k", "GET", "u8", 0, "SET", "u8", 0, 1, "GET", "x8", 0), ("GET", "k"),  # parsed first
        ("BITFIELD_RO", "k", "GET", "u8", 0, "GET", "i4", "#1"), ("BITFIELD_RO", "k", "SET", "u8", 0, 1),
        ("BITFIELD_RO", "k", "INCRBY", "u8", 0, 1), ("BITFIELD_RO", "k", "OVERFLOW", "SAT"),
        ("BITFIELD_RO", "k"), ("BITFIELD_RO", "s", "GET", "u8", 0), ("BITFIELD_RO", "nosuch", "GET", "u8", 0),
        ("BITFIELD_RO", "k", "GET", "u8", 0, "SET", "u8", 0, 1, "GET", "x8", 0), ("GET", "k"),
        ("BITFIELD",), ("BITFIELD_RO",),
    )


def test_bitfield_random_against_redis(diff: Differential) -> None:
    rng = random.Random(5)
    for _ in range(150):
        signed = rng.random() < 0.5
        bits = rng.randint(1, 64 if signed else 63)
        t = ("i" if signed else "u") + str(bits)
        offset = rng.randrange(0, 100)
        op = rng.choice(("GET", "SET", "INCRBY"))
        cmd: list[object] = ["BITFIELD", "r", "OVERFLOW", rng.choice(("WRAP", "SAT", "FAIL")), op, t, offset]
        if op != "GET":
            cmd.append(rng.choice((rng.randint(-(1 << 63), (1 << 63) - 1), rng.randint(-300, 300))))
        diff.check(*cmd)
    diff.check("GET", "r")


def test_lcs(diff: Differential) -> None:
    diff.check_all(
        ("MSET", "a", "ohmytext", "b", "mynewtext"), ("LCS", "a", "b"), ("LCS", "a", "b", "LEN"),
        ("LCS", "a", "b", "IDX"), ("LCS", "a", "b", "idx", "MINMATCHLEN", 4),
        ("LCS", "a", "b", "IDX", "MINMATCHLEN", 4, "WITHMATCHLEN"), ("LCS", "a", "b", "IDX", "WITHMATCHLEN"),
        ("LCS", "a", "b", "IDX", "MINMATCHLEN", -5), ("LCS", "a", "b", "LEN", "MINMATCHLEN", 2),
        ("LCS", "a", "nosuch"), ("LCS", "nosuch", "nosuch2", "IDX"), ("LCS", "a", "a", "IDX", "WITHMATCHLEN"),
        ("SET", "r1", "ATGCATGCTTAGCAATGC"), ("SET", "r2", "GCATTTAGCAGATGCAT"), ("LCS", "r1", "r2"),
        ("LCS", "r1", "r2", "IDX", "WITHMATCHLEN"), ("LCS", "r2", "r1", "IDX", "MINMATCHLEN", 3),
        ("SADD", "s", "x"), ("LCS", "a", "s"), ("LCS", "s", "a", "bogus"), ("LCS", "a", "b", "bogus"),
        ("LCS", "a", "b", "LEN", "IDX"), ("LCS", "a", "b", "MINMATCHLEN"), ("LCS", "a", "b", "MINMATCHLEN", "x"),
        ("LCS", "a"), ("PFADD", "h", "x"), ("LCS", "h", "a"),
    )


def test_lcs_random_against_redis(diff: Differential) -> None:
    rng = random.Random(3)
    for n in range(30):
        hi = (10, 60, 300)[n % 3]
        x = "".join(rng.choice("ACGT") for _ in range(rng.randint(0, hi)))
        y = "".join(rng.choice("ACGT") for _ in range(rng.randint(0, hi // (1 + n % 4))))
        if n % 2:
            x, y = y, x
        diff.check("MSET", "x", x, "y", y)
        diff.check("LCS", "x", "y")
        diff.check("LCS", "x", "y", "IDX", "MINMATCHLEN", rng.randint(0, 4), "WITHMATCHLEN")
        diff.check("LCS", "x", "y", "LEN")


def test_substr(diff: Differential) -> None:
    diff.check_all(
        ("SET", "k", "Hello World"), ("SUBSTR", "k", 0, 3), ("SUBSTR", "k", -3, -1), ("SUBSTR", "k", 5, 2),
        ("SUBSTR", "k", 0, -100), ("SUBSTR", "k", -100, 100), ("SUBSTR", "nosuch", 0, 1),
        ("SUBSTR", "k", "x", 1), ("SUBSTR", "k", 0), ("SADD", "s", "m"), ("SUBSTR", "s", 0, 1),
        ("PFADD", "h", "a"), ("SUBSTR", "h", 0, 3),
    )
