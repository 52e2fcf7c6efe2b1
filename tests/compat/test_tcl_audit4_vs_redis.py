"""Fourth round of differences found by running Redis's own TCL tests against activekv
(/work/redis-tests, outside the repo: bitfield, pause, slowlog, querybuf, lazyfree, limits,
list-2, obuf-limits, replybufsize, oom-score-adj, redis-cli, redis-benchmark, ...); each fixed
one is pinned here against a real redis-server, RESP2 and RESP3. Our own tests, not copies of
Redis's."""

from __future__ import annotations

import select
import time
from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess
from tests.compat.helpers import connect
from tests.conftest import Differential
from tests.respclient import Reply, RespConnection, encode_command


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def ddiff(request: pytest.FixtureRequest,
          debug_servers: tuple[ServerProcess, ServerProcess]) -> Iterator[Differential]:
    d = Differential(debug_servers[0].port, debug_servers[1].port, request.param)
    d.check("FLUSHALL")
    d.check("FUNCTION", "FLUSH")
    d.check("SCRIPT", "FLUSH")
    yield d
    for conn in (d.ref, d.ours):
        conn.call("CLIENT", "UNPAUSE")
    d.close()


# -- CLIENT PAUSE WRITE holds Redis's may-replicate commands, scripts by their flags ----------

FUNCTIONS = ("#!lua name=paused\n"
             "redis.register_function{function_name='ro', callback=function() return 'r' end,"
             " flags={'no-writes'}}\n"
             "redis.register_function('rw', function() return 'w' end)")
NO_WRITES = "#!lua flags=no-writes\nreturn 'nw'"


def _blocked(conn: RespConnection) -> int:
    info = conn.call("INFO", "clients").value
    assert isinstance(info, bytes)
    for line in info.decode().splitlines():
        if line.startswith("blocked_clients:"):
            return int(line.split(":")[1])
    raise AssertionError("no blocked_clients in INFO clients")


def _under_pause(port: int, protocol: int, cmd: tuple[str, ...]) -> tuple[bool, Reply]:
    """Send ``cmd`` while CLIENT PAUSE WRITE is on: (was it held?, its reply after UNPAUSE)."""
    ctl, conn = connect(port, protocol), connect(port, protocol)
    try:
        ctl.call("CLIENT", "PAUSE", "100000", "WRITE")
        conn.send_raw(encode_command(cmd))
        held = False
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            if select.select([conn.sock], [], [], 0.02)[0]:
                break  # a reply came: not held
            if _blocked(ctl) == 1:
                held = True
                break
        ctl.call("CLIENT", "UNPAUSE")
        return held, conn.read_reply()
    finally:
        ctl.call("CLIENT", "UNPAUSE")
        ctl.close()
        conn.close()


def test_pause_write_holds_may_replicate_commands_and_scripts_by_their_flags(ddiff: Differential) -> None:
    d = ddiff
    d.check("PFADD", "hll", "a")
    d.check("FUNCTION", "LOAD", FUNCTIONS)
    sha = d.check("SCRIPT", "LOAD", NO_WRITES).value
    sha_plain = d.check("SCRIPT", "LOAD", "return 'plain'").value
    cases: list[tuple[str, ...]] = [
        ("PFCOUNT", "hll"), ("PUBLISH", "ch", "m"), ("SPUBLISH", "ch", "m"),
        ("EVAL", "return 1", "0"),  # no shebang: may replicate
        ("EVAL", "#!lua\nreturn 2", "0"),  # a shebang without no-writes: a write
        ("EVAL", NO_WRITES, "0"),
        ("EVAL", "#!lua flags=bogus\nreturn 3", "0"),  # the error comes after the pause
        ("EVALSHA", sha, "0"), ("EVALSHA", sha_plain, "0"), ("EVALSHA", "f" * 40, "0"),
        ("FCALL", "ro", "0"), ("FCALL", "rw", "0"), ("FCALL", "nosuch", "0"),
        ("EVAL_RO", "return 4", "0"), ("FCALL_RO", "ro", "0"), ("PFADD", "hll", "b"),
        ("GET", "x"), ("PING",),
    ]
    for cmd in cases:
        ref = _under_pause(d.ref.sock.getpeername()[1], d.protocol, cmd)
        ours = _under_pause(d.ours.sock.getpeername()[1], d.protocol, cmd)
        assert ours == ref, f"RESP{d.protocol} {cmd!r}: redis {ref!r}, activekv {ours!r}"


