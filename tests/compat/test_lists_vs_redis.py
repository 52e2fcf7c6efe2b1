"""List commands against a real redis-server (RESP2 and RESP3): replies, errors, reply types,
the order in which Redis checks arguments, and the key disappearing when emptied."""

from __future__ import annotations

import random
import time
from typing import Any

from tests.conftest import Differential

LONG_MIN = "-9223372036854775808"
LONG_MAX = "9223372036854775807"


def base(diff: Differential) -> None:
    diff.check_all(
        ("RPUSH", "l", "a", "b", "c", "a", "d", "a"),
        ("SET", "str", "x"),
        ("SADD", "set", "m"),
    )


def test_push_and_length(diff: Differential) -> None:
    diff.check_all(
        ("LPUSH", "l", "a", "b", "c"),
        ("RPUSH", "l", "x", "y"),
        ("LPUSH", "l", "z"),
        ("LRANGE", "l", "0", "-1"),
        ("LLEN", "l"),
        ("LLEN", "nosuch"),
        ("EXISTS", "nosuch"),
        ("LRANGE", "l", "0", "-1"),
        ("RPUSH", "e", ""),
        ("LRANGE", "e", "0", "-1"),
        ("TYPE", "l"),
        ("OBJECT", "ENCODING", "l"),
    )


def test_pops(diff: Differential) -> None:
    diff.check_all(
        ("RPUSH", "l", "a", "b", "c", "d", "e"),
        ("LPOP", "l"),
        ("RPOP", "l"),
        ("LPOP", "l", "0"),
        ("LPOP", "l", "2"),
        ("RPOP", "l", "5"),  # more than there is: what there is, and the key goes away
        ("EXISTS", "l"),
        ("LPOP", "l"),
        ("RPOP", "l"),
        ("LPOP", "l", "0"),
        ("RPOP", "l", "3"),
        ("RPUSH", "l", "a", "b"),
        ("LPOP", "l", "-1"),
        ("LPOP", "l", LONG_MIN),
        ("LPOP", "l", "99999999999999999999"),
        ("LPOP", "l", "x"),
        ("LPOP", "nosuch", "x"),
        ("LPOP", "l", "1", "2"),
        ("RPOP", "l", "1", "2"),
        ("LPOP", "str"),
        ("LPOP", "str", "0"),
        ("RPOP", "l", LONG_MAX),
        ("TYPE", "l"),
    )


def test_lindex_lrange(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        *[("LINDEX", "l", str(i)) for i in range(-8, 8)],
        ("LINDEX", "l", "x"),
        ("LINDEX", "nosuch", "x"),  # the key is looked up first
        ("LINDEX", "nosuch", "0"),
        ("LINDEX", "l", LONG_MIN),
        ("LINDEX", "l", LONG_MAX),
        ("LINDEX", "l", "99999999999999999999"),
        ("LRANGE", "l", "0", "-1"),
        ("LRANGE", "l", "1", "3"),
        ("LRANGE", "l", "-3", "-1"),
        ("LRANGE", "l", "-100", "100"),
        ("LRANGE", "l", "4", "2"),
        ("LRANGE", "l", "6", "10"),
        ("LRANGE", "l", "-1", "-2"),
        ("LRANGE", "l", LONG_MIN, LONG_MAX),
        ("LRANGE", "nosuch", "0", "-1"),
        ("LRANGE", "nosuch", "x", "1"),  # the indexes are parsed first
        ("LRANGE", "l", "0", "x"),
        ("LRANGE", "str", "0", "-1"),
        ("LINDEX", "str", "0"),
        ("LLEN", "str"),
    )


def test_lset(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("LSET", "l", "0", "A"),
        ("LSET", "l", "-1", "Z"),
        ("LSET", "l", "6", "x"),
        ("LSET", "l", "-7", "x"),
        ("LSET", "l", "x", "v"),
        ("LSET", "nosuch", "x", "v"),  # no such key before the index
        ("LSET", "nosuch", "0", "v"),
        ("LSET", "str", "0", "v"),
        ("LRANGE", "l", "0", "-1"),
    )


