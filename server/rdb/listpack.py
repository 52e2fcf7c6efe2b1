"""Redis's listpack (src/listpack.c): a 6-byte header (total bytes, element count), entries
(encoding + data + backlen) and a 0xFF terminator. Strings that are canonical 64-bit
integers (lpStringToInt64, as string2ll) are stored in the smallest integer encoding."""

from __future__ import annotations

import struct
from collections.abc import Iterable

from crdt.numbers import parse_int

EOF_BYTE = 0xFF
HEADER_SIZE = 6
NUMELE_UNKNOWN = 65535
_INT_START = b"-0123456789"  # (b"" too: parse_int rejects it)


class FormatError(ValueError):
    """A serialized structure that is not valid (RESTORE: "Bad data format")."""


def _backlen(n: int) -> bytes:
    """lpEncodeBacklen: the entry's size, readable right to left."""
    if n <= 127:
        return bytes([n])
    if n < 16383:
        return bytes([n >> 7, (n & 127) | 128])
    if n < 2097151:
        return bytes([n >> 14, ((n >> 7) & 127) | 128, (n & 127) | 128])
    if n < 268435455:
        return bytes([n >> 21, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128, (n & 127) | 128])
    return bytes([n >> 28, ((n >> 21) & 127) | 128, ((n >> 14) & 127) | 128,
                  ((n >> 7) & 127) | 128, (n & 127) | 128])


def _backlen_size(n: int) -> int:
    return 1 if n <= 127 else 2 if n < 16383 else 3 if n < 2097151 else 4 if n < 268435455 else 5


def _decode_backlen(lp: bytes, q: int) -> int:
    """lpDecodeBacklen from its last byte ``q`` leftwards, as lpValidateNext checks it: only
    the value counts (a continuation byte may reach into the entry: Redis accepts that too)."""
    val = shift = 0
    while True:
        b = lp[q]
        val |= (b & 127) << shift
        if not b & 128:
            return val
        shift += 7
        q -= 1
        if shift > 28 or q < 0:
            return -1


def encode_entry(value: bytes) -> bytes:
    """One entry, backlen included (lpEncodeGetType + lpEncodeString/integer)."""
    v = parse_int(value) if len(value) <= 20 and value[:1] in _INT_START else None
    if v is not None:
        if 0 <= v <= 127:
            enc = bytes([v])
        elif -4096 <= v <= 4095:
            u = v & 0x1FFF
            enc = bytes([0xC0 | (u >> 8), u & 0xFF])
        elif -32768 <= v <= 32767:
            enc = b"\xf1" + struct.pack("<h", v)
        elif -8388608 <= v <= 8388607:
            enc = b"\xf2" + (v & 0xFFFFFF).to_bytes(3, "little")
        elif -2147483648 <= v <= 2147483647:
            enc = b"\xf3" + struct.pack("<i", v)
        else:
            enc = b"\xf4" + struct.pack("<q", v)
    else:
        n = len(value)
        if n < 64:
            enc = bytes([0x80 | n]) + value
        elif n < 4096:
            enc = bytes([0xE0 | (n >> 8), n & 0xFF]) + value
        else:
            enc = b"\xf0" + struct.pack("<I", n) + value
    return enc + _backlen(len(enc))


def header(total: int, count: int) -> bytes:
    return struct.pack("<IH", total, count if count < NUMELE_UNKNOWN else NUMELE_UNKNOWN)


def encode(values: Iterable[bytes]) -> bytes:
    entries = [encode_entry(v) for v in values]
    body = b"".join(entries)
    return header(HEADER_SIZE + len(body) + 1, len(entries)) + body + b"\xff"


def _entries(lp: bytes, pos: int, at_end: bool = True) -> Iterable[tuple[int, int]]:
    """(start, end) of each entry's encoding + data from ``pos`` (the entry after the header),
    each checked against its backlen; FormatError if anything runs past the end or the
    terminator is not the last byte (lpValidateIntegrity: an entry may not start with EOF)."""
    n = len(lp)
    while True:
        if pos >= n:
            raise FormatError("listpack without terminator")
        b = lp[pos]
        if b == EOF_BYTE:
            if at_end and pos != n - 1:
                raise FormatError("listpack terminator before its end")
            return
        if b < 0x80:
            size = 1
        elif b < 0xC0:
            size = 1 + (b & 0x3F)
        elif b < 0xE0:
            size = 2
        elif b < 0xF0:
            if pos + 1 >= n:
                raise FormatError("truncated entry")
            size = 2 + (((b & 0x0F) << 8) | lp[pos + 1])
        elif b == 0xF0:
            if pos + 5 > n:
                raise FormatError("truncated entry")
            size = 5 + struct.unpack_from("<I", lp, pos + 1)[0]
        elif 0xF1 <= b <= 0xF4:
            size = 1 + (2, 3, 4, 8)[b - 0xF1]
        else:
            raise FormatError("bad listpack encoding")
        end = pos + size
        after = end + _backlen_size(size)
        if after > n or _decode_backlen(lp, after - 1) != size:
            raise FormatError("bad listpack backlen")
        yield pos, end
        pos = after


def _value(lp: bytes, start: int, end: int) -> bytes:
    b = lp[start]
    if b < 0x80:
        return b"%d" % b
    if b < 0xC0:
        return lp[start + 1 : end]
    if b < 0xE0:
        u = ((b & 0x1F) << 8) | lp[start + 1]
        return b"%d" % (u - 0x2000 if u & 0x1000 else u)
    if b < 0xF0:
        return lp[start + 2 : end]
    if b == 0xF0:
        return lp[start + 5 : end]
    if b == 0xF1:
        return b"%d" % struct.unpack_from("<h", lp, start + 1)[0]
    if b == 0xF2:
        u = int.from_bytes(lp[start + 1 : start + 4], "little")
        return b"%d" % (u - (1 << 24) if u & 0x800000 else u)
    if b == 0xF3:
        return b"%d" % struct.unpack_from("<i", lp, start + 1)[0]
    return b"%d" % struct.unpack_from("<q", lp, start + 1)[0]


def decode(lp: bytes) -> list[bytes]:
    """The elements of a listpack, validated (header size and count, backlens, terminator)."""
    total, count = _header(lp)
    out = [_value(lp, s, e) for s, e in _entries(lp, HEADER_SIZE)]
    if count != NUMELE_UNKNOWN and count != len(out):
        raise FormatError("listpack count mismatch")
    return out


def decode_stream_node(lp: bytes) -> list[bytes]:
    """The elements of a stream node's listpack as streamValidateListpackIntegrity walks it:
    the header's size and final 0xFF checked (lpValidateIntegrity, shallow), then entry by
    entry (lpValidateNext: bounds and backlens) up to the first 0xFF; the header's element
    count is not checked."""
    _header(lp)
    return [_value(lp, s, e) for s, e in _entries(lp, HEADER_SIZE, at_end=False)]


def _header(lp: bytes) -> tuple[int, int]:
    if len(lp) < HEADER_SIZE + 1:
        raise FormatError("listpack too short")
    total, count = struct.unpack_from("<IH", lp, 0)
    if total != len(lp) or lp[-1] != EOF_BYTE:
        raise FormatError("listpack size mismatch")
    return total, count
