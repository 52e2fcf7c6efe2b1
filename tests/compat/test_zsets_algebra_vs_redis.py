"""Sorted set algebra against a real redis-server (RESP2 and RESP3): ZUNION, ZINTER, ZDIFF,
ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE and ZINTERCARD — replies, reply types, errors and the
order Redis checks arguments in, plain sets as inputs, weights and aggregates."""

from __future__ import annotations

import random
import time
from typing import Any

from tests.conftest import Differential


def setup(diff: Differential, *commands: tuple[Any, ...]) -> None:
    for cmd in commands:
        ref, ours = diff.both(*cmd)
        assert ref == ours, (cmd, ref, ours)


def base(diff: Differential) -> None:
    setup(
        diff,
        ("ZADD", "z1", "1", "a", "2", "b", "3", "c", "-1.5", "d"),
        ("ZADD", "z2", "10", "b", "20", "c", "30", "e", "0.1", "a"),
        ("ZADD", "z3", "inf", "a", "-inf", "b", "0", "c", "5", "f"),
        ("SADD", "s", "a", "c", "g", "h"),
        ("SET", "str", "x"),
        ("HSET", "h", "f", "v"),
    )


STORES = ("ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE")
READS = ("ZUNION", "ZINTER", "ZDIFF")


def test_replies(diff: Differential) -> None:
    base(diff)
    inputs: list[tuple[str, ...]] = [
        ("z1",), ("z1", "z2"), ("z2", "z1"), ("z1", "z2", "z3"), ("z3", "z1"), ("z1", "s"), ("s", "z1"),
        ("s",), ("nokey",), ("z1", "nokey"), ("nokey", "z1"), ("s", "z2", "z3"), ("z1", "z1"), ("z1", "z2", "z1"),
        ("s", "s"), ("z3", "z3", "z3"),
    ]
    for keys in inputs:
        for cmd in READS:
            diff.check(cmd, str(len(keys)), *keys)
            diff.check(cmd, str(len(keys)), *keys, "WITHSCORES")
        diff.check("ZINTERCARD", str(len(keys)), *keys)
        for cmd in STORES:
            diff.check(cmd, "dst", str(len(keys)), *keys)
            diff.check("ZRANGE", "dst", "0", "-1", "WITHSCORES")
            diff.check("EXISTS", "dst")


