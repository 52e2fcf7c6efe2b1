"""More sorted set commands against a real redis-server (RESP2 and RESP3): the lex forms
(ZRANGEBYLEX, ZREVRANGEBYLEX, ZLEXCOUNT), the range removes, ZRANDMEMBER, ZRANGESTORE and
ZMPOP: replies, reply types, errors and the order Redis checks arguments in."""

from __future__ import annotations

import random
import time
from typing import Any

from tests.conftest import Differential
from tests.respclient import Reply


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


def test_zremrangebyrank(diff: Differential) -> None:
    for start, end in [("0", "0"), ("1", "3"), ("-2", "-1"), ("-100", "100"), ("3", "1"), ("6", "10"), ("5", "5"),
                       ("-1", "-2"), ("0", "-1"), ("-7", "-6"), ("x", "1"), ("0", "1.5"), ("99999999999999999999", "1"),
                       ("x", "y")]:
        base(diff)
        diff.check("ZREMRANGEBYRANK", "z", start, end)
        diff.check("ZRANGE", "z", "0", "-1", "WITHSCORES")
        diff.check("FLUSHALL")
    base(diff)
    diff.check_all(
        ("ZREMRANGEBYRANK", "nokey", "0", "-1"), ("ZREMRANGEBYRANK", "nokey", "x", "-1"),
        ("ZREMRANGEBYRANK", "str", "0", "-1"), ("ZREMRANGEBYRANK", "str", "x", "-1"), ("EXISTS", "nokey"),
        ("ZREMRANGEBYRANK", "z", "0"), ("ZREMRANGEBYRANK", "z", "0", "1", "2"), ("ZREMRANGEBYRANK", "z"),
        ("EXPIRE", "z", "100"), ("ZREMRANGEBYRANK", "z", "1", "2"), ("TTL", "z"), ("ZCARD", "z"),
        ("ZREMRANGEBYRANK", "z", "0", "-1"), ("EXISTS", "z"), ("TTL", "z"), ("TYPE", "z"),
        ("ZADD", "z", "1", "a"), ("TTL", "z"),
    )


def test_zremrangebyscore(diff: Differential) -> None:
    ranges = [("-inf", "+inf"), ("1", "2"), ("(1", "2"), ("1", "(2"), ("(1", "(2"), ("2", "1"), ("(2", "2"),
              ("", ""), ("(", "3"), (" 1", "3"), ("1 ", "3"), ("1e400", "inf"), ("x", "1"), ("1", "x"),
              ("nan", "1"), ("0x1", "0x2"), ("-inf", "(-1"), ("(3.5", "inf"), ("(inf", "inf"), ("0.1", "0.1")]
    for lo, hi in ranges:
        base(diff)
        diff.check("ZREMRANGEBYSCORE", "z", lo, hi)
        diff.check("ZRANGE", "z", "0", "-1", "WITHSCORES")
        diff.check("FLUSHALL")
    base(diff)
    diff.check_all(
        ("ZREMRANGEBYSCORE", "nokey", "0", "1"), ("ZREMRANGEBYSCORE", "nokey", "x", "1"),
        ("ZREMRANGEBYSCORE", "str", "0", "1"), ("ZREMRANGEBYSCORE", "str", "x", "1"), ("ZREMRANGEBYSCORE", "z", "0"),
        ("EXPIRE", "z", "100"), ("ZREMRANGEBYSCORE", "z", "(1", "2"), ("TTL", "z"),
        ("ZREMRANGEBYSCORE", "z", "-inf", "inf"), ("EXISTS", "z"), ("TTL", "z"),
    )


