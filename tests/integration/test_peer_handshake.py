"""CRDT.SYNC, the peer-link handshake, against a real server process: arguments that cannot
start a link get a clear error reply, and the connection stays an ordinary client connection
(a bounded RESP fuzz once found a non-UTF-8 region name that raised and dropped it)."""

from __future__ import annotations

from collections.abc import Iterator

import msgpack
import pytest

from replication.wire import WIRE_VERSION, pack_vv
from server.harness.processes import ServerProcess, start_activekv
from tests.respclient import RespConnection

V = str(WIRE_VERSION)
EMPTY_VV = pack_vv({})

# (CRDT.SYNC arguments after the command name, what the error must say)
REFUSED: list[tuple[tuple[bytes | str, ...], str]] = [
    ((V, b"\xff\xfe", "abcd", "1", EMPTY_VV, "log"), "ERR invalid region name"),
    ((V, b"caf\xc3", "abcd", "1", EMPTY_VV), "ERR invalid region name"),
    ((V, "", "abcd", "1", EMPTY_VV, "log"), "ERR invalid region name"),
    ((V, "two words", "abcd", "1", EMPTY_VV, "log"), "ERR invalid region name"),
    ((V, "line\r\nbreak", "abcd", "1", EMPTY_VV, "log"), "ERR invalid region name"),
    ((V, "a/b", "abcd", "1", EMPTY_VV, "log"), "ERR invalid region name"),
    ((V, "peer", b"\x80\x81", "1", EMPTY_VV, "log"), "ERR invalid instance id"),
    ((V, "peer", "", "1", EMPTY_VV, "log"), "ERR invalid instance id"),
    ((V, "peer", "abcd", "1", b"\xc1", "log"), "CRDTERR malformed version vector"),
    ((V, "peer", "abcd", "1", msgpack.packb({"a/1": -1}), "log"), "CRDTERR malformed version vector"),
    ((V, "peer", "abcd", "1", msgpack.packb([1, 2]), "log"), "CRDTERR malformed version vector"),
    ((V, "peer", "abcd", "1", msgpack.packb({b"\xff": 1}), "log"), "CRDTERR malformed version vector"),
    ((V, "peer", "abcd", "1", EMPTY_VV, "sometimes"), "ERR unknown sync mode"),
    ((V, "peer", "abcd", "1", EMPTY_VV, b"\xff"), "ERR unknown sync mode"),
    (("one", "peer", "abcd", "1", EMPTY_VV, "log"), "ERR value is not an integer or out of range"),
    ((V, "peer", "abcd", "1.5", EMPTY_VV, "log"), "ERR value is not an integer or out of range"),
    ((V, "peer", "abcd", "1", EMPTY_VV, "log", "extra"), "ERR syntax error"),
]


@pytest.fixture(scope="module")
def srv() -> Iterator[ServerProcess]:
    with start_activekv() as proc:
        yield proc


@pytest.mark.parametrize(("args", "message"), REFUSED, ids=[repr(a)[:60] for a, _ in REFUSED])
def test_crdt_sync_with_bad_arguments_is_refused_with_a_clear_error(
    srv: ServerProcess, args: tuple[bytes | str, ...], message: str
) -> None:
    conn = RespConnection(srv.port)
    try:
        reply = conn.call("CRDT.SYNC", *args)
        assert reply.type == "-", reply
        assert reply.value.startswith(message), reply
        # still an ordinary client connection, answering commands
        assert conn.call("PING").value == "PONG"
        assert conn.call("ECHO", "after").value == b"after"
    finally:
        conn.close()


def test_refused_handshakes_leave_the_server_without_peers(srv: ServerProcess) -> None:
    conn = RespConnection(srv.port)
    try:
        conn.call("CRDT.SYNC", V, b"\xff", "abcd", "1", EMPTY_VV, "log")
        assert conn.call("CRDT.PEERS").value == []
    finally:
        conn.close()
