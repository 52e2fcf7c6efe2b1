"""Key expiry, activekv against a real redis-server (RESP2 and RESP3, see ``diff``).

Relative TTLs are read from two servers a few ms apart: PTTL is compared with a tolerance,
TTL (rounded to seconds) exactly when it is far from a rounding boundary.
"""

from __future__ import annotations

import time

from crdt.numbers import INT64_MAX, INT64_MIN
from tests.compat.helpers import check_near
from tests.conftest import Differential

LLONG_MAX, LLONG_MIN = INT64_MAX, INT64_MIN  # Redis calls them LLONG_*
EXPIRE_COMMANDS = ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT")


def test_expire_return_values(diff: Differential) -> None:
    diff.check_all(("SET", "x", "foobar"), ("EXPIRE", "x", "5"), ("TTL", "x"), ("EXPIRE", "x", "10"),
                   ("TTL", "x"), ("EXPIRE", "nokey", "10"), ("PEXPIRE", "nokey", "10"),
                   ("EXPIREAT", "nokey", "10"), ("PEXPIREAT", "nokey", "10"))


def test_expire_a_key_actually_expires(diff: Differential) -> None:
    diff.check_all(("SET", "k", "v"), ("SET", "other", "v"), ("PEXPIRE", "k", "50"))
    time.sleep(0.12)
    diff.check_all(("GET", "k"), ("EXISTS", "k"), ("TTL", "k"), ("PTTL", "k"), ("EXPIRETIME", "k"),
                   ("DBSIZE",), ("TYPE", "k"), ("STRLEN", "k"), ("PERSIST", "k"), ("EXPIRE", "k", "10"))
    diff.check("KEYS", "*", unordered=True)
    diff.check("SCAN", "0", unordered=True)


def test_expire_with_set_ex_actually_expires(diff: Differential) -> None:
    diff.check_all(("SET", "a", "v", "PX", "50"), ("PSETEX", "b", "50", "v"), ("SET", "c", "v"),
                   ("GETEX", "c", "PX", "50"))
    time.sleep(0.12)
    diff.check_all(("MGET", "a", "b", "c"), ("DBSIZE",), ("INCR", "a"), ("TTL", "a"), ("APPEND", "b", "x"),
                   ("TTL", "b"), ("SETNX", "c", "new"), ("GET", "c"), ("DBSIZE",))


def test_expire_with_negative_or_zero_deletes_the_key(diff: Differential) -> None:
    for cmd, value in [("EXPIRE", "-1"), ("EXPIRE", "0"), ("PEXPIRE", "-100"), ("EXPIREAT", "1"),
                       ("PEXPIREAT", "0"), ("EXPIREAT", "-5")]:
        diff.check("SET", "k", "v")
        diff.check(cmd, "k", value)
        diff.check("EXISTS", "k")


def test_expire_with_big_and_invalid_values(diff: Differential) -> None:
    diff.check("SET", "k", "v")
    for cmd in EXPIRE_COMMANDS:
        for value in [LLONG_MAX, LLONG_MIN, LLONG_MAX // 1000 + 1, LLONG_MIN // 1000 - 1, LLONG_MAX // 1000,
                      "9223372036854775808", "abc", "1.5", "", " 10", "10 "]:
            diff.check(cmd, "k", value)
            diff.check(cmd, "nokey", value)
    diff.check("EXISTS", "k")


def test_expire_with_nx_xx_gt_lt(diff: Differential) -> None:
    diff.check_all(
        ("SET", "k", "v"),
        ("EXPIRE", "k", "100", "XX"), ("TTL", "k"), ("EXPIRE", "k", "100", "GT"), ("TTL", "k"),
        ("EXPIRE", "k", "100", "LT"), ("TTL", "k"), ("EXPIRE", "k", "200", "NX"), ("TTL", "k"),
        ("EXPIRE", "k", "300", "NX"), ("TTL", "k"), ("EXPIRE", "k", "300", "XX"), ("TTL", "k"),
        ("EXPIRE", "k", "100", "GT"), ("TTL", "k"), ("EXPIRE", "k", "400", "GT"), ("TTL", "k"),
        ("EXPIRE", "k", "500", "LT"), ("TTL", "k"), ("EXPIRE", "k", "150", "LT"), ("TTL", "k"),
        ("EXPIRE", "k", "150", "lt", "XX"), ("EXPIRE", "k", "160", "gt", "xx"), ("TTL", "k"),
        ("PEXPIRE", "k", "100000", "LT"), ("TTL", "k"), ("EXPIREAT", "k", "1", "GT"), ("EXISTS", "k"),
        ("PEXPIREAT", "k", "1", "LT"), ("EXISTS", "k"),
        ("EXPIRE", "nokey", "10", "NX"), ("EXPIRE", "nokey", "10", "XX"), ("EXPIRE", "k", "10", "LT", "LT"),
    )


