"""Blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN/MAX, BZMPOP) and CLIENT
UNBLOCK against redis-server 7.0.15: immediate answers and errors through ``diff``; blocking
cases with a second connection per server (block on one, push from the other). Every wait is
bounded; timings are checked loosely."""

from __future__ import annotations

import time
from typing import Any

import pytest

from server.harness.processes import ServerProcess
from tests.compat.helpers import connect as _conn
from tests.conftest import Differential
from tests.respclient import RespConnection, encode_command


def _both_send(diff: Differential, *args: Any) -> None:
    for conn in (diff.ref, diff.ours):
        conn.send_raw(encode_command(args))


def _both_read(diff: Differential) -> tuple[Any, Any]:
    return diff.ref.read_reply(), diff.ours.read_reply()


# -- immediate answers and errors ------------------------------------------------------------


def test_timeout_argument(diff: Differential) -> None:
    for t in ("-1", "-0.5", "abc", "", " 1", "1 ", "nan", "inf", "-inf", "1e30", "1e16", "-1e30", "1x"):
        diff.check("BLPOP", "k", t)
        diff.check("BZPOPMIN", "k", t)
        diff.check("BLMOVE", "a", "b", "LEFT", "RIGHT", t)
        diff.check("BLMPOP", t, "1", "k", "LEFT")
    diff.check("RPUSH", "k", "x")
    for t in ("0", "0.0001", "-0.0001", "0x10", "1e3", "5"):
        diff.check("RPUSH", "k", "x")
        diff.check("BLPOP", "k", t)


def test_immediate_lists(diff: Differential) -> None:
    diff.check_all(
        ("RPUSH", "a", "1", "2", "3"), ("RPUSH", "b", "x"),
        ("BLPOP", "missing", "a", "b", "1"), ("BRPOP", "b", "a", "1"), ("BRPOP", "b", "a", "1"),
        ("EXISTS", "b"), ("LRANGE", "a", "0", "-1"),
        ("BLMOVE", "a", "c", "LEFT", "RIGHT", "1"), ("BRPOPLPUSH", "a", "a", "1"),
        ("LRANGE", "c", "0", "-1"), ("RPUSH", "a", "4", "5", "6"),
        ("BLMPOP", "1", "2", "none", "a", "RIGHT", "COUNT", "2"), ("BLMPOP", "1", "1", "a", "LEFT"),
        ("BLMPOP", "1", "1", "a", "LEFT", "COUNT", "10"), ("EXISTS", "a"),
    )


def test_immediate_zsets(diff: Differential) -> None:
    diff.check_all(
        ("ZADD", "z", "1", "a", "2.5", "b", "3", "c"), ("ZADD", "y", "-1", "q"),
        ("BZPOPMIN", "none", "z", "y", "1"), ("BZPOPMAX", "y", "z", "1"), ("BZPOPMAX", "y", "z", "1"),
        ("ZADD", "z", "4", "d", "5", "e"),
        ("BZMPOP", "1", "2", "none", "z", "MAX", "COUNT", "2"), ("BZMPOP", "1", "1", "z", "MIN"),
        ("BZMPOP", "1", "1", "z", "min", "COUNT", "9"), ("EXISTS", "z"),
    )


def test_errors(diff: Differential) -> None:
    diff.check_all(
        ("SET", "s", "v"), ("RPUSH", "l", "x"), ("ZADD", "z", "1", "m"),
        ("BLPOP", "s", "1"), ("BLPOP", "missing", "s", "1"), ("BRPOP", "l", "s", "1"),
        ("BZPOPMIN", "s", "1"), ("BZPOPMAX", "l", "1"),
        ("BLMOVE", "s", "d", "LEFT", "LEFT", "1"), ("BLMOVE", "l", "s", "LEFT", "LEFT", "1"),
        ("BLMOVE", "l", "d", "UP", "LEFT", "-1"), ("BLMOVE", "l", "d", "LEFT", "LEFT", "x"),
        ("BRPOPLPUSH", "z", "d", "1"), ("BRPOPLPUSH", "l", "s", "1"),
        ("BLPOP", "k"), ("BLMOVE", "a", "b", "LEFT", "RIGHT"), ("BZPOPMIN", "k"),
        ("BLMPOP", "x", "1", "k", "LEFT"), ("BLMPOP", "1", "0", "k", "LEFT"),
        ("BLMPOP", "1", "2", "k", "LEFT"), ("BLMPOP", "1", "1", "k", "UP"),
        ("BLMPOP", "-1", "1", "k", "LEFT", "COUNT", "0"), ("BLMPOP", "-1", "1", "k", "LEFT"),
        ("BLMPOP", "1", "1", "k", "LEFT", "COUNT"), ("BLMPOP", "1", "1", "k", "LEFT", "COUNT", "1", "COUNT", "1"),
        ("BLMPOP", "1", "1", "s", "LEFT"), ("BZMPOP", "1", "1", "s", "MIN"),
        ("BZMPOP", "x", "1", "k", "MIN"), ("BZMPOP", "1", "1", "k", "LEFT"),
        ("BZMPOP", "1", "1", "k", "MIN", "COUNT", "-1"), ("BZMPOP", "1", "-1", "k", "MIN"),
    )


