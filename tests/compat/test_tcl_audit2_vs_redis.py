"""Second round of differences found by running Redis's own TCL unit tests against activekv
(/work/redis-tests, outside the repo); each fixed one is pinned here against a real
redis-server, RESP2 and RESP3. Our own tests, not copies of Redis's."""

from __future__ import annotations

import re
import time

from server.harness.processes import ServerProcess
from tests.conftest import Differential
from tests.respclient import Reply, RespConnection, encode_command


def test_smove_to_a_destination_holding_the_member_leaves_watch_clean(
        diff: Differential, other: list[RespConnection]) -> None:
    # Redis signals the destination as modified only when the member was added to it.
    diff.check_all(("SADD", "src", "a", "b"), ("SADD", "dst", "a"), ("WATCH", "dst"), ("MULTI",),
                   ("SCARD", "dst"))
    for conn in other:
        assert conn.call("SMOVE", "src", "dst", "a").value == 1
    diff.check("EXEC")
    diff.check_all(("SMEMBERS", "src"), ("SMEMBERS", "dst"))
    # The source still counts as modified, and a real addition signals the destination.
    diff.check_all(("WATCH", "src"), ("MULTI",), ("SCARD", "src"))
    for conn in other:
        assert conn.call("SMOVE", "src", "dst", "b").value == 1
    diff.check("EXEC")
    diff.check_all(("SADD", "src", "c"), ("WATCH", "dst"), ("MULTI",), ("SCARD", "dst"))
    for conn in other:
        assert conn.call("SMOVE", "src", "dst", "c").value == 1
    diff.check("EXEC")


def _send(diff: Differential, *args: str) -> None:
    for conn in (diff.ref, diff.ours):
        conn.send_raw(encode_command(args))


def _read_both(diff: Differential) -> None:
    ref, ours = diff.ref.read_reply(), diff.ours.read_reply()
    assert ours == ref, f"RESP{diff.protocol}:\n  redis:    {ref!r}\n  activekv: {ours!r}"


def test_subscribe_confirmations_and_messages_bypass_client_reply_off(
        diff: Differential, other: list[RespConnection]) -> None:
    # Redis sends pub/sub output with CLIENT_PUSHING: CLIENT REPLY OFF/SKIP silence the replies
    # of commands, never a (p)(un)subscribe confirmation nor a message.
    _send(diff, "CLIENT", "REPLY", "OFF")
    _send(diff, "SUBSCRIBE", "ch", "ch2")
    _read_both(diff)
    _read_both(diff)
    _send(diff, "PSUBSCRIBE", "c*")
    _read_both(diff)
    for conn in other:
        assert conn.call("PUBLISH", "ch", "hi").value == 2
    _read_both(diff)
    _read_both(diff)
    _send(diff, "PING")  # a command's reply: silenced (RESP2 and RESP3)
    _send(diff, "UNSUBSCRIBE", "ch", "ch2")
    _read_both(diff)
    _read_both(diff)
    _send(diff, "PUNSUBSCRIBE")
    _read_both(diff)
    _send(diff, "CLIENT", "REPLY", "ON")
    _read_both(diff)
    _send(diff, "CLIENT", "REPLY", "SKIP")
    _send(diff, "SUBSCRIBE", "ch")  # SKIP covers this command: its confirmation still comes
    _read_both(diff)
    _send(diff, "UNSUBSCRIBE", "ch")
    _read_both(diff)
    diff.check("PING", "after")


def test_xadd_partial_id_whose_sequence_would_overflow(diff: Differential) -> None:
    # Redis 7.0.15: "ms-*" after "ms-18446744073709551615" is "Elements are too large to be
    # stored", while a smaller ms, 0-*, or an explicit equal ID is "equal or smaller".
    diff.check_all(("XADD", "s", "5-18446744073709551615", "f", "v"), ("XADD", "s", "5-*", "f", "v"),
                   ("XADD", "s", "4-*", "f", "v"), ("XADD", "s", "0-*", "f", "v"),
                   ("XADD", "s", "5-18446744073709551615", "f", "v"), ("XADD", "s", "6-*", "f", "v"),
                   ("XADD", "m", "18446744073709551615-18446744073709551615", "f", "v"),
                   ("XADD", "m", "18446744073709551615-*", "f", "v"), ("XADD", "m", "*", "f", "v"),
                   ("XRANGE", "s", "-", "+"), ("XLEN", "m"))


