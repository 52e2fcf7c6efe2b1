"""Consumer groups against redis-server 7.0.15 (RESP2 and RESP3): XGROUP, XREADGROUP, XACK,
XPENDING, XCLAIM, XAUTOCLAIM, XINFO GROUPS/CONSUMERS/STREAM FULL. Replies that carry the
server's clock (idle times, delivery and seen times) are compared with those numbers masked:
every other byte must match."""

from __future__ import annotations

import time
from typing import Any

from tests.conftest import Differential
from tests.respclient import Reply

_TIME_KEYS = {b"idle", b"seen-time"}


def _mask(reply: Reply, idle_at: int | None = None) -> Any:
    """The reply as plain data with clock readings replaced by "T": integers that are absolute
    ms times, the value after an ``idle``/``seen-time`` key, and element ``idle_at`` of every
    4-element array (XPENDING's extended form)."""
    if reply.type in "*~" and reply.value is not None:
        items = [_mask(r, idle_at) for r in reply.value]
        for i in range(len(reply.value) - 1):
            if reply.value[i].type == "$" and reply.value[i].value in _TIME_KEYS:
                items[i + 1] = "T"
        if idle_at is not None and len(items) == 4 and reply.value[0].type == "$":
            items[idle_at] = "T"
        return (reply.type, items)
    if reply.type == "%":
        return ("%", [(_mask(k), "T" if k.value in _TIME_KEYS else _mask(v, idle_at)) for k, v in reply.value])
    if reply.type == ":" and reply.value > 10**12:
        return "T"
    return (reply.type, reply.value)


def check_masked(diff: Differential, *cmd: Any, idle_at: int | None = None) -> None:
    ref, ours = diff.both(*cmd)
    assert _mask(ours, idle_at) == _mask(ref, idle_at), f"RESP{diff.protocol} {cmd!r}:\n  redis:    {ref!r}\n  activekv: {ours!r}"


def _fill(diff: Differential, key: str = "s", n: int = 5) -> None:
    for i in range(1, n + 1):
        diff.check("XADD", key, f"{i}-1", "f", str(i))


