"""Third round of differences found by running Redis's own TCL unit tests against activekv
(/work/redis-tests, outside the repo); each fixed one is pinned here against a real
redis-server, RESP2 and RESP3. Our own tests, not copies of Redis's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.harness.processes import ServerProcess, start_activekv, start_redis
from tests.conftest import Differential
from tests.respclient import Reply, RespConnection


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def ddiff(request: pytest.FixtureRequest,
          debug_servers: tuple[ServerProcess, ServerProcess]) -> Iterator[Differential]:
    d = Differential(debug_servers[0].port, debug_servers[1].port, request.param)
    d.check("FLUSHALL")
    yield d
    for conn in (d.ref, d.ours):
        conn.call("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0")
        conn.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        conn.call("CONFIG", "SET", "maxmemory", "0")
    d.close()


# -- DEBUG SET-DISABLE-DENY-SCRIPTS and RESP3 replies seen from Lua ----------------------------

PROTOCOL_TYPES = ("bignum", "map", "set", "double", "null", "verbatim", "true", "false",
                  "attrib", "array", "integer", "string")


def test_noscript_commands_run_from_lua_once_deny_scripts_is_disabled(ddiff: Differential) -> None:
    d = ddiff
    d.check("EVAL", "return redis.call('debug', 'protocol', 'bignum')", "0")  # refused: noscript
    d.check("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1")
    d.check("EVAL", "return redis.call('debug', 'protocol', 'string')", "0")
    d.check("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0")
    d.check("EVAL", "return redis.call('debug', 'protocol', 'string')", "0")


@pytest.mark.parametrize("lua_resp", [2, 3])
def test_debug_protocol_replies_convert_through_lua_in_both_protocols(
        ddiff: Differential, lua_resp: int) -> None:
    d = ddiff
    d.check("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1")
    for kind in PROTOCOL_TYPES:
        # the script's protocol (redis.setresp) decides what Lua sees, the caller's what it gets
        d.check("EVAL", f"redis.setresp({lua_resp}); return redis.call('debug', 'protocol', '{kind}')", "0")
        d.check("EVAL", f"redis.setresp({lua_resp}); return type(redis.call('debug', 'protocol', '{kind}'))", "0")
    # a RESP3 big number is a {big_number=...} table in a RESP3 script
    d.check("EVAL", "redis.setresp(3); return redis.call('debug', 'protocol', 'bignum')['big_number']", "0")
    d.check("EVAL", "return {big_number='123\\r\\n123'}", "0")


def test_debug_object_sees_a_logically_expired_key(ddiff: Differential) -> None:
    # Redis's DEBUG OBJECT looks in the keyspace dict directly: no lazy expiry on the way.
    d = ddiff
    d.check("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    d.check("SET", "k", "v", "PX", "1")
    d.check("DEBUG", "SLEEP", "0.01")
    ref, ours = d.both("DEBUG", "OBJECT", "k")
    assert ref.type == ours.type == "+"
    assert ours.value.split()[3] == ref.value.split()[3] == "encoding:embstr"
    d.check("EXISTS", "k")  # an ordinary lookup does expire it
    d.check("DEBUG", "OBJECT", "k")


# -- error statistics of errors raised inside scripts --------------------------------------------


def _stats(d: Differential, commands: tuple[str, ...]) -> None:
    """INFO errorstats, total_error_replies and the commands' commandstats counters agree."""
    ref, ours = d.both("INFO", "errorstats")
    assert _lines(ours) == _lines(ref), f"redis {ref!r}, activekv {ours!r}"
    ref, ours = d.both("INFO", "stats")
    assert _field(ours, "total_error_replies") == _field(ref, "total_error_replies")
    ref, ours = d.both("INFO", "commandstats")
    for cmd in commands:
        assert _counters(ours, cmd) == _counters(ref, cmd), cmd


def _text(reply: Reply) -> str:
    assert reply.type in "$=", reply
    value = reply.value
    assert isinstance(value, bytes)
    return value.decode()


def _lines(reply: Reply) -> list[str]:
    return sorted(line for line in _text(reply).splitlines() if line and not line.startswith("#"))


