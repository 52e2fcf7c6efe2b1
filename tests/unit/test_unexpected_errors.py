"""A handler that raises something other than an ``Error`` reply (a bug of ours) never drops
the connection: the client gets one line of ``-ERR``, the server logs one warning with the
traceback and counts it in INFO stats (``unexpected_errors``)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from server.app import Server
from server.connection import Client
from tests.inprocess import Env, MockTransport, send, start_server


@pytest.fixture
def env() -> Env:
    return start_server()


def break_command(server: Server, name: bytes, exc: Exception) -> None:
    """Make ``name``'s handler raise ``exc`` after doing its work (effects applied)."""
    cmd = server.table[name]
    real = cmd.handler
    assert real is not None

    def broken(c: Client, argv: list[bytes]) -> Any:
        real(c, argv)
        raise exc

    cmd.handler = broken


def unexpected_errors(client: Client, transport: MockTransport) -> int:
    info = send(client, transport, ("INFO", "stats")).decode()
    fields = dict(line.split(":", 1) for line in info.split("\r\n")[1:] if ":" in line)
    return int(fields["unexpected_errors"])


def test_handler_exception_replies_err_and_the_connection_carries_on(
    env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server, sink, client, transport = env
    assert unexpected_errors(client, transport) == 0
    break_command(server, b"set", RuntimeError("boom\r\nsecond line"))
    with caplog.at_level(logging.WARNING, logger="activekv"):
        out = send(client, transport, ("SET", "k", "v"), ("PING",), ("GET", "k"))
    assert out == (
        b"-ERR unexpected error in 'set': RuntimeError: boom  second line\r\n"
        b"+PONG\r\n$1\r\nv\r\n"
    )
    assert not transport.closed and not client.closing
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "'set'" in warnings[0].getMessage() and warnings[0].exc_info is not None
    assert warnings[0].exc_info[0] is RuntimeError
    assert unexpected_errors(client, transport) == 1
    # The effect applied before the exception is shipped like any other write.
    assert len(sink.batches) == 1
    errorstats = send(client, transport, ("INFO", "errorstats"))
    assert b"errorstat_ERR:count=1" in errorstats


def test_handler_exception_inside_exec(env: Any) -> None:
    server, sink, client, transport = env
    break_command(server, b"incr", ZeroDivisionError("division by zero"))
    out = send(client, transport, ("MULTI",), ("INCR", "n"), ("INCR", "n"), ("EXEC",), ("GET", "n"))
    assert out == (
        b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n"
        b"-ERR unexpected error in 'incr': ZeroDivisionError: division by zero\r\n"
        b"-ERR unexpected error in 'incr': ZeroDivisionError: division by zero\r\n"
        b"$1\r\n2\r\n"
    )
    assert not transport.closed
    assert unexpected_errors(client, transport) == 2


def test_long_exception_text_is_cut(env: Any) -> None:
    server, sink, client, transport = env
    break_command(server, b"ping", ValueError("x" * 5000))
    out = send(client, transport, ("PING",))
    assert out.startswith(b"-ERR unexpected error in 'ping': ValueError: xxx")
    assert out.endswith(b"...\r\n") and len(out) < 300 and out.count(b"\r\n") == 1


def test_exception_without_text_names_its_type(env: Any) -> None:
    server, sink, client, transport = env
    break_command(server, b"ping", AssertionError())
    assert send(client, transport, ("PING",), ("ECHO", "x")) == (
        b"-ERR unexpected error in 'ping': AssertionError\r\n$1\r\nx\r\n"
    )
