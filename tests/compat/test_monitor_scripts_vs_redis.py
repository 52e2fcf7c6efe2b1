"""MONITOR and scripts, against redis-server 7.0.15 (RESP2 and RESP3): the EVAL / EVALSHA /
EVAL_RO / FCALL / FCALL_RO line comes first (also when the command then fails), then one
``[<db> lua]`` line per command the script ran through redis.call / redis.pcall (also a call
that failed while running, such as WRONGTYPE), none for calls refused before running (unknown
command, wrong arity, ``noscript`` or ``admin`` commands, writes from a read-only script).
Compared with the timestamps and client ports taken out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from server.harness.processes import ServerProcess
from tests.conftest import Differential
from tests.respclient import RespConnection

LINE = re.compile(rb"^\d{10,}\.\d{6} \[(\d+) (127\.0\.0\.1:\d+|lua)\] (.*)$", re.S)

LIB = ("#!lua name=mon\n"
       "redis.register_function('mset2', function(keys, args) redis.call('set', keys[1], args[1]) "
       "return redis.call('get', keys[1]) end)\n"
       "redis.register_function{function_name='rd', callback=function(keys) return redis.call('exists', keys[1]) end, "
       "flags={'no-writes'}}")


@pytest.fixture
def monitors(redis_ref: ServerProcess, activekv: ServerProcess) -> Iterator[list[RespConnection]]:
    conns = [RespConnection(redis_ref.port, timeout=5.0), RespConnection(activekv.port, timeout=5.0)]
    for conn in conns:
        assert conn.call("MONITOR").value == "OK"
    yield conns
    for conn in conns:
        conn.close()


def _line(conn: RespConnection) -> tuple[bytes, bytes, bytes]:
    reply = conn.read_reply()
    assert reply.type == "+", reply
    value = reply.value.encode("utf-8", "surrogateescape") if isinstance(reply.value, str) else reply.value
    m = LINE.match(value)
    assert m is not None, reply
    source = b"lua" if m.group(2) == b"lua" else b"client"
    return m.group(1), source, m.group(3)


def _sequence(diff: Differential, monitors: list[RespConnection], *commands: tuple[Any, ...]) -> list[Any]:
    for cmd in commands:
        diff.check(*cmd)
    diff.both("ECHO", "marker")
    seen: list[list[tuple[bytes, bytes, bytes]]] = [[], []]
    for conn, out in zip(monitors, seen, strict=True):
        for _ in range(200):
            line = _line(conn)
            out.append(line)
            if line[2] == b'"ECHO" "marker"':
                break
    ref, ours = seen
    assert ours == ref, f"RESP{diff.protocol}:\n  redis:    {ref!r}\n  activekv: {ours!r}"
    return ours


def test_eval_lines_then_its_calls(diff: Differential, monitors: list[RespConnection]) -> None:
    lines = _sequence(
        diff, monitors,
        ("EVAL", "redis.call('set', KEYS[1], '1'); redis.pcall('get', KEYS[1]); redis.pcall('nosuch');"
                 " redis.pcall('incr', 'a', 'b'); redis.pcall('hset', KEYS[1], 'f', 'v');"
                 " return redis.call('get', KEYS[1])", "1", "mk"),
        ("EVAL_RO", "return redis.call('get', KEYS[1])", "1", "mk"),
        ("EVAL_RO", "return redis.pcall('set', 'x', '1')", "0"),
        ("EVAL", "redis.call('select', '3'); redis.call('set', 'x', 1); return redis.pcall('config', 'get', 'port')", "0"),
        ("EVAL", "return redis.pcall('auth', 'x')", "0"),
        ("EVAL", "return redis.pcall('blpop', 'emptylist', '0')", "0"),
        ("EVAL", "return 1", "x"), ("EVAL", "return 1", "5"), ("EVAL", "retur 1", "0"),
        ("EVALSHA", "0" * 40, "0"),
        ("SCRIPT", "LOAD", "return redis.call('ping')"),
        ("EVALSHA", "b3a02c833904802db9c34a3cf1292eee3246df3c", "0"),
        ("EVALSHA_RO", "b3a02c833904802db9c34a3cf1292eee3246df3c", "0"),
        ("MULTI",), ("EVAL", "return redis.call('incr', 'm')", "0"), ("SET", "z", "1"), ("EXEC",),
    )
    assert (b"0", b"lua", b'"set" "mk" "1"') in lines and (b"3", b"lua", b'"set" "x" "1"') in lines
    assert lines.count((b"0", b"lua", b'"ping"')) == 2


def test_fcall_lines_then_its_calls(diff: Differential, monitors: list[RespConnection]) -> None:
    diff.check("FUNCTION", "FLUSH")
    _sequence(
        diff, monitors,
        ("FUNCTION", "LOAD", LIB),
        ("FCALL", "mset2", "1", "fk", "v"), ("FCALL_RO", "rd", "1", "fk"), ("FCALL_RO", "mset2", "1", "fk", "v"),
        ("FCALL", "nosuch", "0"), ("FCALL", "rd", "x"),
        ("FUNCTION", "DELETE", "mon"),
    )