def test_zremrangebylex(diff: Differential) -> None:
    for lo, hi in [("-", "+"), ("[a", "[b"), ("(a", "[c"), ("[ab", "(d"), ("[b", "[a"), ("(a", "(a"), ("[a", "[a"),
                   ("(f", "+"), ("-", "(a"), ("[g", "+"), ("x", "+"), ("-", "y"), ("+", "-"), ("+\x00", "-")]:
        base(diff)
        diff.check("ZREMRANGEBYLEX", "lex", lo, hi)
        diff.check("ZRANGE", "lex", "0", "-1")
        diff.check("FLUSHALL")
    setup(diff, ("ZADD", "mixed", "1", "d", "2", "a", "3", "c", "4", "b", "5", "e", "6", "a0"))
    diff.check_all(("ZREMRANGEBYLEX", "mixed", "[b", "[d"), ("ZRANGE", "mixed", "0", "-1"))
    setup(diff, ("ZADD", "big", *[x for i in range(300) for x in ("0", f"m{i:03d}")]))
    diff.check_all(
        ("ZREMRANGEBYLEX", "big", "[m100", "(m200"), ("ZCARD", "big"), ("ZRANGE", "big", "95", "105"),
        ("ZREMRANGEBYLEX", "big", "(m298", "+"), ("ZRANGE", "big", "-2", "-1"),
    )
    base(diff)
    diff.check_all(
        ("ZREMRANGEBYLEX", "nokey", "-", "+"), ("ZREMRANGEBYLEX", "nokey", "x", "+"),
        ("ZREMRANGEBYLEX", "str", "-", "+"), ("ZREMRANGEBYLEX", "str", "x", "+"), ("ZREMRANGEBYLEX", "lex", "-"),
        ("EXPIRE", "lex", "100"), ("ZREMRANGEBYLEX", "lex", "-", "(c"), ("TTL", "lex"),
        ("ZREMRANGEBYLEX", "lex", "-", "+"), ("EXISTS", "lex"), ("TTL", "lex"),
    )


def test_zremrange_in_multi_and_expired(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("MULTI",), ("ZREMRANGEBYRANK", "z", "0", "1"), ("ZREMRANGEBYSCORE", "z", "x", "1"),
        ("ZREMRANGEBYSCORE", "z", "(2", "+inf"), ("ZREMRANGEBYLEX", "lex", "[b", "+"), ("ZREMRANGEBYLEX", "str", "-", "+"),
        ("ZRANGE", "z", "0", "-1", "WITHSCORES"), ("ZRANGE", "lex", "0", "-1"), ("EXEC",),
        ("MULTI",), ("ZREMRANGEBYRANK", "z", "0", "-1"), ("ZREMRANGEBYLEX", "lex", "-", "+"), ("EXISTS", "z", "lex"),
        ("EXEC",),
        ("ZADD", "e", "1", "a"), ("PEXPIRE", "e", "1"),
    )
    time.sleep(0.01)
    diff.check_all(("ZREMRANGEBYRANK", "e", "0", "-1"), ("ZREMRANGEBYSCORE", "e", "-inf", "inf"), ("EXISTS", "e"))


def _shape(reply: Reply) -> Any:
    """The reply's types and lengths, values left out (they are random)."""
    if reply.type in "*~" and reply.value is not None:
        return (reply.type, [_shape(r) for r in reply.value])
    return reply.type


def _pairs(diff: Differential, reply: Reply) -> list[tuple[Reply, Reply]]:
    if diff.protocol == 3:
        return [(p.value[0], p.value[1]) for p in reply.value]
    return list(zip(reply.value[::2], reply.value[1::2], strict=True))


