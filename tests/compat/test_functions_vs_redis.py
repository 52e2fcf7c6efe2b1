"""FUNCTION / FCALL / FCALL_RO, activekv against a real redis-server in RESP2 and RESP3
(``diff``): library metadata, redis.register_function's checks, the load-time API, errors
with line numbers, FUNCTION LIST/STATS/DELETE/FLUSH/HELP/KILL (FUNCTION DUMP/RESTORE:
test_function_dump_vs_redis.py)."""

from __future__ import annotations

import pytest

from tests.conftest import Differential

LIB = "#!lua name=mylib\nredis.register_function('echo_key', function(keys, args) return {keys[1], args[1]} end)"
LIB_FLAGS = ("#!lua name=flagged\n"
             "redis.register_function{function_name='ro', callback=function(keys) return redis.call('get', keys[1]) end,"
             " flags={'no-writes'}, description='reads a key'}\n"
             "redis.register_function{function_name='rw', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end}")

# One function per library where FUNCTION LIST is compared: Redis lists a library's functions
# in the order of a dict with a per-process random hash seed.
LIB_ONE = ("#!lua name=flagged\n"
           "redis.register_function{function_name='ro', callback=function(keys) return redis.call('get', keys[1]) end,"
           " flags={'no-writes'}, description='reads a key'}")


@pytest.fixture(autouse=True)
def flushed(diff: Differential) -> None:
    diff.check("FUNCTION", "FLUSH")


@pytest.mark.parametrize("code", [
    "return 1", "#!lua\nreturn 1", "#!lua name=x", "#!lua name=x y\nreturn", "#!lua name=\nreturn",
    "#!lua name=a-b\nreturn", "#!js name=ab\nreturn", "#!LUA name=up\nredis.register_function('f', function() end)", "#!lua name=x\nreturn 1",
    "#!lua name=x\nredis.call('set', 'x', 'y')", "#!lua name=x\nlocal a = 1\nerror('boom')",
    "#!lua name=x\nreturn type(1)", "#!lua name=x\nsyntax error",
    "#!lua name=x\nredis.register_function('a b', function() end)",
    "#!lua name=x\nredis.register_function('f', 'notfn')",
    "#!lua name=x\nredis.register_function(1, function() end)",
    "#!lua name=x\nredis.register_function('f', function() end, 1)",
    "#!lua name=x\nredis.register_function()",
    "#!lua name=x\nredis.register_function('f')",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags={'bad'}}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags='no-writes'}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, other=1}",
    "#!lua name=x\nredis.register_function{callback=function() end}",
    "#!lua name=x\nredis.register_function{function_name='f'}",
    "#!lua name=x\nredis.register_function{function_name={}, callback=function() end}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=1}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, description={}}",
    "#!lua name=x\nredis.register_function('f', function() end)\nredis.register_function('f', function() end)",
    "#!lua name=x\nredis.register_function('f', function() end)\nredis.log(redis.LOG_NOTICE, 'loaded')",
    "#!lua name=x\nlocal v = redis.REDIS_VERSION\nredis.register_function('v', function() return v end)",
    "#!lua name=x\nredis.register_function('f', function() end)\nx = 1",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags={'NO-WRITES', 'allow-oom'}}",
])
def test_function_load(diff: Differential, code: str) -> None:
    diff.check("FUNCTION", "LOAD", code)
    diff.check("FUNCTION", "LIST", "WITHCODE")


def test_fcall_and_its_errors(diff: Differential) -> None:
    diff.check_all(
        ("FUNCTION", "LOAD", LIB), ("FUNCTION", "LOAD", LIB), ("FUNCTION", "LOAD", "REPLACE", LIB),
        ("FUNCTION", "LOAD", "foo", LIB), ("FUNCTION", "LOAD", "REPLACE", "foo", LIB),
        ("FUNCTION", "LOAD", LIB.replace("mylib", "other")),
        ("FCALL", "echo_key", "1", "k", "a"), ("FCALL", "echo_key", "0"), ("FCALL", "nope", "0"),
        ("FCALL", "echo_key", "-1"), ("FCALL", "echo_key", "5", "a"), ("FCALL", "echo_key", "x"),
        ("FCALL_RO", "echo_key", "1", "k"), ("FCALL",), ("FCALL", "echo_key"),
        ("FUNCTION", "LOAD", LIB_FLAGS),
        ("FCALL", "rw", "1", "k", "v"), ("FCALL", "ro", "1", "k"), ("FCALL_RO", "ro", "1", "k"),
        ("FCALL_RO", "rw", "1", "k", "v"),
        ("FUNCTION", "LOAD", "#!lua name=errs\nredis.register_function('oops', function()\n  return x\nend)\n"
                             "redis.register_function('bad', function() return redis.call('nosuch') end)"),
        ("FCALL", "oops", "0"), ("FCALL", "bad", "0"),
        ("EVAL", "return redis.call('fcall', 'ro', 1, 'k')", "0"),
    )