def test_pause_write_holds_exec_of_a_transaction_with_a_may_replicate_command(ddiff: Differential) -> None:
    d = ddiff
    for queued in (("PUBLISH", "ch", "m"), ("EVAL", NO_WRITES, "0"), ("PFCOUNT", "h")):
        for port in (d.ref.sock.getpeername()[1], d.ours.sock.getpeername()[1]):
            ctl, conn = connect(port, d.protocol), connect(port, d.protocol)
            conn.call("MULTI")
            conn.call(*queued)
            ctl.call("CLIENT", "PAUSE", "100000", "WRITE")
            conn.send_raw(encode_command(("EXEC",)))
            held = not select.select([conn.sock], [], [], 0.3)[0] and _blocked(ctl) == 1
            ctl.call("CLIENT", "UNPAUSE")
            conn.read_reply()
            ctl.close()
            conn.close()
            expected = queued[0] != "EVAL"
            assert held == expected, f"port {port}: EXEC of {queued!r} held={held}"


def test_read_only_scripts_may_not_call_may_replicate_commands(ddiff: Differential) -> None:
    d = ddiff
    d.check("PFADD", "hll", "a")
    for call in ("redis.call('publish', 'ch', 'm')", "redis.call('pfcount', 'hll')",
                 "redis.call('spublish', 'ch', 'm')", "redis.pcall('publish', 'ch', 'm')"):
        d.check("EVAL_RO", f"return {call}", "0")
        d.check("EVAL", f"#!lua flags=no-writes\nreturn {call}", "0")
        d.check("EVAL", f"return {call}", "0")  # allowed outside a read-only script
    d.check("FUNCTION", "LOAD", "#!lua name=l\nredis.register_function{function_name='f', "
            "callback=function() return redis.call('publish', 'ch', 'm') end, flags={'no-writes'}}")
    d.check("FCALL", "f", "0")
    d.check("FCALL_RO", "f", "0")
    d.check("INFO", "errorstats")


# -- CONFIG SET of activekv's own immutable options ---------------------------------------------


def test_config_set_of_activekvs_own_immutable_options_to_their_value_is_a_no_op(ddiff: Differential) -> None:
    # Not a Redis behaviour (Redis has no such options): a client that writes back all of
    # CONFIG GET * (Redis's "CONFIG sanity" test does) gets +OK; changing one stays refused,
    # as Redis refuses its own immutable options whatever the value.
    ours = ddiff.ours
    for name in ("region", "peer", "peer-user", "peer-password", "oplog-truncate-corrupt",
                 "repl-log-segment-size"):
        got = ours.call("CONFIG", "GET", name).plain()
        value = got[0][1] if ddiff.protocol == 3 else got[1]  # a map of one pair, or [name, value]
        assert ours.call("CONFIG", "SET", name, value) == Reply("+", "OK"), name
        assert ours.call("CONFIG", "GET", name).plain() == got
    refused = ("-", "ERR CONFIG SET failed (possibly related to argument 'region') - "
               "can't set immutable config")
    assert tuple(ours.call("CONFIG", "SET", "region", "elsewhere")) == refused
    assert ours.call("CONFIG", "SET", "repl-log-segment-size", "1x")[1].endswith("can't set immutable config")
    # Redis's own immutable options are refused even at their current value, on both servers
    ddiff.check("CONFIG", "SET", "daemonize", "no")
    ddiff.check("CONFIG", "SET", "databases", "16")
    ddiff.check("CONFIG", "SET", "maxclients", "10000", "databases", "16")


# -- the slow log: redacted arguments, blocked commands logged when served ----------------------


def _logged(conn: RespConnection) -> list[list[bytes]]:
    """The argument lists of the slow log, newest first (ids, times and peers differ)."""
    reply = conn.call("SLOWLOG", "GET", "-1")
    return [[a.value for a in entry.value[3].value] for entry in reply.value]