def test_weights_and_aggregates(diff: Differential) -> None:
    base(diff)
    setup(diff, ("ZADD", "p", "5", "m", "0", "n", "-3", "o"), ("ZADD", "q", "inf", "m", "-inf", "n", "2", "o"),
          ("ZADD", "zero", "0", "m", "0", "a"))
    weights = [("1", "1"), ("2", "0.5"), ("0", "1"), ("1", "0"), ("0", "0"), ("inf", "1"), ("-inf", "1"),
               ("1", "-inf"), ("-1", "-1"), ("inf", "-inf"), ("1e308", "10"), ("-0", "1"), ("0x10", "1")]
    for keys in [("p", "q"), ("q", "p"), ("z1", "z3"), ("z3", "s"), ("s", "z1"), ("p", "p"), ("zero", "p")]:
        for w in weights:
            for agg in ([], ["AGGREGATE", "SUM"], ["AGGREGATE", "min"], ["aggregate", "MAX"]):
                for cmd in ("ZUNION", "ZINTER"):
                    diff.check(cmd, "2", *keys, "WEIGHTS", *w, *agg, "WITHSCORES")
                diff.check("ZUNIONSTORE", "dst", "2", *keys, "weights", *w, *agg)
                diff.check("ZRANGE", "dst", "0", "-1", "WITHSCORES")
                diff.check("ZINTERSTORE", "dst", "2", *keys, *agg, "WEIGHTS", *w)
                diff.check("ZRANGE", "dst", "0", "-1", "WITHSCORES")
    # three inputs: the order terms are folded in (sorted by size) decides inf + -inf
    setup(diff, ("ZADD", "i1", "inf", "x"), ("ZADD", "i2", "-inf", "x", "1", "y"), ("ZADD", "i3", "5", "x", "1", "y", "2", "z"))
    for keys in [("i1", "i2", "i3"), ("i3", "i2", "i1"), ("i2", "i3", "i1"), ("i1", "i3", "i2")]:
        for agg in ("SUM", "MIN", "MAX"):
            diff.check("ZUNION", "3", *keys, "AGGREGATE", agg, "WITHSCORES")
            diff.check("ZINTER", "3", *keys, "AGGREGATE", agg, "WITHSCORES")
            diff.check("ZUNION", "3", *keys, "WEIGHTS", "1", "0", "2", "AGGREGATE", agg, "WITHSCORES")
            diff.check("ZINTER", "3", *keys, "WEIGHTS", "0", "1", "1", "AGGREGATE", agg, "WITHSCORES")
    # options may repeat: the last one counts
    diff.check_all(
        ("ZUNION", "2", "z1", "z2", "WEIGHTS", "1", "2", "WEIGHTS", "3", "4", "WITHSCORES"),
        ("ZUNION", "2", "z1", "z2", "AGGREGATE", "MIN", "AGGREGATE", "MAX", "WITHSCORES"),
        ("ZUNION", "2", "z1", "z2", "WITHSCORES", "WITHSCORES"),
        ("ZINTER", "2", "z1", "z2", "AGGREGATE", "MAX", "WEIGHTS", "1", "-1", "WITHSCORES", "AGGREGATE", "SUM"),
        ("ZUNION", "1", "zero", "WEIGHTS", "-1", "WITHSCORES"), ("ZINTER", "1", "zero", "WEIGHTS", "-1", "WITHSCORES"),
        ("ZUNIONSTORE", "dst", "1", "zero", "WEIGHTS", "-1"), ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
        ("ZUNION", "2", "z1", "z2", "WEIGHTS", "1.5e-7", "-2.25", "WITHSCORES"),
    )