def _stats(conn: RespConnection, command: str) -> tuple[str, int]:
    """("calls/failed_calls errorstats" of ``command``, total_error_replies)."""
    info = conn.call("INFO", "all").value.decode()
    stat = re.search(r"cmdstat_%s:calls=(\d+),.*failed_calls=(\d+)" % command, info)
    errors = "".join(re.findall(r"errorstat_\w+:count=\d+\r\n", info))
    total = re.search(r"total_error_replies:(\d+)", info)
    assert stat is not None and total is not None
    return f"{stat.group(1)}/{stat.group(2)} {errors}", int(total.group(1))


def test_blocked_command_finished_by_an_error_counts_as_failed(
        diff: Differential, other: list[RespConnection]) -> None:
    # Redis's updateStatsOnUnblock: an error reply to a blocked client counts in errorstats,
    # total_error_replies and the command's failed_calls; CLIENT UNBLOCK's timeout reply is a
    # failed call too (7.0), a real timeout is not.
    ids = [conn.call("CLIENT", "ID").value for conn in (diff.ref, diff.ours)]
    cases: list[tuple[str, list[str], list[str]]] = [
        ("xreadgroup", ["XREADGROUP", "GROUP", "g", "a", "BLOCK", "0", "STREAMS", "s", ">"],
         ["XGROUP", "DESTROY", "s", "g"]),
        ("blmove", ["BLMOVE", "src", "str", "LEFT", "LEFT", "0"], ["LPUSH", "src", "x"]),
        ("blpop", ["BLPOP", "nolist", "0"], ["CLIENT", "UNBLOCK", "{id}", "ERROR"]),
        ("blpop", ["BLPOP", "nolist", "0"], ["CLIENT", "UNBLOCK", "{id}"]),
        ("blpop", ["BLPOP", "nolist", "0"], ["CLIENT", "UNBLOCK", "{id}", "TIMEOUT"]),
        ("blpop", ["BLPOP", "nolist", "0.01"], []),
        ("blpop", ["BLPOP", "nolist", "0"], ["RPUSH", "nolist", "y"]),
    ]
    for command, blocking, release in cases:
        for conn in other:
            conn.call("FLUSHALL")
            conn.call("CONFIG", "RESETSTAT")
            conn.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
            conn.call("SET", "str", "v")
        _send(diff, *blocking)
        for conn, own in zip(other, ids, strict=True):
            deadline = time.monotonic() + 5
            while b"blocked_clients:1" not in conn.call("INFO", "clients").value:
                assert time.monotonic() < deadline, "the command did not block"
                time.sleep(0.005)
            if release:
                conn.call(*[str(own) if a == "{id}" else a for a in release])
        _read_both(diff)
        ref, ours = (_stats(conn, command) for conn in other)
        assert ours == ref, (blocking, release)


def test_command_getkeys_of_sort_and_sort_ro(diff: Differential) -> None:
    # SORT's BY/GET key spec cannot be searched: Redis falls back to sortGetKeys (the sorted
    # key and the last STORE's destination, skipping LIMIT/GET/BY arguments).
    for getkeys in ("GETKEYS", "GETKEYSANDFLAGS"):
        for args in (("sort", "abc"), ("sort", "abc", "store", "def"),
                     ("sort", "abc", "store", "invalid", "store", "stillbad", "store", "def"),
                     ("sort", "abc", "limit", "0", "1", "store", "x"),
                     ("sort", "abc", "by", "store", "get", "store"),
                     ("sort", "abc", "get", "#", "store"), ("sort", "abc", "store", "store", "y"),
                     ("sort_ro", "abc"), ("sort_ro", "abc", "by", "w_*", "get", "#"),
                     ("sort",), ("sort_ro",)):
            diff.check("COMMAND", getkeys, *args)


def test_client_reply_on_after_skip_replies_ok(diff: Differential) -> None:
    # CLIENT REPLY ON clears SKIP before its own reply (Redis checks the flags at reply time).
    _send(diff, "CLIENT", "REPLY", "SKIP")
    _send(diff, "CLIENT", "REPLY", "ON")
    _read_both(diff)
    diff.check("PING", "x")
    _send(diff, "CLIENT", "REPLY", "SKIP")
    _send(diff, "PING", "skipped")
    diff.check("PING", "seen")


def _field(line: bytes, name: bytes) -> bytes:
    m = re.search(rb"\b%s=(\S*)" % name, line)
    assert m is not None, line
    return m.group(1)


