"""More sorted set commands against a real redis-server (RESP2 and RESP3): the lex forms
(ZRANGEBYLEX, ZREVRANGEBYLEX, ZLEXCOUNT), the range removes, ZRANDMEMBER, ZRANGESTORE and
ZMPOP: replies, reply types, errors and the order Redis checks arguments in."""

from __future__ import annotations

from typing import Any

from tests.conftest import Differential


def setup(diff: Differential, *commands: tuple[Any, ...]) -> None:
    for cmd in commands:
        ref, ours = diff.both(*cmd)
        assert ref == ours, (cmd, ref, ours)


def base(diff: Differential) -> None:
    setup(
        diff,
        ("ZADD", "z", "1", "a", "2", "b", "2", "c", "3.5", "d", "-1", "e", "0.1", "f"),
        ("ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f", "0", "ab"),
        ("SET", "str", "x"),
    )


LEX_BOUNDS = ["-", "+", "[a", "(a", "[ab", "(ab", "[b", "(f", "[f", "[g", "[", "(", "a", "", "+x", "-x", "+\x00"]


def test_zrangebylex_and_zlexcount(diff: Differential) -> None:
    base(diff)
    for lo in LEX_BOUNDS:
        for hi in LEX_BOUNDS:
            diff.check("ZRANGEBYLEX", "lex", lo, hi)
            diff.check("ZREVRANGEBYLEX", "lex", hi, lo)
            diff.check("ZLEXCOUNT", "lex", lo, hi)
    for offset, count in [("0", "1"), ("1", "3"), ("0", "-1"), ("2", "0"), ("6", "5"), ("7", "1"), ("100", "1"),
                          ("-1", "2"), ("1", "-5"), ("x", "1"), ("1", "x"), ("1.5", "1")]:
        diff.check("ZRANGEBYLEX", "lex", "-", "+", "LIMIT", offset, count)
        diff.check("ZRANGEBYLEX", "lex", "(a", "[e", "limit", offset, count)
        diff.check("ZREVRANGEBYLEX", "lex", "+", "-", "LIMIT", offset, count)
        diff.check("ZREVRANGEBYLEX", "lex", "[e", "(a", "LIMIT", offset, count)
    diff.check_all(
        ("ZRANGEBYLEX", "lex", "-", "+", "WITHSCORES"), ("ZRANGEBYLEX", "lex", "x", "+", "WITHSCORES"),
        ("ZRANGEBYLEX", "lex", "-", "+", "REV"), ("ZRANGEBYLEX", "lex", "-", "+", "BYLEX"),
        ("ZRANGEBYLEX", "lex", "-", "+", "BYSCORE"), ("ZRANGEBYLEX", "lex", "-", "+", "LIMIT", "1"),
        ("ZRANGEBYLEX", "lex", "-", "+", "LIMIT", "0", "1", "LIMIT", "1", "1"),
        ("ZRANGEBYLEX", "lex", "x", "y", "LIMIT", "a", "1"), ("ZRANGEBYLEX", "lex", "x", "+", "foo"),
        ("ZRANGEBYLEX", "lex", "x", "+"), ("ZRANGEBYLEX", "lex", "-", "y"),
        ("ZREVRANGEBYLEX", "lex", "+", "-", "REV"), ("ZREVRANGEBYLEX", "lex", "+", "-", "WITHSCORES"),
        ("ZREVRANGEBYLEX", "lex", "x", "-"),
        ("ZRANGEBYLEX", "nokey", "-", "+"), ("ZRANGEBYLEX", "nokey", "x", "+"), ("ZRANGEBYLEX", "str", "-", "+"),
        ("ZRANGEBYLEX", "str", "x", "+"), ("ZREVRANGEBYLEX", "str", "+", "-"), ("ZREVRANGEBYLEX", "nokey", "+", "-"),
        ("ZLEXCOUNT", "nokey", "-", "+"), ("ZLEXCOUNT", "nokey", "x", "+"), ("ZLEXCOUNT", "str", "-", "+"),
        ("ZLEXCOUNT", "str", "x", "+"), ("ZLEXCOUNT", "lex", "-", "+", "x"), ("ZLEXCOUNT", "lex", "-"),
        ("ZRANGEBYLEX", "lex", "-"), ("ZREVRANGEBYLEX", "lex", "+"), ("ZLEXCOUNT",),
    )


def test_lex_forms_on_mixed_and_large_zsets(diff: Differential) -> None:
    setup(
        diff,
        ("ZADD", "mixed", "1", "d", "2", "a", "3", "c", "4", "b", "5", "e", "6", "a0"),
        ("ZADD", "big", *[x for i in range(300) for x in ("0", f"m{i:03d}")]),
    )
    bounds = ["-", "+", "[a", "(b", "[c", "(d", "[e", "[z", "(a0"]
    for lo in bounds:
        for hi in bounds:
            diff.check("ZRANGEBYLEX", "mixed", lo, hi)
            diff.check("ZREVRANGEBYLEX", "mixed", hi, lo, "LIMIT", "1", "2")
            diff.check("ZLEXCOUNT", "mixed", lo, hi)
    for lo, hi in [("-", "+"), ("[m100", "(m200"), ("(m299", "+"), ("[m150", "[m150"), ("-", "(m000"), ("[n", "+")]:
        diff.check("ZRANGEBYLEX", "big", lo, hi, "LIMIT", "3", "5")
        diff.check("ZREVRANGEBYLEX", "big", hi, lo, "LIMIT", "0", "4")
        diff.check("ZLEXCOUNT", "big", lo, hi)


def test_lex_forms_in_multi(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("MULTI",), ("ZRANGEBYLEX", "lex", "[b", "+"), ("ZREVRANGEBYLEX", "lex", "+", "x"), ("ZLEXCOUNT", "lex", "-", "(c"),
        ("ZLEXCOUNT", "str", "-", "+"), ("EXEC",),
        ("MULTI",), ("ZLEXCOUNT", "lex", "-"), ("EXEC",),
    )