def test_xgroup_create_setid_destroy(diff: Differential) -> None:
    diff.check_all(
        ("XGROUP", "CREATE", "s", "g", "$"), ("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"), ("XLEN", "s"),
        ("TYPE", "s"), ("XGROUP", "CREATE", "s", "g", "$"), ("XGROUP", "CREATE", "s", "g2", "x"),
        ("XGROUP", "CREATE", "s", "g2", "-"), ("XGROUP", "CREATE", "s", "g2", "+"),
        ("XGROUP", "CREATE", "s", "g2", "0", "FOO"), ("XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD"),
        ("XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "-2"), ("XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "x"),
        ("XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "-1"), ("XGROUP", "CREATE", "s", "g3", "0", "ENTRIESREAD", "7"),
        ("XGROUP", "CREATE", "s", "g4", "0", "MKSTREAM", "ENTRIESREAD", "0", "MKSTREAM"),
        ("XGROUP", "CREATE", "s", "g5", "0", "MKSTREAM", "ENTRIESREAD", "0", "MKSTREAM", "X"),
        ("XGROUP", "CREATE", "nokey", "g", "0"), ("XGROUP", "CREATE", "s"), ("XINFO", "GROUPS", "s"),
        ("XGROUP", "SETID", "s", "g", "5-5"), ("XGROUP", "SETID", "s", "g", "$"), ("XGROUP", "SETID", "s", "g", "-"),
        ("XGROUP", "SETID", "s", "g", "+"), ("XGROUP", "SETID", "s", "g", "3"),
        ("XGROUP", "SETID", "s", "g", "3", "ENTRIESREAD", "5"), ("XGROUP", "SETID", "s", "g", "3", "ENTRIESREAD", "-3"),
        ("XGROUP", "SETID", "s", "g", "3", "FOO", "5"), ("XGROUP", "SETID", "s", "g", "3", "ENTRIESREAD"),
        ("XGROUP", "SETID", "s", "nog", "3"), ("XGROUP", "SETID", "nokey", "g", "3"), ("XGROUP", "SETID", "s", "g", "x"),
        ("XINFO", "GROUPS", "s"),
        ("XGROUP", "DESTROY", "s", "g"), ("XGROUP", "DESTROY", "s", "g"), ("XGROUP", "DESTROY", "nokey", "g"),
        ("XGROUP", "DESTROY", "s", "g2", "x"), ("XINFO", "GROUPS", "s"), ("XGROUP", "HELP"), ("XGROUP", "FOO"),
        ("XGROUP", "DESTROY", "s", "g2"), ("XGROUP", "DESTROY", "s", "g3"), ("XGROUP", "DESTROY", "s", "g4"),
        ("EXISTS", "s"), ("XINFO", "STREAM", "s"),
        ("SET", "str", "v"), ("XGROUP", "CREATE", "str", "g", "0"), ("XGROUP", "CREATE", "str", "g", "0", "MKSTREAM"),
    )


def test_consumers(diff: Differential) -> None:
    _fill(diff)
    diff.check_all(
        ("XGROUP", "CREATE", "s", "g", "0"), ("XGROUP", "CREATECONSUMER", "s", "g", "alice"),
        ("XGROUP", "CREATECONSUMER", "s", "g", "alice"), ("XGROUP", "CREATECONSUMER", "s", "nog", "alice"),
        ("XGROUP", "CREATECONSUMER", "nokey", "g", "alice"), ("XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", "s", ">"),
        ("XGROUP", "DELCONSUMER", "s", "g", "bob"), ("XGROUP", "DELCONSUMER", "s", "g", "bob"),
        ("XGROUP", "DELCONSUMER", "s", "g", "alice"), ("XGROUP", "DELCONSUMER", "s", "nog", "x"), ("XPENDING", "s", "g"),
        ("XGROUP", "CREATECONSUMER", "s", "g"),
    )
    check_masked(diff, "XINFO", "CONSUMERS", "s", "g")
    diff.check_all(("XINFO", "CONSUMERS", "s", "nog"), ("XINFO", "CONSUMERS", "nokey", "g"))


def test_xreadgroup_new_history_noack(diff: Differential) -> None:
    _fill(diff)
    _fill(diff, "t", 2)
    diff.check_all(
        ("XGROUP", "CREATE", "s", "g", "0"), ("XGROUP", "CREATE", "t", "g", "$"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "STREAMS", "s", "t", ">", ">"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"), ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "1-1"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", "0"),
        ("XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", "0"),
        ("XREADGROUP", "GROUP", "g", "carol", "NOACK", "COUNT", "1", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", "0"), ("XPENDING", "s", "g"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"), ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "t", ">"), ("XADD", "t", "9-1", "f", "v"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "t", ">"),
        ("XDEL", "s", "1-1"), ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"),
        ("XACK", "s", "g", "1-1", "2-1"), ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"),
        ("XINFO", "GROUPS", "s"), ("XINFO", "GROUPS", "t"),
    )


def test_xreadgroup_errors(diff: Differential) -> None:
    _fill(diff, "s", 2)
    diff.check_all(
        ("XGROUP", "CREATE", "s", "g", "0"), ("XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "nokey", ">"), ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$"),
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "x"), ("XREADGROUP", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s"), ("XREADGROUP", "GROUP", "g", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "COUNT", "x", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "-1", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "FOO", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "COUNT", "-3", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "10", "STREAMS", "s", ">"),
        ("SET", "str", "v"), ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">"),
    )


def test_xack(diff: Differential) -> None:
    _fill(diff)
    diff.check_all(
        ("XACK", "s", "g", "1-1"), ("XGROUP", "CREATE", "s", "g", "0"), ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"),
        ("XACK", "s", "g", "1-1", "1-1", "2-1", "9-9"), ("XACK", "s", "g", "1-1"), ("XACK", "s", "g", "x"),
        ("XACK", "s", "g", "3-1", "x"), ("XPENDING", "s", "g"), ("XACK", "nokey", "g", "x"), ("XACK", "s", "nog", "x"),
        ("XACK", "s", "g", "3"), ("XACK", "s", "g"), ("SET", "str", "v"), ("XACK", "str", "g", "1-1"),
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"),
    )


