"""RequestReader against a real redis-server: same protocol errors, same commands."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from server.reqparse import ProtocolError, RequestReader


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(*extra: str) -> Iterator[int]:
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    yield from _start()


@pytest.fixture(scope="module")
def redis_auth_port() -> Iterator[int]:
    yield from _start("--requirepass", "pw")


def talk(port: int, data: bytes, wait: float = 0.3) -> tuple[bytes, bool]:
    """Send data; return what Redis replied and whether it closed the connection."""
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(data)
        s.settimeout(wait)
        out = b""
        while True:
            try:
                d = s.recv(65536)
            except TimeoutError:
                return out, False
            except ConnectionResetError:
                return out, True
            if not d:
                return out, True
            out += d
    finally:
        s.close()


def ours(data: bytes, requires_auth: bool = False) -> tuple[list[list[bytes]], ProtocolError | None]:
    r = RequestReader()
    r.requires_auth = requires_auth
    try:
        return r.feed(data), None
    except ProtocolError as e:
        return e.commands, e


MALFORMED = [
    b"*x\r\n",
    b"*01\r\n",
    b"*+1\r\n",
    b"*-0\r\n",
    b"*2147483648\r\n",
    b"*" + b"9" * 20 + b"\r\n",
    b"*1\r\n$x\r\n",
    b"*1\r\n$-1\r\n",
    b"*1\r\n$01\r\nx\r\n",
    b"*1\r\n$+1\r\nx\r\n",
    b"*1\r\n$536870913\r\n",
    b"*1\r\n$2000000000\r\n",
    b"*1\r\n+PING\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n:5\r\n",
    b"*1\r\n*1\r\n$1\r\na\r\n",
    b"*1\r\n\r\n",
    b"*1\r\n\xff\r\n",
    b"x" * 70000,
    b"*" + b"1" * 70000,
    b"*1\r\n" + b"x" * 70000,
    b"*1\r" + b"x" * 70000,
    b"ECHO a\0b\r\n" + b"x" * 70000,
    b'ECHO "a"b\r\n',
    b'ECHO "a\r\n',
    b"ECHO 'a'b\r\n",
    b'ECHO """"\r\n',
    b'PING\r\n*1\r\n$4\r\nECHO\r\n*1\r\n$-3\r\n',
]


@pytest.mark.parametrize("data", MALFORMED, ids=lambda d: repr(d[:30]))
def test_same_protocol_error(redis_port: int, data: bytes) -> None:
    reply, closed = talk(redis_port, data)
    assert closed
    cmds, err = ours(data)
    assert err is not None
    # Redis replies to the commands before the error, then the error.
    assert reply.endswith(b"-" + err.message_bytes + b"\r\n")
    assert reply.count(b"\r\n") - 1 == len(cmds)


@pytest.mark.parametrize(
    "data",
    [b"*11\r\n", b"*10\r\n$16385\r\n", b"*1\r\n$-1\r\n", b"*11x\r\n", b"*1\r\n+x\r\n"],
    ids=repr,
)
def test_same_unauthenticated_error(redis_auth_port: int, data: bytes) -> None:
    reply, closed = talk(redis_auth_port, data)
    assert closed
    _, err = ours(data, requires_auth=True)
    assert err is not None
    assert reply == b"-" + err.message_bytes + b"\r\n"


WAITS = [  # Redis neither replies nor closes: we return nothing and raise nothing
    b"*2147483647\r\n",
    b"*1\r\n$536870912\r\n",
    b"x" * 65536,
    b"*1\r\n" + b"x" * 65536,
    b"ECHO a\0b\r\n",
    b"*1\0\r\n$4\r\nPING\r\n",
]


@pytest.mark.parametrize("data", WAITS, ids=lambda d: repr(d[:30]))
def test_same_incomplete(redis_port: int, data: bytes) -> None:
    assert talk(redis_port, data) == (b"", False)
    assert ours(data) == ([], None)


ECHO_LINES = [
    b"ECHO a",
    b"  ECHO   a\t  ",
    b'ECHO "a b"',
    b"ECHO 'a\\'b'",
    b'ECHO "\\x41\\x4g\\q\\n\\r\\t\\b\\a\\\\\\""',
    b'ECHO "\\xZZ"',
    b"ECHO '\\\"'",
    b"ECHO ''",
    b'ECHO x"a b"',
    b"ECHO a\vb",
    b'ECHO "a"\v',
    b'ECHO "a"\t',
    b"ECHO \xff\x80",
]


def _bulk(a: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(a), a)


@pytest.mark.parametrize("line", ECHO_LINES, ids=repr)
def test_same_inline_echo(redis_port: int, line: bytes) -> None:
    reply, closed = talk(redis_port, line + b"\r\n")
    assert not closed
    cmds, err = ours(line + b"\r\n")
    assert err is None and len(cmds) == 1 and cmds[0][0] == b"ECHO"
    assert reply == _bulk(cmds[0][1])


def test_same_commands_well_formed(redis_port: int) -> None:
    # Quirks Redis accepts: '\r' + any byte ends a header; bytes after bulk data skipped;
    # *0, negative counts and empty lines are no commands; '\n' alone ends an inline line.
    data = (
        b"*2\r\n$4\rXECHO\r\n$3\r\nabc\r\n"
        b"*1\rX$4\r\nPINGxy"
        b"*0\r\n*-1\r\n*-5\r\n\r\n   \r\n"
        b"ECHO one\nECHO two\r\r\n"
        b"*2\r\n$4\r\nECHO\r\n$6\r\na\r\nb\0c\r\n"
    )
    reply, closed = talk(redis_port, data)
    assert not closed
    cmds, err = ours(data)
    assert err is None
    expected = []
    for c in cmds:
        expected.append(b"+PONG\r\n" if c == [b"PING"] else _bulk(c[1]))
    assert reply == b"".join(expected)
    assert len(cmds) == 5
