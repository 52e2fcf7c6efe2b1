"""Blocking XREAD and XREADGROUP against redis-server 7.0.15 (RESP2 and RESP3): timeouts, wake-up
by an XADD on another connection, ``$``, COUNT, several keys, first blocked first served, a key
of another type, NOACK, and MULTI (which answers at once). Every wait is bounded."""

from __future__ import annotations

import time
from typing import Any

import pytest

from server.harness.processes import ServerProcess
from tests.compat.helpers import connect as _conn
from tests.conftest import Differential
from tests.respclient import RespConnection, encode_command


def _send(diff: Differential, *args: Any) -> None:
    for conn in (diff.ref, diff.ours):
        conn.send_raw(encode_command(args))


def _read_same(diff: Differential) -> None:
    ref, ours = diff.ref.read_reply(), diff.ours.read_reply()
    assert ours == ref, f"redis {ref!r}, activekv {ours!r}"


def _on_both(other: list[RespConnection], *cmd: Any) -> None:
    replies = [conn.call(*cmd) for conn in other]
    assert replies[0] == replies[1], replies


def test_timeouts(diff: Differential) -> None:
    diff.check("XADD", "s", "1-1", "f", "v")
    diff.check("XGROUP", "CREATE", "s", "g", "$")
    for cmd in (("XREAD", "BLOCK", "100", "STREAMS", "s", "nokey", "$", "$"),
                ("XREAD", "BLOCK", "100", "STREAMS", "s", "1-1"),
                ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "100", "STREAMS", "s", ">")):
        start = time.monotonic()
        diff.check(*cmd)
        assert 0.08 <= time.monotonic() - start < 3


@pytest.mark.parametrize("cmd", [
    ("XREAD", "BLOCK", "2000", "STREAMS", "a", "s", "$", "$"),
    ("XREAD", "BLOCK", "0", "STREAMS", "s", "$"),
    ("XREAD", "BLOCK", "2000", "COUNT", "1", "STREAMS", "s", "0"),
    ("XREAD", "BLOCK", "2000", "STREAMS", "s", "5-1"),
])
def test_xread_woken_by_xadd(diff: Differential, other: list[RespConnection], cmd: tuple[str, ...]) -> None:
    _send(diff, *cmd)
    _send(diff, "XLEN", "s")  # pipelined behind the blocked command
    time.sleep(0.1)
    _on_both(other, "XADD", "s", "7-1", "f", "v")
    _read_same(diff)
    _read_same(diff)


def test_xread_ignores_a_smaller_id_and_other_types(diff: Differential, other: list[RespConnection]) -> None:
    diff.check("XADD", "s", "5-1", "f", "v")
    _send(diff, "XREAD", "BLOCK", "400", "STREAMS", "s", "k", "8-0", "$")
    time.sleep(0.05)
    _on_both(other, "XADD", "s", "6-1", "f", "v")  # below the ID waited for
    _on_both(other, "SET", "k", "v")
    _read_same(diff)  # the timeout
    _send(diff, "XREAD", "BLOCK", "2000", "STREAMS", "s", "8-0")
    time.sleep(0.05)
    _on_both(other, "XADD", "s", "9-1", "f", "v")
    _read_same(diff)


def test_first_blocked_first_served(diff: Differential, redis_ref: ServerProcess, activekv: ServerProcess,
                                    other: list[RespConnection]) -> None:
    waiting = [[_conn(redis_ref.port, diff.protocol), _conn(activekv.port, diff.protocol)] for _ in range(3)]
    try:
        for pair in waiting:
            for conn in pair:
                conn.send_raw(encode_command(("XREAD", "BLOCK", "2000", "STREAMS", "s", "$")))
            time.sleep(0.05)
        _on_both(other, "XADD", "s", "1-1", "f", "v")
        for pair in waiting:  # every reader of the stream is served (nothing is consumed)
            assert pair[1].read_reply() == pair[0].read_reply()
    finally:
        for pair in waiting:
            for conn in pair:
                conn.close()


@pytest.mark.parametrize("noack", [False, True])
def test_xreadgroup_woken_by_xadd(diff: Differential, other: list[RespConnection], noack: bool) -> None:
    diff.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    opts = ("NOACK",) if noack else ()
    _send(diff, "XREADGROUP", "GROUP", "g", "alice", *opts, "BLOCK", "2000", "STREAMS", "s", ">")
    time.sleep(0.1)
    _on_both(other, "XADD", "s", "3-1", "f", "v")
    _read_same(diff)
    diff.check("XPENDING", "s", "g")
    diff.check("XINFO", "GROUPS", "s")


