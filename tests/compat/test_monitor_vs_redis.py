"""MONITOR against redis-server 7.0.15: the lines a monitoring connection receives for the
commands of another connection (RESP2 and RESP3) — quoting, redaction of AUTH/HELLO, the
database after SELECT, MULTI/EXEC order, what is not shown (admin commands, rejected commands)
— compared with the timestamp and the client's port taken out (checked by format instead)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from server.harness.processes import ServerProcess
from tests.conftest import Differential
from tests.respclient import RespConnection

LINE = re.compile(rb"^(\d{10,})\.(\d{6}) \[(\d+) 127\.0\.0\.1:(\d+)\] (.*)$", re.S)


@pytest.fixture
def monitors(redis_ref: ServerProcess, activekv: ServerProcess) -> Iterator[list[RespConnection]]:
    conns = [RespConnection(redis_ref.port, timeout=5.0), RespConnection(activekv.port, timeout=5.0)]
    for conn in conns:
        assert conn.call("MONITOR").value == "OK"
    yield conns
    for conn in conns:
        conn.close()


def _normalized(conn: RespConnection) -> tuple[bytes, bytes]:
    reply = conn.read_reply()
    assert reply.type == "+", reply
    m = LINE.match(reply.value.encode("utf-8", "surrogateescape") if isinstance(reply.value, str) else reply.value)
    assert m is not None, reply
    return m.group(3), m.group(5)


def _sequence(diff: Differential, monitors: list[RespConnection], *commands: tuple[Any, ...]) -> None:
    for cmd in commands:
        diff.both(*cmd)
    diff.both("ECHO", "marker")
    ref: list[tuple[bytes, bytes]] = []
    ours: list[tuple[bytes, bytes]] = []
    for conn, out in zip(monitors, (ref, ours), strict=True):
        for _ in range(200):
            line = _normalized(conn)
            out.append(line)
            if line[1] == b'"ECHO" "marker"':
                break
    assert ours == ref, f"RESP{diff.protocol}:\n  redis:    {ref!r}\n  activekv: {ours!r}"


def test_lines(diff: Differential, monitors: list[RespConnection]) -> None:
    _sequence(
        diff, monitors,
        ("SET", "a", 'b c"\n\x01\t\\é'), ("get", "a"), ("AUTH", "x"), ("AUTH", "u", "p"),
        ("HELLO", str(diff.protocol), "AUTH", "default", "secret"), ("HELLO", str(diff.protocol), "SETNAME", "n"),
        ("SELECT", "2"), ("GET", "zz"), ("SELECT", "0"), ("NOSUCH", "x"), ("GET",),
        ("CONFIG", "GET", "port"), ("CLIENT", "LIST"), ("CLIENT", "GETNAME"),
        ("MULTI",), ("SET", "q", "1"), ("INCR", "q"), ("EXEC",), ("PING",), ("PUBLISH", "c", "m"),
        ("SET", "", ""),
    )


def test_format_and_second_monitor(monitors: list[RespConnection], redis_ref: ServerProcess, activekv: ServerProcess) -> None:
    for conn, port in zip(monitors, (redis_ref.port, activekv.port), strict=True):
        other = RespConnection(port, timeout=5.0)
        try:
            own_port = other.sock.getsockname()[1]
            other.call("PING")
            reply = conn.read_reply()
            m = LINE.match(reply.value.encode())
            assert m is not None and int(m.group(4)) == own_port
            assert m.group(5) == b'"PING"'
        finally:
            other.close()
        # A second MONITOR has no reply; RESET ends MONITOR mode.
        conn.send_raw(b"*1\r\n$7\r\nMONITOR\r\n*1\r\n$5\r\nRESET\r\n")
        assert conn.read_reply().value == "RESET"
        other = RespConnection(port, timeout=5.0)
        other.call("PING")
        other.close()
        assert conn.call("ECHO", "no-monitor-line-first").value == b"no-monitor-line-first"
