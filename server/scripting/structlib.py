"""Redis's ``struct`` library (Roberto Ierusalimschy's struct 0.2 as Redis bundles it), as
Python glue: ``struct.pack(fmt, ...)``, ``struct.unpack(fmt, s [, init])`` (the values, then
the next position), ``struct.size(fmt)``. Options: ``> < = !n`` (endianness, alignment), ``x``
padding, ``b B h H l L T i[n] I[n]`` integers (l, L, T are 8 bytes), ``f d`` floats, ``s``
zero-terminated and ``c[n]`` fixed strings (``c0``: the whole string when packing, the previous
number as the length when unpacking), spaces ignored. Errors are the C library's texts."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

MAXINTSIZE = 32
NATIVE_ALIGN = 8
SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "i": 4, "I": 4, "f": 4, "d": 8, "x": 1}


class StructError(Exception):
    pass


def _argerror(n: int, fname: str, msg: str) -> StructError:
    return StructError(f"bad argument #{n} to '{fname}' ({msg})")


def _options(fmt: bytes, fname: str) -> Any:
    """Yield (option, size, padding-before) with Roberto's alignment rules, tracking endian."""
    text = fmt.decode("latin-1")
    i = 0
    align = 1
    little = True
    total = 0
    while i < len(text):
        opt = text[i]
        i += 1
        digits = ""
        while i < len(text) and text[i].isdigit():
            digits += text[i]
            i += 1
        if opt == " ":
            continue
        if opt in "<>=":
            little = opt != ">"
            continue
        if opt == "!":
            align = int(digits) if digits else NATIVE_ALIGN
            if align & (align - 1):
                raise StructError("alignment %d is not a power of 2" % align)
            continue
        if opt in "iI":
            size = int(digits) if digits else 4
            if size > MAXINTSIZE:
                raise StructError("integral size %d is larger than limit of %d" % (size, MAXINTSIZE))
        elif opt == "c":
            size = int(digits) if digits else 1
        elif opt == "s":
            size = 0
        elif opt in SIZES:
            size = SIZES[opt]
        else:
            raise _argerror(1, fname, "invalid format option '%s'" % opt)
        pad = 0
        if size and opt != "c":
            a = min(size, align)
            pad = (a - (total & (a - 1))) & (a - 1)
        total += pad + size
        yield opt, size, pad, little


def _check_number(args: tuple[Any, ...], n: int, fname: str) -> float:
    v: Any = args[n - 1] if n - 1 < len(args) else None
    if type(v) in (int, float):
        return float(v) if type(v) is float else int(v)
    if type(v) is bytes:
        try:
            return float(v)
        except ValueError:
            pass
    got = {type(None): "nil", bool: "boolean", bytes: "string"}.get(type(v), "table")
    raise _argerror(n, fname, f"number expected, got {got}")


def functions() -> dict[bytes, Callable[..., Any]]:
    def pack(*args: Any) -> bytes:
        if not args or type(args[0]) is not bytes:
            raise _argerror(1, "pack", "string expected, got no value" if not args else "string expected")
        out = bytearray()
        arg = 2
        for opt, size, pad, little in _options(args[0], "pack"):
            out += b"\0" * pad
            if opt == "x":
                out += b"\0"
                continue
            if opt in "bBhHlLTiI":
                n = _check_number(args, arg, "pack")
                value = int(n) & 0xFFFFFFFFFFFFFFFF
                out += value.to_bytes(max(size, 8), "little")[:size] if little else \
                    value.to_bytes(max(size, 8), "big")[-size:]
            elif opt in "fd":
                n = _check_number(args, arg, "pack")
                out += struct.pack(("<" if little else ">") + opt, n)
            else:  # s, c
                s: Any = args[arg - 1] if arg - 1 < len(args) else None
                if type(s) in (int, float):
                    s = b"%.14g" % s
                if type(s) is not bytes:
                    raise _argerror(arg, "pack", "string expected, got %s" % ("no value" if s is None else "table"))
                if opt == "c":
                    n = size or len(s)
                    if len(s) < n:
                        raise _argerror(arg, "pack", "string too short")
                    out += s[:n]
                else:
                    out += s + b"\0"
            arg += 1
        return bytes(out)

    def unpack(*args: Any) -> Any:
        if len(args) < 2 or type(args[0]) is not bytes or type(args[1]) is not bytes:
            raise _argerror(1 if not args or type(args[0]) is not bytes else 2, "unpack", "string expected")
        data = args[1]
        pos = int(args[2]) - 1 if len(args) > 2 and args[2] is not None else 0
        if pos > len(data) or pos < 0:
            raise _argerror(3, "unpack", "offset out of range")
        values: list[Any] = []
        for opt, size, pad, little in _options(args[0], "unpack"):
            pos += pad
            if opt == "c" and size == 0:
                if not values or type(values[-1]) not in (int, float):
                    raise StructError("format 'c0' needs a previous size")
                size = int(values.pop())
            if opt != "s" and pos + size > len(data):
                raise _argerror(2, "unpack", "data string too short")
            if opt == "x":
                pos += 1
                continue
            if opt in "bBhHlLTiI":
                raw = data[pos:pos + size]
                value = int.from_bytes(raw, "little" if little else "big") & 0xFFFFFFFFFFFFFFFF
                if opt.islower() and size and value >> (min(size, 8) * 8 - 1) & 1:
                    value -= 1 << (min(size, 8) * 8)
                values.append(value)
            elif opt in "fd":
                values.append(struct.unpack(("<" if little else ">") + opt, data[pos:pos + size])[0])
            elif opt == "c":
                values.append(data[pos:pos + size])
            else:
                end = data.find(b"\0", pos)
                if end < 0:
                    raise _argerror(2, "unpack", "unfinished string in data")
                values.append(data[pos:end])
                size = end - pos + 1
            pos += size
        return (*values, pos + 1)

    def size(*args: Any) -> int:
        if not args or type(args[0]) is not bytes:
            raise _argerror(1, "size", "string expected")
        total = 0
        for opt, n, pad, _ in _options(args[0], "size"):
            if opt == "s" or (opt == "c" and n == 0):
                raise _argerror(1, "size", "options 'c0' - 's' have undefined sizes")
            total += pad + n
        return total

    return {b"pack": pack, b"unpack": unpack, b"size": size}
