"""ROLE, LASTSAVE, SAVE/BGSAVE/BGREWRITEAOF, LOLWUT, DEBUG (disabled by default), CLIENT REPLY /
PAUSE / NO-EVICT, COMMAND GETKEYSANDFLAGS against redis-server."""

from __future__ import annotations

import socket
import time

from tests.conftest import Differential
from tests.respclient import RespConnection, encode_command


def test_role_and_lastsave(diff: Differential) -> None:
    diff.check("ROLE")
    diff.check("ROLE", "x")
    diff.check("LASTSAVE", "x")
    ref, ours = diff.both("LASTSAVE")
    assert ref.type == ours.type == ":" and abs(ours.value - time.time()) < 3600 * 24


def _wait_no_bgsave(conn: RespConnection) -> None:
    for _ in range(200):
        text = conn.call("INFO", "persistence").value
        if b"rdb_bgsave_in_progress:0" in text and b"aof_rewrite_in_progress:0" in text \
                and b"aof_rewrite_scheduled:0" in text:
            return
        time.sleep(0.02)
    raise AssertionError("background save did not finish")


def test_save_bgsave_bgrewriteaof(diff: Differential) -> None:
    for conn in (diff.ref, diff.ours):
        _wait_no_bgsave(conn)
    diff.check("SET", "k", "v")
    diff.check("SAVE")
    diff.check("SAVE", "x")
    diff.check("BGSAVE", "x")
    diff.check("BGSAVE", "SCHEDULE", "x")
    before = [conn.call("LASTSAVE").value for conn in (diff.ref, diff.ours)]
    for conn in (diff.ref, diff.ours):
        _wait_no_bgsave(conn)
    diff.check("BGSAVE")
    for conn in (diff.ref, diff.ours):
        _wait_no_bgsave(conn)
    diff.check("BGREWRITEAOF")
    for conn in (diff.ref, diff.ours):
        _wait_no_bgsave(conn)
    diff.check("BGREWRITEAOF", "x")
    diff.check("MULTI")
    diff.check("SAVE")  # no_multi
    diff.check("DISCARD")
    diff.check("MULTI")
    diff.check("BGSAVE")
    ref, ours = diff.both("EXEC")
    assert ref == ours  # "Background saving scheduled" inside a transaction
    for conn in (diff.ref, diff.ours):
        _wait_no_bgsave(conn)
    after = [conn.call("LASTSAVE").value for conn in (diff.ref, diff.ours)]
    assert all(a >= b for a, b in zip(after, before, strict=True))
    ref, ours = (conn.call("INFO", "persistence").value for conn in (diff.ref, diff.ours))
    fields = [line.split(b":")[0] for line in ref.split(b"\r\n")[1:] if line]
    assert [line.split(b":")[0] for line in ours.split(b"\r\n")[1:] if line] == fields


def test_lolwut(diff: Differential) -> None:
    diff.check("LOLWUT")
    for v in ("1", "4", "7", "99"):
        diff.check("LOLWUT", "VERSION", v)
        diff.check("LOLWUT", "VERSION", v, "1", "2")
    diff.check("LOLWUT", "VERSION", "x")
    diff.check("LOLWUT", "foo")
    diff.check("LOLWUT", "VERSION")
    # version 5 (Schotter): the first two rows of squares are not random, so exact
    for args in (("66", "8", "2"), ("10", "3", "1"), ("1", "1", "1"), ("0", "0", "0"), ("120", "300", "1"),
                 ("33", "7", "2")):
        diff.check("LOLWUT", "VERSION", "5", *args)
    diff.check("LOLWUT", "VERSION", "5", "x")
    diff.check("LOLWUT", "VERSION", "-5")
    ref, ours = diff.both("LOLWUT", "VERSION", "5")  # random below the second row
    assert [len(line) for line in ours.value.split(b"\n")] == [len(line) for line in ref.value.split(b"\n")]
    assert ours.value.endswith(b"\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. 7.0.15\n")


def test_debug_disabled_by_default(diff: Differential) -> None:
    diff.check("CONFIG", "GET", "enable-debug-command")
    diff.check("DEBUG", "SLEEP", "0")
    diff.check("DEBUG", "OBJECT", "x")
    diff.check("DEBUG")


def test_command_getkeysandflags(diff: Differential) -> None:
    diff.check_all(
        ("COMMAND", "GETKEYSANDFLAGS", "SET", "a", "b"),
        ("COMMAND", "GETKEYSANDFLAGS", "LMOVE", "a", "b", "LEFT", "RIGHT"),
        ("COMMAND", "GETKEYSANDFLAGS", "ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"),
        ("COMMAND", "GETKEYSANDFLAGS", "MSET", "a", "1", "b", "2"),
        ("COMMAND", "GETKEYSANDFLAGS", "GET"),
        ("COMMAND", "GETKEYSANDFLAGS", "PING"),
        ("COMMAND", "GETKEYSANDFLAGS", "NOSUCH", "x"),
        ("COMMAND", "GETKEYSANDFLAGS"),
        ("COMMAND", "GETKEYS", "RENAME", "a", "b"),
    )


