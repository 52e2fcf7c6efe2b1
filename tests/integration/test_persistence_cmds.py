"""SAVE/BGSAVE/save points/SHUTDOWN SAVE write the snapshot; appendfsync changes the op log's
policy at run time (server/persistence.py)."""

from __future__ import annotations

import os
import time

from server.harness.processes import start_activekv
from tests.respclient import RespConnection, encode_command

SNAPSHOT = "snapshot.akv"


def _info(conn: RespConnection, section: str) -> dict[str, str]:
    text = conn.call("INFO", section).value.decode()
    return dict(line.split(":", 1) for line in text.split("\r\n")[1:] if line)


def test_save_point_triggers_a_background_snapshot() -> None:
    with start_activekv("--save", "0 1") as server:  # a snapshot after any change
        conn = RespConnection(server.port)
        path = os.path.join(server.workdir, SNAPSHOT)
        assert not os.path.exists(path)
        assert conn.call("SET", "a", "1").value == "OK"
        assert int(_info(conn, "persistence")["rdb_changes_since_last_save"]) >= 1
        deadline = time.monotonic() + 5
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.path.exists(path)
        for _ in range(100):
            info = _info(conn, "persistence")
            if info["rdb_bgsave_in_progress"] == "0" and info["rdb_changes_since_last_save"] == "0":
                break
            time.sleep(0.02)
        assert info["rdb_saves"] == "1" and info["rdb_last_bgsave_status"] == "ok"
        assert abs(conn.call("LASTSAVE").value - time.time()) < 5
        conn.close()


def test_shutdown_save_and_nosave() -> None:
    with start_activekv("--save", "") as server:
        conn = RespConnection(server.port)
        conn.call("SET", "a", "1")
        conn.send_raw(encode_command(("SHUTDOWN", "NOSAVE")))  # no reply: the server exits
        assert server.proc.wait(10) == 0
        assert not os.path.exists(os.path.join(server.workdir, SNAPSHOT))
    with start_activekv("--save", "") as server:
        conn = RespConnection(server.port)
        conn.call("SET", "a", "1")
        conn.send_raw(encode_command(("SHUTDOWN", "SAVE")))  # no reply: the server exits
        assert server.proc.wait(10) == 0
        assert os.path.exists(os.path.join(server.workdir, SNAPSHOT))
    with start_activekv() as server:  # default save points: SHUTDOWN saves
        conn = RespConnection(server.port)
        conn.call("SET", "a", "1")
        conn.send_raw(encode_command(("SHUTDOWN",)))  # no reply: the server exits
        assert server.proc.wait(10) == 0
        assert os.path.exists(os.path.join(server.workdir, SNAPSHOT))


def test_appendfsync_at_run_time() -> None:
    with start_activekv() as server:
        conn = RespConnection(server.port)
        fsyncs = int(_info(conn, "crdt")["oplog_fsyncs"])
        assert conn.call("CONFIG", "SET", "appendfsync", "always").value == "OK"
        assert _info(conn, "crdt")["appendfsync"] == "always"
        for i in range(3):
            conn.call("SET", "k", str(i))
        assert int(_info(conn, "crdt")["oplog_fsyncs"]) >= fsyncs + 3
        assert conn.call("CONFIG", "SET", "appendfsync", "no").value == "OK"
        assert _info(conn, "crdt")["appendfsync"] == "no"
        conn.close()


def test_timeout_closes_idle_clients_not_blocked_ones() -> None:
    with start_activekv("--timeout", "1") as server:
        idle, blocked, busy = (RespConnection(server.port) for _ in range(3))
        assert idle.call("PING").value == "PONG"
        blocked.send_raw(encode_command(("BLPOP", "nolist", "0")))
        deadline = time.monotonic() + 3
        closed = False
        while time.monotonic() < deadline and not closed:
            assert busy.call("PING").value == "PONG"  # active: never idle
            try:
                idle.sock.settimeout(0.2)
                closed = idle.sock.recv(1) == b""
            except TimeoutError:
                pass
        assert closed, "the idle client was not closed"
        assert busy.call("LPUSH", "nolist", "x").value == 1
        blocked.sock.settimeout(2)
        assert blocked.read_reply().plain() == [b"nolist", b"x"]
        for conn in (idle, blocked, busy):
            conn.close()
