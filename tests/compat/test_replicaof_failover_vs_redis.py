"""REPLICAOF / SLAVEOF / FAILOVER against a real redis-server (``diff``, RESP2 and RESP3): the
replies and errors Redis defines for a primary without replicas are byte for byte Redis's;
REPLICAOF <host> <port> (which would turn Redis into a replica) is refused with activekv's own
error once Redis's port check passed; with a replica attached FAILOVER runs Redis's checks,
then is refused."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from server.commands.replicas import FAILOVER_REFUSED, REPLICAOF_REFUSED
from server.harness.processes import ServerProcess, start_activekv
from tests.conftest import Differential
from tests.respclient import RespConnection, encode_command

# Commands that leave a redis-server a primary (no REPLICAOF to a real address).
CASES = [
    ("REPLICAOF",), ("REPLICAOF", "a"), ("REPLICAOF", "a", "b", "c"), ("REPLICAOF", "no", "one"),
    ("REPLICAOF", "No", "ONE"), ("REPLICAOF", "a", "b"), ("REPLICAOF", "127.0.0.1", "x"),
    ("REPLICAOF", "127.0.0.1", "-1"), ("REPLICAOF", "127.0.0.1", "65536"),
    ("REPLICAOF", "127.0.0.1", "99999999999999999999"),
    ("SLAVEOF", "no", "one"), ("SLAVEOF", "x", "y"), ("SLAVEOF",),
    ("FAILOVER",), ("FAILOVER", "x"), ("FAILOVER", "TO", "127.0.0.1", "1"), ("FAILOVER", "TO", "127.0.0.1"),
    ("FAILOVER", "TO", "127.0.0.1", "x"), ("FAILOVER", "ABORT"), ("FAILOVER", "abort", "x"),
    ("FAILOVER", "TIMEOUT", "-1"), ("FAILOVER", "TIMEOUT", "0"), ("FAILOVER", "TIMEOUT", "x"),
    ("FAILOVER", "TIMEOUT", "10"), ("FAILOVER", "FORCE"), ("FAILOVER", "TIMEOUT", "10", "FORCE"),
    ("FAILOVER", "TO", "a", "1", "TO", "b", "2"), ("FAILOVER", "TIMEOUT", "1", "TIMEOUT", "2"),
    ("FAILOVER", "FORCE", "FORCE"), ("FAILOVER", "TIMEOUT"),
    ("MULTI",), ("REPLICAOF", "no", "one"), ("FAILOVER",), ("EXEC",),
    ("ROLE",),
]


def test_replies_match_redis(diff: Differential) -> None:
    for cmd in CASES:
        diff.check(*cmd)


@pytest.mark.parametrize("cmd", [("REPLICAOF", "127.0.0.1", "6379"), ("SLAVEOF", "localhost", "0"),
                                 ("replicaof", "no", "1")])
def test_a_region_refuses_to_become_a_replica(diff: Differential, cmd: tuple[str, ...]) -> None:
    reply = diff.ours.call(*cmd)
    assert reply.type == "-" and reply.value == REPLICAOF_REFUSED
    assert diff.ours.call("ROLE").plain()[0] == b"master"


@pytest.fixture
def region_with_replica() -> Iterator[tuple[ServerProcess, socket.socket]]:
    """A region and a replica of it that announced listening port 7777 and read its RDB."""
    with start_activekv() as region:
        sock = socket.create_connection(("127.0.0.1", region.port), timeout=10)
        for args in (("REPLCONF", "listening-port", "7777"), ("REPLCONF", "capa", "eof")):
            sock.sendall(encode_command(args))
            assert sock.recv(100) == b"+OK\r\n"
        sock.sendall(encode_command(("PSYNC", "?", "-1")))
        data = b""
        while data.count(b"\r\n") < 2:
            data += sock.recv(65536)
        assert data.startswith(b"+FULLRESYNC ")
        mark = data.split(b"$EOF:")[1][:40]
        while not data.endswith(mark):
            data += sock.recv(65536)
        yield region, sock
        sock.close()


def test_failover_with_a_replica(region_with_replica: tuple[ServerProcess, socket.socket]) -> None:
    region, _sock = region_with_replica
    conn = RespConnection(region.port)
    for cmd, message in [
        (("FAILOVER",), FAILOVER_REFUSED),
        (("FAILOVER", "FORCE"), "ERR FAILOVER with force option requires both a timeout and target HOST and IP."),
        (("FAILOVER", "TO", "127.0.0.1", "7777", "FORCE"),
         "ERR FAILOVER with force option requires both a timeout and target HOST and IP."),
        (("FAILOVER", "TO", "127.0.0.1", "7778"), "ERR FAILOVER target HOST and PORT is not a replica."),
        (("FAILOVER", "TO", "127.0.0.1", "7777", "TIMEOUT", "100", "FORCE"), FAILOVER_REFUSED),
        (("FAILOVER", "ABORT"), "ERR No failover in progress."),
    ]:
        reply = conn.call(*cmd)
        assert reply == ("-", message), (cmd, reply)
    assert conn.call("REPLICAOF", "no", "one").plain() == "OK"
    conn.close()
