"""Function libraries end to end: they survive a restart (op log replay and snapshots, since
they are data), FUNCTION DUMP / RESTORE round-trip with every policy, and a busy function gets
-BUSY to others, shows in FUNCTION STATS and stops with FUNCTION KILL (not SCRIPT KILL)."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from server.harness.processes import start_activekv, start_redis
from tests.integration.test_scripting_busy import THRESHOLD_MS, _client, _wait_busy

redis = pytest.importorskip("redis")

def _map(flat: Any) -> dict[bytes, Any]:
    """A RESP2 map reply (a flat list) as a dict (redis-py already parses some)."""
    if isinstance(flat, dict):
        return flat
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _names(r: Any) -> list[bytes]:
    return sorted(_map(lib)[b"library_name"] for lib in r.function_list())


LIB = "#!lua name=kept\nredis.register_function('answer', function(keys, args) return 42 end)"
LOOPING = ("#!lua name=slow\nredis.register_function{function_name='spin', callback=function() "
           "local i = 0 while true do i = i + 1 end end, flags={'no-writes'}}")


@pytest.mark.parametrize("snapshots", [False, True], ids=["log-replay", "snapshot"])
def test_libraries_survive_a_restart(snapshots: bool) -> None:
    extra = ("--snapshot-every", "1", "--snapshot-min-interval", "0") if snapshots else ()
    with start_activekv(*extra) as first:
        r = _client(first.port)
        r.function_load(LIB)
        r.function_load(LIB.replace("kept", "gone").replace("answer", "other"))
        r.function_delete("gone")
        for i in range(5):  # more batches: with snapshots on, a snapshot covers the libraries
            r.set(f"k{i}", i)
        time.sleep(0.3)
        workdir = first.workdir
        if snapshots:
            assert os.path.exists(os.path.join(workdir, "snapshot.akv"))
    with start_activekv(*extra, workdir=workdir) as second:
        again = _client(second.port)
        assert again.fcall("answer", 0) == 42
        assert _names(again) == [b"kept"]


def test_function_dump_and_restore_policies() -> None:
    with start_activekv() as srv:
        r = _client(srv.port)
        r.function_load(LIB)
        payload = r.function_dump()
        with pytest.raises(redis.exceptions.ResponseError, match="^Library kept already exists$"):
            r.function_restore(payload)
        assert r.function_restore(payload, "REPLACE")
        r.function_flush()
        assert r.function_list() == []
        assert r.function_restore(payload)
        assert r.fcall("answer", 0) == 42
        r.function_load(LIB.replace("kept", "extra").replace("answer", "more"))
        assert r.function_restore(payload, "FLUSH")
        assert _names(r) == [b"kept"]
        with pytest.raises(redis.exceptions.ResponseError, match="payload version or checksum are wrong"):
            r.function_restore(payload[:-1] + bytes([payload[-1] ^ 1]))


@pytest.mark.parametrize("start", [start_redis, start_activekv], ids=["redis", "activekv"])
def test_busy_function_and_function_kill(start: Any) -> None:
    with start() as srv:
        admin = _client(srv.port)
        admin.config_set("busy-reply-threshold", THRESHOLD_MS)
        admin.function_load(LOOPING)
        caller = _client(srv.port)
        result: dict[str, Any] = {}
        import threading

        def run() -> None:
            try:
                result["reply"] = caller.fcall("spin", 0)
            except Exception as exc:
                result["reply"] = exc

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        busy = _wait_busy(admin)
        assert "You can only call FUNCTION KILL or SHUTDOWN NOSAVE." in busy
        running = _map(_map(admin.function_stats())[b"running_script"])
        assert running[b"name"] == b"spin"
        assert running[b"command"] == [b"FCALL", b"spin", b"0"]  # as the client sent it
        assert running[b"duration_ms"] >= THRESHOLD_MS * 0.9
        with pytest.raises(redis.exceptions.ResponseError, match="You can only call FUNCTION KILL"):
            admin.script_kill()
        assert admin.execute_command("FUNCTION", "KILL") in (b"OK", True)
        thread.join(10)
        assert not thread.is_alive()
        assert str(result["reply"]) == "Script killed by user with SCRIPT KILL... script: spin, on @user_function:2."
        assert _map(admin.function_stats())[b"running_script"] is None
