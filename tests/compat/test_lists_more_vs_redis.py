"""LPUSHX, RPUSHX, RPOPLPUSH and LMPOP against a real redis-server (RESP2 and RESP3): replies,
errors, reply types, the order in which Redis checks arguments, the key disappearing when
emptied, WATCH and MULTI/EXEC."""

from __future__ import annotations

import random
import time

from tests.conftest import Differential

LONG_MIN = "-9223372036854775808"
LONG_MAX = "9223372036854775807"


def base(diff: Differential) -> None:
    diff.check_all(
        ("RPUSH", "l", "a", "b", "c", "d", "e"),
        ("SET", "str", "x"),
        ("SADD", "set", "m"),
    )


def test_pushx(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("LPUSHX", "nosuch", "a"),
        ("RPUSHX", "nosuch", "a", "b"),
        ("EXISTS", "nosuch"),
        ("TYPE", "nosuch"),
        ("LPUSHX", "l", "x"),
        ("LPUSHX", "l", "y", "z"),  # like LPUSH: z y x a ...
        ("RPUSHX", "l", "p"),
        ("RPUSHX", "l", "q", "r", ""),
        ("LRANGE", "l", "0", "-1"),
        ("LLEN", "l"),
        ("LPUSHX", "str", "a"),
        ("RPUSHX", "set", "a", "b"),
        ("LPUSHX", "l"),  # arity
        ("RPUSHX", "l"),
        ("LPUSHX",),
        ("RPUSHX",),
        ("TYPE", "str"),
        ("LRANGE", "l", "0", "-1"),
    )
    # an emptied list is gone, so PUSHX no longer pushes onto it
    diff.check_all(
        ("RPUSH", "one", "v"),
        ("LPOP", "one"),
        ("EXISTS", "one"),
        ("LPUSHX", "one", "w"),
        ("RPUSHX", "one", "w"),
        ("EXISTS", "one"),
    )


def test_pushx_and_expiry(diff: Differential) -> None:
    diff.check_all(
        ("RPUSH", "l", "a"),
        ("EXPIRE", "l", "100"),
        ("RPUSHX", "l", "b"),
        ("TTL", "l"),  # the TTL stays
        ("PEXPIRE", "l", "1"),
    )
    time.sleep(0.01)
    diff.check_all(
        ("LPUSHX", "l", "x"),
        ("RPUSHX", "l", "x"),
        ("EXISTS", "l"),
    )


def test_rpoplpush(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("RPOPLPUSH", "l", "d"),
        ("RPOPLPUSH", "l", "d"),
        ("LRANGE", "l", "0", "-1"),
        ("LRANGE", "d", "0", "-1"),
        ("RPOPLPUSH", "l", "l"),  # rotation
        ("RPOPLPUSH", "l", "l"),
        ("LRANGE", "l", "0", "-1"),
        ("RPOPLPUSH", "l", "d"),
        ("RPOPLPUSH", "l", "d"),
        ("RPOPLPUSH", "l", "d"),  # the last element: the source goes away
        ("EXISTS", "l"),
        ("RPOPLPUSH", "l", "d"),  # a missing source: nil
        ("LRANGE", "d", "0", "-1"),
        ("RPOPLPUSH", "nosuch", "d"),
        ("RPOPLPUSH", "nosuch", "nosuch2"),
        ("EXISTS", "nosuch2"),
        ("RPOPLPUSH", "nosuch", "str"),  # a missing source: nil before WRONGTYPE
        ("RPOPLPUSH", "d", "str"),  # WRONGTYPE on the destination before popping
        ("RPOPLPUSH", "d", "set"),
        ("LRANGE", "d", "0", "-1"),
        ("RPOPLPUSH", "str", "d"),
        ("RPOPLPUSH", "str", "set"),
        ("RPOPLPUSH", "str", "str"),
        ("RPOPLPUSH", "d"),  # arity
        ("RPOPLPUSH", "d", "e", "f"),
        ("RPOPLPUSH",),
        ("LRANGE", "d", "0", "-1"),
    )
    diff.check_all(
        ("RPUSH", "one", "x"),
        ("EXPIRE", "one", "100"),
        ("RPOPLPUSH", "one", "one"),  # a one-element rotation keeps the key and its TTL
        ("TTL", "one"),
        ("LRANGE", "one", "0", "-1"),
        ("RPOPLPUSH", "one", "new"),
        ("EXISTS", "one"),
        ("TTL", "new"),
        ("LRANGE", "new", "0", "-1"),
        ("RPUSH", "dst", "keep"),
        ("EXPIRE", "dst", "100"),
        ("RPOPLPUSH", "new", "dst"),
        ("TTL", "dst"),
        ("LRANGE", "dst", "0", "-1"),
    )


