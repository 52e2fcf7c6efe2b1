"""A RESTOREd stream keeps its pending entries and consumers (this region's local group state,
logged as XLocal effects) across ``kill -9``, as a stream built by XREADGROUP does (snapshots
keep local group state whatever wrote it: tests/integration/test_stream_durability.py)."""

from __future__ import annotations

import shutil
import signal
import tempfile

from server.harness.processes import free_port, start_activekv
from tests.respclient import RespConnection


def _state(port: int) -> tuple[object, ...]:
    conn = RespConnection(port)
    try:
        return (
            conn.call("DUMP", "r").plain(),
            conn.call("XINFO", "GROUPS", "r").plain(),
            [(p[0], p[1], p[3]) for p in conn.call("XPENDING", "r", "g", "-", "+", "10").plain()],
        )
    finally:
        conn.close()


def test_a_restored_stream_keeps_its_pending_lists_across_restarts() -> None:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="akv-stream-restore-")
    proc = start_activekv("--appendfsync", "always", port=port, workdir=workdir)
    try:
        conn = RespConnection(port)
        for n in range(1, 131):
            conn.call("XADD", "s", f"{n}-0", "n", str(n))
        conn.call("XDEL", "s", "2-0")
        conn.call("XGROUP", "CREATE", "s", "g", "0")
        conn.call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">")
        conn.call("XCLAIM", "s", "g", "bob", "0", "3-0", "RETRYCOUNT", "4")
        payload = conn.call("DUMP", "s").value
        assert conn.call("RESTORE", "r", "0", payload).value == "OK"
        conn.call("DEL", "s")
        conn.close()
        before = _state(port)
        assert before[0] == payload
        assert before[2] == [(b"1-0", b"alice", 1), (b"3-0", b"bob", 4), (b"4-0", b"alice", 1)]
        proc.stop(signal.SIGKILL)
        proc = start_activekv("--appendfsync", "always", port=port, workdir=workdir)
        after = _state(port)
        assert after[1:] == before[1:]  # (the DUMP may differ: the replayed nodes hold no deleted entry)
    finally:
        proc.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_copied_and_renamed_streams_keep_their_pending_lists_across_restarts() -> None:
    """COPY and RENAME carry the pending lists along (XRestore's local part): a replay of the
    log after ``kill -9`` (a new epoch of the same region) must keep them too."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="akv-stream-copy-")
    proc = start_activekv("--appendfsync", "always", port=port, workdir=workdir)
    try:
        conn = RespConnection(port)
        for n in range(1, 6):
            conn.call("XADD", "s", f"{n}-0", "n", str(n))
        conn.call("XGROUP", "CREATE", "s", "g", "0")
        conn.call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">")
        assert conn.call("COPY", "s", "r").value == 1
        conn.call("RENAME", "s", "t")
        pending = [conn.call("XPENDING", k, "g").plain() for k in ("r", "t")]
        assert pending[0][0] == 2 and pending[1] == pending[0]
        conn.close()
        proc.stop(signal.SIGKILL)
        proc = start_activekv("--appendfsync", "always", port=port, workdir=workdir)
        conn = RespConnection(port)
        assert [conn.call("XPENDING", k, "g").plain() for k in ("r", "t")] == pending
        conn.close()
    finally:
        proc.stop()
        shutil.rmtree(workdir, ignore_errors=True)