def test_slowlog_redacts_what_redis_redacts_even_when_the_command_fails(ddiff: Differential) -> None:
    d = ddiff
    d.check("CONFIG", "SET", "slowlog-log-slower-than", "0")
    d.check("SLOWLOG", "RESET")
    commands = [
        ("ACL", "SETUSER", "a user", "+get"),  # refused: still redacted
        ("ACL", "SETUSER", "logged-user", "on", ">secret", "+get"),
        ("ACL", "SETUSER", "logged-user", "(+set"),  # unmatched parenthesis
        ("CONFIG", "SET", "masterauth", ""),
        ("CONFIG", "SET", "maxclients", "10000", "MASTERUSER", "u", "requirepass", ""),
        ("CONFIG", "SET", "masterauth"),  # arity: nothing redacted
        ("CONFIG", "SET", "nosuch", "1", "masterauth", "x"),  # unknown name: still redacted
        ("AUTH", "nopass"),
        ("AUTH", "someone", "nopass"),
        ("HELLO", str(d.protocol), "AUTH", "someone", "nopass"),
        ("ACL", "DELUSER", "logged-user"),
        ("CONFIG", "SET", "slowlog-log-slower-than", "10000"),
    ]
    for cmd in commands:
        d.check(*cmd)
    assert _logged(d.ours) == _logged(d.ref)
    d.check("SLOWLOG", "LEN")


def test_slowlog_logs_a_blocked_command_when_it_is_served(ddiff: Differential) -> None:
    d = ddiff
    d.check("CONFIG", "SET", "slowlog-log-slower-than", "0")
    seen = []
    for conn in (d.ref, d.ours):
        port = conn.sock.getpeername()[1]
        waiter = connect(port, d.protocol)
        try:
            conn.call("SLOWLOG", "RESET")
            waiter.send_raw(encode_command(("BLPOP", "l", "0")))
            deadline = time.monotonic() + 5
            while _blocked(conn) != 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            conn.call("SLOWLOG", "RESET")
            before = _logged(conn)  # blocked: not logged yet
            conn.call("MULTI")
            conn.call("LPUSH", "l", "foo")
            conn.call("SLOWLOG", "RESET")
            conn.call("EXEC")
            served = waiter.read_reply()
            after = _logged(conn)
            conn.call("SLOWLOG", "RESET")
            timed_out = waiter.call("BLPOP", "nothing", "0.05")
            late = _logged(conn)
            seen.append((before, served, after, timed_out, late))
        finally:
            waiter.close()
    assert seen[1] == seen[0]
    assert seen[0][2][0] == [b"BLPOP", b"l", b"0"]
    d.check("CONFIG", "SET", "slowlog-log-slower-than", "10000")


# -- oom-score-adj writes the process's /proc/<pid>/oom_score_adj ------------------------------


def _oom_score(conn: RespConnection) -> int:
    info = conn.call("INFO", "server").value
    assert isinstance(info, bytes)
    pid = next(line.split(":")[1] for line in info.decode().splitlines() if line.startswith("process_id:"))
    with open(f"/proc/{pid}/oom_score_adj") as f:
        return int(f.read())


def test_oom_score_adj_sets_and_restores_the_process_score(ddiff: Differential) -> None:
    d = ddiff
    bases = [_oom_score(c) for c in (d.ref, d.ours)]
    assert bases[0] == bases[1]  # both children of this test process
    base = bases[0]
    steps: list[tuple[str, ...]] = [
        ("CONFIG", "SET", "oom-score-adj-values", "9 9 9", "oom-score-adj", "yes"),
        ("CONFIG", "SET", "oom-score-adj-values", "15 20 30"),  # enabled: the new value counts
        ("CONFIG", "SET", "oom-score-adj", "relative"),
        ("CONFIG", "SET", "oom-score-adj-values", f"{base + 12} 0 0", "oom-score-adj", "absolute"),
        ("CONFIG", "SET", "oom-score-adj-values", "2000 2000 2000"),  # clamped to 1000
        ("CONFIG", "SET", "oom-score-adj", "no"),  # back to the score from before
        ("CONFIG", "SET", "oom-score-adj-values", "5 5 5"),  # disabled: /proc untouched
        ("CONFIG", "SET", "oom-score-adj-values", "-2001 0 0"),
        ("CONFIG", "SET", "oom-score-adj", "sometimes"),
    ]
    try:
        for step in steps:
            d.check(*step)
            seen = [_oom_score(c) for c in (d.ref, d.ours)]
            assert seen[1] == seen[0], f"{step!r}: redis {seen[0]}, activekv {seen[1]}"
            d.check("CONFIG", "GET", "oom-score-adj")
            d.check("CONFIG", "GET", "oom-score-adj-values")
        assert _oom_score(d.ours) == base
    finally:
        for conn in (d.ref, d.ours):
            conn.call("CONFIG", "SET", "oom-score-adj", "no", "oom-score-adj-values", "0 200 800")