def test_xpending(diff: Differential) -> None:
    _fill(diff, "s", 6)
    diff.check_all(
        ("XGROUP", "CREATE", "s", "g", "0"), ("XPENDING", "s", "g"), ("XPENDING", "s", "g", "-", "+", "10"),
        ("XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">"), ("XPENDING", "s", "g"),
        ("XPENDING", "s", "g", "-", "+", "10", "nobody"), ("XPENDING", "s", "nog"), ("XPENDING", "nokey", "g"),
        ("XPENDING", "s", "g", "-"), ("XPENDING", "s", "g", "-", "+"), ("XPENDING", "s", "g", "-", "+", "x"),
        ("XPENDING", "s", "g", "x", "+", "1"), ("XPENDING", "s", "g", "-", "x", "1"),
        ("XPENDING", "s", "g", "IDLE", "x", "-", "+", "1"), ("XPENDING", "s", "g", "IDLE", "10", "-", "+"),
        ("XPENDING", "s", "g", "-", "+", "1", "a", "b", "c", "d"),
        ("XPENDING", "s", "g", "(18446744073709551615-18446744073709551615", "+", "1"),
        ("XPENDING", "s", "g", "-", "(0-0", "1"), ("XPENDING", "s", "g", "-", "+", "0"),
        ("XPENDING", "s", "g", "IDLE", "100000", "-", "+", "10"),
    )
    for args in [("-", "+", "10"), ("-", "+", "2"), ("(1-1", "4", "10"), ("2-1", "(4-1", "10"), ("-", "+", "-5"),
                 ("-", "+", "10", "alice"), ("-", "+", "10", "bob"), ("IDLE", "0", "-", "+", "10", "bob")]:
        check_masked(diff, "XPENDING", "s", "g", *args, idle_at=2)


def test_xclaim(diff: Differential) -> None:
    _fill(diff, "s", 6)
    diff.check_all(
        ("XCLAIM", "s", "g", "c", "0", "1-1"), ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "4", "STREAMS", "s", ">"),
        ("XCLAIM", "s", "g", "bob", "0", "1-1"), ("XCLAIM", "s", "g", "bob", "0", "2-1", "3-1", "JUSTID"),
        ("XCLAIM", "s", "g", "bob", "100000", "4-1"), ("XCLAIM", "s", "g", "bob", "0", "5-1"),
        ("XCLAIM", "s", "g", "bob", "0", "5-1", "FORCE", "RETRYCOUNT", "7"),
        ("XCLAIM", "s", "g", "carol", "0", "4-1", "RETRYCOUNT", "3", "JUSTID"),
        ("XCLAIM", "s", "g", "carol", "0", "6-1", "FORCE", "JUSTID", "LASTID", "6-1"),
        ("XCLAIM", "s", "g", "bob", "x", "1-1"), ("XCLAIM", "s", "g", "bob", "0", "1-1", "IDLE", "x"),
        ("XCLAIM", "s", "g", "bob", "0", "1-1", "TIME", "x"), ("XCLAIM", "s", "g", "bob", "0", "1-1", "RETRYCOUNT", "x"),
        ("XCLAIM", "s", "g", "bob", "0", "1-1", "LASTID", "x"), ("XCLAIM", "s", "g", "bob", "0", "1-1", "FOO"),
        ("XCLAIM", "s", "g", "bob", "0", "1-1", "IDLE"), ("XCLAIM", "s", "nog", "bob", "0", "1-1"),
        ("XCLAIM", "nokey", "g", "bob", "0", "1-1"), ("XCLAIM", "s", "g", "bob", "-5", "1-1", "JUSTID"),
        ("XDEL", "s", "2-1"), ("XCLAIM", "s", "g", "bob", "0", "2-1", "1-1", "JUSTID"), ("XPENDING", "s", "g"),
        ("XCLAIM", "s", "g", "bob", "0", "1-1", "IDLE", "5000", "JUSTID"),
        ("XCLAIM", "s", "g", "bob", "0", "1-1", "TIME", "1", "JUSTID"),
        ("XINFO", "GROUPS", "s"), ("SET", "str", "v"), ("XCLAIM", "str", "g", "c", "0", "1-1"),
    )
    for args in [("-", "+", "10"), ("IDLE", "4000", "-", "+", "10")]:
        check_masked(diff, "XPENDING", "s", "g", *args, idle_at=2)


