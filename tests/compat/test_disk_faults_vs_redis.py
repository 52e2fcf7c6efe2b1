"""MISCONF after a disk fault, byte for byte against redis-server 7.0, RESP2 and RESP3.

Redis's data directory is a real tmpfs filled up (its AOF write, or its BGSAVE, fails with
ENOSPC); activekv's op log or snapshot fails with the same errno through its test-only fault
layer, so both name the same cause. Then both get the same commands."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess, free_port, start_activekv
from server.harness.waiting import wait_for
from tests.compat.helpers import connect
from tests.conftest import Differential
from tests.multiregion.diskkit import fill, free, tmpfs
from tests.respclient import RespConnection

FAULTY = ("--debug-disk-faults", "yes", "--enable-debug-command", "yes")
BIG = "x" * 20000
LIBRARY = ("#!lua name=disk\n"
           "redis.register_function('w', function() return redis.call('set', 'k', 'v') end)\n"
           "redis.register_function{function_name='r', callback=function() return 1 end, "
           "flags={'no-writes'}}")  # more than a page: the AOF write cannot fit in a file's slack


def _redis_on(datadir: str, *args: str) -> ServerProcess:
    exe = shutil.which("redis-server")
    assert exe is not None, "redis-server is not installed (make test installs it)"
    port = free_port()
    argv = [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", datadir, *args]
    return ServerProcess(argv, port, tempfile.mkdtemp(prefix="redis-disk-"))


def _status(conn: RespConnection, field: str) -> str:
    text = conn.call("INFO", "persistence").value.decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)[field]


QUEUED_BEFORE: list[RespConnection] = []  # (redis, activekv): a MULTI with a SET queued before


@pytest.fixture(scope="module")
def aof_pair() -> Iterator[tuple[int, int]]:
    """redis with an AOF on a full tmpfs, activekv with an op log failing with ENOSPC."""
    with tmpfs("2m") as datadir:
        ref = _redis_on(datadir, "--appendonly", "yes", "--save", "")
        ours = start_activekv(*FAULTY, "--save", "")
        try:
            r, o = RespConnection(ref.port), RespConnection(ours.port)
            assert r.call("FUNCTION", "LOAD", LIBRARY) == o.call("FUNCTION", "LOAD", LIBRARY)
            for port in (ref.port, ours.port):
                conn = RespConnection(port)
                assert conn.call("MULTI").type == conn.call("SET", "q", "1").type == "+"
                QUEUED_BEFORE.append(conn)
            fill(datadir)
            assert o.call("DEBUG", "SET-DISK-FAULT", "enospc").type == "+"
            for conn in (r, o):
                wait_for(lambda c=conn: c.call("SET", "big", BIG).type == "-", 10,  # type: ignore[misc]
                         "writes refused")
            r.close()
            o.close()
            yield ref.port, ours.port
            free(datadir)
        finally:
            ref.stop()
            ours.stop()


@pytest.fixture(scope="module")
def rdb_pair() -> Iterator[tuple[int, int]]:
    """Both with a save point and a BGSAVE that failed (redis: full tmpfs)."""
    with tmpfs("2m") as datadir:
        ref = _redis_on(datadir, "--appendonly", "no", "--save", "3600 1")
        ours = start_activekv(*FAULTY, "--save", "3600 1")
        try:
            r, o = RespConnection(ref.port), RespConnection(ours.port)
            assert r.call("FUNCTION", "LOAD", LIBRARY) == o.call("FUNCTION", "LOAD", LIBRARY)
            assert r.call("SET", "big", BIG).type == "+"
            fill(datadir)
            assert o.call("DEBUG", "SET-DISK-FAULT", "snapshot-eio").type == "+"
            for conn in (r, o):
                assert conn.call("BGSAVE").value == "Background saving started"
                wait_for(lambda c=conn: _status(c, "rdb_last_bgsave_status") == "err", 10,  # type: ignore[misc]
                         "BGSAVE failed")
            r.close()
            o.close()
            yield ref.port, ours.port
            free(datadir)
        finally:
            ref.stop()
            ours.stop()


def _pair(ports: tuple[int, int], protocol: int) -> Differential:
    d = Differential.__new__(Differential)
    d.protocol = protocol
    d.ref, d.ours = connect(ports[0], protocol), connect(ports[1], protocol)
    return d


COMMON = [
    ("SET", "k", "v"),
    ("DEL", "k"),
    ("INCR", "n"),
    ("GET", "k"),
    ("PING",),
    ("PING", "hello"),
    ("ECHO", "e"),
    ("EXISTS", "k"),
    ("FLUSHALL",),
    ("PUBLISH", "ch", "m"),
    ("CONFIG", "GET", "maxmemory"),
    ("EXPIRE", "k", "10"),
    ("MULTI",), ("SET", "k", "v"), ("GET", "k"), ("EXEC",),
    ("MULTI",), ("GET", "k"), ("EXEC",),
    ("EVAL", "return redis.call('get', 'k')", "0"),
    ("EVAL", "return redis.call('set', 'k', 'v')", "0"),
    ("EVAL", "return redis.pcall('set', 'k', 'v')", "0"),
    ("EVAL", "return 1", "0"),
    ("EVAL", "#!lua\nreturn redis.call('get', 'k')", "0"),
    ("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'k')", "0"),
    ("EVAL_RO", "return redis.call('get', 'k')", "0"),
    ("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)"),
    ("FCALL", "w", "0"),
    ("FCALL", "r", "0"),
    ("FCALL_RO", "r", "0"),
    ("FCALL_RO", "w", "0"),
]


@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
def test_aof_write_error_replies_as_redis(aof_pair: tuple[int, int], protocol: int) -> None:
    d = _pair(aof_pair, protocol)
    try:
        d.check_all(*COMMON)
        for field in ("rdb_last_bgsave_status", "aof_last_write_status"):
            assert _status(d.ours, field) == _status(d.ref, field), field
        assert _status(d.ours, "aof_last_write_status") == "err"
    finally:
        d.close()


@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
def test_bgsave_error_replies_as_redis(rdb_pair: tuple[int, int], protocol: int) -> None:
    d = _pair(rdb_pair, protocol)
    try:
        d.check_all(*COMMON)
        d.check("CONFIG", "SET", "stop-writes-on-bgsave-error", "no")
        d.check("SET", "k", "v")
        d.check("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes")
        d.check("SET", "k", "v")
        d.check("SAVE")
        for field in ("rdb_last_bgsave_status", "aof_last_bgrewrite_status", "aof_last_write_status"):
            assert _status(d.ours, field) == _status(d.ref, field), field
        assert _status(d.ours, "rdb_last_bgsave_status") == "err"
    finally:
        d.close()


def test_exec_of_writes_queued_before_the_fault_is_refused_as_redis(
        aof_pair: tuple[int, int]) -> None:
    ref, ours = QUEUED_BEFORE
    reply = ours.call("EXEC")
    assert reply == ref.call("EXEC")
    assert reply.value.startswith("EXECABORT Transaction discarded because of: MISCONF")
    assert ours.call("EXEC") == ref.call("EXEC")  # the transaction was discarded
    ref.close()
    ours.close()


def test_subscribed_ping_is_refused_as_redis(aof_pair: tuple[int, int]) -> None:
    d = _pair(aof_pair, 2)
    try:
        d.check("SUBSCRIBE", "ch")
        d.check("PING")
        d.check("SET", "k", "v")
    finally:
        d.close()
