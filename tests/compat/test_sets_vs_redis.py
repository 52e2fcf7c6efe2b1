"""Set commands against a real redis-server (RESP2 and RESP3): replies, errors, reply types.

Commands with a random result (SPOP, SRANDMEMBER) are compared by properties: reply type,
size, membership, distinctness, and the state they leave.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import Differential
from tests.respclient import Reply

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def setup(diff: Differential, *commands: tuple[Any, ...]) -> None:
    for cmd in commands:
        ref, ours = diff.both(*cmd)
        assert ref == ours, (cmd, ref, ours)


def members(reply: Reply) -> list[bytes]:
    return [r.value for r in reply.value]


def base(diff: Differential) -> None:
    setup(
        diff,
        ("SADD", "s1", "a", "b", "c", "d"),
        ("SADD", "s2", "c", "d", "e"),
        ("SADD", "s3", "a", "c", "e", "f"),
        ("SADD", "ints", "1", "2", "3", "100"),
        ("SET", "str", "x"),
        ("HSET", "hash", "f", "v"),
    )


def test_sadd_srem_scard_sismember(diff: Differential) -> None:
    diff.check_all(
        ("SADD", "s", "a", "b", "a"),
        ("SADD", "s", "a", "c"),  # an existing member counts 0
        ("SADD", "s", "a"),
        ("SCARD", "s"),
        ("SISMEMBER", "s", "a"),
        ("SISMEMBER", "s", "zz"),
        ("SISMEMBER", "nosuch", "a"),
        ("SCARD", "nosuch"),
        ("SREM", "s", "a", "a", "zz"),
        ("SREM", "s", "zz"),
        ("SREM", "nosuch", "a"),
        ("SCARD", "s"),
        ("SREM", "s", "b", "c"),  # empties the set: the key goes away
        ("EXISTS", "s"),
        ("TYPE", "s"),
        ("SADD", "s", "x"),
        ("TYPE", "s"),
        ("SADD", "e", ""),
        ("SISMEMBER", "e", ""),
    )
    diff.check("SMEMBERS", "s", unordered=True)


def test_smembers_smismember(diff: Differential) -> None:
    base(diff)
    diff.check("SMEMBERS", "s1", unordered=True)
    diff.check("SMEMBERS", "ints", unordered=True)
    diff.check_all(
        ("SMEMBERS", "nosuch"),
        ("SMISMEMBER", "s1", "a", "zz", "c", "a"),
        ("SMISMEMBER", "nosuch", "a", "b"),
        ("SMISMEMBER", "s1"),
    )


def test_wrong_type_and_arity(diff: Differential) -> None:
    base(diff)
    for cmd in [
        ("SADD", "str", "a"), ("SREM", "str", "a"), ("SMEMBERS", "str"), ("SISMEMBER", "str", "a"),
        ("SMISMEMBER", "str", "a"), ("SCARD", "str"), ("SPOP", "str"), ("SPOP", "str", "1"),
        ("SPOP", "str", "0"), ("SRANDMEMBER", "str"), ("SRANDMEMBER", "str", "2"),
        ("SRANDMEMBER", "hash", "-2"),
        ("SMOVE", "str", "s1", "a"), ("SMOVE", "s1", "str", "a"), ("SMOVE", "s1", "hash", "zz"),
        ("SINTER", "s1", "str"), ("SINTER", "str", "s1"), ("SINTER", "nosuch", "str"),
        ("SINTER", "str", "nosuch"), ("SUNION", "s1", "hash"), ("SUNION", "nosuch", "str"),
        ("SDIFF", "s1", "str"), ("SDIFF", "nosuch", "str"), ("SDIFF", "str", "s1"),
        ("SINTERSTORE", "d", "nosuch", "str"), ("SUNIONSTORE", "d", "s1", "str"),
        ("SDIFFSTORE", "d", "s1", "hash"), ("SINTERCARD", "2", "nosuch", "str"),
        ("SINTERCARD", "1", "hash"), ("SSCAN", "str", "0"), ("SSCAN", "str", "0", "COUNT", "0"),
    ]:
        diff.check(*cmd)
    diff.check("EXISTS", "d")  # a failed *STORE leaves the destination alone
    for cmd in [
        ("SADD", "s"), ("SREM", "s"), ("SMEMBERS",), ("SMEMBERS", "a", "b"), ("SISMEMBER", "s"),
        ("SMISMEMBER", "s"), ("SCARD",), ("SPOP",), ("SRANDMEMBER",), ("SMOVE", "a", "b"),
        ("SINTER",), ("SUNION",), ("SDIFF",), ("SINTERSTORE", "d"), ("SUNIONSTORE", "d"),
        ("SDIFFSTORE", "d"), ("SINTERCARD", "1"), ("SSCAN", "s"),
    ]:
        diff.check(*cmd)
    diff.check("SMEMBERS", "s1", unordered=True)  # nothing changed


def test_smove(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("SMOVE", "s1", "s2", "a"),
        ("SMOVE", "s1", "s2", "c"),  # already in the destination
        ("SMOVE", "s1", "s2", "zz"),
        ("SMOVE", "nosuch", "s2", "a"),
        ("SMOVE", "nosuch", "str", "a"),  # missing source: 0 before the type check
        ("SMOVE", "s1", "s1", "b"),
        ("SMOVE", "s1", "s1", "zz"),
        ("SMOVE", "s1", "new", "b"),
        ("SMOVE", "s1", "new", "d"),  # empties the source
        ("EXISTS", "s1"),
        ("SCARD", "new"),
        ("SCARD", "s2"),
    )
    diff.check("SMEMBERS", "s2", unordered=True)
    diff.check("SMEMBERS", "new", unordered=True)


@pytest.mark.parametrize("op", ["SINTER", "SUNION", "SDIFF"])
def test_set_algebra(diff: Differential, op: str) -> None:
    base(diff)
    for keys in [
        ("s1",), ("s1", "s2"), ("s2", "s1"), ("s1", "s2", "s3"), ("s1", "nosuch"),
        ("nosuch", "s1"), ("nosuch",), ("s1", "s1"), ("s1", "ints"), ("ints", "s1", "s3"),
        ("nosuch", "s1", "nosuch2"),
    ]:
        diff.check(op, *keys, unordered=True)


@pytest.mark.parametrize("op", ["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"])
def test_set_algebra_store(diff: Differential, op: str) -> None:
    base(diff)
    for keys in [
        ("s1", "s2"), ("s1", "s2", "s3"), ("s1", "nosuch"), ("nosuch", "s1"), ("s3",), ("s1", "s1"),
    ]:
        setup(diff, ("SET", "dst", "old"), ("EXPIRE", "dst", "100"))
        diff.check(op, "dst", *keys)
        diff.check_all(("EXISTS", "dst"), ("TYPE", "dst"), ("TTL", "dst"), ("SCARD", "dst"))
        diff.check("SMEMBERS", "dst", unordered=True)
    # The destination may be one of the sources.
    diff.check(op, "s1", "s1", "s3")
    diff.check("SMEMBERS", "s1", unordered=True)
    # An empty result deletes the destination.
    setup(diff, ("SADD", "dst", "x"))
    diff.check(op, "dst", "nosuch", "nosuch2")
    diff.check("EXISTS", "dst")
    diff.check(op, "dst", "nosuch")
    diff.check("EXISTS", "dst")


def test_sintercard(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("SINTERCARD", "1", "s1"),
        ("SINTERCARD", "2", "s1", "s2"),
        ("SINTERCARD", "3", "s1", "s2", "s3"),
        ("SINTERCARD", "2", "s1", "nosuch"),
        ("SINTERCARD", "1", "nosuch"),
        ("SINTERCARD", "1", "s1", "LIMIT", "0"),
        ("SINTERCARD", "1", "s1", "LIMIT", "2"),
        ("SINTERCARD", "1", "s1", "limit", "100"),
        ("SINTERCARD", "2", "s1", "s3", "LIMIT", "1"),
        ("SINTERCARD", "1", "s1", "LIMIT", "1", "LIMIT", "3"),
        ("SINTERCARD", "0", "s1"),
        ("SINTERCARD", "-1", "s1"),
        ("SINTERCARD", "abc", "s1"),
        ("SINTERCARD", "3", "s1", "s2"),
        ("SINTERCARD", "1", "s1", "LIMIT", "-1"),
        ("SINTERCARD", "1", "s1", "LIMIT", "abc"),
        ("SINTERCARD", "1", "s1", "LIMIT"),
        ("SINTERCARD", "1", "s1", "FOO"),
        ("SINTERCARD", "1", "s1", "s2"),
    )


def test_spop(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("SPOP", "nosuch"),
        ("SPOP", "nosuch", "3"),
        ("SPOP", "s1", "0"),
        ("SPOP", "s1", "-1"),
        ("SPOP", "s1", "abc"),
        ("SPOP", "s1", "1", "2"),
        ("SPOP", "nosuch", "-1"),
        ("SCARD", "s1"),
    )
    all_members = {b"a", b"b", b"c", b"d"}
    ref, ours = diff.both("SPOP", "s1")
    assert ref.type == ours.type == "$"
    assert ref.value in all_members and ours.value in all_members
    first = ours.value
    ref, ours = diff.both("SPOP", "s1", "2")
    assert ref.type == ours.type
    assert len(ours.value) == 2 and len(set(members(ours))) == 2
    popped = {ours.value[0].value, ours.value[1].value}
    rest = diff.ours.call("SMEMBERS", "s1")
    assert set(members(rest)) | popped == all_members - {first}
    assert not set(members(rest)) & popped and first not in popped
    diff.check("SCARD", "s1")
    # Count >= size pops everything and deletes the key.
    ref, ours = diff.both("SPOP", "s2", "10")
    assert ref.type == ours.type
    assert sorted(members(ours)) == sorted(members(ref)) == [b"c", b"d", b"e"]
    diff.check_all(("EXISTS", "s2"), ("SPOP", "s2"), ("SPOP", "s2", "1"))
    # Popping the last member deletes the key and its TTL.
    setup(diff, ("SADD", "one", "m"), ("EXPIRE", "one", "100"))
    diff.check_all(("SPOP", "one"), ("EXISTS", "one"), ("SADD", "one", "n"), ("TTL", "one"))


def test_srandmember(diff: Differential) -> None:
    base(diff)
    diff.check_all(
        ("SRANDMEMBER", "nosuch"),
        ("SRANDMEMBER", "nosuch", "5"),
        ("SRANDMEMBER", "nosuch", "-5"),
        ("SRANDMEMBER", "s1", "0"),
        ("SRANDMEMBER", "s1", "abc"),
        ("SRANDMEMBER", "s1", "1", "2"),
        ("SRANDMEMBER", "s1", "-9223372036854775808"),
        ("SRANDMEMBER", "nosuch", "-9223372036854775808"),
        ("SRANDMEMBER", "s1", "9223372036854775808"),
    )
    universe = {b"a", b"b", b"c", b"d"}
    ref, ours = diff.both("SRANDMEMBER", "s1")
    assert ref.type == ours.type == "$" and ours.value in universe
    for count in (1, 3, 4, 10):
        ref, ours = diff.both("SRANDMEMBER", "s1", str(count))
        assert ref.type == ours.type
        got = members(ours)
        assert len(got) == len(members(ref)) == min(count, 4)
        assert len(set(got)) == len(got) and set(got) <= universe
    for count in (-1, -3, -10):
        ref, ours = diff.both("SRANDMEMBER", "s1", str(count))
        assert ref.type == ours.type
        got = members(ours)
        assert len(got) == len(members(ref)) == -count and set(got) <= universe
    diff.check("SCARD", "s1")  # nothing removed
    ref, ours = diff.both("SRANDMEMBER", "s1", "-200")
    assert len(set(members(ours))) > 1  # repetitions, but not a constant


def test_sscan(diff: Differential) -> None:
    base(diff)
    setup(diff, ("SADD", "big", *[f"m{i}" for i in range(300)]))
    for key, opts in [
        ("s1", ()), ("ints", ()), ("big", ()), ("big", ("COUNT", "7")), ("big", ("MATCH", "m1*")),
        ("big", ("MATCH", "m1*", "COUNT", "50")), ("s1", ("MATCH", "[ab]")), ("nosuch", ()),
    ]:
        seen: dict[str, set[bytes]] = {"ref": set(), "ours": set()}
        for name in ("ref", "ours"):
            conn = diff.ref if name == "ref" else diff.ours
            cursor = b"0"
            calls = 0
            while True:
                reply = conn.call("SSCAN", key, cursor, *opts)
                assert reply.type == "*" and len(reply.value) == 2
                assert reply.value[0].type == "$" and reply.value[1].type == "*"
                cursor = reply.value[0].value
                seen[name] |= set(members(reply.value[1]))
                calls += 1
                if cursor == b"0":
                    break
                assert calls < 1000
            if key == "big" and name == "ours" and opts in ((), ("COUNT", "7")):
                assert calls > 2  # the cursor path, not one reply
        assert seen["ours"] == seen["ref"], (key, opts)
    # An intset is returned whole whatever the cursor; strtoul cursors (sign, empty).
    for cursor in ("-1", "", "+0", "12345", "18446744073709551615"):
        diff.check("SSCAN", "ints", cursor, unordered=True)
    diff.check_all(
        ("SSCAN", "s1", "abc"),
        ("SSCAN", "s1", "+"),
        ("SSCAN", "s1", " 0"),
        ("SSCAN", "s1", "18446744073709551616"),
        ("SSCAN", "nosuch", "abc"),
        ("SSCAN", "s1", "0", "COUNT", "0"),
        ("SSCAN", "s1", "0", "COUNT", "abc"),
        ("SSCAN", "s1", "0", "COUNT"),
        ("SSCAN", "s1", "0", "TYPE", "set"),
        ("SSCAN", "s1", "0", "FOO", "bar"),
        ("SSCAN", "nosuch", "0", "COUNT", "0"),  # a missing key replies before parsing options
        ("SSCAN", "nosuch", "0", "FOO"),
    )


def test_expired_keys(diff: Differential) -> None:
    setup(
        diff,
        ("SADD", "s", "a", "b"), ("PEXPIRE", "s", "1"),
        ("SADD", "src", "a"), ("PEXPIRE", "src", "1"),
        ("SADD", "keep", "k"),
    )
    time.sleep(0.01)
    diff.check_all(
        ("SCARD", "s"), ("SISMEMBER", "s", "a"), ("SMOVE", "src", "keep", "a"),
        ("SINTERCARD", "1", "s"), ("SUNIONSTORE", "d", "s", "keep"), ("SADD", "s", "c"),
        ("TTL", "s"), ("SMEMBERS", "s"), ("SMEMBERS", "d"), ("EXISTS", "src"),
    )
