"""Bad input end to end: malformed RESP, huge lengths, garbage floods. Each gets Redis's exact
answer (compared with a real redis-server), the offending connection is closed as Redis closes
it, and the server keeps serving everyone else."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from server.harness.processes import ServerProcess
from tests.respclient import RespConnection


def exchange(port: int, data: bytes, timeout: float = 5.0) -> tuple[bytes, bool]:
    """Send raw bytes; return everything the server answered and whether it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        closed = False
        deadline = time.monotonic() + timeout
        s.settimeout(0.3)
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                if out:
                    break
                continue
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            out += chunk
        return out, closed


MALFORMED = [
    b"*abc\r\n",
    b"*3\r\n$3\r\nSET\r\n$x\r\n",
    b"*1\r\n:5\r\n",
    b"*1\r\n*1\r\n$4\r\nPING\r\n",
    b"*2\r\n$4\r\nECHO\r\n$-5\r\n",
    b"*-5\r\n*1\r\n$4\r\nPING\r\n",
    b"*1\r\n$4\r\nPING\r\n*1\r\n$2000000000\r\n",
    b"*99999999999\r\n",
    b'SET a "unbalanced\r\n',
    b"PING\r\nECHO 'a' 'b\r\n",
    b"*1\r\n$4\r\nPINGxx\r\n",
]


@pytest.mark.parametrize("data", MALFORMED, ids=[repr(d)[:40] for d in MALFORMED])
def test_malformed_input_answered_like_redis(data: bytes, redis_ref: ServerProcess, activekv: ServerProcess) -> None:
    theirs = exchange(redis_ref.port, data)
    ours = exchange(activekv.port, data)
    assert ours == theirs


def test_huge_declared_bulk_is_refused_at_once(activekv: ServerProcess) -> None:
    start = time.monotonic()
    out, closed = exchange(activekv.port, b"*2\r\n$4\r\nECHO\r\n$600000000\r\nabc")
    assert out == b"-ERR Protocol error: invalid bulk length\r\n" and closed
    assert time.monotonic() - start < 3


def test_garbage_flood_does_not_disturb_other_clients(activekv: ServerProcess) -> None:
    """One client streams 64 MiB of an unfinished bulk string while another keeps working."""
    other = RespConnection(activekv.port)
    stop = threading.Event()

    def flood() -> None:
        try:
            with socket.create_connection(("127.0.0.1", activekv.port), timeout=10) as s:
                s.sendall(b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % (400 * 1024 * 1024))
                chunk = b"x" * (1024 * 1024)
                for _ in range(64):
                    if stop.is_set():
                        break
                    s.sendall(chunk)
        except OSError:
            pass

    t = threading.Thread(target=flood)
    t.start()
    try:
        for i in range(200):
            assert other.call("SET", "alive", i).value == "OK"
            assert other.call("GET", "alive").value == str(i).encode()
    finally:
        stop.set()
        t.join(30)
        other.close()


def test_binary_safe_values(activekv: ServerProcess) -> None:
    conn = RespConnection(activekv.port)
    try:
        payload = bytes(range(256)) * 4 + b"\r\n$5\r\n*1\r\n"
        assert conn.call("SET", b"bin\x00key", payload).value == "OK"
        assert conn.call("GET", b"bin\x00key").value == payload
    finally:
        conn.close()


def test_many_pipelined_commands_in_one_write(activekv: ServerProcess) -> None:
    conn = RespConnection(activekv.port)
    try:
        n = 5000
        conn.send_raw(b"".join(b"*2\r\n$4\r\nINCR\r\n$4\r\npipe\r\n" for _ in range(n)))
        replies = [conn.read_reply().value for _ in range(n)]
        assert replies[-1] - replies[0] == n - 1
    finally:
        conn.close()
