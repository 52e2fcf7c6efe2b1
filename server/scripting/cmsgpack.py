"""Redis's ``cmsgpack`` library (lua-cmsgpack 0.4 as Redis bundles it), as Python glue.

``pack`` follows lua-cmsgpack's choices byte for byte: integral numbers that fit 64 bits as
the smallest integer format, other numbers as float32 when exact else float64, strings as
fixstr/str8/str16/str32, a table whose keys are exactly 1..n (an empty one included) as an
array, any other as a map, nesting beyond 16 as nil. ``unpack`` decodes with the ``msgpack``
package (already a dependency). Known gaps: ext types decode as nil; error texts for malformed
input are lua-cmsgpack's two ("Missing bytes in input.", "Bad data format in input.")."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any

import lupa.lua51 as lua51
import msgpack

MAX_NESTING = 16


class CMsgpackError(Exception):
    pass


def _int(n: int, out: bytearray) -> None:
    if n >= 0:
        if n <= 127:
            out.append(n)
        elif n <= 0xFF:
            out += b"\xcc" + struct.pack(">B", n)
        elif n <= 0xFFFF:
            out += b"\xcd" + struct.pack(">H", n)
        elif n <= 0xFFFFFFFF:
            out += b"\xce" + struct.pack(">I", n)
        else:
            out += b"\xcf" + struct.pack(">Q", n)
    elif n >= -32:
        out.append(n & 0xFF)
    elif n >= -128:
        out += b"\xd0" + struct.pack(">b", n)
    elif n >= -32768:
        out += b"\xd1" + struct.pack(">h", n)
    elif n >= -2147483648:
        out += b"\xd2" + struct.pack(">i", n)
    else:
        out += b"\xd3" + struct.pack(">q", n)


def _number(x: float, out: bytearray) -> None:
    if type(x) is int and -(1 << 63) <= x < (1 << 63):
        _int(x, out)
        return
    d = float(x)
    if not math.isinf(d) and not math.isnan(d) and d.is_integer() and -(2.0 ** 63) <= d < 2.0 ** 63:
        _int(int(d), out)
        return
    try:
        single = struct.unpack(">f", struct.pack(">f", d))[0]
    except OverflowError:
        single = None
    if single == d:
        out += b"\xca" + struct.pack(">f", d)
    else:
        out += b"\xcb" + struct.pack(">d", d)


def _header(n: int, fix: int, fix_limit: int, codes: tuple[bytes, bytes], out: bytearray) -> None:
    if n < fix_limit:
        out.append(fix | n)
    elif n <= 0xFFFF:
        out += codes[0] + struct.pack(">H", n)
    else:
        out += codes[1] + struct.pack(">I", n)


def pack_value(value: Any, out: bytearray, level: int = 0) -> None:
    t = type(value)
    if t is bytes:
        n = len(value)
        if n < 32:
            out.append(0xA0 | n)
        elif n <= 0xFF:
            out += b"\xd9" + struct.pack(">B", n)
        elif n <= 0xFFFF:
            out += b"\xda" + struct.pack(">H", n)
        else:
            out += b"\xdb" + struct.pack(">I", n)
        out += value
    elif t is bool:
        out.append(0xC3 if value else 0xC2)
    elif t is int or t is float:
        _number(value, out)
    elif value is not None and lua51.lua_type(value) == "table" and level < MAX_NESTING:
        items = list(value.items())
        keys = [k for k, _ in items]
        if all(type(k) in (int, float) and type(k) is not bool and float(k).is_integer() and k > 0
               for k in keys) and (max(keys, default=0) == len(keys)):
            _header(len(keys), 0x90, 16, (b"\xdc", b"\xdd"), out)
            for i in range(1, len(keys) + 1):
                pack_value(value[i], out, level + 1)
        else:
            _header(len(items), 0x80, 16, (b"\xde", b"\xdf"), out)
            for k, v in items:
                pack_value(k, out, level + 1)
                pack_value(v, out, level + 1)
    else:
        out.append(0xC0)  # nil, functions, userdata, too deep


def functions(table: Callable[..., Any]) -> dict[bytes, Callable[..., Any]]:
    def to_lua(v: Any) -> Any:
        if isinstance(v, list):
            return table([to_lua(x) for x in v])
        if isinstance(v, dict):
            t = table({})
            for k, x in v.items():
                if k is not None:
                    t[to_lua(k)] = to_lua(x)
            return t
        if isinstance(v, msgpack.ExtType):
            return None
        return v

    def pack(*args: Any) -> bytes:
        if not args:
            raise CMsgpackError("bad argument #0 to 'pack' (MessagePack pack needs input.)")
        out = bytearray()
        for a in args:
            pack_value(a, out)
        return bytes(out)

    def unpack_limit(data: Any, limit: int, offset: int) -> tuple[int, list[Any]]:
        if type(data) is not bytes:
            raise CMsgpackError("bad argument #1 to 'unpack' (string expected)")
        unpacker = msgpack.Unpacker(raw=True, strict_map_key=False, max_buffer_size=max(len(data), 1))
        unpacker.feed(data[offset:])
        values: list[Any] = []
        try:
            while limit <= 0 or len(values) < limit:
                try:
                    values.append(to_lua(unpacker.unpack()))
                except msgpack.OutOfData:
                    break
        except (msgpack.FormatError, msgpack.StackError, ValueError):
            raise CMsgpackError("Bad data format in input.") from None
        used = offset + unpacker.tell()
        if used < len(data) and (limit <= 0 or len(values) < limit):
            raise CMsgpackError("Missing bytes in input.")
        return (used if used < len(data) else -1), values

    def unpack(*args: Any) -> Any:
        _, values = unpack_limit(args[0] if args else None, 0, 0)
        return tuple(values) if len(values) != 1 else values[0]

    def unpack_one(data: Any = None, offset: Any = 0) -> Any:
        nxt, values = unpack_limit(data, 1, int(offset or 0))
        return (nxt, *values)

    def unpack_limit_fn(data: Any = None, limit: Any = 0, offset: Any = 0) -> Any:
        nxt, values = unpack_limit(data, int(limit or 0), int(offset or 0))
        return (nxt, *values)

    return {b"pack": pack, b"unpack": unpack, b"unpack_one": unpack_one,
            b"unpack_limit": unpack_limit_fn}