def test_errors_and_argument_order(diff: Differential) -> None:
    base(diff)
    for cmd in READS + ("ZINTERCARD",):
        diff.check_all(
            (cmd, "0", "z1"), (cmd, "-1", "z1"), (cmd, "x", "z1"), (cmd, "1.5", "z1"), (cmd, "", "z1"),
            (cmd, "99999999999999999999", "z1"), (cmd, "-99999999999999999999", "z1"), (cmd, "2", "z1"),
            (cmd, "3", "z1", "z2"), (cmd, "1", "str"), (cmd, "1", "h"), (cmd, "2", "z1", "str"), (cmd, "2", "nokey", "h"),
            (cmd, "2", "str", "nokey"), (cmd, "0", "str"), (cmd, "2", "str"), (cmd, "1", "str", "WEIGHTS", "x"),
            (cmd, "1", "str", "foo"), (cmd, "1", "z1", "foo"), (cmd, "1", "z1", "WEIGHTS", "x"),
            (cmd, "1", "z1", "WEIGHTS", "nan"), (cmd, "1", "z1", "WEIGHTS", "1e400"), (cmd, "1", "z1", "WEIGHTS", " 1"),
            (cmd, "1", "z1", "WEIGHTS", "1 "), (cmd, "1", "z1", "WEIGHTS", ""), (cmd, "1", "z1", "WEIGHTS"),
            (cmd, "2", "z1", "z2", "WEIGHTS", "1"), (cmd, "2", "z1", "z2", "WEIGHTS", "1", "2", "3"),
            (cmd, "2", "z1", "z2", "WEIGHTS", "1", "x", "AGGREGATE", "foo"),
            (cmd, "2", "z1", "z2", "AGGREGATE", "foo", "WEIGHTS", "1", "x"),
            (cmd, "1", "z1", "AGGREGATE"), (cmd, "1", "z1", "AGGREGATE", "avg"), (cmd, "1", "z1", "AGGREGATE", "SUM", "x"),
            (cmd, "1", "z1", "WITHSCORES", "x"), (cmd, "1", "z1", "LIMIT", "1"), (cmd, "1", "z1", "LIMIT"),
            (cmd, "1", "z1", "LIMIT", "-1"), (cmd, "1", "z1", "LIMIT", "x"), (cmd, "1", "z1", "LIMIT", "0"),
            (cmd, "2", "z1", "z2", "LIMIT", "1"), (cmd, "1", "z1", "WITHSCORES", "LIMIT", "1"),
            (cmd, "1", "z1", "WEIGHTS", "2", "WITHSCORES"), (cmd, "1", "s", "AGGREGATE", "MAX", "WITHSCORES"),
            (cmd, "1", "z1", "LIMIT", "1", "LIMIT", "x"), (cmd, "1", "z1", "LIMIT", "99999999999999999999"),
            (cmd, "1", "z1", "weights", "1", "limit", "1"), (cmd, "1", "z1", "withscores", "weights", "x"),
        )
    for cmd in STORES:
        diff.check_all(
            (cmd, "dst", "0", "z1"), (cmd, "dst", "-1", "z1"), (cmd, "dst", "x", "z1"), (cmd, "dst", "2", "z1"),
            (cmd, "dst", "1", "str"), (cmd, "dst", "2", "z1", "h"), (cmd, "dst", "1", "str", "WITHSCORES"),
            (cmd, "dst", "1", "z1", "WITHSCORES"), (cmd, "dst", "1", "z1", "WEIGHTS", "2"),
            (cmd, "dst", "1", "z1", "WEIGHTS", "x"), (cmd, "dst", "1", "z1", "AGGREGATE", "MIN"),
            (cmd, "dst", "1", "z1", "AGGREGATE", "foo"), (cmd, "dst", "1", "z1", "LIMIT", "1"), (cmd, "dst", "1", "z1", "x"),
            (cmd, "str", "1", "z1", "foo"), ("TYPE", "str"), ("EXISTS", "dst"),
        )
    diff.check_all(
        ("ZINTERCARD", "2", "z1", "z2", "LIMIT", "1"), ("ZINTERCARD", "2", "z1", "z2", "LIMIT", "0"),
        ("ZINTERCARD", "2", "z1", "z2", "LIMIT", "2"), ("ZINTERCARD", "2", "z1", "z2", "LIMIT", "3"),
        ("ZINTERCARD", "2", "z1", "z2", "limit", "100"), ("ZINTERCARD", "3", "z1", "z2", "s"),
        ("ZINTERCARD", "2", "z1", "nokey"), ("ZINTERCARD", "2", "z1", "z1", "LIMIT", "2"),
        ("ZINTERCARD", "2", "s", "z1", "LIMIT", "1", "LIMIT", "5"), ("ZINTERCARD", "2", "s", "z1", "WEIGHTS", "1", "1"),
        ("ZINTERCARD", "2", "s", "z1", "AGGREGATE", "SUM"), ("ZINTERCARD", "1", "s", "WITHSCORES"),
    )


def test_arity(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("ZUNION",), ("ZUNION", "1"), ("ZINTER", "1"), ("ZDIFF", "1"), ("ZINTERCARD", "1"), ("ZUNIONSTORE", "d", "1"),
        ("ZINTERSTORE", "d", "1"), ("ZDIFFSTORE", "d", "1"), ("ZUNIONSTORE", "d"), ("ZDIFFSTORE",), ("zintercard",),
        ("ZUNIONSTORE", "d", "x"), ("ZINTER", "x"),
    )