def test_function_list_delete_flush(diff: Differential) -> None:
    diff.check_all(
        ("FUNCTION", "LIST"), ("FUNCTION", "LOAD", LIB_ONE),
        ("FUNCTION", "LIST"), ("FUNCTION", "LIST", "WITHCODE"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "flag*"), ("FUNCTION", "LIST", "LIBRARYNAME", "nomatch"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "FLAG*"), ("FCALL", "RO", "1", "k"),
        ("FUNCTION", "LOAD", LIB_ONE.replace("flagged", "FLAGGED")),
        ("FUNCTION", "LOAD", LIB_ONE.replace("flagged", "FLAGGED").replace("'ro'", "'other'")),
        ("FUNCTION", "DELETE", "FLAGGED"), ("FUNCTION", "DELETE", "FLAGGED"),
        ("FUNCTION", "LIST", "LIBRARYNAME"), ("FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b"),
        ("FUNCTION", "LIST", "WITHCODE", "WITHCODE"), ("FUNCTION", "LIST", "foo"),
        ("FUNCTION", "DELETE", "nope"), ("FUNCTION", "DELETE"), ("FUNCTION", "DELETE", "flagged"),
        ("FCALL", "ro", "1", "k"), ("FUNCTION", "LIST"),
        ("FUNCTION", "LOAD", LIB), ("FUNCTION", "FLUSH", "bad"), ("FUNCTION", "FLUSH", "ASYNC"),
        ("FUNCTION", "LIST"), ("FUNCTION", "LOAD", LIB), ("FUNCTION", "FLUSH", "SYNC"),
        ("FCALL", "echo_key", "0"), ("FUNCTION", "FLUSH", "SYNC", "x"),
    )


def test_function_stats_kill_help(diff: Differential) -> None:
    diff.check_all(("FUNCTION", "STATS"), ("FUNCTION", "LOAD", LIB), ("FUNCTION", "STATS"),
                   ("FUNCTION", "STATS", "x"), ("FUNCTION", "KILL"), ("FUNCTION", "HELP"),
                   ("FUNCTION", "NOSUCH"), ("FUNCTION",),
                   ("FUNCTION", "RESTORE", "garbage"), ("FUNCTION", "RESTORE", "garbage", "bad"),
                   ("FUNCTION", "RESTORE", "garbage", "append", "x"))


def test_function_callbacks_see_the_script_globals(diff: Differential) -> None:
    diff.check_all(
        ("FUNCTION", "LOAD", "#!lua name=g\nredis.register_function('t', function(keys, args) "
                             "return {type(keys), #args, cjson.encode({1}), bit.band(6, 3), tostring(KEYS)} end)"),
        ("FCALL", "t", "1", "k", "a", "b"),
    )


def test_function_load_past_its_time_limit_fails(diff: Differential) -> None:
    diff.check("FUNCTION", "LOAD", "#!lua name=slow\nlocal i = 0\nwhile true do i = i + 1 end")
    diff.check("FUNCTION", "LIST")


SCRIPT_INFO_FIELDS = ["used_memory_lua", "used_memory_vm_eval", "used_memory_lua_human",
                      "used_memory_scripts_eval", "number_of_cached_scripts", "number_of_functions",
                      "used_memory_vm_functions", "used_memory_vm_total", "used_memory_vm_total_human",
                      "used_memory_functions", "used_memory_scripts", "used_memory_scripts_human"]


def _info_memory(conn: object) -> dict[str, str]:
    text = conn.call("INFO", "memory").value  # type: ignore[attr-defined]
    text = text.decode() if isinstance(text, bytes) else str(text)
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def test_info_memory_counts_scripts_and_functions(diff: Differential) -> None:
    diff.check_all(("SCRIPT", "FLUSH"), ("EVAL", "return 1", "0"), ("SCRIPT", "LOAD", "return 2"),
                   ("FUNCTION", "LOAD", LIB))
    ref, ours = _info_memory(diff.ref), _info_memory(diff.ours)
    assert [k for k in ref if k in SCRIPT_INFO_FIELDS] == SCRIPT_INFO_FIELDS
    assert [k for k in ours if k in SCRIPT_INFO_FIELDS] == SCRIPT_INFO_FIELDS
    for field in ("number_of_cached_scripts", "number_of_functions"):
        assert ours[field] == ref[field], field
    assert ours["number_of_cached_scripts"] == "2" and ours["number_of_functions"] == "1"


def test_libraries_are_not_keys(diff: Differential) -> None:
    """Loading a library changes no key: a WATCH on a key named like it stays clean, KEYS and
    DBSIZE do not see it, FLUSHALL keeps it."""
    diff.check_all(("WATCH", "mylib"), ("FUNCTION", "LOAD", LIB), ("MULTI",), ("PING",), ("EXEC",),
                   ("KEYS", "*"), ("DBSIZE",), ("FLUSHALL",), ("FCALL", "echo_key", "1", "k", "a"))