def test_xreadgroup_consumers_share_entries(diff: Differential, redis_ref: ServerProcess, activekv: ServerProcess,
                                            other: list[RespConnection]) -> None:
    diff.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    bob = [_conn(redis_ref.port, diff.protocol), _conn(activekv.port, diff.protocol)]
    try:
        _send(diff, "XREADGROUP", "GROUP", "g", "alice", "BLOCK", "2000", "STREAMS", "s", ">")
        time.sleep(0.05)
        for conn in bob:
            conn.send_raw(encode_command(("XREADGROUP", "GROUP", "g", "bob", "BLOCK", "300", "STREAMS", "s", ">")))
        time.sleep(0.05)
        _on_both(other, "XADD", "s", "3-1", "f", "v")
        _read_same(diff)  # alice, first blocked, gets the entry
        assert bob[1].read_reply() == bob[0].read_reply()  # bob finds nothing new: times out
    finally:
        for conn in bob:
            conn.close()
    diff.check("XPENDING", "s", "g")


def test_multi_answers_at_once(diff: Differential) -> None:
    diff.check_all(
        ("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"), ("MULTI",),
        ("XREAD", "BLOCK", "0", "STREAMS", "s", "$"), ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"),
        ("XADD", "s", "1-1", "f", "v"), ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"), ("EXEC",),
    )


@pytest.mark.parametrize("how", [(), ("TIMEOUT",), ("ERROR",)])
def test_client_unblock(diff: Differential, other: list[RespConnection], how: tuple[str, ...]) -> None:
    diff.check("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    ids = [conn.call("CLIENT", "ID").value for conn in (diff.ref, diff.ours)]
    for cmd in (("XREAD", "BLOCK", "0", "STREAMS", "s", "$"), ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")):
        _send(diff, *cmd)
        time.sleep(0.05)
        replies = [conn.call("CLIENT", "UNBLOCK", cid, *how) for conn, cid in zip(other, ids, strict=True)]
        assert replies[0] == replies[1] == replies[0]._replace(value=1)
        _read_same(diff)


@pytest.mark.parametrize("cmd,change", [
    (("XREADGROUP", "GROUP", "g", "c", "BLOCK", "300", "STREAMS", "s", ">"), ("XGROUP", "DESTROY", "s", "g")),
    (("XREADGROUP", "GROUP", "g", "c", "BLOCK", "300", "STREAMS", "s", ">"), ("DEL", "s")),
    (("XREADGROUP", "GROUP", "g", "c", "BLOCK", "300", "STREAMS", "s", ">"), ("SET", "s", "x")),
    (("XREADGROUP", "GROUP", "g", "c", "BLOCK", "300", "STREAMS", "s", ">"), ("RENAME", "s", "t")),
    (("XREADGROUP", "GROUP", "g", "c", "BLOCK", "300", "STREAMS", "s", ">"), ("XGROUP", "SETID", "s", "g", "0")),
    (("XREADGROUP", "GROUP", "g", "c", "BLOCK", "300", "STREAMS", "s", ">"), ("XGROUP", "CREATECONSUMER", "s", "g", "d")),
    (("XREAD", "BLOCK", "300", "STREAMS", "s", "$"), ("DEL", "s")),
    (("XREAD", "BLOCK", "300", "STREAMS", "s", "$"), ("SET", "s", "x")),
])
def test_blocked_reader_when_the_key_or_group_changes(diff: Differential, other: list[RespConnection],
                                                      cmd: tuple[str, ...], change: tuple[str, ...]) -> None:
    diff.check("XADD", "s", "1-1", "f", "v")
    diff.check("XGROUP", "CREATE", "s", "g", "$")
    _send(diff, *cmd)
    time.sleep(0.05)
    _on_both(other, *change)
    _read_same(diff)  # an error at once, or the timeout


def test_a_key_given_twice_waits_on_its_first_id(diff: Differential, other: list[RespConnection]) -> None:
    _send(diff, "XREAD", "BLOCK", "300", "STREAMS", "s", "s", "5-0", "0")
    time.sleep(0.05)
    _on_both(other, "XADD", "s", "3-0", "f", "v")
    _read_same(diff)  # 3-0 is not after 5-0: the timeout
    _send(diff, "XREAD", "BLOCK", "2000", "STREAMS", "s", "s", "0", "5-0")
    time.sleep(0.05)
    _on_both(other, "XADD", "s", "4-0", "f", "v")
    _read_same(diff)