def test_linsert(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("LINSERT", "l", "BEFORE", "a", "x"),
        ("LINSERT", "l", "after", "a", "y"),
        ("LINSERT", "l", "AFTER", "a", "y2"),
        ("LINSERT", "l", "before", "d", "w"),
        ("LINSERT", "l", "after", "a", "y3"),
        ("LINSERT", "l", "before", "x", "head"),
        ("LINSERT", "l", "after", "a", "z"),
        ("LRANGE", "l", "0", "-1"),
        ("LINSERT", "l", "after", "nope", "z"),
        ("LINSERT", "nosuch", "after", "a", "z"),
        ("EXISTS", "nosuch"),
        ("LINSERT", "nosuch", "middle", "a", "z"),  # the side is checked first
        ("LINSERT", "l", "middle", "a", "z"),
        ("LINSERT", "str", "after", "a", "z"),
        ("LINSERT", "str", "middle", "a", "z"),
    )
    diff.check("RPUSH", "t", "p")
    for i in range(30):  # repeated inserts at one spot, both sides of a pivot
        diff.check("LINSERT", "t", "before" if i % 2 else "after", "p", str(i))
        diff.check("LINSERT", "t", "after", str(i), f"{i}b")
    diff.check("LRANGE", "t", "0", "-1")


def test_lrem(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("LREM", "l", "1", "a"),
        ("LRANGE", "l", "0", "-1"),
        ("LREM", "l", "-1", "a"),
        ("LRANGE", "l", "0", "-1"),
        ("RPUSH", "l", "a", "a", "b", "a"),
        ("LREM", "l", "0", "a"),
        ("LRANGE", "l", "0", "-1"),
        ("LREM", "l", "5", "zz"),
        ("LREM", "l", "x", "a"),
        ("LREM", "nosuch", "x", "a"),  # the count is parsed first
        ("LREM", "nosuch", "1", "a"),
        ("LREM", "str", "1", "a"),
        ("LREM", "l", "0", "b"),
        ("LREM", "l", "0", "c"),
        ("LREM", "l", "0", "d"),  # the last one: the key goes away
        ("EXISTS", "l"),
        ("TYPE", "l"),
        ("RPUSH", "m", "q", "q", "q"),
        ("LREM", "m", LONG_MIN, "q"),
        ("EXISTS", "m"),
    )


def test_ltrim(diff: Differential) -> None:
    for start, end in [("1", "-2"), ("0", "-1"), ("-2", "-1"), ("0", "0"), ("-100", "100"),
                       ("3", "1"), ("9", "10"), (LONG_MIN, LONG_MAX), ("-1", "-2")]:
        diff.check_all(
            ("DEL", "l"),
            ("RPUSH", "l", "a", "b", "c", "d", "e"),
            ("LTRIM", "l", start, end),
            ("LRANGE", "l", "0", "-1"),
            ("EXISTS", "l"),
        )
    diff.check_all(
        ("SET", "str", "x"),
        ("LTRIM", "nosuch", "0", "1"),
        ("LTRIM", "nosuch", "x", "1"),
        ("LTRIM", "str", "0", "1"),
        ("LTRIM", "str", "0", "x"),
    )


def test_lpos(diff: Differential) -> None:
    base(diff)
    cases: list[tuple[Any, ...]] = [
        ("a",), ("d",), ("zz",),
        ("a", "RANK", "2"), ("a", "RANK", "-1"), ("a", "RANK", "-3"), ("a", "RANK", "4"),
        ("a", "COUNT", "0"), ("a", "COUNT", "2"), ("a", "COUNT", "0", "RANK", "-1"),
        ("a", "RANK", "2", "COUNT", "5"), ("zz", "COUNT", "1"),
        ("a", "MAXLEN", "3"), ("a", "MAXLEN", "3", "COUNT", "0"), ("a", "MAXLEN", "1", "RANK", "2"),
        ("a", "RANK", "-1", "MAXLEN", "2"), ("a", "RANK", "-1", "MAXLEN", "2", "COUNT", "0"),
        ("a", "rank", "1", "count", "1", "maxlen", "0"),
        ("a", "RANK", "0"), ("a", "RANK", "x"), ("a", "RANK", LONG_MIN), ("a", "RANK", LONG_MAX),
        ("a", "COUNT", "-1"), ("a", "COUNT", "x"), ("a", "MAXLEN", "-1"), ("a", "MAXLEN", "x"),
        ("a", "RANK"), ("a", "COUNT"), ("a", "foo", "1"), ("a", "RANK", "0", "COUNT", "-1"),
        ("a", "COUNT", "-1", "RANK", "0"),
        ("a", "RANK", LONG_MIN, "COUNT", "2"), ("a", "RANK", LONG_MIN, "COUNT", "0"),
        ("a", "RANK", LONG_MIN, "MAXLEN", "2"), ("a", "RANK", "-" + LONG_MAX, "COUNT", "0"),
    ]
    for args in cases:
        diff.check("LPOS", "l", *args)
    diff.check_all(
        ("LPOS", "nosuch", "a"),
        ("LPOS", "nosuch", "a", "COUNT", "0"),
        ("LPOS", "nosuch", "a", "RANK", "0"),  # options before the key
        ("LPOS", "str", "a"),
        ("LPOS", "str", "a", "COUNT", "1"),
        ("LPOS", "str", "a", "RANK", "0"),
    )