def test_expire_with_conflicting_or_unknown_options(diff: Differential) -> None:
    diff.check("SET", "k", "v")
    for opts in [("NX", "XX"), ("NX", "GT"), ("NX", "LT"), ("GT", "LT"), ("XX", "GT", "LT"), ("FOO",),
                 ("NX", "FOO"), ("nx", "nx", "lt"), ("", ), ("GT", "LT", "NX")]:
        for cmd in EXPIRE_COMMANDS:
            diff.check(cmd, "k", "100", *opts)
    # options are parsed before the value
    diff.check_all(("EXPIRE", "k", "abc", "FOO"), ("EXPIRE", "k", "abc", "NX", "XX"), ("TTL", "k"))


def test_ttl_pttl_expiretime_pexpiretime(diff: Differential) -> None:
    now = int(time.time())
    diff.check_all(("SET", "k", "v"), ("TTL", "k"), ("PTTL", "k"), ("EXPIRETIME", "k"), ("PEXPIRETIME", "k"),
                   ("TTL", "nokey"), ("PTTL", "nokey"), ("EXPIRETIME", "nokey"), ("PEXPIRETIME", "nokey"),
                   ("EXPIREAT", "k", now + 100), ("EXPIRETIME", "k"), ("PEXPIRETIME", "k"),
                   ("PEXPIREAT", "k", (now + 200) * 1000 + 777), ("EXPIRETIME", "k"), ("PEXPIRETIME", "k"))
    check_near(diff, "TTL", "k", tolerance=1)
    check_near(diff, "PTTL", "k", tolerance=20)
    diff.check("PEXPIRE", "k", "100500")
    check_near(diff, "PTTL", "k", tolerance=20)
    check_near(diff, "TTL", "k", tolerance=1)  # (100500 - elapsed + 500) // 1000: 101 or 100
    check_near(diff, "PEXPIRETIME", "k", tolerance=20)
    diff.check("EXPIRE", "k", "100")
    check_near(diff, "EXPIRETIME", "k", tolerance=1)


def test_pexpireat_with_milliseconds_in_the_past_and_future(diff: Differential) -> None:
    now_ms = int(time.time() * 1000)
    diff.check_all(("SET", "k", "v"), ("PEXPIREAT", "k", now_ms + 100000), ("TTL", "k"),
                   ("PEXPIREAT", "k", now_ms - 1000), ("EXISTS", "k"))


def test_persist_can_undo_an_expire(diff: Differential) -> None:
    diff.check_all(("SET", "k", "v"), ("EXPIRE", "k", "100"), ("PERSIST", "k"), ("TTL", "k"), ("PERSIST", "k"),
                   ("PERSIST", "nokey"), ("GET", "k"))


def test_set_and_del_clear_the_ttl(diff: Differential) -> None:
    diff.check_all(("SET", "k", "v", "EX", "100"), ("SET", "k", "w"), ("TTL", "k"),
                   ("SET", "k", "v", "EX", "100"), ("DEL", "k"), ("SET", "k", "w"), ("TTL", "k"),
                   ("SET", "k", "v", "EX", "100"), ("GETSET", "k", "x"), ("TTL", "k"))


def test_expire_of_expired_key_returns_0_and_ttl_minus_2(diff: Differential) -> None:
    diff.check_all(("SET", "k", "v", "PX", "30"), ("SET", "k2", "v", "PX", "30"))
    time.sleep(0.08)
    diff.check_all(("EXPIRE", "k", "100"), ("PEXPIRE", "k", "100", "XX"), ("PTTL", "k"),
                   ("EXPIRETIME", "k2"), ("PEXPIRETIME", "k2"), ("TOUCH", "k", "k2"), ("EXISTS", "k", "k2"),
                   ("COPY", "k", "k3"), ("DEL", "k", "k2"), ("DBSIZE",))


def test_getex_and_set_keepttl_on_an_expiring_key(diff: Differential) -> None:
    diff.check_all(("SET", "k", "v", "PX", "100000"), ("SET", "k", "w", "KEEPTTL"), ("TTL", "k"),
                   ("GETEX", "k", "EX", "50"), ("TTL", "k"), ("GETEX", "k", "PERSIST"), ("TTL", "k"))
