"""Type conversion between our reply values and Lua, as Redis's ``script_lua.c`` does it.

Redis → Lua (what ``redis.call`` returns), in the script's protocol (``redis.setresp``,
RESP2 by default): integer → number, bulk → string, null → false (RESP2) or nil (RESP3),
status → ``{ok=...}``, error → ``{err=...}``, array → table; RESP3 adds ``{map=...}``,
``{set={member=true}}``, booleans, ``{double=n}``, ``{big_number=s}`` and
``{verbatim_string={format=, string=}}``. Our handlers return reply values (``server.resp``),
so we convert those directly instead of encoding then parsing; ``Raw`` (pre-encoded bytes) is
parsed.

Lua → Redis (a script's result): string → bulk, number → integer (truncated, as C's cast),
boolean → 1 / null (RESP2 script) or a boolean (RESP3 script), a table → an error if it has
a string ``err``, a status if ``ok``, then ``double``, ``big_number``, ``verbatim_string``,
``map``, ``set``, else an array up to the first nil; anything else → null. The table shape
is read in Lua (raw fields, ``next`` order) by ``classify`` below.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from server.resp import NULL_ARRAY, Error, Map, Push, Raw, RSet, Status, Verbatim, format_double

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
MAX_DEPTH = 300  # nesting beyond this: Redis's "reached lua stack limit" error (Redis reaches it deeper)

CLASSIFY_LUA = """
local rawget, type, next = rawget, type, next
return function(t)
    local v = rawget(t, 'err')
    if type(v) == 'string' then return 'err', v, rawget(t, 'ignore_error_stats_update') == true end
    v = rawget(t, 'ok')
    if type(v) == 'string' then return 'ok', v end
    v = rawget(t, 'double')
    if type(v) == 'number' then return 'double', v end
    v = rawget(t, 'big_number')
    if type(v) == 'string' then return 'big', v end
    v = rawget(t, 'verbatim_string')
    if type(v) == 'table' then
        local f, s = rawget(v, 'format'), rawget(v, 'string')
        if type(f) == 'string' and type(s) == 'string' then return 'verbatim', f, s end
    end
    v = rawget(t, 'map')
    if type(v) == 'table' then
        local keys, vals, n = {}, {}, 0
        for k, x in next, v do n = n + 1; keys[n] = k; vals[n] = x end
        return 'map', keys, vals, n
    end
    v = rawget(t, 'set')
    if type(v) == 'table' then
        local keys, n = {}, 0
        for k in next, v do n = n + 1; keys[n] = k end
        return 'set', keys, n
    end
    local arr, i = {}, 1
    while true do
        local x = rawget(t, i)
        if x == nil then break end
        arr[i] = x
        i = i + 1
    end
    return 'array', arr, i - 1
end
"""


class BigNumber(bytes):
    """A RESP3 big number parsed from a ``Raw`` reply: ``{big_number=...}`` in a RESP3 script."""


def uncount_error(stats: Any, message: str) -> None:
    """Take back one error reply that ``Stats.add_error`` counted (same code rule): a
    script's error reply repeating a redis.call error already counted when it happened."""
    stats.error_replies -= 1
    space = message.find(" ", 0, 32)
    code = message[:space] if space > 0 else "ERR"
    left = stats.error_codes.get(code, 0) - 1
    if left > 0:
        stats.error_codes[code] = left
    else:
        stats.error_codes.pop(code, None)


class CountedError(Error):
    """A script's error reply already counted in the error stats (when redis.call failed)."""


def error_text(message: str) -> str:
    """The ``err`` field Redis builds from an error reply (``luaPushErrorBuff`` of
    ``-message``): ``CODE rest``, a message without a space gets the code ``ERR``."""
    code, sep, text = message.partition(" ")
    if not sep:
        code, text = "ERR", message
    return f"{code} {text.strip(chr(13) + chr(10))}"


def to_int(number: float | int) -> int:
    """C's ``(long long)`` of a Lua number (x86: out of range and NaN give INT64_MIN)."""
    if type(number) is int:
        return number if INT64_MIN <= number <= INT64_MAX else INT64_MIN
    if math.isnan(number) or not -9.223372036854775808e18 <= number < 9.223372036854775808e18:
        return INT64_MIN
    return int(number)


