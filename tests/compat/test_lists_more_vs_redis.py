"""LPUSHX and RPUSHX against a real redis-server (RESP2 and RESP3): replies, errors, reply
types, arity and expiry."""

from __future__ import annotations

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