def test_lmpop(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("RPUSH", "m", "1", "2", "3"),
        ("LMPOP", "1", "l", "LEFT"),
        ("LMPOP", "1", "l", "right"),
        ("LMPOP", "1", "l", "LEFT", "COUNT", "2"),
        ("LMPOP", "1", "l", "RIGHT", "count", "1"),
        ("LRANGE", "l", "0", "-1"),
        ("LMPOP", "2", "nosuch", "m", "RIGHT", "COUNT", "2"),
        ("LMPOP", "3", "nosuch", "l", "m", "LEFT", "COUNT", "5"),  # the first non-empty key
        ("EXISTS", "l"),
        ("LMPOP", "2", "l", "m", "LEFT", "COUNT", LONG_MAX),  # everything: the key goes away
        ("EXISTS", "m"),
        ("LMPOP", "2", "l", "m", "LEFT"),  # nothing to pop: a null array
        ("LMPOP", "1", "nosuch", "RIGHT", "COUNT", "3"),
        ("RPUSH", "l", "a", "b"),
        ("LMPOP", "2", "l", "l", "LEFT", "COUNT", "1"),  # a key given twice
        ("LRANGE", "l", "0", "-1"),
        ("COMMAND", "GETKEYS", "LMPOP", "2", "a", "b", "LEFT", "COUNT", "3"),
        ("COMMAND", "GETKEYS", "RPOPLPUSH", "a", "b"),
    )


def test_lmpop_errors_and_their_order(diff: Differential) -> None:
    base(diff)
    for args in [
        ("0", "l", "LEFT"), ("-1", "l", "LEFT"), ("x", "l", "LEFT"), ("1.5", "l", "LEFT"),
        (LONG_MIN, "l", "LEFT"), ("99999999999999999999", "l", "LEFT"), ("", "l", "LEFT"),
        (LONG_MAX, "l", "LEFT"), ("4611686018427387904", "l", "LEFT"),
        ("2", "l", "LEFT"),  # numkeys beyond the arguments
        ("3", "l", "m", "LEFT"),
        ("1", "l", "UP"), ("1", "l", "LEFT", "COUNT"), ("1", "l", "LEFT", "COUNT", "0"),
        ("1", "l", "LEFT", "COUNT", "-1"), ("1", "l", "LEFT", "COUNT", "x"),
        ("1", "l", "LEFT", "COUNT", LONG_MIN), ("1", "l", "LEFT", "COUNT", "99999999999999999999"),
        ("1", "l", "LEFT", "COUNT", "1", "COUNT", "1"), ("1", "l", "LEFT", "foo"),
        ("1", "l", "LEFT", "COUNT", "1", "foo"), ("1", "l", "LEFT", "1"),
        ("1", "l", "LEFT", "COUNT", "0", "foo"),  # the count is checked as it is read
        ("1", "l", "UP", "COUNT", "0"),  # the direction before the count
        ("0", "l", "UP"),  # numkeys first
        ("1", "LEFT", "l"),  # the key named LEFT, then a bad direction
        ("1", "str", "UP"),  # arguments before the type
        ("1", "str", "LEFT", "COUNT", "0"),
        ("1", "str", "LEFT"), ("2", "nosuch", "set", "RIGHT"),  # WRONGTYPE
        ("2", "l", "str", "LEFT"),  # a list first: popped, the other key not looked at
        ("1", "l"), ("1",),  # arity
    ]:
        diff.check("LMPOP", *args)
    diff.check("LMPOP")
    diff.check("LRANGE", "l", "0", "-1")


