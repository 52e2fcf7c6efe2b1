"""LPUSHX, RPUSHX and RPOPLPUSH against a real redis-server (RESP2 and RESP3): replies, errors, reply
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
