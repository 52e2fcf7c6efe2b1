"""SYNC / PSYNC / REPLCONF against a real redis-server: ``redis-cli --rdb`` and ``redis-cli
--functions-rdb`` of a region give files that load in redis-server with the content the same
tools give for a redis-server holding the same data (both forms of transfer: EOF-marked and
bulk); a large snapshot is sent in slices without stalling other clients, as the socket drains;
REPLCONF's, SYNC's and PSYNC's replies and errors are Redis's."""

from __future__ import annotations

import os
import socket
import tempfile
import time
from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess, start_activekv, start_redis
from tests.compat import rdbkit
from tests.respclient import RespConnection


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with start_redis("--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes") as ref, \
            start_activekv("--enable-debug-command", "yes") as ours:
        yield ref, ours


@pytest.fixture
def conns(pair: tuple[ServerProcess, ServerProcess]) -> Iterator[tuple[RespConnection, RespConnection]]:
    ref, ours = (RespConnection(p.port) for p in pair)
    for conn in (ref, ours):
        conn.call("FLUSHALL")
        conn.call("FUNCTION", "FLUSH")
        conn.call("CONFIG", "SET", "repl-diskless-sync", "yes")
    yield ref, ours
    ref.close()
    ours.close()


def _fill(*conns: RespConnection) -> None:
    for cmd in rdbkit.writes():
        for conn in conns:
            assert conn.call(*cmd).type != "-", cmd


def _loaded(path: str) -> ServerProcess:
    rdbkit.check_rdb(path)
    return start_redis(*rdbkit.redis_args_for(path))


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_redis_cli_rdb_matches_redis(pair: tuple[ServerProcess, ServerProcess],
                                     conns: tuple[RespConnection, RespConnection], diskless: str) -> None:
    ref, ours = conns
    _fill(ref, ours)
    for conn in conns:
        assert conn.call("CONFIG", "SET", "repl-diskless-sync", diskless).plain() == "OK"
    tmp = tempfile.mkdtemp(prefix="rdb-sync-")
    paths = [os.path.join(tmp, "ref.rdb"), os.path.join(tmp, "ours.rdb")]
    for proc, path in zip(pair, paths, strict=True):
        log = rdbkit.fetch_rdb(proc.port, path)
        form = "until EOF marker" if diskless == "yes" else f"writing {os.path.getsize(path)} bytes"
        assert form in log, log
    with _loaded(paths[0]) as from_ref, _loaded(paths[1]) as from_ours:
        loaded_ref, loaded_ours = RespConnection(from_ref.port), RespConnection(from_ours.port)
        # what we sent is what we hold, exactly; and what Redis's own file holds
        assert rdbkit.assert_same_data(rdbkit.plain_call(ours), loaded_ours) == 19
        assert rdbkit.assert_same_data(rdbkit.plain_call(loaded_ref), loaded_ours, ttl_tolerance=5000) == 19
        loaded_ref.close()
        loaded_ours.close()
    assert ours.call("PING").plain() == "PONG"  # the region serves on


def test_redis_cli_functions_rdb_matches_redis(pair: tuple[ServerProcess, ServerProcess],
                                               conns: tuple[RespConnection, RespConnection]) -> None:
    _fill(*conns)
    tmp = tempfile.mkdtemp(prefix="rdb-sync-")
    paths = [os.path.join(tmp, "ref-fn.rdb"), os.path.join(tmp, "ours-fn.rdb")]
    for proc, path in zip(pair, paths, strict=True):
        rdbkit.fetch_rdb(proc.port, path, functions_only=True)
    reports = [rdbkit.check_rdb(p) for p in paths]
    assert all("Selecting DB" not in r and "0 keys read" in r for r in reports), reports
    with _loaded(paths[0]) as from_ref, _loaded(paths[1]) as from_ours:
        a, b = RespConnection(from_ref.port), RespConnection(from_ours.port)
        assert a.call("DBSIZE").plain() == b.call("DBSIZE").plain() == 0
        assert a.call("FUNCTION", "LIST", "WITHCODE").plain() == b.call("FUNCTION", "LIST", "WITHCODE").plain()
        assert b.call("FCALL", "rdbf", "0").plain() == b"from rdb"
        a.close()
        b.close()


def _raw_sync(port: int, *replconf: tuple[str, ...]) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills soon when not read
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    for args in replconf:
        sock.sendall(b"*%d\r\n" % (len(args) + 1) + b"$8\r\nREPLCONF\r\n"
                     + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args))
        assert sock.recv(100) == b"+OK\r\n"
    sock.sendall(b"SYNC\r\n")
    return sock


def _read_rdb(sock: socket.socket, deadline: float) -> bytes:
    """The EOF-marked transfer after SYNC (leading keep-alive newlines skipped)."""
    buf = b""
    while b"\r\n" not in buf.lstrip(b"\n"):
        buf += sock.recv(65536)
    buf = buf.lstrip(b"\n")
    line, _, data = buf.partition(b"\r\n")
    assert line.startswith(b"$EOF:") and len(line) == 45, line
    mark = line[5:]
    got = bytearray(data)
    while got[-40:] != mark:
        assert time.monotonic() < deadline, "transfer did not finish in time"
        chunk = sock.recv(1 << 20)
        assert chunk, "connection closed before the EOF mark"
        got += chunk
    return bytes(got[:-40])