def test_multi_acts_as_non_blocking(diff: Differential) -> None:
    diff.check("RPUSH", "l", "a")
    diff.check("MULTI")
    for cmd in (("BLPOP", "none", "0"), ("BRPOP", "l", "0"), ("BLPOP", "l", "0"),
                ("BLMOVE", "l", "d", "LEFT", "LEFT", "0"), ("BRPOPLPUSH", "l", "d", "0"),
                ("BLMPOP", "0", "1", "l", "LEFT"), ("BZPOPMIN", "z", "0"), ("BZPOPMAX", "z", "0"),
                ("BZMPOP", "0", "1", "z", "MAX"), ("WAIT", "1", "0")):
        diff.check(*cmd)
    diff.check("EXEC")


# -- blocking ---------------------------------------------------------------------------------


def test_timeout_replies(diff: Differential) -> None:
    for cmd in (("BLPOP", "k", "j", "0.1"), ("BRPOP", "k", "0.1"), ("BLMOVE", "k", "d", "LEFT", "LEFT", "0.1"),
                ("BRPOPLPUSH", "k", "d", "0.1"), ("BLMPOP", "0.1", "1", "k", "LEFT"),
                ("BZPOPMIN", "k", "0.1"), ("BZPOPMAX", "k", "0.1"), ("BZMPOP", "0.1", "1", "k", "MIN")):
        start = time.monotonic()
        diff.check(*cmd)
        assert 0.05 <= time.monotonic() - start < 3


@pytest.mark.parametrize("cmd,push", [
    (("BLPOP", "a", "k", "2"), ("RPUSH", "k", "x", "y")),
    (("BRPOP", "a", "k", "2"), ("RPUSH", "k", "x", "y")),
    (("BLMOVE", "k", "d", "RIGHT", "LEFT", "2"), ("RPUSH", "k", "x", "y")),
    (("BRPOPLPUSH", "k", "k", "2"), ("RPUSH", "k", "x", "y")),
    (("BLMPOP", "2", "2", "a", "k", "RIGHT", "COUNT", "5"), ("RPUSH", "k", "x", "y")),
    (("BZPOPMIN", "a", "k", "2"), ("ZADD", "k", "1.5", "x", "2", "y")),
    (("BZPOPMAX", "a", "k", "2"), ("ZADD", "k", "1.5", "x", "2", "y")),
    (("BZMPOP", "2", "2", "a", "k", "MAX", "COUNT", "5"), ("ZADD", "k", "1.5", "x", "2", "y")),
])
def test_woken_by_push(diff: Differential, other: list[RespConnection], cmd: tuple[str, ...],
                       push: tuple[str, ...]) -> None:
    _both_send(diff, *cmd)
    _both_send(diff, "LRANGE", "d", "0", "-1")  # pipelined: waits for the blocked command
    time.sleep(0.1)
    for conn in other:
        conn.call(*push)
    for _ in range(2):  # the pop, then the LRANGE held behind it
        ref, ours = _both_read(diff)
        assert ours == ref
    diff.check("TYPE", "k")
    if push[0] == "RPUSH":
        diff.check("LRANGE", "k", "0", "-1")
    else:
        diff.check("ZRANGE", "k", "0", "-1", "WITHSCORES")


def test_fifo_order(diff: Differential, other: list[RespConnection],
                    redis_ref: ServerProcess, activekv: ServerProcess) -> None:
    waiting = [[_conn(redis_ref.port, diff.protocol), _conn(activekv.port, diff.protocol)] for _ in range(3)]
    try:
        for pair in waiting:
            for conn in pair:
                conn.send_raw(encode_command(("BLPOP", "q", "2")))
            time.sleep(0.05)
        for conn in other:
            assert conn.call("RPUSH", "q", "1", "2").value == 2
        for pair in waiting[:2]:
            ref, ours = pair[0].read_reply(), pair[1].read_reply()
            assert ours == ref
        ref, ours = waiting[2][0].read_reply(), waiting[2][1].read_reply()  # times out
        assert ours == ref
    finally:
        for pair in waiting:
            for conn in pair:
                conn.close()


def test_served_blmove_serves_its_destination(diff: Differential, other: list[RespConnection],
                                              redis_ref: ServerProcess, activekv: ServerProcess) -> None:
    """A served BLMOVE pushes onto a key another client waits on: it is served as well."""
    _both_send(diff, "BLPOP", "d", "2")
    time.sleep(0.05)
    for conn in other:
        conn.send_raw(encode_command(("BLMOVE", "s", "d", "LEFT", "LEFT", "2")))
    time.sleep(0.05)
    ref_push, our_push = RespConnection(redis_ref.port), RespConnection(activekv.port)
    try:
        ref_push.call("RPUSH", "s", "v")
        our_push.call("RPUSH", "s", "v")
        assert other[1].read_reply() == other[0].read_reply()
        ref, ours = _both_read(diff)
        assert ours == ref
    finally:
        ref_push.close()
        our_push.close()
    diff.check("EXISTS", "s", "d")