def test_client_list_qbuf_of_the_calling_client(diff: Differential) -> None:
    # Redis's query buffer still holds the read whose commands run: CLIENT INFO/LIST report it
    # as their own qbuf (26 bytes for a lone CLIENT LIST), and 0 once it is trimmed.
    for args in (("CLIENT", "INFO"), ("CLIENT", "LIST", "ID", "1", "2", "3", "4", "5")):
        ref, ours = diff.both(*args)
        own = [line for line in ref.value.split(b"\n") if b"cmd=client" in line][:1]
        mine = [line for line in ours.value.split(b"\n") if b"cmd=client" in line][:1]
        if own:
            assert _field(mine[0], b"qbuf") == _field(own[0], b"qbuf"), (own, mine)
    refs = [diff.ref.call("CLIENT", "INFO"), diff.ours.call("CLIENT", "INFO")]
    assert _field(refs[1].value, b"qbuf") == _field(refs[0].value, b"qbuf") == b"26"
    # Pipelined: the whole read (both commands) is in the buffer while the first one runs.
    pipeline = encode_command(("CLIENT", "INFO")) + encode_command(("PING",))
    for conn in (diff.ref, diff.ours):
        conn.send_raw(pipeline)
    replies = [(conn.read_reply(), conn.read_reply()) for conn in (diff.ref, diff.ours)]
    assert _field(replies[1][0].value, b"qbuf") == _field(replies[0][0].value, b"qbuf") == b"40"


def _invalidations(conn: RespConnection) -> list[object]:
    """The invalidation pushes queued for a RESP3 tracking client (up to its PING's PONG)."""
    conn.send_raw(encode_command(("PING",)))
    out: list[object] = []
    while (reply := conn.read_reply()).type != "+":
        out.append(reply)
    return out


def test_script_tracks_its_declared_keys_when_it_reads(
        diff: Differential, other: list[RespConnection]) -> None:
    # Redis 7.0.15: after EVAL/EVAL_RO/FCALL the caller tracks the script's declared keys if
    # the script called a read-only command, and not the keys of the commands it called.
    diff.both("HELLO", "3")  # the invalidations come on the connection itself (RESP3)
    diff.check_all(("CLIENT", "TRACKING", "on"),
                   ("FUNCTION", "LOAD", "#!lua name=t\nredis.register_function('rd', function(k) "
                    "return redis.call('get', 'k3') end)\nredis.register_function{function_name="
                    "'nord', callback=function(k) return 1 end, flags={'no-writes'}}"))
    for call in (("EVAL", "redis.call('set', 'k3', 'bar')", "2", "k1", "k2"),
                 ("EVAL", "return redis.call('get', 'k3')", "2", "k1", "k2"),
                 ("EVAL_RO", "return redis.call('ping')", "2", "k1", "k2"),
                 ("EVAL_RO", "return redis.call('exists', 'k1')", "2", "k1", "k2"),
                 ("FCALL", "rd", "1", "k2"), ("FCALL_RO", "nord", "1", "k1"),
                 ("EVAL", "return 1", "1", "k1")):
        diff.check(*call)
        for conn in other:
            conn.call("MSET", "k1", "1", "k2", "2", "k3", "3")
        ref, ours = _invalidations(diff.ref), _invalidations(diff.ours)
        assert ours == ref, call


def test_unblocked_blmove_gets_its_invalidation_after_its_reply(
        diff: Differential, other: list[RespConnection]) -> None:
    # The served client is Redis's current client: an invalidation of a key it tracks that its
    # own (unblocked) command changed comes after that command's reply.
    diff.both("HELLO", "3")
    diff.check_all(("RPUSH", "dst", "a"), ("CLIENT", "TRACKING", "on"), ("LRANGE", "dst", "0", "-1"))
    _send(diff, "BLMOVE", "src", "dst", "LEFT", "LEFT", "0")
    for conn in other:
        deadline = time.monotonic() + 5
        while b"blocked_clients:1" not in conn.call("INFO", "clients").value:
            assert time.monotonic() < deadline, "BLMOVE did not block"
            time.sleep(0.005)
        conn.call("RPUSH", "src", "foo")
    _read_both(diff)  # the reply: foo
    _read_both(diff)  # then: invalidate dst
    diff.check("PING")


def test_tracking_table_over_its_limit_invalidates_keys(
        diff: Differential, other: list[RespConnection]) -> None:
    # tracking-table-max-keys: the server invalidates tracked keys (100 more per event-loop
    # turn still over the limit) until the table is back under it.
    diff.both("HELLO", "3")
    diff.check("CLIENT", "TRACKING", "on")
    keys = [f"k{i}" for i in range(150)]
    diff.check("MSET", *[x for k in keys for x in (k, "v")])
    for key in keys:
        diff.check("GET", key)
    for conn in other:
        assert conn.call("CONFIG", "SET", "tracking-table-max-keys", "1").value == "OK"
    try:
        counts = []
        for conn in (diff.ref, diff.ours):
            seen = 0
            while seen < len(keys) - 1:
                reply = conn.read_reply()
                assert reply.type == ">" and reply.value[0].value == b"invalidate", reply
                seen += len(reply.value[1].value)
            counts.append(seen)
            assert conn.call("PING").type == "+"  # and no further invalidation before it
        assert counts == [len(keys) - 1] * 2
    finally:
        for conn in other:
            conn.call("CONFIG", "SET", "tracking-table-max-keys", "1000000")