def test_xautoclaim(diff: Differential) -> None:
    _fill(diff, "s", 8)
    diff.check_all(
        ("XAUTOCLAIM", "s", "g", "c", "0", "0"), ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"), ("XDEL", "s", "3-1", "4-1"),
        ("XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "2"), ("XAUTOCLAIM", "s", "g", "bob", "0", "2-1", "COUNT", "2"),
        ("XAUTOCLAIM", "s", "g", "bob", "0", "(5-1", "COUNT", "1", "JUSTID"), ("XAUTOCLAIM", "s", "g", "bob", "0", "7-1"),
        ("XAUTOCLAIM", "s", "g", "bob", "100000", "0"), ("XAUTOCLAIM", "s", "g", "carol", "0", "-", "JUSTID"),
        ("XAUTOCLAIM", "s", "g", "bob", "x", "0"), ("XAUTOCLAIM", "s", "g", "bob", "0", "x"),
        ("XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "0"), ("XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "x"),
        ("XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT"), ("XAUTOCLAIM", "s", "g", "bob", "0", "0", "FOO"),
        ("XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "922337203685477581"),
        ("XAUTOCLAIM", "s", "g", "bob", "0", "(18446744073709551615-18446744073709551615"),
        ("XAUTOCLAIM", "s", "nog", "bob", "0", "0"), ("XAUTOCLAIM", "nokey", "g", "bob", "0", "0"),
        ("XPENDING", "s", "g"), ("SET", "str", "v"), ("XAUTOCLAIM", "str", "g", "c", "0", "0"),
    )


def test_xinfo_with_groups(diff: Differential) -> None:
    _fill(diff, "s", 6)
    diff.check_all(
        ("XGROUP", "CREATE", "s", "g", "0"), ("XGROUP", "CREATE", "s", "h", "$"), ("XGROUP", "CREATE", "s", "a", "3-1"),
        ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "a", "bob", "STREAMS", "s", ">"), ("XINFO", "GROUPS", "s"), ("XINFO", "STREAM", "s"),
        ("XDEL", "s", "5-1"), ("XINFO", "GROUPS", "s"), ("XADD", "s", "7-1", "f", "v"), ("XINFO", "GROUPS", "s"),
        ("XGROUP", "SETID", "s", "h", "0"), ("XINFO", "GROUPS", "s"), ("XTRIM", "s", "MAXLEN", "2"), ("XINFO", "GROUPS", "s"),
        ("XINFO", "GROUPS", "nokey"),
    )
    time.sleep(0.002)
    for cmd in [("XINFO", "STREAM", "s", "FULL"), ("XINFO", "STREAM", "s", "FULL", "COUNT", "1"),
                ("XINFO", "STREAM", "s", "FULL", "COUNT", "0"), ("XINFO", "CONSUMERS", "s", "g")]:
        check_masked(diff, *cmd)


def test_rename_and_copy_keep_groups_and_pending_entries(diff: Differential) -> None:
    _fill(diff, "s", 4)
    diff.check_all(
        ("XGROUP", "CREATE", "s", "g", "0"), ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"),
        ("XACK", "s", "g", "1-1"), ("RENAME", "s", "r"), ("XPENDING", "r", "g"), ("XINFO", "GROUPS", "r"),
        ("COPY", "r", "c"), ("XPENDING", "c", "g"), ("XINFO", "GROUPS", "c"),
        ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "c", "0"), ("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "c", ">"),
        ("XPENDING", "r", "g"),
    )
    for key in ("r", "c"):
        check_masked(diff, "XINFO", "STREAM", key, "FULL")