def test_lmpop_and_expiry(diff: Differential) -> None:
    diff.check_all(
        ("RPUSH", "gone", "a"),
        ("RPUSH", "live", "b", "c"),
        ("EXPIRE", "live", "100"),
        ("PEXPIRE", "gone", "1"),
    )
    time.sleep(0.01)
    diff.check_all(
        ("LMPOP", "2", "gone", "live", "LEFT"),
        ("TTL", "live"),
        ("LMPOP", "1", "live", "LEFT", "COUNT", "9"),
        ("EXISTS", "live"),
        ("TTL", "live"),
    )


def test_new_commands_in_transactions(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("MULTI",),
        ("LPUSHX", "l", "x"),
        ("RPUSHX", "nosuch", "y"),
        ("RPOPLPUSH", "l", "d"),
        ("RPOPLPUSH", "d", "str"),  # a runtime error: the rest still runs
        ("LMPOP", "2", "nosuch", "d", "LEFT"),
        ("LMPOP", "0", "l", "LEFT"),  # argument errors are runtime errors too
        ("LMPOP", "1", "l", "UP"),
        ("LMPOP", "1", "l", "RIGHT", "COUNT", "2"),
        ("LMPOP", "1", "d", "LEFT"),
        ("LRANGE", "l", "0", "-1"),
        ("EXISTS", "d"),
        ("EXEC",),
    )
    diff.check_all(
        ("MULTI",),
        ("LPUSHX", "l"),  # arity: queued as an error, EXEC aborts
        ("RPUSHX", "l", "z"),
        ("EXEC",),
        ("MULTI",),
        ("LMPOP", "1", "l"),
        ("EXEC",),
        ("MULTI",),
        ("RPOPLPUSH", "l"),
        ("EXEC",),
        ("LRANGE", "l", "0", "-1"),
    )


def test_watch_sees_what_redis_signals(diff: Differential) -> None:
    base(diff)
    for key, cmd in [("nosuch", ("LPUSHX", "nosuch", "a")), ("nosuch", ("LMPOP", "1", "nosuch", "LEFT")),
                     ("l", ("LPUSHX", "l", "a")), ("l", ("RPUSHX", "l", "b")),
                     ("l", ("RPOPLPUSH", "l", "str")), ("l", ("RPOPLPUSH", "nosuch", "l")),
                     ("l", ("RPOPLPUSH", "l", "l")), ("d", ("RPOPLPUSH", "l", "d")),
                     ("l", ("LMPOP", "2", "nosuch", "l", "LEFT")), ("l", ("LMPOP", "1", "l", "UP")),
                     ("l", ("LMPOP", "2", "str", "l", "LEFT"))]:
        diff.check_all(("WATCH", key), cmd, ("MULTI",), ("PING",), ("EXEC",))
    diff.check("LRANGE", "l", "0", "-1")


def test_random_mix_matches_redis(diff: Differential) -> None:
    """A seeded random mix of the new commands and the pushes/pops on three keys."""
    rng = random.Random(11)
    keys, values = ["k1", "k2", "k3"], ["a", "b", ""]

    def some_keys() -> list[str]:
        return rng.sample(keys, rng.randint(1, 3))

    makers = [
        lambda: ("RPUSH", rng.choice(keys), *rng.choices(values, k=rng.randint(1, 3))),
        lambda: (rng.choice(["LPUSHX", "RPUSHX"]), rng.choice(keys), *rng.choices(values, k=rng.randint(1, 3))),
        lambda: ("RPOPLPUSH", rng.choice(keys), rng.choice(keys)),
        lambda: ("LMPOP", *(lambda ks: (str(len(ks)), *ks))(some_keys()), rng.choice(["LEFT", "RIGHT"]),
                 *(("COUNT", str(rng.randint(1, 4))) if rng.random() < 0.6 else ())),
        lambda: (rng.choice(["LPOP", "RPOP"]), rng.choice(keys)),
        lambda: ("LRANGE", rng.choice(keys), "0", "-1"),
    ]
    for _ in range(300):
        diff.check(*rng.choice(makers)())
    for k in keys:
        diff.check("LRANGE", k, "0", "-1")
