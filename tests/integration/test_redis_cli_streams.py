"""The real ``redis-cli`` in its streaming modes against activekv: ``redis-cli monitor`` prints
every command of another client in Redis's format, and ``redis-cli subscribe`` prints the
messages published. Each redis-cli is stopped at the end; every read is bounded."""

from __future__ import annotations

import re
import select
import subprocess
import time
from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess
from tests.respclient import RespConnection


@pytest.fixture
def cli(activekv: ServerProcess) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _start(procs: list[subprocess.Popen[bytes]], port: int, *args: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["redis-cli", "-p", str(port), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    procs.append(proc)
    return proc


def _lines(proc: subprocess.Popen[bytes], n: int, timeout: float = 5.0) -> list[bytes]:
    assert proc.stdout is not None
    out: list[bytes] = []
    buf = b""
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.05)
        if ready:
            chunk = proc.stdout.read1(65536)  # type: ignore[attr-defined]
            if not chunk:
                break
            buf += chunk
            *done, buf = buf.split(b"\n")
            out.extend(done)
    assert len(out) >= n, f"redis-cli printed only {out!r}"
    return out[:n]


def _wait_clients(conn: RespConnection, flag: str) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        listing = conn.call("CLIENT", "LIST").value.decode()
        if any(f"flags={flag}" in line for line in listing.splitlines()):
            return
        time.sleep(0.02)
    raise AssertionError(f"no client with flags={flag}: {listing}")


def test_redis_cli_monitor(activekv: ServerProcess, cli: list[subprocess.Popen[bytes]]) -> None:
    proc = _start(cli, activekv.port, "monitor")
    assert _lines(proc, 1) == [b"OK"]
    conn = RespConnection(activekv.port, timeout=5.0)
    try:
        _wait_clients(conn, "O")
        conn.call("SET", "cli-key", "a b")
        conn.call("AUTH", "secret")
        lines = _lines(proc, 2)  # CLIENT LIST (admin) is not shown
    finally:
        conn.close()
    pattern = rb'^\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] '
    assert re.match(pattern + rb'"SET" "cli-key" "a b"$', lines[0]), lines
    assert re.match(pattern + rb'"AUTH" "\(redacted\)"$', lines[1]), lines


def test_redis_cli_subscribe(activekv: ServerProcess, cli: list[subprocess.Popen[bytes]]) -> None:
    proc = _start(cli, activekv.port, "subscribe", "cli-channel")
    assert _lines(proc, 3) == [b"subscribe", b"cli-channel", b"1"]
    conn = RespConnection(activekv.port, timeout=5.0)
    try:
        _wait_clients(conn, "P")
        assert conn.call("PUBLISH", "cli-channel", "hello there").value == 1
        assert _lines(proc, 3) == [b"message", b"cli-channel", b"hello there"]
    finally:
        conn.close()