def test_lmove(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("LMOVE", "l", "d", "LEFT", "RIGHT"),
        ("LMOVE", "l", "d", "right", "left"),
        ("LMOVE", "l", "d", "LEFT", "LEFT"),
        ("LMOVE", "l", "d", "RIGHT", "RIGHT"),
        ("LRANGE", "l", "0", "-1"),
        ("LRANGE", "d", "0", "-1"),
        ("LMOVE", "l", "l", "LEFT", "RIGHT"),  # rotation
        ("LMOVE", "l", "l", "RIGHT", "LEFT"),
        ("LMOVE", "l", "l", "LEFT", "LEFT"),
        ("LRANGE", "l", "0", "-1"),
        ("LMOVE", "l", "d", "RIGHT", "LEFT"),
        ("LMOVE", "l", "d", "RIGHT", "LEFT"),  # the last element: the source goes away
        ("EXISTS", "l"),
        ("LRANGE", "d", "0", "-1"),
        ("LMOVE", "nosuch", "d", "LEFT", "RIGHT"),
        ("LMOVE", "nosuch", "str", "LEFT", "RIGHT"),  # a missing source: nil before WRONGTYPE
        ("LMOVE", "d", "str", "LEFT", "RIGHT"),
        ("LMOVE", "str", "d", "LEFT", "RIGHT"),
        ("LMOVE", "d", "e", "UP", "RIGHT"),
        ("LMOVE", "d", "e", "LEFT", "DOWN"),
        ("LMOVE", "nosuch", "e", "UP", "RIGHT"),  # directions are checked first
        ("LMOVE", "str", "e", "LEFT", "DOWN"),
        ("LRANGE", "d", "0", "-1"),
        ("RPUSH", "one", "x"),
        ("EXPIRE", "one", "100"),
        ("LMOVE", "one", "one", "LEFT", "RIGHT"),
        ("TTL", "one"),
        ("LRANGE", "one", "0", "-1"),
        ("LMOVE", "one", "new", "LEFT", "RIGHT"),
        ("EXISTS", "one"),
        ("TTL", "new"),
        ("LRANGE", "new", "0", "-1"),
    )


def test_wrong_type_and_arity(diff: Differential) -> None:
    base(diff)
    for cmd in [("LPUSH", "str", "a"), ("RPUSH", "set", "a"), ("RPOP", "set"), ("LLEN", "set"), ("LSET", "set", "0", "x"),
                ("LREM", "str", "0", "a"), ("LRANGE", "set", "0", "1"), ("LPOS", "set", "a"),
                # which comes first, the type or the argument
                ("LPOP", "str", "x"), ("RPOP", "str", "-1"), ("LPOP", "str", "1", "2"),
                ("LINDEX", "str", "x"), ("LSET", "str", "x", "v"), ("LREM", "str", "x", "a"),
                ("LRANGE", "str", "x", "1"), ("LTRIM", "set", "x", "1"), ("LINSERT", "set", "x", "a", "b"),
                ("LPOS", "str", "a", "MAXLEN", "-1"), ("LMOVE", "str", "set", "LEFT", "RIGHT"),
                ("LMOVE", "l", "set", "LEFT", "RIGHT"), ("LMOVE", "set", "l", "LEFT", "RIGHT")]:
        diff.check(*cmd)
    for cmd in [("LPUSH", "l"), ("RPUSH",), ("LPOP",),
                ("RPOP",), ("LLEN",), ("LLEN", "l", "x"), ("LINDEX", "l"), ("LRANGE", "l", "0"),
                ("LSET", "l", "0"), ("LINSERT", "l", "before", "a"), ("LREM", "l", "0"),
                ("LTRIM", "l", "0"), ("LPOS", "l"), ("LMOVE", "l", "d", "LEFT"),
                ("LMOVE", "l", "d", "LEFT", "RIGHT", "x")]:
        diff.check(*cmd)
    diff.check("LRANGE", "l", "0", "-1")


