"""Redis's ``cjson`` library (lua-cjson 2.1 as Redis bundles it), as Python glue: encode with
lua-cjson's rules (``%.14g`` numbers, ``\\/`` escaped, arrays are tables whose keys are
1..n and not excessively sparse, an empty table is ``{}``, ``cjson.null``), decode to Lua
tables. Known gaps: decode error texts are approximations of lua-cjson's; the
``encode_*``/``decode_*`` configuration functions are accepted and ignored."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import lupa.lua51 as lua51

MAX_DEPTH = 1000
_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n",
            "\r": "\\r", "\t": "\\t"}


class CJsonError(Exception):
    pass


def _number(n: float) -> str:
    if isinstance(n, float) and (math.isnan(n) or math.isinf(n)):
        raise CJsonError("Cannot serialise number: must not be NaN or Inf")
    return "%.14g" % n


def _string(b: bytes) -> str:
    out = ['"']
    for ch in b.decode("latin-1"):
        esc = _ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def encode(value: Any, depth: int = 0) -> str:
    t = type(value)
    if t is bytes:
        return _string(value)
    if t is bool:
        return "true" if value else "false"
    if t is int or t is float:
        return _number(value)
    if value is None:
        return "null"
    kind = lua51.lua_type(value)
    if kind == "userdata":
        return "null"  # cjson.null
    if kind != "table":
        raise CJsonError(f"Cannot serialise {kind}: type not supported")
    depth += 1
    if depth > MAX_DEPTH:
        raise CJsonError(f"Cannot serialise, excessive nesting ({depth})")
    items = list(value.items())
    max_index = 0
    array = bool(items)
    for k, _ in items:
        if type(k) in (int, float) and k >= 1 and float(k).is_integer():
            max_index = max(max_index, int(k))
        else:
            array = False
            break
    if array:
        if max_index > 2 * len(items) and max_index > 10:
            raise CJsonError("Cannot serialise table: excessively sparse array")
        elements = []
        for i in range(1, max_index + 1):
            elements.append(encode(value[i], depth))
        return "[" + ",".join(elements) + "]"
    parts = []
    for k, v in items:  # (a loop, not a generator: one Python frame per nesting level)
        if type(k) is bytes:
            key = _string(k)
        elif type(k) in (int, float) and type(k) is not bool:
            key = '"' + _number(k) + '"'
        else:
            raise CJsonError("Cannot serialise table: table key must be a number or string")
        parts.append(key + ":" + encode(v, depth))
    return "{" + ",".join(parts) + "}"


@contextmanager
def _deep_stack() -> Iterator[None]:
    """Room for lua-cjson's 1000 levels of nesting on Python's stack."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 4 * MAX_DEPTH + 200))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def encode_top(value: Any) -> str:
    with _deep_stack():
        return encode(value)


def _check_nesting(text: bytes) -> None:
    """lua-cjson refuses more than 1000 nested arrays/objects, saying where."""
    depth = 0
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == 0x5C:  # backslash
                escaped = True
            elif ch == 0x22:
                in_string = False
        elif ch == 0x22:
            in_string = True
        elif ch in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                raise CJsonError(f"Found too many nested data structures ({depth}) at character {i + 1}")
        elif ch in (0x5D, 0x7D):
            depth -= 1


def decoder(table: Any, null: Any) -> Any:
    def to_lua(v: Any) -> Any:
        if isinstance(v, str):
            return v.encode("utf-8", "surrogateescape")
        if isinstance(v, list):
            return table([to_lua(x) for x in v])
        if isinstance(v, dict):
            t = table({})
            for k, x in v.items():
                t[k.encode("utf-8", "surrogateescape")] = to_lua(x)
            return t
        if v is None:
            return null
        if isinstance(v, int) and not isinstance(v, bool):
            return float(v) if abs(v) >= 1 << 53 else v
        return v

    def decode(text: bytes) -> Any:
        _check_nesting(text)
        with _deep_stack():
            try:
                data = json.loads(text.decode("utf-8", "surrogateescape"))
            except json.JSONDecodeError as exc:
                raise CJsonError(f"Expected value but found invalid token at character {exc.pos + 1}") from None
            return to_lua(data)

    return decode