def test_store_replaces_destination(diff: Differential) -> None:
    base(diff)
    for cmd in STORES:
        diff.check_all(
            ("ZADD", "dst", "100", "old", "1", "a"), ("EXPIRE", "dst", "100"), (cmd, "dst", "2", "z1", "z2"),
            ("TTL", "dst"), ("ZRANGE", "dst", "0", "-1", "WITHSCORES"), ("TYPE", "dst"),
            ("SET", "dst", "x"), (cmd, "dst", "1", "s"), ("TYPE", "dst"), ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
            ("HSET", "dst", "f", "v"), (cmd, "dst", "1", "z1"), ("TYPE", "dst"),
            # an empty result deletes the destination, whatever it held
            ("SET", "dst", "x"), ("EXPIRE", "dst", "100"), (cmd, "dst", "1", "nokey"), ("EXISTS", "dst"), ("TTL", "dst"),
            ("ZADD", "dst", "1", "a"), (cmd, "dst", "2", "z1", "z1"), ("EXISTS", "dst"),
            (cmd, "dst", "1", "nokey"), ("EXISTS", "dst"),
            # the destination is one of the inputs
            ("ZADD", "d1", "1", "a", "2", "b", "3", "x"), (cmd, "d1", "2", "d1", "z2"), ("ZRANGE", "d1", "0", "-1", "WITHSCORES"),
            ("SADD", "d2", "a", "b", "q"), (cmd, "d2", "2", "z1", "d2"), ("TYPE", "d2"), ("ZRANGE", "d2", "0", "-1", "WITHSCORES"),
            ("SADD", "d3", "a", "b", "q"), (cmd, "d3", "1", "d3"), ("TYPE", "d3"), ("ZRANGE", "d3", "0", "-1", "WITHSCORES"),
            ("ZADD", "d4", "1", "a"), (cmd, "d4", "2", "d4", "d4"), ("EXISTS", "d4"), ("ZRANGE", "d4", "0", "-1", "WITHSCORES"),
            ("DEL", "d1", "d2", "d3", "d4", "dst"),
        )
    # WRONGTYPE or a syntax error leaves the destination as it was
    diff.check_all(
        ("ZADD", "dst", "1", "keep"), ("ZUNIONSTORE", "dst", "2", "z1", "str"), ("ZINTERSTORE", "dst", "1", "z1", "x"),
        ("ZDIFFSTORE", "dst", "1", "h"), ("ZRANGE", "dst", "0", "-1", "WITHSCORES"),
    )


def test_large_and_duplicated_inputs(diff: Differential) -> None:
    setup(
        diff,
        ("ZADD", "big", *[x for i in range(300) for x in (str(i % 11 - 5), f"m{i}")]),
        ("ZADD", "half", *[x for i in range(0, 300, 2) for x in (str(i / 7), f"m{i}")]),
        ("SADD", "bigset", *[f"m{i}" for i in range(0, 400, 3)]),
        ("ZADD", "long", "1", "x" * 70, "2", "m0"),
    )
    for keys in [("big", "half"), ("half", "big", "bigset"), ("bigset", "half"), ("big", "big"), ("half", "long"),
                 ("big", "half", "big", "bigset", "half")]:
        n = str(len(keys))
        for cmd in READS:
            diff.check(cmd, n, *keys, "WITHSCORES")
        diff.check("ZUNION", n, *keys, "WEIGHTS", *["2", "-0.5", "1", "3", "1"][: len(keys)], "AGGREGATE", "MAX", "WITHSCORES")
        diff.check("ZINTERCARD", n, *keys)
        diff.check("ZINTERCARD", n, *keys, "LIMIT", "10")
        for cmd in STORES:
            diff.check(cmd, "dst", n, *keys)
            diff.check("ZCARD", "dst")
            diff.check("OBJECT", "ENCODING", "dst")
            diff.check("ZRANGE", "dst", "0", "-1", "WITHSCORES")


