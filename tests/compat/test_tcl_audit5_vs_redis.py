"""Fifth round of the audit against Redis's own TCL tests (/work/redis-tests, outside the repo:
a regression run of every file audited so far, then unit/wait and unit/memefficiency's
efficiency tests). Each difference fixed is pinned here against a real redis-server, RESP2 and
RESP3; so is wait.tcl's behaviour with a stock Redis replica that stops answering. Our own
tests, not copies of Redis's."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess, start_activekv, start_redis
from tests.compat.helpers import connect
from tests.conftest import Differential
from tests.respclient import Reply, RespConnection

# -- WAIT's argument errors: the timeout is named as Redis's getTimeoutFromObjectOrReply does --


def test_wait_argument_errors_are_redis(diff: Differential) -> None:
    diff.check_all(
        ("WAIT", "1", "abc"),                  # ERR timeout is not an integer or out of range
        ("WAIT", "1", "1.5"),
        ("WAIT", "1", "9223372036854775808"),  # past LLONG_MAX
        ("WAIT", "1", ""),
        ("WAIT", "1", "-1"),                   # ERR timeout is negative
        ("WAIT", "x", "abc"),                  # the replica count is parsed first
        ("WAIT", "99999999999999999999", "1"),
        ("WAIT", "1"),                         # arity
        ("WAIT", "1", "1", "1"),
        ("WAIT", "0", "0"),                    # no replicas: 0 at once
        ("WAIT", "-1", "0"),
        ("WAIT", "2", "20"),                   # none acknowledge within 20 ms
    )


def test_wait_argument_errors_in_multi_are_redis(diff: Differential) -> None:
    diff.check("MULTI")
    for cmd in (("WAIT", "1", "abc"), ("WAIT", "1", "-5"), ("WAIT", "3", "0"), ("SET", "k", "v")):
        diff.check(*cmd)  # QUEUED: the errors come with EXEC
    diff.check("EXEC")


# -- wait.tcl: WAIT counts a stock Redis replica, and not while it is stopped ----------------


def _link_up(replica: RespConnection) -> bool:
    info = replica.call("INFO", "replication").value
    assert isinstance(info, bytes)
    return b"master_link_status:up" in info


@pytest.fixture(scope="module")
def replicated() -> Iterator[list[tuple[ServerProcess, ServerProcess]]]:
    """redis-server and activekv, each with a redis-server replica: [(primary, replica), ...]."""
    with start_redis("--repl-diskless-sync-delay", "0") as ref, start_activekv() as ours:
        with start_redis("--replicaof", "127.0.0.1", str(ref.port)) as ref_replica, \
                start_redis("--replicaof", "127.0.0.1", str(ours.port)) as our_replica:
            pairs = [(ref, ref_replica), (ours, our_replica)]
            for _, replica in pairs:
                conn = RespConnection(replica.port)
                deadline = time.monotonic() + 10
                while not _link_up(conn) and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert _link_up(conn), "the replica did not sync"
                conn.close()
            yield pairs
            for _, replica in pairs:  # never leave a stopped process behind
                os.kill(replica.proc.pid, signal.SIGCONT)


@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
def test_wait_counts_a_redis_replica_but_not_while_it_is_stopped(
        replicated: list[tuple[ServerProcess, ServerProcess]], protocol: int) -> None:
    results = []
    for primary, replica in replicated:
        conn, rconn = connect(primary.port, protocol), RespConnection(replica.port)
        pid = replica.proc.pid
        try:
            got = [conn.call("SET", "foo", "0"), conn.call("INCR", "foo"), conn.call("INCR", "foo"),
                   conn.call("WAIT", "1", "5000"), rconn.call("GET", "foo"),
                   conn.call("WAIT", "2", "200")]  # only one replica: 1, after the timeout
            os.kill(pid, signal.SIGSTOP)
            try:
                got += [conn.call("INCR", "foo"), conn.call("WAIT", "1", "300")]  # 0: no ack
            finally:
                os.kill(pid, signal.SIGCONT)
            got.append(conn.call("WAIT", "1", "5000"))  # the replica is back: 1
            # a write made under CLIENT PAUSE WRITE (in MULTI) while the replica is stopped
            os.kill(pid, signal.SIGSTOP)
            try:
                got += [conn.call("MULTI"), conn.call("INCR", "foo"),
                        conn.call("CLIENT", "PAUSE", "10000", "WRITE"), conn.call("EXEC"),
                        conn.call("WAIT", "1", "300"), conn.call("CLIENT", "UNPAUSE")]
            finally:
                conn.call("CLIENT", "UNPAUSE")
                os.kill(pid, signal.SIGCONT)
            got += [conn.call("WAIT", "1", "5000"), rconn.call("GET", "foo")]
            # a client that wrote nothing waits for nothing (Redis's c->woff is 0): at once.
            # (Not after a read: Redis moves c->woff to the stream's end when anything, here
            # the GETACK of the WAIT before, entered the stream during the read's call.)
            os.kill(pid, signal.SIGSTOP)
            fresh = RespConnection(primary.port)  # (no HELLO: its first command is the WAIT)
            try:
                got.append(fresh.call("WAIT", "1", "300"))  # (its first command: see below)
            finally:
                fresh.close()
                os.kill(pid, signal.SIGCONT)
            results.append(got)
        finally:
            conn.close()
            rconn.close()
    ref, ours = results
    assert ours == ref
    assert [r.plain() for r in ref[3:6]] == [1, b"2", 1]
    assert ref[7].plain() == 0 and ref[8].plain() == 1
    assert ref[13].plain() == 0 and ref[15].plain() == 1 and ref[16].plain() == b"4"
    assert ref[17].plain() == 1


# -- HELLO names the connection where SETNAME appears (Redis 7.0; 7.2 defers it) -------------


def _hello_then_name(port: int, protocol: int, opts: tuple[str, ...],
                     password: str | None = None) -> tuple[Reply, Reply]:
    """A fresh connection sends HELLO ``protocol`` ``opts``: (its error or reply type, then the
    connection's name, read after AUTH ``password`` when given)."""
    conn = RespConnection(port)
    try:
        hello = conn.call("HELLO", str(protocol), *opts)
        if hello.type != "-":
            hello = Reply(hello.type, None)  # the map holds the connection id: compare its type
        if password is not None:
            assert conn.call("AUTH", password).plain() == "OK"
        return hello, conn.call("CLIENT", "GETNAME")
    finally:
        conn.close()


@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
def test_hello_names_the_connection_where_setname_appears(redis_ref: ServerProcess, activekv: ServerProcess,
                                                          protocol: int) -> None:
    cases: list[tuple[str, ...]] = [
        ("SETNAME", "n1", "BOGUS"),                # named, then the syntax error
        ("SETNAME", "n2", "SETNAME", "bad name"),  # named n2, then the bad name refused
        ("SETNAME", "n3", "SETNAME"),
        ("SETNAME", "n4", "AUTH", "nouser", "pw"),  # named, then WRONGPASS
        ("AUTH", "nouser", "pw", "SETNAME", "n5"),  # WRONGPASS first: no name
        ("SETNAME", "bad name", "SETNAME", "n6"),
        ("SETNAME", "n7", "SETNAME", "n8"),         # the last one wins
        ("SETNAME", "n9", "SETNAME", ""),           # "" clears the name
    ]
    for opts in cases:
        ref = _hello_then_name(redis_ref.port, protocol, opts)
        ours = _hello_then_name(activekv.port, protocol, opts)
        assert ours == ref, f"HELLO {protocol} {opts}: redis {ref!r}, activekv {ours!r}"
    assert _hello_then_name(redis_ref.port, protocol, cases[1])[1].plain() == b"n2"
    # not yet authenticated: the name is set, then -NOAUTH
    admin = [RespConnection(p.port) for p in (redis_ref, activekv)]
    try:
        for conn in admin:
            assert conn.call("CONFIG", "SET", "requirepass", "audit5").plain() == "OK"
        got = [_hello_then_name(p.port, protocol, ("SETNAME", "early"), password="audit5")
               for p in (redis_ref, activekv)]
    finally:
        for conn in admin:
            conn.call("CONFIG", "SET", "requirepass", "")
            conn.close()
    assert got[1] == got[0]
    assert got[0][0].type == "-" and got[0][1].plain() == b"early"