def test_zrandmember(diff: Differential) -> None:
    base(diff)
    setup(diff, ("ZADD", "one", "5", "x"), ("ZADD", "big", *[x for i in range(200) for x in (str(i / 3), f"m{i}")]))
    for key in ("z", "one", "big"):
        size = diff.ours.call("ZCARD", key).value
        everything = diff.ours.call("ZRANGE", key, "0", "-1", "WITHSCORES")
        scored = dict((m.value, (m, s)) for m, s in _pairs(diff, everything))
        for count in ["1", "2", "5", "6", "7", "100", "-1", "-3", "-6", "-20", "0", "+2", "-0", None]:
            for withscores in (False, True):
                args = ["ZRANDMEMBER", key, *([count] if count is not None else []), *(["WITHSCORES"] * withscores)]
                if count is None and withscores:
                    continue
                ref, ours = diff.both(*args)
                if ref.type == "-":
                    assert ours == ref, (args, ref, ours)
                    continue
                for _ in range(3):  # the same shape whatever was drawn
                    assert _shape(ours) == _shape(ref), (args, ref, ours)
                    if count is None:
                        assert ours.type == "$" and ours.value in scored
                        break
                    n = int(count)
                    if withscores:
                        got = _pairs(diff, ours)
                        assert all(scored[m.value] == (m, s) for m, s in got), (args, ours)
                        names = [m.value for m, _ in got]
                    else:
                        assert all(r.type == "$" for r in ours.value)
                        names = [r.value for r in ours.value]
                    assert len(names) == (min(n, size) if n >= 0 else -n)
                    assert set(names) <= set(scored)
                    if n > 0:
                        assert len(set(names)) == len(names)
                    ref, ours = diff.both(*args)
    bound = str((1 << 62) - 1)  # LONG_MAX/2
    diff.check_all(
        ("ZRANDMEMBER", "nokey"), ("ZRANDMEMBER", "nokey", "5"), ("ZRANDMEMBER", "nokey", "-5", "WITHSCORES"),
        ("ZRANDMEMBER", "nokey", "x"), ("ZRANDMEMBER", "str"), ("ZRANDMEMBER", "str", "0"),
        ("ZRANDMEMBER", "str", "x"), ("ZRANDMEMBER", "str", "1", "foo"), ("ZRANDMEMBER", "z", "x"),
        ("ZRANDMEMBER", "z", "1.5"), ("ZRANDMEMBER", "z", "1", "foo"), ("ZRANDMEMBER", "z", "x", "foo"),
        ("ZRANDMEMBER", "z", "1", "WITHSCORES", "x"), ("ZRANDMEMBER", "z", "-9223372036854775808"),
        ("ZRANDMEMBER", "z", "-9223372036854775808", "foo"), ("ZRANDMEMBER", "z", "9223372036854775808"),
        ("ZRANDMEMBER", "z", bound + "0", "WITHSCORES"), ("ZRANDMEMBER", "z", "4611686018427387904", "WITHSCORES"),
        ("ZRANDMEMBER", "z", "-4611686018427387904", "WITHSCORES"), ("ZRANDMEMBER", "z", "0", "WITHSCORES"),
        ("ZRANDMEMBER", "z", "0", "withscores", "x"), ("ZRANDMEMBER", "z", "0"), ("ZRANDMEMBER",),
        ("ZRANDMEMBER", "one"), ("ZRANDMEMBER", "one", "-2"), ("ZRANDMEMBER", "one", "3", "WITHSCORES"),
        ("ZRANDMEMBER", "one", "-2", "withscores"),
    )
    setup(diff, ("MULTI",), ("ZRANDMEMBER", "one", "-2", "WITHSCORES"), ("ZRANDMEMBER", "str"))
    diff.check("EXEC")


def test_zrangestore(diff: Differential) -> None:
    base(diff)
    setup(diff, ("SADD", "set", "m"))
    forms: list[tuple[str, ...]] = [
        ("0", "-1"), ("1", "3"), ("-2", "-1"), ("3", "1"), ("0", "-1", "REV"), ("1", "2", "REV"),
        ("-inf", "+inf", "BYSCORE"), ("(1", "3.5", "BYSCORE"), ("3.5", "(1", "BYSCORE", "REV"),
        ("-inf", "inf", "BYSCORE", "LIMIT", "1", "2"), ("inf", "-inf", "BYSCORE", "REV", "LIMIT", "0", "3"),
        ("5", "6", "BYSCORE"), ("-inf", "inf", "BYSCORE", "LIMIT", "10", "1"),
    ]
    for form in forms:
        diff.check("ZRANGESTORE", "dst", "z", *form)
        diff.check("ZRANGE", "dst", "0", "-1", "WITHSCORES")
    for form in [("-", "+", "BYLEX"), ("[b", "(e", "BYLEX"), ("+", "[ab", "BYLEX", "REV", "LIMIT", "1", "2"),
                 ("[x", "+", "BYLEX")]:
        diff.check("ZRANGESTORE", "dst", "lex", *form)
        diff.check("ZRANGE", "dst", "0", "-1")
    diff.check_all(
        ("ZRANGESTORE", "dst", "z", "0", "1"), ("EXPIRE", "dst", "100"), ("ZRANGESTORE", "dst", "z", "0", "2"),
        ("TTL", "dst"),  # replaced, TTL gone
        ("SET", "s", "x"), ("ZRANGESTORE", "s", "z", "0", "0"), ("TYPE", "s"), ("ZRANGE", "s", "0", "-1", "WITHSCORES"),
        ("ZRANGESTORE", "s", "z", "5", "1"), ("EXISTS", "s"),  # an empty range deletes the destination
        ("SET", "s", "x"), ("ZRANGESTORE", "s", "nokey", "0", "-1"), ("EXISTS", "s"),
        ("SET", "s", "x"), ("ZRANGESTORE", "s", "str", "0", "-1"), ("TYPE", "s"),
        ("ZRANGESTORE", "s", "set", "0", "-1"), ("ZRANGESTORE", "s", "str", "x", "-1"),
        ("ZRANGESTORE", "s", "nokey", "x", "-1"), ("ZRANGESTORE", "s", "z", "0", "-1", "WITHSCORES"),
        ("ZRANGESTORE", "s", "z", "0", "-1", "LIMIT", "0", "1"), ("ZRANGESTORE", "s", "z", "0", "-1", "foo"),
        ("ZRANGESTORE", "s", "z", "x", "1", "BYSCORE"), ("ZRANGESTORE", "s", "lex", "x", "+", "BYLEX"),
        ("ZRANGESTORE", "s", "z", "0", "-1", "BYSCORE", "BYLEX"), ("ZRANGESTORE", "s", "z", "0", "-1", "REV", "REV"),
        ("ZRANGESTORE", "s", "z", "0", "-1", "LIMIT", "1"), ("ZRANGESTORE", "s", "z", "0", "-1", "LIMIT", "x", "1"),
        ("ZRANGESTORE", "s", "z", "-", "+", "BYLEX", "WITHSCORES"), ("TYPE", "s"),
        ("ZRANGESTORE", "s", "z", "0"), ("ZRANGESTORE", "s", "z"),
        ("ZRANGESTORE", "z", "z", "1", "2"), ("ZRANGE", "z", "0", "-1", "WITHSCORES"),
        ("ZADD", "big", *[x for i in range(300) for x in (str(i % 7), f"m{i}")]),
        ("ZRANGESTORE", "b2", "big", "2", "(4", "BYSCORE"), ("ZCARD", "b2"), ("OBJECT", "ENCODING", "b2"),
        ("ZRANGE", "b2", "0", "5", "WITHSCORES"),
        ("MULTI",), ("ZRANGESTORE", "t", "z", "0", "-1"), ("ZRANGESTORE", "t2", "str", "0", "-1"),
        ("ZRANGE", "t", "0", "-1", "WITHSCORES"), ("EXEC",),
    )