def _field(reply: Reply, name: str) -> str:
    for line in _text(reply).splitlines():
        if line.startswith(name + ":"):
            return line
    raise AssertionError(f"{name} missing")


def _counters(reply: Reply, cmd: str) -> tuple[str, ...]:
    """calls, rejected_calls and failed_calls of ``cmd`` (timings differ)."""
    for line in _text(reply).splitlines():
        if line.startswith(f"cmdstat_{cmd}:"):
            parts = dict(p.split("=") for p in line.split(":", 1)[1].split(","))
            return parts["calls"], parts["rejected_calls"], parts["failed_calls"]
    return ()


def test_a_failed_redis_call_counts_one_error(ddiff: Differential) -> None:
    d = ddiff
    d.check("CONFIG", "RESETSTAT")
    d.check("EVAL", "return redis.call('select', 99)", "0")
    _stats(d, ("select", "eval"))
    d.check("EVAL", "return redis.pcall('select', 99)", "0")  # returned: not counted again
    d.check("EVAL", "local t = redis.pcall('select', 99); return t['err']", "0")
    d.check("SET", "s", "1")
    d.check("EVAL", "return redis.call('geoadd', 's', '13.36', '38.11', 'p')", "0")
    d.check("EVAL", "return redis.error_reply('MY_CODE custom')", "0")  # counted once, at reply
    d.check("EVAL", "return redis.call('ping', {})", "0")
    _stats(d, ("select", "eval", "geoadd"))


def test_a_redis_call_refused_inside_a_script_is_a_rejected_call(ddiff: Differential) -> None:
    d = ddiff
    d.check("CONFIG", "RESETSTAT")
    d.check("EVAL", "return redis.call('get')", "0")  # arity
    d.check("EVAL", "return pcall(redis.call, 'get')", "0")
    d.check("EVAL", "return redis.call('nosuchcommand')", "0")
    d.check("EVAL_RO", "return redis.call('set', 'x', 'y')", "1", "x")
    d.check("EVAL_RO", "return redis.pcall('set', 'x', 'y')['err']", "1", "x")
    _stats(d, ("get", "set", "eval", "eval_ro"))
    d.check("CONFIG", "RESETSTAT")
    d.check("CONFIG", "SET", "maxmemory", "1")
    d.check("EVAL", "return redis.call('set', 'x', 'y')", "1", "x")
    d.check("EVAL", "return redis.pcall('set', 'x', 'y')", "1", "x")
    d.check("EVAL", "local t = redis.pcall('set', 'x', 'y'); return t['err']", "1", "x")
    d.check("CONFIG", "SET", "maxmemory", "0")
    _stats(d, ("set", "eval"))


# -- the shebang line, split as Redis's sdssplitargs ---------------------------------------------

LIB_BODY = "\nredis.register_function('f', function() return 1 end)"


def test_function_load_metadata_is_split_and_checked_as_redis(diff: Differential) -> None:
    d = diff
    d.check("FUNCTION", "FLUSH")  # (libraries left by earlier tests: Redis lists them in dict order)
    for header in ('#!lua name="quoted"', "#!lua NAME=upper", "#!LuA name=anycase",
                   '#!lua name="unbalanced', "#!lua name=a name=b", "#!lua name=x foo=bar",
                   "#!bad name=a-b", "#!bad name=ab foo=1", "#!bad name=ab", "#!", "#! name=x",
                   '#!lua name="a\\x41b"', "#!lua name='single'"):
        d.check("FUNCTION", "LOAD", "REPLACE", header + LIB_BODY)
        d.check("FUNCTION", "LIST")
        d.check("FUNCTION", "FLUSH")


def test_eval_shebang_is_split_as_redis(diff: Differential) -> None:
    d = diff
    for header in ('#!lua flags="no-writes"', '#!lua flags="no-writes', "#!lua FLAGS=no-writes",
                   '#!lua "flags=no-writes,allow-oom"', "#!lua flags=no-writes,what?", "#!not-lua",
                   "#!lua  flags=", "#!Lua"):
        d.check("EVAL", header + "\nreturn redis.call('set', 'k', 'v')", "0")


