"""The busy-script poll (server/scripting/busy.py) in-process, over real socket pairs: what a
client sent while a script is busy gets -BUSY, allowed commands run, the script's own caller
and a connection handed over to a peer link are never read."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from server.connection import Client
from server.harness.mocktransport import MockTransport
from server.scripting import busy
from server.scripting.engine import ScriptRun, engine
from tests.inprocess import connect, start_server
from tests.respclient import encode_command


class Wired:
    """A client whose socket is one end of a socketpair (the test writes to the other)."""

    def __init__(self, client: Client, transport: MockTransport) -> None:
        self.client, self.transport = client, transport
        self.ours, self.theirs = socket.socketpair()
        self.ours.setblocking(False)
        client.fd = self.ours.fileno()

    def send(self, *cmd: object) -> None:
        self.theirs.sendall(encode_command(cmd))

    def unread(self) -> bytes:
        try:
            return self.ours.recv(1 << 16)
        except BlockingIOError:
            return b""

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()


@pytest.fixture
def wired() -> Iterator[tuple[object, list[Wired]]]:
    server = start_server()[0]
    ends = [Wired(*connect(server)) for _ in range(3)]
    transport = ends[0].transport
    transport.protocol = ends[0].client  # still a client
    ends[1].transport.protocol = ends[1].client
    ends[2].transport.protocol = object()  # handed over (CRDT.SYNC): a peer link now
    yield server, ends
    for end in ends:
        end.close()


def test_busy_poll_answers_clients_and_leaves_the_caller_and_peer_links_alone(
        wired: tuple[object, list[Wired]]) -> None:
    server, (caller, other, peer_link) = wired
    eng = engine(server)  # type: ignore[arg-type]
    run = ScriptRun(caller.client, "sha", eval_mode=True, read_only=False)
    run.busy = True
    caller.send("GET", "k")
    other.send("GET", "k")
    other.send("SCRIPT", "KILL")
    peer_link.send("PING")
    eng.running = run
    try:
        busy.serve_others(server, eng, run)  # type: ignore[arg-type]
    finally:
        eng.running = None
    assert bytes(other.transport.written) == b"-%s\r\n+OK\r\n" % busy.BUSY_EVAL.encode()
    assert run.killed
    assert caller.unread() == encode_command(("GET", "k"))  # the caller waits for its reply
    assert peer_link.unread() == encode_command(("PING",))  # replication bytes stay unread
    assert bytes(peer_link.transport.written) == b""
