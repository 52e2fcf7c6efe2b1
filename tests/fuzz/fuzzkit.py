"""What the fuzzers share: seeds and bounds, a strict raw connection, and the server checks.

Bounds: each fuzzer runs a fixed number of cases within a time budget, both scaled by the
``FUZZ_SCALE`` environment variable (default 1: the whole fuzz suite stays well under a minute
in ``make test``; ``FUZZ_SCALE=50`` for a long local run). ``FUZZ_SEED`` fixes the seed; by
default each run draws a new one, and every failure message starts with ``FUZZ_SEED=<n>`` so
the run can be replayed exactly.
"""

from __future__ import annotations

import os
import random
import re
import socket
import time
from typing import Any

from server.harness.processes import ServerProcess
from tests.fuzz.strictresp import BadReply, Incomplete, Value, parse

SCALE = float(os.environ.get("FUZZ_SCALE", "1"))


def seed() -> int:
    env = os.environ.get("FUZZ_SEED")
    return int(env) if env else random.SystemRandom().randrange(2**32)


def count(n: int) -> int:
    return max(1, int(n * SCALE))


def budget(seconds: float) -> float:
    """A deadline (monotonic) ``seconds * FUZZ_SCALE`` from now."""
    return time.monotonic() + seconds * SCALE


def encode(args: list[bytes] | tuple[Any, ...]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        data = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class Closed(Exception):
    """The server closed the connection."""


class StrictConn:
    """A raw connection whose every reply is parsed strictly (``strictresp``)."""

    def __init__(self, port: int, resp3: bool = False, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.resp3 = False
        self.timeout = timeout
        if resp3:
            self.resp3 = True  # HELLO 3's own reply is RESP3
            reply = self.call(b"HELLO", b"3")
            assert reply.type == "%", reply

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def call(self, *args: Any) -> Value:
        self.send(encode(args))
        return self.reply()

    def reply(self, timeout: float | None = None) -> Value:
        """The next reply (pushes are returned too, as type ``>``).

        A long reply arrives in many reads: it is parsed again only once the buffer has grown
        4 times since the last incomplete parse, or 1.5 times and the server paused (20 ms
        without bytes), or it paused twice, so that reading it stays linear (parsing after
        every read made the 2 MB reply of HRANDFIELD k -100000 WITHVALUES take longer than
        the 5 s timeout, from redis-server too)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        tried = -1  # the buffer's length at the last incomplete parse
        paused = 0  # reads in a row that timed out (20 ms each) while bytes were unparsed
        closed = False
        while True:
            size = len(self.buf)
            if size > tried and (size >= 4 * tried or (paused and size >= 1.5 * tried) or paused > 1):
                try:
                    value, pos = parse(self.buf, 0, self.resp3)
                    self.buf = self.buf[pos:]
                    return value
                except Incomplete:
                    tried = size
            if closed:
                raise Closed(f"closed with {self.buf[:200]!r} unparsed")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete reply; have {self.buf[:200]!r}")
            unparsed = len(self.buf) > tried
            self.sock.settimeout(min(left, 0.02) if unparsed else left)
            try:
                chunk = self.sock.recv(1 << 20)
            except TimeoutError:
                paused += 1
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                paused, closed = 2, True  # what came before the close is parsed first
                continue
            paused = 0
            self.buf += chunk


def read_until_close(sock: socket.socket, timeout: float, quiet: float = 0.25) -> tuple[bytes, bool]:
    """Everything the server sends until it closes (True), or, once it sent something, goes
    quiet for ``quiet`` seconds, or ``timeout`` passes."""
    out = b""
    deadline = time.monotonic() + timeout
    sock.settimeout(quiet)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            if out:
                break
            continue
        except ConnectionResetError:
            return out, True
        if not chunk:
            return out, True
        out += chunk
    return out, False


TRACEBACK = re.compile(r"Traceback \(most recent call last\)|Exception in callback|Fatal error|"
                       r"Unexpected error|Task exception was never retrieved")


def unexpected_errors(port: int, password: bytes | None = None) -> int:
    conn = StrictConn(port)
    try:
        if password is not None:
            assert conn.call(b"AUTH", password).value == b"OK"
        info = conn.call(b"INFO", b"stats")
    finally:
        conn.close()
    assert info.type == "$", info
    for line in info.value.decode().splitlines():
        if line.startswith("unexpected_errors:"):
            return int(line.split(":", 1)[1])
    raise AssertionError("INFO stats has no unexpected_errors")


def assert_healthy(proc: ServerProcess, context: str, password: bytes | None = None) -> None:
    """The server runs, answers PING, counted no unexpected handler error, logged no traceback."""
    assert proc.proc.poll() is None, f"{context}: the server exited with {proc.proc.returncode}\n{proc.log()[-3000:]}"
    conn = StrictConn(proc.port)
    try:
        if password is not None:
            assert conn.call(b"AUTH", password).value == b"OK"
        assert conn.call(b"PING") == Value("+", b"PONG"), context
    finally:
        conn.close()
    n = unexpected_errors(proc.port, password)
    log = proc.log()
    found = TRACEBACK.search(log)
    where = log[max(0, found.start() - 1500):found.start() + 3000] if found else ""
    assert n == 0 and found is None, f"{context}: unexpected_errors={n}\n{where}"


def assert_parses(data: bytes, resp3: bool, context: str) -> list[Value]:
    """``data`` is a sequence of complete, valid replies."""
    out: list[Value] = []
    pos = 0
    while pos < len(data):
        try:
            value, pos = parse(data, pos, resp3)
        except Incomplete:
            raise AssertionError(f"{context}: truncated reply {data[pos:pos + 200]!r}") from None
        except BadReply as exc:
            raise AssertionError(f"{context}: invalid RESP: {exc}") from None
        out.append(value)
    return out
