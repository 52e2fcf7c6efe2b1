"""The replica stream's handling of a database signalled as changed as a whole (key None): a
FLUSHDB/FLUSHALL leaves it empty, so only the flush goes out; a state merge's swap gives the
same signal with the database full, so the flush is followed by every key's state — or, past
RESEND_MAX keys, the replicas are dropped to resync in full."""

from __future__ import annotations

from typing import Any

import hiredis

from server.replicas import registry
from tests.inprocess import send, start_server


class StubLink:
    state = "online"
    ack_offset = 0

    def __init__(self) -> None:
        self.data = bytearray()
        self.dropped = False

    def feed(self, data: bytes) -> None:
        self.data += data

    def drop(self) -> None:
        self.dropped = True

    def commands(self) -> list[list[bytes]]:
        reader = hiredis.Reader()
        reader.feed(bytes(self.data))
        out: list[list[bytes]] = []
        while (cmd := reader.gets()) is not False:
            out.append(cmd)
        return out


def _env() -> tuple[Any, Any, Any, StubLink]:
    server, _sink, client, transport = start_server()
    link = StubLink()
    server.replicas.attach(link)
    return server, client, transport, link


def test_flushdb_sends_only_the_flush_and_later_writes() -> None:
    server, client, transport, link = _env()
    send(client, transport, ("SET", "a", "1"), ("FLUSHDB",), ("SET", "b", "2"))
    server.replicas.flush()
    names = [cmd[0] for cmd in link.commands()]
    assert names == [b"SELECT", b"FLUSHDB", b"RESTORE"]
    assert link.commands()[2][1] == b"b"


def test_a_database_changed_as_a_whole_is_resent() -> None:
    server, client, transport, link = _env()
    send(client, transport, ("SET", "a", "1"), ("RPUSH", "l", "x"))
    server.replicas.flush()
    link.data.clear()
    server.replicas.changed(0, None)  # what a state merge's swap signals
    server.replicas.flush()
    cmds = link.commands()
    assert cmds[0] == [b"FLUSHDB"]
    assert sorted(c[1] for c in cmds[1:]) == [b"a", b"l"] and all(c[0] == b"RESTORE" for c in cmds[1:])
    assert not link.dropped


def test_a_large_database_changed_as_a_whole_drops_the_replicas(monkeypatch: Any) -> None:
    server, client, transport, link = _env()
    monkeypatch.setattr(registry, "RESEND_MAX", 2)
    send(client, transport, ("MSET", "a", "1", "b", "2", "c", "3"))
    server.replicas.flush()
    link.data.clear()
    server.replicas.changed(-1, None)
    server.replicas.flush()
    assert link.dropped and not link.data