def test_redirect_client_that_quit_makes_the_redirect_broken(
        diff: Differential, other: list[RespConnection], redis_ref: ServerProcess,
        activekv: ServerProcess) -> None:
    # Once QUIT's OK is out the client is gone: the next invalidation finds the redirect
    # broken (a tracking-redir-broken push to a RESP3 tracking client), every time.
    diff.both("HELLO", "3")
    for _ in range(5):
        redirects = [RespConnection(server.port) for server in (redis_ref, activekv)]
        ids = [conn.call("CLIENT", "ID").value for conn in redirects]
        for conn, cid in zip((diff.ref, diff.ours), ids, strict=True):
            assert conn.call("CLIENT", "TRACKING", "on", "REDIRECT", str(cid)).value == "OK"
            conn.call("GET", "key1")
        for conn in redirects:
            assert conn.call("QUIT").value == "OK"
            conn.close()
        for conn in other:
            conn.call("SET", "key1", "x")
        ref, ours = diff.ref.read_reply(), diff.ours.read_reply()
        assert ref.type == ours.type == ">" and ours.value[0] == ref.value[0], (ref, ours)
        diff.check("CLIENT", "TRACKING", "off")


def _histogram_names(reply: Reply) -> list[bytes]:
    pairs = reply.value if reply.type == "%" else list(zip(reply.value[::2], reply.value[1::2],
                                                          strict=True))
    return sorted(k.value for k, _ in pairs)


def test_latency_histogram_of_a_container_command_lists_its_subcommands(diff: Differential) -> None:
    diff.check("CONFIG", "RESETSTAT")
    diff.both("CLIENT", "ID")  # (the ids differ)
    diff.check("CLIENT", "GETNAME")
    ref, ours = diff.both("LATENCY", "HISTOGRAM", "client")
    assert _histogram_names(ours) == _histogram_names(ref) == [b"client|getname", b"client|id"]
    for args in (("client|id",), ("client", "client|id"), ("config",), ("nosuch", "client|getname"),
                 ("client|id", "client|id")):
        ref, ours = diff.both("LATENCY", "HISTOGRAM", *args)
        assert _histogram_names(ours) == _histogram_names(ref), args


def test_xread_block_from_a_script_is_refused(diff: Differential) -> None:
    # Redis refuses BLOCK from a script as soon as it parses it (its value unchecked), naming
    # the command as the script typed it; without BLOCK the read answers at once.
    diff.check_all(("XADD", "s", "1-1", "a", "1"), ("XGROUP", "CREATE", "s", "g", "0"))
    for call in ("'xread','BLOCK',0,'STREAMS','s','$'", "'XREAD','BLOCK',100,'STREAMS','s','0'",
                 "'xread','BLOCK','abc','STREAMS','s','0'", "'xread','COUNT','x','BLOCK',0,'STREAMS','s','0'",
                 "'xread','COUNT',1,'BLOCK',0,'STREAMS','s','nope'", "'xread','BLOCK',0,'STREAMS','s'",
                 "'XreadGroup','group','g','c','BLOCK',0,'STREAMS','s','>'", "'xread','BLOCK'",
                 "'xreadgroup','group','nog','c','BLOCK',0,'STREAMS','s','>'", "'xread','STREAMS','s','0'"):
        diff.check("EVAL", f"return redis.pcall({call})", "0")
        diff.check("EVAL", f"return redis.call({call})", "0")


def test_sort_by_constant_of_a_set_is_ordered_for_scripts(diff: Differential) -> None:
    # sort.c: a set sorted BY a constant comes out ALPHA-sorted when called by a script (as with
    # STORE), so that the script sees a deterministic order; lists keep their own order.
    members = ["a", "b", "c", "d", "aa", "aaa", "azz", "z", "10", "9"]
    diff.check_all(("SADD", "myset", *members), ("RPUSH", "mylist", "b", "a", "c"))
    for script in ("return redis.call('sort', KEYS[1], 'by', '_')",
                   "return redis.call('sort', KEYS[1], 'by', '_', 'get', '#', 'get', '_:*')",
                   "return redis.call('sort', KEYS[1], 'by', 'nosort', 'desc', 'limit', '1', '3')",
                   "return redis.call('sort_ro', KEYS[1], 'by', 'x')"):
        for key in ("myset", "mylist"):
            diff.check("EVAL", script, "1", key)