# -- INFO memory lazyfreed_objects ------------------------------------------------------------


def _lazyfreed(d: Differential) -> None:
    # Redis counts a lazy free when its background thread is done with it: give it 2 s
    assert _info_field(d.ours, "memory", "lazyfree_pending_objects") == "0"  # freed at once
    ours = _info_field(d.ours, "memory", "lazyfreed_objects")
    deadline = time.monotonic() + 2
    while True:
        pending = _info_field(d.ref, "memory", "lazyfree_pending_objects")
        ref = _info_field(d.ref, "memory", "lazyfreed_objects")
        if (pending == "0" and ref == ours) or time.monotonic() > deadline:
            break
        time.sleep(0.005)
    assert ours == ref, f"lazyfreed_objects: redis {ref}, activekv {ours}"


def _info_field(conn: RespConnection, section: str, name: str) -> str:
    info = conn.call("INFO", section).value
    assert isinstance(info, bytes)
    for line in info.decode().splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1]
    raise AssertionError(f"no {name} in INFO {section}")


def test_lazyfreed_objects_counts_what_redis_frees_in_the_background(ddiff: Differential) -> None:
    d = ddiff
    d.check("CONFIG", "RESETSTAT")
    d.check("CONFIG", "SET", "stream-node-max-entries", "5")
    try:
        values = {
            "intset": ("SADD", "intset", *range(200)),  # intset: one allocation
            "hset": ("SADD", "hset", *(f"m{i}" for i in range(65))),  # hashtable: 65 > 64
            "hset64": ("SADD", "hset64", *(f"m{i}" for i in range(64))),  # 64: not above
            "zsmall": ("ZADD", "zsmall", *(x for i in range(100) for x in (i, f"m{i}"))),
            "zbig": ("ZADD", "zbig", *(x for i in range(129) for x in (i, f"m{i}"))),  # skiplist
            "hash": ("HSET", "hash", *(x for i in range(300) for x in (f"f{i}", "v"))),
            "lshort": ("RPUSH", "lshort", *range(1000)),  # one quicklist node per 8 kB
            "llong": ("RPUSH", "llong", *("x" * 1000 for _ in range(600))),  # ~75 nodes
            "str": ("SET", "str", "x" * 100000),
        }
        for key, cmd in values.items():
            d.check(*cmd)
            d.check("UNLINK", key)
            _lazyfreed(d)
        for i in range(1000):
            d.check("XADD", "stream", f"{i + 1}-0", "f", "v")
        d.check("XGROUP", "CREATE", "stream", "g", "0")
        d.check("UNLINK", "stream")
        d.check("XADD", "s2", "1-0", "a", "b")
        d.check("XGROUP", "CREATE", "s2", "g", "$")
        d.check("UNLINK", "s2")
        _lazyfreed(d)
        d.check("SADD", "viadel", *(f"m{i}" for i in range(100)))
        d.check("DEL", "viadel")  # DEL frees at once
        _lazyfreed(d)
        d.check("CONFIG", "SET", "lazyfree-lazy-user-del", "yes")
        d.check("SADD", "viadel", *(f"m{i}" for i in range(100)))
        d.check("DEL", "viadel")
        _lazyfreed(d)
        for flush in (("FLUSHDB", "ASYNC"), ("FLUSHALL", "ASYNC"), ("FLUSHALL", "SYNC"), ("FLUSHDB",)):
            d.check("MSET", "a", "1", "b", "2", "c", "3")
            d.check("SELECT", "1")
            d.check("SET", "other-db", "1")
            d.check("SELECT", "0")
            d.check(*flush)
            _lazyfreed(d)
        d.check("CONFIG", "SET", "lazyfree-lazy-user-flush", "yes")
        d.check("MSET", "a", "1", "b", "2")
        d.check("FLUSHALL")
        _lazyfreed(d)
        d.check("CONFIG", "RESETSTAT")
        _lazyfreed(d)
    finally:
        for conn in (d.ref, d.ours):
            conn.call("CONFIG", "SET", "stream-node-max-entries", "100", "lazyfree-lazy-user-del", "no",
                      "lazyfree-lazy-user-flush", "no")
            conn.call("FLUSHALL")