def _raw(port: int, data: bytes, until: bytes, timeout: float = 2.0) -> bytes:
    """Send raw requests, read until the replies end with ``until`` (or the timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        got = b""
        deadline = time.monotonic() + timeout
        while not got.endswith(until) and time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            got += chunk
        return got
    finally:
        s.close()


def test_client_reply(diff: Differential) -> None:
    script = b"".join(encode_command(c) for c in [
        ("CLIENT", "REPLY", "OFF"), ("SET", "a", "1"), ("GET",), ("CLIENT", "REPLY", "SKIP"),
        ("CLIENT", "REPLY", "ON"), ("GET", "a"), ("CLIENT", "REPLY", "SKIP"), ("GET", "a"),
        ("GET",), ("INCR", "a"), ("CLIENT", "REPLY", "SKIP"), ("GET",), ("ECHO", "after"),
        ("CLIENT", "REPLY", "bad"), ("PING",),
    ])
    ports = (diff.ref.sock.getpeername()[1], diff.ours.sock.getpeername()[1])
    ref, ours = (_raw(p, script + encode_command(("ECHO", "end")), b"$3\r\nend\r\n") for p in ports)
    assert ref.endswith(b"end\r\n")
    assert ours == ref


def test_client_pause_write_and_all(diff: Differential) -> None:
    ports = (diff.ref.sock.getpeername()[1], diff.ours.sock.getpeername()[1])
    for port, conn in zip(ports, (diff.ref, diff.ours), strict=True):
        assert conn.call("CLIENT", "PAUSE", "400", "WRITE").value == "OK"
        other = RespConnection(port)
        t0 = time.monotonic()
        assert other.call("GET", "nokey").value is None
        assert time.monotonic() - t0 < 0.3  # reads go on
        assert other.call("SET", "p", "1").value == "OK"
        assert time.monotonic() - t0 >= 0.3  # the write waited for the pause
        assert conn.call("CLIENT", "PAUSE", "300", "ALL").value == "OK"
        t0 = time.monotonic()
        assert other.call("PING").value == "PONG"
        assert time.monotonic() - t0 >= 0.2
        assert conn.call("CLIENT", "PAUSE", "5000", "WRITE").value == "OK"
        assert conn.call("CLIENT", "UNPAUSE").value == "OK"
        t0 = time.monotonic()
        assert other.call("SET", "p", "2").value == "OK"
        assert time.monotonic() - t0 < 1
        other.close()
    diff.check_all(
        ("CLIENT", "PAUSE"), ("CLIENT", "PAUSE", "x"), ("CLIENT", "PAUSE", "-1"),
        ("CLIENT", "PAUSE", "10", "foo"), ("CLIENT", "PAUSE", "10", "ALL", "x"),
        ("CLIENT", "UNPAUSE", "x"), ("CLIENT", "UNPAUSE"),
    )


def test_client_no_evict(diff: Differential) -> None:
    diff.check_all(("CLIENT", "NO-EVICT", "x"), ("CLIENT", "NO-EVICT"), ("CLIENT", "NO-EVICT", "ON"))
    for conn in (diff.ref, diff.ours):
        line = conn.call("CLIENT", "INFO").value
        assert b" flags=e " in line
    diff.check("CLIENT", "NO-EVICT", "off")


def test_client_no_touch_is_redis_72s(diff: Differential) -> None:
    """Redis 7.0.15 has no CLIENT NO-TOUCH (7.2 does): ours behaves as 7.2's."""
    assert diff.ref.call("CLIENT", "NO-TOUCH", "on").type == "-"
    ours = diff.ours
    assert ours.call("CLIENT", "NO-TOUCH", "on").value == "OK"
    assert b" flags=T " in ours.call("CLIENT", "INFO").value
    assert ours.call("CLIENT", "NO-TOUCH", "maybe") == ours.call("CLIENT", "NO-EVICT", "maybe")
    assert ours.call("CLIENT", "NO-TOUCH").value == "ERR wrong number of arguments for 'client|no-touch' command"
    assert ours.call("CLIENT", "NO-TOUCH", "OFF").value == "OK"
    assert b" flags=N " in ours.call("CLIENT", "INFO").value
    info = ours.call("COMMAND", "INFO", "client|no-touch").plain()
    assert info[0][:2] == [b"client|no-touch", 3]


def test_client_unblock_does_not_drop_a_paused_command(diff: Differential) -> None:
    """Ours only: redis-server 7.0.15 crashes here ("Unknown btype in
    replyToBlockedClientTimedOut()"); activekv answers 0 (not blocked on a key) and the held
    command runs when the pause ends."""
    conn = diff.ours
    held = RespConnection(conn.sock.getpeername()[1])
    held_id = held.call("CLIENT", "ID").value
    assert conn.call("CLIENT", "PAUSE", "300", "WRITE").value == "OK"
    held.send_raw(encode_command(("SET", "held", "1")))
    time.sleep(0.05)
    assert b" flags=b " in conn.call("CLIENT", "LIST", "ID", held_id).value
    assert conn.call("CLIENT", "UNBLOCK", held_id).value == 0
    assert held.read_reply().value == "OK"  # ran once the pause ended
    assert conn.call("GET", "held").value == b"1"
    held.close()
