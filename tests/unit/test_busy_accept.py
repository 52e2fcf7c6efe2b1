"""Accepting clients during a busy script (server/scripting/busy_accept.py) in-process, over
real loopback sockets: a connection waiting on a listener is accepted and served by the busy
poll, and the connection rules of any client apply to it (protected mode, maxclients)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from server import protected
from server.connection import Client
from server.scripting import busy, busy_accept, standin
from server.scripting.engine import ScriptRun, engine
from tests.inprocess import start_server
from tests.respclient import encode_command


def _recv_all(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def listening() -> Iterator[tuple[Any, socket.socket]]:
    server = start_server()[0]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    server._servers = [SimpleNamespace(sockets=[listener])]
    yield server, listener
    listener.close()


def test_a_waiting_connection_is_accepted_and_answered_busy(listening: tuple[Any, socket.socket]) -> None:
    server, listener = listening
    caller = Client(server)
    before = set(server.clients)
    peer = socket.create_connection(listener.getsockname(), timeout=5)
    try:
        peer.sendall(encode_command(("GET", "k")) + encode_command(("PING",)))
        eng = engine(server)
        run = ScriptRun(caller, "sha", eval_mode=True, read_only=False)
        run.busy = True
        eng.running = run
        try:
            for _ in range(50):  # bounded: the bytes are on loopback already
                busy.serve_others(server, eng, run)
                if len(server.clients) > len(before):
                    break
        finally:
            eng.running = None
        new = [c for cid, c in server.clients.items() if cid not in before]
        assert len(new) == 1 and isinstance(new[0].transport, standin.StandIn)
        expected = b"-%s\r\n" % busy.BUSY_EVAL.encode() * 2
        assert _recv_all(peer, len(expected)) == expected
    finally:
        peer.close()
        busy_accept._PENDING.pop(server, None)


def _stand_in_client(server: Any, peername: Any) -> tuple[Client, standin.StandIn, socket.socket]:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    client = Client(server)
    stand_in = standin.StandIn(ours, client)
    stand_in._extra["peername"] = peername
    client.connection_made(stand_in)  # type: ignore[arg-type]
    return client, stand_in, theirs


def test_protected_mode_denies_a_remote_client_accepted_during_the_script() -> None:
    server = start_server()[0]
    client, stand_in, theirs = _stand_in_client(server, ("10.1.2.3", 5555))
    try:
        assert _recv_all(theirs, len(protected.DENIED)) == protected.DENIED
        assert stand_in.closed and client.id not in server.clients
    finally:
        theirs.close()
    client, stand_in, theirs = _stand_in_client(server, ("127.0.0.1", 5555))
    try:
        assert not stand_in.closed and server.clients.get(client.id) is client
    finally:
        stand_in.close()
        theirs.close()


def test_maxclients_refuses_a_client_accepted_during_the_script() -> None:
    server = start_server()[0]
    server.config.maxclients = len(server.clients)
    client, stand_in, theirs = _stand_in_client(server, ("127.0.0.1", 5555))
    try:
        assert theirs.recv(256) == b"-ERR max number of clients reached\r\n"
        assert stand_in.closed and client.id not in server.clients
    finally:
        theirs.close()


def test_unsent_output_goes_out_first_on_the_loops_transport() -> None:
    server = start_server()[0]
    client, stand_in, theirs = _stand_in_client(server, ("127.0.0.1", 5555))
    try:
        stand_in.pending += b"+early\r\n"  # what the socket could not take yet

        class Real:
            written = bytearray()

            def write(self, data: bytes) -> None:
                self.written += data

        real = Real()
        client.connection_made(real)  # type: ignore[arg-type]
        assert client.transport is real and bytes(real.written) == b"+early\r\n"
        assert stand_in.handed_over and server.clients.get(client.id) is client
    finally:
        stand_in.sock.close()
        theirs.close()


def test_a_connection_closed_during_the_script_leaves_the_others_served(
        listening: tuple[Any, socket.socket]) -> None:
    """Inside a running loop, as in the server: a stand-in closed by its transport (as a TLS
    error or close_notify does) gets connection_lost only once the script is over, but its
    descriptor is closed already and must not be polled."""
    server, listener = listening

    async def script_is_busy() -> None:  # never awaits: the loop is blocked, as in a script
        caller = Client(server)
        eng = engine(server)
        run = ScriptRun(caller, "sha", eval_mode=True, read_only=False)
        run.busy = True
        first = socket.create_connection(listener.getsockname(), timeout=5)
        second = socket.create_connection(listener.getsockname(), timeout=5)
        eng.running = run
        try:
            for _ in range(50):  # bounded: both are on loopback already
                busy.serve_others(server, eng, run)
                if len(busy_accept._PENDING.get(server, [])) == 2:
                    break
            busy_accept._PENDING[server][0].close()
            assert first.recv(64) == b""
            second.sendall(encode_command(("GET", "k")))
            second.settimeout(0.01)
            got = b""
            expected = b"-%s\r\n" % busy.BUSY_EVAL.encode()
            for _ in range(200):
                busy.serve_others(server, eng, run)
                try:
                    got += second.recv(len(expected))
                except TimeoutError:
                    continue
                if len(got) >= len(expected):
                    break
            assert got == expected
        finally:
            eng.running = None
            first.close()
            second.close()
            busy_accept._PENDING.pop(server, None)

    asyncio.run(script_is_busy())