def test_wrong_type_later_keeps_blocking(diff: Differential, other: list[RespConnection]) -> None:
    _both_send(diff, "BLPOP", "k", "0.3")
    time.sleep(0.05)
    for conn in other:
        conn.call("SET", "k", "str")
    ref, ours = _both_read(diff)  # the string does not serve it: the timeout does
    assert ours == ref
    diff.check("GET", "k")


def test_client_unblock(diff: Differential, other: list[RespConnection]) -> None:
    ids = [diff.ref.call("CLIENT", "ID").value, diff.ours.call("CLIENT", "ID").value]
    for conn, cid in zip(other, ids, strict=True):
        assert conn.call("CLIENT", "UNBLOCK", str(cid)).value == 0
    for mode, cmd in (("TIMEOUT", ("BLPOP", "k", "2")), ("ERROR", ("BZPOPMIN", "k", "2")),
                      (None, ("BLMOVE", "k", "d", "LEFT", "LEFT", "2")), ("ERROR", ("WAIT", "1", "2000"))):
        _both_send(diff, *cmd)
        time.sleep(0.05)
        extra = [mode] if mode else []
        replies = [conn.call("CLIENT", "UNBLOCK", str(cid), *extra) for conn, cid in zip(other, ids, strict=True)]
        assert replies[0] == replies[1]
        ref, ours = _both_read(diff)
        assert ours == ref
    diff.check("CLIENT", "UNBLOCK", "abc")
    diff.check("CLIENT", "UNBLOCK", str(ids[0] + 1000), "WHATEVER")
    diff.check("CLIENT", "UNBLOCK")


def test_served_from_the_key_that_became_ready(diff: Differential, other: list[RespConnection]) -> None:
    """Two of its keys get data in one transaction: the client is served from the first key
    that became ready, not the first of its keys."""
    for cmd in (("BLPOP", "a", "b", "2"), ("BZPOPMIN", "a", "b", "2"), ("BLMPOP", "2", "2", "a", "b", "LEFT")):
        diff.check("DEL", "a", "b")
        _both_send(diff, *cmd)
        time.sleep(0.05)
        zset = cmd[0] == "BZPOPMIN"
        for conn in other:
            conn.call("MULTI")
            conn.call(*(("ZADD", "b", "1", "x") if zset else ("RPUSH", "b", "x")))
            conn.call(*(("ZADD", "a", "2", "y") if zset else ("RPUSH", "a", "y")))
            conn.call("EXEC")
        ref, ours = _both_read(diff)
        assert ours == ref


def test_blmove_destination_of_another_type_when_served(diff: Differential, other: list[RespConnection]) -> None:
    _both_send(diff, "BLMOVE", "s", "d", "LEFT", "LEFT", "2")
    time.sleep(0.05)
    for conn in other:
        conn.call("SET", "d", "str")
        conn.call("RPUSH", "s", "v")
    ref, ours = _both_read(diff)
    assert ours == ref
    diff.check("LRANGE", "s", "0", "-1")
    diff.check("GET", "d")


def test_other_db_does_not_wake_and_closed_client_pops_nothing(
        diff: Differential, other: list[RespConnection], redis_ref: ServerProcess, activekv: ServerProcess) -> None:
    diff.check("SELECT", "1")
    _both_send(diff, "BLPOP", "k", "0.3")
    time.sleep(0.05)
    for conn in other:
        conn.call("RPUSH", "k", "db0")  # db 0: not the waiter's key
    ref, ours = _both_read(diff)
    assert ours == ref
    diff.check("SELECT", "0")
    gone = [RespConnection(redis_ref.port), RespConnection(activekv.port)]
    for conn in gone:
        conn.send_raw(encode_command(("BLPOP", "q", "2")))
    time.sleep(0.05)
    for conn in gone:
        conn.close()
    time.sleep(0.1)
    for conn in other:
        conn.call("RPUSH", "q", "kept")
    diff.check("LRANGE", "q", "0", "-1")
    diff.check("LRANGE", "k", "0", "-1")


def _info_clients(conn: RespConnection) -> dict[str, str]:
    reply = conn.call("INFO", "clients")
    text = reply.value if isinstance(reply.value, str) else reply.value.decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def test_info_counts_blocked_clients(diff: Differential, other: list[RespConnection],
                                     redis_ref: ServerProcess, activekv: ServerProcess) -> None:
    extra = [RespConnection(redis_ref.port), RespConnection(activekv.port)]
    try:
        _both_send(diff, "BLPOP", "k", "0")
        for conn in extra:
            conn.send_raw(encode_command(("WAIT", "1", "300")))
        time.sleep(0.1)
        ref, ours = _info_clients(other[0]), _info_clients(other[1])
        for field in ("blocked_clients", "clients_in_timeout_table"):
            assert ours[field] == ref[field], field
        for conn in other:
            conn.call("RPUSH", "k", "x")
        ref_pop, our_pop = _both_read(diff)
        assert our_pop == ref_pop
    finally:
        for conn in extra:
            conn.close()
