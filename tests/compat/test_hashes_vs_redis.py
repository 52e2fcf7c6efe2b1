"""Hash commands against a real redis-server (RESP2 and RESP3): replies, errors, reply types.

HRANDFIELD (random) is compared by properties: reply shape, size, membership, distinctness.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import Differential
from tests.respclient import Reply


def setup(diff: Differential, *commands: tuple[Any, ...]) -> None:
    for cmd in commands:
        ref, ours = diff.both(*cmd)
        assert ref == ours, (cmd, ref, ours)


def base(diff: Differential) -> None:
    setup(
        diff,
        ("HSET", "h", "a", "1", "b", "hello", "c", "1.5", "d", "-7", "e", ""),
        ("SET", "str", "x"),
        ("SADD", "set", "m"),
    )


def test_hset_hget_family(diff: Differential) -> None:
    diff.check_all(
        ("HSET", "h", "f1", "v1", "f2", "v2"),
        ("HSET", "h", "f1", "new", "f3", "v3"),  # one new field
        ("HSET", "h", "f4", "x", "f4", "y"),  # the same field twice: the last value
        ("HGET", "h", "f4"),
        ("HSET", "h", "f5", "b", "f5", "a"),
        ("HGET", "h", "f5"),
        ("HMSET", "h", "f1", "m1", "f9", "m9"),
        ("HGET", "h", "f1"),
        ("HGET", "h", "nosuch"),
        ("HGET", "nosuch", "f1"),
        ("HMGET", "h", "f1", "nosuch", "f9", "f1"),
        ("HMGET", "nosuch", "a", "b"),
        ("HSETNX", "h", "f1", "no"),
        ("HSETNX", "h", "g", "yes"),
        ("HSETNX", "new", "g", "yes"),
        ("HGET", "h", "g"),
        ("HEXISTS", "h", "g"),
        ("HEXISTS", "h", "zz"),
        ("HEXISTS", "nosuch", "g"),
        ("HLEN", "h"),
        ("HLEN", "nosuch"),
        ("HSTRLEN", "h", "f1"),
        ("HSTRLEN", "h", "zz"),
        ("HSTRLEN", "nosuch", "zz"),
        ("HSET", "h", "empty", ""),
        ("HSTRLEN", "h", "empty"),
        ("HGET", "h", "empty"),
        ("HEXISTS", "h", "empty"),
        ("TYPE", "h"),
    )


def test_hgetall_hkeys_hvals(diff: Differential) -> None:
    base(diff)
    for cmd in ("HGETALL", "HKEYS", "HVALS"):
        diff.check(cmd, "h", unordered=cmd != "HGETALL")
        diff.check(cmd, "nosuch")
    # HGETALL: a map in RESP3, a flat array in RESP2 (pairs kept together).
    ref, ours = diff.both("HGETALL", "h")
    assert ref.type == ours.type

    def pairs(reply: Reply) -> list[tuple[Any, Any]]:
        if reply.type == "%":
            return sorted((k.value, v.value) for k, v in reply.value)
        flat = [r.value for r in reply.value]
        return sorted(zip(flat[::2], flat[1::2], strict=True))

    assert pairs(ours) == pairs(ref)


def test_hdel(diff: Differential) -> None:
    base(diff)
    setup(diff, ("EXPIRE", "h", "100"))
    diff.check_all(
        ("HDEL", "h", "a", "a", "zz"),
        ("HDEL", "h", "zz"),
        ("HDEL", "nosuch", "a"),
        ("HLEN", "h"),
        ("HDEL", "h", "b", "c", "d", "e"),  # the last fields: the key goes away, TTL too
        ("EXISTS", "h"),
        ("HSET", "h", "x", "1"),
        ("TTL", "h"),
        ("HGETALL", "h"),
    )


def test_hincrby(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("HINCRBY", "h", "a", "10"),
        ("HINCRBY", "h", "a", "-100"),
        ("HINCRBY", "h", "new", "5"),
        ("HINCRBY", "nosuch", "f", "-3"),
        ("HGET", "nosuch", "f"),
        ("HINCRBY", "h", "d", "0"),
        ("HINCRBY", "h", "b", "1"),  # not an integer
        ("HINCRBY", "h", "c", "1"),
        ("HINCRBY", "h", "e", "1"),  # empty string
        ("HINCRBY", "h", "a", "abc"),
        ("HINCRBY", "h", "a", "1.5"),
        ("HINCRBY", "h", "a", "9223372036854775808"),
        ("HINCRBY", "h", "a", ""),
        ("HINCRBY", "str", "a", "1"),
        ("HINCRBY", "str", "a", "abc"),  # the increment is checked first
        ("HSET", "h", "big", "9223372036854775800"),
        ("HINCRBY", "h", "big", "7"),
        ("HINCRBY", "h", "big", "1"),  # overflow
        ("HINCRBY", "h", "big", "-9223372036854775808"),
        ("HSET", "h", "small", "-9223372036854775808"),
        ("HINCRBY", "h", "small", "-1"),
        ("HINCRBY", "h", "z", "9223372036854775807"),
        ("HINCRBY", "h", "z", "1"),
        ("HGET", "h", "z"),
        ("HSET", "h", "lead", "007"),
        ("HINCRBY", "h", "lead", "1"),
        ("HSET", "h", "sp", " 1"),
        ("HINCRBY", "h", "sp", "1"),
        ("HGETALL", "nosuch"),
    )


def test_hincrbyfloat(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("HINCRBYFLOAT", "h", "a", "0.5"),
        ("HINCRBYFLOAT", "h", "a", "-0.25"),
        ("HINCRBYFLOAT", "h", "c", "1.1"),
        ("HINCRBYFLOAT", "h", "c", "-2.6"),
        ("HINCRBYFLOAT", "h", "d", "7"),  # an integer result prints without a point
        ("HINCRBYFLOAT", "h", "new", "3.0e3"),
        ("HINCRBYFLOAT", "nosuch", "f", "10.5"),
        ("HINCRBYFLOAT", "h", "x", "1e20"),
        ("HINCRBYFLOAT", "h", "y", "-0.0001"),
        ("HINCRBY", "h", "a", "1"),  # 1.25 is not an integer
        ("HINCRBYFLOAT", "h", "d", "0.5"),
        ("HINCRBY", "h", "d", "1"),
        ("HINCRBYFLOAT", "h", "b", "1"),  # not a float
        ("HINCRBYFLOAT", "h", "e", "1"),  # empty string
        ("HINCRBYFLOAT", "h", "a", "abc"),
        ("HINCRBYFLOAT", "h", "a", ""),
        ("HINCRBYFLOAT", "h", "a", " 1"),
        ("HINCRBYFLOAT", "h", "a", "nan"),
        ("HINCRBYFLOAT", "h", "a", "inf"),
        ("HINCRBYFLOAT", "h", "a", "-inf"),
        ("HINCRBYFLOAT", "str", "a", "1"),
        ("HINCRBYFLOAT", "str", "a", "abc"),
        ("HSET", "h", "i", "inf"),
        ("HINCRBYFLOAT", "h", "i", "1"),
        ("HSET", "h", "huge", "1e4932"),
        ("HINCRBYFLOAT", "h", "huge", "1e4932"),  # beyond long double
        ("HGET", "h", "huge"),
        ("HSET", "h", "n", "5.0"),
        ("HINCRBYFLOAT", "h", "n", "0"),
        ("HGET", "h", "n"),
    )


def test_wrong_type_and_arity(diff: Differential) -> None:
    base(diff)
    for cmd in [
        ("HSET", "str", "a", "1"), ("HMSET", "set", "a", "1"), ("HSETNX", "str", "a", "1"),
        ("HGET", "str", "a"), ("HMGET", "str", "a"), ("HGETALL", "str"), ("HKEYS", "set"),
        ("HVALS", "str"), ("HDEL", "str", "a"), ("HEXISTS", "str", "a"), ("HLEN", "str"),
        ("HSTRLEN", "str", "a"), ("HRANDFIELD", "str"), ("HRANDFIELD", "str", "1"),
        ("HRANDFIELD", "set", "-1", "WITHVALUES"), ("HSCAN", "str", "0"),
        ("HSCAN", "str", "0", "COUNT", "0"),
        # wrong arity
        ("HSET", "h", "a"), ("HSET", "h", "a", "1", "b"), ("HMSET", "h", "a", "1", "b"),
        ("HMSET", "h"), ("HSET", "h"), ("HSETNX", "h", "a"), ("HGET", "h"), ("HMGET", "h"),
        ("HGETALL",), ("HKEYS", "h", "x"), ("HVALS",), ("HDEL", "h"), ("HEXISTS", "h"),
        ("HLEN",), ("HSTRLEN", "h"), ("HINCRBY", "h", "a"), ("HINCRBYFLOAT", "h", "a"),
        ("HRANDFIELD",), ("HSCAN", "h"),
    ]:
        diff.check(*cmd)
    diff.check("HGETALL", "h", unordered=True)  # nothing changed


def test_hrandfield(diff: Differential) -> None:
    base(diff)
    fields = {b"a", b"b", b"c", b"d", b"e"}
    values = {b"a": b"1", b"b": b"hello", b"c": b"1.5", b"d": b"-7", b"e": b""}
    diff.check_all(
        ("HRANDFIELD", "nosuch"),
        ("HRANDFIELD", "nosuch", "3"),
        ("HRANDFIELD", "nosuch", "-3", "WITHVALUES"),
        ("HRANDFIELD", "h", "0"),
        ("HRANDFIELD", "h", "0", "WITHVALUES"),
        ("HRANDFIELD", "h", "abc"),
        ("HRANDFIELD", "h", "1", "FOO"),
        ("HRANDFIELD", "h", "1", "WITHVALUES", "x"),
        ("HRANDFIELD", "nosuch", "1", "FOO"),
        ("HRANDFIELD", "h", "-9223372036854775808"),
        ("HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES"),
        ("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"),
        ("HRANDFIELD", "nosuch", "4611686018427387904", "WITHVALUES"),
        ("HRANDFIELD", "nosuch", "-4611686018427387904", "WITHVALUES"),  # C's -LONG_MAX/2 is ...903
    )
    ref, ours = diff.both("HRANDFIELD", "h")
    assert ref.type == ours.type == "$" and ours.value in fields
    for count in (1, 3, 5, 10, -1, -4, -12):
        expected = min(count, 5) if count > 0 else -count
        ref, ours = diff.both("HRANDFIELD", "h", str(count))
        assert ref.type == ours.type == "*"
        got = [r.value for r in ours.value]
        assert len(got) == len(ref.value) == expected and set(got) <= fields
        if count > 0:
            assert len(set(got)) == len(got)
        ref, ours = diff.both("HRANDFIELD", "h", str(count), "withvalues")
        assert ref.type == ours.type == "*"
        assert len(ours.value) == len(ref.value)
        assert [r.type for r in ours.value] == [r.type for r in ref.value]
        if diff.protocol == 3:
            assert all(len(r.value) == 2 for r in ours.value)
            pairs = [(r.value[0].value, r.value[1].value) for r in ours.value]
        else:
            flat = [r.value for r in ours.value]
            pairs = list(zip(flat[::2], flat[1::2], strict=True))
        assert len(pairs) == expected
        assert all(values[f] == v for f, v in pairs)
        if count > 0:
            assert len({f for f, _ in pairs}) == len(pairs)


@pytest.mark.parametrize("size", [5, 300, 600])
def test_hscan(diff: Differential, size: int) -> None:
    setup(diff, ("HSET", "h", *[x for i in range(size) for x in (f"f{i}", f"v{i}")]))
    for opts in [(), ("COUNT", "7"), ("MATCH", "f1*"), ("MATCH", "f1*", "COUNT", "50"), ("MATCH", "zz")]:
        seen: dict[str, dict[bytes, bytes]] = {}
        for name, conn in (("ref", diff.ref), ("ours", diff.ours)):
            seen[name] = {}
            cursor = b"0"
            calls = 0
            while True:
                reply = conn.call("HSCAN", "h", cursor, *opts)
                assert reply.type == "*" and len(reply.value) == 2
                assert reply.value[0].type == "$" and reply.value[1].type == "*"
                cursor = reply.value[0].value
                flat = [r.value for r in reply.value[1].value]
                assert len(flat) % 2 == 0
                seen[name].update(zip(flat[::2], flat[1::2], strict=True))
                calls += 1
                if cursor == b"0":
                    break
                assert calls < 1000
            if name == "ours" and size > 512 and opts in ((), ("COUNT", "7")):
                assert calls > 2  # the cursor path, not one reply
        assert seen["ours"] == seen["ref"], opts
    if size <= 512:  # a listpack in Redis (hash-max-listpack-entries 512): whole, whatever the cursor
        for cursor in ("0", "-1", "", "999"):
            diff.check("HSCAN", "h", cursor)
    diff.check_all(
        ("HSCAN", "h", "abc"),
        ("HSCAN", "h", "+"),
        ("HSCAN", "nosuch", "abc"),
        ("HSCAN", "nosuch", "0"),
        ("HSCAN", "nosuch", "0", "COUNT", "0"),
        ("HSCAN", "h", "0", "COUNT", "0"),
        ("HSCAN", "h", "0", "COUNT", "-1"),
        ("HSCAN", "h", "0", "COUNT", "x"),
        ("HSCAN", "h", "0", "MATCH"),
        ("HSCAN", "h", "0", "TYPE", "hash"),
        ("HSCAN", "h", "0", "NOVALUES"),
    )


def test_expired_keys(diff: Differential) -> None:
    setup(diff, ("HSET", "h", "a", "1", "b", "2"), ("PEXPIRE", "h", "1"))
    time.sleep(0.01)
    diff.check_all(
        ("HLEN", "h"), ("HGET", "h", "a"), ("HGETALL", "h"), ("HSETNX", "h", "a", "9"),
        ("HINCRBY", "h", "b", "5"), ("TTL", "h"), ("HGETALL", "h"),
    )


def test_hincrbyfloat_prints_long_double_digits_like_redis(diff: Differential) -> None:
    diff.check("HSET", "h", "f", "10000")
    diff.check("HINCRBYFLOAT", "h", "f", "2345.678")
    diff.check("HGET", "h", "f")
    diff.check("HINCRBYFLOAT", "h", "g", "1e20")
    diff.check("HINCRBYFLOAT", "h", "g", "1")
    diff.check("HINCRBYFLOAT", "h", "f", "0x10")
    diff.check("HGETALL", "h", unordered=True)