def test_key_commands_on_lists(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("TYPE", "l"),
        ("EXISTS", "l"),
        ("OBJECT", "ENCODING", "l"),
        ("COPY", "l", "c"),
        ("LRANGE", "c", "0", "-1"),
        ("EXPIRE", "l", "100"),
        ("RENAME", "l", "r"),
        ("TTL", "r"),
        ("EXISTS", "l"),
        ("LRANGE", "r", "0", "-1"),
        ("COPY", "r", "str", "REPLACE"),
        ("TYPE", "str"),
        ("LRANGE", "str", "0", "-1"),
        ("TTL", "str"),
        ("DEL", "r"),
        ("LPUSH", "r", "y"),
        ("LRANGE", "r", "0", "-1"),
        ("SET", "c", "v"),
        ("TYPE", "c"),
    )
    # OBJECT ENCODING of larger lists (Redis 7.0 lists are always quicklists)
    diff.check("RPUSH", "big", *[str(i) for i in range(200)])
    diff.check("RPUSH", "wide", "v" * 9000)
    diff.check_all(("OBJECT", "ENCODING", "big"), ("OBJECT", "ENCODING", "wide"))


def test_watch_sees_what_redis_signals(diff: Differential) -> None:
    base(diff)
    for cmd in [("LTRIM", "l", "0", "-1"), ("LTRIM", "l", "1", "-1"), ("LSET", "l", "0", "a"),
                ("LREM", "l", "0", "zz"), ("LINSERT", "l", "after", "zz", "x"),
                ("LPOP", "l", "0"), ("LMOVE", "l", "l", "LEFT", "LEFT"), ("LPOS", "l", "a"),
                ("LTRIM", "nosuch", "0", "1"), ("LPUSH", "l", "n"), ("LRANGE", "l", "0", "-1")]:
        diff.check_all(("WATCH", "l"), cmd, ("MULTI",), ("PING",), ("EXEC",))
    diff.check("LRANGE", "l", "0", "-1")


def test_lists_in_transactions_and_with_expiry(diff: Differential) -> None:
    diff.check_all(
        ("MULTI",),
        ("RPUSH", "l", "a", "b"),
        ("LPOP", "l"),
        ("LPUSH", "l", "x"),
        ("LRANGE", "l", "0", "-1"),
        ("EXEC",),
        ("PEXPIRE", "l", "1"),
    )
    time.sleep(0.01)
    diff.check_all(
        ("LLEN", "l"),
        ("RPUSH", "l", "new"),
        ("TTL", "l"),
        ("LRANGE", "l", "0", "-1"),
        ("PEXPIRE", "l", "1"),
    )
    time.sleep(0.01)
    diff.check_all(
        ("LSET", "l", "0", "v"),
        ("LPOP", "l"),
        ("LINSERT", "l", "before", "new", "v"),
        ("EXISTS", "l"),
    )


def test_random_list_commands_match_redis(diff: Differential) -> None:
    """A seeded random mix of every list command on two keys, compared reply by reply."""
    rng = random.Random(7)
    keys, values = ["k1", "k2"], ["a", "b", "c", ""]

    def idx() -> str:
        return str(rng.randint(-8, 8))

    def side() -> str:
        return rng.choice(["LEFT", "RIGHT"])

    makers = [
        lambda k: ("LPUSH", k, *rng.choices(values, k=rng.randint(1, 4))),
        lambda k: ("RPUSH", k, *rng.choices(values, k=rng.randint(1, 4))),
        lambda k: (rng.choice(["LPOP", "RPOP"]), k, *([str(rng.randint(0, 4))] if rng.random() < 0.5 else [])),
        lambda k: ("LINDEX", k, idx()),
        lambda k: ("LRANGE", k, idx(), idx()),
        lambda k: ("LSET", k, idx(), rng.choice(values)),
        lambda k: ("LINSERT", k, rng.choice(["BEFORE", "AFTER"]), rng.choice(values), rng.choice(values)),
        lambda k: ("LREM", k, str(rng.randint(-2, 2)), rng.choice(values)),
        lambda k: ("LTRIM", k, idx(), idx()),
        lambda k: ("LPOS", k, rng.choice(values), "RANK", rng.choice(["1", "2", "-1", "-2"]),
                   "COUNT", str(rng.randint(0, 3)), "MAXLEN", str(rng.randint(0, 6))),
        lambda k: ("LMOVE", k, rng.choice(keys), side(), side()),
        lambda k: ("LLEN", k),
    ]
    for _ in range(400):
        diff.check(*rng.choice(makers)(rng.choice(keys)))
    for k in keys:
        diff.check("LRANGE", k, "0", "-1")
