"""The RDB file writer (server/rdb/snapshot.py) against Redis 7.0.15's tools: the file of an
in-process region holding every type passes ``redis-check-rdb``, and a real redis-server started
on it holds the same keys, values (DUMP), absolute expire times and function libraries."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import hiredis

from server.harness.processes import start_redis
from server.rdb.snapshot import ReplInfo, Snapshot
from server.scripting.functions import current
from tests.compat import rdbkit
from tests.inprocess import send, start_server
from tests.respclient import RespConnection


def _in_process() -> tuple[Any, rdbkit.Call]:
    server, _sink, client, transport = start_server()
    server.config.enable_debug_command = "yes"

    def call(*cmd: Any) -> Any:
        reader = hiredis.Reader()
        reader.feed(send(client, transport, tuple(cmd)))
        return reader.gets()

    for cmd in rdbkit.writes():
        reply = call(*cmd)
        assert not isinstance(reply, hiredis.ReplyError), (cmd, reply)
    return server, call


def _write(server: Any, path: str, **kw: Any) -> Snapshot:
    codes = [lib.code for lib in current(server).libraries.values()]
    snap = Snapshot(server.ks, codes, server.memory.used(), **kw)
    with open(path, "wb") as f:
        for chunk in snap.chunks():
            f.write(chunk)
    return snap


def test_snapshot_loads_in_redis_with_same_data() -> None:
    server, call = _in_process()
    path = os.path.join(tempfile.mkdtemp(prefix="rdb-snap-"), "snap.rdb")
    snap = _write(server, path, repl=ReplInfo(0, "f" * 40, 12))
    report = rdbkit.check_rdb(path)
    for aux in ("redis-ver = '7.0.15'", "redis-bits = '64'", "ctime", "used-mem",
                "repl-stream-db = '0'", "repl-id = '" + "f" * 40, "repl-offset = '12'", "aof-base = '0'"):
        assert f"AUX FIELD {aux}" in report, report
    assert "1 already expired" not in report
    with start_redis(*rdbkit.redis_args_for(path)) as ref:
        conn = RespConnection(ref.port)
        n = rdbkit.assert_same_data(call, conn)
        assert n == snap.keys_saved == 19
        assert conn.call("FCALL", "rdbf", "0").plain() == b"from rdb"
        assert conn.call("XINFO", "STREAM", "stream", "FULL").plain() == call("XINFO", "STREAM", "stream", "FULL")
        conn.close()


def test_empty_keyspace_and_functions_only() -> None:
    server, call = _in_process()
    path = os.path.join(tempfile.mkdtemp(prefix="rdb-snap-"), "fn.rdb")
    _write(server, path, functions_only=True)
    report = rdbkit.check_rdb(path)
    assert "Selecting DB" not in report and "repl-id" not in report
    with start_redis(*rdbkit.redis_args_for(path)) as ref:
        conn = RespConnection(ref.port)
        assert conn.call("DBSIZE").value == 0
        assert conn.call("FCALL", "rdbf", "0").plain() == b"from rdb"
        conn.close()
    empty = start_server()[0]
    _write(empty, path)
    rdbkit.check_rdb(path)
    with start_redis(*rdbkit.redis_args_for(path)) as ref:
        conn = RespConnection(ref.port)
        assert conn.call("DBSIZE").value == 0
        assert conn.call("FUNCTION", "LIST").value == []
        conn.close()


def test_expired_and_changed_keys_while_saving() -> None:
    """A key is read when its piece is made: one deleted after the names were taken is left
    out, one changed is saved with its new value; a key past its time is never saved."""
    server, call = _in_process()
    call("SET", "gone-soon", "x")
    call("SET", "short", "x", "PX", "1")
    server.ks.now_ms += 10  # the clock passes its expire time (not yet reclaimed)
    codes: list[bytes] = []
    snap = Snapshot(server.ks, codes, 0)
    pieces = snap.chunks()
    first = next(pieces)  # header: names already taken
    call("DEL", "gone-soon")
    call("SET", "raw", "changed")
    data = first + b"".join(pieces)
    path = os.path.join(tempfile.mkdtemp(prefix="rdb-snap-"), "c.rdb")
    with open(path, "wb") as f:
        f.write(data)
    rdbkit.check_rdb(path)
    with start_redis(*rdbkit.redis_args_for(path)) as ref:
        conn = RespConnection(ref.port)
        assert conn.call("GET", "raw").value == b"changed"
        assert conn.call("EXISTS", "gone-soon", "short").value == 0
        conn.close()
