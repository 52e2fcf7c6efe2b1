"""SORT and SORT_RO against a real redis-server (RESP2 and RESP3): every option and their
combinations, BY/GET patterns (``*``, ``#``, ``->field``, missing keys), BY nosort, numeric
parsing (strtod) and its error, LIMIT edge cases, STORE, WRONGTYPE, argument-check order,
MULTI/EXEC, and a seeded random differential sequence."""

from __future__ import annotations

import random
import time
from typing import Any

from tests.conftest import Differential

LONG_MIN = "-9223372036854775808"
LONG_MAX = "9223372036854775807"


def base(diff: Differential) -> None:
    diff.check_all(
        ("RPUSH", "l", "3", "1", "2", "10", "-1.5", "2"),
        ("RPUSH", "words", "pear", "apple", "fig", "Banana", "apple"),
        ("SADD", "s", "5", "3", "9", "-2", "100"),
        ("SADD", "sw", "x", "b", "zz", "a", "m"),
        ("ZADD", "z", "1", "c", "2", "a", "3", "b", "3", "d"),
        ("SET", "str", "x"),
        ("HSET", "h", "f", "v"),
        ("MSET", "w_3", "30", "w_1", "10", "w_2", "5", "w_10", "1", "w_-1.5", "7"),
        ("MSET", "o_3", "three", "o_1", "one", "o_2", "two", "o_10", "ten"),
        ("HSET", "hh_3", "n", "300", "t", "c"), ("HSET", "hh_1", "n", "100", "t", "a"),
        ("HSET", "hh_2", "n", "200"), ("HSET", "hh_10", "n", "-5", "t", "b"),
    )


def test_plain_numeric_and_alpha(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("SORT", "l"), ("SORT", "l", "DESC"), ("SORT", "l", "ASC"), ("SORT", "l", "desc", "asc"),
        ("SORT", "s"), ("SORT", "s", "DESC"), ("SORT", "z"), ("SORT", "z", "ALPHA"),
        ("SORT", "z", "ALPHA", "DESC"), ("SORT", "words", "ALPHA"), ("SORT", "words", "ALPHA", "DESC"),
        ("SORT", "sw", "ALPHA"), ("SORT", "sw", "alpha", "desc"), ("SORT", "l", "ALPHA"),
        ("SORT", "words"), ("SORT", "sw"), ("SORT", "z"),
        ("SORT", "nosuch"), ("SORT", "nosuch", "ALPHA", "DESC", "LIMIT", "0", "1"),
        ("SORT_RO", "l"), ("SORT_RO", "words", "ALPHA", "DESC"), ("SORT_RO", "nosuch"),
    )


def test_strtod_rules(diff: Differential) -> None:
    for values in (
        ["1", "1.0", "01", "+1", " 1", "1e0", "0x1", "0x1p0", "1."],
        ["", "0", "-0", "0.0", ".0"],
        ["inf", "-inf", "Infinity", "3", "-INF"],
        ["5\x00abc", "4", "6"],
        ["1e308", "-1e308", "2.2250738585072014e-308", "0"],
    ):
        diff.check("DEL", "n")
        diff.check("RPUSH", "n", *values)
        diff.check("SORT", "n")
        diff.check("SORT", "n", "DESC")
    for bad in ("abc", "1 ", "  ", "nan", "1e400", "-1e400", "1e-400", "0x", "1e", ".", "1,5", "1e-310"):
        diff.check("DEL", "n")
        diff.check("RPUSH", "n", "1", bad, "2")
        diff.check("SORT", "n")
        diff.check("SORT", "n", "STORE", "dst")
        diff.check("EXISTS", "dst")
        diff.check("SORT", "n", "ALPHA")
        diff.check("SORT", "n", "BY", "nosort")


