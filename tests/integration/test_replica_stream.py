"""The replication stream as a replica reads it off the socket (a raw SYNC): the bulk form
(no ``capa eof``) is ``$<len>`` and the RDB, then the stream at once; a change is sent as
SELECT + RESTORE ... REPLACE ABSTTL of the key's resulting state (several changes of one key in
a loop turn: once, its final state), a deletion as DEL; PING every repl-ping-replica-period;
GETACK when WAIT blocks, and WAIT's count follows the replica's REPLCONF ACK."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import hiredis
import pytest

from server.harness.processes import ServerProcess, start_activekv
from tests.respclient import RespConnection, encode_command


@pytest.fixture
def region() -> Iterator[ServerProcess]:
    with start_activekv("--repl-ping-replica-period", "1") as proc:
        yield proc


class RawReplica:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.reader = hiredis.Reader()
        self.offset = 0

    def sync_bulk(self) -> bytes:
        self.sock.sendall(b"SYNC\r\n")
        buf = b""
        while b"\r\n" not in buf.lstrip(b"\n"):
            buf += self.sock.recv(65536)
        line, _, rest = buf.lstrip(b"\n").partition(b"\r\n")
        assert line.startswith(b"$") and not line.startswith(b"$EOF:"), line
        size = int(line[1:])
        while len(rest) < size:
            rest += self.sock.recv(65536)
        rdb, tail = rest[:size], rest[size:]
        assert rdb.startswith(b"REDIS0010")
        self.reader.feed(tail)
        self.offset += len(tail)
        return rdb

    def command(self, deadline_s: float = 5) -> list[bytes]:
        deadline = time.monotonic() + deadline_s
        while True:
            cmd = self.reader.gets()
            if cmd is not False:
                return list(cmd)
            assert time.monotonic() < deadline, "no command in time"
            data = self.sock.recv(65536)
            assert data, "closed"
            self.offset += len(data)
            self.reader.feed(data)

    def ack(self, offset: int) -> None:
        self.sock.sendall(encode_command(("REPLCONF", "ACK", str(offset))))


def test_bulk_sync_then_stream(region: ServerProcess) -> None:
    rep = RawReplica(region.port)
    conn = RespConnection(region.port)
    conn.call("SET", "before", "1")
    assert b"before" in rep.sync_bulk()
    # MULTI/EXEC: one turn; k written twice, then deleted x: k once (final state), x as DEL
    conn.call("SET", "x", "1")
    assert rep.command() == [b"SELECT", b"0"]
    restore = rep.command()
    assert restore[:2] == [b"RESTORE", b"x"] and restore[2] == b"0" and restore[4:] == [b"REPLACE", b"ABSTTL"]
    assert restore[3] == conn.call("DUMP", "x").plain()
    for cmd in (("MULTI",), ("SET", "k", "a"), ("APPEND", "k", "b"), ("PEXPIREAT", "k", "99999999999999"),
                ("DEL", "x"), ("EXEC",)):
        conn.call(*cmd)
    first, second = rep.command(), rep.command()
    assert first == [b"RESTORE", b"k", b"99999999999999", conn.call("DUMP", "k").plain(), b"REPLACE", b"ABSTTL"]
    assert second == [b"DEL", b"x"]
    conn.call("SELECT", "3")
    conn.call("FLUSHDB")
    assert rep.command() == [b"SELECT", b"3"]
    assert rep.command() == [b"FLUSHDB"]
    conn.call("FLUSHALL")
    assert rep.command() == [b"FLUSHALL"]
    # nothing written: a PING within the period (1 s)
    start = time.monotonic()
    assert rep.command(deadline_s=3) == [b"PING"]
    assert time.monotonic() - start < 2.5
    # WAIT blocks: the region asks for an ACK; the count follows the ACK
    conn.call("SET", "w", "1")
    conn.send_raw(encode_command(("WAIT", "1", "3000")))
    while rep.command() != [b"REPLCONF", b"GETACK", b"*"]:
        pass
    rep.ack(rep.offset)
    assert conn.read_reply().plain() == 1
    assert conn.call("WAIT", "1", "0").plain() == 1  # acknowledged already
    rep.sock.close()
    conn.close()


def test_wait_times_out_without_ack(region: ServerProcess) -> None:
    rep = RawReplica(region.port)
    conn = RespConnection(region.port)
    rep.sync_bulk()
    conn.call("SET", "a", "1")
    start = time.monotonic()
    assert conn.call("WAIT", "1", "300").plain() == 0  # never acknowledged
    assert 0.25 < time.monotonic() - start < 2
    info = conn.call("INFO", "replication").plain().decode()
    assert "state=online,offset=0," in info
    assert "connected_clients:1\r\n" in conn.call("INFO", "clients").plain().decode()
    rep.sock.close()
    conn.close()


def test_evictions_are_sent_as_deletes(region: ServerProcess) -> None:
    rep = RawReplica(region.port)
    conn = RespConnection(region.port)
    rep.sync_bulk()
    for i in range(200):
        conn.call("SET", f"k{i}", "v" * 1000)
    seen: set[bytes] = set()
    while len(seen) < 200:
        cmd = rep.command()
        if cmd[0] == b"RESTORE":
            seen.add(cmd[1])
    used = int(conn.call("INFO", "memory").plain().decode().split("used_memory:")[1].split("\r\n")[0])
    conn.call("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
    conn.call("CONFIG", "SET", "maxmemory", str(used * 2 // 3))
    conn.call("SET", "trigger", "x")  # a write makes room first
    left = conn.call("DBSIZE").plain()
    assert left < 200
    deleted: set[bytes] = set()
    while True:
        cmd = rep.command()
        if cmd[0] == b"DEL":
            deleted.add(cmd[1])
        elif cmd[:2] == [b"RESTORE", b"trigger"]:
            break
    assert len(deleted) == 201 - left
    assert all(conn.call("EXISTS", key).plain() == 0 for key in deleted)
    rep.sock.close()
    conn.close()


def test_replica_over_its_output_buffer_limit_is_dropped(region: ServerProcess) -> None:
    """client-output-buffer-limit's replica class: a replica that stops reading is closed
    once what it has not taken reaches the hard limit (its snapshot's backlog included)."""
    conn = RespConnection(region.port)
    assert conn.call("CONFIG", "SET", "client-output-buffer-limit", "replica 1mb 0 0").plain() == "OK"
    rep = RawReplica(region.port)
    rep.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    rep.sync_bulk()
    blob = os.urandom(200_000)
    for i in range(60):  # 12 MB of stream, more than the sockets hold
        conn.call("SET", f"b{i}", blob)
    deadline = time.monotonic() + 10
    while "connected_slaves:0" not in conn.call("INFO", "replication").plain().decode():
        assert time.monotonic() < deadline, "replica not dropped"
        time.sleep(0.05)
    assert conn.call("PING").plain() == "PONG"
    rep.sock.close()
    conn.close()


def test_client_list_and_kill_type_replica(region: ServerProcess) -> None:
    """As Redis: the replica's connection is TYPE replica with flag S (cmd=sync); CLIENT KILL
    TYPE replica drops it."""
    rep = RawReplica(region.port)
    conn = RespConnection(region.port)
    rep.sync_bulk()
    lines = conn.call("CLIENT", "LIST", "TYPE", "replica").plain().decode().splitlines()
    assert len(lines) == 1 and " flags=S " in lines[0] and " cmd=sync " in lines[0], lines
    assert " flags=S " not in conn.call("CLIENT", "LIST", "TYPE", "normal").plain().decode()
    assert conn.call("CLIENT", "KILL", "TYPE", "replica").plain() == 1
    deadline = time.monotonic() + 5
    while "connected_slaves:0" not in conn.call("INFO", "replication").plain().decode():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    for _ in range(100):  # closed (after whatever stream bytes were already on their way)
        if rep.sock.recv(65536) == b"":
            break
    else:
        raise AssertionError("the replica's connection stayed open")
    rep.sock.close()
    conn.close()


def test_sync_counters_in_info_stats(region: ServerProcess) -> None:
    """sync_full counts every full resync (redis-cli --rdb's too); sync_partial_err a PSYNC
    that asked to continue a replication id (always a full resync here)."""
    conn = RespConnection(region.port)
    RawReplica(region.port).sync_bulk()
    psync = socket.create_connection(("127.0.0.1", region.port), timeout=5)
    psync.sendall(encode_command(("PSYNC", "a" * 40, "100")))
    assert psync.recv(100).startswith(b"+FULLRESYNC ")
    stats = conn.call("INFO", "stats").plain().decode()
    assert "sync_full:2\r\nsync_partial_ok:0\r\nsync_partial_err:1\r\n" in stats
    psync.close()
    conn.close()


def _stat(conn: RespConnection, name: str) -> str:
    for line in conn.call("INFO", "stats").plain().decode().split("\r\n"):
        if line.startswith(name + ":"):
            return line.split(":", 1)[1]
    raise AssertionError(f"no {name} in INFO stats")


def test_repl_output_bytes_count_what_replicas_get(region: ServerProcess) -> None:
    """total_net_repl_output_bytes: the snapshot and the stream, as Redis counts writes to
    replicas; total_net_repl_input_bytes stays 0 (a region is never a replica)."""
    conn = RespConnection(region.port)
    assert _stat(conn, "total_net_repl_output_bytes") == "0"
    replica = RawReplica(region.port)
    rdb = replica.sync_bulk()
    sent = int(_stat(conn, "total_net_repl_output_bytes"))
    assert sent >= len(rdb) + len(b"$%d\r\n" % len(rdb))
    conn.call("SET", "k", os.urandom(1000))  # (incompressible: the RESTORE carries it all)
    assert replica.command()[0] == b"SELECT"
    assert replica.command()[:2] == [b"RESTORE", b"k"]
    assert int(_stat(conn, "total_net_repl_output_bytes")) >= sent + 1000
    assert _stat(conn, "total_net_repl_input_bytes") == "0"
    replica.sock.close()
    conn.close()


def test_expire_cycle_and_eviction_stats(region: ServerProcess) -> None:
    """expired_stale_perc follows the share of expired keys the expire cycle samples;
    current_eviction_exceeded_time counts while used_memory stays over maxmemory, and adds to
    total_eviction_exceeded_time once it is back under (Redis's INFO stats)."""
    conn = RespConnection(region.port)
    pipeline = b"".join(encode_command(("SET", f"e{i}", "v", "PX", "1")) for i in range(3000))
    conn.send_raw(pipeline)
    for _ in range(3000):
        conn.read_reply()
    deadline = time.monotonic() + 10
    while float(_stat(conn, "expired_stale_perc")) == 0 or int(_stat(conn, "expired_keys")) < 3000:
        assert time.monotonic() < deadline, "the expire cycle did not run"
        time.sleep(0.05)
    assert int(_stat(conn, "expire_cycle_cpu_milliseconds")) >= 0

    assert conn.call("CONFIG", "SET", "maxmemory", "1").value == "OK"  # noeviction: OOM
    assert conn.call("SET", "over", "1").type == "-"
    time.sleep(0.3)
    assert int(_stat(conn, "current_eviction_exceeded_time")) >= 250
    assert conn.call("CONFIG", "SET", "maxmemory", "0").value == "OK"
    deadline = time.monotonic() + 5
    while _stat(conn, "current_eviction_exceeded_time") != "0":  # the 100 ms tick ends it
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert int(_stat(conn, "total_eviction_exceeded_time")) >= 250
    conn.close()
