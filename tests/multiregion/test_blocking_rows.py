"""Blocking pops across regions: a client blocked in one region is woken by a push replicated
from another; the pop is an ordinary write of the serving region (a remove that replicates), so
the element is popped exactly once and every region converges without it."""

from __future__ import annotations

import time

from tests.multiregion.rowkit import Rows, make_fixtures
from tests.respclient import Reply, RespConnection, encode_command

cluster, rows = make_fixtures()

W, E, EU = 0, 1, 2  # us-west, us-east, eu-west


def _blocked(rows: Rows, i: int, *cmd: str) -> RespConnection:
    conn = RespConnection(rows.c.ports[i], timeout=10.0)
    conn.send_raw(encode_command(cmd))
    time.sleep(0.1)  # it is blocked (nothing to pop yet)
    return conn


def test_blpop_in_one_region_is_woken_by_a_replicated_rpush(rows: Rows) -> None:
    rows.c.wait_converged()
    conn = _blocked(rows, W, "BLPOP", "bq1", "5")
    try:
        start = time.monotonic()
        rows.call(E, "RPUSH", "bq1", "x", "y")
        assert conn.read_reply().plain() == [b"bq1", b"x"]
        assert time.monotonic() - start < 5
        assert conn.call("PING").plain() == "PONG"
    finally:
        conn.close()
    rows.c.wait_converged()
    assert rows.same("LRANGE", "bq1", 0, -1) == [b"y"]  # x popped once, everywhere


def test_fifo_across_a_replicated_push_and_the_key_deleted_everywhere(rows: Rows) -> None:
    rows.c.wait_converged()
    first = _blocked(rows, W, "BRPOP", "bq2", "5")
    second = _blocked(rows, W, "BLMOVE", "bq2", "bq2dst", "RIGHT", "LEFT", "5")
    try:
        rows.call(EU, "RPUSH", "bq2", "a", "b")
        assert first.read_reply().plain() == [b"bq2", b"b"]
        assert second.read_reply().plain() == b"a"
    finally:
        first.close()
        second.close()
    rows.c.wait_converged()
    assert rows.same("EXISTS", "bq2") == 0
    assert rows.same("LRANGE", "bq2dst", 0, -1) == [b"a"]


def test_bzpopmin_woken_by_a_replicated_zadd(rows: Rows) -> None:
    rows.c.wait_converged()
    conn = _blocked(rows, E, "BZPOPMIN", "bz1", "5")
    try:
        rows.call(W, "ZADD", "bz1", 2, "two", 1, "one")
        assert conn.read_reply().plain() == [b"bz1", b"one", b"1"]
    finally:
        conn.close()
    rows.c.wait_converged()
    assert rows.same("ZRANGE", "bz1", 0, -1) == [b"two"]


def test_timeout_while_nothing_arrives(rows: Rows) -> None:
    conn = _blocked(rows, EU, "BLMPOP", "0.2", "1", "bq3", "LEFT")
    try:
        assert conn.read_reply() == Reply("*", None)
    finally:
        conn.close()
