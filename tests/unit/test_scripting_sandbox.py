"""The Lua sandbox holds: a script reaches neither Python (the objects behind redis.call and
the libraries, lupa's ``python`` module) nor Lua's unsafe parts (debug, os, io, package,
bytecode loading), whatever path it tries. In-process server, mock transport."""

from __future__ import annotations

import pytest

from tests.inprocess import send, start_server

ESCAPES = [
    "return tostring(redis.call.__self__)",
    "return tostring(redis.call['__self__'])",
    "return tostring(redis.pcall.__func__)",
    "return tostring(cjson.encode.__globals__)",
    "return tostring(cmsgpack.pack.__closure__)",
    "return tostring(struct.pack.__code__)",
    "local ok, e = pcall(redis.call, 'nosuch') return tostring(e.value)",
    "local ok, e = pcall(function() redis.call('nosuch') end) return tostring(e.value)",
    "return tostring(python)", "return tostring(debug)", "return tostring(os)", "return tostring(io)",
    "return tostring(package)", "return tostring(require)", "return tostring(getfenv)",
    "return loadstring(string.dump(function() return 'bytecode ran' end))()",
    "return tostring(rawget(_G, 'debug'))", "setmetatable(_G, nil) return tostring(x)",
    "return tostring(coroutine.wrap(function() return debug end)())",
]


@pytest.mark.parametrize("script", ESCAPES)
def test_scripts_cannot_leave_the_sandbox(script: str) -> None:
    server, _, client, transport = start_server()
    reply = send(client, transport, ("EVAL", script, "0"))
    # Either an error, or nil/false rendered as a null: never a Python object or bytecode run.
    assert reply.startswith(b"-") or reply in (b"$-1\r\n", b"$3\r\nnil\r\n"), reply
    assert b"<" not in reply and b"bytecode ran" not in reply, reply