def test_large_snapshot_does_not_stall_others(pair: tuple[ServerProcess, ServerProcess],
                                              conns: tuple[RespConnection, RespConnection]) -> None:
    """A replica that reads nothing fills its socket: the transfer waits for it (flow control:
    the snapshot stays in progress, not piled up in memory) while every other client is
    answered at once; then the whole file arrives and loads."""
    ours = conns[1]
    assert ours.call("DEBUG", "POPULATE", "30000", "key", "32").plain() == "OK"
    blob = os.urandom(100_000)  # over LZF_MAX: saved raw, 12 MB in all, more than the sockets hold
    for i in range(120):
        ours.call("SET", f"blob:{i}", blob[i:] + blob[:i])
    sock = _raw_sync(pair[1].port, ("capa", "eof"), ("rdb-only", "1"))
    time.sleep(1.5)  # the transfer runs, then stops at the full socket
    assert "state=wait_bgsave" in ours.call("INFO", "replication").plain().decode()
    for _ in range(5):
        start = time.monotonic()
        assert ours.call("PING").plain() == "PONG"
        assert ours.call("GET", "key:7").plain() is not None
        assert time.monotonic() - start < 0.5
    data = _read_rdb(sock, time.monotonic() + 30)
    sock.close()
    assert len(data) > 120 * 100_000
    path = os.path.join(tempfile.mkdtemp(prefix="rdb-sync-"), "big.rdb")
    with open(path, "wb") as f:
        f.write(data)
    with _loaded(path) as loaded:
        conn = RespConnection(loaded.port)
        deadline = time.monotonic() + 10
        while conn.call("DBSIZE").type == "-" and time.monotonic() < deadline:  # LOADING
            time.sleep(0.05)
        assert conn.call("DBSIZE").plain() == 30120
        for key in ("key:29999", "blob:119"):
            assert conn.call("GET", key).plain() == ours.call("GET", key).plain()
        conn.close()
    assert "connected_slaves:0" in ours.call("INFO", "replication").plain().decode()


REPLCONF_CASES = [
    ("REPLCONF",), ("REPLCONF", "a"), ("REPLCONF", "a", "b"), ("REPLCONF", "listening-port", "x"),
    ("REPLCONF", "listening-port", "99999999999"), ("REPLCONF", "ip-address", "a" * 255),
    ("REPLCONF", "ip-address", "a" * 256), ("REPLCONF", "capa", "foo"), ("REPLCONF", "CAPA", "EOF"),
    ("REPLCONF", "rdb-only", "2"), ("REPLCONF", "rdb-only", "x"), ("REPLCONF", "rdb-only", "0"),
    ("REPLCONF", "rdb-filter-only", "foo"), ("REPLCONF", "rdb-filter-only", '"'),
    ("REPLCONF", "rdb-filter-only", "functions bar"), ("REPLCONF", "rdb-filter-only", ""),
    ("REPLCONF", "capa", "eof", "nope", "1"), ("REPLCONF", "capa", "eof", "capa"),
    ("PSYNC",), ("PSYNC", "a"), ("PSYNC", "a", "b", "c"), ("SYNC", "x"),
    ("MULTI",), ("SYNC",), ("DISCARD",),
]


@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
def test_replconf_sync_psync_errors(conns: tuple[RespConnection, RespConnection], protocol: int) -> None:
    if protocol == 3:
        for conn in conns:
            assert conn.call("HELLO", "3").type == "%"
    for cmd in REPLCONF_CASES:
        replies = [conn.call(*cmd) for conn in conns]
        assert replies[0] == replies[1], (cmd, replies)
    for cmd in [("REPLCONF", "ack", "5"), ("REPLCONF", "getack", "*"), ("REPLCONF", "capa", "eof", "ack", "1")]:
        for conn in conns:  # no reply at all: the next reply is the PING's
            conn.send_raw(b"*%d\r\n" % len(cmd) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in cmd))
        replies = [conn.call("PING").plain() for conn in conns]
        assert replies == ["PONG", "PONG"], (cmd, replies)


def test_sync_refusals(pair: tuple[ServerProcess, ServerProcess]) -> None:
    """Pending output (a pipelined PING before SYNC), and a filtered RDB without capa eof."""
    replies = []
    for proc in pair:
        conn = RespConnection(proc.port)
        conn.send_raw(b"PING\r\nSYNC\r\n")
        assert conn.read_reply().plain() == "PONG"
        replies.append(conn.read_reply())
        assert conn.call("PING").plain() == "PONG"  # still a client
        conn.close()
    assert replies[0] == replies[1] == ("-", "ERR SYNC and PSYNC are invalid with pending output"), replies
    replies = []
    for proc in pair:
        conn = RespConnection(proc.port)
        assert conn.call("REPLCONF", "rdb-filter-only", "functions").plain() == "OK"
        replies.append(conn.call("PSYNC", "?", "-1"))
        conn.close()
    assert replies[0] == replies[1] and replies[0].type == "-", replies