# -- ACL SETUSER disconnects subscribers whose subscriptions it revokes -------------------------


def _survivors(port: int, protocol: int) -> list[list[str]]:
    """Subscribers of ``psuser`` (and one of ``other``), then ACL SETUSER changes: the names
    still in CLIENT LIST after each change."""
    ctl = connect(port, protocol)
    conns: list[RespConnection] = []
    seen: list[list[str]] = []
    steps = [  # (rules first, subscriptions by name, the change)
        (["&foo:1"], {"ch": ("SUBSCRIBE", "foo:1")}, ["resetchannels"]),
        (["&bar:*"], {"pat": ("PSUBSCRIBE", "bar:*")}, ["resetchannels"]),
        (["allchannels"], {"all": ("PSUBSCRIBE", "foo")}, ["resetchannels"]),
        (["&news:*"], {"kept": ("SUBSCRIBE", "news:1")}, ["&other"]),  # a superset
        (["&news:*"], {"literal": ("PSUBSCRIBE", "news:*"), "matched": ("SUBSCRIBE", "news:a")},
         ["resetchannels", "&news:[a-z]*"]),  # a pattern must be allowed literally
        (["&s:*"], {"shard": ("SSUBSCRIBE", "s:1")}, ["resetchannels", "&t"]),
        (["&x"], {"idle": ("PING",)}, ["resetchannels"]),  # not subscribed: stays
        (["&y"], {"toall": ("SUBSCRIBE", "y")}, ["allchannels"]),
    ]
    try:
        ctl.call("ACL", "SETUSER", "bystander", "on", ">pw", "+@all", "~*", "resetchannels", "&foo:1")
        bystander = connect(port, protocol)
        conns.append(bystander)
        bystander.call("AUTH", "bystander", "pw")
        bystander.call("CLIENT", "SETNAME", "bystander")
        bystander.call("SUBSCRIBE", "foo:1")
        for first, subs, change in steps:
            ctl.call("ACL", "SETUSER", "psuser", "reset", "on", ">pw", "+@all", "~*", *first)
            for name, cmd in subs.items():
                conn = connect(port, protocol)
                conns.append(conn)
                conn.call("AUTH", "psuser", "pw")
                conn.call("CLIENT", "SETNAME", name)
                conn.call(*cmd)
            assert ctl.call("ACL", "SETUSER", "psuser", *change).type == "+"
            time.sleep(0.05)
            listing = ctl.call("CLIENT", "LIST").value
            assert isinstance(listing, bytes)
            names = sorted(f.split("=", 1)[1] for line in listing.decode().splitlines()
                           for f in line.split() if f.startswith("name=") and f != "name=")
            seen.append(names)
    finally:
        for conn in conns:
            conn.close()
        ctl.call("ACL", "DELUSER", "psuser", "bystander")
        ctl.close()
    return seen


def test_acl_setuser_disconnects_subscribers_it_revokes(ddiff: Differential) -> None:
    ref = _survivors(ddiff.ref.sock.getpeername()[1], ddiff.protocol)
    ours = _survivors(ddiff.ours.sock.getpeername()[1], ddiff.protocol)
    assert ours == ref
    assert "ch" not in ref[0] and "kept" in ref[3] and "bystander" in ref[-1]
