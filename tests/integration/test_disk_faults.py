"""Disk faults a tmpfs cannot make (EIO, a failing fsync, a failing snapshot) through the
test-only fault layer (``DEBUG SET-DISK-FAULT``, ``debug-disk-faults yes``): Redis's MISCONF
replies and INFO fields, recovery by itself, no torn record, nothing acknowledged lost."""

from __future__ import annotations

import os
import socket
import tempfile
import time
from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess, free_port, start_activekv
from server.harness.waiting import wait_for
from tests.multiregion.test_disk_full import _info, _whole_records
from tests.respclient import Reply, RespConnection, encode_command

EIO_MISCONF = Reply("-", "MISCONF Errors writing to the AOF file: Input/output error")
RDB_MISCONF = Reply("-", (
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to "
    "disk. Commands that may modify the data set are disabled, because this instance is "
    "configured to report errors during writes if RDB snapshotting fails "
    "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about the "
    "RDB error."))
FAULTY = ("--debug-disk-faults", "yes", "--enable-debug-command", "yes")


class Node:
    """One server for the module (each start costs seconds): every test sets the policy it
    needs with CONFIG SET and starts from an empty keyspace with no fault injected."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="akv-diskfault-")
        self.proc: ServerProcess = start_activekv(*FAULTY, port=self.port, workdir=self.dir)
        self.settings: tuple[str, ...] = ()

    def conn(self) -> RespConnection:
        return RespConnection(self.port, timeout=10)

    def configure(self, *settings: str, flush: bool = True) -> None:
        self.settings = settings
        c = self.conn()
        assert c.call("DEBUG", "SET-DISK-FAULT", "off") == Reply("+", "OK")
        values = {"appendfsync": "everysec", "save": "", "stop-writes-on-bgsave-error": "yes",
                  **dict(zip(settings[::2], settings[1::2], strict=True))}
        args = [x for pair in values.items() for x in pair]
        assert c.call("CONFIG", "SET", *args) == Reply("+", "OK")
        if flush:  # once the last test's fault is gone (a retry within a second)
            wait_for(lambda: c.call("FLUSHALL") == Reply("+", "OK"), 5, "a clean start")
        c.close()

    def kill9_and_restart(self) -> None:
        self.proc = self.proc.restart()
        self.configure(*self.settings, flush=False)


@pytest.fixture(scope="module")
def server() -> Iterator[Node]:
    n = Node()
    yield n
    n.proc.stop()


@pytest.fixture
def node(server: Node, request: pytest.FixtureRequest) -> Node:
    server.configure(*getattr(request, "param", ()))
    return server


def _until_refused(c: RespConnection, expected: Reply) -> list[str]:
    """SETs until the first refusal (the write whose flush failed was acknowledged, as Redis
    does with everysec): the acknowledged keys."""
    acked = []
    for i in range(50):
        reply = c.call("SET", f"k{i}", i)
        if reply == expected:
            return acked
        assert reply == Reply("+", "OK"), reply
        acked.append(f"k{i}")
    raise AssertionError("writes were never refused")


def test_eio_refuses_writes_then_recovers_and_survives_kill9(node: Node) -> None:
    c = node.conn()
    assert c.call("SET", "a", "1") == Reply("+", "OK")
    assert c.call("DEBUG", "SET-DISK-FAULT", "bogus").type == "-"  # unknown: nothing injected
    assert c.call("SET", "a", "1") == Reply("+", "OK")
    assert c.call("DEBUG", "SET-DISK-FAULT", "eio") == Reply("+", "OK")
    acked = _until_refused(c, EIO_MISCONF)
    assert c.call("GET", "a") == Reply("$", b"1")
    assert c.call("PING") == EIO_MISCONF
    assert c.call("SETEX", "b", "10", "v") == EIO_MISCONF
    info = _info(c, "persistence")
    assert info["aof_last_write_status"] == "err"
    _whole_records(node.dir)
    assert c.call("DEBUG", "SET-DISK-FAULT", "off") == Reply("+", "OK")
    wait_for(lambda: c.call("SET", "after", "1") == Reply("+", "OK"), 5, "writes accepted again")
    assert _info(c, "persistence")["aof_last_write_status"] == "ok"
    c.close()
    node.kill9_and_restart()
    c = node.conn()
    assert [c.call("GET", k).value for k in ["a", "after", *acked]] == [
        b"1", b"1", *[k[1:].encode() for k in acked]]
    c.close()


@pytest.mark.parametrize("node", [("appendfsync", "always")], indirect=True)
def test_fsync_failure_with_always_holds_the_reply_until_durable(node: Node) -> None:
    c, other = node.conn(), node.conn()
    assert c.call("DEBUG", "SET-DISK-FAULT", "fsync-eio") == Reply("+", "OK")
    c.sock.settimeout(0.5)
    c.send_raw(encode_command(["SET", "held", "1"]))
    with pytest.raises(socket.timeout):  # not acknowledged: its record is not on the disk
        c.read_reply()
    assert other.call("GET", "nothing") == Reply("$", None)  # other clients' reads go on
    assert other.call("SET", "refused", "1") == EIO_MISCONF
    assert other.call("DEBUG", "SET-DISK-FAULT", "off") == Reply("+", "OK")
    c.sock.settimeout(5)
    assert c.read_reply() == Reply("+", "OK")
    assert other.call("SET", "b", "2") == Reply("+", "OK")
    c.close()
    other.close()
    node.kill9_and_restart()
    c = node.conn()
    assert c.call("GET", "held") == Reply("$", b"1")
    assert c.call("GET", "refused") == Reply("$", None)
    c.close()


def test_fsync_failure_with_everysec_refuses_writes_until_an_fsync_succeeds(node: Node) -> None:
    c = node.conn()
    assert c.call("SET", "a", "1") == Reply("+", "OK")
    assert c.call("DEBUG", "SET-DISK-FAULT", "fsync-eio") == Reply("+", "OK")
    wait_for(lambda: c.call("SET", "a", "2") == EIO_MISCONF, 5, "the background fsync fails")
    assert _info(c, "persistence")["aof_last_write_status"] == "err"
    assert c.call("DEBUG", "SET-DISK-FAULT", "off") == Reply("+", "OK")
    wait_for(lambda: c.call("SET", "a", "3") == Reply("+", "OK"), 5, "an fsync succeeded")
    c.close()


def test_a_failed_save_leaves_the_previous_snapshot_and_the_log(node: Node) -> None:
    c = node.conn()
    assert c.call("SET", "a", "1") == Reply("+", "OK")
    assert c.call("SAVE") == Reply("+", "OK")
    path = os.path.join(node.dir, "snapshot.akv")
    with open(path, "rb") as f:
        before = f.read()
    assert c.call("SET", "b", "2") == Reply("+", "OK")
    assert c.call("DEBUG", "SET-DISK-FAULT", "snapshot-eio") == Reply("+", "OK")
    assert c.call("SAVE") == Reply("-", "ERR")
    assert c.call("SET", "c", "3") == Reply("+", "OK")  # the log is fine; no save points
    assert c.call("BGSAVE") == Reply("+", "Background saving started")
    wait_for(lambda: _info(c, "persistence")["rdb_bgsave_in_progress"] == "0", 5, "BGSAVE ends")
    wait_for(lambda: _info(c, "persistence")["rdb_last_bgsave_status"] == "err", 5, "status err")
    assert c.call("BGREWRITEAOF").type == "+"
    wait_for(lambda: _info(c, "persistence")["aof_last_bgrewrite_status"] == "err", 5,
             "rewrite status err")
    with open(path, "rb") as f:
        assert f.read() == before
    assert [n for n in os.listdir(node.dir) if ".tmp" in n] == []
    assert c.call("SET", "d", "4") == Reply("+", "OK")  # no save points: writes go on
    c.close()
    node.kill9_and_restart()
    c = node.conn()
    assert [c.call("GET", k).value for k in "abcd"] == [b"1", b"2", b"3", b"4"]
    c.close()


@pytest.mark.parametrize("node", [("save", "3600 1")], indirect=True)
def test_stop_writes_on_bgsave_error_as_redis(node: Node) -> None:
    c = node.conn()
    assert c.call("DEBUG", "SET-DISK-FAULT", "snapshot-eio") == Reply("+", "OK")
    assert c.call("BGSAVE") == Reply("+", "Background saving started")
    wait_for(lambda: _info(c, "persistence")["rdb_last_bgsave_status"] == "err", 5, "status err")
    assert c.call("SET", "a", "1") == RDB_MISCONF
    assert c.call("PING") == RDB_MISCONF
    assert c.call("GET", "a") == Reply("$", None)
    assert c.call("MULTI") == Reply("+", "OK")
    assert c.call("SET", "a", "1") == RDB_MISCONF
    assert c.call("EXEC") == Reply("-", "EXECABORT Transaction discarded because of previous errors.")
    assert c.call("CONFIG", "SET", "stop-writes-on-bgsave-error", "no") == Reply("+", "OK")
    assert c.call("SET", "a", "1") == Reply("+", "OK")
    assert c.call("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes") == Reply("+", "OK")
    assert c.call("SET", "a", "2") == RDB_MISCONF
    assert c.call("DEBUG", "SET-DISK-FAULT", "off") == Reply("+", "OK")
    assert c.call("BGSAVE") == Reply("+", "Background saving started")
    wait_for(lambda: _info(c, "persistence")["rdb_last_bgsave_status"] == "ok", 5, "status ok")
    assert c.call("SET", "a", "3") == Reply("+", "OK")
    c.close()


@pytest.mark.parametrize("node", [("save", "0 1")], indirect=True)
def test_a_failed_save_point_snapshot_is_retried_after_5s_as_redis(node: Node) -> None:
    c = node.conn()
    assert c.call("DEBUG", "SET-DISK-FAULT", "snapshot-eio") == Reply("+", "OK")
    assert c.call("SET", "a", "1") == Reply("+", "OK")  # the save point: a background snapshot
    wait_for(lambda: c.call("SET", "a", "2") == RDB_MISCONF, 5, "the save point's snapshot fails")
    assert _info(c, "persistence")["rdb_last_bgsave_status"] == "err"
    assert c.call("DEBUG", "SET-DISK-FAULT", "off") == Reply("+", "OK")
    started = time.monotonic()
    wait_for(lambda: c.call("SET", "a", "3") == Reply("+", "OK"), 10, "the retry succeeds")
    assert _info(c, "persistence")["rdb_last_bgsave_status"] == "ok"
    assert time.monotonic() - started < 7
    c.close()


def test_the_fault_switch_needs_the_startup_flag() -> None:
    with start_activekv("--enable-debug-command", "yes") as proc:
        c = RespConnection(proc.port)
        assert c.call("DEBUG", "SET-DISK-FAULT", "eio") == Reply(
            "-", "ERR unknown subcommand or wrong number of arguments for 'SET-DISK-FAULT'. "
                 "Try DEBUG HELP.")
        assert c.call("SET", "a", "1") == Reply("+", "OK")
        c.close()