def test_zmpop(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("ZMPOP", "1", "z", "MIN"), ("ZMPOP", "1", "z", "max"), ("ZMPOP", "1", "z", "MIN", "COUNT", "2"),
        ("ZMPOP", "1", "z", "MAX", "count", "1"), ("ZMPOP", "2", "nokey", "z", "MIN"), ("ZMPOP", "2", "z", "str", "MAX"),
        ("ZMPOP", "2", "str", "z", "MAX"), ("ZMPOP", "2", "nokey", "str", "MIN"), ("ZMPOP", "2", "nokey", "no2", "MIN"),
        ("ZMPOP", "1", "nokey", "MIN", "COUNT", "3"),
        ("ZMPOP", "0", "z", "MIN"), ("ZMPOP", "-1", "z", "MIN"), ("ZMPOP", "x", "z", "MIN"), ("ZMPOP", "1.5", "z", "MIN"),
        ("ZMPOP", "1", "z", "FOO"), ("ZMPOP", "2", "z", "MIN"), ("ZMPOP", "5", "z", "MIN"), ("ZMPOP", "1", "z", "z"),
        ("ZMPOP", "1", "z", "MIN", "COUNT"), ("ZMPOP", "1", "z", "MIN", "COUNT", "0"), ("ZMPOP", "1", "z", "MIN", "COUNT", "-1"),
        ("ZMPOP", "1", "z", "MIN", "COUNT", "x"), ("ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1"),
        ("ZMPOP", "1", "z", "MIN", "FOO", "1"), ("ZMPOP", "1", "z", "MIN", "1"), ("ZMPOP", "0", "z", "FOO"),
        ("ZMPOP", "1", "z", "FOO", "COUNT", "0"), ("ZMPOP", "1", "str", "MIN", "COUNT", "0"),
        ("ZMPOP", "1", "str", "FOO"), ("ZMPOP", "1", "z"), ("ZMPOP", "1"),
        ("ZMPOP", "1", "z", "MIN", "COUNT", "9223372036854775807"), ("EXISTS", "z"),
        ("ZMPOP", "1", "z", "MIN", "COUNT", "9223372036854775808"),
        ("EXPIRE", "lex", "100"), ("ZMPOP", "1", "lex", "MAX", "COUNT", "3"), ("TTL", "lex"),
        ("ZMPOP", "1", "lex", "MAX", "COUNT", "10"), ("EXISTS", "lex"), ("TTL", "lex"),
        ("ZADD", "m", "1", "a", "-0", "b", "inf", "c", "1.5e-7", "d"), ("ZMPOP", "1", "m", "MAX", "COUNT", "2"),
        ("MULTI",), ("ZMPOP", "1", "m", "MIN"), ("ZMPOP", "1", "str", "MIN"), ("ZMPOP", "0", "m", "MIN"),
        ("ZMPOP", "1", "m", "MIN", "COUNT", "5"), ("EXEC",), ("EXISTS", "m"),
    )
    setup(diff, ("ZADD", "e", "1", "a"), ("PEXPIRE", "e", "1"), ("ZADD", "f", "2", "b"))
    time.sleep(0.01)
    diff.check_all(("ZMPOP", "2", "e", "f", "MIN"), ("EXISTS", "e"), ("ZMPOP", "1", "e", "MIN"))