def test_by_patterns(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("SORT", "l", "BY", "w_*"), ("SORT", "l", "BY", "w_*", "DESC"),
        ("SORT", "l", "BY", "o_*", "ALPHA"), ("SORT", "l", "BY", "o_*", "ALPHA", "DESC"),
        ("SORT", "l", "BY", "o_*"),  # not numbers
        ("SORT", "l", "BY", "hh_*->n"), ("SORT", "l", "BY", "hh_*->n", "DESC"),
        ("SORT", "l", "BY", "hh_*->t", "ALPHA"),  # missing fields sort first
        ("SORT", "l", "BY", "missing_*"), ("SORT", "l", "BY", "missing_*", "DESC"),
        ("SORT", "l", "BY", "w_*->n"),  # a string, not a hash: missing
        ("SORT", "l", "BY", "hh_*"),  # a hash, not a string: missing
        ("SORT", "l", "BY", "hh_*->"),  # no field: the key "hh_3->"
        ("SORT", "s", "BY", "w_*"), ("SORT", "z", "BY", "w_*"),
        ("SORT", "l", "BY", "*"), ("SORT", "l", "BY", "w_*", "BY", "hh_*->n"),
        ("SORT", "l", "BY", "w_*", "LIMIT", "1", "3"), ("SORT", "l", "BY", "hh_*->n", "LIMIT", "0", "2", "DESC"),
    )