def test_in_multi_and_expired(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("MULTI",), ("ZUNION", "2", "z1", "s", "WITHSCORES"), ("ZINTERSTORE", "t", "2", "z1", "z2", "WEIGHTS", "2", "3"),
        ("ZRANGE", "t", "0", "-1", "WITHSCORES"), ("ZUNIONSTORE", "t", "2", "t", "s", "AGGREGATE", "MAX"),
        ("ZRANGE", "t", "0", "-1", "WITHSCORES"), ("ZDIFFSTORE", "t", "2", "t", "z2"), ("ZDIFF", "2", "t", "nokey"),
        ("ZINTERCARD", "2", "t", "z1"), ("ZINTER", "1", "str"), ("ZUNION", "0", "z1"), ("ZDIFFSTORE", "t", "1", "nokey"),
        ("EXISTS", "t"), ("EXEC",),
        ("MULTI",), ("ZUNION", "1"), ("EXEC",),
        ("ZADD", "e", "1", "a", "2", "b"), ("PEXPIRE", "e", "1"), ("SADD", "es", "a"), ("PEXPIRE", "es", "1"),
        ("ZADD", "edst", "1", "x"), ("PEXPIRE", "edst", "1"),
    )
    time.sleep(0.01)
    diff.check_all(
        ("ZUNION", "2", "e", "z1", "WITHSCORES"), ("ZINTER", "2", "es", "z1"), ("ZDIFF", "2", "z1", "e"),
        ("ZINTERCARD", "1", "e"), ("ZUNIONSTORE", "edst", "1", "e"), ("EXISTS", "edst"),
        ("ZUNIONSTORE", "edst", "2", "es", "z1"), ("TTL", "edst"), ("ZDIFFSTORE", "x", "1", "e"), ("EXISTS", "e", "es", "x"),
    )


def _random_command(rng: random.Random) -> tuple[str, ...]:
    keys = ["z1", "z1", "z2", "z3", "s", "dst", "none", "str"]
    members = ["a", "b", "c", "d", "e"]
    scores = ["1", "2.5", "-1", "0", "0", "inf", "-inf", "3"]
    weights = ["1", "2", "0", "-1", "inf", "-inf", "0.5", "x"]
    kind = rng.randrange(10)
    if kind <= 2:
        pairs = [x for _ in range(rng.choice([1, 2, 3])) for x in (rng.choice(scores), rng.choice(members))]
        return ("ZADD", rng.choice(keys[:4]), *pairs)
    if kind == 3:
        return ("SADD", "s", *rng.sample(members, 2))
    if kind == 4:
        return ("ZREM", rng.choice(keys[:4]), rng.choice(members))
    srcs = [rng.choice(keys) for _ in range(rng.randint(1, 4))]
    head = [str(len(srcs) + rng.choice([0, 0, 0, 0, 0, 0, 1, -1])), *srcs]
    opts: list[str] = []
    if rng.random() < 0.5:
        opts += ["WEIGHTS", *[rng.choice(weights) for _ in srcs]]
    if rng.random() < 0.5:
        opts += ["AGGREGATE", rng.choice(["SUM", "MIN", "MAX", "AVG"])]
    if kind == 5:
        return (rng.choice(["ZUNION", "ZINTER"]), *head, *opts, *rng.choice([[], ["WITHSCORES"]]))
    if kind == 6:
        return (rng.choice(["ZUNIONSTORE", "ZINTERSTORE"]), rng.choice(["dst", "dst", "z1", "s", "str"]), *head, *opts)
    if kind == 7:
        return ("ZDIFF", *head, *rng.choice([[], ["WITHSCORES"]]))
    if kind == 8:
        return ("ZDIFFSTORE", rng.choice(["dst", "z2", "str"]), *head)
    return ("ZINTERCARD", *head, *rng.choice([[], ["LIMIT", str(rng.randint(-1, 3))]]))


def test_random_command_sequences(diff: Differential) -> None:
    rng = random.Random(7300 + diff.protocol)
    for _ in range(1000):
        if rng.random() < 0.02:
            diff.check("SET", "str", "x")
        diff.check(*_random_command(rng))
        if rng.random() < 0.1:
            diff.check("ZRANGE", rng.choice(["z1", "z2", "dst"]), "0", "-1", "WITHSCORES")
    for key in ("z1", "z2", "z3", "s", "dst", "str"):
        diff.check("TYPE", key)
        diff.check("ZRANGE", key, "0", "-1", "WITHSCORES")