def test_arity(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("ZRANGEBYLEX", "lex", "-"), ("ZREVRANGEBYLEX", "lex", "+"), ("ZLEXCOUNT", "lex", "-"),
        ("ZLEXCOUNT", "lex", "-", "+", "+"), ("ZREMRANGEBYRANK", "z", "0"), ("ZREMRANGEBYRANK", "z", "0", "1", "2"),
        ("ZREMRANGEBYSCORE", "z", "0"), ("ZREMRANGEBYSCORE", "z", "0", "1", "2"), ("ZREMRANGEBYLEX", "lex", "-"),
        ("ZREMRANGEBYLEX", "lex", "-", "+", "x"), ("ZRANDMEMBER",), ("ZRANGESTORE", "d", "z", "0"),
        ("ZMPOP", "1", "z"), ("ZMPOP",), ("zrangebylex",), ("ZRANGEBYLEX", "str", "-"), ("ZMPOP", "x", "str"),
    )


def _random_command(rng: random.Random) -> tuple[str, ...]:
    key = rng.choice(["z1", "z1", "z2", "str", "none"])
    members = ["a", "b", "c", "d", "e", "ab"]
    scores = ["1", "2.5", "-1", "0", "0", "0", "inf", "x"]
    bounds = ["1", "(1", "2.5", "(2.5", "-inf", "+inf", "(inf", "0", "(0", "x"]
    lex = ["-", "+", "[a", "(b", "[c", "(e", "[ab", "x"]
    ranks = ["0", "-1", "1", "-2", "3", "10", "x"]
    kind = rng.randrange(9)
    if kind <= 2:
        pairs = [x for _ in range(rng.choice([1, 2, 3])) for x in (rng.choice(scores), rng.choice(members))]
        return ("ZADD", key, *pairs)
    if kind == 3:
        form = rng.choice(["ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT"])
        limit = ["LIMIT", str(rng.randint(-1, 3)), str(rng.randint(-1, 3))] if form != "ZLEXCOUNT" and rng.random() < 0.5 else []
        return (form, key, rng.choice(lex), rng.choice(lex), *limit)
    if kind == 4:
        return ("ZREMRANGEBYRANK", key, rng.choice(ranks), rng.choice(ranks))
    if kind == 5:
        return ("ZREMRANGEBYSCORE", key, rng.choice(bounds), rng.choice(bounds))
    if kind == 6:
        return ("ZREMRANGEBYLEX", key, rng.choice(lex), rng.choice(lex))
    if kind == 7:
        form = rng.choice([(rng.choice(ranks), rng.choice(ranks)), (rng.choice(bounds), rng.choice(bounds), "BYSCORE"),
                           (rng.choice(lex), rng.choice(lex), "BYLEX")])
        return ("ZRANGESTORE", rng.choice(["z2", "dst", "str"]), key, *form, *rng.choice([[], ["REV"]]))
    keys = rng.sample(["z1", "z2", "str", "none"], rng.randint(1, 3))
    return ("ZMPOP", str(len(keys)), *keys, rng.choice(["MIN", "MAX"]), *rng.choice([[], ["COUNT", "2"]]))


def test_random_command_sequences(diff: Differential) -> None:
    rng = random.Random(7100 + diff.protocol)
    for _ in range(800):
        if rng.random() < 0.02:
            diff.check("SET", "str", "x")
        diff.check(*_random_command(rng))
        if rng.random() < 0.1:
            diff.check("ZRANGE", rng.choice(["z1", "z2", "dst"]), "0", "-1", "WITHSCORES")
    for key in ("z1", "z2", "dst", "str"):
        diff.check("TYPE", key)
        diff.check("ZRANGE", key, "0", "-1", "WITHSCORES")
