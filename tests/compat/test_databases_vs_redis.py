"""MOVE and SWAPDB against a real redis-server (RESP2 and RESP3, see ``diff``)."""

from __future__ import annotations

from tests.conftest import Differential


def test_move_a_key_to_another_db(diff: Differential) -> None:
    diff.check_all(
        ("SET", "k", "v"), ("EXPIRE", "k", "1000"), ("MOVE", "k", "1"), ("EXISTS", "k"),
        ("SELECT", "1"), ("GET", "k"), ("TTL", "k"), ("SELECT", "0"),
        ("MOVE", "k", "1"),  # no such key
        ("SADD", "s", "a", "b"), ("MOVE", "s", "2"), ("SELECT", "2"), ("SCARD", "s"), ("SISMEMBER", "s", "b"),
        ("TYPE", "s"), ("SELECT", "0"), ("SET", "s", "here"), ("MOVE", "s", "2"),  # exists in the target: 0
        ("GET", "s"),
    )
    for cmd in ("RPUSH", "ZADD", "HSET"):
        args = {"RPUSH": ("a", "b"), "ZADD": ("1", "m"), "HSET": ("f", "v")}[cmd]
        diff.check(cmd, f"{cmd}:k", *args)
        diff.check("MOVE", f"{cmd}:k", "3")
    diff.check("SELECT", "3")
    diff.check("LRANGE", "RPUSH:k", "0", "-1")
    diff.check("ZRANGE", "ZADD:k", "0", "-1", "WITHSCORES")
    diff.check("HGETALL", "HSET:k")


def test_move_errors(diff: Differential) -> None:
    diff.check("SET", "k", "v")
    for args in [("MOVE", "k", "0"), ("MOVE", "k", "16"), ("MOVE", "k", "-1"), ("MOVE", "k", "x"),
                 ("MOVE", "k", "99999999999"), ("MOVE", "k"), ("MOVE", "nokey", "0"), ("MOVE", "nokey", "16")]:
        diff.check(*args)


def test_swapdb(diff: Differential) -> None:
    diff.check_all(
        ("SET", "a", "in0"), ("SADD", "s", "x"), ("PEXPIRE", "s", "100000"),
        ("SELECT", "1"), ("SET", "a", "in1"), ("SET", "b", "only1"),
        ("SWAPDB", "0", "1"),
        ("GET", "a"), ("SMEMBERS", "s"), ("EXISTS", "b"), ("DBSIZE",),
        ("SELECT", "0"), ("GET", "a"), ("GET", "b"), ("EXISTS", "s"), ("DBSIZE",),
        ("SWAPDB", "0", "0"), ("GET", "a"), ("SWAPDB", "0", "5"), ("DBSIZE",),
        ("SELECT", "5"), ("TYPE", "s"), ("TTL", "s"),
    )


def test_swapdb_errors(diff: Differential) -> None:
    for args in [("SWAPDB", "0", "16"), ("SWAPDB", "-1", "0"), ("SWAPDB", "x", "0"), ("SWAPDB", "0", "y"),
                 ("SWAPDB", "x", "y"), ("SWAPDB", "99999999999", "0"), ("SWAPDB", "0", "99999999999"),
                 ("SWAPDB", "0")]:
        diff.check(*args)