class Converter:
    """Both directions for one Lua runtime (``table`` is the runtime's ``table_from``)."""

    def __init__(self, table: Callable[..., Any], classify: Callable[..., Any],
                 lua_type: Callable[[Any], Any]) -> None:
        self.table = table
        self.classify = classify
        self.lua_type = lua_type

    def err_table(self, message: str, counted: bool = False) -> Any:
        """``{err=...}``; ``counted``: already in the error stats (a redis.call's error)."""
        if counted:
            return self.table({b"err": error_text(message).encode(), b"ignore_error_stats_update": True})
        return self.table({b"err": error_text(message).encode()})

    # -- our reply -> Lua ----------------------------------------------------------------------
    def to_lua(self, value: Any, resp3: bool) -> Any:
        t = type(value)
        if t is bytes or t is int:
            return value
        if t is BigNumber:
            return self.table({b"big_number": bytes(value)}) if resp3 else bytes(value)
        if t is Status:
            return self.table({b"ok": value.encode()})
        if t is list or t is tuple:
            return self.table([self.to_lua(v, resp3) for v in value])
        if value is None or value is NULL_ARRAY:
            return None if resp3 else False
        if t is str:
            return value.encode()
        if t is bool:
            return value if resp3 else int(value)
        if t is float:
            return self.table({b"double": value}) if resp3 else format_double(value)
        if isinstance(value, Error):
            return self.err_table(value.message)
        if t is Map:
            if resp3:
                inner = self.table({})
                for k, v in value.items:
                    inner[self.to_lua(k, resp3)] = self.to_lua(v, resp3)
                return self.table({b"map": inner})
            flat: list[Any] = []
            for k, v in value.items:
                flat.append(self.to_lua(k, resp3))
                flat.append(self.to_lua(v, resp3))
            return self.table(flat)
        if t is RSet:
            if resp3:
                inner = self.table({})
                for m in value.members:
                    inner[self.to_lua(m, resp3)] = True
                return self.table({b"set": inner})
            return self.table([self.to_lua(m, resp3) for m in value.members])
        if t is Verbatim:
            if resp3:
                return self.table({b"verbatim_string": self.table(
                    {b"format": value.fmt.encode(), b"string": value.text})})
            return value.text
        if t is Push:
            return self.table([self.to_lua(v, resp3) for v in value.items])
        if t is Raw:
            return self.to_lua(parse_resp(value.data), resp3)
        if isinstance(value, (bytearray, memoryview)):
            return bytes(value)
        if isinstance(value, str):
            return str(value).encode()
        if isinstance(value, int):
            return int(value)
        raise TypeError(f"cannot convert reply value {value!r} to Lua")

    # -- Lua -> our reply ----------------------------------------------------------------------
    def from_lua(self, value: Any, script_resp3: bool, caller_resp3: bool, depth: int = 0) -> Any:
        t = type(value)
        if t is bytes:
            return value
        if t is bool:
            if script_resp3:
                return value
            return 1 if value else None
        if t is int or t is float:
            return to_int(value)
        if value is None or self.lua_type(value) != "table":
            return None
        if depth >= MAX_DEPTH:
            return Error("ERR reached lua stack limit")
        kind, *rest = self.classify(value)
        depth += 1
        if kind == b"array":
            arr, n = rest
            return [self.from_lua(arr[i], script_resp3, caller_resp3, depth) for i in range(1, n + 1)]
        if kind == b"err":
            if rest[1] and depth == 1:  # a redis.pcall error the script returns as its reply
                return CountedError(rest[0].decode("utf-8", "replace"))
            return Error(rest[0].decode("utf-8", "replace"))
        if kind == b"ok":
            return Status(rest[0].decode("utf-8", "surrogateescape").replace("\r", " ").replace("\n", " "))
        if kind == b"double":
            return float(rest[0])
        if kind == b"big":
            text = rest[0].replace(b"\r", b" ").replace(b"\n", b" ")
            if caller_resp3:
                return Raw(b"(%s\r\n" % text)
            return text
        if kind == b"verbatim":
            fmt = (rest[0][:3] + b"   ")[:3].decode("latin-1")
            return Verbatim(rest[1], fmt)
        if kind == b"map":
            keys, vals, n = rest
            return Map([(self.from_lua(keys[i], script_resp3, caller_resp3, depth),
                         self.from_lua(vals[i], script_resp3, caller_resp3, depth))
                        for i in range(1, n + 1)])
        keys, n = rest  # set
        return RSet([self.from_lua(keys[i], script_resp3, caller_resp3, depth) for i in range(1, n + 1)])


def parse_resp(data: bytes) -> Any:
    """One RESP2/RESP3 reply (a handler's pre-encoded ``Raw``) as reply values."""
    value, _ = _parse(data, 0)
    return value


def _line(data: bytes, pos: int) -> tuple[bytes, int]:
    end = data.index(b"\r\n", pos)
    return data[pos:end], end + 2


def _parse(data: bytes, pos: int) -> tuple[Any, int]:
    kind = data[pos:pos + 1]
    line, pos = _line(data, pos + 1)
    if kind == b"+":
        return Status(line.decode("utf-8", "surrogateescape")), pos
    if kind == b"-":
        return Error(line.decode("utf-8", "replace")), pos
    if kind == b":":
        return int(line), pos
    if kind in (b"$", b"="):
        n = int(line)
        if n < 0:
            return None, pos
        body = data[pos:pos + n]
        if kind == b"=":
            return Verbatim(body[4:], body[:3].decode("latin-1")), pos + n + 2
        return body, pos + n + 2
    if kind in (b"*", b"~", b">", b"%", b"|"):
        n = int(line)
        if n < 0:
            return NULL_ARRAY, pos
        count = 2 * n if kind in (b"%", b"|") else n
        items = []
        for _ in range(count):
            item, pos = _parse(data, pos)
            items.append(item)
        if kind == b"~":
            return RSet(items), pos
        if kind == b">":
            return Push(items), pos
        if kind in (b"%", b"|"):
            pairs = list(zip(items[::2], items[1::2], strict=True))
            if kind == b"|":  # an attribute: skipped, the reply follows
                return _parse(data, pos)
            return Map(pairs), pos
        return items, pos
    if kind == b"_":
        return None, pos
    if kind == b"#":
        return line == b"t", pos
    if kind == b",":
        return float(line), pos
    if kind == b"(":
        return BigNumber(line), pos
    raise ValueError(f"bad RESP type {kind!r}")
