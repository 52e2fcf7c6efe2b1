"""The write path without sockets: a client protocol on a mock transport, a recording sink.

Every write command must become effects applied through the keyspace and committed as one
batch per command (one per transaction), handed to the replication sink in order; reads and
rejected writes must ship nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from crdt.codec import decode_batch, encode_batch
from crdt.effects import Delete
from crdt.types.strings import Assign, Incr
from tests.inprocess import Env, send, start_server


@pytest.fixture
def env() -> Env:
    return start_server()


def test_each_write_command_is_one_batch_in_order(env: Any) -> None:
    server, sink, client, transport = env
    out = send(client, transport, ("SET", "a", "1"), ("INCRBY", "a", "4"), ("GET", "a"), ("DEL", "a"))
    assert out == b"+OK\r\n:5\r\n$1\r\n5\r\n:1\r\n"
    assert [type(e) for b in sink.batches for e in b.effects] == [Assign, Incr, Delete]
    assert [b.first_seq for b in sink.batches] == [1, 2, 3]
    assert all(b.origin == "r1" for b in sink.batches)


def test_reads_and_rejected_writes_ship_nothing(env: Any) -> None:
    server, sink, client, transport = env
    send(client, transport, ("GET", "x"), ("SET", "s", "abc"))
    sink.batches.clear()
    out = send(client, transport, ("INCR", "s"), ("SET", "s", "v", "NX"), ("EXISTS", "s"))
    assert out == b"-ERR value is not an integer or out of range\r\n$-1\r\n:1\r\n"
    assert sink.batches == []


def test_transaction_is_one_atomic_batch(env: Any) -> None:
    server, sink, client, transport = env
    out = send(client, transport, ("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("SADD", "s", "x"), ("EXEC",))
    assert out.endswith(b"*3\r\n+OK\r\n:2\r\n:1\r\n")
    assert len(sink.batches) == 1
    batch = sink.batches[0]
    assert len(batch.effects) == 3
    assert decode_batch(encode_batch(batch)) == batch


def test_batches_replay_to_the_same_state(env: Any) -> None:
    """What the sink receives is enough to rebuild the region's state elsewhere."""
    from crdt.digest import keyspace_digest
    from crdt.keyspace import Keyspace

    server, sink, client, transport = env
    send(client, transport, ("SET", "a", "1"), ("INCRBYFLOAT", "a", "1.5"), ("SADD", "s", "x", "y"),
         ("SREM", "s", "x"), ("HSET", "h", "f", "v"), ("HINCRBY", "h", "n", "3"), ("EXPIRE", "a", "100"),
         ("RENAME", "s", "s2"))
    replica = Keyspace("r2")
    replica.expect_peers()
    replica.now_ms = server.ks.now_ms
    for batch in sink.batches:
        assert replica.ready(batch)
        replica.apply_batch(decode_batch(encode_batch(batch)))
    assert keyspace_digest(replica) == keyspace_digest(server.ks)


def test_protocol_error_replies_then_closes(env: Any) -> None:
    server, sink, client, transport = env
    client.data_received(b"*1\r\n$4\r\nPING\r\n*x\r\n")
    assert bytes(transport.written) == b"+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n"
    assert transport.closed
