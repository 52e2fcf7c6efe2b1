"""MIGRATE and RESTORE-ASKING against redis-server 7.0.15, RESP2 and RESP3.

Syntax errors, +NOKEY and the socket errors compare the two replies to the same command. A
transfer needs a target: Redis migrates to one redis-server of this module, activekv to
another, with the same commands, so the targets' replies (BUSYKEY, WRONGPASS, DB index...)
and what they hold afterwards can be compared too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from server.harness.processes import ServerProcess, free_port, start_redis
from server.harness.silent import Scripted, Silent
from tests.compat.helpers import until_marker
from tests.conftest import Differential
from tests.respclient import Reply, RespConnection

HOST = "127.0.0.1"


@pytest.fixture(scope="module")
def targets() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """(Redis's target, activekv's target): two plain redis-servers with a user "mig"."""
    with start_redis() as a, start_redis() as b:
        for t in (a, b):
            conn = RespConnection(t.port)
            conn.call("ACL", "SETUSER", "mig", "on", ">pw", "~*", "+@all")
            conn.close()
        yield a, b


@pytest.fixture(scope="module")
def silent() -> Iterator[Silent]:
    s = Silent()
    yield s
    s.close()


@pytest.fixture
def tconns(targets: tuple[ServerProcess, ServerProcess]) -> Iterator[list[RespConnection]]:
    conns = [RespConnection(t.port) for t in targets]
    for conn in conns:
        conn.call("FLUSHALL")
    yield conns
    for conn in conns:
        conn.close()


def migrate(d: Differential, targets: tuple[ServerProcess, ServerProcess], *args: Any) -> Reply:
    """MIGRATE 127.0.0.1 <its own target> ``args``: the same reply from both."""
    ref = d.ref.call("MIGRATE", HOST, targets[0].port, *args)
    ours = d.ours.call("MIGRATE", HOST, targets[1].port, *args)
    assert ours == ref, f"RESP{d.protocol} MIGRATE {args!r}:\n  redis:    {ref!r}\n  activekv: {ours!r}"
    return ours


def both_targets(tconns: list[RespConnection], *cmd: Any) -> Reply:
    ref, ours = (conn.call(*cmd) for conn in tconns)
    assert ours == ref, f"targets {cmd!r}: {ref!r} / {ours!r}"
    return ours


def test_syntax_and_argument_errors(diff: Differential) -> None:
    port = free_port()
    for args in (
        ("k", 0, 100, "foo"), ("k", 0, 100, "auth"), ("k", 0, 100, "auth2", "u"),
        ("k", 0, 100, "copy", "auth2"), ("k", 0, 100, "keys", "a"), ("k", 0, 100, "keys"),
        ("k", 0, 100, "COPY", "KEYS", "a", "b"), ("k", "x", 100), ("k", 0, "x"),
        ("k", 0, "99999999999999999999"), ("", 0, 100, "replace", "bogus", "keys", "a"),
        ("k", 0, 100, "auth", "p", "keys"),  # the key must be empty before anything else
    ):
        err = diff.check("MIGRATE", HOST, port, *args)
        assert err.type == "-", args
    diff.check("MIGRATE", HOST, port, "k")  # arity
    diff.check("MIGRATE", HOST, port, "k", 0)


def test_nokey_when_no_key_exists(diff: Differential) -> None:
    port = free_port()
    assert diff.check("MIGRATE", HOST, port, "nokey", 0, 100).value == "NOKEY"
    assert diff.check("MIGRATE", HOST, port, "", 0, 100).value == "NOKEY"
    assert diff.check("MIGRATE", HOST, port, "", 0, 100, "KEYS").value == "NOKEY"
    assert diff.check("MIGRATE", HOST, port, "", 0, 100, "copy", "KEYS", "a", "b").value == "NOKEY"
    diff.check("SET", "k", "v")
    diff.check("PEXPIRE", "k", 1)
    time.sleep(0.01)
    assert diff.check("MIGRATE", HOST, port, "k", 0, 100).value == "NOKEY"  # expired


def test_socket_errors(diff: Differential) -> None:
    diff.check("SET", "k", "v")
    refused = free_port()  # nothing listens there: Redis's connect "succeeds", the write fails
    assert diff.check("MIGRATE", HOST, refused, "k", 0, 100).value.startswith("IOERR error or timeout writing")
    diff.check("MIGRATE", HOST, "notaport", "k", 0, 100)  # atoi: port 0
    # atoi of a long: clamped to a long, then cut to an int (-1: getaddrinfo refuses it)
    assert diff.check("MIGRATE", HOST, "999999999999999999999999", "k", 0, 100).value.endswith("connecting to the client")
    diff.check("MIGRATE", HOST, str(2**32 + refused), "k", 0, 100)
    assert diff.check("MIGRATE", HOST, -5, "k", 0, 100).value == "IOERR error or timeout connecting to the client"
    diff.check("MIGRATE", HOST, refused, "", 0, 0, "KEYS", "k", "missing")  # timeout 0: 1000 ms
    diff.check("EXISTS", "k")


def test_a_target_that_never_answers_times_out(diff: Differential, silent: Silent) -> None:
    diff.check("SET", "k", "v")
    err = diff.check("MIGRATE", HOST, silent.port, "k", 0, 100)
    assert err.value == "IOERR error or timeout reading to target instance"
    diff.check("GET", "k")  # the key stays at the source


def test_other_clients_are_served_while_the_target_is_silent(diff: Differential, silent: Silent,
                                                             activekv: ServerProcess) -> None:
    """Redis blocks everyone during MIGRATE; activekv only the calling client."""
    diff.ours.call("SET", "k", "v")
    waiting = RespConnection(activekv.port)
    other = RespConnection(activekv.port)
    try:
        started = time.monotonic()
        waiting.sock.sendall(b"*6\r\n$7\r\nMIGRATE\r\n$9\r\n127.0.0.1\r\n$%d\r\n%d\r\n$1\r\nk\r\n$1\r\n0\r\n$4\r\n1500\r\n"
                             % (len(str(silent.port)), silent.port))
        time.sleep(0.2)
        assert other.call("PING").value == "PONG"
        assert other.call("SET", "x", "1").value == "OK"
        # not a blocked client as Redis knows them (MIGRATE is synchronous there)
        info = other.call("INFO", "clients").value
        assert b"blocked_clients:0" in (info if isinstance(info, bytes) else str(info).encode())
        line = [ln for ln in other.call("CLIENT", "LIST").value.split(b"\n") if b"cmd=migrate" in ln]
        assert len(line) == 1 and b" flags=N " in line[0], line
        waiting_id = line[0].split(b" ")[0].split(b"=")[1]
        assert other.call("CLIENT", "UNBLOCK", waiting_id).value == 0
        assert time.monotonic() - started < 1.2  # served long before the MIGRATE timed out
        reply = waiting.read_reply()
        assert reply == Reply("-", "IOERR error or timeout reading to target instance")
        assert time.monotonic() - started >= 1.4
        assert waiting.call("GET", "k").value == b"v"
    finally:
        waiting.close()
        other.close()


def test_migrate_moves_keys_with_their_ttls(diff: Differential, targets: tuple[ServerProcess, ServerProcess],
                                            tconns: list[RespConnection]) -> None:
    diff.check("SET", "k", "v")
    diff.check("PEXPIRE", "k", 100000)
    assert migrate(diff, targets, "k", 0, 1000).value == "OK"
    diff.check("EXISTS", "k")
    assert both_targets(tconns, "GET", "k").value == b"v"
    ttls = [conn.call("PTTL", "k").value for conn in tconns]
    assert all(90000 < t <= 100000 for t in ttls), ttls
    # KEYS, another database (SELECT on the target), a missing key among them
    diff.check("RPUSH", "l", "a", "b")
    diff.check("SADD", "s", "x")
    diff.check("HSET", "h", "f", "v")
    diff.check("ZADD", "z", "1.5", "m")
    assert migrate(diff, targets, "", 3, 1000, "KEYS", "l", "missing", "s", "h", "z").value == "OK"
    diff.check("DBSIZE")
    tconns[0].call("SELECT", 3)
    tconns[1].call("SELECT", 3)
    assert both_targets(tconns, "LRANGE", "l", 0, -1).plain() == [b"a", b"b"]
    assert both_targets(tconns, "SMEMBERS", "s").plain() == [b"x"]
    both_targets(tconns, "HGETALL", "h")
    both_targets(tconns, "ZRANGE", "z", 0, -1, "WITHSCORES")
    both_targets(tconns, "DBSIZE")
    ref_info = diff.ref.call("INFO", "stats").value
    our_info = diff.ours.call("INFO", "stats").value
    for info in (ref_info, our_info):
        text = info.decode() if isinstance(info, bytes) else str(info)
        assert "migrate_cached_sockets:" in text
        assert int(text.split("migrate_cached_sockets:")[1].split()[0]) >= 1


def test_copy_replace_and_busykey(diff: Differential, targets: tuple[ServerProcess, ServerProcess],
                                  tconns: list[RespConnection]) -> None:
    for conn in tconns:
        conn.call("SET", "k", "old")
    diff.check("SET", "k", "new")
    err = migrate(diff, targets, "k", 0, 1000)
    assert err.value == "ERR Target instance replied with error: BUSYKEY Target key name already exists."
    diff.check("GET", "k")
    assert migrate(diff, targets, "k", 0, 1000, "COPY").type == "-"
    assert migrate(diff, targets, "k", 0, 1000, "COPY", "REPLACE").value == "OK"
    assert diff.check("GET", "k").value == b"new"  # COPY keeps it
    assert both_targets(tconns, "GET", "k").value == b"new"
    diff.check("SET", "k", "newer")
    diff.check("SET", "j", "1")
    # one RESTORE refused, one accepted: the accepted key is deleted, the reply is the error
    for conn in tconns:
        conn.call("DEL", "k")
        conn.call("SET", "j", "there")
    err = migrate(diff, targets, "", 0, 1000, "KEYS", "k", "j")
    assert err.value.startswith("ERR Target instance replied with error: BUSYKEY")
    diff.check("EXISTS", "k")
    diff.check("GET", "j")
    assert migrate(diff, targets, "", 0, 1000, "REPLACE", "KEYS", "j").value == "OK"
    diff.check("EXISTS", "j")


def test_auth_auth2_and_target_errors(diff: Differential, targets: tuple[ServerProcess, ServerProcess],
                                      tconns: list[RespConnection]) -> None:
    diff.check("SET", "k", "v")
    # AUTH's error is the reply even though the RESTORE after it (no password needed) worked
    err = migrate(diff, targets, "k", 0, 1000, "AUTH", "pw")
    assert err.value.startswith("ERR Target instance replied with error: ERR AUTH <password> called without")
    assert both_targets(tconns, "GET", "k").value == b"v"
    both_targets(tconns, "DEL", "k")
    err = migrate(diff, targets, "k", 0, 1000, "AUTH2", "mig", "wrong")
    assert err.value.startswith("ERR Target instance replied with error: WRONGPASS")
    both_targets(tconns, "DEL", "k")
    err = migrate(diff, targets, "k", 99, 1000)
    assert err.value == "ERR Target instance replied with error: ERR DB index is out of range"
    diff.check("GET", "k")
    assert both_targets(tconns, "DEL", "k").value == 1  # restored in the database selected before
    assert migrate(diff, targets, "k", 0, 1000, "AUTH2", "mig", "pw", "COPY").value == "OK"
    for conn in tconns:
        conn.call("CONFIG", "SET", "requirepass", "secret")
    try:
        for conn in tconns:
            conn.call("CLIENT", "KILL", "USER", "mig")  # the cached connection: its retry connects anew
        diff.check("SET", "k2", "v")
        err = migrate(diff, targets, "k2", 0, 1000)
        assert err.value.startswith("ERR Target instance replied with error: NOAUTH")
        assert migrate(diff, targets, "k2", 0, 1000, "AUTH", "secret").value == "OK"
        diff.check("EXISTS", "k2")
    finally:
        for conn in tconns:
            conn.call("AUTH", "secret")
            conn.call("CONFIG", "SET", "requirepass", "")


def test_migrate_in_multi_and_scripts(diff: Differential, targets: tuple[ServerProcess, ServerProcess],
                                      tconns: list[RespConnection]) -> None:
    diff.check("SET", "a", "1")
    diff.check("SET", "b", "2")
    diff.check("MULTI")
    for conn, t in ((diff.ref, targets[0]), (diff.ours, targets[1])):
        assert conn.call("MIGRATE", HOST, t.port, "a", 0, 1000).value == "QUEUED"
    diff.check("GET", "a")
    diff.check("EXEC")
    script = "return redis.call('MIGRATE', ARGV[1], ARGV[2], 'b', '0', '1000')"
    ref = diff.ref.call("EVAL", script, 0, HOST, targets[0].port)
    ours = diff.ours.call("EVAL", script, 0, HOST, targets[1].port)
    assert ours == ref
    diff.check("EXISTS", "a", "b")
    assert both_targets(tconns, "MGET", "a", "b").plain() == [b"1", b"2"]


def test_restore_asking_is_restore(diff: Differential) -> None:
    diff.check("RPUSH", "l", "a", "b", "c")
    payload = diff.check("DUMP", "l").value
    diff.check("RESTORE-ASKING", "l", 0, payload)
    diff.check("RESTORE-ASKING", "l2", 5000, payload)
    diff.check("LRANGE", "l2", 0, -1)
    diff.check("RESTORE-ASKING", "l2", 0, payload, "REPLACE", "IDLETIME", 10)
    diff.check("RESTORE-ASKING", "l3", 0, b"garbage")
    diff.check("RESTORE-ASKING", "l3", 0, payload, "bogus")
    diff.check("RESTORE-ASKING", "l3")
    diff.check("COMMAND", "INFO", "RESTORE-ASKING", "MIGRATE")
    diff.check("COMMAND", "GETKEYS", "MIGRATE", HOST, "1", "", "0", "5", "KEYS", "a", "b")
    diff.check("COMMAND", "GETKEYS", "MIGRATE", HOST, "1", "k", "0", "5")
    diff.check("COMMAND", "GETKEYS", "MIGRATE", HOST, "1", "k", "0", "5", "KEYS", "a")
    diff.check("COMMAND", "GETKEYS", "MIGRATE", HOST, "1", "", "0", "5", "AUTH2", "keys", "x", "KEYS", "a")
    diff.check("COMMAND", "GETKEYS", "MIGRATE", HOST, "1", "", "0", "5", "KEYS")
    diff.check("COMMAND", "GETKEYSANDFLAGS", "MIGRATE", HOST, "1", "", "0", "5", "COPY", "KEYS", "a", "b")


def test_keyspace_events_of_the_deleted_keys(diff: Differential, targets: tuple[ServerProcess, ServerProcess],
                                             tconns: list[RespConnection], redis_ref: ServerProcess,
                                             activekv: ServerProcess) -> None:
    listeners = [RespConnection(p.port) for p in (redis_ref, activekv)]
    try:
        for conn in listeners:
            assert conn.call("PSUBSCRIBE", "__key*__:*").type in "*>"
            assert conn.call("SUBSCRIBE", "marker").type in "*>"
        diff.check("MSET", "a", "1", "b", "2", "c", "3")
        diff.check("CONFIG", "SET", "notify-keyspace-events", "KEA")
        for conn in tconns:
            conn.call("SET", "b", "busy")
        migrate(diff, targets, "", 0, 1000, "KEYS", "a", "b", "missing")  # b refused: a only
        migrate(diff, targets, "c", 0, 1000, "COPY")  # COPY: no event
        diff.check("PUBLISH", "marker", "end")
        ref, ours = (until_marker(conn) for conn in listeners)
        assert ours == ref
        assert len(ours) == 2  # __keyspace@0__:a del, __keyevent@0__:del a
    finally:
        diff.check("CONFIG", "SET", "notify-keyspace-events", "")
        for conn in listeners:
            conn.close()


def test_slowlog_hides_the_passwords(diff: Differential) -> None:
    diff.check("CONFIG", "SET", "slowlog-log-slower-than", 0)
    try:
        diff.check("SLOWLOG", "RESET")
        diff.check("MIGRATE", HOST, free_port(), "nokey", 0, 100, "AUTH", "secret", "AUTH2", "u", "pw2")
        diff.check("AUTH", "user", "pw3")
        entries = [conn.call("SLOWLOG", "GET", 3).plain() for conn in (diff.ref, diff.ours)]
        args = [[e[3] for e in entries_of] for entries_of in entries]
        assert args[1] == args[0]
        assert [b"AUTH", b"(redacted)", b"(redacted)"] in args[1]
        assert b"secret" not in args[1][1] and b"pw2" not in args[1][1] and b"(redacted)" in args[1][1]
    finally:
        diff.check("CONFIG", "SET", "slowlog-log-slower-than", 10000)


def test_monitor_hides_the_passwords(diff: Differential, redis_ref: ServerProcess, activekv: ServerProcess) -> None:
    port = free_port()
    monitors = [RespConnection(p.port) for p in (redis_ref, activekv)]
    try:
        for conn in monitors:
            assert conn.call("MONITOR").value == "OK"
        diff.check("SET", "k", "v")
        diff.check("MIGRATE", HOST, port, "k", 0, 100, "AUTH", "secret", "AUTH2", "user", "pw2", "COPY")
        diff.check("MIGRATE", HOST, port, "", 0, 100, "AUTH2", "u", "p", "KEYS", "auth", "k")
        diff.check("ECHO", "marker")
        lines = []
        for conn in monitors:
            seen = []
            for _ in range(20):
                line = conn.read_reply().value
                seen.append(line.split("] ", 1)[1])
                if seen[-1] == '"ECHO" "marker"':
                    break
            lines.append(seen)
        assert lines[1] == lines[0]
        assert not any("secret" in line or "pw2" in line for line in lines[1])
    finally:
        for conn in monitors:
            conn.close()


def test_a_target_that_closes_after_the_first_reply(diff: Differential) -> None:
    """SELECT and the first RESTORE acknowledged, then the connection ends: the first key is
    deleted, the second stays, the reply is the read error (no retry once a reply was read)."""
    diff.check("SET", "a", "1")
    diff.check("SET", "b", "2")
    with Scripted(b"+OK\r\n+OK\r\n", commands=3) as target:
        err = diff.check("MIGRATE", HOST, target.port, "", 0, 1000, "KEYS", "a", "b")
    assert err.value == "IOERR error or timeout reading to target instance"
    diff.check("EXISTS", "a")
    diff.check("EXISTS", "b")
    with Scripted(b"-ERR nope\r\n", commands=2) as target:  # SELECT refused, nothing read after
        diff.check("MIGRATE", HOST, target.port, "b", 0, 1000)
    diff.check("EXISTS", "b")