def test_by_nosort(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("SORT", "l", "BY", "nosort"), ("SORT", "l", "BY", "nosort", "DESC"),
        ("SORT", "l", "BY", "nosort", "LIMIT", "1", "3"), ("SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "3"),
        ("SORT", "words", "BY", "nosort"), ("SORT", "words", "BY", "nosort", "ALPHA", "DESC"),
        ("SORT", "z", "BY", "nosort"), ("SORT", "z", "BY", "nosort", "DESC"),
        ("SORT", "z", "BY", "nosort", "LIMIT", "1", "2"), ("SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"),
        ("SORT", "z", "BY", "nosort", "LIMIT", "3", "10"), ("SORT", "z", "BY", "nosort", "DESC", "LIMIT", "5", "1"),
        ("SORT", "s", "BY", "nosort"), ("SORT", "s", "BY", "nosort", "DESC"),  # an intset: ascending
        ("SORT", "s", "BY", "nosort", "LIMIT", "1", "2"),
        ("SORT", "nosuch", "BY", "nosort"),
        ("SORT", "l", "BY", "nosort", "BY", "w_*"),  # once constant, never sorted
        ("SORT", "l", "BY", "w_*", "BY", "nosort"),
        ("SORT", "l", "BY", "nosort", "GET", "w_*", "GET", "#"),
        # a set stored BY nosort is sorted ALPHA, for determinism
        ("SORT", "sw", "BY", "nosort", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "s", "BY", "nosort", "DESC", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "s", "BY", "nosort", "LIMIT", "1", "2", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "z", "BY", "nosort", "DESC", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
    )
    diff.check("SORT", "sw", "BY", "nosort", unordered=True)  # a hash table's order


def test_get_patterns(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("SORT", "l", "GET", "#"), ("SORT", "l", "GET", "w_*"), ("SORT", "l", "GET", "o_*", "GET", "#"),
        ("SORT", "l", "GET", "hh_*->t", "GET", "hh_*->n", "GET", "#", "GET", "missing_*"),
        ("SORT", "l", "GET", "const"), ("SORT", "l", "GET", "hh_*"), ("SORT", "l", "GET", "w_*->x"),
        ("SORT", "l", "GET", "*"), ("SORT", "l", "GET", "#", "GET", "#"), ("SORT", "l", "GET", "*->"),
        ("SORT", "l", "BY", "w_*", "GET", "o_*", "LIMIT", "1", "2", "DESC"),
        ("SORT", "z", "GET", "#", "GET", "w_*", "ALPHA"), ("SORT", "s", "GET", "w_*"),
        ("SORT", "nosuch", "GET", "#"), ("SORT", "l", "GET", "o_*", "LIMIT", "0", "0"),
    )


def test_limit(diff: Differential) -> None:
    base(diff)
    for start, count in (
        ("0", "0"), ("0", "1"), ("0", "-1"), ("2", "2"), ("5", "10"), ("6", "1"), ("7", "1"),
        ("-1", "2"), ("-5", "-5"), ("1", "-2"), (LONG_MIN, LONG_MAX), (LONG_MAX, "1"), ("0", LONG_MAX),
    ):
        diff.check("SORT", "l", "LIMIT", start, count)
        diff.check("SORT", "l", "LIMIT", start, count, "DESC")
        diff.check("SORT", "l", "BY", "w_*", "LIMIT", start, count)
        diff.check("SORT", "l", "BY", "nosort", "LIMIT", start, count)
        diff.check("SORT", "l", "BY", "nosort", "DESC", "LIMIT", start, count)
        diff.check("SORT", "z", "BY", "nosort", "LIMIT", start, count)
        diff.check("SORT", "z", "BY", "nosort", "DESC", "LIMIT", start, count)
        diff.check("SORT", "words", "ALPHA", "LIMIT", start, count, "STORE", "dst")
        diff.check("LRANGE", "dst", "0", "-1")
        diff.check("SORT", "nosuch", "LIMIT", start, count)
    diff.check_all(
        ("SORT", "l", "LIMIT", "1", "2", "LIMIT", "0", "1"),
        ("SORT", "l", "LIMIT", "x", "1"), ("SORT", "l", "LIMIT", "1", "x"),
        ("SORT", "l", "LIMIT", "99999999999999999999", "1"),
        ("SORT", "l", "LIMIT", "1"), ("SORT", "l", "LIMIT"),
    )


def test_errors_and_order(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("SORT",), ("SORT_RO",), ("SORT", "str"), ("SORT", "h"), ("SORT_RO", "str"),
        ("SORT", "str", "BOGUS"),  # syntax error first
        ("SORT", "str", "LIMIT", "x", "1"),
        ("SORT", "l", "BY"), ("SORT", "l", "GET"), ("SORT", "l", "STORE"), ("SORT", "l", "BOGUS"),
        ("SORT", "l", "ALPHA", "BY"), ("SORT_RO", "l", "STORE", "dst"), ("SORT_RO", "str", "STORE", "dst"),
        ("SORT_RO", "l", "BY", "w_*", "GET", "#", "LIMIT", "0", "2"),
        ("SORT", "words"), ("SORT", "words", "STORE", "dst"), ("EXISTS", "dst"),
        ("SORT", "words", "BY", "w_*"),  # every weight missing: 0, ties by element
        ("SORT", "str", "STORE", "dst"), ("SORT", "nosuch", "BY", "str"),
        ("SORT", "l", "asc", "DESC", "Alpha", "limit", "0", "3", "get", "#", "by", "W_*"),
    )


def test_store(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("SORT", "l", "STORE", "dst"), ("TYPE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SET", "dst", "old"), ("EXPIRE", "dst", "100"),
        ("SORT", "words", "ALPHA", "DESC", "STORE", "dst"), ("TYPE", "dst"), ("TTL", "dst"),
        ("LRANGE", "dst", "0", "-1"),
        ("SORT", "l", "GET", "o_*", "GET", "#", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),  # nil: ""
        ("SORT", "l", "BY", "w_*", "LIMIT", "1", "2", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "nosuch", "STORE", "dst"), ("EXISTS", "dst"),  # empty: deleted
        ("SORT", "nosuch", "STORE", "dst"), ("SORT", "l", "LIMIT", "0", "0", "STORE", "dst"),
        ("SORT", "z", "STORE", "z"), ("TYPE", "z"), ("LRANGE", "z", "0", "-1"),  # onto itself
        ("SORT", "l", "STORE", "l", "DESC"), ("LRANGE", "l", "0", "-1"),
        ("SORT", "s", "STORE", "h"), ("TYPE", "h"), ("LRANGE", "h", "0", "-1"),
        ("SORT", "l", "STORE", "a", "STORE", "b"), ("EXISTS", "a", "b"),
        ("SORT", "words", "ALPHA", "GET", "nope_*", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("OBJECT", "ENCODING", "dst"),
    )


def test_binary_and_collation(diff: Differential) -> None:
    diff.check_all(
        ("RPUSH", "b", "a\x00z", "a\x00b", "a", "ab", "B", "é", "e", "~", ""),
        ("SORT", "b", "ALPHA", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("MSET", "k_1", "b", "k_2", "a\x00z", "k_3", "a\x00b"),
        ("RPUSH", "ids", "1", "2", "3"),
        ("SORT", "ids", "BY", "k_*", "ALPHA", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "ids", "BY", "k_*", "ALPHA", "DESC", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SET", "x_a\x00b", "9"), ("RPUSH", "nul", "a\x00b"),
        ("SORT", "nul", "BY", "x_*", "GET", "x_*"),
        ("HSET", "hx", "f\x00g", "7"), ("SORT", "ids", "GET", "h*->f\x00g"),
    )
    diff.check("SORT", "b", "ALPHA")


def test_numeric_ties_and_multi(diff: Differential) -> None:
    diff.check_all(
        ("RPUSH", "t", "b", "a", "c", "aa"), ("MSET", "w_a", "1", "w_b", "1", "w_c", "0"),
        ("SORT", "t", "BY", "w_*"), ("SORT", "t", "BY", "w_*", "DESC"),
        ("SORT", "t", "BY", "w_*", "LIMIT", "1", "2"), ("SORT", "t", "BY", "w_*", "DESC", "LIMIT", "0", "3"),
        ("RPUSH", "n", "1.0", "1", "01", "+1", "0x1"), ("SORT", "n"), ("SORT", "n", "DESC"),
        ("MULTI",), ("SORT", "t", "BY", "w_*", "STORE", "d"), ("SORT", "t", "LIMIT", "x", "1"),
        ("SORT_RO", "d", "ALPHA"), ("SORT", "t"), ("EXEC",), ("LRANGE", "d", "0", "-1"),
    )


def test_alpha_by_ties(diff: Differential) -> None:
    """Equal ALPHA weights (or missing ones) keep the list's order (glibc's qsort is stable);
    with a LIMIT that narrows the range Redis uses its pqsort, whose order we reproduce."""
    rng = random.Random(1)
    values = [str(rng.randint(0, 300)) for _ in range(250)]
    diff.check("RPUSH", "big", *values)
    for v in sorted(set(values)):
        diff.check("SET", f"a_{v}", rng.choice(["x", "y", "z", "10", "9"]))
    for extra in ([], ["DESC"], ["LIMIT", "3", "20"], ["LIMIT", "0", "200", "DESC"], ["LIMIT", "240", "5"]):
        diff.check("SORT", "big", "BY", "a_*", "ALPHA", *extra)
        diff.check("SORT", "big", "BY", "nokey_*", "ALPHA", *extra)
        diff.check("SORT", "big", "BY", "nokey_*", *extra)
        diff.check("SORT", "big", "BY", "a_*", "ALPHA", "GET", "a_*", "STORE", "d", *extra)
        diff.check("LRANGE", "d", "0", "-1")
    for n in (3, 7, 8, 9, 40, 41, 60):  # pqsort's insertion sort, median of three, ninther
        diff.check("DEL", "small")
        diff.check("RPUSH", "small", *values[:n])
        for lim in (("1", "2"), ("0", "5"), (str(n - 3), "10")):
            diff.check("SORT", "small", "BY", "a_*", "ALPHA", "LIMIT", *lim)
            diff.check("SORT", "small", "BY", "a_*", "ALPHA", "DESC", "LIMIT", *lim)


def _random_cmd(rng: random.Random) -> tuple[Any, ...]:
    src = rng.choice(["l", "l", "z", "s", "nosuch", "str"])
    cmd: list[Any] = [rng.choice(["SORT", "SORT", "SORT_RO"]), src]
    opts: list[list[str]] = []
    if rng.random() < 0.5:
        opts.append(["BY", rng.choice(["w_*", "hw_*->f", "miss_*", "nosort"])])
    if rng.random() < 0.4:
        opts.append(["LIMIT", str(rng.randint(-2, 8)), str(rng.randint(-2, 8))])
    for _ in range(rng.randint(0, 2)):
        opts.append(["GET", rng.choice(["#", "w_*", "hw_*->f", "miss_*"])])
    if rng.random() < 0.3:
        opts.append(["DESC"])
    if rng.random() < 0.2:
        opts.append(["ALPHA"])
    if cmd[0] == "SORT" and rng.random() < 0.3:
        opts.append(["STORE", rng.choice(["dst", "l"])])
    rng.shuffle(opts)
    for o in opts:
        cmd.extend(o)
    return tuple(cmd)


def test_random_sequence(diff: Differential) -> None:
    rng = random.Random(7)
    diff.check("SET", "str", "x")
    for _ in range(300):
        r = rng.random()
        v = str(rng.randint(-20, 20))
        if r < 0.15:
            diff.check("RPUSH", "l", v)
        elif r < 0.2:
            diff.check("LPOP", "l")
        elif r < 0.3:
            diff.check("ZADD", "z", str(rng.randint(0, 5)), v)
        elif r < 0.38:
            diff.check("SADD", "s", v)
        elif r < 0.48:
            diff.check("SET", f"w_{v}", rng.choice([str(rng.randint(-9, 9)), "1.5", "x", "1e3"]))
        elif r < 0.55:
            diff.check("HSET", f"hw_{v}", "f", str(rng.randint(-9, 9)))
        else:
            cmd = _random_cmd(rng)
            # a set's own order (BY nosort without STORE) and ALPHA ties under BY are not specified
            unordered = cmd[1] == "s" and "nosort" in cmd and "STORE" not in cmd
            if cmd[1] in ("s", "z") and "ALPHA" in cmd and "BY" in cmd and "nosort" not in cmd:
                continue  # ALPHA ties under BY keep the load order: a hash table's for these
            diff.check(*cmd, unordered=unordered)
            if "STORE" in cmd:
                diff.check("LRANGE", cmd[cmd.index("STORE") + 1], "0", "-1")


def test_pattern_shapes_and_expired_keys(diff: Differential) -> None:
    diff.check_all(
        ("RPUSH", "p", "1", "2", "x*y"), ("SET", "h->1", "5"), ("SET", "h->2", "3"),
        ("HSET", "k1", "f->g", "9"), ("HSET", "k2", "f->g", "8"),
        ("SORT", "p", "BY", "h->*", "GET", "h->*"),  # "->" before "*": part of the key name
        ("SORT", "p", "GET", "k*->f->g", "BY", "k*->f->g"),  # the field is all after the first "->"
        ("SORT", "p", "BY", "*->"), ("SORT", "p", "BY", "k*->f->g", "ALPHA"),
        ("HSET", "hz1", "f", "abc"), ("SORT", "p", "BY", "hz*->f"),  # not a number
        ("SET", "e_1", "7", "PX", "1"),
    )
    time.sleep(0.01)
    diff.check_all(
        ("SORT", "p", "GET", "e_*"), ("SORT", "p", "BY", "e_*"), ("SORT", "p", "BY", "e_*", "ALPHA", "GET", "#"),
        ("RPUSH", "gone", "1"), ("PEXPIRE", "gone", "1"),
    )
    time.sleep(0.01)
    diff.check_all(("SORT", "gone"), ("SORT", "p", "STORE", "gone"), ("TTL", "gone"), ("LRANGE", "gone", "0", "-1"))


def test_more_sets_and_bytes(diff: Differential) -> None:
    diff.check_all(
        ("SADD", "fs", "1.5", "-3", "abc0", "2"), ("SORT", "fs", "ALPHA"), ("SORT", "fs", "ALPHA", "DESC"),
        ("SORT", "fs"), ("SREM", "fs", "abc0"), ("SORT", "fs"), ("SORT", "fs", "DESC", "LIMIT", "1", "2"),
        ("SADD", "sw", "x", "b", "zz", "a", "m"), ("SET", "w_x", "1"),
        ("SORT", "sw", "BY", "nosort", "GET", "#", "GET", "w_*", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        # strcoll stops at a NUL: equal weights, the list's order
        ("MSET", "k_1", "b", "k_2", "a\x00z", "k_3", "a\x00b"), ("RPUSH", "ids", "1", "2", "3", "4"),
        ("SORT", "ids", "BY", "k_*", "ALPHA"), ("SORT", "ids", "BY", "k_*", "ALPHA", "DESC"),
        ("RPUSH", "hb", b"\xff", b"\xc3\xa9", b"\xc3", b"a", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\x80"),
        ("SORT", "hb", "ALPHA"), ("SORT", "hb", "ALPHA", "DESC"),
    )


def test_watch(diff: Differential) -> None:
    diff.check_all(
        ("RPUSH", "src", "2", "1"),
        ("WATCH", "dst"), ("SORT", "nosuch", "STORE", "dst"),  # nothing to delete: no change
        ("MULTI",), ("PING",), ("EXEC",),
        ("WATCH", "dst"), ("SORT", "src", "STORE", "dst"), ("MULTI",), ("PING",), ("EXEC",),
        ("WATCH", "dst"), ("SORT", "nosuch", "STORE", "dst"), ("MULTI",), ("PING",), ("EXEC",),
        ("WATCH", "src"), ("SORT_RO", "src"), ("SORT", "src", "STORE", "other"), ("MULTI",), ("PING",), ("EXEC",),
    )