# -- EXEC runs its commands as EXEC (Redis keeps c->lastcmd) --------------------------------------


def _cmd_field(reply: Reply) -> list[bytes]:
    out = []
    for item in reply.value:
        value = item.value
        assert isinstance(value, bytes), item
        out += [f for f in value.split() if f.startswith(b"cmd=")]
    return out


def test_commands_run_by_exec_show_cmd_exec(diff: Differential) -> None:
    d = diff
    d.check("MULTI")
    d.check("CLIENT", "INFO")
    ref, ours = d.both("EXEC")
    assert _cmd_field(ours) == _cmd_field(ref) == [b"cmd=exec"]


def test_an_exec_time_acl_denial_logs_cmd_exec(diff: Differential, other: list[RespConnection]) -> None:
    d = diff
    for conn in (d.ref, d.ours):
        conn.call("ACL", "LOG", "RESET")
        conn.call("ACL", "SETUSER", "execuser", "on", ">pw", "~*", "+@all")
    try:
        d.check("AUTH", "execuser", "pw")
        d.check("MULTI")
        d.check("INCR", "counter")
        for conn in other:  # the rules change between queueing and EXEC
            assert conn.call("ACL", "SETUSER", "execuser", "-incr").value == "OK"
        d.check("EXEC")
        d.check("AUTH", "default", "")
        ref, ours = d.both("ACL", "LOG", "1")
        fields = []
        for reply in (ref, ours):
            entry = reply.value[0]
            items = entry.value if entry.type == "%" else list(zip(entry.value[::2], entry.value[1::2], strict=True))
            info = {k.value: v.value for k, v in items}
            fields.append((info[b"context"], info[b"object"],
                           [f for f in info[b"client-info"].split() if f.startswith(b"cmd=")]))
        assert fields[1] == fields[0] == (b"multi", b"incr", [b"cmd=exec"])
    finally:
        for conn in (d.ref, d.ours):
            conn.call("AUTH", "default", "")
            conn.call("ACL", "DELUSER", "execuser")


# -- MODULE: no module loaded, LOAD/LOADEX/UNLOAD protected by enable-module-command -------------

MODULE_CALLS = (("MODULE", "HELP"), ("MODULE", "LIST"), ("MODULE", "LOAD", "/nonexistent.so"),
                ("MODULE", "LOAD", "/nonexistent.so", "a", "b"), ("MODULE", "LOADEX", "/nonexistent.so"),
                ("MODULE", "LOADEX", "/nonexistent.so", "CONFIG", "n", "v", "ARGS", "x"),
                ("MODULE", "UNLOAD", "nosuch"), ("MODULE", "NOSUCH"), ("MODULE",), ("MODULE", "LIST", "x"),
                ("MODULE", "HELP", "x"), ("MODULE", "LOAD"), ("MODULE", "UNLOAD"),
                ("COMMAND", "INFO", "module|list", "module|load"), ("COMMAND", "GETKEYS", "MODULE", "LIST"))


def test_module_commands_with_the_default_enable_module_command(diff: Differential) -> None:
    for cmd in MODULE_CALLS:
        diff.check(*cmd)
    diff.check("CONFIG", "GET", "enable-module-command")
    diff.check("CONFIG", "RESETSTAT")
    diff.check("MODULE", "LOAD", "/nonexistent.so")  # a rejected call
    ref, ours = diff.both("INFO", "commandstats")
    assert _counters(ours, "module|load") == _counters(ref, "module|load") == ("0", "1", "0")


@pytest.mark.parametrize("mode", ["yes", "local"])
def test_module_commands_when_enabled(mode: str) -> None:
    with start_redis("--enable-module-command", mode) as ref, \
            start_activekv("--enable-module-command", mode) as ours:
        for protocol in (2, 3):
            d = Differential(ref.port, ours.port, protocol)
            try:
                for cmd in MODULE_CALLS:
                    d.check(*cmd)
            finally:
                d.close()
