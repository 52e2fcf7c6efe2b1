"""Set and hash commands in process: the effects they emit, their batches, and how concurrent
writes from two regions merge (SEMANTICS.md, "Sets" and "Hashes")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from crdt.effects import Batch, Delete
from crdt.numbers import EXACT
from crdt.types.ormap import HashDelete, HashIncr, HashSet
from crdt.types.orset import SetAdd, SetRemove
from replication.sink import RecordingSink
from server.app import Server
from server.commands.floats import long_double
from server.config import Config
from server.connection import Client
from server.resp import Error, Map, RSet


class Region:
    def __init__(self, name: str) -> None:
        cfg = Config()
        cfg.region = name
        self.sink = RecordingSink()
        self.server = Server(cfg, self.sink)
        self.client = Client(self.server)

    def __call__(self, *argv: str) -> Any:
        return self.client.dispatch([a.encode() for a in argv])

    def last(self) -> list[Any]:
        return list(self.sink.batches[-1].effects)

    def receive(self, batches: list[Batch]) -> None:
        for batch in batches:
            assert self.server.ks.ready(batch)
            self.server.ks.apply_batch(batch)


def members(reply: Any) -> set[bytes]:
    assert isinstance(reply, RSet)
    return set(reply.members)


@pytest.fixture
def us() -> Region:
    return Region("us")


def test_sadd_existing_member_still_emits(us: Region) -> None:
    assert us("SADD", "s", "a", "b", "a") == 2
    assert us.last() == [SetAdd(0, b"s", (b"a", b"b"))]
    assert us("SADD", "s", "a") == 0
    assert us.last() == [SetAdd(0, b"s", (b"a",))]


def test_removes_emit_observed_removes(us: Region) -> None:
    us("SADD", "s", "a", "b", "c")
    n = len(us.sink.batches)
    assert us("SREM", "s", "zz") == 0
    assert len(us.sink.batches) == n  # nothing to remove: nothing shipped
    assert us("SREM", "s", "a", "zz") == 1
    assert us.last() == [SetRemove(0, b"s", (b"a",))]
    assert us("SREM", "s", "b", "c") == 2
    assert us.last() == [Delete(0, b"s")]  # emptied: the key goes, as in Redis


def test_smove_and_store_are_one_batch(us: Region) -> None:
    us("SADD", "src", "a", "b")
    us("SADD", "x", "b", "c")
    assert us("SMOVE", "src", "dst", "a") == 1
    assert us.last() == [SetRemove(0, b"src", (b"a",)), SetAdd(0, b"dst", (b"a",))]
    assert us("SUNIONSTORE", "dst", "src", "x") == 2
    effects = us.last()
    assert effects[0] == Delete(0, b"dst")
    assert type(effects[1]) is SetAdd and set(effects[1].members) == {b"b", b"c"}
    assert us("SINTERSTORE", "dst", "src", "nosuch") == 0
    assert us.last() == [Delete(0, b"dst")]


def test_spop_removes_what_it_returns(us: Region) -> None:
    us("SADD", "s", "a", "b", "c", "d")
    popped = us("SPOP", "s", "2")
    assert us.last() == [SetRemove(0, b"s", tuple(popped.members))]
    assert members(us("SMEMBERS", "s")) == {b"a", b"b", b"c", b"d"} - set(popped.members)


def test_hash_effects(us: Region) -> None:
    assert us("HSET", "h", "f", "1", "g", "x", "f", "2") == 2
    assert us.last() == [HashSet(0, b"h", ((b"f", b"2"), (b"g", b"x")))]
    assert us("HGET", "h", "f") == b"2"
    assert us("HINCRBY", "h", "f", "5") == 7
    assert us.last() == [HashIncr(0, b"h", b"f", 5)]
    assert us("HINCRBYFLOAT", "h", "f", "0.1") == b"7.1"
    # The delta takes the stored 7 to the long double nearest 7.1, as Redis adds it
    # (server/commands/floats.py).
    assert us.last() == [HashIncr(0, b"h", b"f", EXACT.subtract(long_double(Decimal("7.1")), 7))]
    n = len(us.sink.batches)
    assert us("HINCRBY", "h", "g", "1") == Error("ERR hash value is not an integer")
    assert len(us.sink.batches) == n
    assert us("HDEL", "h", "g") == 1
    assert us.last() == [HashDelete(0, b"h", (b"g",))]
    assert us("HDEL", "h", "f") == 1
    assert us.last() == [Delete(0, b"h")]
    assert isinstance(us("HGETALL", "h"), Map)


def test_concurrent_set_writes_converge() -> None:
    us, eu = Region("us"), Region("eu")
    us("SADD", "s", "x", "y")
    eu.receive(us.sink.batches)
    mark_us, mark_eu = len(us.sink.batches), len(eu.sink.batches)
    us("SREM", "s", "x")  # ‖ SADD x: add wins
    eu("SADD", "s", "x", "z")
    eu("SREM", "s", "y")
    us.receive(eu.sink.batches[mark_eu:])
    eu.receive(us.sink.batches[mark_us:])
    assert members(us("SMEMBERS", "s")) == members(eu("SMEMBERS", "s")) == {b"x", b"z"}


def test_concurrent_hash_writes_converge() -> None:
    us, eu = Region("us"), Region("eu")
    us("HSET", "h", "f", "1", "n", "10")
    eu.receive(us.sink.batches)
    mark_us, mark_eu = len(us.sink.batches), len(eu.sink.batches)
    us("HINCRBY", "h", "n", "7")
    eu("HINCRBY", "h", "n", "3")  # concurrent increments add up
    us("HDEL", "h", "f")
    eu("HSET", "h", "f", "2")  # HSET f ‖ HDEL f keeps f
    us.receive(eu.sink.batches[mark_eu:])
    eu.receive(us.sink.batches[mark_us:])
    for r in (us, eu):
        assert r("HGET", "h", "n") == b"20"
        assert r("HGET", "h", "f") == b"2"
