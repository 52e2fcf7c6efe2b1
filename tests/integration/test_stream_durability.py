"""A stream and its consumer groups survive ``kill -9`` (``appendfsync always``): entries, group
IDs, acknowledgements, and this region's pending lists and consumers, which are logged as local
effects (``XLocal``) and replayed, as Redis's AOF replays its XCLAIMs; and a snapshot keeps them
too (the restart after a clean stop)."""

from __future__ import annotations

import shutil
import signal
import tempfile
from typing import Any

from server.harness.processes import free_port, start_activekv
from tests.respclient import RespConnection


def _state(port: int) -> tuple[Any, ...]:
    conn = RespConnection(port)
    try:
        return (
            conn.call("XRANGE", "s", "-", "+").plain(),
            conn.call("XINFO", "GROUPS", "s").plain(),
            [(p[0], p[1], p[3]) for p in conn.call("XPENDING", "s", "g", "-", "+", "10").plain()],  # not idle
            [c[:4] for c in conn.call("XINFO", "CONSUMERS", "s", "g").plain()],  # name, pending (not idle)
        )
    finally:
        conn.close()


def test_stream_and_pending_lists_survive_kill9_and_a_restart() -> None:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="akv-stream-dur-")
    proc = start_activekv("--appendfsync", "always", port=port, workdir=workdir)
    try:
        conn = RespConnection(port)
        for n in range(1, 6):
            conn.call("XADD", "s", f"{n}-0", "n", str(n))
        conn.call("XGROUP", "CREATE", "s", "g", "0")
        conn.call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">")
        conn.call("XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "STREAMS", "s", ">")
        assert conn.call("XACK", "s", "g", "2-0").value == 1
        assert conn.call("XCLAIM", "s", "g", "carol", "0", "3-0", "RETRYCOUNT", "7", "JUSTID").plain() == [b"3-0"]
        assert conn.call("XGROUP", "CREATECONSUMER", "s", "g", "dave").value == 1
        conn.close()
        before = _state(port)
        assert before[2] == [(b"1-0", b"alice", 1), (b"3-0", b"carol", 7), (b"4-0", b"bob", 1)]
        proc.stop(signal.SIGKILL)
        proc = start_activekv("--appendfsync", "always", port=port, workdir=workdir)
        assert _state(port) == before
        conn = RespConnection(port)  # the group goes on from where it was
        assert conn.call("XREADGROUP", "GROUP", "g", "erin", "STREAMS", "s", ">").plain() == [[b"s", [[b"5-0", [b"n", b"5"]]]]]
        conn.close()
        before = _state(port)
        proc.stop()  # clean: a snapshot
        proc = start_activekv("--appendfsync", "always", port=port, workdir=workdir)
        assert _state(port) == before
    finally:
        proc.stop()
        shutil.rmtree(workdir, ignore_errors=True)
