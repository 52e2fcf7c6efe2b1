"""Clients that connect while a script is busy, against activekv and a real redis-server side by
side (same steps, same replies): Redis accepts them during the script
(processEventsWhileBlocked) and answers -BUSY, serves SCRIPT KILL / HELLO from them, applies
maxclients, and once the script ends they are ordinary connections (bytes they sent during the
script and that did not yet make a whole command are kept)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from server.harness.processes import ServerProcess, start_activekv, start_redis
from tests.integration.test_scripting_busy import (
    LOOP,
    THRESHOLD_MS,
    Background,
    _client,
    _wait_busy,
)
from tests.respclient import RespConnection

redis = pytest.importorskip("redis")
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

BUSY = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
BUSY_FUNCTION = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."


@pytest.fixture(scope="module", params=["redis", "activekv"])
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    start = start_redis if request.param == "redis" else start_activekv
    with start() as proc:
        yield proc


@pytest.fixture(params=["redis", "activekv"])
def fresh_server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """A server of its own: the test counts the connections."""
    start = start_redis if request.param == "redis" else start_activekv
    with start() as proc:
        yield proc


def _busy_script(port: int, script: str = LOOP) -> tuple[Any, Background]:
    admin = _client(port)
    admin.config_set("busy-reply-threshold", THRESHOLD_MS)
    bg = Background(port, script)
    _wait_busy(admin)
    return admin, bg


def _killed(bg: Background) -> None:
    result = bg.join()
    assert isinstance(result, redis.exceptions.ResponseError)
    assert str(result).startswith("Script killed by user with SCRIPT KILL...")


def test_new_redis_py_connection_gets_busy_kills_the_script_then_works(server: ServerProcess) -> None:
    admin, bg = _busy_script(server.port)
    new = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=10,
                      retry=Retry(NoBackoff(), 0), single_connection_client=True)
    with pytest.raises(redis.exceptions.ResponseError, match="^" + BUSY.replace(".", r"\.") + "$"):
        new.get("k")
    sock = new.connection._sock
    local_port = sock.getsockname()[1]
    assert new.execute_command("SCRIPT", "KILL") in (b"OK", True)
    _killed(bg)
    # The same socket, now an ordinary connection.
    assert new.set("k", "v") is True and new.get("k") == b"v"
    assert new.connection._sock is sock
    assert any(c["addr"] == f"127.0.0.1:{local_port}" for c in admin.client_list())
    new.close()


def _read_error(conn: RespConnection) -> str:
    reply = conn.read_reply()
    assert reply.type == "-", reply
    return str(reply.value)


def test_bytes_read_during_the_script_are_kept_and_hello_is_served(server: ServerProcess) -> None:
    _, bg = _busy_script(server.port)
    raw = RespConnection(server.port, timeout=10.0)
    hello = raw.call("HELLO", "3")
    assert hello.type == "%"
    # A whole command and the start of another in one write: the first is answered now.
    raw.send_raw(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n$4\r\nECHO\r\n$2\r\nh")
    assert _read_error(raw) == BUSY
    killer = RespConnection(server.port, timeout=10.0)
    assert killer.call("SCRIPT", "KILL").value == "OK"
    _killed(bg)
    raw.send_raw(b"i\r\n")
    assert raw.read_reply().value == b"hi"
    assert raw.call("PING").value == "PONG"
    for conn in (raw, killer):
        conn.close()


def test_function_kill_from_a_new_connection(server: ServerProcess) -> None:
    admin = _client(server.port)
    admin.function_load("#!lua name=spin\nredis.register_function('spin', function() "
                        "local i = 0 while true do i = i + 1 end end)", replace=True)
    admin.config_set("busy-reply-threshold", THRESHOLD_MS)
    caller = _client(server.port)
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(caller.fcall("spin", 0))
        except Exception as exc:
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    _wait_busy(admin)
    new = RespConnection(server.port, timeout=10.0)
    assert new.call("GET", "k").value == BUSY_FUNCTION
    assert new.call("SCRIPT", "KILL").value == "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
    assert new.call("FUNCTION", "KILL").value == "OK"
    thread.join(10)
    assert not thread.is_alive()
    assert str(result[0]) == "Script killed by user with SCRIPT KILL... script: spin, on @user_function:2."
    assert new.call("FCALL", "nosuch", "0").value == "ERR Function not found"
    new.close()


def test_maxclients_applies_to_connections_during_the_script(fresh_server: ServerProcess) -> None:
    server = fresh_server
    admin = _client(server.port)
    admin.config_set("busy-reply-threshold", THRESHOLD_MS)
    killer = RespConnection(server.port, timeout=10.0)
    admin.config_set("maxclients", 3)  # admin, killer and the script's connection
    bg = Background(server.port, LOOP)
    _wait_busy(admin)
    refused = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    data = b""
    deadline = time.monotonic() + 5
    while not data.endswith(b"\r\n") and time.monotonic() < deadline:
        chunk = refused.recv(256)
        if not chunk:
            break
        data += chunk
    assert data == b"-ERR max number of clients reached\r\n"
    refused.close()
    assert killer.call("SCRIPT", "KILL").value == "OK"
    _killed(bg)
    admin.config_set("maxclients", 10000)
    killer.close()
