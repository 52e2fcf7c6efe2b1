"""Differences found by running Redis's own TCL unit tests (and probes built from them) against
activekv; each fixed one is pinned here against a real redis-server, RESP2 and RESP3."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess
from tests.conftest import Differential
from tests.respclient import RespConnection, encode_command


def _stat(info: bytes, command: str, field: str) -> int | None:
    m = re.search(rb"cmdstat_%s:[^\r\n]*\b%s=(\d+)" % (command.encode(), field.encode()), info)
    return None if m is None else int(m.group(1))


def test_exec_refused_in_subscribe_context_aborts_with_execabort(diff: Differential) -> None:
    # RESP2: a subscribed client may not run EXEC; Redis refuses it through execCommandAbort,
    # so the error is "EXECABORT Transaction discarded because of: Can't execute 'exec' ..."
    # (no "ERR"). RESP3 has no pub/sub context: EXEC is just "without MULTI".
    diff.check_all(("SUBSCRIBE", "ch"), ("EXEC",), ("MULTI",), ("EXEC",), ("PING",),
                   ("UNSUBSCRIBE", "ch"), ("EXEC",))


def test_command_refused_in_subscribe_context_counts_as_rejected(diff: Differential) -> None:
    diff.check_all(("CONFIG", "RESETSTAT"), ("SUBSCRIBE", "ch"), ("GET", "k"), ("GET", "k"),
                   ("EXEC",), ("UNSUBSCRIBE", "ch"))
    ref, ours = diff.both("INFO", "commandstats")
    for command in ("get", "exec"):
        want = _stat(ref.value, command, "rejected_calls")
        assert _stat(ours.value, command, "rejected_calls") == want, (command, want)
    if diff.protocol == 2:
        assert _stat(ref.value, "get", "rejected_calls") == 2


# -- DEBUG DIGEST / DIGEST-VALUE (Redis's tests compare values through them) -------------------


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def ddiff(request: pytest.FixtureRequest,
          debug_servers: tuple[ServerProcess, ServerProcess]) -> Iterator[Differential]:
    d = Differential(debug_servers[0].port, debug_servers[1].port, request.param)
    yield d
    d.close()


def _fill(d: Differential) -> None:
    d.check_all(("SET", "s", "hello"), ("SET", "i", "12345"), ("RPUSH", "l", "a", "b", "1", "2"),
                ("SADD", "st", "a", "b", "1"), ("SADD", "si", "1", "2", "3"),
                ("ZADD", "z", "1", "a", "0.1", "b", "-2.5", "c", "1e300", "d", "-inf", "e"),
                ("HSET", "h", "f", "v", "f2", "12"), ("XADD", "x", "1-1", "a", "1", "b", "2"),
                ("XADD", "x", "2-5", "c", "3"))


def test_debug_digest_value_is_redis_digest_per_type(ddiff: Differential) -> None:
    ddiff.check("DEBUG", "DIGEST-VALUE", "nokey")
    ddiff.check("DEBUG", "DIGEST-VALUE")
    _fill(ddiff)
    ddiff.check("DEBUG", "DIGEST-VALUE", "s", "i", "l", "st", "si", "z", "h", "x", "nokey")
    ddiff.check_all(("EXPIRE", "s", "100"), ("DEBUG", "DIGEST-VALUE", "s"))


def test_debug_digest_value_ignores_set_order_but_not_list_order(ddiff: Differential) -> None:
    ddiff.check_all(("SADD", "a", "x", "y", "z"), ("SADD", "b", "z", "y", "x"),
                    ("RPUSH", "la", "x", "y"), ("RPUSH", "lb", "y", "x"))
    ref = ddiff.check("DEBUG", "DIGEST-VALUE", "a", "b", "la", "lb")
    values = [r.value for r in ref.value]
    assert values[0] == values[1] and values[2] != values[3]


def test_debug_digest_covers_every_database(ddiff: Differential) -> None:
    ddiff.check("DEBUG", "DIGEST")  # empty dataset: all zeros
    _fill(ddiff)
    ddiff.check("DEBUG", "DIGEST")
    ddiff.check_all(("SELECT", "3"), ("SET", "k", "v"), ("DEBUG", "DIGEST"), ("DEBUG", "DIGEST", "x"),
                    ("FLUSHALL",), ("DEBUG", "DIGEST"))


def test_cluster_commands_answer_cluster_support_disabled(diff: Differential) -> None:
    # A Redis started without cluster-enabled: every CLUSTER subcommand (HELP too), READONLY,
    # READWRITE and ASKING refuse with the same line; arity and unknown subcommands as usual.
    diff.check_all(("CLUSTER",), ("CLUSTER", "foo"), ("CLUSTER", "HELP"), ("CLUSTER", "INFO"),
                   ("CLUSTER", "INFO", "x"), ("CLUSTER", "KEYSLOT", "a"), ("CLUSTER", "SHARDS"),
                   ("CLUSTER", "GETKEYSINSLOT", "1", "1"), ("CLUSTER", "NODES"), ("CLUSTER", "SLOTS"),
                   ("READONLY",), ("READONLY", "x"), ("READWRITE",), ("ASKING",),
                   ("MULTI",), ("READONLY",), ("CLUSTER", "INFO"), ("EXEC",))
    diff.check("COMMAND", "INFO", "readonly", "readwrite", "asking", "cluster|info")


def test_hincrby_on_a_value_that_is_not_a_64_bit_integer(diff: Differential) -> None:
    # An assigned value outside 64 bits is "hash value is not an integer" (string2ll fails),
    # not an overflow; overflow is for a valid value plus the increment.
    diff.check_all(("HSET", "h", "a", "99999999999999999999", "b", "-99999999999999999999",
                    "c", "9223372036854775807", "d", "1.5", "e", "10"),
                   ("HINCRBY", "h", "a", "1"), ("HINCRBY", "h", "b", "1"), ("HINCRBY", "h", "c", "1"),
                   ("HINCRBY", "h", "c", "0"), ("HINCRBY", "h", "d", "1"),
                   ("HINCRBY", "h", "e", "9223372036854775807"), ("HINCRBYFLOAT", "h", "f", "1e300"),
                   ("HINCRBY", "h", "f", "1"), ("HINCRBYFLOAT", "h", "g", "1"), ("HINCRBY", "h", "g", "1"),
                   ("HGET", "h", "g"), ("HINCRBY", "h", "e", "-20"), ("HGET", "h", "e"))


def test_debug_quicklist_packed_threshold_and_change_repl_id(ddiff: Differential) -> None:
    # Redis's list tests set the plain-node threshold; only its bounds are observable.
    ddiff.check_all(*(("DEBUG", "QUICKLIST-PACKED-THRESHOLD", v)
                      for v in ("100", "1b", "0", "1mb", "4gb", "5gb", "abc", "-1")),
                    ("DEBUG", "QUICKLIST-PACKED-THRESHOLD"), ("DEBUG", "CHANGE-REPL-ID"),
                    ("DEBUG", "CHANGE-REPL-ID", "x"))


# -- WATCH and EXEC corner cases of Redis's multi.tcl ------------------------------------------


def test_watching_an_already_expired_key_does_not_fail_exec(ddiff: Differential) -> None:
    # DEBUG SET-ACTIVE-EXPIRE 0 keeps the expired key until something removes it: its removal
    # (lazily, by EXISTS) is no change, and it does not count as "expired since WATCH".
    try:
        ddiff.check_all(("DEBUG", "SET-ACTIVE-EXPIRE", "0"), ("SET", "x", "foo", "PX", "1"))
        time.sleep(0.01)
        ddiff.check_all(("WATCH", "x"), ("MULTI",), ("PING",), ("EXEC",))
        ddiff.check_all(("SET", "x", "foo", "PX", "1"))
        time.sleep(0.01)
        ddiff.check_all(("WATCH", "x"), ("EXISTS", "x"), ("MULTI",), ("PING",), ("EXEC",))
        # ... but writing the key again after such a WATCH is a change
        ddiff.check_all(("SET", "x", "foo", "PX", "1"))
        time.sleep(0.01)
        ddiff.check_all(("WATCH", "x"), ("SET", "x", "bar"), ("MULTI",), ("PING",), ("EXEC",))
    finally:
        ddiff.both("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_exec_during_a_busy_script_aborts_with_execabort_busy(
        ddiff: Differential, debug_servers: tuple[ServerProcess, ServerProcess]) -> None:
    others = [RespConnection(s.port, timeout=10) for s in debug_servers]
    try:
        if ddiff.protocol == 3:
            for o in others:
                o.call("HELLO", "3")
        ddiff.check_all(("CONFIG", "SET", "busy-reply-threshold", "20"), ("SET", "xx", "1"))
        replies = [[o.call("MULTI"), o.call("INCR", "xx")] for o in others]
        for conn in (ddiff.ref, ddiff.ours):
            conn.send_raw(encode_command(("EVAL", "while true do end", "0")))
        time.sleep(0.3)
        for o, out in zip(others, replies, strict=True):
            out += [o.call("INCR", "xx"), o.call("EXEC"), o.call("SCRIPT", "KILL")]
        killed = [ddiff.ref.read_reply(), ddiff.ours.read_reply()]
        assert killed[0].type == killed[1].type == "-"
        for o, out in zip(others, replies, strict=True):
            out += [o.call("PING", "asdf"), o.call("GET", "xx")]
        assert replies[1] == replies[0]
        assert replies[0][3].value.startswith("EXECABORT Transaction discarded because of: BUSY")
    finally:
        for o in others:
            o.close()
        ddiff.both("CONFIG", "SET", "busy-reply-threshold", "5000")


def test_dbsize_counts_expired_keys_until_they_are_reclaimed(ddiff: Differential) -> None:
    # unit/expire "Redis should lazy expire keys": with the active cycle off, keys past their
    # time still count in DBSIZE until a lookup reclaims them
    ddiff.check_all(("FLUSHALL",), ("DEBUG", "SET-ACTIVE-EXPIRE", "0"), ("PSETEX", "k1", "100", "a"),
                    ("PSETEX", "k2", "100", "a"), ("SET", "k3", "a"), ("DBSIZE",))
    time.sleep(0.25)
    try:
        ddiff.check_all(("DBSIZE",), ("INFO", "keyspace"), ("GET", "k1"), ("DBSIZE",), ("MGET", "k1", "k2"),
                        ("DBSIZE",))
    finally:
        ddiff.check("DEBUG", "SET-ACTIVE-EXPIRE", "1")


@pytest.mark.parametrize("probe", [("SCAN", "0"), ("OBJECT", "ENCODING", "k1"), ("OBJECT", "IDLETIME", "k1"),
                                   ("OBJECT", "REFCOUNT", "k1"), ("EXISTS", "k1"), ("TTL", "k1"),
                                   ("TYPE", "k1"), ("GET", "k1"), ("KEYS", "*")])
def test_lookups_reclaim_expired_keys_as_redis_does(ddiff: Differential, probe: tuple[str, ...]) -> None:
    # which reads reclaim a key past its time (DBSIZE, INFO's expired_keys, hits and misses)
    ddiff.check_all(("FLUSHALL",), ("CONFIG", "RESETSTAT"), ("DEBUG", "SET-ACTIVE-EXPIRE", "0"),
                    ("PSETEX", "k1", "50", "a"), ("SET", "k2", "a"))
    time.sleep(0.12)
    try:
        ddiff.check(*probe, unordered=probe[0] in ("SCAN", "KEYS"))
        ddiff.check_all(("OBJECT", "ENCODING", "k2"), ("OBJECT", "ENCODING", "nokey"), ("DBSIZE",))
        ref, ours = ddiff.both("INFO", "stats")
        for field in ("expired_keys", "keyspace_hits", "keyspace_misses"):
            want = re.search(rb"%s:(\d+)" % field.encode(), ref.value)
            got = re.search(rb"%s:(\d+)" % field.encode(), ours.value)
            assert want is not None and got is not None and got.group(1) == want.group(1), (field, got, want)
    finally:
        ddiff.check("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_dbsize_leaves_out_expired_keys_while_the_active_cycle_runs(
        debug_servers: tuple[ServerProcess, ServerProcess]) -> None:
    # SEMANTICS "Expiry": a key past its time is not in DBSIZE, at once, in that region (Redis
    # reclaims it within its active cycle's tick; only with the cycle off does it count)
    conn = RespConnection(debug_servers[1].port)
    try:
        conn.call("CONFIG", "SET", "hz", "1")  # the cycle is unlikely to reclaim it meanwhile
        conn.call("FLUSHALL")
        conn.call("PSETEX", "gone", "30", "v")
        conn.call("SET", "kept", "v")
        time.sleep(0.05)
        assert conn.call("DBSIZE").value == 1
        assert b"db0:keys=" in conn.call("INFO", "keyspace").value
    finally:
        conn.call("CONFIG", "SET", "hz", "10")
        conn.close()
