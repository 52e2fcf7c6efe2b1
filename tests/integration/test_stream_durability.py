"""A stream and its consumer groups survive ``kill -9`` (``appendfsync always``): entries, group
IDs, acknowledgements, and this region's pending lists and consumers, which are logged as local
effects (``XLocal``) and replayed, as Redis's AOF replays its XCLAIMs; and a snapshot keeps them
too (the restart after a clean stop). So do the pending lists of a RESTOREd, COPY'd or RENAME'd
stream, which come with the whole-stream effect (``XRestore``) or as ``XLocal``s."""

from __future__ import annotations

import shutil
import signal
import tempfile
from typing import Any

from server.harness.processes import ServerProcess, free_port, start_activekv
from tests.respclient import RespConnection


def _state(port: int, key: str = "s") -> tuple[Any, ...]:
    conn = RespConnection(port)
    try:
        return (
            conn.call("XRANGE", key, "-", "+").plain(),
            conn.call("XINFO", "GROUPS", key).plain(),
            [(p[0], p[1], p[3]) for p in conn.call("XPENDING", key, "g", "-", "+", "10").plain()],  # not idle
            [c[:4] for c in conn.call("XINFO", "CONSUMERS", key, "g").plain()],  # name, pending (not idle)
        )
    finally:
        conn.close()


def _stream_with_group(conn: RespConnection, entries: int, *, deleted: str | None = None) -> None:
    """Stream ``s`` of entries 1-0 .. N-0 (``deleted`` removed), and its group ``g`` from 0."""
    for n in range(1, entries + 1):
        conn.call("XADD", "s", f"{n}-0", "n", str(n))
    if deleted is not None:
        conn.call("XDEL", "s", deleted)
    conn.call("XGROUP", "CREATE", "s", "g", "0")


def _durable() -> tuple[int, str, ServerProcess]:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="akv-stream-dur-")
    return port, workdir, start_activekv("--appendfsync", "always", port=port, workdir=workdir)


def test_stream_and_pending_lists_survive_kill9_and_a_restart() -> None:
    port, workdir, proc = _durable()
    try:
        conn = RespConnection(port)
        _stream_with_group(conn, 5)
        conn.call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">")
        conn.call("XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "STREAMS", "s", ">")
        assert conn.call("XACK", "s", "g", "2-0").value == 1
        assert conn.call("XCLAIM", "s", "g", "carol", "0", "3-0", "RETRYCOUNT", "7", "JUSTID").plain() == [b"3-0"]
        assert conn.call("XGROUP", "CREATECONSUMER", "s", "g", "dave").value == 1
        conn.close()
        before = _state(port)
        assert before[2] == [(b"1-0", b"alice", 1), (b"3-0", b"carol", 7), (b"4-0", b"bob", 1)]
        proc = proc.restart()
        assert _state(port) == before
        conn = RespConnection(port)  # the group goes on from where it was
        assert conn.call("XREADGROUP", "GROUP", "g", "erin", "STREAMS", "s", ">").plain() == [[b"s", [[b"5-0", [b"n", b"5"]]]]]
        conn.close()
        before = _state(port)
        proc = proc.restart(signal.SIGTERM)  # clean: a snapshot
        assert _state(port) == before
    finally:
        proc.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_a_restored_stream_keeps_its_pending_lists_across_restarts() -> None:
    port, workdir, proc = _durable()
    try:
        conn = RespConnection(port)
        _stream_with_group(conn, 130, deleted="2-0")
        conn.call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">")
        conn.call("XCLAIM", "s", "g", "bob", "0", "3-0", "RETRYCOUNT", "4")
        payload = conn.call("DUMP", "s").value
        assert conn.call("RESTORE", "r", "0", payload).value == "OK"
        conn.call("DEL", "s")
        assert conn.call("DUMP", "r").value == payload
        conn.close()
        before = _state(port, "r")
        assert before[2] == [(b"1-0", b"alice", 1), (b"3-0", b"bob", 4), (b"4-0", b"alice", 1)]
        proc = proc.restart()
        assert _state(port, "r") == before  # (a DUMP may differ: replayed nodes hold no deleted entry)
    finally:
        proc.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_copied_and_renamed_streams_keep_their_pending_lists_across_restarts() -> None:
    """COPY and RENAME carry the pending lists along (XRestore's local part): a replay of the
    log after ``kill -9`` (a new epoch of the same region) must keep them too."""
    port, workdir, proc = _durable()
    try:
        conn = RespConnection(port)
        _stream_with_group(conn, 5)
        conn.call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">")
        assert conn.call("COPY", "s", "r").value == 1
        conn.call("RENAME", "s", "t")
        conn.close()
        before = [_state(port, k) for k in ("r", "t")]
        assert before[0][2] == [(b"1-0", b"alice", 1), (b"2-0", b"alice", 1)] and before[1] == before[0]
        proc = proc.restart()
        assert [_state(port, k) for k in ("r", "t")] == before
    finally:
        proc.stop()
        shutil.rmtree(workdir, ignore_errors=True)
